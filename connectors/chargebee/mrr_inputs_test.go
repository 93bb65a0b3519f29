package chargebee_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestMRRInputs pins the subscription attributes that change MRR, as the
// fake serves them from Chargebee's documentation. Every case starts from
// one monthly USD subscription: plan pro-USD-monthly, 5 x 10.00 = 50.00, and
// addon extra-USD-monthly, 4 x 5.00 = 20.00, so 70.00 USD before discounts.
// The worked MRR of each case is in its comment; scoring's TestSubscriptionMRR
// pins the arithmetic on the same record fields (ExcludedFromMRR,
// FreeQuantity, item-level discounts).
func TestMRRInputs(t *testing.T) {
	start := t0.Add(-40 * 24 * time.Hour)
	termStart, termEnd := t0.Add(-10*24*time.Hour), t0.Add(20*24*time.Hour)
	base := chargebeetest.Subscription{
		ID: "sub_m", CustomerID: "cus_1", Status: "active", CurrencyCode: "USD", BillingPeriod: 1, BillingPeriodUnit: "month",
		CreatedAt: unix(start), StartedAt: unix(start), CurrentTermStart: unix(termStart), CurrentTermEnd: unix(termEnd), UpdatedAt: unix(t0),
		SubscriptionItems: []chargebeetest.SubscriptionItem{
			{ItemPriceID: "pro-USD-monthly", ItemType: "plan", Quantity: 5, UnitPrice: 1000, Amount: 5000},
			{ItemPriceID: "extra-USD-monthly", ItemType: "addon", Quantity: 4, UnitPrice: 500, Amount: 2000},
		},
	}
	item := func(id, product string, unit, qty int64) record.Item {
		return record.Item{ID: id, PriceID: id, ProductID: product, Currency: "USD", UnitAmount: unit, Interval: "month", IntervalCount: 1, Quantity: qty,
			UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit, Recurring: true}
	}
	baseRec := record.Subscription{
		Ref: record.Ref{System: record.Chargebee, ID: "sub_m", Modified: t0}, CustomerID: "cus_1", Status: record.StatusActive, Currency: "USD",
		Created: start, StartDate: start, CurrentPeriodStart: termStart, CurrentPeriodEnd: termEnd,
		Items: []record.Item{item("pro-USD-monthly", "pro", 1000, 5), item("extra-USD-monthly", "extra", 500, 4)},
	}
	coupons := []chargebeetest.Coupon{
		{ID: "PLAN10", DiscountType: "percentage", DiscountPercentage: 10, DurationType: "forever", ApplyOn: "each_specified_item",
			ItemConstraints: []chargebeetest.ItemConstraint{{ItemType: "plan", Constraint: "specific", ItemPriceIDs: []string{"pro-USD-monthly"}}, {ItemType: "addon", Constraint: "none"}}},
		{ID: "ADDON2", DiscountType: "fixed_amount", DiscountAmount: 200, CurrencyCode: "USD", DurationType: "forever", ApplyOn: "each_specified_item",
			ItemConstraints: []chargebeetest.ItemConstraint{{ItemType: "addon", Constraint: "all"}}},
		{ID: "PERUNIT1", DiscountType: "fixed_amount", DiscountAmount: 100, CurrencyCode: "USD", DurationType: "forever", ApplyOn: "each_unit_of_specified_items",
			ItemConstraints: []chargebeetest.ItemConstraint{{ItemType: "plan", Constraint: "none"}, {ItemType: "addon", Constraint: "all"}}},
		{ID: "EXTRAS50", DiscountType: "percentage", DiscountPercentage: 50, DurationType: "forever", ApplyOn: "each_specified_item",
			ItemConstraints: []chargebeetest.ItemConstraint{{ItemType: "plan", Constraint: "criteria"}, {ItemType: "addon", Constraint: "criteria"}},
			ItemConstraintCriteria: []chargebeetest.ItemConstraintCriteria{
				{ItemType: "plan", ItemFamilyIDs: []string{"extras"}},
				{ItemType: "addon", Currencies: []string{"USD"}, ItemFamilyIDs: []string{"extras"}, ItemPricePeriods: []string{"month"}}}},
		{ID: "ONCE15", DiscountType: "fixed_amount", DiscountAmount: 1500, CurrencyCode: "USD", DurationType: "one_time", ApplyOn: "invoice_amount"},
	}
	tests := []struct {
		name string
		edit func(*chargebeetest.Subscription)
		want func(*record.Subscription)
	}{
		{
			// A 10% coupon on the plan only: 50.00 - 5.00 + 20.00 = 65.00
			// (applied to the whole subscription it took 7.00: 63.00).
			name: "each_specified_item coupon discounts the specified plan only",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "PLAN10"}}
			},
			want: func(r *record.Subscription) {
				r.Items[0].Discounts = []record.Discount{{ID: "PLAN10", CouponID: "PLAN10", PercentOff: 10, Duration: record.DurationForever}}
			},
		},
		{
			// 2.00 off each addon item price: 50.00 + (20.00 - 2.00) = 68.00.
			name: "each_specified_item fixed amount on every addon",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "ADDON2"}}
			},
			want: func(r *record.Subscription) {
				r.Items[1].Discounts = []record.Discount{{ID: "ADDON2", CouponID: "ADDON2", AmountOff: 200, Currency: "USD", Duration: record.DurationForever}}
			},
		},
		{
			// 1.00 off each of the 4 addon units: 4.00 off, 50.00 + 16.00 =
			// 66.00 (once off the subscription it was 69.00).
			name: "each_unit_of_specified_items multiplies by the quantity",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "PERUNIT1"}}
			},
			want: func(r *record.Subscription) {
				r.Items[1].Discounts = []record.Discount{{ID: "PERUNIT1", CouponID: "PERUNIT1", AmountOff: 400, Currency: "USD", Duration: record.DurationForever}}
			},
		},
		{
			// Criteria match the addon (family extras, USD, monthly), not the
			// plan (family core): 50.00 + 20.00 x 50% = 60.00.
			name: "criteria constraint by item family, currency and period",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "EXTRAS50"}}
			},
			want: func(r *record.Subscription) {
				r.Items[1].Discounts = []record.Discount{{ID: "EXTRAS50", CouponID: "EXTRAS50", PercentOff: 50, Duration: record.DurationForever}}
			},
		},
		{
			// A one-time 15.00 coupon the site leaves out of MRR
			// (included_in_mrr false): MRR stays 70.00, not 55.00.
			name: "one_time coupon without included_in_mrr is excluded",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "ONCE15"}}
			},
			want: func(r *record.Subscription) {
				r.Discounts = []record.Discount{{ID: "ONCE15", CouponID: "ONCE15", AmountOff: 1500, Currency: "USD", Duration: record.DurationOnce, ExcludedFromMRR: true}}
			},
		},
		{
			// discounts[]: the same one-time 15.00 off, not in MRR: 70.00.
			name: "one_time discount with included_in_mrr false is excluded",
			edit: func(s *chargebeetest.Subscription) {
				s.Discounts = []chargebeetest.Discount{{ID: "dis_1", Type: "fixed_amount", Amount: 1500, CurrencyCode: "USD", DurationType: "one_time", ApplyOn: "invoice_amount", CouponID: "ONCE15"}}
			},
			want: func(r *record.Subscription) {
				r.Discounts = []record.Discount{{ID: "dis_1", CouponID: "ONCE15", AmountOff: 1500, Currency: "USD", Duration: record.DurationOnce, Start: start, ExcludedFromMRR: true}}
			},
		},
		{
			// Flexible MRR on: the one-time 15.00 counts in its term,
			// 70.00 - 15.00 = 55.00.
			name: "one_time discount with included_in_mrr true counts",
			edit: func(s *chargebeetest.Subscription) {
				s.Discounts = []chargebeetest.Discount{{ID: "dis_1", Type: "fixed_amount", Amount: 1500, CurrencyCode: "USD", DurationType: "one_time", ApplyOn: "invoice_amount", IncludedInMRR: true}}
			},
			want: func(r *record.Subscription) {
				r.Discounts = []record.Discount{{ID: "dis_1", AmountOff: 1500, Currency: "USD", Duration: record.DurationOnce, Start: start}}
			},
		},
		{
			// included_in_mrr is only applicable to one_time (the fake sends
			// false for a forever discount), which still counts: 20% of the
			// addon, 50.00 + 16.00 = 66.00.
			name: "forever item discount counts whatever included_in_mrr says",
			edit: func(s *chargebeetest.Subscription) {
				s.Discounts = []chargebeetest.Discount{{ID: "dis_2", Type: "percentage", Percentage: 20, DurationType: "forever", ApplyOn: "specific_item_price", ItemPriceID: "extra-USD-monthly", IncludedInMRR: true}}
			},
			want: func(r *record.Subscription) {
				r.Items[1].Discounts = []record.Discount{{ID: "dis_2", PercentOff: 20, Duration: record.DurationForever, Start: start}}
			},
		},
		{
			// 2 of the 5 plan seats are free: (5 - 2) x 10.00 + 20.00 = 50.00
			// (70.00 when free_quantity was ignored).
			name: "free_quantity is carried to the item",
			edit: func(s *chargebeetest.Subscription) {
				s.SubscriptionItems[0].FreeQuantity = 2
				s.SubscriptionItems[0].Amount = 3000
			},
			want: func(r *record.Subscription) { r.Items[0].FreeQuantity = 2 },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemFamilyID: "core", ItemType: "plan", PricingModel: "per_unit", Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "extra-USD-monthly", ItemID: "extra", ItemFamilyID: "extras", ItemType: "addon", PricingModel: "per_unit", Price: 500, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
			for _, c := range coupons {
				w.fake.PutCoupon(c)
			}
			s := base
			s.SubscriptionItems = append([]chargebeetest.SubscriptionItem(nil), base.SubscriptionItems...)
			tc.edit(&s)
			w.fake.PutSubscription(s)
			want := baseRec
			want.Items = append([]record.Item(nil), baseRec.Items...)
			tc.want(&want)

			b, err := w.client.Fetch(context.Background(), "subscription", "sub_m")
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Subscriptions) != 1 || !reflect.DeepEqual(b.Subscriptions[0], want) {
				t.Errorf("fetched\n got %+v\nwant %+v", b.Subscriptions, want)
			}
		})
	}
}

// TestInvoiceLineDiscountCountedOnce pins that a line's discount_amount,
// which already includes its item_level_discount_amount, is not added to
// it. The fake derives both from line_item_discounts: an item-level coupon
// of 1.50 and a document-level coupon share of 1.00 give discount_amount
// 2.50 and item_level_discount_amount 1.50, so the 50.00 line nets 47.50
// (adding the two took 4.00 off: 46.00).
func TestInvoiceLineDiscountCountedOnce(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemType: "plan", PricingModel: "per_unit", Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
	from, to := t0.Add(-30*24*time.Hour), t0
	w.fake.PutInvoice(chargebeetest.Invoice{ID: "inv_d", CustomerID: "cus_1", SubscriptionID: "sub_m", Recurring: true, Status: "paid", CurrencyCode: "USD",
		Date: unix(from), PaidAt: unix(from), SubTotal: 5000, Total: 4750, AmountPaid: 4750, UpdatedAt: unix(from),
		LineItems: []chargebeetest.LineItem{{ID: "li_1", DateFrom: unix(from), DateTo: unix(to), UnitAmount: 1000, Quantity: 5, Amount: 5000,
			Description: "Pro", EntityType: "plan_item_price", EntityID: "pro-USD-monthly", SubscriptionID: "sub_m"}},
		LineItemDiscounts: []chargebeetest.LineItemDiscount{
			{LineItemID: "li_1", DiscountType: "item_level_coupon", CouponID: "PLAN3", EntityID: "PLAN3", DiscountAmount: 150},
			{LineItemID: "li_1", DiscountType: "document_level_coupon", CouponID: "ALL1", EntityID: "ALL1", DiscountAmount: 100},
		},
	})
	b, err := w.client.Fetch(context.Background(), "invoice", "inv_d")
	if err != nil {
		t.Fatal(err)
	}
	want := []record.InvoiceLine{{ID: "li_1", SubscriptionID: "sub_m", SubscriptionItemID: "pro-USD-monthly", PriceID: "pro-USD-monthly", Description: "Pro",
		Quantity: 5, Amount: 5000, DiscountAmount: 250, Currency: "USD", PeriodStart: from, PeriodEnd: to, Recurring: true, Interval: "month", IntervalCount: 1,
		UsageType: record.UsageLicensed}}
	if len(b.Invoices) != 1 || !reflect.DeepEqual(b.Invoices[0].Lines, want) {
		t.Fatalf("lines\n got %+v\nwant %+v", b.Invoices, want)
	}
	if net := b.Invoices[0].Lines[0].Amount - b.Invoices[0].Lines[0].DiscountAmount; net != 4750 {
		t.Errorf("line net = %d, want 4750", net)
	}
}
