package engine_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// subEvent is the queued Stripe event of a subscription change.
func subEvent(id, sub string) store.QueuedEvent {
	return store.QueuedEvent{Connector: "billing", Event: record.Event{System: "stripe", ID: id,
		Type: "customer.subscription.updated", ObjectType: "subscription", ObjectID: sub}}
}

// changeQuantities sets the quantity of each of e's subscriptions, one
// minute later.
func (e *sfStripe) changeQuantities(t *testing.T, qs ...int64) {
	t.Helper()
	e.now = e.now.Add(time.Minute)
	e.stripe.SetNow(e.now)
	for i, q := range qs {
		if err := e.stripe.UpdateSubscription(e.subs[i], func(s *stripetest.Subscription) { s.Items[0].Quantity = q }); err != nil {
			t.Fatal(err)
		}
	}
}

// mrrs reads MRR__c of e's accounts from the Salesforce fake.
func (e *sfStripe) mrrs() []any {
	var out []any
	for _, id := range e.accts {
		out = append(out, e.sf.Get("Account", id)["MRR__c"])
	}
	return out
}

// runWorkers drains e's webhook queue with two batching workers.
func (e *sfStripe) runWorkers(t *testing.T, batch int) {
	t.Helper()
	e.runWorkersN(t, 2, batch)
}

// TestProcessBatchOneWriteCallAndPartialFailure: three events of three
// accounts are re-scored together and written in one composite call; the
// record Salesforce refuses fails only its own event (retried, its write
// kept pending), the batch's other events succeed.
func TestProcessBatchOneWriteCallAndPartialFailure(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.changeQuantities(t, 4, 2, 6)
	e.sf.FailRecord(e.accts[1], "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", 1)
	before := e.sf.Counts()
	evs := []store.QueuedEvent{subEvent("evt_b0", e.subs[0]), subEvent("evt_b1", e.subs[1]), subEvent("evt_b2", e.subs[2])}
	wrote, errs := e.eng.ProcessBatch(context.Background(), evs)
	if want := []bool{true, false, true}; !reflect.DeepEqual(wrote, want) {
		t.Errorf("wrote = %v, want %v", wrote, want)
	}
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errs = %v, want only the second event failed", errs)
	}
	if d := e.sf.Counts()["composite"] - before["composite"]; d != 1 {
		t.Errorf("%d composite calls, want 1 for the batch", d)
	}
	// 4 x 10,000 JPY; 2 x 10 USD at 150; the failed record keeps its value.
	if got, want := e.mrrs(), []any{40000.0, 1500.0, 60000.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("MRR__c = %v, want %v", got, want)
	}
	pend, err := e.st.Pending("sf")
	if err != nil || len(pend) != 1 || pend[0].ID != e.accts[1] || pend[0].Attempts != 1 {
		t.Fatalf("pending = %+v, %v; want the failed record's write, attempted once", pend, err)
	}
	// The retried event writes it (its back-off has passed).
	e.now = e.now.Add(2 * time.Minute)
	if _, errs := e.eng.ProcessBatch(context.Background(), evs[1:2]); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if got, want := e.mrrs(), []any{40000.0, 3000.0, 60000.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the retry MRR__c = %v, want %v", got, want)
	}
}

// TestBatchFetchFailureFailsOnlyItsEvent: an object Stripe fails to
// return fails its own event; the batch's other accounts are written.
func TestBatchFetchFailureFailsOnlyItsEvent(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.changeQuantities(t, 7, 1, 8)
	e.stripe.InjectFault(stripetest.Fault{Path: "/v1/subscriptions/" + e.subs[1], Times: 10, Status: 500})
	evs := []store.QueuedEvent{subEvent("evt_f0", e.subs[0]), subEvent("evt_f1", e.subs[1]), subEvent("evt_f2", e.subs[2])}
	wrote, errs := e.eng.ProcessBatch(context.Background(), evs)
	if errs[0] != nil || errs[1] == nil || errs[2] != nil || !wrote[0] || wrote[1] || !wrote[2] {
		t.Fatalf("wrote %v errs %v; want only the unreadable object's event failed", wrote, errs)
	}
	if got, want := e.mrrs(), []any{70000.0, 1500.0, 80000.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("MRR__c = %v, want %v", got, want)
	}
}

// TestBatchRestartMidBatch: the process dies in the middle of a batch,
// after Salesforce accepted the records and created the tasks and before
// either was recorded, with the events claimed and not acknowledged. After
// a restart the workers process the batch again: every account holds its
// values, each task exists once, nothing is pending or queued.
func TestBatchRestartMidBatch(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.atRisk(t)
	e.changeQuantities(t, 4, 2, 6)
	evs := []store.QueuedEvent{subEvent("evt_r0", e.subs[0]), subEvent("evt_r1", e.subs[1]), subEvent("evt_r2", e.subs[2])}
	if _, err := e.st.Enqueue(evs); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.st.Claim(10, e.now)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	crash := errors.New("killed")
	setCrash(e, crash)
	e.eng.ProcessBatch(context.Background(), claimed)
	if got, want := e.mrrs(), []any{40000.0, 3000.0, 60000.0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the killed batch did not reach the CRM: MRR__c = %v, want %v", got, want)
	}
	before, _ := sfTaskCounts(e)
	if before != 6 {
		t.Fatalf("%d tasks in Salesforce after the killed batch, want 6 (review and at-risk per account)", before)
	}
	// A new process on the same store: the claimed events are queued again.
	e.st.Close()
	e.connect(t)
	e.now = e.now.Add(time.Minute)
	e.runWorkers(t, 200)
	if got, want := e.mrrs(), []any{40000.0, 3000.0, 60000.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("MRR__c = %v, want %v", got, want)
	}
	if total, distinct := sfTaskCounts(e); total != 6 || distinct != 6 {
		t.Errorf("%d tasks (%d distinct) in Salesforce, want 6 once each", total, distinct)
	}
	if open, err := e.st.OpenTasks(); err != nil || len(open) != 6 {
		t.Errorf("the store knows %d open tasks (%v), want 6", len(open), err)
	}
	if pend, _ := e.st.Pending("sf"); len(pend) != 0 {
		t.Errorf("%d writes still pending: %+v", len(pend), pend)
	}
}

// setCrash makes e's engine stop after each CRM write and task creation,
// before recording them, as a killed process would.
func setCrash(e *sfStripe, err error) {
	engine.SetCrashAfterCRMWrite(e.eng, func(string) error { return err })
	engine.SetCrashAfterTaskCreate(e.eng, func(string) error { return err })
}

// TestBurstOfStripeEventsBecomesPull: 3,000 queued Stripe events (one per
// subscription) are served by one incremental pull (the events list, 100
// per call) instead of 3,000 fetches, and every account gets its new MRR.
func TestBurstOfStripeEventsBecomesPull(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 accounts")
	}
	const n = 3000
	e := newSFStripe(t)
	e.addBurstAccounts(t, n)
	e.syncClean(t)
	e.queueBurst(t)
	e.stripe.ResetCounts()
	sfBefore := e.sf.Counts()["composite"]
	e.runWorkers(t, 200)
	got := e.stripe.Counts()
	if fetches := got["GET /v1/subscriptions/{subscription_exposed_id}"]; fetches != 0 {
		t.Errorf("%d subscriptions fetched one by one, want 0 (covered by the pull)", fetches)
	}
	if total := e.stripe.Total(); total > n/50 {
		t.Errorf("%d Stripe calls for %d events (%v), want at most %d", total, n, got, n/50)
	}
	if d := e.sf.Counts()["composite"] - sfBefore; d > n/200+2 {
		t.Errorf("%d Salesforce composite calls for %d accounts, want at most %d", d, n, n/200+2)
	}
	if got, want := e.gotMRRs(), e.burstMRRs(); !reflect.DeepEqual(got, want) {
		t.Errorf("MRR__c differs from the expected values")
	}
}
