package stripetest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	sdk "github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// These tests point Stripe's official Go SDK at the fake: its list
// iterators page through it, its error type decodes the fake's error JSON,
// and its webhook verifier accepts what the fake signs.

func sdkClient(url, key string) *sdk.Client {
	return sdk.NewClient(key, sdk.WithBackends(sdk.NewBackendsWithConfig(&sdk.BackendConfig{
		URL: sdk.String(url), MaxNetworkRetries: sdk.Int64(0), EnableTelemetry: sdk.Bool(false)})))
}

func TestOfficialSDKPagesThroughTheFake(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_sdk", Now: now})
	defer srv.Close()
	price := srv.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 5000, Interval: "month"})
	want := map[string]bool{}
	for i := 0; i < 230; i++ {
		c := srv.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("C%d", i), Email: fmt.Sprintf("c%d@example.com", i)})
		want[c.ID] = true
		if i%10 == 0 {
			if _, err := srv.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: price.ID, Quantity: 2}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sc := sdkClient(srv.URL, "sk_test_sdk")
	ctx := context.Background()

	got := 0
	for c, err := range sc.V1Customers.List(ctx, &sdk.CustomerListParams{ListParams: sdk.ListParams{Limit: sdk.Int64(100)}}) {
		if err != nil {
			t.Fatalf("SDK customer list: %v", err)
		}
		if !want[c.ID] || c.Email == "" {
			t.Fatalf("unexpected customer %+v", c)
		}
		got++
	}
	if got != 230 {
		t.Fatalf("SDK paged through %d customers, want 230 (3 pages)", got)
	}

	// data.items.data.discounts is four levels, the most Stripe expands
	// ("Expanding Responses").
	subs := 0
	params := &sdk.SubscriptionListParams{Status: sdk.String("all")}
	params.AddExpand("data.items.data.discounts")
	for s, err := range sc.V1Subscriptions.List(ctx, params) {
		if err != nil {
			t.Fatalf("SDK subscription list: %v", err)
		}
		if len(s.Items.Data) != 1 || s.Items.Data[0].Quantity != 2 || s.Items.Data[0].Price.UnitAmount != 5000 || s.Items.Data[0].Price.Currency != "jpy" {
			t.Fatalf("subscription decoded as %+v", s.Items.Data[0])
		}
		subs++
	}
	if subs != 23 {
		t.Fatalf("SDK listed %d subscriptions, want 23", subs)
	}

	// Five levels are refused, and the SDK decodes Stripe's error.
	deep := &sdk.SubscriptionListParams{}
	deep.AddExpand("data.items.data.price.tiers")
	for _, err := range sc.V1Subscriptions.List(ctx, deep) {
		var se *sdk.Error
		want := "You cannot expand more than 4 levels of a property. Property: data.items.data.price.tiers"
		if !errors.As(err, &se) || se.HTTPStatusCode != 400 || se.Type != sdk.ErrorTypeInvalidRequest || se.Msg != want || se.Param != "expand" {
			t.Fatalf("five-level expansion: %#v", err)
		}
		break
	}

	// Stripe's error JSON decodes into the SDK's error type.
	bad := sdkClient(srv.URL, "sk_test_wrong")
	for _, err := range bad.V1Customers.List(ctx, &sdk.CustomerListParams{}) {
		var se *sdk.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 401 || se.Type != sdk.ErrorTypeInvalidRequest {
			t.Fatalf("wrong key: %#v", err)
		}
		break
	}
}

func TestOfficialSDKVerifiesTheFakesSignature(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: "sk_test_sdk"})
	defer srv.Close()
	c := srv.AddCustomer(stripetest.Customer{Name: "Signed"})
	if err := srv.UpdateCustomer(c.ID, func(c *stripetest.Customer) { c.Email = "new@example.com" }); err != nil {
		t.Fatal(err)
	}
	evs := srv.Events()
	body, ok := srv.EventJSON(evs[len(evs)-1].ID)
	if !ok {
		t.Fatal("no event")
	}
	const secret = "whsec_sdk_check"
	header := stripetest.SignPayload(body, secret, time.Now())
	ev, err := webhook.ConstructEventWithOptions(body, header, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		t.Fatalf("the SDK rejects the fake's signature: %v", err)
	}
	if ev.ID != evs[len(evs)-1].ID || ev.Type != "customer.updated" {
		t.Fatalf("event %s %s", ev.ID, ev.Type)
	}
	if _, err := webhook.ConstructEventWithOptions(body, header, "whsec_other", webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err == nil {
		t.Fatal("the SDK accepted a wrong secret")
	}
}
