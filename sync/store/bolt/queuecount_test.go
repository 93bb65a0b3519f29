package bolt

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// TestQueueDepthOfAcrossReopenAndImport: the per-connector counts live in
// memory, so a store opened on a file with queued events counts them (an
// unsettled claim included), and Import counts what it writes.
func TestQueueDepthOfAcrossReopenAndImport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "q.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []store.QueuedEvent
	for i, c := range []string{"stripe", "stripe", "stripe", "hubspot"} {
		evs = append(evs, store.QueuedEvent{Connector: c, Event: record.Event{ID: fmt.Sprint("e", i), Type: "t", ObjectType: "customer", ObjectID: fmt.Sprint("obj", i)}})
	}
	if _, err := s.Enqueue(evs); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(2, evs[0].Due)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if err := s.Ack(claimed[0].Seq); err != nil {
		t.Fatal(err)
	}
	dump, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // claimed[1] is unsettled: queued again
	depths := func(s *Store) map[string]int {
		t.Helper()
		got := map[string]int{}
		for _, c := range []string{"stripe", "hubspot", "chargebee"} {
			n, err := s.QueueDepthOf(c)
			if err != nil {
				t.Fatal(err)
			}
			got[c] = n
		}
		return got
	}
	want := map[string]int{"stripe": 2, "hubspot": 1, "chargebee": 0}
	cases := []struct {
		name string
		open func() *Store
	}{
		{"reopened", func() *Store {
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"imported", func() *Store {
			s, err := Open(filepath.Join(dir, "import.db"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Import(dump); err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.open()
			defer s.Close()
			if got := depths(s); !reflect.DeepEqual(got, want) {
				t.Errorf("QueueDepthOf = %v, want %v", got, want)
			}
		})
	}
}

// BenchmarkQueueDepthOf: the count a webhook batch asks for, with 10,000
// events queued.
func BenchmarkQueueDepthOf(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "q.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	evs := make([]store.QueuedEvent, 10000)
	for i := range evs {
		evs[i] = store.QueuedEvent{Connector: "stripe", Event: record.Event{Type: "t", ObjectType: "subscription", ObjectID: fmt.Sprint("sub_", i)}}
	}
	if _, err := s.Enqueue(evs); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if n, err := s.QueueDepthOf("stripe"); err != nil || n != len(evs) {
			b.Fatalf("QueueDepthOf = %d, %v", n, err)
		}
	}
}
