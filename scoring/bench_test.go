//go:build unix

package scoring

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// benchTemplate builds one account's billing history and signals: one or
// two subscriptions started within the last 24 months (monthly or annual,
// per-unit or tiered, some with coupons, some canceled or past due), their
// monthly invoices for the whole history (a proration now and then), and
// 30 days of daily signals for five metrics.
func benchTemplate(r *rand.Rand, asOf time.Time) AccountInput {
	var in AccountInput
	nsubs := 1 + r.IntN(2)
	for k := 0; k < nsubs; k++ {
		start := asOf.AddDate(0, -r.IntN(24), -r.IntN(28)).Truncate(24 * time.Hour)
		cur := "JPY"
		unit := 1000 + r.Int64N(50000)
		if r.IntN(4) == 0 {
			cur, unit = "USD", 1000+r.Int64N(50000)
		}
		it := record.Item{ID: "si_" + strconv.Itoa(k), Currency: cur, UnitAmount: unit, Quantity: 1 + r.Int64N(20),
			Interval: "month", IntervalCount: 1, Recurring: true, PlanLimit: 25}
		if r.IntN(5) == 0 {
			it.Interval, it.UnitAmount = "year", unit*10
		}
		if r.IntN(6) == 0 {
			it.BillingScheme, it.TiersMode = record.SchemeTiered, record.TiersGraduated
			it.Tiers = []record.Tier{{UpTo: 5, UnitAmount: unit}, {UpTo: 0, UnitAmount: unit / 2, FlatAmount: 500}}
		}
		monthsIn := int(asOf.Sub(start).Hours() / 24 / 30)
		cps := start.AddDate(0, monthsIn, 0)
		if cps.After(asOf) {
			cps = cps.AddDate(0, -1, 0)
		}
		sub := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: "sub_" + strconv.Itoa(k)}, Status: record.StatusActive,
			Currency: cur, Items: []record.Item{it}, StartDate: start, CurrentPeriodStart: cps, CurrentPeriodEnd: cps.AddDate(0, 1, 0)}
		if it.Interval == "year" {
			sub.CurrentPeriodStart = start.AddDate(monthsIn/12, 0, 0)
			sub.CurrentPeriodEnd = sub.CurrentPeriodStart.AddDate(1, 0, 0)
		}
		switch r.IntN(10) {
		case 0:
			sub.Status, sub.EndedAt, sub.CanceledAt = record.StatusCanceled, start.AddDate(0, 1+r.IntN(12), 0), start.AddDate(0, 1, 0)
		case 1:
			sub.CancelAtPeriodEnd, sub.CanceledAt = true, asOf.AddDate(0, 0, -3)
		case 2:
			sub.Status = record.StatusPastDue
		}
		if r.IntN(4) == 0 {
			sub.Discounts = []record.Discount{{CouponID: "C", PercentOff: 20, Duration: record.DurationRepeating, DurationInMonths: 3, Start: start}}
		}
		in.Subscriptions = append(in.Subscriptions, sub)
		for p := start; p.Before(sub.CurrentPeriodStart); p = p.AddDate(0, 1, 0) {
			if it.Interval == "year" && p.Month() != start.Month() {
				continue
			}
			end := p.AddDate(0, 1, 0)
			if it.Interval == "year" {
				end = p.AddDate(1, 0, 0)
			}
			inv := record.Invoice{Ref: record.Ref{System: record.Stripe, ID: "in"}, SubscriptionID: sub.ID, Status: record.InvoicePaid,
				Paid: true, Currency: cur, Created: p, PeriodStart: p, PeriodEnd: end,
				Lines: []record.InvoiceLine{{ID: "il", SubscriptionID: sub.ID, Quantity: it.Quantity, Amount: ItemAmount(&it, it.Quantity),
					Currency: cur, PeriodStart: p, PeriodEnd: end, Recurring: true, Interval: it.Interval, IntervalCount: 1}}}
			if r.IntN(40) == 0 {
				inv.PaymentFailed = true
			}
			in.Invoices = append(in.Invoices, inv)
		}
	}
	// Usage levels: most accounts healthy, a fifth struggling.
	weak := r.IntN(5) == 0
	level := func(lo, hi int) float64 {
		if weak {
			return float64(r.IntN(lo + 1))
		}
		return float64(lo + r.IntN(hi-lo+1))
	}
	for d := 0; d < 30; d++ {
		at := asOf.AddDate(0, 0, -d).Add(-time.Duration(r.IntN(20)) * time.Hour)
		in.Signals = append(in.Signals,
			record.Signal{Metric: "logins", Time: at, Value: level(0, 2)},
			record.Signal{Metric: "active_users", Time: at, Value: level(6, 20)},
			record.Signal{Metric: "features_used", Time: at, Value: level(3, 9)},
			record.Signal{Metric: "tickets_open", Time: at, Value: float64(r.IntN(3))})
		if d%10 == 0 {
			in.Signals = append(in.Signals, record.Signal{Metric: "nps", Time: at, Value: level(10, 70)})
		}
	}
	in.ScoreHistory = []ScorePoint{{Time: asOf.AddDate(0, 0, -30), Score: float64(55 + r.IntN(40))}}
	in.Currency, in.FX = "JPY", map[string]float64{"USD": 150}
	return in
}

// BenchmarkFullRecompute scores 100,000 accounts (24 months of subscription
// and invoice history, 30 days of signals, the default health model and
// task rules) on GOMAXPROCS workers, then computes the 12-month portfolio.
// Inputs cycle over 4,000 generated templates (distinct CRM accounts), so
// the benchmark measures scoring rather than input generation.
func BenchmarkFullRecompute(b *testing.B) {
	const accounts, templates = 100_000, 4_000
	asOf := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(7, 8))
	tpl := make([]AccountInput, templates)
	for i := range tpl {
		tpl[i] = benchTemplate(r, asOf)
	}
	accts := make([]record.Account, accounts)
	for i := range accts {
		accts[i] = record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001" + strconv.Itoa(i)}, Name: "Account " + strconv.Itoa(i),
			OwnerID: "005" + strconv.Itoa(i%40)}
	}
	s := DefaultSettings()
	s.Segments = []string{"owner"}
	rules, err := CompileRules(DefaultTaskRules())
	if err != nil {
		b.Fatal(err)
	}
	input := func(i int) AccountInput {
		in := tpl[i%templates]
		in.Account = accts[i]
		return in
	}
	cur := MonthOf(asOf)
	var p PortfolioResult
	var peak uint64
	var tasks int
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		res := ScoreAccounts(accounts, input, asOf, s, rules, 0)
		p = Portfolio(res, cur-11, cur, s)
		tasks = 0
		for i := range res {
			tasks += len(res[i].Tasks)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	// CPU seconds per op (user + system, all threads): on a shared machine
	// wall time depends on the other load; cpu-s/op divided by the cores is
	// the wall time on an idle machine.
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
	if p.Customers == 0 || p.MRR <= 0 {
		b.Fatalf("portfolio empty: %+v", p.Retention)
	}
	b.ReportMetric(float64(tasks)/accounts, "tasks/account")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
