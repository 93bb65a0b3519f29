package stripe

import (
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/scoring"
)

// TestStripeCurrencyExponents: for every currency of Stripe's "Supported
// currencies" page rules (https://docs.stripe.com/currencies: "Zero-decimal
// currencies", "Three-decimal currencies", "Special cases") the decimals of
// Stripe's API amounts, converted by isoShift, give the ISO 4217 decimals
// the records use (scoring.MinorUnitExponent).
func TestStripeCurrencyExponents(t *testing.T) {
	for _, tc := range []struct {
		cur    string
		stripe int // decimals of Stripe API amounts, per the page
		iso    int // ISO 4217 minor unit
	}{
		// Zero-decimal currencies.
		{"BIF", 0, 0}, {"CLP", 0, 0}, {"DJF", 0, 0}, {"GNF", 0, 0}, {"JPY", 0, 0}, {"KMF", 0, 0},
		{"KRW", 0, 0}, {"MGA", 0, 2}, {"PYG", 0, 0}, {"RWF", 0, 0}, {"UGX", 0, 0}, {"VND", 0, 0},
		{"VUV", 0, 0}, {"XAF", 0, 0}, {"XOF", 0, 0}, {"XPF", 0, 0},
		// Three-decimal currencies (amounts end in 0).
		{"BHD", 3, 3}, {"JOD", 3, 3}, {"KWD", 3, 3}, {"OMR", 3, 3}, {"TND", 3, 3},
		// Special cases: ISK two-decimal in the API (100 = 1 ISK); HUF and
		// TWD two-decimal in the API, zero-decimal for payouts only.
		{"ISK", 2, 0}, {"HUF", 2, 2}, {"TWD", 2, 2},
		// Everything else: two decimals.
		{"USD", 2, 2}, {"EUR", 2, 2}, {"GBP", 2, 2}, {"INR", 2, 2},
	} {
		t.Run(tc.cur, func(t *testing.T) {
			if got := scoring.MinorUnitExponent(tc.cur); got != tc.iso {
				t.Errorf("scoring.MinorUnitExponent(%s) = %d, want ISO 4217's %d", tc.cur, got, tc.iso)
			}
			if got := tc.stripe + isoShift[tc.cur]; got != tc.iso {
				t.Errorf("Stripe's %d decimals shifted by %d = %d, want %d", tc.stripe, isoShift[tc.cur], got, tc.iso)
			}
		})
	}
}

// TestAmountsConvertedToRecordUnits: a 1,500 ISK price (150000 in Stripe's
// API) and a 50,000 MGA price (50000, zero-decimal at Stripe) reach the
// records in ISO minor units and format as the same money.
func TestAmountsConvertedToRecordUnits(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 100)
	for _, tc := range []struct {
		cur       string
		stripe    int64
		record    int64
		formatted string
	}{
		{"isk", 150000, 1500, "1,500 ISK"},
		{"mga", 50000, 5000000, "50,000.00 MGA"},
		{"jpy", 12000, 12000, "12,000 JPY"},
		{"huf", 250000, 250000, "2,500.00 HUF"},
		{"kwd", 12340, 12340, "12.340 KWD"},
	} {
		t.Run(tc.cur, func(t *testing.T) {
			cus := h.srv.AddCustomer(stripetest.Customer{Name: tc.cur, Currency: tc.cur})
			p := h.srv.AddPrice(stripetest.Price{Currency: tc.cur, UnitAmount: tc.stripe, Interval: "month"})
			sub := must(h.srv.AddSubscription(stripetest.Subscription{Customer: cus.ID, Items: []stripetest.SubscriptionItem{{Price: p.ID}}}))
			in := must(h.srv.AddInvoice(stripetest.Invoice{Customer: cus.ID, Subscription: sub.ID, Currency: tc.cur, Status: "paid",
				Lines: []stripetest.InvoiceLine{{Price: p.ID, SubscriptionItem: sub.Items[0].ID, Quantity: 1, Amount: tc.stripe}}}))
			b := mustFetch(t, h, "subscription", sub.ID)
			if got := b.Subscriptions[0].Items[0].UnitAmount; got != tc.record {
				t.Errorf("unit amount = %d, want %d", got, tc.record)
			}
			if got := scoring.FormatMoney(b.Subscriptions[0].Items[0].UnitAmount, b.Subscriptions[0].Currency); got != tc.formatted {
				t.Errorf("formatted = %q, want %q", got, tc.formatted)
			}
			ib := mustFetch(t, h, "invoice", in.ID)
			inv := ib.Invoices[0]
			if inv.Total != tc.record || inv.AmountPaid != tc.record || inv.Subtotal != tc.record || inv.Lines[0].Amount != tc.record {
				t.Errorf("invoice total %d paid %d subtotal %d line %d, want %d", inv.Total, inv.AmountPaid, inv.Subtotal, inv.Lines[0].Amount, tc.record)
			}
		})
	}
	h.spec.check(t)
}

func mustFetch(t *testing.T, h *harness, typ, id string) *record.Batch {
	t.Helper()
	b, err := h.c.Fetch(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("fetch %s %s: %v", typ, id, err)
	}
	return b
}

func TestAmountRounding(t *testing.T) {
	for _, tc := range []struct {
		cur     string
		v, want int64
		decimal string
	}{
		{"ISK", 149, 1, ""}, {"ISK", 150, 2, ""}, {"ISK", -150, -2, ""}, {"ISK", -149, -1, ""},
		{"MGA", 7, 700, ""}, {"USD", 7, 7, ""},
		{"ISK", 0, 3, "250.5"}, {"MGA", 0, 1250, "12.5"}, {"USD", 0, 13, "12.5"},
	} {
		var got int64
		if tc.decimal == "" {
			got = minor(tc.cur, &tc.v, "")
		} else {
			got = minor(tc.cur, nil, tc.decimal)
		}
		if got != tc.want {
			t.Errorf("minor(%s, %d, %q) = %d, want %d", tc.cur, tc.v, tc.decimal, got, tc.want)
		}
	}
}
