package chargebee_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

func TestVerifyWebhook(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	w.fake.PutCustomer(chargebeetest.Customer{ID: "cus_1", Company: "Acme"})
	w.fake.PutSubscription(chargebeetest.Subscription{ID: "sub_1", CustomerID: "cus_1", Status: "active", CurrencyCode: "USD"})
	w.fake.PutInvoice(chargebeetest.Invoice{ID: "inv_1", CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "payment_due", CurrencyCode: "USD"})
	w.fake.PutTransaction(chargebeetest.Transaction{ID: "txn_1", CustomerID: "cus_1", Type: "payment", Status: "failure", CurrencyCode: "USD"})
	subChanged, err := w.fake.Event("ev_1", "subscription_changed", chargebeetest.EventObjects{SubscriptionID: "sub_1"})
	if err != nil {
		t.Fatal(err)
	}
	payFailed, err := w.fake.Event("ev_2", "payment_failed", chargebeetest.EventObjects{SubscriptionID: "sub_1", InvoiceID: "inv_1", TransactionID: "txn_1"})
	if err != nil {
		t.Fatal(err)
	}
	custChanged, err := w.fake.Event("ev_3", "customer_changed", chargebeetest.EventObjects{CustomerID: "cus_1"})
	if err != nil {
		t.Fatal(err)
	}
	user, pass := w.cfg.Webhook.Username, w.cfg.Webhook.Password.Reveal()

	tests := []struct {
		name       string
		user, pass string
		noAuth     bool
		verifier   *chargebee.Verifier
		body       []byte
		wantErr    error
		wantType   string
		wantObject string
		wantID     string
		wantOrder  string
	}{
		{name: "subscription changed", user: user, pass: pass, body: subChanged, wantType: "subscription", wantObject: "sub_1", wantID: "ev_1", wantOrder: "customer/cus_1"},
		{name: "payment failed names the invoice", user: user, pass: pass, body: payFailed, wantType: "invoice", wantObject: "inv_1", wantID: "ev_2", wantOrder: "customer/cus_1"},
		{name: "customer changed", user: user, pass: pass, body: custChanged, wantType: "customer", wantObject: "cus_1", wantID: "ev_3", wantOrder: "customer/cus_1"},
		{name: "wrong password", user: user, pass: pass + "x", body: subChanged, wantErr: record.ErrUnauthenticated},
		{name: "wrong user", user: "other", pass: pass, body: subChanged, wantErr: record.ErrUnauthenticated},
		{name: "missing header", noAuth: true, body: subChanged, wantErr: record.ErrUnauthenticated},
		{name: "credentials not configured", user: user, pass: pass, body: subChanged, verifier: chargebee.NewVerifier(config.Webhook{}), wantErr: record.ErrUnauthenticated},
		{name: "malformed body", user: user, pass: pass, body: []byte(`{"id":`), wantErr: record.ErrMalformed},
		{name: "event without content", user: user, pass: pass, body: []byte(`{"id":"ev_9","event_type":"subscription_changed"}`), wantErr: record.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.user
			if tc.noAuth {
				u = ""
			}
			req, err := chargebeetest.WebhookRequest("http://127.0.0.1/webhooks/billing", u, tc.pass, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			verify := chargebee.NewVerifier(w.cfg.Webhook).Verify
			if tc.verifier != nil {
				verify = tc.verifier.Verify
			}
			evs, err := verify(req, tc.body, w.clk.Now())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || evs != nil {
					t.Fatalf("Verify = %v, %v; want %v", evs, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("events = %+v", evs)
			}
			ev := evs[0]
			if ev.System != record.Chargebee || ev.ID != tc.wantID || ev.ObjectType != tc.wantType || ev.ObjectID != tc.wantObject || !ev.Occurred.Equal(t0) || len(ev.Object) == 0 {
				t.Errorf("event = %+v, want %s %s/%s at %v", ev, tc.wantID, tc.wantType, tc.wantObject, t0)
			}
			if ev.OrderKey != tc.wantOrder {
				t.Errorf("OrderKey = %q, want %q", ev.OrderKey, tc.wantOrder)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := testConfig("")
	ok.Site = "acme-test"
	c, err := chargebee.New(ok, chargebee.Options{})
	if err != nil || c == nil {
		t.Fatalf("valid site config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*config.Connector)
		want string
	}{
		{name: "no key", edit: func(c *config.Connector) { c.Auth.APIKey = config.Secret{} }, want: `chargebee connector "billing": auth.api_key is required`},
		{name: "no site", edit: func(c *config.Connector) { c.Site = "" }, want: `chargebee connector "billing": site is required (or base_url)`},
		{name: "site is a host", edit: func(c *config.Connector) { c.Site = "acme.chargebee.com" }, want: `chargebee connector "billing": site "acme.chargebee.com" must be the site name only, as in {site}.chargebee.com`},
		{name: "wrong kind", edit: func(c *config.Connector) { c.Kind = "stripe" }, want: `chargebee connector "billing": kind is "stripe", want "chargebee"`},
		{name: "relative base url", edit: func(c *config.Connector) { c.BaseURL = "/api" }, want: `chargebee connector "billing": base_url "/api" is not an absolute URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := chargebee.New(cfg, chargebee.Options{})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWebhookRequestShape(t *testing.T) {
	req, err := chargebeetest.WebhookRequest("http://127.0.0.1/x", "u", "p", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	u, p, ok := req.BasicAuth()
	if req.Method != http.MethodPost || !ok || u != "u" || p != "p" || !reflect.DeepEqual(req.Header["Content-Type"], []string{"application/json"}) {
		t.Errorf("request = %v %v", req.Method, req.Header)
	}
}
