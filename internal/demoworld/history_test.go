package demoworld

import (
	"reflect"
	"testing"
	"time"
)

// TestChurnersFadeOrLeaveSuddenly: the world has churners of both styles;
// a fading churner's logins in the 28 days before its end are below a
// third of what it logged 150 to 178 days before, a sudden churner's are
// not, and the year of history has no usage while no subscription runs.
func TestChurnersFadeOrLeaveSuddenly(t *testing.T) {
	w := Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
	day := 24 * time.Hour
	styles := map[string]int{}
	for _, a := range w.accounts {
		subs := a.Customer.Subs
		for _, s := range a.Signals {
			if s.Time.Before(w.now.Add(-dailyDays*day)) && !running(subs, s.Time) && s.Metric != "nps" {
				t.Fatalf("%s: %s signal at %s with no running subscription", a.Name, s.Metric, s.Time)
			}
		}
		last := subs[len(subs)-1]
		historyFrom := w.now.AddDate(-1, 0, 0).Add(-dailyDays * day)
		if a.Churn == "" || last.EndedAt.IsZero() || last.EndedAt.After(w.now) || last.EndedAt.Sub(last.Start) < 180*day ||
			last.EndedAt.Add(-178*day).Before(historyFrom) {
			continue
		}
		styles[a.Churn]++
		var late, early float64
		for _, s := range a.Signals {
			if s.Metric != "logins" {
				continue
			}
			switch left := last.EndedAt.Sub(s.Time); {
			case left > 0 && left <= 28*day:
				late += s.Value
			case left > 150*day && left <= 178*day:
				early += s.Value
			}
		}
		if fades := late < early/3; fades != (a.Churn == churnFades) {
			t.Errorf("%s (%s): logins %v in the last 28 days, %v 150-178 days before", a.Name, a.Churn, late, early)
		}
	}
	if styles[churnFades] == 0 || styles[churnSudden] == 0 {
		t.Errorf("churners by style %v: want both", styles)
	}
}

// TestNoSignals: NoSignals leaves out the usage signals and nothing else:
// accounts, customers, subscriptions, invoices, prices, coupons and owners
// are the same.
func TestNoSignals(t *testing.T) {
	o := Options{Accounts: 60, Seed: 5, Now: testNow, SalesforceOnly: true, SubsPerAccount: 2}
	full := Generate(o)
	o.NoSignals = true
	lean := Generate(o)
	var dropped int
	for i, a := range lean.accounts {
		if len(a.Signals) != 0 {
			t.Fatalf("%s: %d signals, want none", a.Name, len(a.Signals))
		}
		f := full.accounts[i]
		dropped += len(f.Signals)
		f.Signals, f.Churn = nil, "" // what remains to compare: the world without its signals
	}
	if dropped == 0 {
		t.Error("the full world has no signal")
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"accounts", lean.accounts, full.accounts}, {"customers", lean.customers, full.customers},
		{"prices", lean.prices, full.prices}, {"coupons", lean.coupons, full.coupons}, {"owners", lean.owners, full.owners},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s differ", c.name)
		}
	}
}
