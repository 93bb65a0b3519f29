package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// testSentValues: values marked sent survive a new plan's merge and are
// cleared field by field when the write is recorded (ported from the bbolt
// tests).
func testSentValues(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	upd := func(f map[string]any) []record.FieldUpdate {
		return []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: f}}
	}
	steps := []struct {
		name string
		do   func() error
		want []store.PendingWrite
	}{
		{"planned", func() error {
			return s.PutPending([]store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1, "ARR__c": 12}, Planned: t0}})
		}, []store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1.0, "ARR__c": 12.0}, Planned: t0}}},
		{"sent", func() error { return s.MarkSent("sf", upd(map[string]any{"MRR__c": 1, "ARR__c": 12})) },
			[]store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1.0, "ARR__c": 12.0}, Planned: t0,
				Sent: map[string][]any{"MRR__c": {1.0}, "ARR__c": {12.0}}}}},
		{"re-planned", func() error {
			return s.PutPending([]store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 3}, Planned: t0}})
		}, []store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 3.0, "ARR__c": 12.0}, Planned: t0,
			Sent: map[string][]any{"MRR__c": {1.0}, "ARR__c": {12.0}}}}},
		{"sent again", func() error { return s.MarkSent("sf", upd(map[string]any{"MRR__c": 3, "ARR__c": 12})) },
			[]store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 3.0, "ARR__c": 12.0}, Planned: t0,
				Sent: map[string][]any{"MRR__c": {1.0, 3.0}, "ARR__c": {12.0}}}}},
		{"MRR written", func() error { return s.MarkWritten("sf", upd(map[string]any{"MRR__c": 3}), t0) },
			[]store.PendingWrite{{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"ARR__c": 12.0}, Planned: t0,
				Sent: map[string][]any{"ARR__c": {12.0}}}}},
		{"ARR written", func() error { return s.MarkWritten("sf", upd(map[string]any{"ARR__c": 12}), t0) }, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.Pending("sf")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && len(st.want) == 0 {
			continue // none: nil and empty are the same answer
		}
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: pending\n%+v\nwant\n%+v", st.name, got, st.want)
		}
	}
}

// testInterruptRuns: runs still running are marked interrupted once; runs
// that ended keep their status.
func testInterruptRuns(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	for _, r := range []store.Run{
		{ID: "a", Kind: "sync", Start: t0, Status: "running"},
		{ID: "b", Kind: "pull", Start: t0.Add(time.Second), End: t0.Add(2 * time.Second), Status: "ok"},
	} {
		if err := s.PutRun(r); err != nil {
			t.Fatal(err)
		}
	}
	for i, wantN := range []int{1, 0} {
		n, err := s.InterruptRuns()
		if err != nil || n != wantN {
			t.Fatalf("call %d: %d interrupted (%v), want %d", i, n, err, wantN)
		}
	}
	got, err := s.Runs(10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Run{
		{ID: "b", Kind: "pull", Start: t0.Add(time.Second), End: t0.Add(2 * time.Second), Status: "ok"},
		{ID: "a", Kind: "sync", Start: t0, Status: store.RunInterrupted, Notes: []string{"the process stopped before the run ended"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runs\n%+v\nwant\n%+v", got, want)
	}
}

// testNewestModified: the latest Modified of a connector's records,
// tombstones included, other connectors and deletions of unknown IDs left
// out.
func testNewestModified(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	cus := func(id string, mod time.Time) record.Customer {
		return record.Customer{Ref: record.Ref{System: record.Stripe, ID: id, Modified: mod}}
	}
	if got, err := s.NewestModified("billing"); err != nil || !got.IsZero() {
		t.Fatalf("empty store: %v (%v), want zero", got, err)
	}
	if _, err := s.CommitBatch("billing", &record.Batch{Customers: []record.Customer{cus("cus_1", t0), cus("cus_2", t0.Add(time.Microsecond))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBatch("billing", &record.Batch{Deleted: []record.Ref{{System: record.Stripe, ID: "cus_1", Modified: t0.Add(2 * time.Microsecond)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBatch("other", &record.Batch{Customers: []record.Customer{cus("cus_9", t0.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	// A deletion of an ID never stored stores nothing, so its time does
	// not count.
	if _, err := s.CommitBatch("billing", &record.Batch{Deleted: []record.Ref{{System: record.Stripe, ID: "cus_unknown", Modified: t0.Add(time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.NewestModified("billing"); err != nil || !got.Equal(t0.Add(2*time.Microsecond)) {
		t.Fatalf("newest %v (%v), want %v", got, err, t0.Add(2*time.Microsecond))
	}
}
