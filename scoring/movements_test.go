package scoring

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func shortHistory(months int) Settings {
	s := DefaultSettings()
	s.Metrics.HistoryMonths = months
	return s
}

func TestAccountSeriesReactivation(t *testing.T) {
	// Starts 2026-01 at 10,000; upgrades in 2026-03 (new subscription
	// replacing the first), churns 2026-05, comes back 2026-07 at 5,000.
	first := activeSub("JPY", monthly(10000, 1, "JPY"))
	first.StartDate, first.Status, first.EndedAt = date(2026, 1, 10), record.StatusCanceled, date(2026, 3, 5)
	first.CurrentPeriodStart, first.CurrentPeriodEnd = date(2026, 2, 10), date(2026, 3, 10)
	second := activeSub("JPY", monthly(15000, 1, "JPY"))
	second.ID = "sub_2"
	second.StartDate, second.Status, second.EndedAt = date(2026, 3, 5), record.StatusCanceled, date(2026, 5, 20)
	second.CurrentPeriodStart, second.CurrentPeriodEnd = date(2026, 5, 5), date(2026, 6, 5)
	third := activeSub("JPY", monthly(5000, 1, "JPY"))
	third.ID = "sub_3"
	third.StartDate, third.CurrentPeriodStart, third.CurrentPeriodEnd = date(2026, 7, 2), date(2026, 8, 2), date(2026, 9, 2)

	in := AccountInput{Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A"}, Name: "Acme"},
		Subscriptions: []record.Subscription{first, second, third}, Currency: "JPY"}
	res := ScoreAccount(in, date(2026, 8, 15), shortHistory(9), nil)
	type row struct {
		month string
		mrr   int64
		kind  MovementKind
	}
	want := []row{
		{"2025-12", 0, MoveNone}, {"2026-01", 10000, MoveNew}, {"2026-02", 10000, MoveNone},
		{"2026-03", 15000, MoveExpansion}, {"2026-04", 15000, MoveNone}, {"2026-05", 0, MoveChurn},
		{"2026-06", 0, MoveNone}, {"2026-07", 5000, MoveReactivation}, {"2026-08", 5000, MoveNone},
	}
	if len(res.Months) != len(want) {
		t.Fatalf("%d months, want %d", len(res.Months), len(want))
	}
	for i, w := range want {
		got := res.Months[i]
		if got.Month.String() != w.month || got.MRR != w.mrr || got.Kind != w.kind {
			t.Errorf("month %d = %s %d %s, want %s %d %s", i, got.Month, got.MRR, got.Kind, w.month, w.mrr, w.kind)
		}
	}
	if res.MRR != 5000 || res.ARR != 60000 {
		t.Errorf("MRR %d ARR %d", res.MRR, res.ARR)
	}
	if len(res.Ledger) != 1 || res.Ledger[0].Month.String() != "2026-08" || len(res.Ledger[0].Lines) == 0 {
		t.Errorf("ledger only for the current month without Explain")
	}
	in.Explain = true
	res = ScoreAccount(in, date(2026, 8, 15), shortHistory(9), nil)
	if len(res.Ledger) != 9 || res.Ledger[3].Kind != MoveExpansion || res.Ledger[3].Why != "MRR went up" || len(res.Ledger[3].Lines) != 3 {
		t.Errorf("Explain keeps every month's ledger")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		prev, now int64
		had       bool
		want      MovementKind
	}{
		{"new", 0, 10000, false, MoveNew},
		{"reactivation", 0, 10000, true, MoveReactivation},
		{"expansion", 10000, 12000, true, MoveExpansion},
		{"contraction", 12000, 9000, true, MoveContraction},
		{"churn", 9000, 0, true, MoveChurn},
		{"none", 9000, 9000, true, MoveNone},
		{"none at zero", 0, 0, true, MoveNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.prev, tc.now, tc.had); got != tc.want {
				t.Errorf("Classify = %s, want %s", got, tc.want)
			}
		})
	}
}

// randomAccount builds an account with random subscriptions, statuses,
// discounts (some larger than the price) and invoices.
func randomAccount(r *rand.Rand, i int, asOf time.Time) AccountInput {
	in := AccountInput{Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001" + string(rune('A'+i%26))}},
		Currency: "JPY", FX: map[string]float64{"USD": 150}}
	n := r.IntN(4)
	statuses := []string{record.StatusActive, record.StatusActive, record.StatusPastDue, record.StatusUnpaid, record.StatusCanceled, record.StatusTrialing, record.StatusPaused}
	intervals := []string{"month", "year", "week", "day"}
	for k := 0; k < n; k++ {
		start := asOf.AddDate(0, -r.IntN(30), -r.IntN(28))
		cur := "JPY"
		if r.IntN(3) == 0 {
			cur = "USD"
		}
		it := record.Item{ID: "si", Currency: cur, UnitAmount: r.Int64N(100000) - 1000, Quantity: r.Int64N(5), Interval: intervals[r.IntN(4)], IntervalCount: 1 + r.IntN(2), Recurring: r.IntN(8) != 0}
		if r.IntN(4) == 0 {
			it.BillingScheme, it.TiersMode = record.SchemeTiered, record.TiersGraduated
			it.Tiers = []record.Tier{{UpTo: 2, UnitAmount: r.Int64N(5000)}, {UnitAmount: r.Int64N(3000), FlatAmount: r.Int64N(1000)}}
		}
		sub := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: "sub_" + string(rune('a'+k))}, Currency: cur,
			Status: statuses[r.IntN(len(statuses))], Items: []record.Item{it}, StartDate: start,
			CurrentPeriodStart: asOf.AddDate(0, 0, -r.IntN(25)), CurrentPeriodEnd: asOf.AddDate(0, 0, 1+r.IntN(300)),
			CancelAtPeriodEnd: r.IntN(5) == 0, CanceledAt: asOf.AddDate(0, 0, -r.IntN(40))}
		if sub.Status == record.StatusCanceled {
			sub.EndedAt = start.AddDate(0, r.IntN(20), 0)
		}
		if sub.Status == record.StatusTrialing {
			sub.TrialStart, sub.TrialEnd = start, start.AddDate(0, 0, 14)
		}
		if r.IntN(2) == 0 {
			sub.Discounts = []record.Discount{{PercentOff: float64(r.IntN(120)), Duration: record.DurationRepeating, DurationInMonths: r.IntN(6), Start: start}}
		}
		if r.IntN(3) == 0 {
			sub.Discounts = append(sub.Discounts, record.Discount{AmountOff: r.Int64N(200000), Currency: cur, Duration: record.DurationForever})
		}
		in.Subscriptions = append(in.Subscriptions, sub)
		for p := start; p.Before(sub.CurrentPeriodStart); p = p.AddDate(0, 1, 0) {
			if r.IntN(3) == 0 {
				continue
			}
			in.Invoices = append(in.Invoices, record.Invoice{Ref: record.Ref{System: record.Stripe, ID: "in"}, SubscriptionID: sub.ID, Status: record.InvoicePaid, Currency: cur,
				Lines: []record.InvoiceLine{{ID: "il", SubscriptionID: sub.ID, Amount: r.Int64N(50000) - 5000, DiscountAmount: r.Int64N(60000), Currency: cur,
					PeriodStart: p, PeriodEnd: p.AddDate(0, 1, 0), Recurring: true, Proration: r.IntN(4) == 0, Interval: "month", IntervalCount: 1}}})
		}
		if r.IntN(2) == 0 {
			// the current period's invoice, sometimes with a later change's
			// prorations (closed months inside the current period)
			lines := []record.InvoiceLine{{ID: "ilc", SubscriptionID: sub.ID, Amount: r.Int64N(50000), Currency: cur,
				PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd, Recurring: true, Interval: "month", IntervalCount: 1}}
			if r.IntN(2) == 0 {
				lines = append(lines, record.InvoiceLine{ID: "ilp", SubscriptionID: sub.ID, Amount: r.Int64N(40000) - 20000, Currency: cur,
					PeriodStart: sub.CurrentPeriodStart.AddDate(0, 0, 1+r.IntN(20)), PeriodEnd: sub.CurrentPeriodEnd, Recurring: true, Proration: true})
			}
			in.Invoices = append(in.Invoices, record.Invoice{Ref: record.Ref{System: record.Stripe, ID: "inc"}, SubscriptionID: sub.ID, Status: record.InvoicePaid, Currency: cur, Lines: lines})
		}
	}
	return in
}

func TestPropertiesMRRAndMovements(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	asOf := date(2026, 11, 23).Add(13 * time.Hour)
	s := DefaultSettings()
	for i := 0; i < 500; i++ {
		in := randomAccount(r, i, asOf)
		res := ScoreAccount(in, asOf, s, nil)
		prev := res.PrevMRR
		for _, m := range res.Months {
			if m.MRR < 0 {
				t.Fatalf("account %d: negative MRR %d in %s", i, m.MRR, m.Month)
			}
			if m.Delta != m.MRR-prev {
				t.Fatalf("account %d %s: delta %d, change %d", i, m.Month, m.Delta, m.MRR-prev)
			}
			var mv Movements
			mv.add(prev, &m)
			if got := mv.MRRStart + mv.New + mv.Expansion + mv.Reactivation - mv.Contraction - mv.Churn; got != mv.MRREnd {
				t.Fatalf("account %d %s: movements sum to %d, end MRR %d (%+v)", i, m.Month, got, mv.MRREnd, mv)
			}
			prev = m.MRR
		}
	}
}

func TestSeriesMatchesLedgerPath(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	asOf := date(2026, 11, 23).Add(5 * time.Hour)
	m := metrics("")
	for i := 0; i < 300; i++ {
		in := randomAccount(r, i, asOf)
		c := newMRRCalc(in.Subscriptions, in.Invoices, &m, newConverter("JPY", in.FX), MonthOf(asOf).Start())
		var instants []time.Time
		for k := MonthOf(asOf) - 30; k < MonthOf(asOf); k++ {
			instants = append(instants, k.LastInstant())
		}
		instants = append(instants, asOf)
		vals := make([]int64, len(instants))
		c.series(instants, vals)
		for k, at := range instants {
			var ledger []LedgerLine
			if got := c.at(at, &ledger); got != vals[k] {
				t.Fatalf("account %d at %v: series %d, at %d", i, at, vals[k], got)
			}
		}
	}
}

func TestScoreAccountsMatchesScoreAccount(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	asOf := date(2026, 11, 23)
	inputs := make([]AccountInput, 700)
	for i := range inputs {
		inputs[i] = randomAccount(r, i, asOf)
	}
	s := DefaultSettings()
	rules, err := CompileRules(DefaultTaskRules())
	if err != nil {
		t.Fatal(err)
	}
	got := ScoreAccounts(len(inputs), func(i int) AccountInput { return inputs[i] }, asOf, s, rules, 3)
	for i := range inputs {
		want := ScoreAccount(inputs[i], asOf, s, rules)
		if got[i].MRR != want.MRR || got[i].Health.Score != want.Health.Score || len(got[i].Tasks) != len(want.Tasks) || got[i].Months[5] != want.Months[5] {
			t.Fatalf("account %d differs: %+v vs %+v", i, got[i].Months[5], want.Months[5])
		}
	}
}

func TestRecordedMonthsWin(t *testing.T) {
	sub := activeSub("JPY", monthly(10000, 1, "JPY"))
	sub.StartDate = date(2026, 1, 1)
	in := AccountInput{Subscriptions: []record.Subscription{sub}, Currency: "JPY",
		Recorded: []RecordedMonth{{Month: MonthFor(2026, 9), MRR: 8000}, {Month: MonthFor(2026, 11), MRR: 1}}}
	res := ScoreAccount(in, date(2026, 11, 20), shortHistory(3), nil)
	got := []int64{res.Months[0].MRR, res.Months[1].MRR, res.Months[2].MRR}
	if got[0] != 8000 || got[1] != 10000 || got[2] != 10000 || res.Months[1].Kind != MoveExpansion {
		t.Errorf("series %v (recorded past month wins, the current month is always computed)", got)
	}
}
