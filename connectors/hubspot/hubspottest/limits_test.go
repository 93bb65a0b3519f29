package hubspottest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSearchRequestLimits pins the search API's request limits: 5 filter
// groups, 10 filters in a group, 25 in all, a query of 3,000 characters.
func TestSearchRequestLimits(t *testing.T) {
	group := func(n int) string {
		fs := make([]string, n)
		for i := range fs {
			fs[i] = `{"propertyName":"name","operator":"HAS_PROPERTY"}`
		}
		return `{"filters":[` + strings.Join(fs, ",") + `]}`
	}
	body := func(query string, groups ...int) string {
		gs := make([]string, len(groups))
		for i, n := range groups {
			gs[i] = group(n)
		}
		return fmt.Sprintf(`{"filterGroups":[%s],"sorts":[],"properties":[],"limit":10,"after":"0","query":%q}`, strings.Join(gs, ","), query)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"5 groups of 5 filters", body("", 5, 5, 5, 5, 5), http.StatusOK},
		{"6 groups", body("", 1, 1, 1, 1, 1, 1), http.StatusBadRequest},
		{"10 filters in a group", body("", 10), http.StatusOK},
		{"11 filters in a group", body("", 11), http.StatusBadRequest},
		{"26 filters in all", body("", 10, 10, 6), http.StatusBadRequest},
		{"query of 3000 characters", body(strings.Repeat("a", 3000)), http.StatusOK},
		{"query of 3001 characters", body(strings.Repeat("a", 3001)), http.StatusBadRequest},
	}
	s := NewServer(Options{AccessToken: "tok"})
	defer s.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := call(t, s, "POST", "/crm/v3/objects/companies/search", tc.body)
			if status != tc.want {
				t.Errorf("status = %d, want %d: %v", status, tc.want, got)
			}
			if status == http.StatusBadRequest && got["category"] != "VALIDATION_ERROR" {
				t.Errorf("body = %v, want category VALIDATION_ERROR", got)
			}
		})
	}
}

// TestOAuthCallsHaveNoDailyLimit: requests with an OAuth token get no
// X-HubSpot-RateLimit-Daily headers and no DAILY 429; the private app
// token gets both.
func TestOAuthCallsHaveNoDailyLimit(t *testing.T) {
	s := NewServer(Options{AccessToken: "pat", ClientID: "cid", ClientSecret: "cs", RefreshToken: "rt", DailyLimit: 1})
	defer s.Close()
	resp, err := http.PostForm(s.URL+"/oauth/v1/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"cid"}, "client_secret": {"cs"}, "refresh_token": {"rt"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, resp, &tok)
	get := func(token string) (int, string, string) {
		req, _ := http.NewRequest("GET", s.URL+"/crm/v3/objects/companies", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-HubSpot-RateLimit-Daily"), resp.Header.Get("X-HubSpot-RateLimit-Max")
	}
	type answer struct {
		status     int
		daily, max string
	}
	var got []answer
	for _, tk := range []string{"pat", "pat", tok.AccessToken, tok.AccessToken} {
		st, d, m := get(tk)
		got = append(got, answer{st, d, m})
	}
	want := []answer{{200, "1", "100"}, {429, "1", "100"}, {200, "", "100"}, {200, "", "100"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers = %v, want %v", got, want)
	}
}

// TestTaskCreateNeedsTimestamp: hs_timestamp is required to create a task.
func TestTaskCreateNeedsTimestamp(t *testing.T) {
	s := NewServer(Options{AccessToken: "tok"})
	defer s.Close()
	status, got := call(t, s, "POST", "/crm/v3/objects/tasks/batch/create", `{"inputs":[{"properties":{"hs_task_subject":"x","hs_timestamp":"1740830400000"}},{"properties":{"hs_task_subject":"y"}}]}`)
	if status != http.StatusBadRequest || got["category"] != "VALIDATION_ERROR" || len(s.Objects("tasks")) != 0 {
		t.Errorf("status %d, body %v, %d tasks stored; want 400 VALIDATION_ERROR and none", status, got, len(s.Objects("tasks")))
	}
}

// TestPageAndBatchLimits pins the page sizes and batch sizes: search pages
// of at most 200, no paging past 10,000 results, at most 100 inputs a batch
// (1,000 for the associations batch read).
func TestPageAndBatchLimits(t *testing.T) {
	inputs := func(n int, one string) string {
		xs := make([]string, n)
		for i := range xs {
			xs[i] = fmt.Sprintf(one, i+1)
		}
		return `{"inputs":[` + strings.Join(xs, ",") + `]}`
	}
	search := func(limit int, after string) string {
		return fmt.Sprintf(`{"filterGroups":[],"sorts":[],"properties":[],"limit":%d,"after":%q}`, limit, after)
	}
	tests := []struct {
		name, path, body string
		want             int
	}{
		{"search limit 200", "/crm/v3/objects/companies/search", search(200, "0"), http.StatusOK},
		{"search limit 201", "/crm/v3/objects/companies/search", search(201, "0"), http.StatusBadRequest},
		{"search after 9999", "/crm/v3/objects/companies/search", search(1, "9999"), http.StatusOK},
		{"search after 10000", "/crm/v3/objects/companies/search", search(1, "10000"), http.StatusBadRequest},
		{"batch update of 100", "/crm/v3/objects/companies/batch/update", inputs(100, `{"id":"%d","properties":{"name":"x"}}`), http.StatusMultiStatus},
		{"batch update of 101", "/crm/v3/objects/companies/batch/update", inputs(101, `{"id":"%d","properties":{"name":"x"}}`), http.StatusBadRequest},
		{"batch create of 101", "/crm/v3/objects/companies/batch/create", inputs(101, `{"properties":{"name":"c%d"}}`), http.StatusBadRequest},
		{"batch read of 101", "/crm/v3/objects/companies/batch/read", inputs(101, `{"id":"%d"}`), http.StatusBadRequest},
		{"association batch read of 1000", "/crm/v4/associations/deals/companies/batch/read", inputs(1000, `{"id":"%d"}`), http.StatusOK},
		{"association batch read of 1001", "/crm/v4/associations/deals/companies/batch/read", inputs(1001, `{"id":"%d"}`), http.StatusBadRequest},
	}
	s := NewServer(Options{AccessToken: "tok"})
	defer s.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := call(t, s, "POST", tc.path, tc.body)
			if status != tc.want {
				t.Errorf("status = %d, want %d: %v", status, tc.want, got)
			}
		})
	}
}

// TestSearchSecondlyLimit: the search endpoints have their own per-second
// budget, answered with a 429 whose policyName is SECONDLY.
func TestSearchSecondlyLimit(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	s := NewServer(Options{AccessToken: "tok", SearchPerSecond: 2, Now: func() time.Time { return now }})
	defer s.Close()
	body := `{"filterGroups":[],"sorts":[],"properties":[],"limit":1,"after":"0"}`
	var got []string
	for range 3 {
		status, b := call(t, s, "POST", "/crm/v3/objects/companies/search", body)
		got = append(got, fmt.Sprint(status, " ", b["policyName"]))
	}
	now = now.Add(time.Second)
	status, b := call(t, s, "POST", "/crm/v3/objects/companies/search", body)
	got = append(got, fmt.Sprint(status, " ", b["policyName"]))
	if want := []string{"200 <nil>", "200 <nil>", "429 SECONDLY", "200 <nil>"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers = %v, want %v", got, want)
	}
}
