package stripetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// get sends GET srv.URL+uri with the test key and version and decodes the
// JSON answer.
func get(t *testing.T, srv *stripetest.Server, version, uri string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk_test_rules")
	req.Header.Set("Stripe-Version", version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v in %s", uri, err, b)
	}
	return resp.StatusCode, m
}

// answer is a request and the answer the fake must give: the status and,
// when body is not nil, the whole JSON body.
type answer struct {
	name, version, uri string
	status             int
	body               map[string]any
}

func checkAnswers(t *testing.T, srv *stripetest.Server, cases []answer) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv, tc.version, tc.uri)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.body != nil && !reflect.DeepEqual(body, tc.body) {
				t.Errorf("body =\n%v\nwant\n%v", body, tc.body)
			}
		})
	}
}

type ruleWorld struct {
	srv    *stripetest.Server
	tiered stripetest.Price
	coupon stripetest.Coupon
	sub    stripetest.Subscription
}

func newRuleWorld(t *testing.T) ruleWorld {
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	t.Cleanup(srv.Close)
	c := srv.AddCustomer(stripetest.Customer{Name: "Rules"})
	tiered := srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", BillingScheme: "tiered", TiersMode: "volume",
		Tiers: []stripetest.Tier{{UpTo: 5, UnitAmount: 700}, {UnitAmount: 500}}})
	coupon := srv.AddCoupon(stripetest.Coupon{ID: "ITEM10", PercentOff: 10, Duration: "forever"})
	sub, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID,
		Items: []stripetest.SubscriptionItem{{Price: tiered.ID, Quantity: 3, Coupons: []string{coupon.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	return ruleWorld{srv, tiered, coupon, sub}
}

// TestFakeRefusesDeepExpansions pins "Expanding Responses"
// (https://docs.stripe.com/api/expanding_objects): at most four levels,
// the "data" of a list counting as one, answered with Stripe's error JSON.
func TestFakeRefusesDeepExpansions(t *testing.T) {
	w := newRuleWorld(t)
	tooDeep := func(path string) map[string]any {
		return map[string]any{"error": map[string]any{"type": "invalid_request_error", "param": "expand",
			"message": "You cannot expand more than 4 levels of a property. Property: " + path}}
	}
	checkAnswers(t, w.srv, []answer{
		{"list, five levels", "2025-03-31.basil", "/v1/subscriptions?expand[]=data.items.data.price.tiers", 400, tooDeep("data.items.data.price.tiers")},
		{"list, four levels", "2025-03-31.basil", "/v1/subscriptions?expand[]=data.items.data.discounts", 200, nil},
		{"list, indexed form", "2025-03-31.basil", "/v1/subscriptions?expand[0]=data.items.data.price.tiers", 400, tooDeep("data.items.data.price.tiers")},
		{"retrieve, four levels", "2025-03-31.basil", "/v1/subscriptions/" + w.sub.ID + "?expand[]=items.data.price.tiers", 200, nil},
		{"retrieve, five levels", "2025-09-30.clover", "/v1/subscriptions/" + w.sub.ID + "?expand[]=items.data.discounts.source.coupon", 400, tooDeep("items.data.discounts.source.coupon")},
		{"clover list coupon, four levels", "2025-09-30.clover", "/v1/subscriptions?expand[]=data.discounts.source.coupon", 200, nil},
		{"item list, four levels", "2025-09-30.clover", "/v1/subscription_items?subscription=" + w.sub.ID + "&expand[]=data.discounts.source.coupon", 200, nil},
	})
}

// TestFakeServesPricesWithTiers pins "Retrieve a price" with tiers
// included only when expanded ("The Price object": tiers).
func TestFakeServesPricesWithTiers(t *testing.T) {
	w := newRuleWorld(t)
	_, plain := get(t, w.srv, "2025-03-31.basil", "/v1/prices/"+w.tiered.ID)
	if _, ok := plain["tiers"]; ok {
		t.Errorf("tiers present without expand: %v", plain["tiers"])
	}
	_, full := get(t, w.srv, "2025-03-31.basil", "/v1/prices/"+w.tiered.ID+"?expand[]=tiers")
	want := []any{
		map[string]any{"flat_amount": 0.0, "flat_amount_decimal": "0", "unit_amount": 700.0, "unit_amount_decimal": "700", "up_to": 5.0},
		map[string]any{"flat_amount": 0.0, "flat_amount_decimal": "0", "unit_amount": 500.0, "unit_amount_decimal": "500", "up_to": nil},
	}
	if !reflect.DeepEqual(full["tiers"], want) {
		t.Errorf("tiers = %v, want %v", full["tiers"], want)
	}
	status, missing := get(t, w.srv, "2025-03-31.basil", "/v1/prices/price_nope")
	wantMissing := map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
		"doc_url": "https://stripe.com/docs/error-codes/resource-missing", "param": "id", "message": "No such price: 'price_nope'"}}
	if status != 404 || !reflect.DeepEqual(missing, wantMissing) {
		t.Errorf("missing price: %d %v", status, missing)
	}
}

// TestFakeDiscountShapePerVersion pins the discount shapes: the coupon
// embedded before clover; from 2025-09-30.clover under source.coupon, an ID
// unless expanded (changelog "Adds the Discount source property and removes
// the Discount coupon property"). Item discounts are IDs unless expanded.
func TestFakeDiscountShapePerVersion(t *testing.T) {
	w := newRuleWorld(t)
	itemDiscount := func(version, expand string) any {
		_, sub := get(t, w.srv, version, "/v1/subscriptions/"+w.sub.ID+expand)
		it := sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
		ds := it["discounts"].([]any)
		if len(ds) != 1 {
			t.Fatalf("%s: item discounts %v", version, ds)
		}
		return ds[0]
	}
	d := w.sub.Items[0].Discounts[0]
	if got := itemDiscount("2025-03-31.basil", ""); got != d.ID {
		t.Errorf("unexpanded item discount = %v, want the ID %s", got, d.ID)
	}
	basil := itemDiscount("2025-03-31.basil", "?expand[]=items.data.discounts").(map[string]any)
	if c, _ := basil["coupon"].(map[string]any); c["id"] != w.coupon.ID || c["percent_off"] != 10.0 {
		t.Errorf("basil discount coupon = %v", basil["coupon"])
	}
	if _, ok := basil["source"]; ok {
		t.Errorf("basil discount has source: %v", basil)
	}
	clover := itemDiscount("2025-09-30.clover", "?expand[]=items.data.discounts").(map[string]any)
	if _, ok := clover["coupon"]; ok {
		t.Errorf("clover discount still has coupon: %v", clover)
	}
	if want := map[string]any{"type": "coupon", "coupon": w.coupon.ID}; !reflect.DeepEqual(clover["source"], want) {
		t.Errorf("clover source = %v, want %v", clover["source"], want)
	}
	if clover["subscription_item"] != w.sub.Items[0].ID {
		t.Errorf("clover discount subscription_item = %v", clover["subscription_item"])
	}
}

// TestFakeListLimits pins the list rules: limit between 1 and 100
// ("Pagination", https://docs.stripe.com/api/pagination), one of
// starting_after and ending_before, and at most 20 exact types[] on events
// ("List all events", https://docs.stripe.com/api/events/list).
func TestFakeListLimits(t *testing.T) {
	w := newRuleWorld(t)
	types := ""
	for range 21 {
		types += "&types[]=invoice.paid"
	}
	badLimit := map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "parameter_invalid_integer",
		"doc_url": "https://stripe.com/docs/error-codes/parameter-invalid-integer", "param": "limit",
		"message": "This value must be greater than or equal to 1 and less than or equal to 100."}}
	const v = "2025-03-31.basil"
	checkAnswers(t, w.srv, []answer{
		{"limit 100", v, "/v1/customers?limit=100", 200, nil},
		{"limit 101", v, "/v1/customers?limit=101", 400, badLimit},
		{"limit 0", v, "/v1/customers?limit=0", 400, badLimit},
		{"both cursors", v, "/v1/customers?starting_after=a&ending_before=b", 400, map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "param": "ending_before",
			"message": "You may only specify one of these parameters: ending_before, starting_after."}}},
		{"21 event types", v, "/v1/events?limit=1" + types, 400, map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "param": "types", "message": "You may specify at most 20 event types."}}},
		{"20 event types", v, "/v1/events?limit=1" + types[len("&types[]=invoice.paid"):], 200, nil},
	})
}

// TestFakeHeaders pins Request-Id on every answer ("Request IDs",
// https://docs.stripe.com/api/request_ids) and the Stripe-Version the
// request asked for ("Versioning", https://docs.stripe.com/api/versioning),
// the account default when it asked for none.
func TestFakeHeaders(t *testing.T) {
	w := newRuleWorld(t)
	for _, tc := range []struct{ sent, want string }{{"2025-09-30.clover", "2025-09-30.clover"}, {"", "2020-08-27"}} {
		req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer sk_test_rules")
		if tc.sent != "" {
			req.Header.Set("Stripe-Version", tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Stripe-Version"); got != tc.want {
			t.Errorf("sent %q: Stripe-Version %q, want %q", tc.sent, got, tc.want)
		}
		if resp.Header.Get("Request-Id") == "" {
			t.Errorf("no Request-Id")
		}
	}
}

// TestFakeEventRetention pins "List all events"
// (https://docs.stripe.com/api/events/list): only events of the last 30
// days are listed or retrievable.
func TestFakeEventRetention(t *testing.T) {
	w := newRuleWorld(t)
	evs := w.srv.Events()
	old := evs[len(evs)-1]
	w.srv.Advance(30*24*time.Hour + time.Second)
	w.srv.AddCustomer(stripetest.Customer{Name: "Recent"})
	const v = "2025-03-31.basil"
	_, list := get(t, w.srv, v, "/v1/events?limit=100")
	data := list["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["type"] != "customer.created" {
		t.Errorf("listed %v, want only the recent customer.created", data)
	}
	checkAnswers(t, w.srv, []answer{{"retrieve an event older than 30 days", v, "/v1/events/" + old.ID, 404,
		map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
			"doc_url": "https://stripe.com/docs/error-codes/resource-missing", "param": "id",
			"message": "No such event: '" + old.ID + "'"}}}})
}

// TestFakeEndpointRateLimit pins the per-endpoint limit of "Rate limits"
// (https://docs.stripe.com/rate-limits): requests to one endpoint count
// together whatever the object ID, and other endpoints are not affected.
func TestFakeEndpointRateLimit(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules", EndpointRatePerSecond: 0.001})
	t.Cleanup(srv.Close)
	a := srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 100, Interval: "month"})
	b := srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 200, Interval: "month"})
	const v = "2025-03-31.basil"
	checkAnswers(t, srv, []answer{
		{"first price", v, "/v1/prices/" + a.ID, 200, nil},
		{"another price, same endpoint", v, "/v1/prices/" + b.ID, 429, map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "code": "rate_limit", "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
			"message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."}}},
		{"another endpoint", v, "/v1/customers", 200, nil},
	})
}
