package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// histInvoice is a paid Stripe invoice of subscription sub holding lines.
func histInvoice(id, sub string, lines ...record.InvoiceLine) record.Invoice {
	for i := range lines {
		lines[i].SubscriptionID = sub
	}
	return record.Invoice{Ref: record.Ref{System: record.Stripe, ID: id}, SubscriptionID: sub, Status: record.InvoicePaid,
		Currency: "JPY", Lines: lines}
}

// histLineOf is a recurring JPY invoice line for [from, to); interval ""
// makes it a proration.
func histLineOf(id string, from, to time.Time, amount int64, interval string) record.InvoiceLine {
	return record.InvoiceLine{ID: id, Amount: amount, Currency: "JPY", PeriodStart: from, PeriodEnd: to, Recurring: true,
		Interval: interval, IntervalCount: 1, Proration: interval == ""}
}

// billedMonthly returns the invoices of a monthly plan of amount JPY for n
// periods from first, each issued at its period's start.
func billedMonthly(sub string, amount int64, first time.Time, n int) []record.Invoice {
	var out []record.Invoice
	for k := range n {
		from := first.AddDate(0, k, 0)
		id := fmt.Sprintf("in_%s_%d", sub, k)
		out = append(out, histInvoice(id, sub, histLineOf(id+"_l", from, from.AddDate(0, 1, 0), amount, "month")))
	}
	return out
}

type monthRow struct {
	month string
	mrr   int64
	kind  MovementKind
}

// TestClosedMonthsKeepTheirMRR pins issue 19 item 5 (first half): a change
// belongs to the month it happened in; a closed month keeps the MRR the
// subscription had at its end even when it was never recorded and the
// change falls inside the current billing period. Values are computed by
// hand in the comments.
func TestClosedMonthsKeepTheirMRR(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	asOf := date(2026, 12, 6).Add(12 * time.Hour)
	// A monthly plan of 20,000 JPY billed on the 20th since 2026-09-20: the
	// current period is [11-20, 12-20), invoiced on 11-20 at 20,000.
	plan := func(price int64) record.Subscription {
		sub := activeSub("JPY", monthly(price, 1, "JPY"))
		sub.StartDate, sub.CurrentPeriodStart, sub.CurrentPeriodEnd = date(2026, 9, 20), date(2026, 11, 20), date(2026, 12, 20)
		return sub
	}
	invoices := func(extra ...record.Invoice) []record.Invoice {
		return append(billedMonthly("sub_1", 20000, date(2026, 9, 20), 3), extra...)
	}
	// Downgraded to 10,000 on 12-06: Stripe prorates the 14 days left of
	// 30: -20,000 x 14/30 = -9,333 and +10,000 x 14/30 = +4,667.
	downgrade := histInvoice("in_down", "sub_1",
		histLineOf("down-", date(2026, 12, 6), date(2026, 12, 20), -9333, ""),
		histLineOf("down+", date(2026, 12, 6), date(2026, 12, 20), 4667, ""))
	// Upgraded to 30,000 on 12-03: 17 days of 30 left, -11,333 and +17,000.
	upgrade := histInvoice("in_up", "sub_1",
		histLineOf("up-", date(2026, 12, 3), date(2026, 12, 20), -11333, ""),
		histLineOf("up+", date(2026, 12, 3), date(2026, 12, 20), 17000, ""))
	// Upgraded to 30,000 on 11-25, inside a closed month: 25 days of 30
	// left, -16,667 and +25,000; at 11-30 the prorations add
	// 8,333 x (365/12)/25 = 10,138.5, so November is 30,138 and the state
	// takes over in December (-138: prorations are spread over an average
	// month, as in the worked example of rule 1).
	upgradeNov := histInvoice("in_up_nov", "sub_1",
		histLineOf("upn-", date(2026, 11, 25), date(2026, 12, 20), -16667, ""),
		histLineOf("upn+", date(2026, 11, 25), date(2026, 12, 20), 25000, ""))
	// Downgraded to 10,000 at 2026-11-30 18:00 UTC (Dec 1 03:00 in Tokyo):
	// 19.25 days of 30 left, -12,833 and +6,417.
	late := date(2026, 11, 30).Add(18 * time.Hour)
	downgradeLate := histInvoice("in_dt", "sub_1",
		histLineOf("dt-", late, date(2026, 12, 20), -12833, ""), histLineOf("dt+", late, date(2026, 12, 20), 6417, ""))
	// Cancellation at period end requested on 11-25.
	cancelRequested := func() []record.Subscription {
		sub := plan(20000)
		sub.CancelAtPeriodEnd, sub.CanceledAt = true, date(2026, 11, 25)
		return []record.Subscription{sub}
	}
	// In trial from 11-20 to 12-20, invoiced 0 for the trial.
	trialing := func() []record.Subscription {
		sub := plan(20000)
		sub.Status, sub.StartDate, sub.TrialStart, sub.TrialEnd = record.StatusTrialing, date(2026, 11, 20), date(2026, 11, 20), date(2026, 12, 20)
		return []record.Subscription{sub}
	}
	trialInvoice := []record.Invoice{histInvoice("in_t", "sub_1", histLineOf("t", date(2026, 11, 20), date(2026, 12, 20), 0, "month"))}
	sep := monthRow{"2026-09", 20000, MoveNew}
	oct := monthRow{"2026-10", 20000, MoveNone}

	cases := []struct {
		name   string
		preset string
		trials string // metrics.trials when set
		loc    *time.Location
		asOf   time.Time
		subs   func() []record.Subscription
		invs   []record.Invoice
		want   []monthRow
	}{
		{name: "downgrade on 12-06 shows in December", subs: func() []record.Subscription { return []record.Subscription{plan(10000)} },
			invs: invoices(downgrade),
			want: []monthRow{sep, oct, {"2026-11", 20000, MoveNone}, {"2026-12", 10000, MoveContraction}}},
		{name: "upgrade on 12-03 shows in December", subs: func() []record.Subscription { return []record.Subscription{plan(30000)} },
			invs: invoices(upgrade),
			want: []monthRow{sep, oct, {"2026-11", 20000, MoveNone}, {"2026-12", 30000, MoveExpansion}}},
		{name: "upgrade on 11-25 inside the current period shows in November", subs: func() []record.Subscription { return []record.Subscription{plan(30000)} },
			invs: invoices(upgradeNov),
			want: []monthRow{sep, oct, {"2026-11", 30138, MoveExpansion}, {"2026-12", 30000, MoveContraction}}},
		{name: "change inside the open month, period started in it", subs: func() []record.Subscription {
			// billed on the 1st: the current period [12-01, 01-01) is in the open month
			sub := plan(10000)
			sub.StartDate, sub.CurrentPeriodStart, sub.CurrentPeriodEnd = date(2026, 10, 1), date(2026, 12, 1), date(2027, 1, 1)
			return []record.Subscription{sub}
		}, invs: append(billedMonthly("sub_1", 20000, date(2026, 10, 1), 3), histInvoice("in_d", "sub_1",
			histLineOf("d-", date(2026, 12, 4), date(2027, 1, 1), -17419, ""), histLineOf("d+", date(2026, 12, 4), date(2027, 1, 1), 8710, ""))),
			want: []monthRow{{"2026-09", 0, MoveNone}, {"2026-10", 20000, MoveNew}, {"2026-11", 20000, MoveNone}, {"2026-12", 10000, MoveContraction}}},
		{name: "only prorations cover November (its invoice not synced): the state", subs: func() []record.Subscription { return []record.Subscription{plan(30000)} },
			invs: append(billedMonthly("sub_1", 20000, date(2026, 9, 20), 2), upgradeNov),
			want: []monthRow{sep, oct, {"2026-11", 30000, MoveExpansion}, {"2026-12", 30000, MoveNone}}},
		{name: "a change on 11-25 invoiced as a plain line (Chargebee): the state, as before", subs: func() []record.Subscription { return []record.Subscription{plan(30000)} },
			// the new price from the change, 30,000 x 25/30, no proration flag
			invs: invoices(histInvoice("in_cb", "sub_1", histLineOf("cb", date(2026, 11, 25), date(2026, 12, 20), 25000, "month"))),
			want: []monthRow{sep, oct, {"2026-11", 30000, MoveExpansion}, {"2026-12", 30000, MoveNone}}},
		{name: "in trial with trials: include, the state (the trial line is 0)", preset: PresetHealthsync, trials: Include, subs: trialing,
			invs: trialInvoice, want: []monthRow{{"2026-09", 0, MoveNone}, {"2026-10", 0, MoveNone}, {"2026-11", 20000, MoveNew}, {"2026-12", 20000, MoveNone}}},
		{name: "in trial with trials: exclude", subs: trialing,
			invs: trialInvoice, want: []monthRow{{"2026-09", 0, MoveNone}, {"2026-10", 0, MoveNone}, {"2026-11", 0, MoveNone}, {"2026-12", 0, MoveNone}}},
		{name: "no invoices: the state, as before", subs: func() []record.Subscription { return []record.Subscription{plan(10000)} },
			want: []monthRow{{"2026-09", 10000, MoveNew}, {"2026-10", 10000, MoveNone}, {"2026-11", 10000, MoveNone}, {"2026-12", 10000, MoveNone}}},
		{name: "new subscription started after the month end", subs: func() []record.Subscription {
			second := activeSub("JPY", monthly(5000, 1, "JPY"))
			second.ID = "sub_2"
			second.StartDate, second.CurrentPeriodStart, second.CurrentPeriodEnd = date(2026, 12, 2), date(2026, 12, 2), date(2027, 1, 2)
			return []record.Subscription{plan(20000), second}
		}, invs: invoices(billedMonthly("sub_2", 5000, date(2026, 12, 2), 1)...),
			want: []monthRow{sep, oct, {"2026-11", 20000, MoveNone}, {"2026-12", 25000, MoveExpansion}}},
		{name: "cancellation at period end, churn in the month it ends", asOf: date(2027, 1, 5), subs: func() []record.Subscription {
			sub := plan(20000)
			sub.Status, sub.CancelAtPeriodEnd, sub.CanceledAt, sub.EndedAt = record.StatusCanceled, true, date(2026, 12, 3), date(2026, 12, 20)
			return []record.Subscription{sub}
		}, invs: invoices(),
			want: []monthRow{oct, {"2026-11", 20000, MoveNone}, {"2026-12", 0, MoveChurn}, {"2027-01", 0, MoveNone}}},
		{name: "cancel at period end requested 11-25, healthsync preset counts to the period end", preset: PresetHealthsync, subs: cancelRequested, invs: invoices(),
			want: []monthRow{sep, oct, {"2026-11", 20000, MoveNone}, {"2026-12", 20000, MoveNone}}},
		{name: "cancel at period end requested 11-25, stripe preset churns in November", preset: PresetStripe, subs: cancelRequested, invs: invoices(),
			want: []monthRow{sep, oct, {"2026-11", 0, MoveChurn}, {"2026-12", 0, MoveNone}}},
		{name: "annual plan upgraded on 12-03 keeps the year's months", subs: func() []record.Subscription {
			// 120,000 a year from 2026-03-01 (10,000 a month), now 240,000
			sub := activeSub("JPY", record.Item{ID: "si_1", Currency: "JPY", UnitAmount: 240000, Quantity: 1, Interval: "year", IntervalCount: 1, Recurring: true})
			sub.StartDate, sub.CurrentPeriodStart, sub.CurrentPeriodEnd = date(2026, 3, 1), date(2026, 3, 1), date(2027, 3, 1)
			return []record.Subscription{sub}
		}, invs: []record.Invoice{
			histInvoice("in_y", "sub_1", histLineOf("y", date(2026, 3, 1), date(2027, 3, 1), 120000, "year")),
			// 88 days of 365 left: -120,000 x 88/365 and +240,000 x 88/365
			histInvoice("in_yup", "sub_1", histLineOf("y-", date(2026, 12, 3), date(2027, 3, 1), -28932, ""),
				histLineOf("y+", date(2026, 12, 3), date(2027, 3, 1), 57863, "")),
		}, want: []monthRow{{"2026-09", 10000, MoveNone}, {"2026-10", 10000, MoveNone}, {"2026-11", 10000, MoveNone}, {"2026-12", 20000, MoveExpansion}}},
		{name: "Tokyo: a downgrade at 03:00 on Dec 1 belongs to December", loc: tokyo, asOf: date(2026, 11, 30).Add(20 * time.Hour),
			subs: func() []record.Subscription { return []record.Subscription{plan(10000)} },
			invs: invoices(downgradeLate),
			want: []monthRow{sep, oct, {"2026-11", 20000, MoveNone}, {"2026-12", 10000, MoveContraction}}},
		{name: "UTC: the same downgrade at 18:00 on Nov 30 belongs to November", asOf: date(2026, 11, 30).Add(20 * time.Hour),
			subs: func() []record.Subscription { return []record.Subscription{plan(10000)} },
			invs: invoices(downgradeLate),
			want: []monthRow{{"2026-08", 0, MoveNone}, sep, oct, {"2026-11", 10000, MoveContraction}}},
		{name: "metered item: usage is invoiced after its period, the state applies", subs: func() []record.Subscription {
			sub := plan(10000)
			sub.Items = append(sub.Items, record.Item{ID: "si_m", Currency: "JPY", UnitAmount: 100, Interval: "month", IntervalCount: 1,
				Recurring: true, UsageType: record.UsageMetered, LastPeriodUsage: 10})
			return []record.Subscription{sub}
		}, invs: invoices(downgrade),
			want: []monthRow{sep, oct, {"2026-11", 11000, MoveContraction}, {"2026-12", 11000, MoveNone}}},
	}
	for _, c := range cases {
		presets := []string{PresetHealthsync, PresetStripe, PresetChartMogul, PresetProfitWell}
		if c.preset != "" {
			presets = []string{c.preset}
		}
		for _, preset := range presets {
			t.Run(c.name+"/"+preset, func(t *testing.T) {
				s := shortHistory(4)
				s.Metrics = MetricsSettings{Preset: preset, HistoryMonths: 4, Trials: c.trials}
				s.ApplyDefaults()
				s.Location = c.loc
				at := asOf
				if !c.asOf.IsZero() {
					at = c.asOf
				}
				in := AccountInput{Subscriptions: c.subs(), Invoices: c.invs, Currency: "JPY"}
				res := ScoreAccount(in, at, s, nil)
				got := make([]monthRow, len(res.Months))
				for i, m := range res.Months {
					got[i] = monthRow{m.Month.String(), m.MRR, m.Kind}
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("months\n got %v\nwant %v", got, c.want)
				}
			})
		}
	}
}

// TestDaysToRenewalCountsCalendarDays: days to renewal are calendar days
// in the business's zone, the same all day long (a sync re-scores
// date-driven measures at local midnight), not 24-hour periods that tick
// at the renewal's time of day; a renewal date field holding a date alone
// is that date in the zone.
func TestDaysToRenewalCountsCalendarDays(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	yearly := monthly(120000, 1, "USD")
	yearly.Interval = "year"
	sub := activeSub("USD", yearly)
	sub.StartDate, sub.CurrentPeriodStart = date(2026, 1, 5).Add(14*time.Hour), date(2026, 1, 5).Add(14*time.Hour)
	sub.CurrentPeriodEnd = date(2027, 1, 5).Add(14 * time.Hour) // 06:00 in Los Angeles
	for _, tc := range []struct {
		name  string
		loc   *time.Location
		asOf  time.Time
		field string
		renew int
	}{
		{"UTC morning", time.UTC, date(2026, 12, 6).Add(9 * time.Hour), "", 30},
		{"UTC evening, after the renewal's time of day", time.UTC, date(2026, 12, 6).Add(20 * time.Hour), "", 30},
		{"Los Angeles, just after midnight", la, time.Date(2026, 12, 6, 0, 30, 0, 0, la), "", 30},
		{"Los Angeles, late evening", la, time.Date(2026, 12, 6, 23, 30, 0, 0, la), "", 30},
		{"a date field in Los Angeles", la, time.Date(2026, 12, 6, 23, 30, 0, 0, la), "2026-12-20", 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.Location = tc.loc
			in := AccountInput{Account: record.Account{Ref: record.Ref{System: "crm", ID: "1"}, Name: "A", Fields: map[string]any{}},
				Subscriptions: []record.Subscription{sub}, Currency: "USD"}
			if tc.field != "" {
				s.Lifecycle.RenewalDateField = "Renewal__c"
				in.Account.Fields["Renewal__c"] = tc.field
			}
			r := ScoreAccount(in, tc.asOf, s, nil)
			if r.DaysToRenewal != tc.renew {
				t.Errorf("days to renewal %d, want %d", r.DaysToRenewal, tc.renew)
			}
			if r.Health.Score == 0 && len(r.Problems) > 0 {
				t.Fatalf("not scored: %v", r.Problems)
			}
		})
	}
}
