package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestHelp: every command and subcommand answers --help with its usage on
// stdout, naming its arguments, and exit 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string // the usage line
	}{
		{[]string{"--help"}, "Usage:\n  healthsync COMMAND [flags]"},
		{[]string{"help"}, "Usage:\n  healthsync COMMAND [flags]"},
		{[]string{"help", "explain"}, "Usage: healthsync explain --config FILE [--json] ACCOUNT"},
		{[]string{"run", "--help"}, "Usage: healthsync run --config FILE [--sync-now] [--listen ADDR] [--metrics-listen ADDR]"},
		{[]string{"sync", "-h"}, "Usage: healthsync sync --config FILE [--connector NAME] [--dry-run] [--full]"},
		{[]string{"plan", "--help"}, "Usage: healthsync plan --config FILE [--json]"},
		{[]string{"apply", "--help"}, "Usage: healthsync apply --config FILE [--confirm]"},
		{[]string{"runs", "--help"}, "Usage: healthsync runs --config FILE [--limit N] [--json]"},
		{[]string{"report", "--help"}, "Usage: healthsync report --config FILE [--format table|json|csv|html]"},
		{[]string{"explain", "--help"}, "Usage: healthsync explain --config FILE [--json] ACCOUNT"},
		{[]string{"explain", "acme", "--help"}, "Usage: healthsync explain --config FILE [--json] ACCOUNT"},
		{[]string{"check", "--help"}, "Usage: healthsync check --config FILE [--connector NAME] [--timeout D]"},
		{[]string{"backup", "--help"}, "Usage: healthsync backup --config FILE [--force] OUT"},
		{[]string{"config", "--help"}, "  healthsync config validate FILE\n"},
		{[]string{"config", "example", "--help"}, "Usage: healthsync config example\n"},
		{[]string{"config", "validate", "--help"}, "Usage: healthsync config validate FILE\n"},
		{[]string{"config", "show", "-h"}, "Usage: healthsync config show FILE\n"},
		{[]string{"setup", "--help"}, "  healthsync setup hubspot --config FILE [--connector NAME]\n"},
		{[]string{"setup", "hubspot", "--help"}, "Usage: healthsync setup hubspot --config FILE [--connector NAME]"},
		{[]string{"webhooks", "--help"}, "  healthsync webhooks replay --config FILE ID\n"},
		{[]string{"webhooks", "dlq", "--help"}, "Usage: healthsync webhooks dlq --config FILE\n"},
		{[]string{"webhooks", "replay", "--help"}, "Usage: healthsync webhooks replay --config FILE ID\n"},
		{[]string{"healthcheck", "--help"}, "Usage: healthsync healthcheck [--url URL]"},
		{[]string{"demo", "--help"}, "Usage: healthsync demo"},
		{[]string{"loadtest", "--help"}, "Usage: healthsync loadtest"},
		{[]string{"version", "--help"}, "Usage: healthsync version\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != 0 || !strings.Contains(out, tt.want) || errs != "" {
				t.Fatalf("exit %d, want 0\nstdout %q\nwant it to contain %q\nstderr %q", code, out, tt.want, errs)
			}
		})
	}
}

// TestUsageMistakes: a missing or unknown subcommand prints the usage on
// stderr and exits 2.
func TestUsageMistakes(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"config"}, "healthsync config: want a subcommand\n"},
		{[]string{"config", "frob"}, "healthsync config: unknown config subcommand \"frob\"\n"},
		{[]string{"webhooks"}, "healthsync webhooks: want a subcommand\n"},
		{[]string{"setup", "salesforce"}, "healthsync setup: unknown setup subcommand \"salesforce\"\n"},
		{[]string{"explain", "--config", "x.yaml"}, "healthsync explain: want one ACCOUNT"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != 2 || out != "" || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, want 2\nstdout %q\nstderr %q\nwant it to contain %q", code, out, errs, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "healthsync dev (commit ") || !strings.Contains(out, ", built ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	tests := []struct {
		name                  string
		version, commit, date string
		settings              map[string]string
		want                  string
	}{
		{"set by the build", "1.4.0", "9f2c1ab", "2026-12-01T10:00:00Z", map[string]string{"vcs.revision": "other"},
			"healthsync 1.4.0 (commit 9f2c1ab, built 2026-12-01T10:00:00Z, go"},
		{"from the git checkout", "dev", "", "", map[string]string{"vcs.revision": "abc123", "vcs.time": "2026-11-30T08:00:00Z", "vcs.modified": "true"},
			"healthsync dev (commit abc123-dirty, built 2026-11-30T08:00:00Z, go"},
		{"nothing known", "dev", "", "", map[string]string{}, "healthsync dev (commit unknown, built unknown, go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.version, tt.commit, tt.date, tt.settings); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// offlineConfig writes a config whose connectors point at a closed port and
// returns its path and its store's path.
func offlineConfig(t *testing.T) (string, string) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	path := filepath.Join(dir, "h.yaml")
	text := fmt.Sprintf(webhookConfig, db)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, db
}

// TestSyncUnknownConnector: a wrong --connector is refused with the valid
// names before the store is opened or any call made.
func TestSyncUnknownConnector(t *testing.T) {
	path, db := offlineConfig(t)
	code, out, errs := runCLI(t, "sync", "--config", path, "--connector", "bogus", "--dry-run")
	want := "healthsync sync: --connector \"bogus\": no such connector; valid names: salesforce, hubspot, stripe, chargebee\n"
	if code != 2 || out != "" || errs != want {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", code, out, errs, want)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("the store was opened (%v)", err)
	}
}

// TestReportFormatAnyCase: --format takes any letter case; a wrong one is
// a usage error naming the choices.
func TestReportFormatAnyCase(t *testing.T) {
	path, _ := offlineConfig(t)
	tests := []struct {
		format string
		code   int
		prefix string
	}{
		{"HTML", 0, "<!doctype html>"},
		{"Json", 0, "{"},
		{"pdf", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, out, errs := runCLI(t, "report", "--config", path, "--format", tt.format)
			if code != tt.code || !strings.HasPrefix(out, tt.prefix) {
				t.Fatalf("exit %d, want %d; stdout starts %.40q\n%s", code, tt.code, out, errs)
			}
			if tt.code == 2 && !strings.Contains(errs, `format: want table, json, csv, html, got "pdf"`) {
				t.Fatalf("stderr %q", errs)
			}
		})
	}
}

// TestStoreHeldWithoutDaemon: when the store is locked but no daemon can be
// asked, a read command says why and what to do.
func TestStoreHeldWithoutDaemon(t *testing.T) {
	path, db := offlineConfig(t)
	withToken := filepath.Join(filepath.Dir(path), "token.yaml")
	text, _ := os.ReadFile(path)
	os.WriteFile(withToken, append([]byte("server: {listen: \"127.0.0.1:1\", api_token: \"${T}\"}\n"), text...), 0o600)
	t.Setenv("T", "operator-token-0123456789")
	st, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tests := []struct {
		name, config, want string
	}{
		{"no api token", path, "healthsync runs: " + db + " is in use by another healthsync process; server.api_token is not set, so the running daemon serves no API to ask instead\n"},
		{"nothing listens", withToken, "healthsync runs: the store is in use by another healthsync process and no daemon answers at http://127.0.0.1:1 (a sync or apply still running? try again when it ends): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "runs", "--config", tt.config)
			if code != 1 || out != "" || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", code, out, errs, tt.want)
			}
		})
	}
}

// TestReportOptionsAreUsageErrors: options the report itself refuses (a
// period reversed or past the as-of month, an unknown segment) exit 2 with
// the reason, like flag mistakes.
func TestReportOptionsAreUsageErrors(t *testing.T) {
	path, _ := offlineConfig(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"reversed period", []string{"--from", "2026-06", "--to", "2026-01"}, "is before from"},
		{"period after as-of", []string{"--as-of", "2026-03-15", "--to", "2026-06"}, "2026-06"},
		{"unknown segment", []string{"--segment", "bogus"}, "bogus"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, append([]string{"report", "--config", path}, tt.args...)...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, want 2 with %q in stderr:\n%s", code, tt.want, errs)
			}
		})
	}
}
