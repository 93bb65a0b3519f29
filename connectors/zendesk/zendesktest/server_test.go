package zendesktest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newFake(t *testing.T, o Options) (*Server, *clock) {
	clk := &clock{t: t0}
	o.Now = clk.Now
	o.Email, o.Token = "admin@example.com", "tok123"
	s := NewServer(o)
	t.Cleanup(s.Close)
	return s, clk
}

type answer struct {
	Status int
	Header map[string]string
	Body   map[string]any
}

// get sends GET path with the right credentials (or auth, when set) and
// returns the status, the named headers and the decoded body.
func get(t *testing.T, s *Server, path, auth string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if auth == "" {
		req.SetBasicAuth("admin@example.com/token", "tok123")
	} else if auth != "none" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: map[string]string{}}
	for _, h := range headers {
		a.Header[h] = resp.Header.Get(h)
	}
	if err := json.Unmarshal(b, &a.Body); err != nil {
		t.Fatalf("GET %s: body %q: %v", path, b, err)
	}
	return a
}

// TestErrorBodies pins each documented refusal with its whole body.
func TestErrorBodies(t *testing.T) {
	s, clk := newFake(t, Options{ExportRateLimit: -1})
	agent, _ := newFake(t, Options{NotAdmin: true})
	recent := itoa(clk.Now().Add(-30 * time.Second).Unix())
	tests := []struct {
		name string
		srv  *Server
		path string
		auth string
		want answer
	}{
		{"no credentials", s, "/api/v2/incremental/tickets/cursor.json?start_time=0", "none",
			answer{401, map[string]string{}, map[string]any{"error": "Couldn't authenticate you"}}},
		{"password instead of token", s, "/api/v2/incremental/tickets/cursor.json?start_time=0", "Basic YWRtaW5AZXhhbXBsZS5jb206dG9rMTIz",
			answer{401, map[string]string{}, map[string]any{"error": "Couldn't authenticate you"}}},
		{"wrong token", s, "/api/v2/incremental/tickets/cursor.json?start_time=0", "Basic YWRtaW5AZXhhbXBsZS5jb20vdG9rZW46bm9wZQ==",
			answer{401, map[string]string{}, map[string]any{"error": "Couldn't authenticate you"}}},
		{"agent on an admin endpoint", agent, "/api/v2/incremental/tickets/cursor.json?start_time=0", "",
			answer{403, map[string]string{}, map[string]any{"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."}}},
		{"unknown endpoint", s, "/api/v2/nothing.json", "",
			answer{404, map[string]string{}, map[string]any{"error": "InvalidEndpoint", "description": "Not found"}}},
		{"unknown ticket", s, "/api/v2/tickets/99.json", "",
			answer{404, map[string]string{}, map[string]any{"error": "RecordNotFound", "description": "Not found"}}},
		{"per_page above 1000", s, "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1001", "",
			answer{400, map[string]string{}, map[string]any{"error": "InvalidPaginationParameter", "description": "per_page must be an integer between 1 and 1000"}}},
		{"organizations per_page 0", s, "/api/v2/incremental/organizations.json?start_time=0&per_page=0", "",
			answer{400, map[string]string{}, map[string]any{"error": "InvalidPaginationParameter", "description": "per_page must be an integer between 1 and 1000"}}},
		{"no start_time nor cursor", s, "/api/v2/incremental/tickets/cursor.json", "",
			answer{400, map[string]string{}, map[string]any{"error": "InvalidValue", "description": "start_time is required"}}},
		{"start_time within the last minute", s, "/api/v2/incremental/tickets/cursor.json?start_time=" + recent, "",
			answer{422, map[string]string{}, map[string]any{"error": "InvalidValue", "description": "Too recent start_time. Use a start_time older than 1 minute"}}},
		{"organizations start_time within the last minute", s, "/api/v2/incremental/organizations.json?start_time=" + recent, "",
			answer{422, map[string]string{}, map[string]any{"error": "InvalidValue", "description": "Too recent start_time. Use a start_time older than 1 minute"}}},
		{"cursor that was never issued", s, "/api/v2/incremental/tickets/cursor.json?cursor=bm9wZQ==", "",
			answer{422, map[string]string{}, map[string]any{"error": "InvalidPaginationParameter", "description": "cursor is invalid or has expired"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(t, tc.srv, tc.path, tc.auth); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestExportRateLimit pins "up to 10 requests per minute" on the export
// endpoints: the 11th in a minute is 429 with Retry-After until the oldest
// leaves the window, X-Rate-Limit headers on each answer, and other
// endpoints on their own budget.
func TestExportRateLimit(t *testing.T) {
	s, clk := newFake(t, Options{})
	s.PutTicket(Ticket{ID: 1, CreatedAt: t0.Add(-time.Hour), GeneratedTimestamp: t0.Add(-time.Hour)})
	path := "/api/v2/incremental/tickets/cursor.json?start_time=0"
	for i := range 10 {
		a := get(t, s, path, "", "X-Rate-Limit", "X-Rate-Limit-Remaining")
		want := map[string]string{"X-Rate-Limit": "10", "X-Rate-Limit-Remaining": itoa(int64(9 - i))}
		if a.Status != 200 || !reflect.DeepEqual(a.Header, want) {
			t.Fatalf("request %d: status %d headers %v, want 200 %v", i+1, a.Status, a.Header, want)
		}
		clk.Advance(time.Second)
	}
	got := get(t, s, path, "", "Retry-After", "X-Rate-Limit-Remaining")
	want := answer{429, map[string]string{"Retry-After": "50", "X-Rate-Limit-Remaining": "0"},
		map[string]any{"error": "APIRateLimitExceeded", "description": "Number of allowed incremental export API requests per minute exceeded"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("11th request: got %+v\nwant %+v", got, want)
	}
	if a := get(t, s, "/api/v2/tickets/1.json", ""); a.Status != 200 {
		t.Errorf("show ticket during the export block: %d, want 200 (own budget)", a.Status)
	}
	clk.Advance(50 * time.Second)
	if a := get(t, s, path, ""); a.Status != 200 {
		t.Errorf("after Retry-After: %d, want 200", a.Status)
	}
	if s.Throttled() != 1 {
		t.Errorf("Throttled = %d, want 1", s.Throttled())
	}
}

func ids(t *testing.T, body map[string]any, key string) []float64 {
	t.Helper()
	var out []float64
	for _, x := range body[key].([]any) {
		out = append(out, x.(map[string]any)["id"].(float64))
	}
	return out
}

// TestTicketExportPaging pins cursor paging: generated_timestamp order,
// per_page, end_of_stream, the last minute excluded, exclude_deleted,
// metric_sets, and after_cursor reusable later for newer tickets.
func TestTicketExportPaging(t *testing.T) {
	s, clk := newFake(t, Options{ExportRateLimit: -1})
	for i, at := range []time.Duration{-3 * time.Hour, -2 * time.Hour, -time.Hour, -30 * time.Second} {
		s.PutTicket(Ticket{ID: int64(10 - i), OrganizationID: 5, GeneratedTimestamp: t0.Add(at), CreatedAt: t0.Add(at)})
	}
	s.PutMetric(TicketMetric{TicketID: 10, ReplyCalendarMin: Minutes(42), ReplyBusinessMin: Minutes(40)})
	s.DeleteTicket(8) // generated now: within the last minute, so not yet exported
	p1 := get(t, s, "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1&include=metric_sets", "")
	if got := ids(t, p1.Body, "tickets"); !reflect.DeepEqual(got, []float64{10}) || p1.Body["end_of_stream"] != false {
		t.Fatalf("page 1: ids %v end_of_stream %v", got, p1.Body["end_of_stream"])
	}
	m := p1.Body["metric_sets"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(m["reply_time_in_minutes"], map[string]any{"calendar": 42.0, "business": 40.0}) || m["ticket_id"] != 10.0 {
		t.Errorf("metric set %v", m)
	}
	c1 := p1.Body["after_cursor"].(string)
	p2 := get(t, s, "/api/v2/incremental/tickets/cursor.json?per_page=2&cursor="+c1, "")
	if got := ids(t, p2.Body, "tickets"); !reflect.DeepEqual(got, []float64{9}) || p2.Body["end_of_stream"] != true {
		t.Fatalf("page 2: ids %v end_of_stream %v (ticket 8 is in the last minute, 7 too)", got, p2.Body["end_of_stream"])
	}
	clk.Advance(2 * time.Minute)
	c2 := p2.Body["after_cursor"].(string)
	p3 := get(t, s, "/api/v2/incremental/tickets/cursor.json?cursor="+c2, "")
	if got := ids(t, p3.Body, "tickets"); !reflect.DeepEqual(got, []float64{7, 8}) || p3.Body["end_of_stream"] != true {
		t.Fatalf("later export: ids %v end_of_stream %v", got, p3.Body["end_of_stream"])
	}
	if st := p3.Body["tickets"].([]any)[1].(map[string]any)["status"]; st != "deleted" {
		t.Errorf("deleted ticket status %v", st)
	}
	p4 := get(t, s, "/api/v2/incremental/tickets/cursor.json?exclude_deleted=true&cursor="+c2, "")
	if got := ids(t, p4.Body, "tickets"); !reflect.DeepEqual(got, []float64{7}) {
		t.Errorf("exclude_deleted: ids %v", got)
	}
}

// TestCursorExpiry pins the CursorTTL option.
func TestCursorExpiry(t *testing.T) {
	s, clk := newFake(t, Options{ExportRateLimit: -1, CursorTTL: time.Hour})
	p := get(t, s, "/api/v2/incremental/tickets/cursor.json?start_time=0", "")
	c := p.Body["after_cursor"].(string)
	clk.Advance(59 * time.Minute)
	if a := get(t, s, "/api/v2/incremental/tickets/cursor.json?cursor="+c, ""); a.Status != 200 {
		t.Fatalf("fresh cursor: %d", a.Status)
	}
	clk.Advance(2 * time.Minute)
	if a := get(t, s, "/api/v2/incremental/tickets/cursor.json?cursor="+c, ""); a.Status != 422 {
		t.Fatalf("expired cursor: %d, want 422", a.Status)
	}
}

// TestOrganizationExportIsTimeBased pins the time-based shape: count,
// end_time as the next start_time, the boundary second repeated, and
// deleted_at on deleted organizations.
func TestOrganizationExportIsTimeBased(t *testing.T) {
	s, _ := newFake(t, Options{ExportRateLimit: -1})
	base := t0.Add(-2 * time.Hour)
	s.PutOrganization(Organization{ID: 1, Name: "A", ExternalID: "001A", DomainNames: []string{"a.example"}, UpdatedAt: base})
	s.PutOrganization(Organization{ID: 2, Name: "B", UpdatedAt: base.Add(time.Minute)})
	s.PutOrganization(Organization{ID: 3, Name: "C", UpdatedAt: base.Add(time.Minute)})
	p1 := get(t, s, "/api/v2/incremental/organizations.json?start_time=0&per_page=2", "")
	end := base.Add(time.Minute).Unix()
	if got := ids(t, p1.Body, "organizations"); !reflect.DeepEqual(got, []float64{1, 2}) || p1.Body["end_time"] != float64(end) || p1.Body["count"] != 2.0 || p1.Body["end_of_stream"] != false {
		t.Fatalf("page 1: %v", p1.Body)
	}
	o := p1.Body["organizations"].([]any)[0].(map[string]any)
	if o["external_id"] != "001A" || !reflect.DeepEqual(o["domain_names"], []any{"a.example"}) || o["deleted_at"] != nil {
		t.Errorf("organization 1: %v", o)
	}
	p2 := get(t, s, "/api/v2/incremental/organizations.json?per_page=2&start_time="+itoa(end), "")
	if got := ids(t, p2.Body, "organizations"); !reflect.DeepEqual(got, []float64{2, 3}) || p2.Body["end_of_stream"] != true {
		t.Fatalf("page 2 (boundary second repeated): %v", p2.Body)
	}
}
