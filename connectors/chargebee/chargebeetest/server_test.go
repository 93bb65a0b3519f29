package chargebeetest

import (
	"context"
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
	s := NewServer(Options{APIKey: "k", Now: clk.Now, RateLimit: 9})
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
		{name: "include_deleted not a boolean", key: "k", path: "/api/v2/subscriptions", q: url.Values{"include_deleted": {"yes"}}, wantStatus: 400, wantCode: "param_wrong_value"},
		{name: "two sort directions", key: "k", path: "/api/v2/subscriptions", q: url.Values{"sort_by[asc]": {"updated_at"}, "sort_by[desc]": {"created_at"}}, wantStatus: 400, wantCode: "param_wrong_value"},
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
	if got := s.Count("GET /api/v2/subscriptions"); got != 10 {
		t.Errorf("count = %d, want 10", got)
	}
}

// TestSeedingFollowsTheDocs pins the attributes the fake derives as
// Chargebee does: a line's discount_amount is the total of its
// line_item_discounts and includes the item-level ones ("Invoices >
// line_items"), and included_in_mrr is false on any discount or coupon that
// is not one_time ("Subscriptions > discounts[].included_in_mrr", "Coupons >
// included_in_mrr").
func TestSeedingFollowsTheDocs(t *testing.T) {
	s := NewServer(Options{APIKey: "k"})
	defer s.Close()
	s.PutInvoice(Invoice{ID: "inv_1", CustomerID: "c", Status: "paid", CurrencyCode: "USD",
		LineItems: []LineItem{{ID: "li_1", Amount: 5000}, {ID: "li_2", Amount: 100, ItemLevelDiscountAmount: 30}},
		LineItemDiscounts: []LineItemDiscount{
			{LineItemID: "li_1", DiscountType: "item_level_coupon", DiscountAmount: 150},
			{LineItemID: "li_1", DiscountType: "document_level_coupon", DiscountAmount: 100},
		}})
	s.PutSubscription(Subscription{ID: "sub_1", CustomerID: "c", Status: "active", CurrencyCode: "USD", Discounts: []Discount{
		{ID: "d_once", Type: "percentage", Percentage: 5, DurationType: "one_time", IncludedInMRR: true, ApplyOn: "invoice_amount"},
		{ID: "d_forever", Type: "percentage", Percentage: 5, DurationType: "forever", IncludedInMRR: true, ApplyOn: "invoice_amount"},
	}})
	s.PutCoupon(Coupon{ID: "C1", DiscountType: "percentage", DiscountPercentage: 5, DurationType: "forever", IncludedInMRR: true})

	_, inv := get(t, s, "k", "/api/v2/invoices/inv_1", nil)
	type totals struct{ Discount, ItemLevel float64 }
	var gotLines []totals
	for _, l := range inv["invoice"].(map[string]any)["line_items"].([]any) {
		m := l.(map[string]any)
		gotLines = append(gotLines, totals{m["discount_amount"].(float64), m["item_level_discount_amount"].(float64)})
	}
	if want := []totals{{250, 150}, {30, 30}}; !reflect.DeepEqual(gotLines, want) {
		t.Errorf("line discount totals = %v, want %v", gotLines, want)
	}
	_, sub := get(t, s, "k", "/api/v2/subscriptions/sub_1", nil)
	var gotIncl []bool
	for _, d := range sub["subscription"].(map[string]any)["discounts"].([]any) {
		gotIncl = append(gotIncl, d.(map[string]any)["included_in_mrr"].(bool))
	}
	if want := []bool{true, false}; !reflect.DeepEqual(gotIncl, want) {
		t.Errorf("discounts included_in_mrr = %v, want %v", gotIncl, want)
	}
	_, cp := get(t, s, "k", "/api/v2/coupons/C1", nil)
	if c := cp["coupon"].(map[string]any); c["included_in_mrr"] != false || c["apply_on"] != "invoice_amount" {
		t.Errorf("coupon = %v, want included_in_mrr false and apply_on invoice_amount", c)
	}
}

// TestRateLimitIsASlidingMinute pins Chargebee's "requests in the past 60
// seconds" ("What are the Chargebee API limits?"): with a limit of 3, three
// requests at 0:50 and none before, a fourth at 1:10 (a new clock minute) is
// still refused, and it is served once the first is 60 s old.
func TestRateLimitIsASlidingMinute(t *testing.T) {
	clk := &testClock{t: time.Unix(1_700_000_000, 0).Truncate(time.Minute).Add(50 * time.Second)}
	s := NewServer(Options{APIKey: "k", Now: clk.Now, RateLimit: 3})
	defer s.Close()
	step := func(d time.Duration) { clk.mu.Lock(); clk.t = clk.t.Add(d); clk.mu.Unlock() }
	var got []int
	for _, d := range []time.Duration{0, 0, 0, 20 * time.Second, 39 * time.Second, time.Second} {
		step(d)
		status, _ := get(t, s, "k", "/api/v2/customers", nil)
		got = append(got, status)
	}
	if want := []int{200, 200, 200, 429, 429, 200}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
}

// TestConcurrentRequestsLimit pins the concurrent-request limit (same
// page): with MaxConcurrent 1 and a request held in flight, a second one
// is answered 429 api_request_limit_exceeded.
func TestConcurrentRequestsLimit(t *testing.T) {
	s := NewServer(Options{APIKey: "k", MaxConcurrent: 1})
	defer s.Close()
	s.InjectFault(Fault{Path: "/api/v2/customers", Delay: 5 * time.Second, Status: http.StatusGatewayTimeout})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/customers", nil)
		req.SetBasicAuth("k", "")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for s.Count("GET /api/v2/customers") == 0 {
		time.Sleep(time.Millisecond)
	}
	status, body := get(t, s, "k", "/api/v2/subscriptions", nil)
	cancel()
	<-done
	if status != 429 || body["api_error_code"] != "api_request_limit_exceeded" {
		t.Errorf("second concurrent request: %d %v, want 429 api_request_limit_exceeded", status, body)
	}
	// The server notices the cancelled request asynchronously: once it has,
	// requests are served again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := get(t, s, "k", "/api/v2/subscriptions", nil)
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first request ended: %d, want 200", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
