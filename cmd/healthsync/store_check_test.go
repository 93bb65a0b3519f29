package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/sync/store/bolt"
)

const cliChildEnv = "HEALTHSYNC_CLI_CHILD_ARGS"

// TestCLIChild runs the CLI in a child process (for exit codes a crash would
// change: a Go panic or SIGBUS exits 2 or dies by signal).
func TestCLIChild(t *testing.T) {
	args := os.Getenv(cliChildEnv)
	if args == "" {
		t.Skip("helper process for the child-process CLI tests")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

// runChild runs the CLI in a child process and returns its exit code,
// stdout and stderr.
func runChild(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIChild$")
	cmd.Env = append(os.Environ(), cliChildEnv+"="+strings.Join(args, "\x1f"), "HEALTHSYNC_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// storeFile writes a healthsync store spanning many pages, and a config
// naming it.
func storeFile(t *testing.T) (path, cfg string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "h.db")
	st, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := st.SetMeta(fmt.Sprintf("k%03d", i), bytes.Repeat([]byte("v"), 800)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "h.yaml")
	yaml := fmt.Sprintf("store: {path: %q}\nconnectors:\n  - {name: billing, kind: stripe, base_url: \"http://127.0.0.1:1\", auth: {api_key: sk_test_x}, schedule: \"@every 1h\"}\n", path)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// TestDamagedStoreCLI: a damaged store is refused with a message naming the
// file and exit code 1, both by `store check` and by a command that opens
// the store; a good file passes `store check`.
func TestDamagedStoreCLI(t *testing.T) {
	path, cfg := storeFile(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"store", "check", path}, {"store", "check", "--config", cfg}} {
		code, out, errs := runChild(t, args...)
		if want := fmt.Sprintf("%s: ok (%d bytes, schema version %d)\n", path, fi.Size(), bolt.SchemaVersion()); code != 0 || out != want {
			t.Fatalf("%v on a good file: exit %d, stdout %q, want 0 and %q\n%s", args, code, out, want, errs)
		}
	}

	damages := []struct {
		name    string
		damage  func(path string) error
		problem string
	}{
		{"empty", func(p string) error { return os.Truncate(p, 0) }, "the file is empty (0 bytes)"},
		{"truncated", func(p string) error { return os.Truncate(p, 4*4096) }, "truncated: the file is 16384 bytes"},
		{"garbage pages", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(bytes.Repeat([]byte{0xa5, 0x3c, 0x7e}, 4096), 2*4096)
			return err
		}, ""},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			path, cfg := storeFile(t)
			if err := d.damage(path); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"store", "check", path}, {"runs", "--config", cfg}} {
				code, out, errs := runChild(t, args...)
				prefix := fmt.Sprintf("healthsync %s: store %s is damaged: %s", args[0], path, d.problem)
				if code != 1 || out != "" || !strings.HasPrefix(errs, prefix) || strings.Count(errs, "\n") != 1 {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", args, code, out, errs, prefix)
				}
			}
		})
	}
}

// TestStoreCheckUsage: --usage adds the free pages and one row per bucket
// after the ok line; the store of storeFile holds 100 meta values of 800
// bytes, so meta is the largest bucket.
func TestStoreCheckUsage(t *testing.T) {
	path, _ := storeFile(t)
	code, out, errs := runCLI(t, "store", "check", "--usage", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], path+": ok (") || !strings.HasPrefix(lines[1], "file ") ||
		!strings.Contains(lines[1], "4096-byte pages") || strings.Fields(lines[2])[0] != "bucket" {
		t.Fatalf("output:\n%s", out)
	}
	if f := strings.Fields(lines[3]); f[0] != "meta" || f[1] != "100" {
		t.Errorf("first bucket row %q, want meta with 100 keys", lines[3])
	}
}
