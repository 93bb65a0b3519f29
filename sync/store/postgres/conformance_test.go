package postgres

import (
	"testing"

	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/storetest"
)

// TestConformance runs the backend suite against PostgreSQL, each case on
// a schema of its own.
func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, _ := openTest(t, Options{})
		return s
	})
}
