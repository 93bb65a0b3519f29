package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// addBurstAccounts grows e to n Salesforce accounts, each matched to a
// Stripe customer with one subscription of 1,000 JPY a month.
func (e *sfStripe) addBurstAccounts(t *testing.T, n int) {
	t.Helper()
	price := e.stripe.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 1000, Interval: "month"})
	for i := len(e.accts); i < n; i++ {
		id, err := e.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Burst %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		e.accts = append(e.accts, id)
		c := e.stripe.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("Burst %d", i), Metadata: map[string]string{"salesforce_account_id": id}})
		sub, err := e.stripe.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: price.ID, Quantity: 1}},
			StartDate: e.now.AddDate(0, -6, 0)})
		if err != nil {
			t.Fatal(err)
		}
		e.subs = append(e.subs, sub.ID)
	}
}

// syncClean syncs e until a sync reports no error, at most three times:
// the first sync reads every account in one Salesforce query, which can
// outlast the test config's 1s client timeout on a loaded machine under
// -race (the burst tests then saw accounts never matched).
func (e *sfStripe) syncClean(t *testing.T) {
	t.Helper()
	var errs []string
	for range 3 {
		if errs = e.sync(t).Errors; len(errs) == 0 {
			return
		}
	}
	t.Fatalf("sync errors after three syncs: %v", errs)
}

// queueBurst changes the quantity of every subscription of e to 3 and
// queues one Stripe event per subscription, then moves the clock a second
// on (a pull then starts after the events were queued).
func (e *sfStripe) queueBurst(t *testing.T) {
	t.Helper()
	qs := make([]int64, len(e.subs))
	evs := make([]store.QueuedEvent, len(e.subs))
	for i := range qs {
		qs[i] = 3
		evs[i] = subEvent(fmt.Sprintf("evt_burst_%d", i), e.subs[i])
	}
	e.changeQuantities(t, qs...)
	if _, err := e.st.Enqueue(evs); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Second)
}

// burstMRRs is MRR__c of every account of e after queueBurst: the three
// accounts of newSFStripe at quantity 3 (30,000 JPY; 3 x 10 USD at 150;
// 30,000 JPY), the others 3 x 1,000 JPY.
func (e *sfStripe) burstMRRs() map[string]any {
	want := map[string]any{e.accts[0]: 30000.0, e.accts[1]: 4500.0, e.accts[2]: 30000.0}
	for _, id := range e.accts[3:] {
		want[id] = 3000.0
	}
	return want
}

// gotMRRs is MRR__c of every account of e, by account ID.
func (e *sfStripe) gotMRRs() map[string]any {
	got := map[string]any{}
	for i, v := range e.mrrs() {
		got[e.accts[i]] = v
	}
	return got
}

// runWorkersN drains e's webhook queue with workers batching workers.
func (e *sfStripe) runWorkersN(t *testing.T, workers, batch int) {
	t.Helper()
	w := webhook.NewWorkers(webhook.WorkerOptions{Queue: e.st, Processor: e.eng, Workers: workers, BatchSize: batch,
		BatchWait: time.Millisecond, Poll: time.Millisecond, Now: func() time.Time { return e.now }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		q, dead, err := e.st.QueueDepth()
		if err != nil {
			t.Fatal(err)
		}
		if dead > 0 {
			dls, _ := e.st.DeadLetters()
			t.Fatalf("%d events dead-lettered: %+v", dead, dls)
		}
		if q == 0 && e.st.InFlight() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d events", q)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestQueuedBurstBecomesPull: webhooks.pull_threshold is compared with the
// connector's whole queue, not with one claimed batch. 1,000 queued Stripe
// events claimed by four workers in batches of 50 (each batch below the
// default threshold of 100) are served by one incremental pull: no
// subscription is fetched one by one and Stripe sees far fewer calls than
// events. With the threshold above the queue every object is fetched.
// Either way every account gets its new MRR.
func TestQueuedBurstBecomesPull(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 accounts")
	}
	const n = 1000
	cases := []struct {
		name        string
		yaml        string
		wantFetches int64
		maxCalls    int64
	}{
		// One pull: the events list, 100 changes per call, and a little more.
		{"queue above the threshold", "", 0, n / 50},
		{"queue below the threshold", "webhooks: {pull_threshold: 5000}\n", n, n + n/50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSFStripe(t)
			if c.yaml != "" {
				e.extraYAML = c.yaml
				e.st.Close()
				e.connect(t)
			}
			e.addBurstAccounts(t, n)
			e.syncClean(t)
			e.queueBurst(t)
			e.stripe.ResetCounts()
			e.runWorkersN(t, 4, 50)
			got := e.stripe.Counts()
			if fetches := got["GET /v1/subscriptions/{subscription_exposed_id}"]; fetches != c.wantFetches {
				t.Errorf("%d subscriptions fetched one by one, want %d", fetches, c.wantFetches)
			}
			if total := e.stripe.Total(); total > c.maxCalls {
				t.Errorf("%d Stripe calls for %d events (%v), want at most %d", total, n, got, c.maxCalls)
			}
			if got, want := e.gotMRRs(), e.burstMRRs(); !reflect.DeepEqual(got, want) {
				t.Errorf("MRR__c differs from the expected values")
			}
		})
	}
}
