package backtest

import (
	"sort"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
)

// history is one account's data prepared for replays at many dates:
// signals sorted by time and invoices by creation, so the part known at a
// date is a prefix (invoices) or a window (signals) and needs no copy.
type history struct {
	in       scoring.AccountInput
	maxDays  int // the longest signal window a measure reads, in days
	sigTimes []int64
	invTimes []int64
}

func newHistory(in scoring.AccountInput, maxDays int) *history {
	h := &history{in: in, maxDays: maxDays}
	h.in.Signals = append([]record.Signal(nil), in.Signals...)
	sort.SliceStable(h.in.Signals, func(i, j int) bool { return h.in.Signals[i].Time.Before(h.in.Signals[j].Time) })
	h.in.Invoices = append([]record.Invoice(nil), in.Invoices...)
	sort.SliceStable(h.in.Invoices, func(i, j int) bool { return h.in.Invoices[i].Created.Before(h.in.Invoices[j].Created) })
	h.sigTimes = make([]int64, len(h.in.Signals))
	for i := range h.in.Signals {
		h.sigTimes[i] = h.in.Signals[i].Time.UnixNano()
	}
	h.invTimes = make([]int64, len(h.in.Invoices))
	for i := range h.in.Invoices {
		h.invTimes[i] = h.in.Invoices[i].Created.UnixNano()
	}
	return h
}

// AsOf returns what healthsync knew about the account at date: only the
// signals timed before date, the invoices created before it, the
// subscriptions started before it as they stood then, the deals as they
// stood then, and the recorded months before it. CRM fields and the score
// history are dropped: their past values are unknown (see Warnings).
//
// Subscriptions are rolled back: an end, a cancellation or a cancel-at
// request made at or after date is undone (the status becomes active), and
// the current period end steps back by whole billing intervals until the
// period contains date, so days_to_renewal is the one seen then. Worked
// example: a monthly subscription canceled on 2026-05-10 and ended on
// 2026-05-31, current period 2026-05-01 to 06-01, seen at 2026-04-15: active,
// no cancellation, period end 2026-05-01.
func AsOf(in scoring.AccountInput, date time.Time) scoring.AccountInput {
	return newHistory(in, 1<<20).at(date)
}

// at is AsOf over the prepared history; signals older than maxDays before
// date are left out too (no measure reads them).
func (h *history) at(date time.Time) scoring.AccountInput {
	d := date.UnixNano()
	out := h.in
	out.Account.Fields = nil
	out.ScoreHistory = nil
	out.LastTasks = nil
	out.OnboardedAt = time.Time{}
	out.Explain = false
	lo := sort.Search(len(h.sigTimes), func(i int) bool { return h.sigTimes[i] > d-int64(h.maxDays)*int64(24*time.Hour) })
	hi := sort.Search(len(h.sigTimes), func(i int) bool { return h.sigTimes[i] >= d })
	out.Signals = h.in.Signals[lo:max(lo, hi)]
	n := sort.Search(len(h.invTimes), func(i int) bool { return h.invTimes[i] >= d })
	out.Invoices = h.in.Invoices[:n]
	out.Subscriptions = make([]record.Subscription, 0, len(h.in.Subscriptions))
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
