package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestConfigExampleValidates: the printed example validates once the
// variables it references are set, and is refused while its secrets are the
// example's placeholders (HEALTHSYNC_API_TOKEN unset must not leave a
// published token guarding the API).
func TestConfigExampleValidates(t *testing.T) {
	code, example, stderr := runCLI(t, "config", "example")
	if code != 0 || !strings.Contains(example, "connectors:") {
		t.Fatalf("config example: %d %s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "h.yaml")
	os.WriteFile(path, []byte(example), 0o600)
	vars := regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(example, -1)
	for _, v := range vars {
		t.Setenv(v[1], "") // unset: the defaults apply
	}
	code, _, stderr = runCLI(t, "config", "validate", path)
	if code != 1 || !strings.Contains(stderr, path+":43:14: server.api_token: is a placeholder") {
		t.Fatalf("config validate with the placeholders: exit %d, want 1 naming server.api_token\n%s", code, stderr)
	}
	for _, v := range vars {
		val := "operator-value-" + strings.ToLower(v[1]) + "-7d1e"
		switch v[1] {
		case "SLACK_WEBHOOK_URL":
			val = "https://hooks.slack.com/services/T1/B1/operator"
		case "REVOPS_WEBHOOK_SECRET":
			val = "whsec_b3BlcmF0b3Itbm90aWZ5LXNpZ25pbmctc2VjcmV0"
		}
		t.Setenv(v[1], val)
	}
	if code, out, stderr := runCLI(t, "config", "validate", path); code != 0 || out != path+": valid (4 connectors, 9 task rules, 0 warnings)\n" {
		t.Fatalf("config validate example: exit %d\n%s%s", code, out, stderr)
	}
}

// TestConfigValidateWarnsOnLiteralSecrets: a secret written in the file is
// valid but warned about, without showing it.
func TestConfigValidateWarnsOnLiteralSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lit.yaml")
	os.WriteFile(path, []byte("store: {path: ./x.db}\nconnectors:\n  - {name: billing, kind: stripe, auth: {api_key: sk_live_31337abc}, schedule: '@hourly'}\n"), 0o600)
	code, out, stderr := runCLI(t, "config", "validate", path)
	want := "warning: " + path + ":3:51: connectors[0].auth.api_key: secret written in the file; prefer a ${VAR} reference to the environment or a secret store\n"
	if code != 0 || stderr != want || out != path+": valid (1 connectors, 9 task rules, 1 warnings)\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", code, out, stderr, want)
	}
}

func TestConfigValidateNamesEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(`store: {path: ./x.db}
unknown_key: 1
connectors:
  - name: billing
    kind: stripe
    auth: {api_key: sk_test_123456}
    schedule: "every ten minutes"
`), 0o600)
	code, _, stderr := runCLI(t, "config", "validate", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{path + ":2:1: unknown_key", path + ":7:15: connectors[0].schedule"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "sk_test_123456") {
		t.Error("a secret reached the output")
	}
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("nonsense: [\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"help", []string{"--help"}, 0},
		{"unknown command", []string{"frobnicate"}, 2},
		{"version", []string{"version"}, 0},
		{"unknown flag", []string{"sync", "--bogus"}, 2},
		{"sync without config", []string{"sync"}, 2},
		{"sync with a bad config", []string{"sync", "--config", bad}, 2},
		{"missing config file", []string{"runs", "--config", "/nonexistent/h.yaml"}, 2},
		{"command help", []string{"report", "--help"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HEALTHSYNC_CONFIG", "")
			if code, out, errs := runCLI(t, tt.args...); code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errs)
			}
		})
	}
}

// TestRunDuration: a run still running, or killed before it recorded its
// end (marked interrupted), shows no duration instead of a negative one.
func TestRunDuration(t *testing.T) {
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		run  store.Run
		want string
	}{
		{store.Run{Start: start, End: start.Add(1500 * time.Millisecond), Status: "ok"}, "1.5s"},
		{store.Run{Start: start, Status: "running"}, "-"},
		{store.Run{Start: start, Status: "interrupted"}, "-"},
	} {
		if got := runDuration(tc.run); got != tc.want {
			t.Errorf("%s run: duration %q, want %q", tc.run.Status, got, tc.want)
		}
	}
}
