package stripetest_test

import (
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// TestSkipEventsBefore: a fake seeded with SkipEventsBefore(now - 30 days)
// answers every request at now exactly as one that recorded every event
// (same objects, same events with the same IDs, same 404 for an event
// older than 30 days), while it records only the recent events.
func TestSkipEventsBefore(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.AddDate(0, 3, 0)
	seed := func(srv *stripetest.Server) {
		srv.SetNow(t0)
		p := srv.AddPrice(stripetest.Price{ID: "price_1", Currency: "usd", Interval: "month", UnitAmount: 1000})
		for m := range 3 {
			at := t0.AddDate(0, m, 0)
			srv.SetNow(at)
			c := srv.AddCustomer(stripetest.Customer{Name: "c", Email: "c@example.com", Currency: "usd"})
			sub, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: p.ID}}})
			if err != nil {
				t.Fatal(err)
			}
			for k := range 3 - m {
				srv.SetNow(at.AddDate(0, k, 0))
				in, err := srv.AddInvoice(stripetest.Invoice{Customer: c.ID, Subscription: sub.ID, Currency: "usd",
					Lines: []stripetest.InvoiceLine{{Price: p.ID, Amount: 1000, Quantity: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				if err := srv.FailInvoicePayment(in.ID); err != nil {
					t.Fatal(err)
				}
				srv.SetNow(at.AddDate(0, k, 2))
				if err := srv.PayInvoice(in.ID); err != nil {
					t.Fatal(err)
				}
				if err := srv.UpdateSubscription(sub.ID, func(s *stripetest.Subscription) { s.Items[0].Quantity++ }); err != nil {
					t.Fatal(err)
				}
			}
		}
		srv.SetNow(now)
	}
	all := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules"})
	defer all.Close()
	seed(all)
	recent := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_rules"})
	defer recent.Close()
	recent.SkipEventsBefore(now.Add(-stripetest.EventRetention))
	seed(recent)

	evs := all.Events()
	var want []string // the events of the last 30 days
	for _, e := range evs {
		if !e.Created.Before(now.Add(-stripetest.EventRetention)) {
			want = append(want, e.ID)
		}
	}
	var got []string
	for _, e := range recent.Events() {
		got = append(got, e.ID)
	}
	if len(want) == 0 || len(want) == len(evs) || !slices.Equal(got, want) {
		t.Errorf("recorded %v, want the %d recent ones of %d: %v", got, len(want), len(evs), want)
	}
	for _, v := range []string{"2020-08-27", stripetest.Basil} {
		for _, uri := range []string{
			"/v1/customers?limit=100", "/v1/subscriptions?limit=100&status=all&expand[]=data.items.data.discounts",
			"/v1/invoices?limit=100", "/v1/events?limit=100", "/v1/events?limit=2&starting_after=" + want[1],
			"/v1/events/" + evs[0].ID, "/v1/events/" + want[0], "/v1/prices/price_1",
		} {
			ws, wb := get(t, all, v, uri)
			gs, gb := get(t, recent, v, uri)
			if gs != ws || !reflect.DeepEqual(gb, wb) {
				t.Errorf("%s %s: got %d %v\nwant %d %v", v, uri, gs, gb, ws, wb)
			}
			if uri == "/v1/events?limit=100" && (ws != http.StatusOK || len(wb["data"].([]any)) != len(want)) {
				t.Errorf("%s %s: %d %v, want the %d recent events", v, uri, ws, wb, len(want))
			}
		}
	}
}
