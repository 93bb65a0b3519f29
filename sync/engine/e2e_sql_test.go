package engine_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/sqlsource"
	"github.com/healthsync/healthsync/sync/engine"
)

// TestEndToEndSQLSignals: a product database on the throwaway PostgreSQL
// cluster (HEALTHSYNC_TEST_POSTGRES_URL, from .ci/postgres.sh; skipped
// loudly without it, a failure under CI=true) is pulled by the engine as a
// sql connector: its logins are stored under the Salesforce accounts, the
// accounts re-scored and the new scores written to Salesforce; a login
// committed late inside the overlap is read by the next sync, and a row
// with a NULL account is refused alone.
func TestEndToEndSQLSignals(t *testing.T) {
	dsn := os.Getenv("HEALTHSYNC_TEST_POSTGRES_URL")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HEALTHSYNC_TEST_POSTGRES_URL is unset under CI=true: the SQL source's end-to-end test must run")
		}
		t.Skip("SKIPPED: HEALTHSYNC_TEST_POSTGRES_URL is unset, so the SQL source's end-to-end test did not run (start a throwaway cluster, e.g. .ci/postgres.sh)")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	schema := "e2e_sql_" + hex.EncodeToString(b[:])
	run := func(stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := db.Exec(strings.ReplaceAll(s, "{s}", schema)); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	run("CREATE SCHEMA {s}")
	t.Cleanup(func() { run("DROP SCHEMA {s} CASCADE"); db.Close() })

	e := newSFStripe(t)
	e.sync(t)
	before := e.health(t, e.accts[0])
	at := func(d time.Duration) string { return e.now.Add(d).Format(time.RFC3339) }
	run(`CREATE TABLE {s}.accounts (id int PRIMARY KEY, salesforce_id text)`,
		`CREATE TABLE {s}.logins (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES {s}.accounts, at timestamptz NOT NULL)`,
		fmt.Sprintf(`INSERT INTO {s}.accounts VALUES (1, '%s'), (2, NULL)`, e.accts[0]))
	for i := range 12 {
		run(fmt.Sprintf(`INSERT INTO {s}.logins (account_id, at) VALUES (1, '%s')`, at(-time.Duration(i+1)*24*time.Hour)))
	}
	run(fmt.Sprintf(`INSERT INTO {s}.logins (account_id, at) VALUES (2, '%s')`, at(-time.Hour)))

	cc := config.Connector{Name: "product-db", Kind: sqlsource.Kind, SQL: &config.SQLSource{Driver: "postgres", DSN: config.NewSecret(dsn),
		AccountSystem: "salesforce", Overlap: config.Duration(10 * time.Minute), Query: strings.ReplaceAll(`
SELECT a.salesforce_id AS account, 'logins' AS metric, 1 AS value, l.at AS time
  FROM {s}.logins l JOIN {s}.accounts a ON a.id = l.account_id
 WHERE l.at > :since`, "{s}", schema)}}
	src, err := sqlsource.New(sqlsource.FromConnector(cc), sqlsource.Options{Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	e.withSignals(t, &engine.Connector{Config: cc, Caps: sqlsource.Capabilities(), Source: src})

	pulled := func() *engine.PullReport {
		t.Helper()
		rep, err := e.eng.Sync(t.Context(), engine.SyncOptions{Connector: "product-db"})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		return rep.Pulls[0]
	}
	// 13 rows: 12 logins of account 0 stored; the NULL account refused.
	if p := pulled(); !reflect.DeepEqual(p.Signals, &engine.SignalCounts{Stored: 12, RowsFailed: 1,
		RowErrors: []string{"row 13: column account: NULL"}}) || p.Err != "" {
		t.Fatalf("first pull: %+v, signals %+v", p, p.Signals)
	}
	logins := func() int { return len(metricValues(t, e.st, "salesforce/"+e.accts[0], "logins")) }
	if n := logins(); n != 12 {
		t.Fatalf("stored logins = %d, want 12", n)
	}
	after := e.health(t, e.accts[0])
	if after.Score == before.Score || fmt.Sprint(after.Score) != fmt.Sprint(math.Round(after.Stored)) {
		t.Fatalf("account 0 in the CRM: before %+v, after %+v: want the new stored score written", before, after)
	}

	// A login committed late, 5 minutes before the newest one read
	// (inside the 10-minute overlap), is read by the next sync.
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	run(fmt.Sprintf(`INSERT INTO {s}.logins (account_id, at) VALUES (1, '%s')`, at(-time.Hour-24*time.Hour-5*time.Minute)))
	if p := pulled(); p.Signals == nil || p.Signals.Stored == 0 || p.Err != "" {
		t.Fatalf("second pull: %+v", p)
	}
	if n := logins(); n != 13 {
		t.Fatalf("stored logins after the late row = %d, want 13", n)
	}
}
