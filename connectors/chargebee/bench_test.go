package chargebee_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

// BenchmarkPull20kSubscriptions measures a first load of 20,000
// subscriptions with their 20,000 customers (and the catalog) through the
// fake on 127.0.0.1 at Chargebee's maximum page size of 100. It reports
// calls per pull and the fake's own serving time per pull (fake-ms/op).
func BenchmarkPull20kSubscriptions(b *testing.B) {
	w := newWorld(b, chargebeetest.Options{}, chargebee.Options{})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemType: "plan", PricingModel: "per_unit", Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
	for i := range 20000 {
		id := fmt.Sprintf("cus_%05d", i)
		w.fake.PutCustomer(chargebeetest.Customer{ID: id, Company: "Co " + id, Email: id + "@example.com", CreatedAt: unix(t0) - int64(i), UpdatedAt: unix(t0)})
		w.fake.PutSubscription(chargebeetest.Subscription{ID: fmt.Sprintf("sub_%05d", i), CustomerID: id, Status: "active", CurrencyCode: "USD",
			BillingPeriod: 1, BillingPeriodUnit: "month", CreatedAt: unix(t0) - int64(i), UpdatedAt: unix(t0), MRR: ptr(int64(3000)),
			SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: "pro-USD-monthly", ItemType: "plan", Quantity: 3, UnitPrice: 1000, Amount: 3000}}})
	}
	b.ResetTimer()
	busy, runs := w.fake.Busy(), 0
	for b.Loop() {
		runs++
		before := w.client.Stats()
		subs, custs := 0, 0
		for bt, err := range w.client.Pull(context.Background(), record.PullRequest{}) {
			if err != nil {
				b.Fatal(err)
			}
			subs += len(bt.Subscriptions)
			custs += len(bt.Customers)
		}
		if subs != 20000 || custs != 20000 {
			b.Fatalf("pulled %d subscriptions, %d customers", subs, custs)
		}
		b.ReportMetric(float64(w.client.Stats().Sub(before).Calls), "calls/op")
	}
	w.fake.ReportBusy(b, busy, runs)
}

// TestNoSecretInLogs runs failing and throttled calls with a trace logger
// and checks neither the API key nor the webhook password is logged.
func TestNoSecretInLogs(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.TraceLevel)
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{Logger: log})
	seedBasic(w)
	w.fake.InjectFault(chargebeetest.Fault{Times: 2, Status: http.StatusTooManyRequests})
	w.fake.InjectFault(chargebeetest.Fault{Path: "/api/v2/invoices", Times: 9, Status: http.StatusInternalServerError})
	for _, err := range w.client.Pull(context.Background(), record.PullRequest{}) {
		if err != nil {
			break
		}
	}
	if buf.Len() == 0 {
		t.Fatal("expected retry log lines")
	}
	for _, secret := range []string{apiKey, w.cfg.Webhook.Password.Reveal()} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains a secret: %s", buf.String())
		}
	}
}
