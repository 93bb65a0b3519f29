package stripetest_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// TestEventsKeepTheirObjectAsItWas: an event's data.object is the object
// when the event happened ("Event object": data.object, "Object containing
// the API resource relevant to the event"), whatever changes later: in
// place through UpdateSubscription and UpdateCustomer, a payment, or the
// customer whose name and e-mail an invoice shows.
func TestEventsKeepTheirObjectAsItWas(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules"})
	defer srv.Close()
	p := srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", UnitAmount: 1000})
	cp := srv.AddCoupon(stripetest.Coupon{PercentOff: 10, Duration: "forever"})
	c := srv.AddCustomer(stripetest.Customer{Name: "Ann", Email: "ann@example.com", Metadata: map[string]string{"k": "1"}})
	sub, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID, Coupons: []string{cp.ID},
		Items: []stripetest.SubscriptionItem{{Price: p.ID, Quantity: 2, Coupons: []string{cp.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := srv.AddInvoice(stripetest.Invoice{Customer: c.ID, Subscription: sub.ID, Currency: "usd",
		Lines: []stripetest.InvoiceLine{{Price: p.ID, Amount: 2000, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	// What each event showed when it happened.
	want := map[string]map[string]any{}
	for _, e := range srv.Events() {
		want[e.ID] = object(t, e.Object)
	}
	srv.Advance(time.Hour)
	steps := []func() error{
		func() error {
			return srv.UpdateSubscription(sub.ID, func(s *stripetest.Subscription) {
				s.Items[0].Quantity = 7
				s.Items[0].Discounts[0].Coupon = "other"
				s.Discounts[0].End = s.StartDate.AddDate(1, 0, 0)
				s.Metadata["k"] = "2"
			})
		},
		func() error {
			return srv.UpdateCustomer(c.ID, func(c *stripetest.Customer) { c.Name, c.Email, c.Metadata["k"] = "Bob", "bob@example.com", "2" })
		},
		func() error { return srv.PayInvoice(in.ID) },
		func() error { return srv.DeleteCustomer(c.ID) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	evs := srv.Events()
	if len(evs) != len(want)+len(steps)+1 { // PayInvoice emits two
		t.Fatalf("%d events, want %d", len(evs), len(want)+len(steps)+1)
	}
	for _, e := range evs[:len(want)] {
		if got := object(t, e.Object); !reflect.DeepEqual(got, want[e.ID]) {
			t.Errorf("%s %s now shows\n%v\nwant\n%v", e.ID, e.Type, got, want[e.ID])
		}
		body, ok := srv.EventJSON(e.ID)
		var ev struct {
			Data struct {
				Object map[string]any `json:"object"`
			} `json:"data"`
		}
		if !ok || json.Unmarshal(body, &ev) != nil || !reflect.DeepEqual(ev.Data.Object, want[e.ID]) {
			t.Errorf("%s %s: EventJSON shows %s", e.ID, e.Type, body)
		}
	}
	// The later events show the changes.
	paid := object(t, evs[len(evs)-2].Object)
	if paid["status"] != "paid" || paid["customer_name"] != "Bob" {
		t.Errorf("invoice.paid shows status %v, customer %v; want paid, Bob", paid["status"], paid["customer_name"])
	}
}

func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return m
}
