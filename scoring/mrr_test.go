package scoring

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func monthly(unit, qty int64, cur string) record.Item {
	return record.Item{ID: "si_1", Currency: cur, UnitAmount: unit, Quantity: qty, Interval: "month", IntervalCount: 1, Recurring: true}
}

func activeSub(cur string, items ...record.Item) record.Subscription {
	return record.Subscription{
		Ref: record.Ref{System: record.Stripe, ID: "sub_1"}, Status: record.StatusActive, Currency: cur, Items: items,
		StartDate: date(2025, 1, 1), CurrentPeriodStart: date(2026, 11, 1), CurrentPeriodEnd: date(2026, 12, 1),
	}
}

func metrics(preset string) MetricsSettings {
	s := Settings{Metrics: MetricsSettings{Preset: preset}}
	s.ApplyDefaults()
	return s.Metrics
}

func TestSubscriptionMRR(t *testing.T) {
	fx := map[string]float64{"USD": 150, "EUR": 160, "KWD": 480}
	asOf := date(2026, 11, 20)
	tiers := []record.Tier{{UpTo: 10, UnitAmount: 1000}, {UpTo: 0, UnitAmount: 800}}

	annual := activeSub("JPY", record.Item{ID: "si_y", Currency: "JPY", UnitAmount: 120000, Quantity: 1, Interval: "year", IntervalCount: 1, Recurring: true})
	annual.StartDate, annual.CurrentPeriodStart, annual.CurrentPeriodEnd = date(2026, 3, 1), date(2026, 3, 1), date(2027, 3, 1)
	annual.Discounts = []record.Discount{{CouponID: "SPRING20", PercentOff: 20, Duration: record.DurationRepeating, DurationInMonths: 3, Start: date(2026, 3, 1)}}

	cape := activeSub("JPY", monthly(30000, 1, "JPY"))
	cape.CancelAtPeriodEnd, cape.CanceledAt = true, date(2026, 11, 10)

	trial := activeSub("JPY", monthly(10000, 1, "JPY"))
	trial.Status, trial.TrialStart, trial.TrialEnd = record.StatusTrialing, date(2026, 11, 10), date(2026, 11, 24)

	pastDue := activeSub("JPY", monthly(10000, 1, "JPY"))
	pastDue.Status = record.StatusPastDue
	unpaid := activeSub("JPY", monthly(10000, 1, "JPY"))
	unpaid.Status = record.StatusUnpaid

	metered := monthly(20, 0, "JPY")
	metered.UsageType, metered.LastPeriodUsage = record.UsageMetered, 1500
	oneTime := record.Item{ID: "si_setup", Currency: "JPY", UnitAmount: 50000, Quantity: 1}

	onceOff := activeSub("USD", monthly(10000, 1, "USD"))
	onceOff.Discounts = []record.Discount{{CouponID: "WELCOME", AmountOff: 2500, Currency: "USD", Duration: record.DurationOnce, Start: date(2026, 11, 1)}}
	foreverPct := activeSub("USD", monthly(4900, 2, "USD"))
	foreverPct.Discounts = []record.Discount{{CouponID: "PARTNER", PercentOff: 10, Duration: record.DurationForever, Start: date(2025, 1, 1)}}
	// Chargebee one-time coupon the site leaves out of MRR (included_in_mrr
	// false): 100.00 USD a month stays 100 x 150 = 15,000 JPY in its period.
	onceExcluded := activeSub("USD", monthly(10000, 1, "USD"))
	onceExcluded.Discounts = []record.Discount{{CouponID: "WELCOME", AmountOff: 2500, Currency: "USD", Duration: record.DurationOnce, Start: date(2026, 11, 1), ExcludedFromMRR: true}}
	// Chargebee free_quantity: 5 seats at 10.00 USD with 2 free charge
	// (5 - 2) x 1,000 = 3,000 cents = 30 USD x 150 = 4,500 JPY (not 7,500).
	freeSeats := monthly(1000, 5, "USD")
	freeSeats.FreeQuantity = 2
	// More free units than seats charge nothing: max(2 - 3, 0) = 0, so only
	// a second 1-seat 10.00 USD item counts: 1,000 cents = 1,500 JPY.
	allFree := monthly(1000, 2, "USD")
	allFree.FreeQuantity = 3
	bigOff := activeSub("JPY", monthly(1000, 1, "JPY"))
	bigOff.Discounts = []record.Discount{{AmountOff: 5000, Currency: "JPY", Duration: record.DurationForever}}

	tests := []struct {
		name   string
		sub    record.Subscription
		at     time.Time
		preset string
		want   int64
	}{
		{"JPY zero-decimal monthly", activeSub("JPY", monthly(5000, 3, "JPY")), asOf, "", 15000},
		{"USD converted to JPY", activeSub("USD", monthly(4900, 2, "USD")), asOf, "", 14700},
		{"USD with forever 10% coupon", foreverPct, asOf, "", 13230},
		{"KWD three-decimal", activeSub("KWD", monthly(10500, 1, "KWD")), asOf, "", 5040},
		{"annual plan normalised /12", activeSub("JPY", record.Item{Currency: "JPY", UnitAmount: 120000, Quantity: 1, Interval: "year", IntervalCount: 1, Recurring: true}), asOf, "", 10000},
		{"quarterly via 3 months", activeSub("JPY", record.Item{Currency: "JPY", UnitAmount: 30000, Quantity: 1, Interval: "month", IntervalCount: 3, Recurring: true}), asOf, "", 10000},
		{"weekly x 52/12", activeSub("JPY", record.Item{Currency: "JPY", UnitAmount: 1200, Quantity: 1, Interval: "week", IntervalCount: 1, Recurring: true}), asOf, "", 5200},
		{"daily x 365/12", activeSub("JPY", record.Item{Currency: "JPY", UnitAmount: 120, Quantity: 1, Interval: "day", IntervalCount: 1, Recurring: true}), asOf, "", 3650},
		{"annual 3-month 20% coupon discounts the whole first year", annual, date(2026, 11, 30), "", 8000},
		{"annual coupon gone in the second year", annual, date(2027, 3, 15), "", 10000},
		{"annual coupon ignored by the stripe preset (not forever)", annual, date(2026, 4, 15), PresetStripe, 10000},
		{"annual coupon ignored when discounts none", annual, date(2026, 4, 15), "none-discounts", 10000},
		{"cancel at period end counts until the period end", cape, date(2026, 11, 30), "", 30000},
		{"cancel at period end stops at the period end", cape, date(2026, 12, 1), "", 0},
		{"stripe preset stops at the click", cape, date(2026, 11, 15), PresetStripe, 0},
		{"stripe preset before the click", cape, date(2026, 11, 5), PresetStripe, 30000},
		{"trial does not count", trial, asOf, "", 0},
		{"trial ends then counts", trial, date(2026, 11, 25), "", 10000},
		{"trial counts when included", trial, asOf, "trials-include", 10000},
		{"past due counts", pastDue, asOf, "", 10000},
		{"unpaid does not count", unpaid, asOf, "", 0},
		{"volume tiers", activeSub("JPY", record.Item{Currency: "JPY", Quantity: 12, Interval: "month", IntervalCount: 1, Recurring: true, BillingScheme: record.SchemeTiered, TiersMode: record.TiersVolume, Tiers: tiers}), asOf, "", 9600},
		{"graduated tiers", activeSub("JPY", record.Item{Currency: "JPY", Quantity: 12, Interval: "month", IntervalCount: 1, Recurring: true, BillingScheme: record.SchemeTiered, TiersMode: record.TiersGraduated, Tiers: tiers}), asOf, "", 11600},
		{"graduated tiers with flat amounts", activeSub("JPY", record.Item{Currency: "JPY", Quantity: 5, Interval: "month", IntervalCount: 1, Recurring: true, BillingScheme: record.SchemeTiered, TiersMode: record.TiersGraduated,
			Tiers: []record.Tier{{UpTo: 2, FlatAmount: 3000}, {UpTo: 0, UnitAmount: 500, FlatAmount: 100}}}), asOf, "", 4600},
		{"metered counts last period usage", activeSub("JPY", metered), asOf, "", 30000},
		{"metered not counted with none", activeSub("JPY", metered), asOf, "metered-none", 0},
		{"one-time item never counts", activeSub("JPY", monthly(1000, 1, "JPY"), oneTime), asOf, "", 1000},
		{"once amount-off in its period", onceOff, asOf, "", 11250},
		{"once amount-off gone next period", onceOff, date(2026, 12, 5), "", 15000},
		{"amount off larger than the price floors at zero", bigOff, asOf, "", 0},
		{"once discount excluded from MRR by the vendor", onceExcluded, asOf, "", 15000},
		{"free quantity is not charged", activeSub("USD", freeSeats), asOf, "", 4500},
		{"free quantity above the quantity charges nothing", activeSub("USD", allFree, monthly(1000, 1, "USD")), asOf, "", 1500},
		{"before the start", activeSub("JPY", monthly(1000, 1, "JPY")), date(2024, 12, 31), "", 0},
		{"missing FX rate excluded", activeSub("GBP", monthly(1000, 1, "GBP")), asOf, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m MetricsSettings
			switch tc.preset {
			case "none-discounts":
				m = metrics("")
				m.Discounts = DiscountsNone
			case "trials-include":
				m = metrics("")
				m.Trials = Include
			case "metered-none":
				m = metrics("")
				m.Metered = MeteredNone
			default:
				m = metrics(tc.preset)
			}
			conv := newConverter("JPY", fx)
			var ledger []LedgerLine
			got := SubscriptionMRR(&tc.sub, tc.at, &m, conv, &ledger)
			if got != tc.want {
				t.Errorf("MRR = %d, want %d; ledger %+v", got, tc.want, ledger)
			}
			if len(ledger) == 0 {
				t.Errorf("empty ledger")
			}
			var sum int64
			for _, l := range ledger {
				sum += l.Converted
			}
			if d := sum - got; d > 1 || d < -1 {
				t.Errorf("ledger sums to %d, MRR %d", sum, got)
			}
		})
	}
}

func TestMinorUnits(t *testing.T) {
	for cur, want := range map[string]int{"JPY": 0, "krw": 0, "VND": 0, "CLP": 0, "USD": 2, "EUR": 2, "KWD": 3, "BHD": 3} {
		if got := MinorUnitExponent(cur); got != want {
			t.Errorf("%s: %d, want %d", cur, got, want)
		}
	}
	for _, tc := range []struct {
		minor int64
		cur   string
		want  string
	}{{1234500, "USD", "12,345.00 USD"}, {1234500, "JPY", "1,234,500 JPY"}, {5, "USD", "0.05 USD"}, {-1500, "KWD", "-1.500 KWD"}} {
		if got := FormatMoney(tc.minor, tc.cur); got != tc.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", tc.minor, tc.cur, got, tc.want)
		}
	}
}

func TestMonth(t *testing.T) {
	m := MonthOf(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	if m.String() != "2026-11" || m != MonthFor(2026, time.November) {
		t.Fatalf("month %v", m)
	}
	if got := (m + 2).String(); got != "2027-01" {
		t.Errorf("m+2 = %s", got)
	}
	if got := m.LastInstant(); !got.Equal(date(2026, 12, 1).Add(-time.Nanosecond)) {
		t.Errorf("last instant %v", got)
	}
	var back Month
	if err := back.UnmarshalText([]byte("2026-11")); err != nil || back != m {
		t.Errorf("unmarshal %v %v", back, err)
	}
}

func TestHistoryFromInvoices(t *testing.T) {
	// Monthly plan upgraded on 2026-03-16 from 10,000 to 20,000 JPY; the
	// subscription's current period started 2026-04-01.
	sub := activeSub("JPY", monthly(20000, 1, "JPY"))
	sub.StartDate, sub.CurrentPeriodStart, sub.CurrentPeriodEnd = date(2026, 1, 1), date(2026, 4, 1), date(2026, 5, 1)
	line := func(id string, from, to time.Time, amount int64, proration bool) record.InvoiceLine {
		l := record.InvoiceLine{ID: id, SubscriptionID: "sub_1", Amount: amount, Currency: "JPY", PeriodStart: from, PeriodEnd: to, Recurring: true, Proration: proration}
		if !proration {
			l.Interval, l.IntervalCount = "month", 1
		}
		return l
	}
	invs := []record.Invoice{
		{Ref: record.Ref{System: record.Stripe, ID: "in_1"}, SubscriptionID: "sub_1", Status: record.InvoicePaid, Currency: "JPY",
			Lines: []record.InvoiceLine{line("l1", date(2026, 1, 1), date(2026, 2, 1), 10000, false)}},
		{Ref: record.Ref{System: record.Stripe, ID: "in_2"}, SubscriptionID: "sub_1", Status: record.InvoicePaid, Currency: "JPY",
			Lines: []record.InvoiceLine{line("l2", date(2026, 2, 1), date(2026, 3, 1), 10000, false)}},
		{Ref: record.Ref{System: record.Stripe, ID: "in_3"}, SubscriptionID: "sub_1", Status: record.InvoicePaid, Currency: "JPY",
			Lines: []record.InvoiceLine{
				line("l3", date(2026, 3, 1), date(2026, 4, 1), 10000, false),
				line("l3p-", date(2026, 3, 16), date(2026, 4, 1), -5161, true),
				line("l3p+", date(2026, 3, 16), date(2026, 4, 1), 10323, true),
				{ID: "tax-free setup", Amount: 99999, Currency: "JPY", PeriodStart: date(2026, 3, 1), PeriodEnd: date(2026, 3, 2)},
			}},
		{Ref: record.Ref{System: record.Stripe, ID: "in_v"}, SubscriptionID: "sub_1", Status: record.InvoiceVoid, Currency: "JPY",
			Lines: []record.InvoiceLine{line("lv", date(2026, 2, 1), date(2026, 3, 1), 50000, false)}},
	}
	m := metrics("")
	c := newMRRCalc([]record.Subscription{sub}, invs, &m, newConverter("JPY", nil), MonthFor(2026, 4).Start())
	tests := []struct {
		name  string
		month Month
		want  int64
	}{
		{"before start", MonthFor(2025, 12), 0},
		{"January from invoice", MonthFor(2026, 1), 10000},
		{"February (void invoice ignored)", MonthFor(2026, 2), 10000},
		{"March with prorations spread over their period", MonthFor(2026, 3), 19813},
		{"April from the subscription state", MonthFor(2026, 4), 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.at(tc.month.LastInstant(), nil); got != tc.want {
				t.Errorf("MRR %s = %d, want %d", tc.month, got, tc.want)
			}
		})
	}
}
