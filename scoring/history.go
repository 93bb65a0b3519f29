package scoring

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// avgMonthDays is the length of an average month in days (365/12), used to
// spread invoice lines without an interval, such as prorations.
const avgMonthDays = 365.0 / 12

// histLine is an invoice line prepared for history: its service period and
// its monthly amount in reporting minor units.
type histLine struct {
	sub     int   // index into the subscriptions, -1 when unknown
	fromN   int64 // service period start, Unix nanoseconds
	toN     int64 // service period end, Unix nanoseconds
	monthly float64
	line    *record.InvoiceLine
	inv     *record.Invoice
	mult    float64
}

// mrrCalc computes an account's MRR at any instant: from invoices for
// the past, as subscription analytics tools rebuild history, and from the
// subscriptions' current state for the open month and after.
//
// Rule per subscription and instant t, where the open month is the month
// of the as-of time in the business's time zone (Settings.Location):
//
//  1. When the subscription has invoice lines and t is before its current
//     period start and not before its first invoiced service period, MRR is
//     the sum of its recurring invoice lines whose service period contains
//     t, each normalised to a month (its interval, or for prorations and
//     lines without an interval, amount x (365/12) / period days), less
//     line discounts unless discounts are "none".
//  2. When t is in a closed month (before the open month starts) but in
//     or after the current period, the same sum applies if a recurring
//     line that is not a proration covers t (the current period's invoice,
//     issued at its start, carries the price of that time; a later change's
//     prorations are dated from the change), t is outside a trial (a trial
//     line is 0: the state applies metrics.trials) and the subscription
//     counts at t under the rules (excludedAt: started, not ended, not
//     past due where excluded). A closed month therefore keeps what the
//     subscription was at its end: a change belongs to the month it
//     happened in. Rule 3 applies instead to a subscription with a counted
//     metered item (usage is invoiced after its period, so no line covers
//     the current one yet) and when a non-proration line that starts after
//     the current period start covers t: a change made inside the period
//     before t and invoiced without proration lines, where summing the
//     lines would count both prices (Chargebee bills a mid-term change as
//     a line of the new price from the change date, and a change to a
//     lesser value credits the old one in a credit note: Chargebee docs,
//     "Credit Notes").
//  3. Otherwise the current state applies (SubscriptionMRR).
//
// Lines of subscriptions the account no longer has count whenever their
// period contains t.
//
// Worked example 1 (rule 1): a monthly plan upgraded on 2026-03-16 from
// 10,000 to 20,000 JPY has a March invoice line [03-01, 04-01) of 10,000
// and two proration lines [03-16, 04-01): -5,161 and +10,323. At 2026-03-31
// the lines sum to 10,000 + (-5,161 + 10,323) x 30.42/16 = 19,813, about
// the new price; from the April period on the state gives 20,000.
//
// Worked example 2 (rule 2): a monthly plan of 20,000 JPY billed on the
// 20th is downgraded to 10,000 on 2026-12-06, and the first sync is that
// day. The invoice of 2026-11-20 has a line [11-20, 12-20) of 20,000; the
// prorations are dated [12-06, 12-20). At 2026-11-30 (closed) the line
// gives 20,000; as of 2026-12-06 the state gives 10,000. The contraction
// of 10,000 is in 2026-12, not 2026-11.
//
// Vendor rules (Stripe docs, "Prorations"): licensed prices are billed at
// the start of each billing period, so that invoice's line carries the
// price of that time; a change creates proration lines for the time from
// the change to the period end; metered prices are not prorated (usage is
// billed at the end of its period).
type mrrCalc struct {
	subs     []record.Subscription
	m        *MetricsSettings
	conv     *converter
	lines    []histLine
	earliest []time.Time
	// invoice windows per subscription in Unix nanoseconds: invoices
	// apply at t when invFrom <= t < invTo (rule 1).
	invFrom, invTo []int64
	// openN is when the open month starts (Unix nanoseconds); closed[i]
	// holds the service periods of subscription i's recurring
	// non-proration lines that end after its current period start, for
	// rule 2 (nil: rule 2 never applies to it).
	openN  int64
	closed [][]span
}

// span is a service period [from, to) in Unix nanoseconds; mid marks a
// line that starts after its subscription's current period start.
type span struct {
	from, to int64
	mid      bool
}

// newMRRCalc prepares the invoice lines; open is when the open month
// starts (the month of the as-of time, in the business's time zone).
func newMRRCalc(subs []record.Subscription, invoices []record.Invoice, m *MetricsSettings, conv *converter, open time.Time) *mrrCalc {
	c := &mrrCalc{subs: subs, m: m, conv: conv, openN: math.MinInt64}
	if !open.IsZero() {
		c.openN = open.UnixNano()
	}
	if len(invoices) == 0 {
		return c
	}
	c.earliest = make([]time.Time, len(subs))
	nl := 0
	for i := range invoices {
		nl += len(invoices[i].Lines)
	}
	c.lines = make([]histLine, 0, nl)
	for i := range invoices {
		inv := &invoices[i]
		if inv.Deleted || inv.Status == record.InvoiceVoid || inv.Status == record.InvoiceDraft {
			continue
		}
		for j := range inv.Lines {
			l := &inv.Lines[j]
			if !l.Recurring && l.Interval == "" {
				continue
			}
			if l.PeriodStart.IsZero() || !l.PeriodEnd.After(l.PeriodStart) {
				continue
			}
			if l.UsageType == record.UsageMetered && m.Metered == MeteredNone {
				continue
			}
			subID := l.SubscriptionID
			if subID == "" {
				subID = inv.SubscriptionID
			}
			idx := -1
			for k := range subs {
				if subs[k].ID == subID {
					idx = k
					break
				}
			}
			cur := l.Currency
			if cur == "" {
				cur = inv.Currency
			}
			mult, ok := conv.multiplier(cur)
			if !ok {
				continue
			}
			amount := float64(l.Amount)
			if m.Discounts != DiscountsNone {
				amount -= float64(l.DiscountAmount)
			}
			var monthly float64
			if l.Interval != "" && !l.Proration {
				num, den := monthlyFactor(l.Interval, l.IntervalCount)
				monthly = amount * num / den
			} else {
				days := l.PeriodEnd.Sub(l.PeriodStart).Hours() / 24
				monthly = amount * avgMonthDays / days
			}
			c.lines = append(c.lines, histLine{sub: idx, fromN: l.PeriodStart.UnixNano(), toN: l.PeriodEnd.UnixNano(),
				monthly: monthly, line: l, inv: inv, mult: mult})
			if idx >= 0 && (c.earliest[idx].IsZero() || l.PeriodStart.Before(c.earliest[idx])) {
				c.earliest[idx] = l.PeriodStart
			}
		}
	}
	c.invFrom = make([]int64, 2*len(subs))
	c.invTo = c.invFrom[len(subs):]
	c.invFrom = c.invFrom[:len(subs)]
	for i := range subs {
		c.invFrom[i], c.invTo[i] = math.MaxInt64, math.MinInt64
		if !c.earliest[i].IsZero() && !subs[i].CurrentPeriodStart.IsZero() {
			c.invFrom[i], c.invTo[i] = c.earliest[i].UnixNano(), subs[i].CurrentPeriodStart.UnixNano()
		}
	}
	c.closed = make([][]span, len(subs))
	for k := range c.lines {
		hl := &c.lines[k]
		if hl.sub < 0 || hl.line.Proration || hl.toN <= c.invTo[hl.sub] || hasMetered(&subs[hl.sub], m) {
			continue
		}
		c.closed[hl.sub] = append(c.closed[hl.sub], span{hl.fromN, hl.toN, hl.fromN > c.invTo[hl.sub]})
	}
	return c
}

// hasMetered reports whether a subscription has a metered item that
// counts under the rules.
func hasMetered(sub *record.Subscription, m *MetricsSettings) bool {
	if m.Metered == MeteredNone {
		return false
	}
	for i := range sub.Items {
		if sub.Items[i].UsageType == record.UsageMetered && (sub.Items[i].Recurring || sub.Items[i].Interval != "") {
			return true
		}
	}
	return false
}

// series sets vals[k] to the MRR at instants[k], exactly as at(instants[k],
// nil) would, with the invoice lines visited once instead of per instant.
// instants must be increasing.
func (c *mrrCalc) series(instants []time.Time, vals []int64) {
	n := len(instants)
	sc := seriesPool.Get().(*seriesScratch)
	defer seriesPool.Put(sc)
	if cap(sc.ns) < n {
		sc.ns, sc.hist = make([]int64, n), make([]float64, n)
	}
	buf, hist := sc.ns[:n], sc.hist[:n]
	clear(hist)
	for k, t := range instants {
		buf[k] = t.UnixNano()
	}
	// use[i*n+k]: subscription i takes its invoice lines at instants[k].
	var use []bool
	if c.invFrom != nil {
		if cap(sc.use) < len(c.subs)*n {
			sc.use = make([]bool, len(c.subs)*n)
		}
		use = sc.use[:len(c.subs)*n]
		for i := range c.subs {
			for k, t := range instants {
				use[i*n+k] = c.useInvoicesN(i, t, buf[k])
			}
		}
	}
	for li := range c.lines {
		hl := &c.lines[li]
		k := sort.Search(n, func(k int) bool { return buf[k] >= hl.fromN })
		for ; k < n && buf[k] < hl.toN; k++ {
			if hl.sub < 0 || use[hl.sub*n+k] {
				hist[k] += hl.monthly * hl.mult
			}
		}
	}
	for k, t := range instants {
		var total int64
		for i := range c.subs {
			if use != nil && use[i*n+k] {
				continue
			}
			total += SubscriptionMRR(&c.subs[i], t, c.m, c.conv, nil)
		}
		h := hist[k]
		if h < 0 {
			h = 0
		}
		vals[k] = total + roundInt(h)
	}
}

type seriesScratch struct {
	ns   []int64
	hist []float64
	use  []bool
}

var seriesPool = sync.Pool{New: func() any { return new(seriesScratch) }}

// at returns the account's MRR at t in reporting minor units, appending the
// computation to ledger when it is non-nil.
func (c *mrrCalc) at(t time.Time, ledger *[]LedgerLine) int64 {
	var total int64
	for i := range c.subs {
		sub := &c.subs[i]
		if c.useInvoices(i, t) {
			continue
		}
		total += SubscriptionMRR(sub, t, c.m, c.conv, ledger)
	}
	if len(c.lines) == 0 {
		return total
	}
	var hist float64
	for k := range c.lines {
		hl := &c.lines[k]
		if hl.sub >= 0 && !c.useInvoices(hl.sub, t) {
			continue
		}
		if tn := t.UnixNano(); tn < hl.fromN || tn >= hl.toN {
			continue
		}
		hist += hl.monthly * hl.mult
		if ledger != nil {
			key := record.Ref{System: hl.inv.System, ID: hl.line.SubscriptionID}.Key()
			if hl.sub >= 0 {
				key = c.subs[hl.sub].Key()
			}
			*ledger = append(*ledger, LedgerLine{Subscription: key, Item: hl.line.ID, Kind: LedgerInvoiceLine,
				Detail: lineDetail(hl), Currency: hl.line.Currency, Amount: roundInt(hl.monthly), Rate: hl.mult,
				Converted: roundInt(hl.monthly * hl.mult)})
		}
	}
	if hist < 0 {
		hist = 0
	}
	return total + roundInt(hist)
}

// useInvoices reports whether subscription i's MRR at t comes from its
// invoice lines (rules 1 and 2) rather than its state.
func (c *mrrCalc) useInvoices(i int, t time.Time) bool {
	if c.invFrom == nil {
		return false
	}
	return c.useInvoicesN(i, t, t.UnixNano())
}

// useInvoicesN is useInvoices with t also as Unix nanoseconds n.
func (c *mrrCalc) useInvoicesN(i int, t time.Time, n int64) bool {
	if n < c.invFrom[i] {
		return false
	}
	if n < c.invTo[i] {
		return true // rule 1
	}
	if n >= c.openN || len(c.closed[i]) == 0 {
		return false
	}
	covered := false
	for _, sp := range c.closed[i] {
		if sp.from <= n && n < sp.to {
			if sp.mid {
				return false // a mid-period change not marked as a proration
			}
			covered = true
		}
	}
	if !covered {
		return false
	}
	sub := &c.subs[i]
	if !sub.TrialEnd.IsZero() && !t.Before(sub.TrialStart) && t.Before(sub.TrialEnd) {
		return false // a trial line is 0: the state decides (metrics.trials)
	}
	return excludedAt(sub, t, c.m) == counts // rule 2
}

func lineDetail(hl *histLine) string {
	what := "invoice " + hl.inv.Number
	if hl.inv.Number == "" {
		what = "invoice " + hl.inv.ID
	}
	kind := "recurring"
	if hl.line.Proration {
		kind = "proration"
	}
	return fmt.Sprintf("%s %s line %s to %s", what, kind,
		hl.line.PeriodStart.UTC().Format("2006-01-02"), hl.line.PeriodEnd.UTC().Format("2006-01-02"))
}
