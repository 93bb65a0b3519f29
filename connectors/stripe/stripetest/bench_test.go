package stripetest_test

import (
	"net/http"
	"testing"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// BenchmarkListPage50000 measures one list page (limit=100) of each kind
// at 50,000 objects, starting after the middle object: the cost a paging
// client pays per call deep into a full pull. A fake whose page cost grows
// with the object count makes a full pull quadratic.
func BenchmarkListPage50000(b *testing.B) {
	const n = 50000
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_bench"})
	defer srv.Close()
	p := srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", UnitAmount: 1000})
	var cus, subs, invs []string
	for range n {
		c := srv.AddCustomer(stripetest.Customer{Name: "c", Currency: "usd"})
		s, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID,
			Items: []stripetest.SubscriptionItem{{Price: p.ID, Quantity: 1}}})
		if err != nil {
			b.Fatal(err)
		}
		in, err := srv.AddInvoice(stripetest.Invoice{Customer: c.ID, Subscription: s.ID, Status: "paid", Currency: "usd",
			Lines: []stripetest.InvoiceLine{{Amount: 1000}}})
		if err != nil {
			b.Fatal(err)
		}
		cus, subs, invs = append(cus, c.ID), append(subs, s.ID), append(invs, in.ID)
	}
	evs := srv.Events()
	for _, bc := range []struct{ name, uri string }{
		{"customers", "/v1/customers?limit=100&starting_after=" + cus[n/2]},
		{"subscriptions", "/v1/subscriptions?limit=100&starting_after=" + subs[n/2]},
		{"subscriptions_ending_before", "/v1/subscriptions?limit=100&ending_before=" + subs[n/2]},
		{"invoices", "/v1/invoices?limit=100&starting_after=" + invs[n/2]},
		{"events", "/v1/events?limit=100&starting_after=" + evs[len(evs)/2].ID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fakeapi.BenchmarkRequest(b, http.MethodGet, srv.URL+bc.uri, nil, "Authorization", "Bearer sk_test_bench")
		})
	}
}
