package zendesktest

import (
	"cmp"
	"strconv"
	"time"
)

// Organization is a Zendesk organization (docs "Organizations": id, name,
// external_id, domain_names, created_at, updated_at; the incremental export
// adds deleted_at for deleted ones).
type Organization struct {
	ID          int64
	Name        string
	ExternalID  string
	DomainNames []string
	CreatedAt   time.Time // zero: the clock at Put
	UpdatedAt   time.Time // zero: the clock at Put
	DeletedAt   time.Time // zero: not deleted
}

// Ticket is a Zendesk ticket with the attributes the incremental export
// returns (docs "Tickets": status new, open, pending, hold, solved, closed,
// and "deleted" in exports; priority urgent, high, normal, low or none;
// satisfaction_rating.score offered, unoffered, good, bad).
type Ticket struct {
	ID             int64
	OrganizationID int64 // 0: none (null)
	Subject        string
	Status         string // default "new"
	Priority       string // "" is null
	Satisfaction   string // "" is unoffered
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// GeneratedTimestamp is what the incremental export compares
	// start_time with and orders by (docs "Incremental Exports > Exporting
	// tickets": "the API compares the start_time with the ticket's
	// generated_timestamp value, not its updated_at value"). Zero: the
	// clock at Put.
	GeneratedTimestamp time.Time
}

// TicketMetric is a ticket's metric set (docs "Ticket Metrics":
// reply_time_in_minutes {calendar, business}, "Number of minutes to the
// first reply inside and out of business hours", null before the first
// reply).
type TicketMetric struct {
	TicketID          int64
	ReplyCalendarMin  *int64
	ReplyBusinessMin  *int64
	Replies           int
	FullResolutionMin *int64
}

// PutOrganization inserts or replaces an organization; zero times become
// the clock.
func (s *Server) PutOrganization(o Organization) {
	now := s.opts.Now().UTC().Truncate(time.Second)
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs[o.ID] = &o
	s.orgsOrdered = nil
}

// DeleteOrganization marks an organization deleted at the clock time.
func (s *Server) DeleteOrganization(id int64) {
	now := s.opts.Now().UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[id]; o != nil {
		o.DeletedAt, o.UpdatedAt = now, now
		s.orgsOrdered = nil
	}
}

// PutTicket inserts or replaces a ticket; zero times become the clock, and
// GeneratedTimestamp is always moved to the clock unless set, as any update
// does (docs "Incremental Exports").
func (s *Server) PutTicket(t Ticket) {
	now := s.opts.Now().UTC().Truncate(time.Second)
	if t.Status == "" {
		t.Status = "new"
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = now
	}
	if t.GeneratedTimestamp.IsZero() {
		t.GeneratedTimestamp = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickets[t.ID] = &t
	s.ordered = nil
}

// PutTickets inserts many tickets at once (benchmarks, the demo).
func (s *Server) PutTickets(ts []Ticket) {
	for _, t := range ts {
		s.PutTicket(t)
	}
}

// DeleteTicket soft-deletes a ticket: the export then returns it with
// status "deleted" (docs "Incremental Exports > Excluding deleted tickets").
func (s *Server) DeleteTicket(id int64) {
	now := s.opts.Now().UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tickets[id]; t != nil {
		t.Status, t.UpdatedAt, t.GeneratedTimestamp = "deleted", now, now
		s.ordered = nil
	}
}

// PutMetric sets a ticket's metric set.
func (s *Server) PutMetric(m TicketMetric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics[m.TicketID] = &m
}

// Minutes is a helper for TicketMetric's optional minute counts.
func Minutes(n int64) *int64 { return &n }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) baseURL() string { return s.URL + "/api/v2" }

// orgJSON renders an organization as the API does. Caller holds s.mu.
func (s *Server) orgJSON(o *Organization) map[string]any {
	domains := o.DomainNames
	if domains == nil {
		domains = []string{}
	}
	var ext, deleted any
	if o.ExternalID != "" {
		ext = o.ExternalID
	}
	if !o.DeletedAt.IsZero() {
		deleted = ts(o.DeletedAt)
	}
	return map[string]any{
		"id": o.ID, "url": s.baseURL() + "/organizations/" + strconv.FormatInt(o.ID, 10) + ".json",
		"name": o.Name, "external_id": ext, "domain_names": domains,
		"created_at": ts(o.CreatedAt), "updated_at": ts(o.UpdatedAt), "deleted_at": deleted,
		"tags": []string{}, "shared_tickets": false, "shared_comments": false,
	}
}

// ticketOut is a ticket as the API renders it (docs "Tickets" JSON
// format; the attributes healthsync reads and the usual companions).
type ticketOut struct {
	ID                   int64             `json:"id"`
	URL                  string            `json:"url"`
	ExternalID           *string           `json:"external_id"`
	Type                 *string           `json:"type"`
	Subject              string            `json:"subject"`
	Status               string            `json:"status"`
	Priority             *string           `json:"priority"`
	RequesterID          int64             `json:"requester_id"`
	OrganizationID       *int64            `json:"organization_id"`
	SatisfactionRating   map[string]string `json:"satisfaction_rating"`
	CreatedAt            string            `json:"created_at"`
	UpdatedAt            string            `json:"updated_at"`
	GeneratedTimestamp   int64             `json:"generated_timestamp"`
	Via                  map[string]string `json:"via"`
	Tags                 []string          `json:"tags"`
	CustomFields         []any             `json:"custom_fields"`
	HasIncidents         bool              `json:"has_incidents"`
	IsPublic             bool              `json:"is_public"`
	AllowAttachments     bool              `json:"allow_attachments"`
	AllowChannelback     bool              `json:"allow_channelback"`
	FromMessagingChannel bool              `json:"from_messaging_channel"`
}

// ticketJSON renders a ticket as the API does. Caller holds s.mu.
func (s *Server) ticketJSON(t *Ticket) ticketOut {
	out := ticketOut{
		ID: t.ID, URL: s.baseURL() + "/tickets/" + strconv.FormatInt(t.ID, 10) + ".json",
		Subject: t.Subject, Status: t.Status, RequesterID: 1000 + t.ID,
		SatisfactionRating: map[string]string{"score": cmp.Or(t.Satisfaction, "unoffered")},
		CreatedAt:          ts(t.CreatedAt), UpdatedAt: ts(t.UpdatedAt),
		GeneratedTimestamp: t.GeneratedTimestamp.Unix(),
		Via:                map[string]string{"channel": "web"},
		Tags:               []string{}, CustomFields: []any{},
		IsPublic: true, AllowAttachments: true,
	}
	if t.OrganizationID != 0 {
		org := t.OrganizationID
		out.OrganizationID = &org
	}
	if t.Priority != "" {
		p := t.Priority
		out.Priority = &p
	}
	return out
}

// metricJSON renders a metric set (docs "Ticket Metrics"). Caller holds s.mu.
func metricJSON(ticketID int64, m *TicketMetric, created time.Time) map[string]any {
	out := map[string]any{
		"id": ticketID + 500000, "ticket_id": ticketID, "created_at": ts(created), "updated_at": ts(created),
		"reply_time_in_minutes":            map[string]any{"calendar": nil, "business": nil},
		"full_resolution_time_in_minutes":  map[string]any{"calendar": nil, "business": nil},
		"first_resolution_time_in_minutes": map[string]any{"calendar": nil, "business": nil},
		"replies":                          0, "reopens": 0,
	}
	if m != nil {
		out["reply_time_in_minutes"] = map[string]any{"calendar": m.ReplyCalendarMin, "business": m.ReplyBusinessMin}
		out["full_resolution_time_in_minutes"] = map[string]any{"calendar": m.FullResolutionMin, "business": m.FullResolutionMin}
		out["replies"] = m.Replies
	}
	return out
}
