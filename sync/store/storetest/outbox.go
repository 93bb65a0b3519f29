package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// testOutbox: notifications are due in ID order, retried with back-off and
// deleted once delivered (ported from the bbolt tests).
func testOutbox(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	note := func(id string, due time.Time) store.Notification {
		return store.Notification{Subscriber: "revops", EventID: id, Type: "health.changed", Payload: []byte(`{"id":"` + id + `"}`),
			Created: t0, Due: due}
	}
	ns := []store.Notification{note("msg_1", t0), note("msg_2", t0), note("msg_3", at(time.Hour))}
	ids := must(s.PutOutbox(ns))(t)
	if len(ids) != 3 || !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("ids %v, want 3 increasing", ids)
	}
	with := func(n store.Notification, id uint64) store.Notification {
		n.ID = id
		return n
	}
	equal(t, "due now", must(s.DueOutbox(t0, 10))(t), []store.Notification{with(ns[0], ids[0]), with(ns[1], ids[1])})
	equal(t, "due now, at most 1", must(s.DueOutbox(t0, 1))(t), []store.Notification{with(ns[0], ids[0])})

	ok(t, s.OutboxRetry(ids[0], at(time.Minute).In(time.FixedZone("JST", 9*3600)), errors.New("503")))
	equal(t, "due after a retry", must(s.DueOutbox(t0, 10))(t), []store.Notification{with(ns[1], ids[1])})
	ok(t, s.OutboxDelivered(ids[1]))
	retried := with(ns[0], ids[0])
	retried.Attempts, retried.LastError, retried.Due = 1, "503", at(time.Minute)
	equal(t, "due later", must(s.DueOutbox(at(time.Hour), 10))(t), []store.Notification{retried, with(ns[2], ids[2])})
	equal(t, "outbox length", must(s.OutboxLen())(t), 2)

	// A zero Created and Due are the store's clock; IDs keep increasing.
	var more []uint64
	w := during(func() {
		more = must(s.PutOutbox([]store.Notification{{Subscriber: "revops", EventID: "msg_4", Type: "t"}}))(t)
	})
	if more[0] <= ids[2] {
		t.Errorf("id %d after %d", more[0], ids[2])
	}
	due := must(s.DueOutbox(time.Now().Add(clockSlack), 10))(t)
	if len(due) != 3 {
		t.Fatalf("due %+v, want 3", due)
	}
	w.check(t, "defaulted Created", due[2].Created)
	w.check(t, "defaulted Due", due[2].Due)

	calls := []struct {
		name string
		err  error
	}{
		{"second delivery", s.OutboxDelivered(ids[1])},
		{"retry of a delivered notification", s.OutboxRetry(ids[1], t0, nil)},
	}
	for _, c := range calls {
		if !errors.Is(c.err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.name, c.err)
		}
	}
}

// testRuns: runs are replaced by (Start, ID) and listed newest first
// (ported from the bbolt tests).
func testRuns(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	run := func(id string, min int) store.Run {
		return store.Run{ID: id, Connector: "sf", Kind: "sync", Start: at(time.Duration(min) * time.Minute), Status: "running"}
	}
	// IDs are not in start order, so an order by ID shows.
	for i, id := range []string{"r9", "r5", "r7"} {
		ok(t, s.PutRun(run(id, i)))
	}
	// Two runs that start together are ordered by ID.
	ok(t, s.PutRun(run("r0", 0)))
	// r5 finishes: put again with the same start replaces it.
	done := store.Run{ID: "r5", Connector: "sf", Kind: "sync", Start: at(time.Minute), End: at(2 * time.Minute), Status: "ok",
		Counters: map[string]int64{"accounts": 12}, Errors: []string{"x"}, Notes: []string{"gate ok"}}
	ok(t, s.PutRun(done))
	equal(t, "runs(2)", must(s.Runs(2))(t), []store.Run{run("r7", 2), done})
	equal(t, "runs(10)", must(s.Runs(10))(t), []store.Run{run("r7", 2), done, run("r9", 0), run("r0", 0)})
	empty(t, "runs(0)", must(s.Runs(0))(t))
	for _, bad := range []store.Run{{ID: "x"}, {Start: t0}} {
		if err := s.PutRun(bad); err == nil {
			t.Errorf("run %+v accepted", bad)
		}
	}
}

// testHousekeeping: what the engine's housekeeping calls bounds the store:
// old runs, old signals and expired dedupe IDs go, the rest stays.
func testHousekeeping(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	for i, id := range []string{"r1", "r2", "r3", "r4"} {
		ok(t, s.PutRun(store.Run{ID: id, Kind: "sync", Start: at(time.Duration(i) * time.Minute), Status: "ok"}))
	}
	a := record.Ref{System: record.Salesforce, ID: "001A"}
	sig := func(d int) record.Signal {
		return record.Signal{Account: a, Metric: "logins", Time: t0.AddDate(0, 0, d), Value: float64(d)}
	}
	must(s.AddSignals([]record.Signal{sig(-500), sig(-401), sig(-400), sig(-1)}))(t)
	enqueue(t, s, ev("b", "e1", "A"), ev("b", "e2", "B"))

	equal(t, "pruned runs", must(s.PruneRuns(2))(t), 2)
	equal(t, "pruned runs again", must(s.PruneRuns(2))(t), 0)
	equal(t, "runs kept", len(must(s.Runs(10))(t)), 2)
	equal(t, "newest run kept", must(s.Runs(1))(t)[0].ID, "r4")

	equal(t, "pruned signals", must(s.PruneSignals(t0.AddDate(0, 0, -400)))(t), 2)
	equal(t, "signals kept", must(s.Signals(a.Key(), time.Time{}))(t), []record.Signal{sig(-400), sig(-1)})

	equal(t, "swept dedupe IDs", must(s.SweepDedupe(time.Now().AddDate(10, 0, 0)))(t), 2)
	queued, _ := mustDepth(t, s)
	equal(t, "queue untouched", queued, 2)
}

// testMeta: named values and times, replaced and deleted.
func testMeta(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	equal(t, "missing", must(s.Meta("engine/plan"))(t), []byte(nil))
	ok(t, s.SetMeta("engine/plan", []byte(`{"v":1}`)))
	ok(t, s.SetMeta("engine/source/sf", []byte(`{}`)))
	ok(t, s.SetMeta("engine/plan", []byte(`{"v":2}`)))
	equal(t, "replaced", must(s.Meta("engine/plan"))(t), []byte(`{"v":2}`))
	ok(t, s.SetMeta("engine/plan", nil))
	equal(t, "deleted", must(s.Meta("engine/plan"))(t), []byte(nil))
	equal(t, "other key", must(s.Meta("engine/source/sf"))(t), []byte(`{}`))
	ok(t, s.SetMeta("never/set", nil))
	// An empty value is a value: it reads back empty, not as "none".
	ok(t, s.SetMeta("empty", []byte{}))
	equal(t, "empty value", must(s.Meta("empty"))(t), []byte{})

	equal(t, "missing time", must(s.MetaTime("engine/housekeeping"))(t), time.Time{})
	when := time.Date(2026, 3, 2, 18, 30, 0, 123456789, time.FixedZone("JST", 9*3600))
	ok(t, s.SetMetaTime("engine/housekeeping", when))
	equal(t, "time in UTC to the nanosecond", must(s.MetaTime("engine/housekeeping"))(t), when.UTC())
	ok(t, s.SetMetaTime("engine/housekeeping", time.Time{}))
	equal(t, "zero time", must(s.MetaTime("engine/housekeeping"))(t), time.Time{})
}

// testClosed: after Close every call fails with ErrClosed, and closing
// again is harmless.
func testClosed(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	q := enqueue(t, s, ev("b", "e1", "A"))
	claim(t, s, 1, t0)
	ok(t, s.Close())
	calls := []struct {
		name string
		err  error
	}{
		{"CommitBatch", func() error {
			_, err := s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("001", "A", t0)}})
			return err
		}()},
		{"Accounts", func() error { _, err := s.Accounts("sf"); return err }()},
		{"Customer", func() error { _, _, err := s.Customer("billing", "cus_1"); return err }()},
		{"Cursors", func() error { _, err := s.Cursors("sf"); return err }()},
		{"SetLinks", s.SetLinks(nil)},
		{"AddSignals", func() error { _, err := s.AddSignals(nil); return err }()},
		{"Scores", func() error { _, err := s.Scores(); return err }()},
		{"NewestModified", func() error { _, err := s.NewestModified("sf"); return err }()},
		{"Pending", func() error { _, err := s.Pending("sf"); return err }()},
		{"MarkSent", s.MarkSent("sf", []record.FieldUpdate{{Object: "Account", ID: "001", Fields: map[string]any{"MRR__c": 1}}})},
		{"OpenTasks", func() error { _, err := s.OpenTasks(); return err }()},
		{"Enqueue", func() error { _, err := s.Enqueue([]store.QueuedEvent{ev("b", "e2", "B")}); return err }()},
		{"Claim", func() error { _, err := s.Claim(1, t0); return err }()},
		{"Ack", s.Ack(q[0].Seq)},
		{"DeadLetters", func() error { _, err := s.DeadLetters(); return err }()},
		{"QueueDepth", func() error { _, _, err := s.QueueDepth(); return err }()},
		{"QueueDepthOf", func() error { _, err := s.QueueDepthOf("b"); return err }()},
		{"DueOutbox", func() error { _, err := s.DueOutbox(t0, 1); return err }()},
		{"PutRun", s.PutRun(store.Run{ID: "r", Start: t0})},
		{"InterruptRuns", func() error { _, err := s.InterruptRuns(); return err }()},
		{"Meta", func() error { _, err := s.Meta("k"); return err }()},
		{"SetMeta", s.SetMeta("k", []byte("v"))},
	}
	for _, c := range calls {
		if !errors.Is(c.err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", c.name, c.err)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close: %v, want nil or ErrClosed", err)
	}
}
