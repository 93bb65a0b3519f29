package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/scoring"
)

// TestEndToEndClosedMonthKeepsItsMRR pins issue 19 item 5 (first half)
// through the engine: the first sync happens on 2026-12-06, the day a
// downgrade is received, so November was never recorded. The subscription
// is billed on the 20th (current period [11-20, 12-20), invoiced at its
// start); November must keep the old MRR and December show the
// contraction.
func TestEndToEndClosedMonthKeepsItsMRR(t *testing.T) {
	e := newSFStripe(t)
	var item, price, customer string
	start := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC) // the world's start date
	if err := e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) {
		item, price, customer = s.Items[0].ID, s.Items[0].Price, s.Customer
		s.CurrentPeriodStart, s.CurrentPeriodEnd = start.AddDate(0, 6, 0), start.AddDate(0, 7, 0)
	}); err != nil {
		t.Fatal(err)
	}
	for p := range 7 { // one paid invoice per period, 3 x 10,000 JPY, issued at its start
		from := start.AddDate(0, p, 0)
		e.stripe.SetNow(from)
		_, err := e.stripe.AddInvoice(stripetest.Invoice{Customer: customer, Subscription: e.subs[0], Status: "paid", Currency: "jpy",
			Lines: []stripetest.InvoiceLine{{Price: price, SubscriptionItem: item, Quantity: 3, Amount: 30000,
				PeriodStart: from, PeriodEnd: from.AddDate(0, 1, 0), Description: fmt.Sprintf("period %d", p)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// 2026-12-06: downgraded to 1 seat, prorations invoiced at once for
	// the 14 days left of 30: -30,000 x 14/30 and +10,000 x 14/30.
	e.now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	e.stripe.SetNow(e.now)
	if err := e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 1 }); err != nil {
		t.Fatal(err)
	}
	periodEnd := start.AddDate(0, 7, 0)
	if _, err := e.stripe.AddInvoice(stripetest.Invoice{Customer: customer, Subscription: e.subs[0], Status: "paid", Currency: "jpy",
		Lines: []stripetest.InvoiceLine{
			{Price: price, SubscriptionItem: item, Quantity: 3, Amount: -14000, PeriodStart: e.now, PeriodEnd: periodEnd, Proration: true},
			{Price: price, SubscriptionItem: item, Quantity: 1, Amount: 4667, PeriodStart: e.now, PeriodEnd: periodEnd, Proration: true},
		}}); err != nil {
		t.Fatal(err)
	}
	rep := e.sync(t)
	s, ok := rep.Reconcile.Account("salesforce/" + e.accts[0])
	if !ok {
		t.Fatal("account missing")
	}
	type row struct {
		month string
		mrr   int64
		kind  scoring.MovementKind
	}
	var got []row
	for _, m := range s.Result.Months {
		if m.Month >= scoring.MonthFor(2026, 9) {
			got = append(got, row{m.Month.String(), m.MRR, m.Kind})
		}
	}
	want := []row{{"2026-09", 30000, scoring.MoveNone}, {"2026-10", 30000, scoring.MoveNone},
		{"2026-11", 30000, scoring.MoveNone}, {"2026-12", 10000, scoring.MoveContraction}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("months\n got %v\nwant %v", got, want)
	}
}
