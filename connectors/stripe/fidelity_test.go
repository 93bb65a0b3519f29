package stripe

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/scoring"
)

// TestItemDiscounts: item-level coupons reach record.Item.Discounts with
// their coupon in every shape Stripe serves (the coupon embedded before
// clover, source.coupon as an ID from clover on), within the expansion
// depth limit the fake enforces, and lower the subscription's MRR.
func TestItemDiscounts(t *testing.T) {
	for _, version := range []string{"2020-08-27", "2025-03-31.basil", "2025-09-30.clover"} {
		t.Run(version, func(t *testing.T) {
			h := newHarness(t, version, 100)
			cus := h.srv.AddCustomer(stripetest.Customer{Name: "Items", Currency: "usd"})
			price := h.srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 10000, Interval: "month"})
			seat := h.srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 2000, Interval: "month"})
			pct := h.srv.AddCoupon(stripetest.Coupon{ID: "ITEM20", PercentOff: 20, Duration: "forever"})
			off := h.srv.AddCoupon(stripetest.Coupon{ID: "SEAT5", AmountOff: 500, Currency: "usd", Duration: "repeating", DurationInMonths: 6})
			sub := must(h.srv.AddSubscription(stripetest.Subscription{Customer: cus.ID, Items: []stripetest.SubscriptionItem{
				{Price: price.ID, Coupons: []string{pct.ID}},
				{Price: seat.ID, Quantity: 3, Coupons: []string{off.ID}},
			}}))
			got := collect(t, h.pull(t, record.PullRequest{Now: h.srv.Now()}))
			h.spec.check(t)
			s := got.subscriptions[sub.ID]
			want := [][]record.Discount{
				{{ID: sub.Items[0].Discounts[0].ID, CouponID: "ITEM20", PercentOff: 20, Duration: record.DurationForever, Start: t0}},
				{{ID: sub.Items[1].Discounts[0].ID, CouponID: "SEAT5", AmountOff: 500, Currency: "USD",
					Duration: record.DurationRepeating, DurationInMonths: 6, Start: t0, End: t0.AddDate(0, 6, 0)}},
			}
			if len(s.Items) != 2 {
				t.Fatalf("items = %+v", s.Items)
			}
			for i := range want {
				if !reflect.DeepEqual(s.Items[i].Discounts, want[i]) {
					t.Errorf("item %d discounts =\n%+v\nwant\n%+v", i, s.Items[i].Discounts, want[i])
				}
			}
			// 10,000 less 20% plus 3 x 2,000 less 500 = 8,000 + 5,500.
			res := scoring.ScoreAccount(scoring.AccountInput{Subscriptions: []record.Subscription{s}, Currency: "USD"},
				t0.AddDate(0, 0, 10), scoring.DefaultSettings(), nil)
			if res.MRR != 13500 {
				t.Errorf("MRR = %d, want 13500 (item discounts applied)", res.MRR)
			}
			if v := h.srv.Count("GET /v1/coupons/{coupon}"); (version >= "2025-09-30") != (v == 2) {
				t.Errorf("coupon reads = %d (clover reads each item coupon once, earlier versions embed it)", v)
			}
		})
	}
}

// TestTieredPricesReadOncePerRun: the subscription list cannot expand
// data.items.data.price.tiers (five levels), so each tiered price is read
// once per run with expand[]=tiers, however many subscriptions use it.
func TestTieredPricesReadOncePerRun(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 2)
	cus := h.srv.AddCustomer(stripetest.Customer{Name: "Tiers"})
	tiered := h.srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", BillingScheme: "tiered", TiersMode: "volume",
		Tiers: []stripetest.Tier{{UpTo: 10, UnitAmount: 900}, {UnitAmount: 700}}})
	for range 5 {
		must(h.srv.AddSubscription(stripetest.Subscription{Customer: cus.ID, Items: []stripetest.SubscriptionItem{{Price: tiered.ID, Quantity: 12}}}))
	}
	got := collect(t, h.pull(t, record.PullRequest{Now: h.srv.Now()}))
	h.spec.check(t)
	for id, s := range got.subscriptions {
		if want := []record.Tier{{UpTo: 10, UnitAmount: 900}, {UnitAmount: 700}}; !reflect.DeepEqual(s.Items[0].Tiers, want) {
			t.Errorf("%s tiers = %+v, want %+v", id, s.Items[0].Tiers, want)
		}
	}
	if n := h.srv.Count("GET /v1/prices/{price}"); n != 1 {
		t.Errorf("price reads = %d, want 1 (cached for the run)", n)
	}
	// A new run reads it again.
	h.pull(t, record.PullRequest{Now: h.srv.Now(), Full: true})
	if n := h.srv.Count("GET /v1/prices/{price}"); n != 2 {
		t.Errorf("price reads after a second run = %d, want 2", n)
	}
}

// TestBasilMonthlyLinesAreOneMonth: basil invoice lines carry no interval
// (the price is an ID under pricing.price_details); the client takes it
// from the price, so a monthly line is one month's MRR in February and in
// a 31-day month alike, with no movement between them.
func TestBasilMonthlyLinesAreOneMonth(t *testing.T) {
	for _, version := range []string{"2024-06-20", "2025-03-31.basil", "2025-09-30.clover"} {
		t.Run(version, func(t *testing.T) {
			h := newHarness(t, version, 100)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			h.srv.SetNow(start)
			cus := h.srv.AddCustomer(stripetest.Customer{Name: "Months", Currency: "usd"})
			price := h.srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 30000, Interval: "month"})
			sub := must(h.srv.AddSubscription(stripetest.Subscription{Customer: cus.ID, StartDate: start,
				Items:              []stripetest.SubscriptionItem{{Price: price.ID}},
				CurrentPeriodStart: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), CurrentPeriodEnd: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}))
			for m := time.January; m <= time.March; m++ {
				from, to := time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, m+1, 1, 0, 0, 0, 0, time.UTC)
				must(h.srv.AddInvoice(stripetest.Invoice{Customer: cus.ID, Subscription: sub.ID, Status: "paid", Currency: "usd",
					Created: from, PeriodStart: from, PeriodEnd: to, Lines: []stripetest.InvoiceLine{
						{Price: price.ID, SubscriptionItem: sub.Items[0].ID, Quantity: 1, Amount: 30000, PeriodStart: from, PeriodEnd: to}}}))
			}
			h.srv.SetNow(time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC))
			got := collect(t, h.pull(t, record.PullRequest{Now: h.srv.Now()}))
			h.spec.check(t)
			var invs []record.Invoice
			for _, in := range got.invoices {
				invs = append(invs, in)
			}
			s := scoring.DefaultSettings()
			s.Metrics.HistoryMonths = 4
			res := scoring.ScoreAccount(scoring.AccountInput{Subscriptions: []record.Subscription{got.subscriptions[sub.ID]},
				Invoices: invs, Currency: "USD"}, h.srv.Now(), s, nil)
			want := []scoring.MonthMRR{
				{Month: scoring.MonthFor(2026, time.January), Kind: scoring.MoveNew, MRR: 30000},
				{Month: scoring.MonthFor(2026, time.February), Kind: scoring.MoveNone, MRR: 30000},
				{Month: scoring.MonthFor(2026, time.March), Kind: scoring.MoveNone, MRR: 30000},
				{Month: scoring.MonthFor(2026, time.April), Kind: scoring.MoveNone, MRR: 30000},
			}
			if len(res.Months) != len(want) {
				t.Fatalf("months = %+v", res.Months)
			}
			for i := range want {
				if g := res.Months[i]; g.Month != want[i].Month || g.Kind != want[i].Kind || g.MRR != want[i].MRR {
					t.Errorf("month %s: %s %d, want %s %d", want[i].Month, g.Kind, g.MRR, want[i].Kind, want[i].MRR)
				}
			}
		})
	}
}

// TestFullListIncludesCanceled: a subscription list omits canceled
// subscriptions unless status=all ("List subscriptions"); a full listing
// must still see them, or churn would look like a subscription that
// vanished.
func TestFullListIncludesCanceled(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 100)
	cus := h.srv.AddCustomer(stripetest.Customer{Name: "Churned"})
	p := h.srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 900, Interval: "month"})
	sub := must(h.srv.AddSubscription(stripetest.Subscription{Customer: cus.ID, Items: []stripetest.SubscriptionItem{{Price: p.ID}}}))
	h.srv.Advance(time.Hour)
	if err := h.srv.CancelSubscription(sub.ID); err != nil {
		t.Fatal(err)
	}
	got := collect(t, h.pull(t, record.PullRequest{Now: h.srv.Now()}))
	if s, ok := got.subscriptions[sub.ID]; !ok || s.Status != record.StatusCanceled || !s.EndedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("canceled subscription = %+v (listed: %v)", s, ok)
	}
}
