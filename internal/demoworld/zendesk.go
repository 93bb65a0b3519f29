package demoworld

import (
	"math/rand/v2"
	"time"

	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// helpdeskProfile is how an account's tickets look for its health
// profile: tickets opened in the last 60 days, the share still unsolved,
// the share urgent, the first reply time range in minutes and the share of
// rated tickets rated bad.
type helpdeskProfile struct {
	tickets          [2]int // min, max
	unsolved, urgent float64
	reply            [2]int64
	bad              float64
}

var helpdeskProfiles = map[string]helpdeskProfile{
	profHealthy:    {tickets: [2]int{0, 4}, unsolved: 0.15, urgent: 0, reply: [2]int64{20, 120}, bad: 0.05},
	profCaution:    {tickets: [2]int{3, 8}, unsolved: 0.35, urgent: 0.05, reply: [2]int64{120, 600}, bad: 0.3},
	profAtRisk:     {tickets: [2]int{6, 14}, unsolved: 0.55, urgent: 0.25, reply: [2]int64{600, 2400}, bad: 0.7},
	profOnboarding: {tickets: [2]int{2, 6}, unsolved: 0.3, urgent: 0, reply: [2]int64{30, 240}, bad: 0.1},
	profChurned:    {tickets: [2]int{0, 2}, unsolved: 0, urgent: 0, reply: [2]int64{60, 600}, bad: 0.5},
}

// LoadZendesk seeds a help desk whose tickets follow each account's health
// profile (at-risk accounts have more open, urgent and badly rated tickets
// with slow first replies; healthy ones few, fast and well rated). Every
// account becomes an organization with its domain in domain_names; every
// other one also carries the CRM ID as external_id, so both matching routes
// are exercised. Choices come from their own PCG (Options.Seed), so the
// rest of the plan is unchanged; times come from the plan's "today". The
// CRMs must be loaded first. It returns the number of tickets seeded.
func (w *World) LoadZendesk(s *zendesktest.Server) (int, error) {
	r := rand.New(rand.NewPCG(uint64(w.opts.Seed), 0x7a656e6465736b))
	ticketID := int64(0)
	for _, a := range w.accounts {
		if a.crmID == "" {
			return 0, ErrNotLoaded
		}
		orgID := int64(360000000 + a.idx)
		org := zendesktest.Organization{ID: orgID, Name: a.Name, DomainNames: []string{a.Domain},
			CreatedAt: a.Created, UpdatedAt: w.now.Add(-time.Duration(a.idx+1) * time.Minute)}
		if a.idx%2 == 0 {
			org.ExternalID = a.crmID
		}
		s.PutOrganization(org)
		p, ok := helpdeskProfiles[a.Profile]
		if !ok {
			p = helpdeskProfiles[profHealthy]
		}
		n := p.tickets[0] + r.IntN(p.tickets[1]-p.tickets[0]+1)
		for range n {
			ticketID++
			created := w.now.Add(-time.Duration(r.Int64N(int64(60 * 24 * time.Hour)))).Truncate(time.Second)
			t := zendesktest.Ticket{ID: ticketID, OrganizationID: orgID, Subject: "Question from " + a.Name,
				Status: "solved", Priority: "normal", CreatedAt: created}
			switch {
			case r.Float64() < p.unsolved:
				t.Status = []string{"new", "open", "pending", "hold"}[r.IntN(4)]
			case r.IntN(3) == 0:
				t.Status = "closed"
			}
			if r.Float64() < p.urgent {
				t.Priority = "urgent"
			}
			reply := p.reply[0] + r.Int64N(p.reply[1]-p.reply[0]+1)
			if t.Status != "new" {
				s.PutMetric(zendesktest.TicketMetric{TicketID: ticketID, ReplyCalendarMin: zendesktest.Minutes(reply), ReplyBusinessMin: zendesktest.Minutes(reply)})
			}
			t.UpdatedAt = minTime(created.Add(time.Duration(reply)*time.Minute), w.now.Add(-2*time.Minute))
			if (t.Status == "solved" || t.Status == "closed") && r.IntN(2) == 0 {
				t.Satisfaction = "good"
				if r.Float64() < p.bad {
					t.Satisfaction = "bad"
				}
			}
			t.GeneratedTimestamp = t.UpdatedAt
			s.PutTicket(t)
		}
	}
	return int(ticketID), nil
}
