package scoring

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func kpiDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// kpiSub is a monthly subscription of seats x 1,000 JPY of product from
// start (ended when end is set).
func kpiSub(id, product string, seats int64, start, end string) record.Subscription {
	s := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: id}, Status: record.StatusActive, Currency: "JPY",
		StartDate: kpiDay(start), CurrentPeriodStart: kpiDay("2026-10-01"), CurrentPeriodEnd: kpiDay("2026-11-01"),
		Items: []record.Item{{ID: "si_" + id, ProductID: product, Currency: "JPY", UnitAmount: 1000, Quantity: seats,
			Interval: "month", IntervalCount: 1, Recurring: true}}}
	if end != "" {
		s.Status, s.EndedAt = record.StatusCanceled, kpiDay(end)
	}
	return s
}

func logins(id string, days ...string) []record.Signal {
	var out []record.Signal
	for _, d := range days {
		out = append(out, record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "logins", Time: kpiDay(d).Add(9 * time.Hour), Value: 1})
	}
	return out
}

func repeat(day string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = kpiDay(day).AddDate(0, 0, -i).Format(time.DateOnly)
	}
	return out
}

// TestPlaybookKPIs: period 2025-10 to 2026-09, as of 2026-10-15.
//
//	up     one product, 2 seats then 5 (a second subscription of the same product): upsell
//	cross  product A all along, product B from 2026-05: cross-sell
//	flat   product A, unchanged
//	new1   started 2026-06-01, logged in on 06-03: first login within 7 days
//	new2   started 2026-07-01, first login on 07-20: not within 7 days
//	gone   product A, ended 2026-02-10
//
// Customers at the start (2025-09-30): up, cross, flat, gone = 4; upsell 1/4,
// cross-sell 1/4; new customers 2, first login 1/2. Paying today: up, cross,
// flat, new1, new2 with 12, 6, 3, 0, 0 logins in 28 days (good 12): scores
// 100, 50, 25, 0, 0: mean 35, healthy (>= 80) 1/5.
func TestPlaybookKPIs(t *testing.T) {
	asOf := kpiDay("2026-10-15")
	in := []AccountInput{
		{Subscriptions: []record.Subscription{kpiSub("s1", "A", 2, "2025-01-01", "2026-03-01"), kpiSub("s2", "A", 5, "2026-03-01", "")},
			Signals: logins("up", repeat("2026-10-14", 12)...)},
		{Subscriptions: []record.Subscription{kpiSub("s3", "A", 2, "2025-01-01", ""), kpiSub("s4", "B", 1, "2026-05-01", "")},
			Signals: logins("cross", repeat("2026-10-14", 6)...)},
		{Subscriptions: []record.Subscription{kpiSub("s5", "A", 2, "2025-01-01", "")}, Signals: logins("flat", repeat("2026-10-14", 3)...)},
		{Subscriptions: []record.Subscription{kpiSub("s6", "A", 2, "2026-06-01", "")}, Signals: logins("new1", "2026-06-03")},
		{Subscriptions: []record.Subscription{kpiSub("s7", "A", 2, "2026-07-01", "")}, Signals: logins("new2", "2026-07-20")},
		{Subscriptions: []record.Subscription{kpiSub("s8", "A", 2, "2025-01-01", "2026-02-10")}},
	}
	s := Settings{Health: HealthSettings{Measures: []Measure{{Name: "logins", Signal: "logins", Aggregation: AggSum, WindowDays: 28, Good: 12, Poor: 0, Weight: 1}}},
		Targets: []Target{{Metric: KPIUpsellRate, Op: ">=", Value: 0.2}, {Metric: KPIChurnSignalDetection, Op: ">=", Value: 0.8}}}
	s.ApplyDefaults()
	res := make([]AccountResult, len(in))
	for i := range in {
		in[i].Currency = "JPY"
		res[i] = ScoreAccount(in[i], asOf, s, nil)
	}
	p := Portfolio(res, MonthFor(2025, time.October), MonthFor(2026, time.September), s)
	want := PlaybookKPIs{CustomersAtStart: 4, UpsellRate: 0.25, CrossSellRate: 0.25, NewCustomers: 2, FirstLoginRate: 0.5,
		Paying: 5, HealthScore: 35, HealthyShare: 0.2}
	if !reflect.DeepEqual(p.Playbook, want) {
		t.Errorf("playbook KPIs:\n got %+v\nwant %+v", p.Playbook, want)
	}
	wantT := []TargetStatus{
		{Target: s.Targets[0], Actual: 0.25, Known: true, Met: true},
		{Target: s.Targets[1]}, // measured by the backtest, unknown here
	}
	if !reflect.DeepEqual(p.Targets, wantT) {
		t.Errorf("targets:\n got %+v\nwant %+v", p.Targets, wantT)
	}
}
