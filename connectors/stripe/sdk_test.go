package stripe_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/stripe"
)

// TestVerifierAcceptsOfficialSDKSignatures: payloads signed by Stripe's own
// Go SDK (webhook.GenerateTestSignedPayload, the helper Stripe documents for
// testing endpoints) verify, and tampering with them does not.
func TestVerifierAcceptsOfficialSDKSignatures(t *testing.T) {
	const secret = "whsec_from_the_sdk"
	body := []byte(`{"id":"evt_sdk_1","object":"event","api_version":"2025-03-31.basil","created":1764000000,"type":"invoice.payment_failed","data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1"}}}`)
	now := time.Now()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: now})
	v := stripe.NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret("whsec_rotated_out"), config.NewSecret(secret)}})
	req := func(b []byte) *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/webhooks/stripe", strings.NewReader(string(b)))
		r.Header.Set("Stripe-Signature", signed.Header)
		return r
	}
	evs, err := v.Verify(req(body), body, now)
	if err != nil || len(evs) != 1 || evs[0].ID != "evt_sdk_1" || evs[0].ObjectID != "in_1" {
		t.Fatalf("SDK-signed payload: %v %+v", err, evs)
	}
	tampered := []byte(strings.Replace(string(body), "in_1", "in_2", 1))
	if _, err := v.Verify(req(tampered), tampered, now); err == nil {
		t.Fatal("a tampered SDK-signed payload verified")
	}
	if _, err := v.Verify(req(body), body, now.Add(10*time.Minute)); err == nil {
		t.Fatal("a stale SDK-signed payload verified")
	}
}
