package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// BenchmarkSyncEndToEnd: 10,000 Salesforce accounts and 20,000 Stripe
// subscriptions (two per customer) synced end to end against the fakes with
// no latency: first full sync, then an idle incremental sync. Reports API
// calls by kind and peak heap. idle-sync-s is the first idle sync (it
// pulls back the accounts and tasks healthsync just wrote), idle2-sync-s
// the next. Of the first idle sync, idle-cpu-s is the process's CPU time
// (the fakes' included: steadier than wall time on a shared machine),
// idle-fake-s the fakes' serving time, idle-alloc-MiB and idle-gcs what it
// allocated and the collections that ran. A profile narrows to it with
// go tool pprof -tagfocus sync=idle-after-writeback.
func BenchmarkSyncEndToEnd(b *testing.B) {
	const accounts = 10000
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	// The clock stands still within a sync and moves a schedule interval
	// (15 minutes) before each idle sync, as a scheduled one would: with a
	// frozen clock every pull re-reads what changed in the Salesforce
	// cursor's two-minute settle window, that is everything.
	var clockNanos atomic.Int64
	clockNanos.Store(now.UnixNano())
	clock := func() time.Time { return time.Unix(0, clockNanos.Load()).UTC() }
	sf := salesforcetest.NewServer(salesforcetest.Options{ClientID: "cid", ClientSecret: "csecret", Now: clock, DailyAllocation: 1_000_000})
	defer sf.Close()
	sf.AddHealthsyncFields()
	st := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_e2e", Now: now.AddDate(0, -6, 0)})
	defer st.Close()
	p1 := st.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 10000, Interval: "month"})
	p2 := st.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 120000, Interval: "year"})
	for i := 0; i < accounts; i++ {
		id, err := sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		c := st.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("C%d", i), Metadata: map[string]string{"salesforce_account_id": id}})
		for j, p := range []string{p1.ID, p2.ID} {
			if _, err := st.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: p, Quantity: int64(1 + (i+j)%5)}},
				StartDate: now.AddDate(0, -6, 0)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	st.SetNow(now)

	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "bench.db")
		cfg, err := config.Parse("b.yaml", []byte(fmt.Sprintf(e2eConfig, path, sf.URL, st.URL)), func(string) (string, bool) { return "", false })
		if err != nil {
			b.Fatal(err)
		}
		sfc := cfg.Connectors[0]
		sfc.Objects = append(sfc.Objects, config.Object{Name: "Account", Fields: []string{"Health_Score__c", "Health_Band__c",
			"Health_Trend__c", "Health_Reasons__c", "Touch_Model__c", "Lifecycle_Phase__c", "MRR__c", "ARR__c", "Healthsync_Updated_At__c"}})
		sfcl, _ := salesforce.New(sfc, salesforce.Options{Now: clock})
		stcl, _ := stripe.New(cfg.Connectors[1], stripe.Options{Now: clock})
		db, err := bolt.Open(path, bolt.Options{Now: clock})
		if err != nil {
			b.Fatal(err)
		}
		eng, _ := engine.New(engine.Options{Config: cfg, Store: db, Now: clock, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
			{Config: sfc, Caps: salesforce.Capabilities(), Source: sfcl, Fetcher: sfcl, Writer: sfcl, Tasks: sfcl, Stats: sfcl.Stats},
			{Config: cfg.Connectors[1], Caps: stripe.Capabilities(), Source: stcl, Fetcher: stcl, Stats: stcl.Stats},
		}})
		sfBefore, stBefore := sf.Counts(), st.Counts()
		var peak uint64
		stop := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak {
						peak = ms.HeapInuse
					}
				}
			}
		}()
		t0 := time.Now()
		rep, err := labelledSync(eng, "full")
		if err != nil {
			b.Fatal(err)
		}
		full := time.Since(t0)
		advance := func() {
			clockNanos.Add(int64(15 * time.Minute))
			st.SetNow(clock())
		}
		advance()
		var ms1, ms2 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		t1, cpu1, busy1 := time.Now(), processCPU(), sf.Busy()+st.Busy()
		idleRep, err := labelledSync(eng, "idle-after-writeback")
		if err != nil {
			b.Fatal(err)
		}
		idle, idleCPU, idleFake := time.Since(t1), processCPU()-cpu1, sf.Busy()+st.Busy()-busy1
		runtime.ReadMemStats(&ms2)
		// A second idle sync: healthsync's own writes were pulled back by
		// the first.
		advance()
		t2 := time.Now()
		if _, err := labelledSync(eng, "idle"); err != nil {
			b.Fatal(err)
		}
		idle2 := time.Since(t2)
		close(stop)
		db.Close()
		b.ReportMetric(full.Seconds(), "full-sync-s")
		b.ReportMetric(idle.Seconds(), "idle-sync-s")
		b.ReportMetric(idleCPU.Seconds(), "idle-cpu-s")
		b.ReportMetric(idleFake.Seconds(), "idle-fake-s")
		b.ReportMetric(float64(ms2.TotalAlloc-ms1.TotalAlloc)/(1<<20), "idle-alloc-MiB")
		b.ReportMetric(float64(ms2.NumGC-ms1.NumGC), "idle-gcs")
		b.ReportMetric(idle2.Seconds(), "idle2-sync-s")
		b.ReportMetric(float64(idleRep.Rescored), "idle-rescored")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(rep.Write.Written), "records-written")
		sfAfter, stAfter := sf.Counts(), st.Counts()
		b.Logf("full sync %s, idle sync %s, written %d, tasks %d, peak heap %d MiB", full.Round(time.Millisecond), idle.Round(time.Millisecond),
			rep.Write.Written, rep.Write.TasksCreated, peak>>20)
		for k, v := range sfAfter {
			if d := v - sfBefore[k]; d > 0 {
				b.Logf("salesforce %-12s %d calls", k, d)
			}
		}
		for k, v := range stAfter {
			if d := v - stBefore[k]; d > 0 {
				b.Logf("stripe %-24s %d calls", k, d)
			}
		}
	}
}

// labelledSync runs a sync with the pprof label sync=phase, so that a
// profile of the benchmark (go test -cpuprofile) can be narrowed to one
// phase: go tool pprof -tagfocus sync=idle-after-writeback.
func labelledSync(eng *engine.Engine, phase string) (rep *engine.SyncReport, err error) {
	pprof.Do(context.Background(), pprof.Labels("sync", phase), func(ctx context.Context) {
		rep, err = eng.Sync(ctx, engine.SyncOptions{})
	})
	return rep, err
}

// processCPU is the CPU time the process used so far (user and system, the
// fakes' included): on a shared machine a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
