package postgres

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// What the conformance suite cannot see: several store values (replicas)
// sharing one database.

// clock is a settable clock for leases.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func event(id, object string) store.QueuedEvent {
	return store.QueuedEvent{Connector: "billing", Due: t0, Enqueued: t0,
		Event: record.Event{System: record.Stripe, ID: id, Type: "test." + id, ObjectType: "customer", ObjectID: object}}
}

func ids(es []store.QueuedEvent) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Event.ID)
	}
	return out
}

func same[T any](t *testing.T, name string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

// TestReplicasClaimEachKeyOnce: workers of two replicas claiming from one
// queue while a producer enqueues never hold one ordering key twice at
// once, process every event once, and each key's events in Seq order.
func TestReplicasClaimEachKeyOnce(t *testing.T) {
	a, more := openTest(t, Options{})
	b := more(Options{})
	const keys, perKey, workersEach = 6, 15, 3
	var events []store.QueuedEvent
	for i := range keys * perKey {
		events = append(events, event(fmt.Sprintf("e%03d", i), fmt.Sprintf("K%d", i%keys)))
	}
	half := len(events) / 2
	if _, err := a.Enqueue(events[:half]); err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		busy      = map[string]string{} // key -> replica holding it
		processed = map[string][]uint64{}
		done      int
	)
	var wg sync.WaitGroup
	wg.Go(func() { // the producer: the second half through replica b, one per call
		for i := half; i < len(events); i++ {
			if _, err := b.Enqueue(events[i : i+1]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for _, r := range []struct {
		name string
		s    *Store
	}{{"a", a}, {"b", b}} {
		for range workersEach {
			wg.Go(func() {
				for range 50 * keys * perKey {
					mu.Lock()
					finished := done == len(events)
					mu.Unlock()
					if finished {
						return
					}
					got, err := r.s.Claim(2, t0)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, e := range got {
						if other, held := busy[e.Key]; held {
							t.Errorf("key %s claimed by %s while %s holds it (event %s)", e.Key, r.name, other, e.Event.ID)
						}
						busy[e.Key] = r.name
						processed[e.Key] = append(processed[e.Key], e.Seq)
					}
					mu.Unlock()
					for _, e := range got {
						mu.Lock()
						delete(busy, e.Key)
						done++
						mu.Unlock()
						if err := r.s.Ack(e.Seq); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	want := map[string][]uint64{}
	for _, e := range events {
		want[e.Key] = append(want[e.Key], e.Seq)
	}
	same(t, "seqs processed per key", processed, want)
	queued, _, err := a.QueueDepth()
	if err != nil {
		t.Fatal(err)
	}
	same(t, "queued and in flight afterwards", [3]int{queued, a.InFlight(), b.InFlight()}, [3]int{0, 0, 0})
}

// TestLeaseTakeover: a claim outlives its holder only for its lease. While
// the holder renews it nobody else gets the key; once the holder stops (a
// replica that died) and the lease runs out, another replica takes the
// event over, and the first can no longer settle it.
func TestLeaseTakeover(t *testing.T) {
	clk := &clock{now: t0}
	a, more := openTest(t, Options{Now: clk.Now, Lease: time.Minute})
	b := more(Options{Now: clk.Now, Lease: time.Minute})
	q := []store.QueuedEvent{event("e1", "A"), event("e2", "A"), event("f1", "F")}
	if _, err := a.Enqueue(q); err != nil {
		t.Fatal(err)
	}
	got, err := a.Claim(1, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "a claims", ids(got), []string{"e1"})

	steps := []struct {
		name    string
		advance time.Duration
		renew   bool // a renews its lease after advancing
		want    []string
		ack     bool // b acknowledges what it claimed
	}{
		{"within the lease", 50 * time.Second, true, []string{"f1"}, true},
		{"past the first lease, within the renewed one", 50 * time.Second, false, []string{}, false},
		{"at the end of the renewed lease", 10 * time.Second, false, []string{"e1"}, false},
	}
	var taken []store.QueuedEvent
	for _, st := range steps {
		clk.advance(st.advance)
		if st.renew {
			if err := a.renewLeases(); err != nil {
				t.Fatal(err)
			}
		}
		taken, err = b.Claim(10, t0)
		if err != nil {
			t.Fatal(err)
		}
		same(t, st.name+": b claims", ids(taken), st.want)
		for _, e := range taken {
			if !st.ack {
				break
			}
			if err := b.Ack(e.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	same(t, "the taken-over event", taken, []store.QueuedEvent{q[0]})

	if err := a.Ack(q[0].Seq); !errors.Is(err, ErrClaimLost) {
		t.Errorf("ack by the replica that lost the claim: %v, want ErrClaimLost", err)
	}
	if err := b.Ack(q[0].Seq); err != nil {
		t.Errorf("ack by the replica that took the claim over: %v", err)
	}
	got, err = a.Claim(10, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "the key's next event", ids(got), []string{"e2"})
	same(t, "in flight (a: e2)", [2]int{a.InFlight(), b.InFlight()}, [2]int{1, 0})
}

// TestCloseReleasesClaims: the events a closing replica held are claimable
// by another at once, without waiting for the lease.
func TestCloseReleasesClaims(t *testing.T) {
	a, more := openTest(t, Options{Lease: time.Hour})
	b := more(Options{Lease: time.Hour})
	if _, err := a.Enqueue([]store.QueuedEvent{event("e1", "A"), event("f1", "F")}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Claim(10, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "a claims", ids(got), []string{"e1", "f1"})
	got, err = b.Claim(10, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "b claims while a holds them", ids(got), []string{})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got, err = b.Claim(10, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "b claims after a closed", ids(got), []string{"e1", "f1"})
}

// TestReplicasDedupe: the same deliveries arriving at two replicas at once
// are queued once each; every other copy is reported a duplicate.
func TestReplicasDedupe(t *testing.T) {
	a, more := openTest(t, Options{})
	b := more(Options{})
	const distinct, copies = 20, 4
	var (
		mu     sync.Mutex
		queued = map[string]int{}
		dups   int
		wg     sync.WaitGroup
	)
	for c := range copies {
		for _, s := range []*Store{a, b} {
			wg.Go(func() {
				for i := range distinct {
					i = (i + c*7) % distinct // each sender in its own order
					dup, err := s.Enqueue([]store.QueuedEvent{event(fmt.Sprintf("evt_%d", i), "A")})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if dup[0] {
						dups++
					} else {
						queued[fmt.Sprintf("evt_%d", i)]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	want := map[string]int{}
	for i := range distinct {
		want[fmt.Sprintf("evt_%d", i)] = 1
	}
	same(t, "queued per event ID", queued, want)
	depth, _, err := b.QueueDepth()
	if err != nil {
		t.Fatal(err)
	}
	same(t, "duplicates and depth", [2]int{dups, depth}, [2]int{distinct * (2*copies - 1), distinct})
}
