package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigExampleValidates(t *testing.T) {
	code, example, stderr := runCLI(t, "config", "example")
	if code != 0 || !strings.Contains(example, "connectors:") {
		t.Fatalf("config example: %d %s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "h.yaml")
	os.WriteFile(path, []byte(example), 0o600)
	if code, out, stderr := runCLI(t, "config", "validate", path); code != 0 {
		t.Fatalf("config validate example: exit %d\n%s%s", code, out, stderr)
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
