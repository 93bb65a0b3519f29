package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// urlEnv names the database the tests use: a superuser's or a schema
// owner's URL (.ci/postgres.sh starts a throwaway cluster and sets it).
const urlEnv = "HEALTHSYNC_TEST_POSTGRES_URL"

// testURL returns the test database's URL. Without one the test is skipped
// loudly, except in CI (CI set), where a missing database is a failure.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		msg := "!!! " + urlEnv + " is not set: the PostgreSQL store is NOT tested. " +
			"Start a throwaway cluster with: eval \"$(.ci/postgres.sh start)\""
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// testSchema creates a new, empty schema for one test and drops it, with
// everything in it, when the test ends; tests never share tables.
func testSchema(t testing.TB) (url, schema string) {
	t.Helper()
	url = testURL(t)
	schema = "hs_test_" + newID()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("connecting to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return url, schema
}

// openTest opens a store on a new schema of its own; more opens the same
// schema again, as another replica would.
func openTest(t testing.TB, opts Options) (s *Store, more func(Options) *Store) {
	t.Helper()
	url, schema := testSchema(t)
	more = func(o Options) *Store {
		t.Helper()
		o.Schema = schema
		s, err := Open(context.Background(), url, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return more(opts), more
}
