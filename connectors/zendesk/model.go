package zendesk

import (
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Organization is a Zendesk organization with the keys the engine links it
// to a CRM account by: ExternalID (set it to the CRM account ID for an
// exact match) or one of Domains (matched against the account's website or
// domain). It is what the organizations stream yields.
type Organization struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	ExternalID string    `json:"external_id,omitempty"`
	Domains    []string  `json:"domains,omitempty"` // lower case, as domain_names
	Updated    time.Time `json:"updated"`
	Deleted    bool      `json:"deleted,omitempty"`
}

// Ref is the organization's record ref, the account side of its signals.
func (o Organization) Ref() record.Ref {
	return record.Ref{System: System, ID: strconv.FormatInt(o.ID, 10), Modified: o.Updated}
}

// Ticket statuses (docs "Tickets": status "new", "open", "pending", "hold",
// "solved", "closed"; the incremental export adds "deleted").
const (
	StatusNew     = "new"
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusHold    = "hold"
	StatusSolved  = "solved"
	StatusClosed  = "closed"
	StatusDeleted = "deleted"
)

// Ticket is what the signals need of a Zendesk ticket.
type Ticket struct {
	ID             int64  `json:"id"`
	OrganizationID int64  `json:"organization_id,omitempty"` // 0: none
	Status         string `json:"status"`
	Priority       string `json:"priority,omitempty"` // urgent, high, normal, low; "" when unset
	// Satisfaction is satisfaction_rating.score: "good", "bad", "offered"
	// or "unoffered" (docs "Satisfaction Ratings").
	Satisfaction string    `json:"satisfaction,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// FirstReplyMinutes is the ticket metric reply_time_in_minutes.calendar
	// (calendar minutes to the first public agent reply); nil before one.
	FirstReplyMinutes *int64 `json:"first_reply_minutes,omitempty"`
	Deleted           bool   `json:"deleted,omitempty"`
}

// Ref is the ticket's record ref.
func (t Ticket) Ref() record.Ref {
	return record.Ref{System: System, ID: "ticket/" + strconv.FormatInt(t.ID, 10), Modified: t.Updated}
}

func mapOrg(w wireOrg) Organization {
	o := Organization{ID: w.ID, Name: w.Name, Updated: w.UpdatedAt.UTC(), Deleted: w.DeletedAt != nil}
	if w.ExternalID != nil {
		o.ExternalID = *w.ExternalID
	}
	for _, d := range w.DomainNames {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			o.Domains = append(o.Domains, d)
		}
	}
	return o
}

func mapTicket(w wireTicket, m *wireMetric) Ticket {
	t := Ticket{ID: w.ID, Status: w.Status, Created: w.CreatedAt.UTC(), Updated: w.UpdatedAt.UTC(), Deleted: w.Status == StatusDeleted}
	if w.OrganizationID != nil {
		t.OrganizationID = *w.OrganizationID
	}
	if w.Priority != nil {
		t.Priority = *w.Priority
	}
	if w.SatisfactionRating != nil {
		t.Satisfaction = w.SatisfactionRating.Score
	}
	if m != nil && m.ReplyTimeInMinutes.Calendar != nil {
		v := *m.ReplyTimeInMinutes.Calendar
		t.FirstReplyMinutes = &v
	}
	return t
}
