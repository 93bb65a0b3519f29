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

// mrrCalc computes an account's MRR at any instant: from the subscriptions'
// current state for the current period and after, and from invoices before
// that, as subscription analytics tools rebuild history.
//
// Rule per subscription and instant t: when the subscription has invoice
// lines and t is before its current period start and not before its first
// invoiced service period, MRR is the sum of its recurring invoice lines
// whose service period contains t, each normalised to a month (its interval,
// or for prorations and lines without an interval, amount x (365/12) /
// period days), less line discounts unless discounts are "none". Otherwise
// the current state applies (SubscriptionMRR). Lines of subscriptions the
// account no longer has count whenever their period contains t.
//
// Worked example: a monthly plan upgraded on 2026-03-16 from 10,000 to
// 20,000 JPY has a March invoice line [03-01, 04-01) of 10,000 and two
// proration lines [03-16, 04-01): -5,161 and +10,323. At 2026-03-31 the
// lines sum to 10,000 + (-5,161 + 10,323) x 30.42/16 = 19,813, about the new
// price; from the April period on the state gives 20,000.
type mrrCalc struct {
	subs     []record.Subscription
	m        *MetricsSettings
	conv     *converter
	lines    []histLine
	earliest []time.Time
	// invoice windows per subscription in Unix nanoseconds: invoices
	// apply at t when invFrom <= t < invTo.
	invFrom, invTo []int64
}

func newMRRCalc(subs []record.Subscription, invoices []record.Invoice, m *MetricsSettings, conv *converter) *mrrCalc {
	c := &mrrCalc{subs: subs, m: m, conv: conv}
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
	return c
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
	for li := range c.lines {
		hl := &c.lines[li]
		k := sort.Search(n, func(k int) bool { return buf[k] >= hl.fromN })
		for ; k < n && buf[k] < hl.toN; k++ {
			if hl.sub < 0 || (c.invFrom[hl.sub] <= buf[k] && buf[k] < c.invTo[hl.sub]) {
				hist[k] += hl.monthly * hl.mult
			}
		}
	}
	for k, t := range instants {
		var total int64
		for i := range c.subs {
			if c.invFrom != nil && c.invFrom[i] <= buf[k] && buf[k] < c.invTo[i] {
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

func (c *mrrCalc) useInvoices(i int, t time.Time) bool {
	if c.invFrom == nil {
		return false
	}
	n := t.UnixNano()
	return c.invFrom[i] <= n && n < c.invTo[i]
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
