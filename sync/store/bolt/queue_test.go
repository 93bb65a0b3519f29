package bolt

import (
	"errors"
	"fmt"
	"github.com/healthsync/healthsync/sync/store/storetest"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

func ev(conn, id, objID string) store.QueuedEvent {
	return store.QueuedEvent{Connector: conn, Event: record.Event{System: record.Stripe, ID: id, Type: "customer.updated", ObjectType: "customer", ObjectID: objID}}
}

func eventIDs(es []store.QueuedEvent) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Event.ID)
	}
	return out
}

func TestEnqueueDedupe(t *testing.T) {
	clock := t0
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{Now: func() time.Time { return clock }, DedupeTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	steps := []struct {
		name    string
		at      time.Time
		events  []store.QueuedEvent
		wantDup []bool
	}{
		{"first sight", t0, []store.QueuedEvent{ev("billing", "evt_1", "cus_1"), ev("billing", "evt_2", "cus_2")}, []bool{false, false}},
		{"redelivery is a duplicate", t0.Add(time.Minute), []store.QueuedEvent{ev("billing", "evt_1", "cus_1")}, []bool{true}},
		{"same ID twice in one call", t0.Add(time.Minute), []store.QueuedEvent{ev("billing", "evt_3", "cus_3"), ev("billing", "evt_3", "cus_3")}, []bool{false, true}},
		{"same ID from another connector", t0.Add(time.Minute), []store.QueuedEvent{ev("billing-eu", "evt_1", "cus_1")}, []bool{false}},
		{"empty ID never deduplicated", t0.Add(time.Minute), []store.QueuedEvent{ev("billing", "", "cus_4"), ev("billing", "", "cus_4")}, []bool{false, false}},
		{"after the TTL it is new again", t0.Add(2 * time.Hour), []store.QueuedEvent{ev("billing", "evt_2", "cus_2")}, []bool{false}},
	}
	for _, st := range steps {
		clock = st.at
		dup, err := s.Enqueue(st.events)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !reflect.DeepEqual(dup, st.wantDup) {
			t.Errorf("%s: dup %v, want %v", st.name, dup, st.wantDup)
		}
	}
	if q, _, _ := s.QueueDepth(); q != 7 {
		t.Errorf("queue depth %d, want 7", q)
	}
	// At t0+2h evt_1, evt_3 and billing-eu/evt_1 have expired; evt_2 was renewed.
	n, err := s.SweepDedupe(t0.Add(2 * time.Hour))
	if err != nil || n != 3 { // evt_1, evt_3, billing-eu/evt_1; evt_2's old expiry entry was replaced at enqueue
		t.Errorf("swept %d (%v), want 3", n, err)
	}
	clock = t0.Add(2*time.Hour + time.Minute)
	dup, _ := s.Enqueue([]store.QueuedEvent{ev("billing", "evt_2", "cus_2"), ev("billing", "evt_1", "cus_1")})
	if want := []bool{true, false}; !reflect.DeepEqual(dup, want) {
		t.Errorf("after sweep: dup %v, want %v", dup, want)
	}
}

// distinct gives each event its own type, so no two are copies that Claim
// would coalesce.
func distinct(es ...store.QueuedEvent) []store.QueuedEvent {
	for i := range es {
		es[i].Event.Type = "test." + es[i].Event.ID
	}
	return es
}

func TestClaimOrdersPerKey(t *testing.T) {
	s := openTest(t)
	// a1 a2 b1 a3 c1 b2: keys by customer.
	_, err := s.Enqueue(distinct(ev("b", "a1", "A"), ev("b", "a2", "A"), ev("b", "b1", "B"), ev("b", "a3", "A"), ev("b", "c1", "C"), ev("b", "b2", "B")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(10, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := eventIDs(got); !slices.Equal(ids, []string{"a1", "b1", "c1"}) {
		t.Fatalf("first claim %v", ids)
	}
	// Nothing else is claimable while A, B and C are in flight.
	if more, _ := s.Claim(10, t0); len(more) != 0 {
		t.Fatalf("claimed %v while keys busy", eventIDs(more))
	}
	if s.InFlight() != 3 {
		t.Errorf("in flight %d", s.InFlight())
	}
	// a1 fails and is retried later: a2 and a3 must wait behind it.
	if err := s.Retry(got[0].Seq, t0.Add(time.Minute), errors.New("timeout")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(got[1].Seq); err != nil {
		t.Fatal(err)
	}
	more, _ := s.Claim(10, t0)
	if ids := eventIDs(more); !slices.Equal(ids, []string{"b2"}) {
		t.Fatalf("claim after retry %v, want [b2]", ids)
	}
	more, _ = s.Claim(10, t0.Add(time.Minute))
	if ids := eventIDs(more); !slices.Equal(ids, []string{"a1"}) {
		t.Fatalf("claim when a1 due %v, want [a1]", ids)
	}
	if more[0].Attempts != 1 || more[0].LastError != "timeout" {
		t.Errorf("retried event %+v", more[0])
	}
	// Claim respects n.
	if err := s.Ack(more[0].Seq); err != nil {
		t.Fatal(err)
	}
	more, _ = s.Claim(1, t0.Add(time.Minute))
	if ids := eventIDs(more); !slices.Equal(ids, []string{"a2"}) {
		t.Fatalf("claim(1) %v", ids)
	}
	if err := s.Ack(12345); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of unknown seq: %v", err)
	}
}

func TestQueueRestartResumesInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue([]store.QueuedEvent{ev("b", "e1", "A"), ev("b", "e2", "B")}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Claim(10, t0)
	if len(got) != 2 {
		t.Fatalf("claimed %d", len(got))
	}
	if err := s.Ack(got[1].Seq); err != nil {
		t.Fatal(err)
	}
	s.Close() // e1 still in flight

	s, err = Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ = s.Claim(10, t0)
	want := ev("b", "e1", "A")
	want.Seq, want.Key, want.Due, want.Enqueued = 1, "b/customer/A", t0, t0
	if !reflect.DeepEqual(got, []store.QueuedEvent{want}) {
		t.Errorf("after restart claimed\n %+v\nwant %+v", got, []store.QueuedEvent{want})
	}
}

func TestDeadLetterAndReplay(t *testing.T) {
	s := openTest(t)
	if _, err := s.Enqueue([]store.QueuedEvent{ev("b", "e1", "A"), ev("b", "e2", "A")}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Claim(10, t0)
	if err := s.DeadLetter(got[0].Seq, errors.New("bad payload")); err != nil {
		t.Fatal(err)
	}
	// The next event of the key proceeds once the failing one is out.
	next, _ := s.Claim(10, t0)
	if ids := eventIDs(next); !slices.Equal(ids, []string{"e2"}) {
		t.Fatalf("claim after dead letter %v", ids)
	}
	dl, err := s.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].Event.ID != "e1" || dl[0].LastError != "bad payload" || dl[0].Attempts != 1 || !dl[0].DeadAt.Equal(t0) {
		t.Fatalf("dead letters %+v", dl)
	}
	if q, d, _ := s.QueueDepth(); q != 1 || d != 1 {
		t.Errorf("depth %d/%d, want 1/1", q, d)
	}
	if err := s.Ack(next[0].Seq); err != nil {
		t.Fatal(err)
	}
	seq, err := s.Replay(dl[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Claim(10, t0)
	if len(again) != 1 || again[0].Seq != seq || again[0].Event.ID != "e1" || again[0].Attempts != 0 {
		t.Fatalf("replayed claim %+v", again)
	}
	if dl, _ := s.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters after replay %+v", dl)
	}
	if _, err := s.Replay(999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replay unknown: %v", err)
	}
}

func TestEnqueueConcurrent(t *testing.T) {
	s := openTest(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				// Every event is sent twice, from two goroutines.
				id := fmt.Sprintf("evt_%d", (g/2)*100+i)
				if _, err := s.Enqueue([]store.QueuedEvent{ev("b", id, id)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if q, _, _ := s.QueueDepth(); q != 100 {
		t.Errorf("queued %d, want 100 distinct events", q)
	}
	got, _ := s.Claim(1000, t0)
	seqs := make([]uint64, len(got))
	for i, e := range got {
		seqs[i] = e.Seq
	}
	if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) || len(seqs) != 100 {
		t.Errorf("claimed %d events, sorted=%v", len(seqs), sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }))
	}
}

// BenchmarkEnqueueParallel measures webhook ingest: many goroutines each
// enqueueing one event per call, durably (fsync on), sharing group commits.
// It reports events/s and the p50 and p99 latency of one Enqueue call.
func BenchmarkEnqueueParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.EnqueueParallel(b, s, 64)
}

// BenchmarkEnqueueParallelDirect is BenchmarkEnqueueParallel without the
// inbox log: each group is committed to bbolt (Options.DirectQueue).
func BenchmarkEnqueueParallelDirect(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{DirectQueue: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.EnqueueParallel(b, s, 64)
}

func TestOpenSweepsExpiredDedupeIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	clock := t0
	opts := Options{Now: func() time.Time { return clock }, DedupeTTL: time.Hour}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue([]store.QueuedEvent{ev("b", "e1", "A"), ev("b", "e2", "B")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	clock = t0.Add(2 * time.Hour)
	if s, err = Open(path, opts); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids, index int
	s.db.View(func(tx *bbolt.Tx) error {
		ids, index = tx.Bucket(bucketDedupe).Stats().KeyN, tx.Bucket(bucketDedupeExpiry).Stats().KeyN
		return nil
	})
	if ids != 0 || index != 0 {
		t.Errorf("after reopen past the TTL: %d dedupe IDs, %d index entries; want 0", ids, index)
	}
	if q, _, _ := s.QueueDepth(); q != 2 {
		t.Errorf("queue depth %d: sweeping must not touch queued events", q)
	}
}

// TestClaimCoalescesCopies: later queued copies of the same event (same
// connector, type and object) ride along with the claimed one and are
// acknowledged with it; a different event of the key stops the run, and a
// retry leaves the copies queued.
func TestClaimCoalescesCopies(t *testing.T) {
	s := openTest(t)
	other := ev("b", "x1", "A")
	other.Event.Type = "customer.deleted"
	if _, err := s.Enqueue([]store.QueuedEvent{ev("b", "a1", "A"), ev("b", "a2", "A"), ev("b", "b1", "B"), ev("b", "a3", "A"), other, ev("b", "a4", "A")}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Claim(10, t0)
	if ids := eventIDs(got); !slices.Equal(ids, []string{"a1", "b1"}) {
		t.Fatalf("claim %v", ids)
	}
	if len(got[0].Covers) != 2 {
		t.Fatalf("a1 covers %v, want a2 and a3 (x1 differs, a4 comes after it)", got[0].Covers)
	}
	// A retry keeps the copies.
	if err := s.Retry(got[0].Seq, t0, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	if q, _, _ := s.QueueDepth(); q != 6 {
		t.Fatalf("queue %d after retry, want 6", q)
	}
	got, _ = s.Claim(10, t0)
	if ids := eventIDs(got); !slices.Equal(ids, []string{"a1"}) || len(got[0].Covers) != 2 {
		t.Fatalf("second claim %v covers %v", ids, got)
	}
	if err := s.Ack(got[0].Seq); err != nil {
		t.Fatal(err)
	}
	// a1, a2, a3 gone; b1 still in flight; x1 then a4 remain in order.
	if q, _, _ := s.QueueDepth(); q != 3 {
		t.Fatalf("queue %d after ack, want 3 (b1, x1, a4)", q)
	}
	got, _ = s.Claim(10, t0)
	if ids := eventIDs(got); !slices.Equal(ids, []string{"x1"}) {
		t.Fatalf("third claim %v, want [x1]", ids)
	}
}
