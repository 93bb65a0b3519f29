package zendesk_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
)

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

func mins(n int64) *int64 { return &n }

func sig(org, metric string, v float64, at time.Time) record.Signal {
	return record.Signal{Account: record.Ref{System: zendesk.System, ID: org}, Metric: metric, Time: at, Value: v}
}

// TestSignals pins the aggregation with the worked example of
// zendesk.Signals and the edge cases around it.
func TestSignals(t *testing.T) {
	asOf := day(12, 1)
	org7 := []zendesk.Organization{{ID: 7, Name: "Acme"}}
	worked := []zendesk.Ticket{
		{ID: 1, OrganizationID: 7, Status: "open", Priority: "urgent", Created: day(11, 30), Updated: day(11, 30), FirstReplyMinutes: mins(30)},
		{ID: 2, OrganizationID: 7, Status: "solved", Created: day(11, 20), Updated: day(11, 22), FirstReplyMinutes: mins(90), Satisfaction: "good"},
		{ID: 3, OrganizationID: 7, Status: "closed", Created: day(10, 1), Updated: day(11, 5), Satisfaction: "bad"},
		{ID: 4, OrganizationID: 7, Status: "pending", Created: day(11, 25), Updated: day(11, 25)},
	}
	tests := []struct {
		name    string
		orgs    []zendesk.Organization
		tickets []zendesk.Ticket
		want    []record.Signal
	}{
		{
			name: "worked example", orgs: org7, tickets: worked,
			want: []record.Signal{
				sig("7", "tickets_open", 2, asOf), sig("7", "tickets_created_30d", 3, asOf),
				sig("7", "median_first_reply_hours", 1, asOf), sig("7", "satisfaction_good_ratio", 0.5, asOf),
				sig("7", "urgent_tickets", 1, asOf),
			},
		},
		{
			name: "organization without tickets has counts and no median or ratio", orgs: org7,
			want: []record.Signal{sig("7", "tickets_open", 0, asOf), sig("7", "tickets_created_30d", 0, asOf), sig("7", "urgent_tickets", 0, asOf)},
		},
		{
			name: "odd count median, hold counts as open, offered rating ignored", orgs: org7,
			tickets: []zendesk.Ticket{
				{ID: 1, OrganizationID: 7, Status: "hold", Created: day(11, 28), Updated: day(11, 28), FirstReplyMinutes: mins(600), Satisfaction: "offered"},
				{ID: 2, OrganizationID: 7, Status: "new", Created: day(11, 29), Updated: day(11, 29), FirstReplyMinutes: mins(60)},
				{ID: 3, OrganizationID: 7, Status: "solved", Created: day(11, 30), Updated: day(11, 30), FirstReplyMinutes: mins(120), Satisfaction: "good"},
			},
			want: []record.Signal{
				sig("7", "tickets_open", 2, asOf), sig("7", "tickets_created_30d", 3, asOf),
				sig("7", "median_first_reply_hours", 2, asOf), sig("7", "satisfaction_good_ratio", 1, asOf),
				sig("7", "urgent_tickets", 0, asOf),
			},
		},
		{
			name: "deleted, unlinked, future and out-of-window tickets are left out", orgs: org7,
			tickets: []zendesk.Ticket{
				{ID: 1, OrganizationID: 7, Status: "open", Priority: "urgent", Created: day(11, 30), Deleted: true},
				{ID: 2, OrganizationID: 0, Status: "open", Created: day(11, 30)},
				{ID: 3, OrganizationID: 9, Status: "open", Created: day(11, 30)},
				{ID: 4, OrganizationID: 7, Status: "open", Created: day(12, 2), Updated: day(12, 2)},
				{ID: 5, OrganizationID: 7, Status: "closed", Created: day(10, 31), Updated: day(10, 31), FirstReplyMinutes: mins(60)},
				{ID: 6, OrganizationID: 7, Status: "closed", Created: day(8, 1), Updated: day(9, 1), Satisfaction: "bad"},
			},
			want: []record.Signal{sig("7", "tickets_open", 0, asOf), sig("7", "tickets_created_30d", 0, asOf), sig("7", "urgent_tickets", 0, asOf)},
		},
		{
			name: "deleted organization has no signals; several in ID order",
			orgs: []zendesk.Organization{{ID: 9}, {ID: 3, Deleted: true}, {ID: 2}},
			tickets: []zendesk.Ticket{
				{ID: 1, OrganizationID: 9, Status: "open", Priority: "urgent", Created: day(11, 30)},
				{ID: 2, OrganizationID: 3, Status: "open", Created: day(11, 30)},
			},
			want: []record.Signal{
				sig("2", "tickets_open", 0, asOf), sig("2", "tickets_created_30d", 0, asOf), sig("2", "urgent_tickets", 0, asOf),
				sig("9", "tickets_open", 1, asOf), sig("9", "tickets_created_30d", 1, asOf), sig("9", "urgent_tickets", 1, asOf),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := zendesk.Signals(tc.orgs, tc.tickets, asOf)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Signals:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestHelpdeskKeepsTheLatestVersion pins that an incremental batch replaces
// tickets and removes deleted ones before signals are computed.
func TestHelpdeskKeepsTheLatestVersion(t *testing.T) {
	h := zendesk.NewHelpdesk()
	h.Apply(&zendesk.Batch{Organizations: []zendesk.Organization{{ID: 7}, {ID: 8}}, Tickets: []zendesk.Ticket{
		{ID: 1, OrganizationID: 7, Status: "open", Priority: "urgent", Created: day(11, 30)},
		{ID: 2, OrganizationID: 7, Status: "open", Created: day(11, 30)},
	}})
	h.Apply(&zendesk.Batch{Organizations: []zendesk.Organization{{ID: 8, Deleted: true}}, Tickets: []zendesk.Ticket{
		{ID: 1, OrganizationID: 7, Status: "solved", Priority: "urgent", Created: day(11, 30)},
		{ID: 2, OrganizationID: 7, Status: "deleted", Deleted: true},
	}})
	asOf := day(12, 1)
	want := []record.Signal{sig("7", "tickets_open", 0, asOf), sig("7", "tickets_created_30d", 1, asOf), sig("7", "urgent_tickets", 0, asOf)}
	if got := h.Signals(asOf); !reflect.DeepEqual(got, want) {
		t.Errorf("Signals:\n got %+v\nwant %+v", got, want)
	}
	if got := h.OrganizationSignals(7, asOf); !reflect.DeepEqual(got, want) {
		t.Errorf("OrganizationSignals:\n got %+v\nwant %+v", got, want)
	}
}
