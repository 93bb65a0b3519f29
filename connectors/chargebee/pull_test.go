package chargebee_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

func seedBasic(w *world) {
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemType: "plan", PricingModel: "per_unit", Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
	for i := range 3 {
		id := fmt.Sprintf("cus_%d", i)
		c := chargebeetest.Customer{ID: id, Company: "Acme " + id, Email: id + "@example.com", CreatedAt: unix(t0) - 1000 + int64(i), UpdatedAt: unix(t0) - 500}
		if i == 2 {
			c.UpdatedAt = 0 // a legacy record without updated_at
		}
		w.fake.PutCustomer(c)
		w.fake.PutSubscription(chargebeetest.Subscription{
			ID: "sub_" + strconv.Itoa(i), CustomerID: id, Status: "active", CurrencyCode: "USD",
			BillingPeriod: 1, BillingPeriodUnit: "month", CreatedAt: unix(t0) - 1000 + int64(i), UpdatedAt: unix(t0) - 400,
			SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: "pro-USD-monthly", ItemType: "plan", Quantity: 2, UnitPrice: 1000, Amount: 2000}},
		})
		w.fake.PutInvoice(chargebeetest.Invoice{ID: "inv_" + strconv.Itoa(i), CustomerID: id, SubscriptionID: "sub_" + strconv.Itoa(i),
			Status: "paid", CurrencyCode: "USD", Total: 2000, AmountPaid: 2000, Date: unix(t0) - 900, UpdatedAt: unix(t0) - 300})
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func TestPullFullThenIncremental(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{PageSize: 2, Overlap: time.Minute})
	seedBasic(w)

	// First load: every stream complete, no updated_at filter.
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})
	streams := byStream(first)
	var custs []record.Customer
	for _, b := range streams["customers"] {
		custs = append(custs, b.Customers...)
	}
	if got, want := ids(custs, func(c record.Customer) string { return c.ID }), []string{"cus_0", "cus_1", "cus_2"}; !slices.Equal(got, want) {
		t.Fatalf("first load customers = %v, want %v (the one without updated_at included)", got, want)
	}
	for stream, bs := range streams {
		for i, b := range bs {
			last := i == len(bs)-1
			if !b.Full || b.Done != last || (b.Cursor != nil) != last {
				t.Errorf("%s batch %d/%d: Full=%v Done=%v cursor=%q; want Full, Done and a cursor only on the last", stream, i+1, len(bs), b.Full, b.Done, b.Cursor)
			}
		}
	}
	for _, r := range w.fake.Requests() {
		if r.Query.Has("updated_at[after]") {
			t.Errorf("first load sent updated_at[after] to %s", r.Path)
		}
	}
	cursors := lastCursors(first)
	if got, want := string(cursors["subscriptions"]), fmt.Sprintf(`{"updated_after":%d}`, unix(t0)); got != want {
		t.Errorf("subscriptions cursor after full load = %s, want %s", got, want)
	}

	// Changes after the first load.
	w.clk.Advance(10 * time.Minute)
	if err := w.fake.UpdateSubscription("sub_1", func(s *chargebeetest.Subscription) { s.SubscriptionItems[0].Quantity = 5 }); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Minute)
	if err := w.fake.DeleteSubscription("sub_2"); err != nil {
		t.Fatal(err)
	}
	w.fake.ResetCounts()

	second := pullAll(t, w.client, record.PullRequest{Cursors: cursors, Now: w.clk.Now()})
	streams = byStream(second)
	if n := len(streams["customers"]); n != 1 || streams["customers"][0].Len() != 0 || streams["customers"][0].Cursor != nil {
		t.Errorf("incremental customers: %d batches, want one empty batch that keeps the cursor", n)
	}
	var subs []record.Subscription
	var deleted []record.Ref
	for _, b := range streams["subscriptions"] {
		if b.Full {
			t.Errorf("incremental batch marked Full")
		}
		subs = append(subs, b.Subscriptions...)
		deleted = append(deleted, b.Deleted...)
	}
	if len(subs) != 1 || subs[0].ID != "sub_1" || subs[0].Items[0].Quantity != 5 {
		t.Fatalf("incremental subscriptions = %+v, want sub_1 with quantity 5", subs)
	}
	if len(deleted) != 1 || deleted[0].ID != "sub_2" {
		t.Errorf("incremental deletions = %+v, want sub_2", deleted)
	}
	want := unix(t0.Add(11 * time.Minute))
	if got := string(lastCursors(second)["subscriptions"]); got != fmt.Sprintf(`{"updated_after":%d}`, want) {
		t.Errorf("incremental cursor = %s, want updated_after %d", got, want)
	}
	var sawSubs bool
	for _, r := range w.fake.Requests() {
		if r.Path != "/api/v2/subscriptions" {
			continue
		}
		sawSubs = true
		if got, want := r.Query.Get("updated_at[after]"), strconv.FormatInt(unix(t0)-60, 10); got != want {
			t.Errorf("updated_at[after] = %q, want cursor minus overlap %q", got, want)
		}
		if r.Query.Get("sort_by[asc]") != "updated_at" || r.Query.Get("include_deleted") != "true" {
			t.Errorf("incremental query = %v, want sort_by[asc]=updated_at and include_deleted=true", r.Query)
		}
	}
	if !sawSubs {
		t.Error("no subscriptions request in the incremental pull")
	}
}

func TestPullFollowsNextOffsetToTheEnd(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{PageSize: 5})
	for i := range 23 {
		w.fake.PutSubscription(chargebeetest.Subscription{ID: fmt.Sprintf("sub_%02d", i), CustomerID: "c", Status: "active", CurrencyCode: "EUR",
			CreatedAt: unix(t0) + int64(i%4), UpdatedAt: unix(t0)})
	}
	var got []string
	pages := 0
	for _, b := range byStream(pullAll(t, w.client, record.PullRequest{}))["subscriptions"] {
		pages++
		for _, s := range b.Subscriptions {
			got = append(got, s.ID)
		}
	}
	slices.Sort(got)
	if len(got) != 23 || len(slices.Compact(slices.Clone(got))) != 23 {
		t.Fatalf("got %d subscriptions (%d distinct), want 23 distinct: %v", len(got), len(slices.Compact(slices.Clone(got))), got)
	}
	if pages != 5 || w.fake.Count("GET /api/v2/subscriptions") != 5 {
		t.Errorf("pages = %d, list calls = %d; want 5 and 5", pages, w.fake.Count("GET /api/v2/subscriptions"))
	}
}

func TestPullRepeatedOffsetIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v2/customers" {
			fmt.Fprint(rw, `{"list":[{"customer":{"id":"c1","deleted":false}}],"next_offset":"[\"1\",\"2\"]"}`)
			return
		}
		fmt.Fprint(rw, `{"list":[]}`)
	}))
	defer srv.Close()
	c, err := chargebee.New(testConfig(srv.URL), chargebee.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var gotErr error
	n := 0
	for _, err := range c.Pull(context.Background(), record.PullRequest{}) {
		if err != nil {
			gotErr = err
			break
		}
		if n++; n > 5 {
			t.Fatal("pull keeps going on a repeated next_offset")
		}
	}
	if !errors.Is(gotErr, chargebee.ErrRepeatedOffset) {
		t.Fatalf("err = %v, want ErrRepeatedOffset", gotErr)
	}
}

func TestRateLimitBackoffAndRecovery(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		wantErr  bool
	}{
		{name: "two 429 then recovery", failures: 2},
		{name: "429 beyond retry budget", failures: 10, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
			seedBasic(w)
			w.fake.InjectFault(chargebeetest.Fault{Path: "/api/v2/customers", Times: tc.failures, Status: http.StatusTooManyRequests})
			var custs int
			var gotErr error
			for b, err := range w.client.Pull(context.Background(), record.PullRequest{}) {
				if err != nil {
					gotErr = err
					break
				}
				custs += len(b.Customers)
			}
			if tc.wantErr {
				var he *httpclient.Error
				if !errors.As(gotErr, &he) || he.Status != 429 || he.Code != "api_request_limit_exceeded" || !he.Temporary() {
					t.Fatalf("err = %#v, want a temporary *httpclient.Error 429 api_request_limit_exceeded", gotErr)
				}
				return
			}
			if gotErr != nil || custs != 3 {
				t.Fatalf("pull after 429s: err=%v customers=%d, want 3", gotErr, custs)
			}
			if st := w.client.Stats(); st.Throttled != 2 || st.Retries != 2 {
				t.Errorf("stats = %+v, want 2 throttled and 2 retries", st)
			}
			if w.fake.Throttled() != 2 {
				t.Errorf("fake throttled = %d, want 2", w.fake.Throttled())
			}
		})
	}
}

func TestErrorsAreTypedAndRedacted(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{APIKey: "another_key_999"}, chargebee.Options{})
	_, err := w.client.Fetch(context.Background(), "subscription", "sub_1")
	var he *httpclient.Error
	if !errors.As(err, &he) || he.Status != 401 || he.Code != "api_authentication_failed" || he.Vendor != record.Chargebee || he.Temporary() {
		t.Fatalf("err = %#v, want permanent 401 api_authentication_failed", err)
	}
	if s := err.Error(); strings.Contains(s, apiKey) {
		t.Errorf("error leaks the API key: %s", s)
	}
}

func TestMalformedResponse(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	seedBasic(w)
	w.fake.InjectFault(chargebeetest.Fault{Path: "/api/v2/customers", Malformed: true})
	for _, err := range w.client.Pull(context.Background(), record.PullRequest{}) {
		if err == nil {
			t.Fatal("want a decoding error on a truncated body")
		}
		return
	}
}

// TestDefaultRateLimitKeepsUnderTheSiteLimit pins the budget a client uses
// without rate_limit: at most 150 requests in any 60 seconds (docs: "What
// are the Chargebee API limits?", test sites and the Starter plan), so a
// first load of a large site is not blocked. With a burst of 30 and 2 a
// second, 32 calls take at least (32 - 30) x 0.5 s = 1 s; without a limiter
// they took a few milliseconds and a 20,000-subscription load sent 401
// requests in 5 s.
func TestDefaultRateLimitKeepsUnderTheSiteLimit(t *testing.T) {
	r := chargebee.DefaultRateLimit
	if perMinute := r.Burst + r.Requests*int(time.Minute/r.Per.D()); perMinute > 150 {
		t.Fatalf("DefaultRateLimit allows %d requests in 60 s, over 150", perMinute)
	}
	fake := chargebeetest.NewServer(chargebeetest.Options{APIKey: apiKey, RateLimit: 150})
	t.Cleanup(fake.Close)
	fake.PutCustomer(chargebeetest.Customer{ID: "cus_1", Company: "Acme"})
	cfg := testConfig(fake.URL)
	cfg.RateLimit = config.RateLimit{}
	c, err := chargebee.New(cfg, chargebee.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 32 {
		if _, err := c.Fetch(context.Background(), "customer", "cus_1"); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("32 calls took %v, want at least ~1 s under the default budget", took)
	}
	if fake.Throttled() != 0 {
		t.Errorf("fake throttled %d requests", fake.Throttled())
	}
}

// TestRequestsStayInsideTheContract pins what the client sends against the
// limits in CONTRACT.md: a page size asked above Chargebee's maximum is
// clamped to limit=100 (the fake refuses 101), lists use only limit, offset
// (the previous next_offset), updated_at[after], sort_by[asc]=updated_at and
// include_deleted=true, and every request authenticates with the API key as
// Basic user name (the fake answers 401 otherwise).
func TestRequestsStayInsideTheContract(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{PageSize: 1000})
	seedBasic(w)
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})
	w.clk.Advance(time.Hour)
	pullAll(t, w.client, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()})
	allowed := map[string]bool{"limit": true, "offset": true, "updated_at[after]": true, "sort_by[asc]": true, "include_deleted": true}
	lists := 0
	for _, r := range w.fake.Requests() {
		if strings.HasSuffix(r.Key, "{id}") {
			continue
		}
		lists++
		if got := r.Query.Get("limit"); got != "100" {
			t.Errorf("%s: limit=%q, want 100", r.Path, got)
		}
		for k := range r.Query {
			if !allowed[k] {
				t.Errorf("%s: parameter %q outside the contract", r.Path, k)
			}
		}
	}
	if lists == 0 || w.fake.Throttled() != 0 {
		t.Errorf("%d list requests, %d throttled; want some and none", lists, w.fake.Throttled())
	}
}
