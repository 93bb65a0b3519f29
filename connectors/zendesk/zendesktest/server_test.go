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
	a, b := send(t, s, path, auth, headers...)
	if a.Body == nil {
		t.Fatalf("GET %s: body %q is not JSON", path, b)
	}
	return a
}

// send is get for answers that may not be JSON: their Body is nil, the
// raw body is returned beside.
func send(t *testing.T, s *Server, path, auth string, headers ...string) (answer, []byte) {
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
		a.Body = nil
	}
	return a, b
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

// TestHarnessAPI pins the fake on the shared harness: faults by exact path,
// "*" prefix or any path answer Zendesk's error body (a 429 with
// Retry-After) or a truncated body, then stop; counters by endpoint; the
// request log stamped with the fake clock.
func TestHarnessAPI(t *testing.T) {
	s, clk := newFake(t, Options{ExportRateLimit: -1})
	s.PutTicket(Ticket{ID: 7, CreatedAt: t0.Add(-time.Hour), GeneratedTimestamp: t0.Add(-time.Hour)})
	s.InjectFault(Fault{Path: "/api/v2/tickets/7.json", Status: http.StatusServiceUnavailable})
	s.InjectFault(Fault{Path: "/api/v2/incremental/*", Times: 2, Status: http.StatusTooManyRequests})
	s.InjectFault(Fault{Path: "/api/v2/tickets/7/metrics.json", Malformed: true})
	s.InjectFault(Fault{Path: "/api/v2/tickets/7/metrics.json", Status: http.StatusForbidden, Code: "Forbidden"})
	export := "/api/v2/incremental/organizations.json?start_time=0"
	tests := []struct {
		path string
		want answer
	}{
		{"/api/v2/tickets/7.json", answer{503, map[string]string{"Retry-After": ""},
			map[string]any{"error": "Service Unavailable", "description": "injected fault"}}},
		{"/api/v2/tickets/7.json", answer{200, map[string]string{"Retry-After": ""}, nil}},
		{export, answer{429, map[string]string{"Retry-After": "1"},
			map[string]any{"error": "Too Many Requests", "description": "injected fault"}}},
		{"/api/v2/incremental/tickets/cursor.json?start_time=0", answer{429, map[string]string{"Retry-After": "1"},
			map[string]any{"error": "Too Many Requests", "description": "injected fault"}}},
		{export, answer{200, map[string]string{"Retry-After": ""}, nil}},
		{"/api/v2/tickets/7/metrics.json", answer{200, map[string]string{"Retry-After": ""}, map[string]any{"malformed": true}}},
		{"/api/v2/tickets/7/metrics.json", answer{403, map[string]string{"Retry-After": ""},
			map[string]any{"error": "Forbidden", "description": "injected fault"}}},
	}
	for i, tc := range tests {
		clk.Advance(time.Second)
		got, b := send(t, s, tc.path, "", "Retry-After")
		switch {
		case tc.want.Body == nil:
			got.Body = nil // a served answer: its body is pinned elsewhere
		case got.Body == nil && string(b) == `{"tickets":[{"id":1,`:
			got.Body = map[string]any{"malformed": true}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("request %d %s: got %+v\nwant %+v", i+1, tc.path, got, tc.want)
		}
	}
	wantCounts := map[string]int64{"GET /api/v2/tickets/{id}": 2, "GET /api/v2/incremental/organizations": 2,
		"GET /api/v2/incremental/tickets/cursor": 1, "GET /api/v2/tickets/{id}/metrics": 2}
	if got := s.Counts(); !reflect.DeepEqual(got, wantCounts) {
		t.Errorf("Counts = %v, want %v", got, wantCounts)
	}
	if got := s.Throttled(); got != 2 {
		t.Errorf("Throttled = %d, want the 2 injected 429s", got)
	}
	var times []time.Time
	for _, r := range s.Requests() {
		times = append(times, r.Time)
	}
	if len(times) != len(tests) || !times[0].Equal(t0.Add(time.Second)) || !times[len(times)-1].Equal(t0.Add(time.Duration(len(tests))*time.Second)) {
		t.Errorf("request times %v, want the fake clock from t0+1s, one second apart", times)
	}
}

// TestOrganizationExportSeesChanges pins that the organization order kept
// between pages (so that a page costs O(per_page)) follows each change: an
// organization put and one deleted (updated_at moves to the clock).
func TestOrganizationExportSeesChanges(t *testing.T) {
	s, clk := newFake(t, Options{ExportRateLimit: -1})
	base := t0.Add(-2 * time.Hour)
	for i := range 3 {
		s.PutOrganization(Organization{ID: int64(i + 1), UpdatedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	export := func() []float64 {
		return ids(t, get(t, s, "/api/v2/incremental/organizations.json?start_time=0", "").Body, "organizations")
	}
	steps := []struct {
		name   string
		change func()
		want   []float64
	}{
		{"as put", func() {}, []float64{1, 2, 3}},
		{"put", func() { s.PutOrganization(Organization{ID: 4, UpdatedAt: base.Add(30 * time.Second)}) }, []float64{1, 4, 2, 3}},
		{"deleted", func() { s.DeleteOrganization(1); clk.Advance(2 * time.Minute) }, []float64{4, 2, 3, 1}},
	}
	for _, st := range steps {
		st.change()
		if got := export(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: organizations %v, want %v", st.name, got, st.want)
		}
	}
}
