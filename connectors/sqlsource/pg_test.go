package sqlsource

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/config"
)

// postgresURLEnv names the throwaway PostgreSQL cluster the tests use (the
// one .ci/run starts for the store).
const postgresURLEnv = "HEALTHSYNC_TEST_POSTGRES_URL"

// testSchema connects to the test cluster and creates a schema of its own
// for t, dropped at the end. Without the cluster the test is skipped
// loudly, or fails under CI=true.
func testSchema(t testing.TB) (db *sql.DB, dsn, schema string) {
	t.Helper()
	dsn = os.Getenv(postgresURLEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset under CI=true: the SQL source's PostgreSQL tests must run", postgresURLEnv)
		}
		t.Skipf("SKIPPED: %s is unset, so the SQL source's PostgreSQL tests did not run (start a throwaway cluster, e.g. .ci/postgres.sh)", postgresURLEnv)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	schema = "sqlsource_" + strings.ToLower(strings.NewReplacer("/", "_", " ", "_", "-", "_").Replace(t.Name())) + "_" + hex.EncodeToString(b[:])
	if len(schema) > 63 {
		schema = schema[len(schema)-63:]
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return db, dsn, schema
}

// exec runs statements with {s} replaced by the schema.
func exec(t testing.TB, db *sql.DB, schema string, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(strings.ReplaceAll(s, "{s}", schema)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// newClient builds a Client for the test schema; {s} in cfg.Query is the
// schema.
func newClient(t testing.TB, dsn, schema string, cfg Config, opts Options) *Client {
	t.Helper()
	cfg.Name, cfg.Driver, cfg.DSN = "product-db", "postgres", config.NewSecret(dsn)
	cfg.Query = strings.ReplaceAll(cfg.Query, "{s}", schema)
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
