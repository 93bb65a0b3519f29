package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/webhook"
)

// burstWorld is n Salesforce accounts, each matched to a Stripe customer
// with one subscription, synced once with no latency.
type burstWorld struct {
	sf    *salesforcetest.Server
	st    *stripetest.Server
	db    *bolt.Store
	eng   *engine.Engine
	cfg   *config.Config
	accts []string
	subs  []string
	now   time.Time
}

func newBurstWorld(b *testing.B, n int, extraYAML string) *burstWorld {
	b.Helper()
	w := &burstWorld{now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return w.now }
	w.sf = salesforcetest.NewServer(salesforcetest.Options{ClientID: "cid", ClientSecret: "csecret", Now: clock, DailyAllocation: 10_000_000})
	b.Cleanup(w.sf.Close)
	w.sf.AddHealthsyncFields()
	w.st = stripetest.NewServer(stripetest.Options{APIKey: "sk_test_e2e", Now: w.now.AddDate(0, -6, 0)})
	b.Cleanup(w.st.Close)
	price := w.st.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 10000, Interval: "month"})
	for i := 0; i < n; i++ {
		id, err := w.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		w.accts = append(w.accts, id)
		c := w.st.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("C%d", i), Metadata: map[string]string{"salesforce_account_id": id}})
		s, err := w.st.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: price.ID, Quantity: 1}},
			StartDate: w.now.AddDate(0, -6, 0)})
		if err != nil {
			b.Fatal(err)
		}
		w.subs = append(w.subs, s.ID)
	}
	w.st.SetNow(w.now)
	path := filepath.Join(b.TempDir(), "burst.db")
	cfg, err := config.Parse("b.yaml", []byte(fmt.Sprintf(e2eConfig, path, w.sf.URL, w.st.URL)+extraYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	w.cfg = cfg
	sfc := cfg.Connectors[0]
	sfc.Objects = append(sfc.Objects, config.Object{Name: "Account", Fields: []string{"Health_Score__c", "Health_Band__c",
		"Health_Trend__c", "Health_Reasons__c", "Touch_Model__c", "Lifecycle_Phase__c", "MRR__c", "ARR__c", "Healthsync_Updated_At__c"}})
	sfcl, _ := salesforce.New(sfc, salesforce.Options{Now: clock})
	stcl, _ := stripe.New(cfg.Connectors[1], stripe.Options{Now: clock})
	if w.db, err = bolt.Open(path, bolt.Options{Now: clock}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.db.Close() })
	w.eng, err = engine.New(engine.Options{Config: cfg, Store: w.db, Now: clock, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
		{Config: sfc, Caps: salesforce.Capabilities(), Source: sfcl, Fetcher: sfcl, Writer: sfcl, Tasks: sfcl, Stats: sfcl.Stats},
		{Config: cfg.Connectors[1], Caps: stripe.Capabilities(), Source: stcl, Fetcher: stcl, Stats: stcl.Stats},
	}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.eng.Sync(context.Background(), engine.SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	return w
}

// drain runs the configured webhook workers until the queue is empty and
// returns how long it took.
func (w *burstWorld) drain(b *testing.B) time.Duration {
	b.Helper()
	wh := w.cfg.Webhooks
	ws := webhook.NewWorkers(webhook.WorkerOptions{Queue: w.db, Processor: w.eng, Workers: wh.Workers, BatchSize: wh.BatchSize,
		BatchWait: wh.BatchWait.D(), Poll: 5 * time.Millisecond, Now: func() time.Time { return w.now }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t0 := time.Now()
	go func() { ws.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for {
		q, dead, err := w.db.QueueDepth()
		if err != nil || dead > 0 {
			b.Fatalf("queue: %d dead, %v", dead, err)
		}
		if q == 0 && w.db.InFlight() == 0 {
			return time.Since(t0)
		}
		if time.Since(t0) > 5*time.Minute {
			b.Fatalf("queue still holds %d events", q)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchAccounts is the world size (HEALTHSYNC_BENCH_ACCOUNTS, default 5000).
func benchAccounts() int {
	if n, err := strconv.Atoi(os.Getenv("HEALTHSYNC_BENCH_ACCOUNTS")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// BenchmarkWebhookBurst (issue 14): one Stripe subscription event per
// account (5,000 distinct accounts), the fakes answering in 100 ms, drained
// by the default webhook workers (batches of 200). "pull" serves the burst
// with an incremental pull (pull_threshold 100, the default); "fetch"
// fetches every object (pull_threshold 0). Reports the drain time, events
// per second and Salesforce write calls.
func BenchmarkWebhookBurst(b *testing.B) {
	for _, mode := range []struct{ name, yaml string }{
		{"pull", ""},
		{"fetch", "webhooks: {pull_threshold: 0}\n"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			n := benchAccounts()
			w := newBurstWorld(b, n, mode.yaml)
			for i := 0; i < b.N; i++ {
				w.now = w.now.Add(time.Minute)
				w.st.SetNow(w.now)
				evs := make([]store.QueuedEvent, n)
				for j, sub := range w.subs {
					if err := w.st.UpdateSubscription(sub, func(s *stripetest.Subscription) { s.Items[0].Quantity = int64(2 + i) }); err != nil {
						b.Fatal(err)
					}
					evs[j] = subEvent(fmt.Sprintf("evt_%d_%d", i, j), sub)
				}
				if _, err := w.db.Enqueue(evs); err != nil {
					b.Fatal(err)
				}
				w.now = w.now.Add(time.Second)
				w.sf.SetLatency(100 * time.Millisecond)
				w.st.SetLatency(100 * time.Millisecond)
				sfBefore, stBefore := w.sf.Counts()["composite"], w.st.Total()
				took := w.drain(b)
				w.sf.SetLatency(0)
				w.st.SetLatency(0)
				writes := w.sf.Counts()["composite"] - sfBefore
				if got := w.sf.Get("Account", w.accts[n-1])["MRR__c"]; got != float64(10000*(2+i)) {
					b.Fatalf("last account MRR__c = %v, want %d", got, 10000*(2+i))
				}
				b.ReportMetric(took.Seconds(), "drain-s")
				b.ReportMetric(float64(n)/took.Seconds(), "events/s")
				b.ReportMetric(float64(writes), "sf-write-calls")
				b.ReportMetric(float64(w.st.Total()-stBefore), "stripe-calls")
			}
		})
	}
}

// BenchmarkSignalBurst (issue 14): one usage-signal event per account
// (5,000 re-scores, no vendor fetch), drained by the default workers with
// no latency. Reports the drain time.
func BenchmarkSignalBurst(b *testing.B) {
	n := benchAccounts()
	w := newBurstWorld(b, n, "")
	for i := 0; i < b.N; i++ {
		w.now = w.now.Add(time.Minute)
		if _, err := w.db.AddSignals(signalsFor(w.accts, w.now, time.Duration(i)*time.Second, float64(i%3), 5, 1)); err != nil {
			b.Fatal(err)
		}
		evs := make([]store.QueuedEvent, n)
		for j, id := range w.accts {
			evs[j] = store.QueuedEvent{Connector: record.Signals, Event: record.Event{System: record.Signals, ID: fmt.Sprintf("sig_%d_%d", i, j),
				Type: "signal", ObjectType: "account", ObjectID: record.Ref{System: record.Salesforce, ID: id}.Key()}}
		}
		if _, err := w.db.Enqueue(evs); err != nil {
			b.Fatal(err)
		}
		took := w.drain(b)
		b.ReportMetric(took.Seconds(), "drain-s")
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
	}
}

// BenchmarkProcessBatchPerEvent (issue 14): Engine.ProcessBatch of 200
// distinct-account Stripe events with the fakes at zero latency, in a world
// of HEALTHSYNC_BENCH_ACCOUNTS accounts (default 5000; the target
// is 50,000). Reports milliseconds per event.
func BenchmarkProcessBatchPerEvent(b *testing.B) {
	n := benchAccounts()
	w := newBurstWorld(b, n, "webhooks: {pull_threshold: 0}\n")
	const batch = 200
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w.now = w.now.Add(time.Minute)
		w.st.SetNow(w.now)
		evs := make([]store.QueuedEvent, batch)
		for j := range evs {
			sub := w.subs[(i*batch+j)%n]
			if err := w.st.UpdateSubscription(sub, func(s *stripetest.Subscription) { s.Items[0].Quantity++ }); err != nil {
				b.Fatal(err)
			}
			evs[j] = subEvent(fmt.Sprintf("evt_p_%d_%d", i, j), sub)
		}
		b.StartTimer()
		t0 := time.Now()
		_, errs := w.eng.ProcessBatch(context.Background(), evs)
		total += time.Since(t0)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N*batch), "ms/event")
	b.ReportMetric(float64(n), "accounts")
}
