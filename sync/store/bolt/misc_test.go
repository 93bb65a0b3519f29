package bolt

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

func TestLinks(t *testing.T) {
	clock := t0
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l1 := store.Link{AccountKey: "salesforce/001A", CustomerKey: "stripe/cus_1", Rule: "metadata"}
	l2 := store.Link{AccountKey: "salesforce/001B", CustomerKey: "stripe/cus_2", Rule: "domain"}
	if err := s.SetLinks([]store.Link{l2, l1}); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(time.Hour)
	l3 := store.Link{AccountKey: "salesforce/001A", CustomerKey: "chargebee/c9", Rule: "manual"}
	if err := s.SetLinks([]store.Link{l1, l3}); err != nil { // l2 goes away
		t.Fatal(err)
	}
	got, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	l1.Created, l3.Created = t0, t0.Add(time.Hour)
	if want := []store.Link{l3, l1}; !reflect.DeepEqual(got, want) {
		t.Errorf("links\n got %+v\nwant %+v", got, want)
	}
}

func TestScores(t *testing.T) {
	s := openTest(t)
	snap := func(acct string, h int, score float64) store.ScoreSnapshot {
		return store.ScoreSnapshot{AccountKey: acct, At: t0.Add(time.Duration(h) * time.Hour), Score: score, Band: "green",
			Components: map[string]float64{"usage": score / 2}}
	}
	if err := s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 0, 70), snap("salesforce/B", 0, 40)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 2, 80)}); err != nil {
		t.Fatal(err)
	}
	// A back-filled older snapshot goes to history but does not replace current.
	if err := s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 1, 75)}); err != nil {
		t.Fatal(err)
	}
	cur, ok, err := s.Score("salesforce/A")
	if err != nil || !ok || !reflect.DeepEqual(cur, snap("salesforce/A", 2, 80)) {
		t.Errorf("current A = %+v %v %v", cur, ok, err)
	}
	if _, ok, _ := s.Score("salesforce/Z"); ok {
		t.Error("score for unknown account")
	}
	all, _ := s.Scores()
	if want := []store.ScoreSnapshot{snap("salesforce/A", 2, 80), snap("salesforce/B", 0, 40)}; !reflect.DeepEqual(all, want) {
		t.Errorf("Scores %+v", all)
	}
	hist, _ := s.ScoreHistory("salesforce/A", t0.Add(time.Hour))
	if want := []store.ScoreSnapshot{snap("salesforce/A", 1, 75), snap("salesforce/A", 2, 80)}; !reflect.DeepEqual(hist, want) {
		t.Errorf("history %+v", hist)
	}
	at, _ := s.ScoresAt(t0.Add(90 * time.Minute))
	if want := []store.ScoreSnapshot{snap("salesforce/A", 1, 75), snap("salesforce/B", 0, 40)}; !reflect.DeepEqual(at, want) {
		t.Errorf("ScoresAt %+v", at)
	}
	at, _ = s.ScoresAt(t0.Add(-time.Hour))
	if len(at) != 0 {
		t.Errorf("ScoresAt before history %+v", at)
	}
}

func TestWrittenAndPending(t *testing.T) {
	s := openTest(t)
	pw := func(id string, fields map[string]any) store.PendingWrite {
		return store.PendingWrite{Connector: "sf", Object: "Account", ID: id, Fields: fields}
	}
	if err := s.PutPending([]store.PendingWrite{
		pw("001A", map[string]any{"Health__c": 80, "MRR__c": int64(1200)}),
		pw("001B", map[string]any{"Health__c": 40}),
	}); err != nil {
		t.Fatal(err)
	}
	// A re-plan merges into the pending write.
	if err := s.PutPending([]store.PendingWrite{pw("001A", map[string]any{"Band__c": "green"})}); err != nil {
		t.Fatal(err)
	}
	// 001B fails permanently, 001A partly succeeds: Health__c is written,
	// MRR__c was re-planned meanwhile to another value.
	if err := s.MarkFailed("sf", []store.WriteFailure{{Object: "Account", ID: "001B", Err: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", Permanent: true}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending([]store.PendingWrite{pw("001A", map[string]any{"MRR__c": int64(1300)})}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	if err := s.MarkWritten("sf", []record.FieldUpdate{{Object: "Account", ID: "001A",
		Fields: map[string]any{"Health__c": 80, "MRR__c": int64(1200), "Band__c": "green"}}}, at); err != nil {
		t.Fatal(err)
	}
	pend, err := s.Pending("sf")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PendingWrite{
		{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"MRR__c": 1300.0}, Planned: t0},
		{Connector: "sf", Object: "Account", ID: "001B", Fields: map[string]any{"Health__c": 40.0}, Planned: t0, Attempts: 1,
			LastError: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", Permanent: true},
	}
	if !reflect.DeepEqual(pend, want) {
		t.Fatalf("pending\n got %+v\nwant %+v", pend, want)
	}
	if pend[1].Due(t0.Add(time.Hour)) || !pend[0].Due(t0) {
		t.Error("Due wrong")
	}
	lw, err := s.LastWritten("sf", "Account", "001A")
	if err != nil {
		t.Fatal(err)
	}
	if !lw["Health__c"].Matches(80) || !lw["MRR__c"].Matches(int64(1200)) || lw["MRR__c"].Matches(1300) || !lw["Band__c"].At.Equal(at) {
		t.Errorf("last written %+v", lw)
	}
	all, _ := s.AllWritten("sf")
	if len(all) != 1 || len(all[store.WriteKey{Object: "Account", ID: "001A"}]) != 3 {
		t.Errorf("AllWritten %+v", all)
	}
	// A transient failure schedules a retry; a new plan after a permanent failure starts over.
	if err := s.MarkFailed("sf", []store.WriteFailure{{Object: "Account", ID: "001A", Err: "UNABLE_TO_LOCK_ROW", RetryAt: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending([]store.PendingWrite{pw("001B", map[string]any{"Health__c": 45})}); err != nil {
		t.Fatal(err)
	}
	pend, _ = s.Pending("sf")
	if pend[0].Due(t0) || !pend[0].Due(t0.Add(time.Hour)) || pend[0].Attempts != 1 {
		t.Errorf("retrying write %+v", pend[0])
	}
	if pend[1].Permanent || pend[1].Attempts != 0 || !pend[1].Due(t0) {
		t.Errorf("re-planned write %+v", pend[1])
	}
	if err := s.DropPending("sf", "Account", "001B"); err != nil {
		t.Fatal(err)
	}
	if pend, _ = s.Pending("sf"); len(pend) != 1 {
		t.Errorf("after drop %+v", pend)
	}
}

func TestTasks(t *testing.T) {
	s := openTest(t)
	open1 := store.CreatedTask{DedupeKey: "churn-risk/001A", Connector: "sf", TaskID: "00T1", AccountKey: "salesforce/001A", Status: record.TaskOpen, Created: t0}
	done := store.CreatedTask{DedupeKey: "renewal/001B", Connector: "sf", TaskID: "00T2", AccountKey: "salesforce/001B", Status: record.TaskCompleted, Created: t0, Completed: t0}
	if err := s.PutTasks([]store.CreatedTask{open1, done}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.TaskByKey("renewal/001B")
	if err != nil || !ok || !reflect.DeepEqual(got, done) {
		t.Errorf("TaskByKey = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.TaskByKey("none"); ok {
		t.Error("unknown key found")
	}
	open, _ := s.OpenTasks()
	if !reflect.DeepEqual(open, []store.CreatedTask{open1}) {
		t.Errorf("OpenTasks %+v", open)
	}
	if err := s.PutTask(store.CreatedTask{TaskID: "x"}); err == nil {
		t.Error("task without key accepted")
	}
}

func TestOutboxRetryAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.PutOutbox([]store.Notification{
		{Subscriber: "revops", EventID: "msg_1", Type: "health.changed", Payload: []byte(`{"a":1}`)},
		{Subscriber: "revops", EventID: "msg_2", Type: "health.changed", Payload: []byte(`{"a":2}`)},
	})
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	if err := s.OutboxRetry(ids[0], t0.Add(time.Minute), errors.New("503")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path, Options{Now: func() time.Time { return t0 }}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	due, _ := s.DueOutbox(t0, 10)
	want := []store.Notification{{ID: ids[1], Subscriber: "revops", EventID: "msg_2", Type: "health.changed", Payload: []byte(`{"a":2}`), Created: t0, Due: t0}}
	if !reflect.DeepEqual(due, want) {
		t.Fatalf("due now %+v", due)
	}
	if err := s.OutboxDelivered(ids[1]); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueOutbox(t0.Add(time.Minute), 10)
	if len(due) != 1 || due[0].ID != ids[0] || due[0].Attempts != 1 || due[0].LastError != "503" {
		t.Fatalf("due later %+v", due)
	}
	if n, _ := s.OutboxLen(); n != 1 {
		t.Errorf("OutboxLen %d", n)
	}
	if err := s.OutboxDelivered(ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delivery: %v", err)
	}
}

func TestRuns(t *testing.T) {
	s := openTest(t)
	for i, id := range []string{"r1", "r2", "r3"} {
		r := store.Run{ID: id, Connector: "sf", Kind: "sync", Start: t0.Add(time.Duration(i) * time.Minute), Status: "running"}
		if err := s.PutRun(r); err != nil {
			t.Fatal(err)
		}
	}
	// r2 finishes: put again with the same start replaces it.
	done := store.Run{ID: "r2", Connector: "sf", Kind: "sync", Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Status: "ok",
		Counters: map[string]int64{"accounts": 12}, Errors: []string{"x"}}
	if err := s.PutRun(done); err != nil {
		t.Fatal(err)
	}
	runs, _ := s.Runs(2)
	if len(runs) != 2 || runs[0].ID != "r3" || !reflect.DeepEqual(runs[1], done) {
		t.Errorf("Runs(2) %+v", runs)
	}
	n, err := s.PruneRuns(1)
	if err != nil || n != 2 {
		t.Errorf("PruneRuns = %d, %v", n, err)
	}
	if runs, _ = s.Runs(10); len(runs) != 1 || runs[0].ID != "r3" {
		t.Errorf("after prune %+v", runs)
	}
	if err := s.PutRun(store.Run{ID: "x"}); err == nil {
		t.Error("run without start accepted")
	}
}
