package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// BenchmarkFullReconcile measures a full reconcile and its plan (what a
// full sync does after its pulls) on a store holding N Salesforce
// accounts, each billed in Stripe by one customer with two monthly
// subscriptions and 18 months of paid invoices each (the scale curve's
// world), with no fake in the process. It reports the peak heap in use
// during the pass (peak-heap-MiB, sampled every 2 ms from runtime/metrics)
// and the heap in use before it (base-heap-MiB): their difference is what
// the pass holds at once.
func BenchmarkFullReconcile(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { benchFullReconcile(b, n) })
	}
}

func benchFullReconcile(b *testing.B, n int) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(b.TempDir(), "bench.db")
	cfg, err := config.Parse("b.yaml", []byte(fmt.Sprintf(e2eConfig, path, "http://127.0.0.1:1", "http://127.0.0.1:1")),
		func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	db, err := bolt.Open(path, bolt.Options{Now: clock, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedScaleWorld(b, db, n, now)
	eng, err := engine.New(engine.Options{Config: cfg, Store: db, Now: clock, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
		{Config: cfg.Connectors[0], Caps: salesforce.Capabilities()}, {Config: cfg.Connectors[1], Caps: stripe.Capabilities()}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var peak, base uint64
	for range b.N {
		runtime.GC()
		base = heapInUse()
		stop := samplePeak(&peak)
		p, rec, err := eng.PlanOnly(context.Background())
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if len(rec.Accounts) != n || len(p.Writes) != n {
			b.Fatalf("%d accounts scored, %d writes planned; want %d", len(rec.Accounts), len(p.Writes), n)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
}

// heapInUse is the bytes of heap spans in use (runtime/metrics).
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// samplePeak raises *peak to the heap in use every 2 ms until the
// returned func is called (which waits for the sampler to end).
func samplePeak(peak *uint64) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if h := heapInUse(); h > *peak {
				*peak = h
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-ended }
}

// seedScaleWorld commits n accounts with their customers, two
// subscriptions each and 18 months of invoices per subscription, and
// marks both sources' last pulls complete (so no gate holds the plan).
func seedScaleWorld(b *testing.B, db *bolt.Store, n int, now time.Time) {
	b.Helper()
	start := now.AddDate(0, -18, 0)
	const per = 500
	for lo := 0; lo < n; lo += per {
		var crm, bill record.Batch
		for i := lo; i < min(lo+per, n); i++ {
			acc := fmt.Sprintf("001%015d", i)
			cus := fmt.Sprintf("cus_%08d", i)
			crm.Accounts = append(crm.Accounts, record.Account{Ref: record.Ref{System: record.Salesforce, ID: acc, Modified: now},
				Name: fmt.Sprintf("Account %d", i), Website: fmt.Sprintf("https://a%d.example.com", i)})
			bill.Customers = append(bill.Customers, record.Customer{Ref: record.Ref{System: record.Stripe, ID: cus, Modified: now},
				Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("ap@a%d.example.com", i),
				Metadata: map[string]string{"salesforce_account_id": acc}})
			for j := range 2 {
				sub := fmt.Sprintf("sub_%08d_%d", i, j)
				amount := int64(5000 * (1 + (i+j)%5))
				bill.Subscriptions = append(bill.Subscriptions, record.Subscription{Ref: record.Ref{System: record.Stripe, ID: sub, Modified: now},
					CustomerID: cus, Status: record.StatusActive, Currency: "jpy", Created: start, StartDate: start,
					Items: []record.Item{{ID: "si_" + sub, PriceID: fmt.Sprintf("price_%d", j), Currency: "jpy", UnitAmount: amount,
						Interval: "month", IntervalCount: 1, Quantity: 1, Recurring: true}}})
				for m := range 18 {
					from := start.AddDate(0, m, 0)
					bill.Invoices = append(bill.Invoices, record.Invoice{Ref: record.Ref{System: record.Stripe, ID: fmt.Sprintf("in_%s_%02d", sub, m), Modified: now},
						CustomerID: cus, SubscriptionID: sub, Status: record.InvoicePaid, Paid: true, Currency: "jpy", Subtotal: amount,
						Total: amount, AmountPaid: amount, Created: from, PaidAt: from, PeriodStart: from, PeriodEnd: from.AddDate(0, 1, 0),
						Lines: []record.InvoiceLine{{ID: fmt.Sprintf("il_%s_%02d", sub, m), SubscriptionID: sub, Quantity: 1, Amount: amount,
							Currency: "jpy", PeriodStart: from, PeriodEnd: from.AddDate(0, 1, 0)}}})
				}
			}
		}
		if _, err := db.CommitBatch("sf", &crm); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CommitBatch("billing", &bill); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []string{"sf", "billing"} {
		// The engine's source state (pull.go): a complete pull, no gate.
		if err := db.SetMeta("engine/source/"+c, fmt.Appendf(nil, `{"last_complete":%q,"complete":true}`, now.Format(time.RFC3339))); err != nil {
			b.Fatal(err)
		}
	}
}
