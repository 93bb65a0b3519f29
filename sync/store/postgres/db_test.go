package postgres

import (
	"context"
	"testing"

	"github.com/healthsync/healthsync/internal/pgtest"
)

// testURL and testSchema are internal/pgtest's: the database CI's
// throwaway cluster exports (skipped loudly without it, a failure in CI)
// and a new, empty schema per test, dropped when it ends.
func testURL(t testing.TB) string { return pgtest.URL(t) }

func testSchema(t testing.TB) (url, schema string) { return pgtest.Schema(t) }

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
