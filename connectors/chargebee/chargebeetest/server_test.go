package chargebeetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func get(t *testing.T, s *Server, key, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path+"?"+q.Encode(), nil)
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: body %q: %v", path, b, err)
	}
	return resp.StatusCode, m
}

func TestServerErrorsAndFilters(t *testing.T) {
	clk := &testClock{t: time.Unix(1_700_000_000, 0)}
	s := NewServer(Options{APIKey: "k", Now: clk.Now, RateLimit: 7})
	defer s.Close()
	for i, st := range []string{"active", "in_trial", "cancelled"} {
		s.PutSubscription(Subscription{ID: "sub_" + st, CustomerID: "c", Status: st, CurrencyCode: "USD", UpdatedAt: int64(1_700_000_000 + i)})
	}
	s.PutSubscription(Subscription{ID: "sub_legacy", CustomerID: "c", Status: "active", CurrencyCode: "USD"}) // no updated_at

	tests := []struct {
		name       string
		key, path  string
		q          url.Values
		wantStatus int
		wantCode   string
		wantIDs    []string
	}{
		{name: "no auth", path: "/api/v2/subscriptions", wantStatus: 401, wantCode: "api_authentication_failed"},
		{name: "wrong key", key: "x", path: "/api/v2/subscriptions", wantStatus: 401, wantCode: "api_authentication_failed"},
		{name: "limit too large", key: "k", path: "/api/v2/subscriptions", q: url.Values{"limit": {"101"}}, wantStatus: 400, wantCode: "param_wrong_value"},
		{name: "unknown filter", key: "k", path: "/api/v2/subscriptions", q: url.Values{"plan[is]": {"x"}}, wantStatus: 400, wantCode: "param_wrong_value"},
		{name: "unknown resource", key: "k", path: "/api/v2/widgets", wantStatus: 404, wantCode: "resource_not_found"},
		{name: "status in", key: "k", path: "/api/v2/subscriptions", q: url.Values{"status[in]": {`["active","in_trial"]`}, "sort_by[asc]": {"updated_at"}},
			wantStatus: 200, wantIDs: []string{"sub_legacy", "sub_active", "sub_in_trial"}},
		{name: "updated_at after skips null updated_at", key: "k", path: "/api/v2/subscriptions", q: url.Values{"updated_at[after]": {"1699999999"}, "sort_by[asc]": {"updated_at"}},
			wantStatus: 200, wantIDs: []string{"sub_active", "sub_in_trial", "sub_cancelled"}},
		{name: "rate limit exceeded", key: "k", path: "/api/v2/subscriptions", wantStatus: 429, wantCode: "api_request_limit_exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.key, tc.path, tc.q)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tc.wantStatus, body)
			}
			if tc.wantCode != "" {
				if body["api_error_code"] != tc.wantCode || body["error_code"] != tc.wantCode || body["http_status_code"] != float64(status) || body["message"] == "" {
					t.Errorf("error body = %v, want api_error_code %s", body, tc.wantCode)
				}
				return
			}
			var got []string
			for _, e := range body["list"].([]any) {
				got = append(got, e.(map[string]any)["subscription"].(map[string]any)["id"].(string))
			}
			if !reflect.DeepEqual(got, tc.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tc.wantIDs)
			}
		})
	}
	if s.Throttled() != 1 {
		t.Errorf("throttled = %d, want 1", s.Throttled())
	}
	clk.mu.Lock()
	clk.t = clk.t.Add(time.Minute)
	clk.mu.Unlock()
	if status, _ := get(t, s, "k", "/api/v2/subscriptions", nil); status != 200 {
		t.Errorf("after the window: status %d, want 200", status)
	}
	if got := s.Count("GET /api/v2/subscriptions"); got != 8 {
		t.Errorf("count = %d, want 8", got)
	}
}
