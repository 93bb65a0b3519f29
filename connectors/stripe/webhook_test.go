package stripe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

func TestVerify(t *testing.T) {
	const oldSecret, newSecret = "whsec_old0000000000", "whsec_new1111111111"
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","object":"event","type":"invoice.payment_failed","created":1714564800,"data":{"object":{"id":"in_1","object":"invoice"}}}`)
	v := NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret(oldSecret), config.NewSecret(newSecret)}})
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		err    error
	}{
		{"valid", stripetest.SignPayload(body, oldSecret, now), body, nil},
		{"rotated secret", stripetest.SignPayload(body, newSecret, now.Add(-time.Minute)), body, nil},
		{"several v1, one valid", "t=" + itoa(now.Unix()) + ",v1=" + strings.Repeat("ab", 32) + "," +
			strings.SplitN(stripetest.SignPayload(body, newSecret, now), ",", 2)[1] + ",v0=zz", body, nil},
		{"tampered body", stripetest.SignPayload(body, oldSecret, now), []byte(strings.Replace(string(body), "in_1", "in_2", 1)), record.ErrUnauthenticated},
		{"stale timestamp", stripetest.SignPayload(body, oldSecret, now.Add(-301*time.Second)), body, record.ErrUnauthenticated},
		{"timestamp from the future", stripetest.SignPayload(body, oldSecret, now.Add(10*time.Minute)), body, record.ErrUnauthenticated},
		{"unknown secret", stripetest.SignPayload(body, "whsec_other", now), body, record.ErrUnauthenticated},
		{"missing header", "", body, record.ErrUnauthenticated},
		{"no v1", "t=" + itoa(now.Unix()), body, record.ErrUnauthenticated},
		{"signed but not an event", stripetest.SignPayload([]byte(`[1,2`), oldSecret, now), []byte(`[1,2`), record.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", nil)
			if tc.header != "" {
				r.Header.Set("Stripe-Signature", tc.header)
			}
			evs, err := v.Verify(r, tc.body, now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if strings.Contains(err.Error(), oldSecret) || strings.Contains(err.Error(), newSecret) {
					t.Errorf("error leaks a secret: %v", err)
				}
				return
			}
			want := record.Event{System: record.Stripe, ID: "evt_1", Type: "invoice.payment_failed", ObjectType: "invoice",
				ObjectID: "in_1", Occurred: time.Unix(1714564800, 0).UTC(), Object: []byte(`{"id":"in_1","object":"invoice"}`)}
			if len(evs) != 1 || evs[0].ID != want.ID || evs[0].Type != want.Type || evs[0].ObjectType != want.ObjectType ||
				evs[0].ObjectID != want.ObjectID || !evs[0].Occurred.Equal(want.Occurred) || string(evs[0].Object) != string(want.Object) {
				t.Errorf("events = %+v, want %+v", evs, want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestVerifyOrderKey pins the key a customer's events are serialised on: an
// invoice's or subscription's customer, as an ID or expanded (Stripe API
// reference, "Expanding Responses"), or the customer itself.
func TestVerifyOrderKey(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	v := NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret("whsec_k")}})
	for _, tc := range []struct {
		name, object, want string
	}{
		{"invoice names its customer", `{"id":"in_1","object":"invoice","customer":"cus_A"}`, "customer/cus_A"},
		{"expanded customer", `{"id":"sub_1","object":"subscription","customer":{"id":"cus_B","object":"customer"}}`, "customer/cus_B"},
		{"the customer itself", `{"id":"cus_C","object":"customer"}`, "customer/cus_C"},
		{"no customer: ordered by object", `{"id":"prod_1","object":"product"}`, ""},
		{"null customer", `{"id":"in_2","object":"invoice","customer":null}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"id":"evt_1","object":"event","type":"x.updated","created":1714564800,"data":{"object":` + tc.object + `}}`)
			r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", nil)
			r.Header.Set("Stripe-Signature", stripetest.SignPayload(body, "whsec_k", now))
			evs, err := v.Verify(r, body, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].OrderKey != tc.want {
				t.Errorf("events = %+v, want OrderKey %q", evs, tc.want)
			}
		})
	}
}

func TestVerifyCustomTolerance(t *testing.T) {
	v := NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret("whsec_x")}, Tolerance: config.Duration(time.Hour)})
	body := []byte(`{"id":"evt_1","object":"event","type":"customer.updated","created":1,"data":{"object":{"id":"cus_1","object":"customer"}}}`)
	now := time.Unix(1_700_000_000, 0)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Stripe-Signature", stripetest.SignPayload(body, "whsec_x", now.Add(-30*time.Minute)))
	if _, err := v.Verify(r, body, now); err != nil {
		t.Fatalf("within a 1h tolerance: %v", err)
	}
}

// TestDeliveredWebhooksVerify posts the fake's events to an endpoint as
// Stripe does and verifies each with the connector's Verifier.
func TestDeliveredWebhooksVerify(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: testKey, Now: t0})
	defer srv.Close()
	v := NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret("whsec_demo")}})
	var got []record.Event
	var failures []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		evs, err := v.Verify(r, body, srv.Now())
		if err != nil {
			failures = append(failures, err)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		got = append(got, evs...)
	}))
	defer hook.Close()
	srv.AddWebhookEndpoint(hook.URL, "whsec_demo")
	w := seedWorld(srv)
	if err := srv.FailInvoicePayment(w.invFailed.ID); err != nil {
		t.Fatal(err)
	}
	n, err := srv.DeliverEvents(context.Background(), hook.Client())
	if err != nil || len(failures) > 0 {
		t.Fatalf("deliver: %v %v", err, failures)
	}
	if n != len(srv.Events()) || len(got) != n {
		t.Fatalf("delivered %d, verified %d, events %d", n, len(got), len(srv.Events()))
	}
	last := got[len(got)-1]
	if last.Type != "invoice.payment_failed" || last.ObjectType != "invoice" || last.ObjectID != w.invFailed.ID {
		t.Errorf("last event = %+v", last)
	}
}
