package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/webhook"
)

const webhookConfig = `
store: {path: %q}
connectors:
  - {name: salesforce, kind: salesforce, login_url: "http://127.0.0.1:1", organization_id: 00D5g000004DEMOEAA,
     auth: {flow: client_credentials, client_id: cid, client_secret: csecret}, schedule: "@every 1h"}
  - {name: hubspot, kind: hubspot, base_url: "http://127.0.0.1:1", auth: {access_token: pat-x},
     webhook: {client_secret: hs-app-secret}, schedule: "@every 1h"}
  - {name: stripe, kind: stripe, base_url: "http://127.0.0.1:1", auth: {api_key: sk_test_x},
     webhook: {secrets: [whsec_old, whsec_new]}, schedule: "@every 1h"}
  - {name: chargebee, kind: chargebee, site: demo, base_url: "http://127.0.0.1:1", auth: {api_key: cbkey},
     webhook: {username: hooks, password: cb-pass}, schedule: "@every 1h"}
`

// TestWebhookVendors sends each vendor's requests, signed as that vendor
// signs them, through the receiver exactly as wire() builds it: valid ones
// are committed and acknowledged (Salesforce with its Ack envelope), forged,
// tampered or replayed ones are refused and not stored.
func TestWebhookVendors(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("w.yaml", []byte(fmt.Sprintf(webhookConfig, filepath.Join(dir, "w.db"))), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	w, err := wire(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(webhook.NewHandler(webhook.Options{Sources: w.webhooks, Queue: st}))
	defer srv.Close()

	now := time.Now()
	stripeBody := []byte(`{"id":"evt_1","object":"event","api_version":"2025-03-31.basil","created":` + fmt.Sprint(now.Unix()) +
		`,"type":"invoice.payment_failed","data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1"}}}`)
	hsBody := []byte(`[{"eventId":101,"subscriptionId":1,"portalId":62515,"appId":1,"occurredAt":` + fmt.Sprint(now.UnixMilli()) +
		`,"subscriptionType":"company.propertyChange","attemptNumber":0,"objectId":5001,"propertyName":"name","propertyValue":"Acme","changeSource":"CRM_UI"}]`)
	sfFake := salesforcetest.NewServer(salesforcetest.Options{OrgID: "00D5g000004DEMOEAA"})
	defer sfFake.Close()
	acct, _ := sfFake.Insert("Account", map[string]any{"Name": "Acme"})
	sfBody := sfFake.OutboundMessage("Account", acct)
	cbBody := chargebeetest.EventBody("ev_1", "payment_failed", now, map[string]any{"subscription": map[string]any{"id": "sub_1", "customer_id": "c_1"}})

	stripeReq := func(body []byte, secret string, ts time.Time) *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/webhooks/stripe", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Stripe-Signature", stripetest.SignPayload(body, secret, ts))
		return r
	}
	hsReq := func(body []byte, secret string, ts time.Time) *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/webhooks/hubspot", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-HubSpot-Signature-v3", hubspottest.SignV3(secret, "POST", srv.URL+"/webhooks/hubspot", body, ts))
		r.Header.Set("X-HubSpot-Request-Timestamp", hubspottest.TimestampHeader(ts))
		return r
	}
	sfReq := func(body []byte) *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/webhooks/salesforce", bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		r.Header.Set("SOAPAction", `""`)
		return r
	}
	cbReq := func(user, pass string) *http.Request {
		r, _ := chargebeetest.WebhookRequest(srv.URL+"/webhooks/chargebee", user, pass, cbBody)
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		stored int // queue growth
		body   string
	}{
		{"stripe valid", stripeReq(stripeBody, "whsec_new", now), 200, 1, ""},
		{"stripe rotated secret", stripeReq(bytes.Replace(stripeBody, []byte("evt_1"), []byte("evt_2"), 1), "whsec_old", now), 200, 1, ""},
		{"stripe duplicate", stripeReq(stripeBody, "whsec_new", now), 200, 0, ""},
		{"stripe tampered", func() *http.Request {
			r := stripeReq(stripeBody, "whsec_new", now)
			r.Body = http.NoBody
			b := bytes.Replace(stripeBody, []byte("in_1"), []byte("in_9"), 1)
			r2, _ := http.NewRequest("POST", r.URL.String(), bytes.NewReader(b))
			r2.Header = r.Header
			return r2
		}(), 401, 0, ""},
		{"stripe stale", stripeReq(bytes.Replace(stripeBody, []byte("evt_1"), []byte("evt_3"), 1), "whsec_new", now.Add(-10*time.Minute)), 401, 0, ""},
		{"stripe unknown secret", stripeReq(bytes.Replace(stripeBody, []byte("evt_1"), []byte("evt_4"), 1), "whsec_other", now), 401, 0, ""},
		{"hubspot valid", hsReq(hsBody, "hs-app-secret", now), 200, 1, ""},
		{"hubspot wrong secret", hsReq(bytes.Replace(hsBody, []byte("101"), []byte("102"), 1), "nope", now), 401, 0, ""},
		{"hubspot stale", hsReq(bytes.Replace(hsBody, []byte("101"), []byte("103"), 1), "hs-app-secret", now.Add(-6*time.Minute)), 401, 0, ""},
		{"salesforce outbound message", sfReq(sfBody), 200, 1, "<Ack>true</Ack>"},
		{"salesforce other org", sfReq(bytes.Replace(sfBody, []byte("00D5g000004DEMO"), []byte("00D5g000004XXXX"), -1)), 401, 0, ""},
		{"chargebee valid", cbReq("hooks", "cb-pass"), 200, 1, ""},
		{"chargebee wrong password", cbReq("hooks", "wrong"), 401, 0, ""},
		{"chargebee no credentials", cbReq("", ""), 401, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _ := st.QueueDepth()
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b.String())
			}
			after, _, _ := st.QueueDepth()
			if after-before != tt.stored {
				t.Fatalf("queued %d events, want %d", after-before, tt.stored)
			}
			if tt.body != "" && !strings.Contains(b.String(), tt.body) {
				t.Fatalf("body %q lacks %q", b.String(), tt.body)
			}
		})
	}
}
