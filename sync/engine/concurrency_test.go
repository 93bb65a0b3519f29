package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// gatedWriter holds every CRM update call until release is closed, after
// telling entered (once) that a call is in flight.
type gatedWriter struct {
	next    engine.Writer
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func newGatedWriter(next engine.Writer) *gatedWriter {
	return &gatedWriter{next: next, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedWriter) Update(ctx context.Context, updates []record.FieldUpdate) ([]record.WriteResult, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.next.Update(ctx, updates)
}

// waitFor fails the test when done is not closed within d.
func waitFor(t *testing.T, done <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still waiting after %v", what, d)
	}
}

// TestStateLockIsFreeDuringVendorCalls holds each entry point's CRM write
// call and checks that the read-only entry points (Report, Explain) still
// run: no vendor call is made under the state lock. Each pass then finishes
// and writes the new MRR.
func TestStateLockIsFreeDuringVendorCalls(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// prepare runs before the writer is gated.
		prepare func(t *testing.T, e *sfStripe)
		run     func(e *sfStripe) error
	}{
		{"sync", nil, func(e *sfStripe) error {
			_, err := e.eng.Sync(ctx, engine.SyncOptions{})
			return err
		}},
		{"process", nil, func(e *sfStripe) error {
			_, err := e.eng.Process(ctx, store.QueuedEvent{Connector: "billing", Event: record.Event{System: "stripe", ID: "evt_lock_1",
				Type: "customer.subscription.updated", ObjectType: "subscription", ObjectID: e.subs[2]}})
			return err
		}},
		{"apply", func(t *testing.T, e *sfStripe) {
			if _, err := e.eng.Sync(ctx, engine.SyncOptions{DryRun: true}); err != nil {
				t.Fatalf("dry run: %v", err)
			}
		}, func(e *sfStripe) error {
			_, _, err := e.eng.Apply(ctx, false)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSFStripe(t)
			e.sync(t)
			e.now = e.now.Add(time.Minute)
			e.stripe.SetNow(e.now)
			if err := e.stripe.UpdateSubscription(e.subs[2], func(s *stripetest.Subscription) { s.Items[0].Quantity = 2 }); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(t, e)
			}
			c, _ := e.eng.Connector("sf")
			gate := newGatedWriter(c.Writer)
			c.Writer = gate

			passErr := make(chan error, 1)
			go func() { passErr <- tc.run(e) }()
			waitFor(t, gate.entered, 10*time.Second, "the write call")

			reads := make(chan struct{})
			go func() {
				defer close(reads)
				if _, _, err := e.eng.Report(ctx, engine.ReportOptions{}); err != nil {
					t.Errorf("report during the write call: %v", err)
				}
				if _, err := e.eng.Explain(ctx, e.accts[2]); err != nil {
					t.Errorf("explain during the write call: %v", err)
				}
			}()
			select {
			case <-reads:
			case <-time.After(5 * time.Second):
				close(gate.release)
				<-reads
				t.Fatalf("Report and Explain waited for the CRM write call of %s: the state lock is held across it", tc.name)
			}
			close(gate.release)
			if err := <-passErr; err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := e.sf.Get("Account", e.accts[2])["MRR__c"]; got != 20000.0 {
				t.Errorf("MRR__c = %v, want 20000", got)
			}
		})
	}
}

// TestConcurrentSyncProcessReport runs sync passes, webhook passes and
// reports at once (run it with -race). Afterwards nothing is left to write,
// no write is pending, and no task was created twice.
func TestConcurrentSyncProcessReport(t *testing.T) {
	e := newSFStripe(t)
	// Poor usage makes every account at risk: each pass has tasks to plan.
	if _, err := e.st.AddSignals(signalsFor(e.accts, e.now, 0, 0, 1, 9)); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	e.stripe.SetNow(e.now)
	for i, q := range []int64{4, 2, 6} {
		if err := e.stripe.UpdateSubscription(e.subs[i], func(s *stripetest.Subscription) { s.Items[0].Quantity = q }); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	const rounds = 3
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for range rounds {
			if _, err := e.eng.Sync(ctx, engine.SyncOptions{}); err != nil {
				errs <- errors.New("sync: " + err.Error())
			}
		}
	}()
	go func() {
		defer wg.Done()
		for r := range rounds {
			for i, sub := range e.subs {
				ev := store.QueuedEvent{Connector: "billing", Event: record.Event{System: "stripe", ID: "evt_c" + string(rune('a'+r)) + string(rune('0'+i)),
					Type: "customer.subscription.updated", ObjectType: "subscription", ObjectID: sub}}
				if _, err := e.eng.Process(ctx, ev); err != nil {
					errs <- errors.New("process: " + err.Error())
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range rounds {
			if _, _, err := e.eng.Report(ctx, engine.ReportOptions{}); err != nil {
				errs <- errors.New("report: " + err.Error())
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	rep := e.sync(t)
	if len(rep.Plan.Writes) != 0 || len(rep.Plan.Creates) != 0 {
		t.Errorf("after the concurrent passes a sync still plans %d writes and %d tasks", len(rep.Plan.Writes), len(rep.Plan.Creates))
	}
	if pend, err := e.st.Pending("sf"); err != nil || len(pend) != 0 {
		t.Errorf("pending writes: %d, %v", len(pend), err)
	}
	for i, want := range []float64{40000, 2 * 150 * 10, 60000} {
		if got := e.sf.Get("Account", e.accts[i])["MRR__c"]; got != want {
			t.Errorf("account %d: MRR__c = %v, want %v", i, got, want)
		}
	}
	tasks := e.sf.All("Task")
	if len(tasks) == 0 {
		t.Fatal("no task created")
	}
	seen := map[string]bool{}
	for _, tk := range tasks {
		d, _ := tk["Description"].(string)
		if seen[d] {
			t.Errorf("task created twice: %q", d)
		}
		seen[d] = true
	}
	open, err := e.st.OpenTasks()
	if err != nil || len(open) != len(tasks) {
		t.Errorf("store knows %d open tasks (%v), the CRM has %d", len(open), err, len(tasks))
	}
}
