package storetest

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// testWriteLedger: pending writes merge, are marked written field by field,
// fail transiently or permanently, and are dropped; written values are kept
// per field (ported from the bbolt tests).
func testWriteLedger(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	pw := func(id string, fields map[string]any) store.PendingWrite {
		return store.PendingWrite{Connector: "sf", Object: "Account", ID: id, Fields: fields, Planned: t0}
	}
	ok(t, s.PutPending([]store.PendingWrite{
		pw("001A", map[string]any{"Health__c": 80, "MRR__c": int64(1200)}),
		pw("001B", map[string]any{"Health__c": 40}),
	}))
	// A re-plan merges into the pending write.
	ok(t, s.PutPending([]store.PendingWrite{pw("001A", map[string]any{"Band__c": "healthy"})}))
	// 001B fails permanently, 001A partly succeeds: Health__c is written,
	// MRR__c was re-planned meanwhile to another value.
	ok(t, s.MarkFailed("sf", []store.WriteFailure{
		{Object: "Account", ID: "001B", Err: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", Permanent: true},
		{Object: "Account", ID: "001Z", Err: "no pending write: skipped"},
	}))
	ok(t, s.PutPending([]store.PendingWrite{pw("001A", map[string]any{"MRR__c": int64(1300)})}))
	written := at(time.Minute)
	ok(t, s.MarkWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001A",
		Fields: map[string]any{"Health__c": 80, "MRR__c": int64(1200), "Band__c": "healthy"}}}, written))
	equal(t, "pending", must(s.Pending("sf"))(t), []store.PendingWrite{
		{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1300.0}, Planned: t0},
		{Connector: "sf", Object: "Account", ID: "001B", Fields: map[string]any{"Health__c": 40.0}, Planned: t0, Attempts: 1,
			LastError: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", Permanent: true},
	})
	equal(t, "last written", must(s.LastWritten("sf", "Account", "001A"))(t), map[string]store.WrittenValue{
		"Health__c": {Value: 80.0, At: written}, "MRR__c": {Value: 1200.0, At: written}, "Band__c": {Value: "healthy", At: written}})
	equal(t, "last written of an unwritten record", must(s.LastWritten("sf", "Account", "001B"))(t), map[string]store.WrittenValue{})

	// PutWritten replaces the fields it names and keeps the others.
	later := at(2 * time.Minute)
	ok(t, s.PutWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: map[string]any{"Band__c": "caution"}},
		{Object: "Account", ID: "001C", Fields: map[string]any{"Health__c": nil}}}, later))
	equal(t, "all written", must(s.AllWritten("sf"))(t), map[store.WriteKey]map[string]store.WrittenValue{
		{Object: "Account", ID: "001A"}: {"Health__c": {Value: 80.0, At: written}, "MRR__c": {Value: 1200.0, At: written},
			"Band__c": {Value: "caution", At: later}},
		{Object: "Account", ID: "001C"}: {"Health__c": {Value: nil, At: later}},
	})
	equal(t, "written of some records", must(s.WrittenOf("sf", "Account", []string{"001C", "001B", "001A"}))(t), map[store.WriteKey]map[string]store.WrittenValue{
		{Object: "Account", ID: "001A"}: {"Health__c": {Value: 80.0, At: written}, "MRR__c": {Value: 1200.0, At: written},
			"Band__c": {Value: "caution", At: later}},
		{Object: "Account", ID: "001C"}: {"Health__c": {Value: nil, At: later}},
	})
	equal(t, "written of another object", must(s.WrittenOf("sf", "Contact", []string{"001A"}))(t), map[store.WriteKey]map[string]store.WrittenValue{})
	equal(t, "all written of another connector", must(s.AllWritten("hs"))(t), map[store.WriteKey]map[string]store.WrittenValue{})

	// A transient failure schedules a retry; a new plan after a permanent
	// failure starts over; a new plan after a transient one keeps its count.
	retryAt := at(time.Hour)
	ok(t, s.MarkFailed("sf", []store.WriteFailure{{Object: "Account", ID: "001A", Err: "UNABLE_TO_LOCK_ROW", RetryAt: retryAt}}))
	ok(t, s.PutPending([]store.PendingWrite{pw("001B", map[string]any{"Health__c": 45}), pw("001A", map[string]any{"Band__c": "at_risk"})}))
	pend := must(s.Pending("sf"))(t)
	equal(t, "pending after failures and re-plans", pend, []store.PendingWrite{
		{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1300.0, "Band__c": "at_risk"}, Planned: t0,
			Attempts: 1, RetryAt: retryAt, LastError: "UNABLE_TO_LOCK_ROW"},
		{Connector: "sf", Object: "Account", ID: "001B", Fields: map[string]any{"Health__c": 45.0}, Planned: t0},
	})
	equal(t, "due", []bool{pend[0].Due(t0), pend[0].Due(retryAt), pend[1].Due(t0)}, []bool{false, true, true})

	ok(t, s.DropPending("sf", "Account", "001B"))
	ok(t, s.DropPending("sf", "Account", "001Z"))
	ok(t, s.DropPending("hs", "company", "1"))
	equal(t, "pending after drop", len(must(s.Pending("sf"))(t)), 1)
	// Writing every pending field empties the queue.
	ok(t, s.MarkWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1300, "Band__c": "at_risk"}}}, later))
	empty(t, "pending after writing everything", must(s.Pending("sf"))(t))

	// A zero Planned is the store's clock.
	w := during(func() {
		ok(t, s.PutPending([]store.PendingWrite{{Connector: "hs", Object: "company", ID: "1", Fields: map[string]any{"score": 1}}}))
	})
	hs := must(s.Pending("hs"))(t)
	if len(hs) != 1 {
		t.Fatalf("pending of hs %+v", hs)
	}
	w.check(t, "Planned", hs[0].Planned)

	bad := []struct {
		name string
		err  error
	}{
		{"pending without connector", s.PutPending([]store.PendingWrite{pw("001D", nil), {Object: "Account", ID: "001E"}})},
		{"pending without ID", s.PutPending([]store.PendingWrite{pw("001D", nil), pw("", nil)})},
		{"pending without object", s.PutPending([]store.PendingWrite{pw("001D", nil), {Connector: "sf", ID: "001E"}})},
		{"written without ID", s.PutWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001D"}, {Object: "Account"}}, t0)},
	}
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
	empty(t, "pending after rejected plans", must(s.Pending("sf"))(t))
	if _, found := must(s.AllWritten("sf"))(t)[store.WriteKey{Object: "Account", ID: "001D"}]; found {
		t.Error("a rejected PutWritten stored part of its updates")
	}
}

// testTasks: created tasks by dedupe key (ported from the bbolt tests).
func testTasks(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	open1 := store.CreatedTask{DedupeKey: "churn-risk/001A", Connector: "sf", TaskID: "00T1", AccountKey: "salesforce/001A",
		Rule: "churn-risk", Status: record.TaskOpen, Created: t0}
	done := store.CreatedTask{DedupeKey: "renewal/001B", Connector: "sf", TaskID: "00T2", AccountKey: "salesforce/001B",
		Status: record.TaskCompleted, Created: t0, Completed: at(time.Hour)}
	open2 := store.CreatedTask{DedupeKey: "a-first/001C", Connector: "hs", TaskID: "9", AccountKey: "hubspot/001C", Status: record.TaskOpen, Created: t0}
	ok(t, s.PutTasks([]store.CreatedTask{open1, done}))
	ok(t, s.PutTask(open2))

	type lookup struct {
		task  store.CreatedTask
		found bool
	}
	got, found, err := s.TaskByKey("renewal/001B")
	ok(t, err)
	equal(t, "by key", lookup{got, found}, lookup{done, true})
	got, found, err = s.TaskByKey("none")
	ok(t, err)
	equal(t, "unknown key", lookup{got, found}, lookup{})
	equal(t, "open tasks", must(s.OpenTasks())(t), []store.CreatedTask{open2, open1})
	prefixed := []struct {
		name     string
		prefixes []string
		want     []store.CreatedTask
	}{
		{"one prefix", []string{"churn-risk/"}, []store.CreatedTask{open1}},
		{"two prefixes, overlapping", []string{"churn", "a-first/001C", "churn-risk/001A"}, []store.CreatedTask{open2, open1}},
		{"a completed task's prefix", []string{"renewal/"}, []store.CreatedTask{}},
		{"no prefix", nil, []store.CreatedTask{}},
	}
	for _, p := range prefixed {
		got := must(s.OpenTasksByPrefix(p.prefixes))(t)
		if got == nil {
			got = []store.CreatedTask{}
		}
		equal(t, "open tasks by prefix: "+p.name, got, p.want)
	}

	// Completing replaces by key.
	closed := open1
	closed.Status, closed.Completed = record.TaskCompleted, at(2*time.Hour)
	ok(t, s.PutTask(closed))
	equal(t, "open tasks after completing one", must(s.OpenTasks())(t), []store.CreatedTask{open2})
	got, _, err = s.TaskByKey(open1.DedupeKey)
	ok(t, err)
	equal(t, "completed task", got, closed)

	if err := s.PutTasks([]store.CreatedTask{{DedupeKey: "x/1", TaskID: "1", Status: record.TaskOpen}, {TaskID: "x"}}); err == nil {
		t.Error("task without key accepted")
	}
	if _, found, _ := s.TaskByKey("x/1"); found {
		t.Error("a rejected PutTasks stored part of its tasks")
	}
}
