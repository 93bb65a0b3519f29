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

func seedCatalog(w *world) {
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "team-USD-yearly", ItemID: "team", ItemType: "plan", PricingModel: "per_unit", Price: 120000, Period: 1, PeriodUnit: "year", CurrencyCode: "USD"})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "api-USD-monthly", ItemID: "api", ItemType: "addon", PricingModel: "tiered", Period: 1, PeriodUnit: "month", CurrencyCode: "USD",
		Tiers: []chargebeetest.ItemPriceTier{{StartingUnit: 1, EndingUnit: 10, Price: 500}, {StartingUnit: 11, Price: 300}}})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "seats-USD-monthly", ItemID: "seats", ItemType: "plan", PricingModel: "volume", Period: 3, PeriodUnit: "month", CurrencyCode: "USD",
		Tiers: []chargebeetest.ItemPriceTier{{StartingUnit: 1, EndingUnit: 5, Price: 900}, {StartingUnit: 6, Price: 700}}})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "support-USD-stair", ItemID: "support", ItemType: "addon", PricingModel: "stairstep", Period: 1, PeriodUnit: "month", CurrencyCode: "USD",
		Tiers: []chargebeetest.ItemPriceTier{{StartingUnit: 1, EndingUnit: 3, Price: 5000}, {StartingUnit: 4, Price: 9000}}})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "base-JPY-monthly", ItemID: "base", ItemType: "plan", PricingModel: "flat_fee", Price: 5000, Period: 1, PeriodUnit: "month", CurrencyCode: "JPY"})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "setup-USD", ItemID: "setup", ItemType: "charge", PricingModel: "flat_fee", Price: 25000, CurrencyCode: "USD"})
	w.fake.PutCoupon(chargebeetest.Coupon{ID: "WELCOME20", Name: "20% for 3 months", DiscountType: "percentage", DiscountPercentage: 20, DurationType: "limited_period", Period: 3, PeriodUnit: "month", ApplyOn: "invoice_amount"})
	w.fake.PutCoupon(chargebeetest.Coupon{ID: "LOYAL5", Name: "5 USD off", DiscountType: "fixed_amount", DiscountAmount: 500, CurrencyCode: "USD", DurationType: "forever", ApplyOn: "invoice_amount"})
}

func TestSubscriptionMapping(t *testing.T) {
	start := t0.Add(-60 * 24 * time.Hour)
	termEnd := t0.Add(300 * 24 * time.Hour)
	base := chargebeetest.Subscription{
		CustomerID: "cus_1", Status: "active", CurrencyCode: "usd", BillingPeriod: 1, BillingPeriodUnit: "year",
		CreatedAt: unix(start), StartedAt: unix(start), CurrentTermStart: unix(start), CurrentTermEnd: unix(termEnd), UpdatedAt: unix(t0),
		SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: "team-USD-yearly", ItemType: "plan", Quantity: 3, UnitPrice: 120000, Amount: 360000}},
	}
	baseRec := record.Subscription{
		CustomerID: "cus_1", Status: record.StatusActive, Currency: "USD",
		Created: start, StartDate: start, CurrentPeriodStart: start, CurrentPeriodEnd: termEnd,
		Items: []record.Item{{ID: "team-USD-yearly", PriceID: "team-USD-yearly", ProductID: "team", Currency: "USD", UnitAmount: 120000,
			Interval: "year", IntervalCount: 1, Quantity: 3, UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit, Recurring: true}},
	}
	tests := []struct {
		name string
		edit func(*chargebeetest.Subscription)
		want func(*record.Subscription)
	}{
		{name: "active annual per unit with vendor mrr",
			edit: func(s *chargebeetest.Subscription) { s.MRR = ptr(int64(30000)) },
			want: func(r *record.Subscription) { r.VendorMRR = ptr(int64(30000)) }},
		{name: "in_trial is trialing",
			edit: func(s *chargebeetest.Subscription) {
				s.Status, s.TrialStart, s.TrialEnd = "in_trial", unix(start), unix(t0.Add(14*24*time.Hour))
			},
			want: func(r *record.Subscription) {
				r.Status, r.TrialStart, r.TrialEnd = record.StatusTrialing, start, t0.Add(14*24*time.Hour)
			}},
		{name: "future starts later",
			edit: func(s *chargebeetest.Subscription) { s.Status, s.StartedAt, s.StartDate = "future", 0, unix(termEnd) },
			want: func(r *record.Subscription) { r.Status, r.StartDate = record.StatusFuture, termEnd }},
		{name: "paused",
			edit: func(s *chargebeetest.Subscription) { s.Status = "paused" },
			want: func(r *record.Subscription) { r.Status = record.StatusPaused }},
		{name: "non_renewing cancels at period end",
			edit: func(s *chargebeetest.Subscription) {
				s.Status, s.CancelledAt, s.CancelScheduleCreatedAt = "non_renewing", unix(termEnd), unix(t0)
			},
			want: func(r *record.Subscription) {
				r.Status, r.CancelAtPeriodEnd, r.CancelAt, r.CanceledAt = record.StatusNonRenewing, true, termEnd, t0
			}},
		{name: "cancelled is canceled",
			edit: func(s *chargebeetest.Subscription) { s.Status, s.CancelledAt = "cancelled", unix(t0) },
			want: func(r *record.Subscription) { r.Status, r.EndedAt, r.CanceledAt = record.StatusCanceled, t0, t0 }},
		{name: "percent coupon for 3 months on an annual plan",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "WELCOME20", ApplyTill: unix(start.AddDate(0, 3, 0))}}
			},
			want: func(r *record.Subscription) {
				r.Discounts = []record.Discount{{ID: "WELCOME20", CouponID: "WELCOME20", PercentOff: 20, Duration: record.DurationRepeating, DurationInMonths: 3, End: start.AddDate(0, 3, 0)}}
			}},
		{name: "fixed amount coupon forever",
			edit: func(s *chargebeetest.Subscription) {
				s.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: "LOYAL5"}}
			},
			want: func(r *record.Subscription) {
				r.Discounts = []record.Discount{{ID: "LOYAL5", CouponID: "LOYAL5", AmountOff: 500, Currency: "USD", Duration: record.DurationForever}}
			}},
		{name: "graduated tiers from the subscription override the price's",
			edit: func(s *chargebeetest.Subscription) {
				s.BillingPeriodUnit = "month"
				s.SubscriptionItems = []chargebeetest.SubscriptionItem{{ItemPriceID: "api-USD-monthly", ItemType: "addon", Quantity: 15, Amount: 6500}}
				s.ItemTiers = []chargebeetest.ItemTier{{ItemPriceID: "api-USD-monthly", StartingUnit: 1, EndingUnit: 10, Price: 450}, {ItemPriceID: "api-USD-monthly", StartingUnit: 11, Price: 250}}
			},
			want: func(r *record.Subscription) {
				r.Items = []record.Item{{ID: "api-USD-monthly", PriceID: "api-USD-monthly", ProductID: "api", Currency: "USD", Interval: "month", IntervalCount: 1, Quantity: 15,
					UsageType: record.UsageLicensed, BillingScheme: record.SchemeTiered, TiersMode: record.TiersGraduated, Recurring: true,
					Tiers: []record.Tier{{UpTo: 10, UnitAmount: 450}, {UpTo: 0, UnitAmount: 250}}}}
			}},
		{name: "volume tiers from the item price, quarterly",
			edit: func(s *chargebeetest.Subscription) {
				s.SubscriptionItems = []chargebeetest.SubscriptionItem{{ItemPriceID: "seats-USD-monthly", ItemType: "plan", Quantity: 7, Amount: 4900}}
			},
			want: func(r *record.Subscription) {
				r.Items = []record.Item{{ID: "seats-USD-monthly", PriceID: "seats-USD-monthly", ProductID: "seats", Currency: "USD", Interval: "month", IntervalCount: 3, Quantity: 7,
					UsageType: record.UsageLicensed, BillingScheme: record.SchemeTiered, TiersMode: record.TiersVolume, Recurring: true,
					Tiers: []record.Tier{{UpTo: 5, UnitAmount: 900}, {UnitAmount: 700}}}}
			}},
		{name: "stairstep tiers are flat amounts",
			edit: func(s *chargebeetest.Subscription) {
				s.SubscriptionItems = []chargebeetest.SubscriptionItem{{ItemPriceID: "support-USD-stair", ItemType: "addon", Quantity: 2, Amount: 5000}}
			},
			want: func(r *record.Subscription) {
				r.Items = []record.Item{{ID: "support-USD-stair", PriceID: "support-USD-stair", ProductID: "support", Currency: "USD", Interval: "month", IntervalCount: 1, Quantity: 2,
					UsageType: record.UsageLicensed, BillingScheme: record.SchemeTiered, TiersMode: record.TiersVolume, Recurring: true,
					Tiers: []record.Tier{{UpTo: 3, FlatAmount: 5000}, {FlatAmount: 9000}}}}
			}},
		{name: "JPY flat fee keeps yen and a one-time charge is not recurring",
			edit: func(s *chargebeetest.Subscription) {
				s.CurrencyCode, s.BillingPeriodUnit = "JPY", "month"
				s.SubscriptionItems = []chargebeetest.SubscriptionItem{
					{ItemPriceID: "base-JPY-monthly", ItemType: "plan", UnitPrice: 5000, Amount: 5000},
					{ItemPriceID: "setup-USD", ItemType: "charge", Quantity: 1, UnitPrice: 25000, Amount: 25000},
				}
			},
			want: func(r *record.Subscription) {
				r.Currency = "JPY"
				r.Items = []record.Item{
					{ID: "base-JPY-monthly", PriceID: "base-JPY-monthly", ProductID: "base", Currency: "JPY", UnitAmount: 5000, Interval: "month", IntervalCount: 1, Quantity: 1,
						UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit, Recurring: true},
					{ID: "setup-USD", PriceID: "setup-USD", ProductID: "setup", Currency: "JPY", UnitAmount: 25000, Quantity: 1,
						UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit},
				}
			}},
		{name: "meta_data is kept",
			edit: func(s *chargebeetest.Subscription) { s.MetaData = map[string]any{"crm": "sf", "seats": 4} },
			want: func(r *record.Subscription) { r.Metadata = map[string]string{"crm": "sf", "seats": "4"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
			seedCatalog(w)
			s := base
			s.ID = "sub_x"
			s.SubscriptionItems = append([]chargebeetest.SubscriptionItem(nil), base.SubscriptionItems...)
			tc.edit(&s)
			w.fake.PutSubscription(s)
			want := baseRec
			want.Ref = record.Ref{System: record.Chargebee, ID: "sub_x", Modified: t0}
			want.Items = append([]record.Item(nil), baseRec.Items...)
			tc.want(&want)

			b, err := w.client.Fetch(context.Background(), "subscription", "sub_x")
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Subscriptions) != 1 {
				t.Fatalf("fetch: %+v", b)
			}
			if got := b.Subscriptions[0]; !reflect.DeepEqual(got, want) {
				t.Errorf("fetched\n got %+v\nwant %+v", got, want)
			}
			// The pull maps the same way.
			var pulled []record.Subscription
			for _, bb := range pullAll(t, w.client, record.PullRequest{}) {
				pulled = append(pulled, bb.Subscriptions...)
			}
			if len(pulled) != 1 || !reflect.DeepEqual(pulled[0], want) {
				t.Errorf("pulled\n got %+v\nwant %+v", pulled, want)
			}
		})
	}
}

func TestFailedPayments(t *testing.T) {
	day := 24 * time.Hour
	paid := chargebeetest.Invoice{ID: "inv_paid", CustomerID: "cus_1", SubscriptionID: "sub_1", Recurring: true, Status: "paid", CurrencyCode: "USD",
		Date: unix(t0.Add(-30 * day)), PaidAt: unix(t0.Add(-27 * day)), SubTotal: 10000, Tax: 2000, Total: 12000, AmountPaid: 12000, UpdatedAt: unix(t0.Add(-27 * day)),
		LineItems: []chargebeetest.LineItem{{ID: "li_1", DateFrom: unix(t0.Add(-30 * day)), DateTo: unix(t0), UnitAmount: 1000, Quantity: 10, Amount: 10000, DiscountAmount: 100, ItemLevelDiscountAmount: 50,
			Description: "Pro", EntityType: "plan_item_price", EntityID: "pro-USD-monthly", SubscriptionID: "sub_1"}},
		LinkedPayments: []chargebeetest.LinkedPayment{{TxnID: "txn_f", TxnStatus: "failure"}, {TxnID: "txn_s", TxnStatus: "success"}},
	}
	due := chargebeetest.Invoice{ID: "inv_due", CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "payment_due", CurrencyCode: "USD",
		Date: unix(t0), DueDate: unix(t0), Total: 12000, AmountDue: 12000, UpdatedAt: unix(t0), DunningStatus: "in_progress",
		DunningAttempts: []chargebeetest.DunningAttempt{{Attempt: 0, TransactionID: "txn_2", DunningType: "auto_collect", TxnStatus: "failure"}},
		LineItems:       []chargebeetest.LineItem{{ID: "li_2", DateFrom: unix(t0), DateTo: unix(t0.Add(30 * day)), UnitAmount: 250, Quantity: 1, Amount: 250, Description: "Setup", EntityType: "charge_item_price", EntityID: "setup-USD"}},
	}
	tests := []struct {
		name string
		inv  chargebeetest.Invoice
		want record.Invoice
	}{
		{name: "paid after a failed attempt", inv: paid, want: record.Invoice{
			Ref: record.Ref{System: record.Chargebee, ID: "inv_paid", Modified: t0.Add(-27 * day)}, CustomerID: "cus_1", SubscriptionID: "sub_1", Number: "inv_paid",
			Status: record.InvoicePaid, Paid: true, PaymentFailed: true, AttemptCount: 2, Currency: "USD", Subtotal: 10000, Tax: 2000, Total: 12000, AmountPaid: 12000,
			Created: t0.Add(-30 * day), PaidAt: t0.Add(-27 * day), PeriodStart: t0.Add(-30 * day), PeriodEnd: t0,
			Lines: []record.InvoiceLine{{ID: "li_1", SubscriptionID: "sub_1", SubscriptionItemID: "pro-USD-monthly", PriceID: "pro-USD-monthly", Description: "Pro", Quantity: 10, Amount: 10000,
				DiscountAmount: 100, Currency: "USD", PeriodStart: t0.Add(-30 * day), PeriodEnd: t0, Recurring: true, Interval: "month", IntervalCount: 1, UsageType: record.UsageLicensed}},
		}},
		{name: "payment due in dunning", inv: due, want: record.Invoice{
			Ref: record.Ref{System: record.Chargebee, ID: "inv_due", Modified: t0}, CustomerID: "cus_1", SubscriptionID: "sub_1", Number: "inv_due",
			Status: record.InvoiceOpen, PaymentFailed: true, AttemptCount: 1, Currency: "USD", Total: 12000, AmountDue: 12000,
			Created: t0, DueDate: t0, PeriodStart: t0, PeriodEnd: t0.Add(30 * day),
			Lines: []record.InvoiceLine{{ID: "li_2", PriceID: "setup-USD", SubscriptionItemID: "setup-USD", Description: "Setup", Quantity: 1, Amount: 250, Currency: "USD", PeriodStart: t0, PeriodEnd: t0.Add(30 * day)}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
			w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemType: "plan", PricingModel: "per_unit", Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
			w.fake.PutInvoice(tc.inv)
			var got []record.Invoice
			for _, b := range pullAll(t, w.client, record.PullRequest{}) {
				got = append(got, b.Invoices...)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Errorf("pulled\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}

	t.Run("payment_failed transaction fetches its invoice", func(t *testing.T) {
		w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
		w.fake.PutInvoice(due)
		w.fake.PutTransaction(chargebeetest.Transaction{ID: "txn_2", CustomerID: "cus_1", SubscriptionID: "sub_1", Type: "payment", Status: "failure", Amount: 12000, CurrencyCode: "USD",
			ErrorCode: "card_declined", LinkedInvoices: []chargebeetest.LinkedInvoice{{InvoiceID: "inv_due", AppliedAmount: 12000, InvoiceStatus: "payment_due"}}})
		b, err := w.client.Fetch(context.Background(), "transaction", "txn_2")
		if err != nil {
			t.Fatal(err)
		}
		if b.Stream != "invoices" || len(b.Invoices) != 1 || b.Invoices[0].ID != "inv_due" || !b.Invoices[0].PaymentFailed {
			t.Errorf("fetch transaction = %+v, want invoice inv_due with PaymentFailed", b)
		}
	})
}

func TestFetchCustomerAndDeleted(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	w.fake.PutCustomer(chargebeetest.Customer{ID: "cus_9", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", PreferredCurrencyCode: "EUR",
		CreatedAt: unix(t0), UpdatedAt: unix(t0), MetaData: map[string]any{"hubspot_company_id": "123"},
		CustomFields: map[string]any{"cf_salesforce_account_id": "001ABC"}})
	b, err := w.client.Fetch(context.Background(), "customer", "cus_9")
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Customer{{Ref: record.Ref{System: record.Chargebee, ID: "cus_9", Modified: t0}, Name: "Ada Lovelace", Email: "ada@example.com", Currency: "EUR", Created: t0,
		Metadata: map[string]string{"hubspot_company_id": "123", "cf_salesforce_account_id": "001ABC", "salesforce_account_id": "001ABC"}}}
	if !reflect.DeepEqual(b.Customers, want) {
		t.Errorf("customer\n got %+v\nwant %+v", b.Customers, want)
	}
	if err := w.fake.DeleteCustomer("cus_9"); err != nil {
		t.Fatal(err)
	}
	b, err = w.client.Fetch(context.Background(), "customer", "cus_9")
	if err != nil || len(b.Deleted) != 1 || b.Deleted[0].ID != "cus_9" || len(b.Customers) != 0 {
		t.Errorf("deleted customer fetch = %+v, %v; want it in Deleted", b, err)
	}
	if _, err := w.client.Fetch(context.Background(), "plan", "x"); err == nil {
		t.Error("unsupported object type accepted")
	}
}
