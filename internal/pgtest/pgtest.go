// Package pgtest gives tests outside sync/store/postgres a PostgreSQL
// database: the URL CI's throwaway cluster exports (.ci/postgres.sh) and a
// schema of their own, dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URLEnv names the test database's URL.
const URLEnv = "HEALTHSYNC_TEST_POSTGRES_URL"

// URL returns the test database's URL. Without one the test is skipped
// loudly, except in CI (CI set), where a missing database is a failure.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(URLEnv)
	if url == "" {
		msg := "!!! " + URLEnv + " is not set: this PostgreSQL test did NOT run. " +
			"Start a throwaway cluster with: eval \"$(.ci/postgres.sh start)\""
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// Schema returns the database URL and the name of a new, empty schema that
// is dropped, with everything in it, when the test ends.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	url = URL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema = "hs_test_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return url, schema
}
