package chargebee_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
)

// TestAmountsInISOMinorUnits: one Chargebee world per currency, every amount
// the client maps in Chargebee's API units ("Currencies": two decimals
// unless zero-decimal), read back in ISO 4217 minor units. scale is
// 10^(ISO decimals - Chargebee decimals): a unit price of 1250 is 12.50 KWD
// at Chargebee and 12500 (12.500 KWD) in a record, 1,250 JPY or ISK in
// both. Quantities (free_quantity included) and percentages are not money
// and never scale.
func TestAmountsInISOMinorUnits(t *testing.T) {
	day := 24 * time.Hour
	start, termStart, termEnd := t0.Add(-40*day), t0.Add(-10*day), t0.Add(20*day)
	for _, tc := range []struct {
		cur       string
		scale     int64
		unitPrice string // the 1250 unit price as a record, formatted
	}{
		{"KWD", 10, "12.500 KWD"}, {"BHD", 10, "12.500 BHD"}, {"JOD", 10, "12.500 JOD"},
		{"OMR", 10, "12.500 OMR"}, {"TND", 10, "12.500 TND"}, {"IQD", 10, "12.500 IQD"}, {"LYD", 10, "12.500 LYD"},
		{"CLF", 100, "12.5000 CLF"},
		{"JPY", 1, "1,250 JPY"}, {"KRW", 1, "1,250 KRW"}, {"XAF", 1, "1,250 XAF"}, {"ISK", 1, "1,250 ISK"},
		{"CLP", 1, "1,250 CLP"}, {"VND", 1, "1,250 VND"}, {"UGX", 1, "1,250 UGX"},
		{"USD", 1, "12.50 USD"}, {"MGA", 1, "12.50 MGA"}, {"HUF", 1, "12.50 HUF"}, {"TWD", 1, "12.50 TWD"},
	} {
		t.Run(tc.cur, func(t *testing.T) {
			cur, k := tc.cur, tc.scale
			w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "seat", ItemID: "seat", ItemType: "plan", PricingModel: "per_unit", Price: 1250, Period: 1, PeriodUnit: "month", CurrencyCode: cur})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "api", ItemID: "api", ItemType: "addon", PricingModel: "tiered", Period: 1, PeriodUnit: "month", CurrencyCode: cur,
				Tiers: []chargebeetest.ItemPriceTier{{StartingUnit: 1, EndingUnit: 10, Price: 500}, {StartingUnit: 11, Price: 300}}})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "support", ItemID: "support", ItemType: "addon", PricingModel: "stairstep", Period: 1, PeriodUnit: "month", CurrencyCode: cur,
				Tiers: []chargebeetest.ItemPriceTier{{StartingUnit: 1, EndingUnit: 3, Price: 5000}, {StartingUnit: 4, Price: 9000}}})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pack", ItemID: "pack", ItemType: "addon", PricingModel: "package", Period: 1, PeriodUnit: "month", CurrencyCode: cur})
			w.fake.PutCoupon(chargebeetest.Coupon{ID: "PERSEAT", DiscountType: "fixed_amount", DiscountAmount: 100, CurrencyCode: cur, DurationType: "forever",
				ApplyOn: "each_unit_of_specified_items", ItemConstraints: []chargebeetest.ItemConstraint{{ItemType: "plan", Constraint: "all"}}})
			w.fake.PutCoupon(chargebeetest.Coupon{ID: "ONCE", DiscountType: "fixed_amount", DiscountAmount: 500, CurrencyCode: cur, DurationType: "one_time", ApplyOn: "invoice_amount"})
			w.fake.PutCoupon(chargebeetest.Coupon{ID: "TENPCT", DiscountType: "percentage", DiscountPercentage: 10, DurationType: "forever", ApplyOn: "invoice_amount"})

			sub := chargebeetest.Subscription{CustomerID: "cus_1", Status: "active", CurrencyCode: cur, BillingPeriod: 1, BillingPeriodUnit: "month",
				CreatedAt: unix(start), StartedAt: unix(start), CurrentTermStart: unix(termStart), CurrentTermEnd: unix(termEnd), UpdatedAt: unix(t0),
				MRR: ptr(int64(23500)),
				SubscriptionItems: []chargebeetest.SubscriptionItem{
					{ItemPriceID: "seat", ItemType: "plan", Quantity: 3, FreeQuantity: 1, UnitPrice: 1250, Amount: 2500},
					{ItemPriceID: "api", ItemType: "addon", Quantity: 15, Amount: 5750},
					{ItemPriceID: "support", ItemType: "addon", Quantity: 2, Amount: 5000},
					{ItemPriceID: "pack", ItemType: "addon", Quantity: 40, Amount: 8000},
				},
				// The subscription's own tiers override the item price's.
				ItemTiers: []chargebeetest.ItemTier{{ItemPriceID: "api", StartingUnit: 1, EndingUnit: 10, Price: 450}, {ItemPriceID: "api", StartingUnit: 11, Price: 250}},
			}
			withDiscounts := sub
			withDiscounts.ID = "sub_d"
			withDiscounts.Discounts = []chargebeetest.Discount{
				{ID: "dis_1", Type: "fixed_amount", Amount: 300, CurrencyCode: cur, DurationType: "forever", ApplyOn: "invoice_amount"},
				{ID: "dis_2", Type: "fixed_amount", Amount: 200, CurrencyCode: cur, DurationType: "limited_period", Period: 2, PeriodUnit: "month", ApplyOn: "specific_item_price", ItemPriceID: "seat"},
				{ID: "dis_3", Type: "percentage", Percentage: 20, DurationType: "forever", ApplyOn: "invoice_amount"},
				// No currency_code: the subscription's currency is the amount's.
				{ID: "dis_4", Type: "fixed_amount", Amount: 100, DurationType: "forever", ApplyOn: "invoice_amount"},
			}
			w.fake.PutSubscription(withDiscounts)
			withCoupons := sub
			withCoupons.ID = "sub_c"
			withCoupons.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "PERSEAT"}, {CouponID: "ONCE"}, {CouponID: "TENPCT"}}
			w.fake.PutSubscription(withCoupons)

			item := func(id string, qty int64) record.Item {
				return record.Item{ID: id, PriceID: id, ProductID: id, Currency: cur, Interval: "month", IntervalCount: 1, Quantity: qty,
					UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit, Recurring: true}
			}
			seat := item("seat", 3)
			seat.FreeQuantity, seat.UnitAmount = 1, 1250*k
			api := item("api", 15)
			api.BillingScheme, api.TiersMode = record.SchemeTiered, record.TiersGraduated
			api.Tiers = []record.Tier{{UpTo: 10, UnitAmount: 450 * k}, {UnitAmount: 250 * k}}
			support := item("support", 2)
			support.BillingScheme, support.TiersMode = record.SchemeTiered, record.TiersVolume
			support.Tiers = []record.Tier{{UpTo: 3, FlatAmount: 5000 * k}, {FlatAmount: 9000 * k}}
			pack := item("pack", 1) // package: the amount for the quantity, as one unit
			pack.UnitAmount = 8000 * k
			base := record.Subscription{CustomerID: "cus_1", Status: record.StatusActive, Currency: cur,
				Created: start, StartDate: start, CurrentPeriodStart: termStart, CurrentPeriodEnd: termEnd, VendorMRR: ptr(23500 * k)}

			wantD := base
			wantD.Ref = record.Ref{System: record.Chargebee, ID: "sub_d", Modified: t0}
			seatD := seat
			seatD.Discounts = []record.Discount{{ID: "dis_2", AmountOff: 200 * k, Currency: cur, Duration: record.DurationRepeating, DurationInMonths: 2, Start: start}}
			wantD.Items = []record.Item{seatD, api, support, pack}
			wantD.Discounts = []record.Discount{
				{ID: "dis_1", AmountOff: 300 * k, Currency: cur, Duration: record.DurationForever, Start: start},
				{ID: "dis_3", PercentOff: 20, Duration: record.DurationForever, Start: start},
				{ID: "dis_4", AmountOff: 100 * k, Currency: cur, Duration: record.DurationForever, Start: start},
			}

			wantC := base
			wantC.Ref = record.Ref{System: record.Chargebee, ID: "sub_c", Modified: t0}
			seatC := seat
			// 100 off each of the 2 charged seats (3 less 1 free).
			seatC.Discounts = []record.Discount{{ID: "PERSEAT", CouponID: "PERSEAT", AmountOff: 2 * 100 * k, Currency: cur, Duration: record.DurationForever}}
			wantC.Items = []record.Item{seatC, api, support, pack}
			wantC.Discounts = []record.Discount{
				{ID: "ONCE", CouponID: "ONCE", AmountOff: 500 * k, Currency: cur, Duration: record.DurationOnce, ExcludedFromMRR: true},
				{ID: "TENPCT", CouponID: "TENPCT", PercentOff: 10, Duration: record.DurationForever},
			}

			for _, want := range []record.Subscription{wantD, wantC} {
				b, err := w.client.Fetch(context.Background(), "subscription", want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Subscriptions) != 1 || !reflect.DeepEqual(b.Subscriptions[0], want) {
					t.Errorf("subscription %s\n got %+v\nwant %+v", want.ID, b.Subscriptions, want)
				}
			}

			// Invoice: 2 seats at 12.50 (2500), 3.00 (300) off, tax 2.20
			// (220): total 24.20 (2420), 10.00 paid, 14.20 due.
			w.fake.PutInvoice(chargebeetest.Invoice{ID: "inv_1", CustomerID: "cus_1", SubscriptionID: "sub_d", Recurring: true, Status: "payment_due", CurrencyCode: cur,
				Date: unix(termStart), DueDate: unix(termStart), SubTotal: 2500, Tax: 220, Total: 2420, AmountPaid: 1000, AmountDue: 1420, UpdatedAt: unix(t0),
				LineItems: []chargebeetest.LineItem{{ID: "li_1", DateFrom: unix(termStart), DateTo: unix(termEnd), UnitAmount: 1250, Quantity: 2, Amount: 2500, TaxAmount: 220,
					Description: "Seats", EntityType: "plan_item_price", EntityID: "seat", SubscriptionID: "sub_d"}},
				LineItemDiscounts: []chargebeetest.LineItemDiscount{{LineItemID: "li_1", DiscountType: "document_level_discount", EntityID: "dis_1", DiscountAmount: 300}},
			})
			wantInv := record.Invoice{Ref: record.Ref{System: record.Chargebee, ID: "inv_1", Modified: t0}, CustomerID: "cus_1", SubscriptionID: "sub_d", Number: "inv_1",
				Status: record.InvoiceOpen, PaymentFailed: true, Currency: cur, Subtotal: 2500 * k, Tax: 220 * k, Total: 2420 * k, AmountPaid: 1000 * k, AmountDue: 1420 * k,
				Created: termStart, DueDate: termStart, PeriodStart: termStart, PeriodEnd: termEnd,
				Lines: []record.InvoiceLine{{ID: "li_1", SubscriptionID: "sub_d", SubscriptionItemID: "seat", PriceID: "seat", Description: "Seats", Quantity: 2,
					Amount: 2500 * k, DiscountAmount: 300 * k, Currency: cur, PeriodStart: termStart, PeriodEnd: termEnd, Recurring: true,
					Interval: "month", IntervalCount: 1, UsageType: record.UsageLicensed}}}
			b, err := w.client.Fetch(context.Background(), "invoice", "inv_1")
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Invoices) != 1 || !reflect.DeepEqual(b.Invoices[0], wantInv) {
				t.Errorf("invoice\n got %+v\nwant %+v", b.Invoices, wantInv)
			}

			// The pull maps the same way, and the record reads as the money
			// Chargebee's dashboard shows.
			var pulled []record.Subscription
			for _, bb := range pullAll(t, w.client, record.PullRequest{}) {
				pulled = append(pulled, bb.Subscriptions...)
			}
			if len(pulled) != 2 {
				t.Fatalf("pulled %d subscriptions, want 2", len(pulled))
			}
			for _, got := range pulled {
				want := wantD
				if got.ID == "sub_c" {
					want = wantC
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("pulled %s\n got %+v\nwant %+v", got.ID, got, want)
				}
			}
			if got := scoring.FormatMoney(pulled[0].Items[0].UnitAmount, cur); got != tc.unitPrice {
				t.Errorf("unit price formatted = %q, want %q", got, tc.unitPrice)
			}
		})
	}
}
