package bolt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// openTest opens a store in a temp dir with a fixed clock.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second Open: got %v, want ErrInUse", err)
	}
	if got, want := err.Error(), path+" is in use by another healthsync process"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v, want it to fail fast", d)
	}
}

func TestSchemaVersionAndMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := open(path, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersionOnDisk(); v != 1 {
		t.Fatalf("new file at version %d, want 1", v)
	}
	if err := s.SetMeta("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var ran []string
	migs := []Migration{
		func(tx *bbolt.Tx) error {
			ran = append(ran, "1->2")
			return tx.Bucket(bucketMeta).Put([]byte("m2"), []byte("x"))
		},
		func(tx *bbolt.Tx) error { ran = append(ran, "2->3"); return nil },
	}
	s, err = open(path, Options{}, migs)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersionOnDisk(); v != 3 {
		t.Errorf("after migrations at version %d, want 3", v)
	}
	if got := strings.Join(ran, ","); got != "1->2,2->3" {
		t.Errorf("migrations ran %q", got)
	}
	if v, _ := s.Meta("m2"); string(v) != "x" {
		t.Errorf("migration write lost: %q", v)
	}
	s.Close()

	// A failing migration leaves the file untouched.
	bad := append(migs, func(tx *bbolt.Tx) error { return errors.New("boom") })
	if _, err := open(path, Options{}, bad); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing migration: got %v", err)
	}
	// An older build refuses a newer file.
	if _, err := open(path, Options{}, nil); !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("older build: got %v, want ErrNewerSchema", err)
	}
	s, err = open(path, Options{}, migs)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersionOnDisk(); v != 3 {
		t.Errorf("after failed migration at version %d, want 3", v)
	}
}

func TestMeta(t *testing.T) {
	s := openTest(t)
	if v, err := s.Meta("none"); v != nil || err != nil {
		t.Fatalf("missing key: %q %v", v, err)
	}
	if err := s.SetMetaTime("full/sf", t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MetaTime("full/sf"); !got.Equal(t0) {
		t.Errorf("MetaTime = %v", got)
	}
	if err := s.SetMeta("full/sf", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MetaTime("full/sf"); !got.IsZero() {
		t.Errorf("deleted MetaTime = %v", got)
	}
}

// The crash test re-executes the test binary as a child that commits
// batches, printing "committed N" after each commit returns, until it is
// SIGKILLed. Reopening must show every batch the child reported.
const crashEnv = "HEALTHSYNC_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	if path := os.Getenv(inboxCrashEnv); path != "" {
		inboxCrashChild(path)
		return
	}
	os.Exit(m.Run())
}

func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("cus_%06d", i)
		b := &record.Batch{
			Stream:    "customers",
			Customers: []record.Customer{{Ref: record.Ref{System: record.Stripe, ID: id, Modified: t0}, Name: id}},
			Cursor:    []byte(strconv.Itoa(i)),
		}
		if _, err := s.CommitBatch("billing", b); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", i)
	}
}

func TestKill9KeepsCommittedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	last := -1
	for sc.Scan() {
		line := sc.Text()
		n, ok := strings.CutPrefix(line, "committed ")
		if !ok {
			t.Fatalf("child: %s", line)
		}
		last, _ = strconv.Atoi(n)
		if last == 20 {
			// While the child holds the file, another process fails fast.
			if _, err := Open(path, Options{Timeout: 20 * time.Millisecond}); !errors.Is(err, store.ErrInUse) {
				t.Errorf("Open while child holds the file: %v", err)
			}
		}
		if last >= 50 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if last < 50 {
		t.Fatalf("child stopped after %d commits", last)
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i <= last; i++ {
		id := fmt.Sprintf("cus_%06d", i)
		if _, ok, err := s.Customer("billing", id); !ok || err != nil {
			t.Errorf("committed customer %s missing after kill -9 (%v)", id, err)
		}
	}
	cur, err := s.Cursors("billing")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(string(cur["customers"])); n < last {
		t.Errorf("cursor %q, want at least %d", cur["customers"], last)
	}
}

// TestFileCallsAfterClose: the calls that describe the file itself, which
// storetest does not reach, fail with ErrClosed after Close too.
func TestFileCallsAfterClose(t *testing.T) {
	s := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		err  error
	}{
		{"WriteTo", func() error { _, err := s.WriteTo(io.Discard); return err }()},
		{"SchemaVersionOnDisk", func() error { _, err := s.SchemaVersionOnDisk(); return err }()},
	}
	for _, c := range calls {
		if !errors.Is(c.err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", c.name, c.err)
		}
	}
}
