package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/store/storetest"
)

// TestConformance runs the backend suite against bbolt.
func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "h.db"), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
