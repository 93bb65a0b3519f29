package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// ev is a webhook event of connector about customer objID, due at t0.
// Its type is unique to id, so no two events made by ev are copies that
// Claim would coalesce; copy makes one that is.
func ev(connector, id, objID string) store.QueuedEvent {
	return store.QueuedEvent{Connector: connector, Due: t0, Enqueued: t0,
		Event: record.Event{System: record.Stripe, ID: id, Type: "test." + id, ObjectType: "customer", ObjectID: objID}}
}

// copyOf is another delivery of e's change: same connector, type and
// object, its own event ID.
func copyOf(e store.QueuedEvent, id string) store.QueuedEvent {
	e.Event.ID = id
	return e
}

func eventIDs(es []store.QueuedEvent) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Event.ID)
	}
	return out
}

// enqueue queues events and returns them with their Seq and defaults set.
func enqueue(t *testing.T, s store.Queue, events ...store.QueuedEvent) []store.QueuedEvent {
	t.Helper()
	dup := must(s.Enqueue(events))(t)
	for i, d := range dup {
		if d {
			t.Fatalf("event %s was a duplicate", events[i].Event.ID)
		}
	}
	return events
}

func claim(t *testing.T, s store.Queue, n int, now time.Time) []store.QueuedEvent {
	t.Helper()
	return must(s.Claim(n, now))(t)
}

func testQueue(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Enqueue", func(t *testing.T) { queueEnqueue(t, open(t)) })
	t.Run("Dedupe", func(t *testing.T) { queueDedupe(t, open(t)) })
	t.Run("ClaimOrdersPerKey", func(t *testing.T) { queueClaimOrdersPerKey(t, open(t)) })
	t.Run("ClaimConcurrent", func(t *testing.T) { queueClaimConcurrent(t, open(t)) })
	t.Run("Coalescing", func(t *testing.T) { queueCoalescing(t, open(t)) })
	t.Run("RetryBackoff", func(t *testing.T) { queueRetry(t, open(t)) })
	t.Run("DeadLetters", func(t *testing.T) { queueDeadLetters(t, open(t)) })
	t.Run("NotFound", func(t *testing.T) { queueNotFound(t, open(t)) })
	t.Run("DepthOf", func(t *testing.T) { queueDepthOf(t, open(t)) })
}

// queueEnqueue: Enqueue assigns increasing Seqs and fills in defaults; a
// claim returns the event as it was queued.
func queueEnqueue(t *testing.T, s store.Store) {
	first := enqueue(t, s, ev("billing", "e1", "A"), ev("billing", "e2", "B"))
	keyed := ev("billing", "e3", "A")
	keyed.Key = "billing/customer/custom"
	bare := store.QueuedEvent{Connector: "crm", Event: record.Event{ID: "e4", Type: "company.propertyChange", ObjectType: "company", ObjectID: "77"}}
	var second []store.QueuedEvent
	w := during(func() { second = enqueue(t, s, keyed, bare) })

	if !(first[0].Seq > 0 && first[1].Seq > first[0].Seq && second[0].Seq > first[1].Seq && second[1].Seq > second[0].Seq) {
		t.Fatalf("seqs %d %d %d %d, want increasing", first[0].Seq, first[1].Seq, second[0].Seq, second[1].Seq)
	}
	w.check(t, "defaulted Enqueued", second[1].Enqueued)
	w.check(t, "defaulted Due", second[1].Due)
	equal(t, "defaulted Due equals Enqueued", second[1].Due, second[1].Enqueued)

	want := []store.QueuedEvent{first[0], first[1], second[0], second[1]}
	want[0].Key, want[1].Key = "billing/customer/A", "billing/customer/B"
	want[3].Key = "crm/company/77"
	equal(t, "events as enqueued", []store.QueuedEvent{first[0], first[1], second[0], second[1]}, want)
	equal(t, "claimed", claim(t, s, 10, time.Now().Add(time.Hour)), want)
	queued, dead := mustDepth(t, s)
	equal(t, "depth", [2]int{queued, dead}, [2]int{4, 0})
	equal(t, "in flight", s.InFlight(), 4)
}

func mustDepth(t *testing.T, s store.QueueStats) (int, int) {
	t.Helper()
	q, d, err := s.QueueDepth()
	ok(t, err)
	return q, d
}

// queueDedupe: a redelivered event is acknowledged, not queued, until its
// dedupe window ends and the ID is swept.
func queueDedupe(t *testing.T, s store.Store) {
	steps := []struct {
		name    string
		events  []store.QueuedEvent
		wantDup []bool
	}{
		{"first sight", []store.QueuedEvent{ev("billing", "evt_1", "cus_1"), ev("billing", "evt_2", "cus_2")}, []bool{false, false}},
		{"redelivery is a duplicate", []store.QueuedEvent{ev("billing", "evt_1", "cus_1")}, []bool{true}},
		{"same ID twice in one call", []store.QueuedEvent{ev("billing", "evt_3", "cus_3"), ev("billing", "evt_3", "cus_3")}, []bool{false, true}},
		{"same ID from another connector", []store.QueuedEvent{ev("billing-eu", "evt_1", "cus_1")}, []bool{false}},
		{"empty ID never deduplicated", []store.QueuedEvent{ev("billing", "", "cus_4"), ev("billing", "", "cus_4")}, []bool{false, false}},
		{"a duplicate after a new one", []store.QueuedEvent{ev("billing", "evt_5", "cus_5"), ev("billing", "evt_2", "cus_2")}, []bool{false, true}},
	}
	for _, st := range steps {
		dup, err := s.Enqueue(st.events)
		ok(t, err)
		equal(t, st.name+": dup", dup, st.wantDup)
		for i, d := range dup {
			if d && st.events[i].Seq != 0 {
				t.Errorf("%s: duplicate %d got Seq %d, want it left 0", st.name, i, st.events[i].Seq)
			}
		}
	}
	queued, _ := mustDepth(t, s)
	equal(t, "queued", queued, 7)

	// Nothing has expired yet (the TTL is at least a minute).
	equal(t, "swept now", must(s.SweepDedupe(time.Now()))(t), 0)
	equal(t, "still a duplicate", must(s.Enqueue([]store.QueuedEvent{ev("billing", "evt_1", "cus_1")}))(t), []bool{true})
	// Long after every window has ended: billing/evt_1, evt_2, evt_3,
	// evt_5 and billing-eu/evt_1 are forgotten; queued events stay.
	equal(t, "swept later", must(s.SweepDedupe(time.Now().AddDate(10, 0, 0)))(t), 5)
	equal(t, "swept again", must(s.SweepDedupe(time.Now().AddDate(10, 0, 0)))(t), 0)
	queued, _ = mustDepth(t, s)
	equal(t, "queued after sweep", queued, 7)
	equal(t, "after the window it is new again", must(s.Enqueue([]store.QueuedEvent{ev("billing", "evt_1", "cus_1")}))(t), []bool{false})
}

// queueClaimOrdersPerKey: at most one event per key in flight, a key's
// events in Seq order, a retried event holds its key back (ported from the
// bbolt tests).
func queueClaimOrdersPerKey(t *testing.T, s store.Store) {
	// a1 a2 b1 a3 c1 b2: keys by customer.
	enqueue(t, s, ev("b", "a1", "A"), ev("b", "a2", "A"), ev("b", "b1", "B"), ev("b", "a3", "A"), ev("b", "c1", "C"), ev("b", "b2", "B"))
	got := claim(t, s, 2, t0)
	equal(t, "claim(2)", eventIDs(got), []string{"a1", "b1"})
	equal(t, "claim(10)", eventIDs(claim(t, s, 10, t0)), []string{"c1"})
	equal(t, "claim while keys busy", eventIDs(claim(t, s, 10, t0)), []string{})
	equal(t, "in flight", s.InFlight(), 3)

	// a1 fails and is retried later: a2 and a3 wait behind it.
	ok(t, s.Retry(got[0].Seq, at(time.Minute), errors.New("timeout")))
	ok(t, s.Ack(got[1].Seq))
	equal(t, "claim after retry", eventIDs(claim(t, s, 10, t0)), []string{"b2"})
	more := claim(t, s, 10, at(time.Minute))
	equal(t, "claim when a1 is due", eventIDs(more), []string{"a1"})
	ok(t, s.Ack(more[0].Seq))
	// Claim respects n.
	equal(t, "claim(1)", eventIDs(claim(t, s, 1, at(time.Minute))), []string{"a2"})
	equal(t, "claim(0)", eventIDs(claim(t, s, 0, at(time.Minute))), []string{})
	// An event not yet due is not claimed, and holds back its key.
	late := ev("b", "d1", "D")
	late.Due = at(time.Hour)
	enqueue(t, s, late, ev("b", "d2", "D"), ev("b", "e1", "E"))
	equal(t, "claim with d1 not due", eventIDs(claim(t, s, 10, at(time.Minute))), []string{"e1"})
	equal(t, "claim when d1 is due", eventIDs(claim(t, s, 10, at(time.Hour))), []string{"d1"})
}

// queueClaimConcurrent: workers claiming while a producer enqueues never
// hold one key twice, process every event once, and each key's events in
// Seq order.
func queueClaimConcurrent(t *testing.T, s store.Store) {
	const keys, perKey, workers = 8, 12, 4
	var events []store.QueuedEvent
	for i := range keys * perKey {
		events = append(events, ev("b", fmt.Sprintf("e%03d", i), fmt.Sprintf("K%d", i%keys)))
	}
	half := len(events) / 2
	enqueue(t, s, events[:half]...)

	var (
		mu        sync.Mutex
		busy      = map[string]bool{}
		processed = map[string][]uint64{}
		done      int
	)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the producer: the second half, one event per call
		defer wg.Done()
		for i := half; i < len(events); i++ {
			if _, err := s.Enqueue(events[i : i+1]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 * keys * perKey {
				mu.Lock()
				finished := done == keys*perKey
				mu.Unlock()
				if finished {
					return
				}
				got, err := s.Claim(3, t0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range got {
					mu.Lock()
					if busy[e.Key] {
						t.Errorf("key %s claimed twice (event %s)", e.Key, e.Event.ID)
					}
					busy[e.Key] = true
					processed[e.Key] = append(processed[e.Key], e.Seq)
					mu.Unlock()
				}
				for _, e := range got {
					mu.Lock()
					busy[e.Key] = false
					done++
					mu.Unlock()
					if err := s.Ack(e.Seq); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	want := map[string][]uint64{}
	for _, e := range events {
		want[e.Key] = append(want[e.Key], e.Seq)
	}
	equal(t, "seqs processed per key", processed, want)
	queued, _ := mustDepth(t, s)
	equal(t, "queued afterwards", queued, 0)
	equal(t, "in flight afterwards", s.InFlight(), 0)
}

// queueCoalescing: later queued copies of the claimed event ride along and
// are acknowledged with it; another event of the key ends the run; Retry
// and DeadLetter leave the copies queued (ported from the bbolt tests).
func queueCoalescing(t *testing.T, s store.Store) {
	a1 := ev("b", "a1", "A")
	notDue := copyOf(a1, "a5")
	notDue.Due = at(time.Hour)
	q := enqueue(t, s, a1, copyOf(a1, "a2"), ev("b", "b1", "B"), copyOf(a1, "a3"), ev("b", "x1", "A"), copyOf(a1, "a4"),
		copyOf(ev("b", "y1", "Y"), "y1"), notDue, copyOf(a1, "a6"))
	// q: 0 a1, 1 a2, 2 b1, 3 a3, 4 x1, 5 a4, 6 y1, 7 a5 (later), 8 a6
	covered := func(e store.QueuedEvent, by ...int) store.QueuedEvent {
		for _, i := range by {
			e.Covers = append(e.Covers, q[i].Seq)
		}
		return e
	}
	equal(t, "claim", claim(t, s, 10, t0), []store.QueuedEvent{covered(q[0], 1, 3), q[2], q[6]})
	queued, _ := mustDepth(t, s)
	equal(t, "covered copies stay counted", [2]int{queued, s.InFlight()}, [2]int{9, 3})

	// A retry keeps the copies; the next claim covers them again.
	ok(t, s.Retry(q[0].Seq, t0, errors.New("boom")))
	retried := q[0]
	retried.Attempts, retried.LastError = 1, "boom"
	equal(t, "claim after retry", claim(t, s, 10, t0), []store.QueuedEvent{covered(retried, 1, 3)})
	ok(t, s.Ack(q[0].Seq))
	queued, _ = mustDepth(t, s)
	equal(t, "queued after ack (b1, x1, a4, y1, a5, a6)", queued, 6)
	if err := s.Ack(q[1].Seq); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of a covered copy after its cover's ack: %v, want ErrNotFound", err)
	}

	// x1 is next for A; after it, a4 covers nothing: a5 is not due, so the
	// run ends there and a6 waits behind a5.
	equal(t, "claim x1", eventIDs(claim(t, s, 10, t0)), []string{"x1"})
	ok(t, s.Ack(q[4].Seq))
	equal(t, "claim a4", claim(t, s, 10, t0), []store.QueuedEvent{q[5]})
	// A dead-lettered event's copies stay queued too.
	ok(t, s.DeadLetter(q[5].Seq, errors.New("bad")))
	equal(t, "claim when a5 is due", claim(t, s, 10, at(time.Hour)), []store.QueuedEvent{covered(q[7], 8)})
}

// queueRetry: a failed attempt is counted, its error kept, and the event
// due again at the back-off time the caller chose.
func queueRetry(t *testing.T, s store.Store) {
	q := enqueue(t, s, ev("b", "e1", "A"), ev("b", "e2", "B"))
	claim(t, s, 10, t0)
	backoffs := []struct {
		name  string
		delay time.Duration
		cause error
		want  string
	}{
		{"first failure", time.Minute, errors.New("timeout"), "timeout"},
		{"second failure", 4 * time.Minute, errors.New("503 Service Unavailable"), "503 Service Unavailable"},
		{"failure without a cause", 16 * time.Minute, nil, ""},
	}
	now := t0
	for i, b := range backoffs {
		ok(t, s.Retry(q[0].Seq, now.Add(b.delay).In(time.FixedZone("JST", 9*3600)), b.cause))
		equal(t, b.name+": claim before due", eventIDs(claim(t, s, 10, now.Add(b.delay-time.Second))), []string{})
		now = now.Add(b.delay)
		want := q[0]
		want.Attempts, want.LastError, want.Due = i+1, b.want, now
		equal(t, b.name+": claim when due", claim(t, s, 10, now), []store.QueuedEvent{want})
	}
	equal(t, "in flight", s.InFlight(), 2)
}

// queueDeadLetters: a dead letter leaves the queue (its key proceeds),
// keeps its error, and Replay queues it again (ported from the bbolt tests).
func queueDeadLetters(t *testing.T, s store.Store) {
	q := enqueue(t, s, ev("b", "e1", "A"), ev("b", "e2", "A"), ev("b", "f1", "F"))
	got := claim(t, s, 10, t0)
	equal(t, "claim", eventIDs(got), []string{"e1", "f1"})
	ok(t, s.Retry(q[0].Seq, t0, errors.New("first")))
	claim(t, s, 10, t0)
	w := during(func() { ok(t, s.DeadLetter(q[0].Seq, errors.New("bad payload"))) })
	ok(t, s.DeadLetter(q[2].Seq, nil))

	// The next event of the key proceeds once the failing one is out.
	next := claim(t, s, 10, t0)
	equal(t, "claim after dead letter", eventIDs(next), []string{"e2"})

	dl := must(s.DeadLetters())(t)
	if len(dl) != 2 {
		t.Fatalf("dead letters %+v, want 2", dl)
	}
	w.check(t, "DeadAt", dl[0].DeadAt)
	want0, want2 := q[0], q[2]
	want0.Attempts, want0.LastError, want0.DeadAt = 2, "bad payload", dl[0].DeadAt
	want2.Attempts, want2.DeadAt = 1, dl[1].DeadAt
	equal(t, "dead letters", dl, []store.QueuedEvent{want0, want2})
	queued, dead := mustDepth(t, s)
	equal(t, "depth", [2]int{queued, dead}, [2]int{1, 2})

	ok(t, s.Ack(next[0].Seq))
	var seq uint64
	w = during(func() { seq = must(s.Replay(q[0].Seq))(t) })
	if seq <= q[2].Seq {
		t.Errorf("replayed seq %d, want after every seq assigned (%d)", seq, q[2].Seq)
	}
	again := claim(t, s, 10, time.Now().Add(clockSlack))
	if len(again) != 1 {
		t.Fatalf("claim after replay %+v, want the replayed event", again)
	}
	w.check(t, "replayed Due", again[0].Due)
	replayed := q[0]
	replayed.Seq, replayed.LastError, replayed.Due = seq, "bad payload", again[0].Due
	equal(t, "replayed event", again, []store.QueuedEvent{replayed})
	equal(t, "dead letters after replay", eventIDs(must(s.DeadLetters())(t)), []string{"f1"})
	// A replay is not a redelivery: the dedupe ID still holds.
	equal(t, "redelivery after replay", must(s.Enqueue([]store.QueuedEvent{ev("b", "e1", "A")}))(t), []bool{true})
}

// queueNotFound: settling an unknown event is ErrNotFound.
func queueNotFound(t *testing.T, s store.Store) {
	q := enqueue(t, s, ev("b", "e1", "A"))
	claim(t, s, 1, t0)
	ok(t, s.Ack(q[0].Seq))
	calls := []struct {
		name string
		err  error
	}{
		{"ack of an acked event", s.Ack(q[0].Seq)},
		{"ack of an unknown seq", s.Ack(12345)},
		{"retry of an unknown seq", s.Retry(12345, t0, nil)},
		{"dead letter of an unknown seq", s.DeadLetter(12345, nil)},
		{"replay of an acknowledged seq", func() error { _, err := s.Replay(q[0].Seq); return err }()},
		{"replay of an unknown seq", func() error { _, err := s.Replay(12345); return err }()},
	}
	for _, c := range calls {
		if !errors.Is(c.err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.name, c.err)
		}
	}
	equal(t, "in flight", s.InFlight(), 0)
}

// queueDepthOf: each connector's queued events are counted through every
// step that queues or settles one: a duplicate is not counted, an
// acknowledged event takes its covered copies with it, a retry keeps its
// count, a dead letter leaves and a replay comes back.
func queueDepthOf(t *testing.T, s store.Store) {
	a1 := ev("stripe", "a1", "A")
	q := enqueue(t, s, a1, copyOf(a1, "a2"), copyOf(a1, "a3"), ev("stripe", "b1", "B"), ev("stripe", "c1", "C"),
		ev("hubspot", "h1", "H"), ev("hubspot", "h2", "I"))
	var claimed []store.QueuedEvent
	steps := []struct {
		name string
		do   func() error
		want map[string]int // connector -> QueueDepthOf
	}{
		{"enqueued", func() error { return nil }, map[string]int{"stripe": 5, "hubspot": 2, "chargebee": 0}},
		{"a duplicate is not queued", func() error {
			_, err := s.Enqueue([]store.QueuedEvent{ev("stripe", "b1", "B")})
			return err
		}, map[string]int{"stripe": 5, "hubspot": 2}},
		{"claims count until settled", func() error {
			var err error
			claimed, err = s.Claim(10, t0)
			return err
		}, map[string]int{"stripe": 5, "hubspot": 2}},
		{"ack takes the covered copies", func() error { return s.Ack(q[0].Seq) }, map[string]int{"stripe": 2, "hubspot": 2}},
		{"retry stays queued", func() error { return s.Retry(q[3].Seq, t0, errors.New("timeout")) }, map[string]int{"stripe": 2, "hubspot": 2}},
		{"dead letter leaves", func() error { return s.DeadLetter(q[4].Seq, errors.New("bad")) }, map[string]int{"stripe": 1, "hubspot": 2}},
		{"replay comes back", func() error { _, err := s.Replay(q[4].Seq); return err }, map[string]int{"stripe": 2, "hubspot": 2}},
		{"ack of another connector", func() error { return s.Ack(q[5].Seq) }, map[string]int{"stripe": 2, "hubspot": 1}},
		{"an unknown ack changes nothing", func() error {
			if err := s.Ack(12345); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("ack of an unknown seq: %v, want ErrNotFound", err)
			}
			return nil
		}, map[string]int{"stripe": 2, "hubspot": 1}},
	}
	for _, st := range steps {
		ok(t, st.do())
		got := map[string]int{}
		for conn := range st.want {
			got[conn] = must(s.QueueDepthOf(conn))(t)
		}
		equal(t, st.name, got, st.want)
	}
	equal(t, "claimed", eventIDs(claimed), []string{"a1", "b1", "c1", "h1", "h2"})
	queued, _ := mustDepth(t, s)
	equal(t, "depth is the sum", queued, 3)
}
