package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// fillAll puts an entry into every family of s, including what the other
// interfaces cannot list: tombstones, the seen marks of a running full
// enumeration, a completed task, queued and dead-lettered events with
// their dedupe IDs, meta keys, and counters past deleted entries.
func fillAll(t *testing.T, s store.Store) {
	t.Helper()
	ok(t, s.SetMeta("engine.plan", []byte(`{"writes":1}`)))
	ok(t, s.SetMeta("empty", []byte{}))
	ref := func(id string, d time.Duration) record.Ref {
		return record.Ref{System: "salesforce", ID: id, Modified: at(d)}
	}
	must(s.CommitBatch("crm", &record.Batch{Stream: "Account", Full: true,
		Accounts: []record.Account{{Ref: ref("001A", 0), Name: "Acme"}, {Ref: ref("001B", 0), Name: "Beta"}, {Ref: ref("001C", 0), Name: "Gone"}},
		Cursor:   []byte("page-2")}))(t)
	must(s.CommitBatch("crm", &record.Batch{Stream: "Opportunity", Deals: []record.Deal{{Ref: ref("006A", time.Minute), AccountID: "001A"}},
		Deleted: []record.Ref{ref("001C", time.Hour)}}))(t)
	must(s.CommitBatch("crm", &record.Batch{Stream: "AccountChanges", Accounts: []record.Account{{Ref: ref("001D", 0), Name: "Delta"}}}))(t)
	must(s.CommitBatch("billing", &record.Batch{Stream: "customers"}))(t)
	ok(t, s.SetCursor("billing", "subscriptions", []byte{}))
	must(s.AddSignals([]record.Signal{{Account: record.Ref{System: "salesforce", ID: "001A"}, Metric: "logins", Time: t0, Value: 3}}))(t)
	ok(t, s.SetLinks([]store.Link{{AccountKey: "salesforce/001A", CustomerKey: "stripe/cus_1", Rule: "metadata", Created: t0}}))
	ok(t, s.PutScores([]store.ScoreSnapshot{{AccountKey: "salesforce/001A", At: t0, Score: 70, Band: "green"},
		{AccountKey: "salesforce/001A", At: at(24 * time.Hour), Score: 55, Band: "yellow", Reasons: []string{"usage fell"}}}))
	ok(t, s.PutWritten("crm", []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: map[string]any{"Health_Score__c": 70.0}}}, t0))
	ok(t, s.PutPending([]store.PendingWrite{{Connector: "crm", Object: "Account", ID: "001A", Fields: map[string]any{"Health_Score__c": 55.0}, Planned: t0}}))
	ok(t, s.MarkSent("crm", []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: map[string]any{"Health_Score__c": 55.0}}}))
	ok(t, s.MarkFailed("crm", []store.WriteFailure{{Object: "Account", ID: "001A", RetryAt: at(time.Hour), Err: "UNABLE_TO_LOCK_ROW"}}))
	ok(t, s.PutTasks([]store.CreatedTask{
		{DedupeKey: "risk/001A", Connector: "crm", TaskID: "00T1", AccountKey: "salesforce/001A", Status: record.TaskOpen, Created: t0},
		{DedupeKey: "risk/001B", Connector: "crm", TaskID: "00T2", AccountKey: "salesforce/001B", Status: record.TaskCompleted, Created: t0, Completed: at(time.Hour)},
	}))
	ev := func(id, obj string) store.QueuedEvent {
		return store.QueuedEvent{Connector: "billing", Event: record.Event{System: "stripe", ID: id, Type: "customer.updated",
			ObjectType: "customer", ObjectID: obj, Occurred: t0}, Due: t0, Enqueued: t0}
	}
	must(s.Enqueue([]store.QueuedEvent{ev("evt_1", "cus_1"), ev("evt_2", "cus_2"), ev("evt_3", "cus_3"), ev("evt_4", "cus_4")}))(t)
	claimed := must(s.Claim(3, t0))(t)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d events, want 3", len(claimed))
	}
	ok(t, s.Ack(claimed[0].Seq))
	ok(t, s.Retry(claimed[1].Seq, at(time.Minute), errors.New("HTTP 503")))
	ok(t, s.DeadLetter(claimed[2].Seq, errors.New("no such customer")))
	ids := must(s.PutOutbox([]store.Notification{{Subscriber: "revops", EventID: "msg_1", Type: "band_changed", Payload: []byte(`{}`), Created: t0, Due: t0},
		{Subscriber: "revops", EventID: "msg_2", Type: "band_changed", Payload: []byte(`{"b":1}`), Created: t0, Due: t0}}))(t)
	ok(t, s.OutboxRetry(ids[0], at(time.Minute), errors.New("timeout")))
	ok(t, s.OutboxDelivered(ids[1]))
	ok(t, s.PutRun(store.Run{ID: "run1", Kind: "sync", Start: t0, End: at(time.Minute), Status: "ok", Counters: map[string]int64{"pulled": 4}}))
}

// testTransfer: Export, then Import into an empty store, gives a store
// whose Export is the same, which numbers new events and notifications
// after the imported ones, remembers the imported dedupe IDs and finishes
// the running full enumeration as the source would. Import refuses a store
// that is not empty.
func testTransfer(t *testing.T, open func(t *testing.T) store.Store) {
	src := open(t)
	ex, okx := src.(store.Exporter)
	_, oki := src.(store.Importer)
	if !okx || !oki {
		t.Fatalf("%T implements neither store.Exporter nor store.Importer", src)
	}
	fillAll(t, src)
	want := must(ex.Export())(t)
	if len(want.Records) != 5 || len(want.Streams) != 3 || len(want.Queue) != 2 || len(want.DeadLetters) != 1 ||
		len(want.Dedupe) != 4 || want.QueueSeq != 4 || want.OutboxSeq != 2 || len(want.Outbox) != 1 {
		t.Fatalf("export of the filled store misses entries: %+v", want)
	}

	dst := open(t)
	moved := must(store.Copy(dst.(store.Importer), ex))(t)
	equal(t, "moved", moved, want)
	equal(t, "export after import", must(dst.(store.Exporter).Export())(t), want)

	// Both stores go on the same way.
	for _, s := range []store.Store{src, dst} {
		dup := must(s.Enqueue([]store.QueuedEvent{{Connector: "billing", Event: record.Event{ID: "evt_2"}},
			{Connector: "billing", Event: record.Event{ID: "evt_5", ObjectID: "cus_5"}, Due: t0, Enqueued: t0}}))(t)
		equal(t, "duplicates after import", dup, []bool{true, false})
		q := must(s.(store.Exporter).Export())(t).Queue
		equal(t, "seq of a new event", q[len(q)-1].Seq, uint64(5))
		equal(t, "id of a new notification", must(s.PutOutbox([]store.Notification{{Subscriber: "revops", EventID: "msg_3", Type: "t", Created: t0, Due: t0}}))(t), []uint64{3})
		// 001B was seen before the move; 001D, stored by another stream,
		// was not.
		st := must(s.CommitBatch("crm", &record.Batch{Stream: "Account", Full: true, Done: true,
			Accounts: []record.Account{{Ref: record.Ref{System: "salesforce", ID: "001A", Modified: t0}, Name: "Acme"}}}))(t)
		equal(t, "unseen at the end of the enumeration", st.Unseen, []store.Gone{{Type: store.TypeAccount, ID: "001D", Modified: t0}})
	}

	err := dst.(store.Importer).Import(want)
	if !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("import into a used store: %v, want ErrNotEmpty", err)
	}
}
