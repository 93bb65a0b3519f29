package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/internal/pgtest"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// TestMigrateStoreDemo moves the demo's bbolt store into PostgreSQL with
// `healthsync migrate-store` and gets the same report (JSON, byte for
// byte) and the same export from both stores; a second move into the now
// used schema is refused.
func TestMigrateStoreDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	url, schema := pgtest.Schema(t)
	dir := t.TempDir()
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"demo", "--accounts", "30", "--seed", "3", "--dir", dir, "--out", filepath.Join(dir, "r.html")}, &out, &errb); code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errb.String())
	}
	boltCfg := filepath.Join(dir, "healthsync.yaml")
	cfg, err := config.Load(boltCfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("HEALTHSYNC_DATABASE_URL", url)
	out.Reset()
	if code := run(ctx, []string{"migrate-store", "--from", cfg.Store.Path, "--schema", schema}, &out, &errb); code != 0 {
		t.Fatalf("migrate-store exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "moved "+cfg.Store.Path) || strings.Contains(out.String()+errb.String(), url) {
		t.Errorf("migrate-store output %q (stderr %q): want the move named and the DSN never shown", out.String(), errb.String())
	}

	// The same configuration on the PostgreSQL store.
	raw, err := os.ReadFile(boltCfg)
	if err != nil {
		t.Fatal(err)
	}
	pgYAML := strings.Replace(string(raw), "store: {path: "+quoteYAML(cfg.Store.Path)+"}",
		"store: {driver: postgres, dsn: ${HEALTHSYNC_DATABASE_URL}, schema: "+schema+"}", 1)
	if pgYAML == string(raw) {
		t.Fatal("the demo's store line was not found")
	}
	pgCfg := filepath.Join(dir, "postgres.yaml")
	if err := os.WriteFile(pgCfg, []byte(pgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	report := func(path string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(ctx, []string{"report", "--config", path, "--format", "json"}, &o, &e); code != 0 {
			t.Fatalf("report --config %s exit %d: %s", path, code, e.String())
		}
		return o.String()
	}
	if b, p := report(boltCfg), report(pgCfg); b != p {
		t.Errorf("reports differ\nbolt:     %.400s\npostgres: %.400s", b, p)
	}

	bs, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	ps, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	want, err := bs.Export()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ps.Export()
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Records) == 0 || len(want.ScoreHistory) == 0 || len(want.Written) == 0 || len(want.Runs) == 0 {
		t.Fatalf("the demo's store is missing families: %v", dumpCounts(want))
	}
	// The store contract keeps times to the microsecond (PostgreSQL's
	// precision) and both keep nanoseconds inside JSON documents.
	toMicros(reflect.ValueOf(want))
	toMicros(reflect.ValueOf(got))
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		name, g, w := gv.Type().Field(i).Name, gv.Field(i), wv.Field(i)
		if reflect.DeepEqual(g.Interface(), w.Interface()) {
			continue
		}
		if g.Kind() == reflect.Slice && g.Len() == w.Len() {
			for j := range g.Len() {
				if !reflect.DeepEqual(g.Index(j).Interface(), w.Index(j).Interface()) {
					t.Errorf("%s[%d] moved:\n %+v\nbbolt:\n %+v", name, j, g.Index(j).Interface(), w.Index(j).Interface())
					break
				}
			}
			continue
		}
		t.Errorf("%s moved %+v, bbolt %+v", name, g.Interface(), w.Interface())
	}

	bs.Close()
	errb.Reset()
	if code := run(ctx, []string{"migrate-store", "--from", cfg.Store.Path, "--schema", schema}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "already holds data") {
		t.Errorf("second migrate-store: exit %d, stderr %q; want 1 and a used store refused", code, errb.String())
	}
}

// toMicros truncates, in place, every time.Time reachable from v to the
// microsecond.
func toMicros(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			toMicros(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			toMicros(v.Index(i))
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if v.CanSet() {
				v.Set(reflect.ValueOf(t.Truncate(time.Microsecond)))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				toMicros(v.Field(i))
			}
		}
	}
}

// quoteYAML quotes s as the demo's config does (Go's %q).
func quoteYAML(s string) string { return strings.TrimSpace(strings.ReplaceAll(`"`+s+`"`, `\`, `\\`)) }

// TestMigrateCommands: usage, refusals, and `healthsync migrate` applying
// the schema once (a second run finds it up to date) without showing the
// DSN.
func TestMigrateCommands(t *testing.T) {
	dir := t.TempDir()
	boltCfg := filepath.Join(dir, "bolt.yaml")
	writeFile(t, boltCfg, "store: {path: "+filepath.Join(dir, "h.db")+"}\n"+minimalConnectors)
	pgLiteral := filepath.Join(dir, "pg-literal.yaml")
	writeFile(t, pgLiteral, "store: {driver: postgres, dsn: \"postgres://h@127.0.0.1:1/x\"}\n"+minimalConnectors)
	usage := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"migrate help", []string{"migrate", "--help"}, 0, "Usage: healthsync migrate --config FILE", ""},
		{"migrate-store help", []string{"migrate-store", "--help"}, 0, "Usage: healthsync migrate-store --from FILE.db [--to DSN] [--schema NAME]", ""},
		{"migrate on bolt", []string{"migrate", "--config", boltCfg}, 2, "", "store.driver is bolt"},
		{"store check on postgres", []string{"store", "check", "--config", pgLiteral}, 2, "", "store.driver is postgres"},
		{"migrate-store without --from", []string{"migrate-store", "--to", "postgres://h@127.0.0.1:1/x"}, 2, "", "--from FILE.db and --to"},
		{"migrate-store from a missing file", []string{"migrate-store", "--from", filepath.Join(dir, "none.db"), "--to", "postgres://h@127.0.0.1:1/x"}, 2, "", "no such file"},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout %q, want %q in it\nstderr %q, want %q in it", code, tt.code, out, tt.stdout, errs, tt.stderr)
			}
		})
	}

	t.Run("postgres", func(t *testing.T) {
		url, schema := pgtest.Schema(t)
		t.Setenv("HEALTHSYNC_DATABASE_URL", url)
		pgCfg := filepath.Join(dir, "pg.yaml")
		writeFile(t, pgCfg, "store: {driver: postgres, dsn: ${HEALTHSYNC_DATABASE_URL}, schema: "+schema+"}\n"+minimalConnectors)
		addr := postgres.Address(url)
		// The newest version is the number of embedded migrations.
		migs, err := filepath.Glob("../../sync/store/postgres/migrations/*.sql")
		if err != nil || len(migs) == 0 {
			t.Fatalf("migrations: %v %v", migs, err)
		}
		latest := len(migs)
		for i, want := range []string{
			fmt.Sprintf("postgres store at %s: schema version 0 -> %d\n", addr, latest),
			fmt.Sprintf("postgres store at %s: schema version %d, up to date\n", addr, latest),
		} {
			code, out, errs := runCLI(t, "migrate", "--config", pgCfg)
			if code != 0 || out != want || strings.Contains(out+errs, url) {
				t.Errorf("run %d: exit %d, stdout %q, want %q; stderr %q", i+1, code, out, want, errs)
			}
		}
	})
}

// minimalConnectors is one billing connector, for configurations that only
// need to load.
const minimalConnectors = `connectors:
  - {name: billing, kind: stripe, auth: {api_key: sk_test_pgrun_31337}, schedule: "@every 10m"}
`

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
