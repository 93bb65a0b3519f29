package zendesktest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// BenchmarkExportPage50000 measures one export page at 50,000 tickets and
// 50,000 organizations, from the middle: a ticket page (1,000, the
// documented maximum) from a cursor, and an organization page from a
// start_time. A fake whose page cost grows with the record count makes a
// full export quadratic.
func BenchmarkExportPage50000(b *testing.B) {
	const n = 50000
	s := NewServer(Options{Email: "a@example.com", Token: "t", ExportRateLimit: -1, AccountRateLimit: -1,
		Now: func() time.Time { return t0 }})
	defer s.Close()
	start := t0.Add(-n * time.Minute)
	ts := make([]Ticket, n)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		ts[i] = Ticket{ID: int64(i + 1), OrganizationID: int64(i + 1), CreatedAt: at, GeneratedTimestamp: at}
		s.PutOrganization(Organization{ID: int64(i + 1), Name: "org", UpdatedAt: at})
	}
	s.PutTickets(ts)
	mid := start.Add(n / 2 * time.Minute)
	cursor := encodeCursor(position{mid.Unix(), n / 2})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("a@example.com/token:t"))
	for _, bc := range []struct{ name, uri string }{
		{"tickets", "/api/v2/incremental/tickets/cursor.json?per_page=1000&cursor=" + url.QueryEscape(cursor)},
		{"organizations", "/api/v2/incremental/organizations.json?per_page=1000&start_time=" + itoa(mid.Unix())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fakeapi.BenchmarkRequest(b, http.MethodGet, s.URL+bc.uri, nil, "Authorization", auth)
		})
	}
}
