package backtest

import (
	"sort"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
)

// history is one account's data prepared for replays at many dates:
// signals sorted by time and invoices by creation, so the part known at a
// date is found by binary search.
//
// With windows set (the replay), at passes each metric the model reads only
// its signals inside the longest window a measure aggregates it over, plus
// the latest older one from the year before the date: aggregations read
// nothing older than their window, and that one signal keeps "the account
// reports this metric" true (a sum or count is then 0, not missing), so the
// score is the one ScoreAccount gives on AsOf's full input, for a tenth of
// the work.
type history struct {
	in       scoring.AccountInput
	sigTimes []int64
	invTimes []int64
	metrics  []metricIndex // with windows
	buf      []record.Signal
	// With windows: each subscription's first invoice (its earliest
	// invoiced period, where invoice history starts for it), and buffers
	// reused from one date to the next.
	firstInv map[int]bool
	invBuf   []record.Invoice
	subBuf   []record.Subscription
}

type metricIndex struct {
	window int64   // nanoseconds
	idx    []int32 // positions in in.Signals, in time order
	times  []int64
}

func newHistory(in scoring.AccountInput, windows map[string]int) *history {
	h := &history{in: in}
	// Sort copies only when out of order: the store returns signals in
	// time order, and a copy of a year of signals per account would be most
	// of a backtest's memory.
	if !sort.SliceIsSorted(in.Signals, func(i, j int) bool { return in.Signals[i].Time.Before(in.Signals[j].Time) }) {
		h.in.Signals = append([]record.Signal(nil), in.Signals...)
		sort.SliceStable(h.in.Signals, func(i, j int) bool { return h.in.Signals[i].Time.Before(h.in.Signals[j].Time) })
	}
	if !sort.SliceIsSorted(in.Invoices, func(i, j int) bool { return in.Invoices[i].Created.Before(in.Invoices[j].Created) }) {
		h.in.Invoices = append([]record.Invoice(nil), in.Invoices...)
		sort.SliceStable(h.in.Invoices, func(i, j int) bool { return h.in.Invoices[i].Created.Before(h.in.Invoices[j].Created) })
	}
	h.invTimes = make([]int64, len(h.in.Invoices))
	for i := range h.in.Invoices {
		h.invTimes[i] = h.in.Invoices[i].Created.UnixNano()
	}
	if windows == nil {
		h.sigTimes = make([]int64, len(h.in.Signals))
		for i := range h.in.Signals {
			h.sigTimes[i] = h.in.Signals[i].Time.UnixNano()
		}
		return h
	}
	names := make([]string, 0, len(windows))
	for m := range windows {
		names = append(names, m)
	}
	sort.Strings(names)
	pos := make(map[string]int, len(names))
	h.metrics = make([]metricIndex, len(names))
	for i, m := range names {
		pos[m] = i
		h.metrics[i].window = int64(windows[m]) * int64(24*time.Hour)
	}
	h.firstInv = map[int]bool{}
	seen := map[string]bool{}
	for i := range h.in.Invoices {
		if id := h.in.Invoices[i].SubscriptionID; !seen[id] {
			seen[id], h.firstInv[i] = true, true
		}
	}
	for i := range h.in.Signals {
		if m, ok := pos[h.in.Signals[i].Metric]; ok {
			mi := &h.metrics[m]
			mi.idx = append(mi.idx, int32(i))
			mi.times = append(mi.times, h.in.Signals[i].Time.UnixNano())
		}
	}
	return h
}

// AsOf returns what healthsync knew about the account at date: only the
// signals timed before date (from the year before it, what the engine
// reads), the invoices created before it, the subscriptions started before
// it as they stood then, the deals as they stood then, and the recorded
// months before it. CRM fields, the onboarding time and the score history
// are dropped: their past values are unknown.
//
// Subscriptions are rolled back: an end, a cancellation or a cancel-at
// request made at or after date is undone (the status becomes active), and
// the current period end steps back by whole billing intervals until the
// period contains date, so days_to_renewal is the one seen then. Worked
// example: a monthly subscription canceled on 2026-05-10 and ended on
// 2026-05-31, current period 2026-05-01 to 06-01, seen at 2026-04-15: active,
// no cancellation, period 2026-04-01 to 05-01.
func AsOf(in scoring.AccountInput, date time.Time) scoring.AccountInput {
	return newHistory(in, nil).at(date)
}

func (h *history) at(date time.Time) scoring.AccountInput {
	d := date.UnixNano()
	year := date.AddDate(-1, 0, 0).UnixNano()
	out := h.in
	out.Account.Fields = nil
	out.ScoreHistory = nil
	out.LastTasks = nil
	out.OnboardedAt = time.Time{}
	out.Explain = false
	if h.metrics == nil {
		lo := sort.Search(len(h.sigTimes), func(i int) bool { return h.sigTimes[i] >= year })
		hi := sort.Search(len(h.sigTimes), func(i int) bool { return h.sigTimes[i] >= d })
		out.Signals = h.in.Signals[lo:max(lo, hi)]
	} else {
		h.buf = h.buf[:0]
		for m := range h.metrics {
			mi := &h.metrics[m]
			hi := sort.Search(len(mi.times), func(i int) bool { return mi.times[i] >= d })
			lo := sort.Search(hi, func(i int) bool { return mi.times[i] > d-mi.window })
			if lo > 0 && mi.times[lo-1] >= year {
				lo-- // the latest older signal: the metric is reported
			}
			for _, i := range mi.idx[lo:hi] {
				h.buf = append(h.buf, h.in.Signals[i])
			}
		}
		out.Signals = h.buf
	}
	n := sort.Search(len(h.invTimes), func(i int) bool { return h.invTimes[i] >= d })
	out.Invoices = h.in.Invoices[:n]
	out.Subscriptions = make([]record.Subscription, 0, len(h.in.Subscriptions))
	if h.metrics != nil {
		out.Subscriptions = h.subBuf[:0]
	}
	for _, s := range h.in.Subscriptions {
		start := s.StartDate
		if start.IsZero() {
			start = s.Created
		}
		if !start.IsZero() && !start.Before(date) {
			continue
		}
		out.Subscriptions = append(out.Subscriptions, rollBack(s, date, hasLines(out.Invoices, s.ID)))
	}
	if h.metrics != nil {
		h.subBuf = out.Subscriptions
		out.Invoices = h.recentInvoices(out.Invoices, date)
	}
	if len(h.in.Deals) > 0 {
		out.Deals = make([]record.Deal, len(h.in.Deals))
		copy(out.Deals, h.in.Deals)
		for i := range out.Deals {
			if dl := &out.Deals[i]; dl.IsClosed && !dl.CloseDate.Before(date) {
				dl.IsClosed, dl.IsWon = false, false
			}
		}
	}
	if len(h.in.Recorded) > 0 {
		cur := scoring.MonthOf(date)
		rec := make([]scoring.RecordedMonth, 0, len(h.in.Recorded))
		for _, r := range h.in.Recorded {
			if r.Month < cur {
				rec = append(rec, r)
			}
		}
		out.Recorded = rec
	}
	return out
}

// recentInvoices keeps the invoices a score at date reads, in a reused
// buffer: those created in the last 100 days (failed payments in 90 days),
// open ones (past due), those with a line ending after the first instant of
// the four months of MRR history the replay keeps, and each subscription's
// first invoice (where its invoice history starts). The rest cannot change
// the score; TestReplayMatchesAsOf checks it.
func (h *history) recentInvoices(invs []record.Invoice, date time.Time) []record.Invoice {
	recent := date.AddDate(0, 0, -100)
	first := (scoring.MonthOf(date) - 4).LastInstant()
	h.invBuf = h.invBuf[:0]
	for i := range invs {
		inv := &invs[i]
		keep := h.firstInv[i] || !inv.Created.Before(recent) || inv.Status == record.InvoiceOpen
		for j := 0; !keep && j < len(inv.Lines); j++ {
			keep = inv.Lines[j].PeriodEnd.After(first)
		}
		if keep {
			h.invBuf = append(h.invBuf, *inv)
		}
	}
	return h.invBuf
}

func hasLines(invs []record.Invoice, subID string) bool {
	for i := range invs {
		if invs[i].SubscriptionID == subID {
			return true
		}
		for j := range invs[i].Lines {
			if invs[i].Lines[j].SubscriptionID == subID {
				return true
			}
		}
	}
	return false
}

// rollBack undoes what happened to s at or after date. With invoices, the
// current period start is kept so invoice history decides the MRR at date
// (as the scoring package does for every past instant); only the period end
// moves back, for the renewal date.
func rollBack(s record.Subscription, date time.Time, invoiced bool) record.Subscription {
	if !s.EndedAt.IsZero() && !s.EndedAt.Before(date) {
		s.EndedAt = time.Time{}
		if s.Status == record.StatusCanceled {
			s.Status = record.StatusActive
		}
	}
	if !s.CanceledAt.IsZero() && !s.CanceledAt.Before(date) {
		s.CanceledAt, s.CancelAt, s.CancelAtPeriodEnd = time.Time{}, time.Time{}, false
		if s.Status == record.StatusCanceled || s.Status == record.StatusNonRenewing {
			s.Status = record.StatusActive
		}
	}
	if !s.CurrentPeriodStart.IsZero() && s.CurrentPeriodStart.After(date) {
		if s.Status == record.StatusPastDue || s.Status == record.StatusUnpaid || s.Status == record.StatusPaused {
			s.Status = record.StatusActive // the status belongs to the later period
		}
		months, days := interval(s)
		start, end := s.CurrentPeriodStart, s.CurrentPeriodEnd
		for i := 0; i < 1000 && start.After(date); i++ {
			start, end = start.AddDate(0, -months, -days), start
		}
		if end.IsZero() || end.Before(start) {
			end = start.AddDate(0, months, days)
		}
		s.CurrentPeriodEnd = end
		if !invoiced {
			s.CurrentPeriodStart = start
		}
		if len(s.Items) > 0 {
			items := make([]record.Item, len(s.Items))
			copy(items, s.Items)
			for i := range items {
				if !items[i].CurrentPeriodEnd.IsZero() {
					items[i].CurrentPeriodEnd = end
					if !invoiced {
						items[i].CurrentPeriodStart = start
					}
				}
			}
			s.Items = items
		}
	}
	return s
}

// interval is the billing interval of s's first recurring item as months
// and days (month, year and week intervals; default one month).
func interval(s record.Subscription) (months, days int) {
	for _, it := range s.Items {
		if !it.Recurring && it.Interval == "" {
			continue
		}
		n := max(it.IntervalCount, 1)
		switch it.Interval {
		case "year":
			return 12 * n, 0
		case "week":
			return 0, 7 * n
		case "day":
			return 0, n
		default:
			return n, 0
		}
	}
	return 1, 0
}
