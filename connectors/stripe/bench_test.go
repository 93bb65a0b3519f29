package stripe

import (
	"context"
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// BenchmarkPull20000Subscriptions pulls 20,000 customers, each with one
// subscription on a 3-tier price, through the fake on 127.0.0.1: a full
// load with limit=100 (about 200 customer pages and 200 subscription
// pages; the tiered price read once with expand[]=tiers, since
// data.items.data.price.tiers is past Stripe's expansion depth). It reports
// HTTP calls per pull and, apart, the fake's own serving time per pull
// (fake-ms/op): ns/op less that is the connector's cost. The spec validator
// is not in the path.
func BenchmarkPull20000Subscriptions(b *testing.B) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: testKey, Now: t0})
	defer srv.Close()
	p := srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", BillingScheme: "tiered", TiersMode: "volume",
		Tiers: []stripetest.Tier{{UpTo: 10, UnitAmount: 1000}, {UpTo: 100, UnitAmount: 900}, {UnitAmount: 800}}})
	for i := range 20000 {
		c := srv.AddCustomer(stripetest.Customer{Name: "c", Email: "c@example.test", Currency: "usd",
			Metadata: map[string]string{"salesforce_account_id": "001"}})
		if _, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID,
			Items: []stripetest.SubscriptionItem{{Price: p.ID, Quantity: int64(i%50 + 1)}}}); err != nil {
			b.Fatal(err)
		}
	}
	c, err := New(config.Connector{Kind: config.KindStripe, BaseURL: srv.URL, APIVersion: "2025-03-31.basil",
		Auth: config.Auth{APIKey: config.NewSecret(testKey)}}, Options{Now: srv.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	busy := srv.Busy()
	var calls int64
	for range b.N {
		before := c.Stats().Calls
		subs, customers := 0, 0
		for bt, err := range c.Pull(context.Background(), record.PullRequest{Full: true, Now: srv.Now()}) {
			if err != nil {
				b.Fatal(err)
			}
			subs += len(bt.Subscriptions)
			customers += len(bt.Customers)
		}
		if subs != 20000 || customers != 20000 {
			b.Fatalf("pulled %d subscriptions, %d customers", subs, customers)
		}
		calls = c.Stats().Calls - before
	}
	b.ReportMetric(float64(calls), "calls/pull")
	srv.ReportBusy(b, busy, b.N)
}
