package scoring

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// LedgerLine is one line of the explanation of an account's MRR in a month:
// an item or invoice line that contributed, a discount applied, or a
// subscription that did not count and why.
type LedgerLine struct {
	Subscription string  `json:"subscription"`       // subscription ref key, e.g. "stripe/sub_1"
	Item         string  `json:"item,omitempty"`     // item or invoice line ID
	Kind         string  `json:"kind"`               // item, discount, invoice_line, recorded, excluded
	Detail       string  `json:"detail"`             // human-readable computation
	Currency     string  `json:"currency,omitempty"` // of Amount
	Amount       int64   `json:"amount"`             // monthly, minor units of Currency (negative for discounts)
	Rate         float64 `json:"rate,omitempty"`     // minor-unit multiplier to the reporting currency
	Converted    int64   `json:"converted"`          // monthly, minor units of the reporting currency
}

// Ledger kinds.
const (
	LedgerItem        = "item"
	LedgerDiscount    = "discount"
	LedgerInvoiceLine = "invoice_line"
	LedgerRecorded    = "recorded"
	LedgerExcluded    = "excluded"
)

// monthlyFactor returns num/den such that amount per interval x num/den is
// the amount per month: month /count, year /(12 count), week x 52/(12 count),
// day x 365/(12 count). Example: 120,000 JPY a year is 10,000 JPY a month;
// 700 a week is 700 x 52/12 = 3,033.33 a month.
func monthlyFactor(interval string, count int) (num, den float64) {
	if count < 1 {
		count = 1
	}
	c := float64(count)
	switch interval {
	case "year":
		return 1, 12 * c
	case "quarter":
		return 1, 3 * c
	case "week":
		return 52, 12 * c
	case "day":
		return 365, 12 * c
	default:
		return 1, c
	}
}

// ItemAmount returns an item's amount per billing interval in minor units of
// its currency, before discounts, for quantity q. Tiered prices:
//
//   - volume: every unit at the price of the tier the total falls in, plus
//     that tier's flat amount. Tiers {up_to 10: 1,000}, {inf: 800}: 12 units
//     cost 12 x 800 = 9,600.
//   - graduated: each unit at its own tier's price, plus the flat amount of
//     every tier reached. Same tiers, 12 units: 10 x 1,000 + 2 x 800 = 11,600.
func ItemAmount(it *record.Item, q int64) int64 {
	if it.BillingScheme != record.SchemeTiered || len(it.Tiers) == 0 {
		return it.UnitAmount * q
	}
	if q <= 0 {
		return 0
	}
	if it.TiersMode == record.TiersVolume {
		for _, t := range it.Tiers {
			if t.UpTo == 0 || q <= t.UpTo {
				return q*t.UnitAmount + t.FlatAmount
			}
		}
		last := it.Tiers[len(it.Tiers)-1]
		return q*last.UnitAmount + last.FlatAmount
	}
	var total, prev int64
	for _, t := range it.Tiers {
		upper := t.UpTo
		if upper == 0 || upper > q {
			upper = q
		}
		if upper > prev {
			total += (upper-prev)*t.UnitAmount + t.FlatAmount
			prev = upper
		}
		if prev >= q {
			break
		}
	}
	return total
}

// countingEnd returns when a subscription stops counting under the rules
// (zero: it does not end). A subscription canceled at period end stops at
// the period end with the period_end rule, or when the cancellation was
// requested with the immediately rule.
func countingEnd(sub *record.Subscription, m *MetricsSettings) time.Time {
	if !sub.EndedAt.IsZero() {
		return sub.EndedAt
	}
	atPeriodEnd := sub.CancelAtPeriodEnd || sub.Status == record.StatusNonRenewing
	if atPeriodEnd {
		if m.CancelAtPeriodEnd == CancelImmediately && !sub.CanceledAt.IsZero() {
			return sub.CanceledAt
		}
		if !sub.CancelAt.IsZero() {
			return sub.CancelAt
		}
		if !sub.CurrentPeriodEnd.IsZero() {
			return sub.CurrentPeriodEnd
		}
	}
	if !sub.CancelAt.IsZero() {
		if m.CancelAtPeriodEnd == CancelImmediately && !sub.CanceledAt.IsZero() {
			return sub.CanceledAt
		}
		return sub.CancelAt
	}
	if sub.Status == record.StatusCanceled || sub.Status == record.StatusIncompleteExpired {
		if !sub.CanceledAt.IsZero() {
			return sub.CanceledAt
		}
		if !sub.CurrentPeriodEnd.IsZero() {
			return sub.CurrentPeriodEnd
		}
		return sub.StartDate // never counted
	}
	return time.Time{}
}

func subStart(sub *record.Subscription) time.Time {
	if !sub.StartDate.IsZero() {
		return sub.StartDate
	}
	return sub.Created
}

// Reasons a subscription does not count at an instant.
type exclusion uint8

const (
	counts exclusion = iota
	exDeleted
	exNotStarted
	exCanceled
	exEnded
	exIncomplete
	exTrial
	exPastDue
	exUnpaid
	exPaused
)

// excludedAt reports why a subscription does not count at t (counts when
// it does). The current status (past_due, unpaid, paused) applies from the
// current period start; trials apply between TrialStart and TrialEnd.
func excludedAt(sub *record.Subscription, t time.Time, m *MetricsSettings) exclusion {
	if sub.Deleted {
		return exDeleted
	}
	start := subStart(sub)
	if start.IsZero() || t.Before(start) {
		return exNotStarted
	}
	if end := countingEnd(sub, m); !end.IsZero() && !t.Before(end) {
		if sub.CancelAtPeriodEnd || sub.Status == record.StatusNonRenewing || !sub.CancelAt.IsZero() {
			return exCanceled
		}
		return exEnded
	}
	if sub.Status == record.StatusIncomplete || sub.Status == record.StatusIncompleteExpired {
		return exIncomplete
	}
	if m.Trials != Include {
		if !sub.TrialEnd.IsZero() && t.Before(sub.TrialEnd) && !t.Before(sub.TrialStart) {
			return exTrial
		}
		if sub.Status == record.StatusTrialing && sub.TrialEnd.IsZero() {
			return exTrial
		}
	}
	if sub.Status == record.StatusPastDue || sub.Status == record.StatusUnpaid || sub.Status == record.StatusPaused {
		if sub.CurrentPeriodStart.IsZero() || !t.Before(sub.CurrentPeriodStart) {
			switch {
			case sub.Status == record.StatusPastDue && m.PastDue == Exclude:
				return exPastDue
			case sub.Status == record.StatusUnpaid && m.Unpaid != Include:
				return exUnpaid
			case sub.Status == record.StatusPaused && m.Paused != Include:
				return exPaused
			}
		}
	}
	return counts
}

// exclusionText explains an exclusion for the ledger.
func exclusionText(e exclusion, sub *record.Subscription, m *MetricsSettings) string {
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	switch e {
	case exDeleted:
		return "deleted"
	case exNotStarted:
		return "not started"
	case exCanceled:
		return "canceled (counts until " + day(countingEnd(sub, m)) + ")"
	case exEnded:
		return "ended " + day(countingEnd(sub, m))
	case exIncomplete:
		return "incomplete: first payment never succeeded"
	case exTrial:
		if sub.TrialEnd.IsZero() {
			return "in trial"
		}
		return "in trial until " + day(sub.TrialEnd)
	case exPastDue:
		return "past due"
	case exUnpaid:
		return "unpaid"
	case exPaused:
		return "paused"
	}
	return ""
}

// billingPeriodStart returns the start of the billing period of sub that
// contains t, anchored on the current period start (or the start date) and
// stepping by the interval of its first recurring item.
func billingPeriodStart(sub *record.Subscription, interval string, count int, t time.Time) time.Time {
	anchor := sub.CurrentPeriodStart
	if anchor.IsZero() {
		anchor = subStart(sub)
	}
	if anchor.IsZero() {
		return t
	}
	if count < 1 {
		count = 1
	}
	switch interval {
	case "day", "week":
		step := 24 * time.Hour * time.Duration(count)
		if interval == "week" {
			step *= 7
		}
		d := t.Sub(anchor)
		n := d / step
		if d < 0 && d%step != 0 {
			n--
		}
		return anchor.Add(n * step)
	}
	months := count
	if interval == "year" {
		months = 12 * count
	} else if interval == "quarter" {
		months = 3 * count
	}
	// whole months between anchor and t, then adjust
	diff := (t.Year()-anchor.Year())*12 + int(t.Month()) - int(anchor.Month())
	n := diff / months
	if diff < 0 && diff%months != 0 {
		n--
	}
	p := anchor.AddDate(0, n*months, 0)
	for p.After(t) {
		n--
		p = anchor.AddDate(0, n*months, 0)
	}
	for {
		next := anchor.AddDate(0, (n+1)*months, 0)
		if next.After(t) {
			return p
		}
		n++
		p = next
	}
}

// discountEnd is when a discount stops applying: its End, or Start plus
// DurationInMonths for repeating, or one billing period for once.
func discountEnd(d *record.Discount, interval string, count int) time.Time {
	if !d.End.IsZero() {
		return d.End
	}
	switch d.Duration {
	case record.DurationRepeating:
		if d.DurationInMonths > 0 && !d.Start.IsZero() {
			return d.Start.AddDate(0, d.DurationInMonths, 0)
		}
	case record.DurationOnce:
		if !d.Start.IsZero() {
			switch interval {
			case "day":
				return d.Start.AddDate(0, 0, count)
			case "week":
				return d.Start.AddDate(0, 0, 7*count)
			case "year":
				return d.Start.AddDate(count, 0, 0)
			default:
				return d.Start.AddDate(0, count, 0)
			}
		}
	}
	return time.Time{}
}

// discountApplies: a discount counts at t when the rules allow its duration
// and it was active at the start of the billing period containing t, since
// that is when the invoice it reduces was issued. Worked example: an annual
// plan starting 2025-01-01 with a 3-month 20% coupon has its 2025 invoice
// discounted, so MRR is reduced for all of 2025 and not from 2026-01-01.
// A discount marked ExcludedFromMRR by its vendor never counts.
func discountApplies(d *record.Discount, periodStart time.Time, interval string, count int, m *MetricsSettings) bool {
	if d.ExcludedFromMRR {
		return false
	}
	switch m.Discounts {
	case DiscountsNone:
		return false
	case DiscountsForeverOnly:
		if d.Duration != record.DurationForever {
			return false
		}
	}
	if !d.Start.IsZero() && periodStart.Before(d.Start) {
		return false
	}
	if end := discountEnd(d, interval, count); !end.IsZero() && !periodStart.Before(end) {
		return false
	}
	return true
}

// applyDiscount reduces a monthly amount (minor units of cur) by d, where
// amount-off is per billing period of interval/count. It returns the
// (positive) reduction, never more than amount.
func applyDiscount(d *record.Discount, amount float64, cur, interval string, count int, conv *converter) float64 {
	var off float64
	if d.PercentOff > 0 {
		off = amount * d.PercentOff / 100
	} else if d.AmountOff > 0 {
		num, den := monthlyFactor(interval, count)
		off = float64(d.AmountOff) * num / den
		if d.Currency != "" && !strings.EqualFold(d.Currency, cur) {
			// amount_off in another currency: convert via the reporting currency
			m1, ok1 := conv.multiplier(d.Currency)
			m2, ok2 := conv.multiplier(cur)
			if ok1 && ok2 && m2 > 0 {
				off = off * m1 / m2
			}
		}
	}
	if off > amount {
		off = amount
	}
	if off < 0 {
		off = 0
	}
	return off
}

// mainInterval is the billing interval of a subscription's first recurring
// item (month when it has none).
func mainInterval(sub *record.Subscription) (string, int) {
	for i := range sub.Items {
		if sub.Items[i].Recurring || sub.Items[i].Interval != "" {
			return sub.Items[i].Interval, sub.Items[i].IntervalCount
		}
	}
	return "month", 1
}

// SubscriptionMRR is the MRR of a subscription as of t from its current
// state, in minor units of the reporting currency: the sum over recurring
// items of amount per interval (unit amount x (quantity - free quantity),
// or tiers over the charged quantity) normalised
// to a month, less the discounts that apply, converted. Taxes and one-time
// items never count. When ledger is non-nil the computation is appended.
//
// Worked example (JPY reporting, USD = 150): a monthly item of 2 seats at
// 49.00 USD is 9,800 cents = 14,700 JPY of MRR; with a forever 10% coupon it
// is 13,230 JPY.
func SubscriptionMRR(sub *record.Subscription, t time.Time, m *MetricsSettings, conv *converter, ledger *[]LedgerLine) int64 {
	if why := excludedAt(sub, t, m); why != counts {
		if ledger != nil {
			*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Kind: LedgerExcluded, Detail: exclusionText(why, sub, m), Currency: sub.Currency})
		}
		return 0
	}
	mainIv, mainCount := mainInterval(sub)
	var periodStart time.Time
	if len(sub.Discounts) > 0 {
		periodStart = billingPeriodStart(sub, mainIv, mainCount, t)
	}
	var total float64 // reporting minor units
	for i := range sub.Items {
		it := &sub.Items[i]
		if !it.Recurring && it.Interval == "" {
			continue
		}
		cur := it.Currency
		if cur == "" {
			cur = sub.Currency
		}
		q := max(it.Quantity-it.FreeQuantity, 0) // free units are never charged
		metered := it.UsageType == record.UsageMetered
		if metered {
			if m.Metered == MeteredNone {
				if ledger != nil {
					*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Item: it.ID, Kind: LedgerExcluded,
						Detail: "metered price not counted (metered: none)", Currency: cur})
				}
				continue
			}
			q = it.LastPeriodUsage
		}
		amount := ItemAmount(it, q)
		num, den := monthlyFactor(it.Interval, it.IntervalCount)
		monthly := float64(amount) * num / den
		var ips time.Time
		if len(it.Discounts) > 0 {
			ips = billingPeriodStart(sub, it.Interval, it.IntervalCount, t)
		}
		mult, ok := conv.multiplier(cur)
		if !ok {
			if ledger != nil {
				*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Item: it.ID, Kind: LedgerExcluded,
					Detail: "no FX rate for " + strings.ToUpper(cur), Currency: cur, Amount: roundInt(monthly)})
			}
			continue
		}
		if ledger != nil {
			*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Item: it.ID, Kind: LedgerItem,
				Detail: itemDetail(it, q, amount, cur, metered), Currency: cur, Amount: roundInt(monthly), Rate: mult,
				Converted: roundInt(monthly * mult)})
		}
		for j := range it.Discounts {
			d := &it.Discounts[j]
			if !discountApplies(d, ips, it.Interval, it.IntervalCount, m) {
				continue
			}
			off := applyDiscount(d, monthly, cur, it.Interval, it.IntervalCount, conv)
			monthly -= off
			if ledger != nil {
				*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Item: it.ID, Kind: LedgerDiscount,
					Detail: discountDetail(d), Currency: cur, Amount: -roundInt(off), Rate: mult, Converted: -roundInt(off * mult)})
			}
		}
		total += monthly * mult
	}
	for j := range sub.Discounts {
		d := &sub.Discounts[j]
		if total <= 0 || !discountApplies(d, periodStart, mainIv, mainCount, m) {
			continue
		}
		mult, _ := conv.multiplier(sub.Currency)
		if mult == 0 {
			mult = 1
		}
		// work in the subscription currency for amount-off, then convert
		off := applyDiscount(d, total/mult, sub.Currency, mainIv, mainCount, conv) * mult
		total -= off
		if ledger != nil {
			*ledger = append(*ledger, LedgerLine{Subscription: sub.Key(), Kind: LedgerDiscount, Detail: discountDetail(d),
				Currency: sub.Currency, Amount: -roundInt(off / mult), Rate: mult, Converted: -roundInt(off)})
		}
	}
	if total < 0 {
		total = 0
	}
	return roundInt(total)
}

func itemDetail(it *record.Item, q, amount int64, cur string, metered bool) string {
	per := it.Interval
	if it.IntervalCount > 1 {
		per = strconv.Itoa(it.IntervalCount) + " " + it.Interval + "s"
	}
	what := strconv.FormatInt(q, 10) + " x " + FormatMoney(it.UnitAmount, cur)
	if it.BillingScheme == record.SchemeTiered {
		what = strconv.FormatInt(q, 10) + " units, " + it.TiersMode + " tiers = " + FormatMoney(amount, cur)
	}
	if metered {
		what += " (last period's usage)"
	}
	return what + " per " + per
}

func discountDetail(d *record.Discount) string {
	what := ""
	if d.PercentOff > 0 {
		what = fmt.Sprintf("%g%% off", d.PercentOff)
	} else {
		what = FormatMoney(d.AmountOff, d.Currency) + " off"
	}
	dur := d.Duration
	if d.Duration == record.DurationRepeating {
		dur = fmt.Sprintf("%d months", d.DurationInMonths)
	}
	id := d.CouponID
	if id == "" {
		id = d.ID
	}
	return fmt.Sprintf("coupon %s: %s (%s)", id, what, dur)
}
