package zendesk

import (
	"slices"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Metrics the connector produces, one record.Signal each per organization.
const (
	MetricOpenTickets         = "tickets_open"
	MetricTicketsCreated30d   = "tickets_created_30d"
	MetricMedianFirstReplyH   = "median_first_reply_hours"
	MetricSatisfactionGoodRat = "satisfaction_good_ratio"
	MetricUrgentTickets       = "urgent_tickets"
)

// Windows of the signals, ending at the "as of" time.
const (
	// CreatedWindow bounds tickets_created_30d and the tickets whose first
	// reply enters median_first_reply_hours.
	CreatedWindow = 30 * 24 * time.Hour
	// SatisfactionWindow bounds the rated tickets (by their last update,
	// the ticket export carries no rating time) in satisfaction_good_ratio.
	SatisfactionWindow = 90 * 24 * time.Hour
)

// unsolved reports statuses that count as open: docs ("Tickets"): new,
// open, pending and hold are unsolved; solved and closed are not.
func unsolved(status string) bool {
	switch status {
	case StatusNew, StatusOpen, StatusPending, StatusHold:
		return true
	}
	return false
}

// Signals computes the signals of every live organization in orgs from
// tickets as of asOf (UTC), in organization ID order, metrics in the order
// of the constants above. Deleted tickets, tickets without an organization
// and tickets created after asOf are ignored.
//
//   - tickets_open: tickets with status new, open, pending or hold.
//   - tickets_created_30d: tickets created in (asOf-30d, asOf].
//   - median_first_reply_hours: median of reply_time_in_minutes.calendar / 60
//     over tickets created in (asOf-30d, asOf] that have had a reply; the
//     mean of the middle two for an even count; no signal without one.
//   - satisfaction_good_ratio: good / (good + bad) over tickets rated good or
//     bad and updated in (asOf-90d, asOf]; no signal without a rating.
//   - urgent_tickets: open tickets with priority urgent.
//
// Worked example, asOf 2026-12-01T00:00Z, organization 7 with tickets
// A open urgent created 11-30 first reply 30 min, B solved created 11-20
// first reply 90 min rated good, C closed created 10-01 rated bad updated
// 11-05, D pending created 11-25 no reply: tickets_open 2 (A, D),
// tickets_created_30d 3 (A, B, D), median_first_reply_hours 1 (median of
// 0.5 and 1.5), satisfaction_good_ratio 0.5 (B good, C bad),
// urgent_tickets 1 (A).
func Signals(orgs []Organization, tickets []Ticket, asOf time.Time) []record.Signal {
	asOf = asOf.UTC()
	type acc struct {
		open, created, urgent, good, bad int
		replies                          []float64
	}
	by := map[int64]*acc{}
	for _, o := range orgs {
		if !o.Deleted {
			by[o.ID] = &acc{}
		}
	}
	for _, t := range tickets {
		a := by[t.OrganizationID]
		if a == nil || t.Deleted || t.Created.After(asOf) {
			continue
		}
		if unsolved(t.Status) {
			a.open++
			if t.Priority == "urgent" {
				a.urgent++
			}
		}
		if t.Created.After(asOf.Add(-CreatedWindow)) {
			a.created++
			if t.FirstReplyMinutes != nil {
				a.replies = append(a.replies, float64(*t.FirstReplyMinutes)/60)
			}
		}
		if t.Updated.After(asOf.Add(-SatisfactionWindow)) && !t.Updated.After(asOf) {
			switch t.Satisfaction {
			case "good":
				a.good++
			case "bad":
				a.bad++
			}
		}
	}
	ids := make([]int64, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]record.Signal, 0, len(ids)*5)
	for _, id := range ids {
		a := by[id]
		ref := record.Ref{System: System, ID: strconv.FormatInt(id, 10)}
		sig := func(metric string, v float64) {
			out = append(out, record.Signal{Account: ref, Metric: metric, Time: asOf, Value: v})
		}
		sig(MetricOpenTickets, float64(a.open))
		sig(MetricTicketsCreated30d, float64(a.created))
		if len(a.replies) > 0 {
			sig(MetricMedianFirstReplyH, median(a.replies))
		}
		if a.good+a.bad > 0 {
			sig(MetricSatisfactionGoodRat, float64(a.good)/float64(a.good+a.bad))
		}
		sig(MetricUrgentTickets, float64(a.urgent))
	}
	return out
}

// median of xs (len > 0); xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Helpdesk is the help desk as the pulls have seen it: the latest version
// of every organization and ticket, to compute signals after an
// incremental pull that returned only what changed. It is a plain value
// owned by its caller (not safe for concurrent use) and marshals to JSON,
// so the engine can persist it beside the stream cursors.
type Helpdesk struct {
	Organizations map[int64]Organization `json:"organizations"`
	Tickets       map[int64]Ticket       `json:"tickets"`
}

// NewHelpdesk returns an empty Helpdesk.
func NewHelpdesk() *Helpdesk {
	return &Helpdesk{Organizations: map[int64]Organization{}, Tickets: map[int64]Ticket{}}
}

// Apply upserts a batch's records; deleted ones are removed.
func (h *Helpdesk) Apply(b *Batch) {
	for _, o := range b.Organizations {
		if o.Deleted {
			delete(h.Organizations, o.ID)
			continue
		}
		h.Organizations[o.ID] = o
	}
	for _, t := range b.Tickets {
		h.PutTicket(t)
	}
}

// PutTicket upserts one ticket (the webhook path's FetchTicket result);
// a deleted one is removed.
func (h *Helpdesk) PutTicket(t Ticket) {
	if t.Deleted {
		delete(h.Tickets, t.ID)
		return
	}
	h.Tickets[t.ID] = t
}

// Signals computes the signals of every organization as of asOf.
func (h *Helpdesk) Signals(asOf time.Time) []record.Signal {
	return Signals(h.orgs(0), h.tickets(0), asOf)
}

// OrganizationSignals computes one organization's signals as of asOf (the
// webhook path's re-score).
func (h *Helpdesk) OrganizationSignals(orgID int64, asOf time.Time) []record.Signal {
	return Signals(h.orgs(orgID), h.tickets(orgID), asOf)
}

// orgs and tickets list the records of orgID (0: all).
func (h *Helpdesk) orgs(orgID int64) []Organization {
	var out []Organization
	for id, o := range h.Organizations {
		if orgID == 0 || id == orgID {
			out = append(out, o)
		}
	}
	return out
}

func (h *Helpdesk) tickets(orgID int64) []Ticket {
	var out []Ticket
	for _, t := range h.Tickets {
		if orgID == 0 || t.OrganizationID == orgID {
			out = append(out, t)
		}
	}
	return out
}
