package demoworld

import (
	"runtime"
	"testing"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// BenchmarkGenerateAndLoad measures the demo's seeding: Generate for the
// default 300 accounts and loading all four fakes.
func BenchmarkGenerateAndLoad(b *testing.B) {
	for b.Loop() {
		w := Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
		load(b, w)
		_ = w.Signals()
	}
}

// BenchmarkGenerate measures planning alone.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
	}
}

// BenchmarkLoadStripeScaleWorld measures seeding the Stripe fake with the
// scale curve's world (2,000 accounts, two subscriptions each, 18 months):
// "replay" records every event, "recent" (LoadStripe) only the last 30
// days. live-MiB is the heap left after a GC with the world and the fake
// held, events-kept the events the fake keeps.
func BenchmarkLoadStripeScaleWorld(b *testing.B) {
	w := Generate(Options{Accounts: 2000, Seed: 1, Now: testNow, SalesforceOnly: true, SubsPerAccount: 2, NoSignals: true})
	sf := salesforcetest.NewServer(salesforcetest.Options{})
	defer sf.Close()
	if err := w.LoadSalesforce(sf); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		recent bool
	}{{"replay", false}, {"recent", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var live uint64
			var kept int
			for b.Loop() {
				st := stripetest.NewServer(stripetest.Options{})
				if err := w.loadStripe(st, bc.recent); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				live, kept = m.HeapAlloc, len(st.Events())
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(live)/(1<<20), "live-MiB")
			b.ReportMetric(float64(kept), "events-kept")
		})
	}
}
