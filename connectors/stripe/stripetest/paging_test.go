package stripetest_test

import (
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// TestListCursorPaging pins cursor pagination (https://docs.stripe.com/api/pagination):
// newest first, starting_after and ending_before by an object's place in
// the order (also when the filters drop that object), has_more in both
// directions, filters applied while paging, and an unknown cursor is 404.
func TestListCursorPaging(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules"})
	defer srv.Close()
	p := srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", UnitAmount: 1000})
	c := srv.AddCustomer(stripetest.Customer{Name: "c", Currency: "usd"})
	other := srv.AddCustomer(stripetest.Customer{Name: "o", Currency: "usd"})
	var s []string // s[1..5], oldest first
	s = append(s, "")
	for i := 1; i <= 5; i++ {
		cus := c.ID
		if i == 2 {
			cus = other.ID
		}
		sub, err := srv.AddSubscription(stripetest.Subscription{Customer: cus, Items: []stripetest.SubscriptionItem{{Price: p.ID, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, sub.ID)
	}
	if err := srv.CancelSubscription(s[3]); err != nil {
		t.Fatal(err)
	}
	type page struct {
		IDs     []string
		HasMore bool
	}
	tests := []struct {
		name, query string
		want        page
	}{
		{"first page", "limit=2", page{[]string{s[5], s[4]}, true}},
		{"after a kept object", "limit=2&starting_after=" + s[4], page{[]string{s[2], s[1]}, false}},
		{"after a canceled (dropped) object", "limit=1&starting_after=" + s[3], page{[]string{s[2]}, true}},
		{"before the oldest", "limit=2&ending_before=" + s[1], page{[]string{s[4], s[2]}, true}},
		{"before a dropped object, all fit", "limit=5&ending_before=" + s[3], page{[]string{s[5], s[4]}, false}},
		{"status all keeps the canceled", "limit=1&status=all&starting_after=" + s[4], page{[]string{s[3]}, true}},
		{"customer filter while paging", "limit=2&customer=" + c.ID + "&starting_after=" + s[5], page{[]string{s[4], s[1]}, false}},
		{"customer filter backwards", "limit=1&customer=" + c.ID + "&ending_before=" + s[1], page{[]string{s[4]}, true}},
		{"after the last", "limit=2&starting_after=" + s[1], page{nil, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv, "2025-03-31.basil", "/v1/subscriptions?"+tc.query)
			if status != 200 {
				t.Fatalf("status %d: %v", status, body)
			}
			got := page{HasMore: body["has_more"] == true}
			for _, d := range body["data"].([]any) {
				got.IDs = append(got.IDs, d.(map[string]any)["id"].(string))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if status, _ := get(t, srv, "2025-03-31.basil", "/v1/subscriptions?starting_after=sub_unknown"); status != 404 {
		t.Errorf("unknown cursor: status %d, want 404", status)
	}
}
