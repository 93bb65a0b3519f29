package zendesk_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// The signature vector, built outside Go from the documented algorithm
// (docs "Verifying webhook authenticity": base64(HMACSHA256(TIMESTAMP +
// BODY))) with the signing secret Zendesk documents for webhooks tested
// before creation ("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", used as
// the key as written):
//
//	printf '%s%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
const (
	vectorSecret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
	vectorTS     = "2024-04-17T17:18:10Z"
	vectorBody   = `{"type":"zen:event-type:ticket.created","account_id":88888888,"id":"01HNXXXX-CTEXAMPLE","time":"2024-04-17T17:18:10Z","zendesk_event_version":"2022-11-06","subject":"zen:ticket:35436","detail":{"id":"35436","organization_id":"509974","status":"OPEN"},"event":{}}`
	vectorSig    = "t9okScXkAp6n06oRnjxLewMdI8wBs75T4i/cI+NdbvQ="
)

func webhookRequest(sig, ts string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/webhooks/zendesk", nil)
	if sig != "" {
		r.Header.Set(zendesk.SignatureHeader, sig)
	}
	if ts != "" {
		r.Header.Set(zendesk.SignatureTimestampHeader, ts)
	}
	return r
}

// TestSignatureVector pins the verifier and the fake's signer against the
// externally computed vector.
func TestSignatureVector(t *testing.T) {
	v := zendesk.NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret(vectorSecret)}})
	at, _ := time.Parse(time.RFC3339, vectorTS)
	evs, err := v.Verify(webhookRequest(vectorSig, vectorTS), []byte(vectorBody), at.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := []record.Event{{System: "zendesk", ID: "01HNXXXX-CTEXAMPLE", Type: "ticket.created", ObjectType: "ticket", ObjectID: "35436",
		Occurred: at, Fields: map[string]string{"organization_id": "509974"}}}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events:\n got %+v\nwant %+v", evs, want)
	}
	if got := zendesktest.Sign(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Errorf("zendesktest.Sign = %s, want %s", got, vectorSig)
	}
}

// TestVerifyWebhook pins the refusals: unsigned, wrongly signed, stale or
// tampered requests are unauthenticated; signed bodies that are not an
// event are malformed; a rotated secret is accepted.
func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ts := now.Format(time.RFC3339)
	good := zendesktest.TicketEvent("ev-1", "status_changed", 42, 7, now)
	signed := func(secret string, body []byte, ts string) string { return zendesktest.Sign(secret, ts, body) }
	v := zendesk.NewVerifier(config.Webhook{Secrets: []config.Secret{config.NewSecret(secret1), config.NewSecret(secret2)}})
	tests := []struct {
		name     string
		verifier *zendesk.Verifier
		sig, ts  string
		body     []byte
		wantErr  error
	}{
		{"first secret", v, signed(secret1, good, ts), ts, good, nil},
		{"second secret (rotation)", v, signed(secret2, good, ts), ts, good, nil},
		{"unsigned", v, "", "", good, record.ErrUnauthenticated},
		{"no timestamp", v, signed(secret1, good, ts), "", good, record.ErrUnauthenticated},
		{"wrong secret", v, signed("whsec_other", good, ts), ts, good, record.ErrUnauthenticated},
		{"tampered body", v, signed(secret1, good, ts), ts, append([]byte(" "), good...), record.ErrUnauthenticated},
		{"timestamp not the signed one", v, signed(secret1, good, ts), now.Add(time.Second).Format(time.RFC3339), good, record.ErrUnauthenticated},
		{"stale timestamp", v, signed(secret1, good, now.Add(-6*time.Minute).Format(time.RFC3339)), now.Add(-6 * time.Minute).Format(time.RFC3339), good, record.ErrUnauthenticated},
		{"future timestamp", v, signed(secret1, good, now.Add(6*time.Minute).Format(time.RFC3339)), now.Add(6 * time.Minute).Format(time.RFC3339), good, record.ErrUnauthenticated},
		{"unreadable timestamp", v, signed(secret1, good, "yesterday"), "yesterday", good, record.ErrUnauthenticated},
		{"signature not base64", v, "not*base64", ts, good, record.ErrUnauthenticated},
		{"no secret configured", zendesk.NewVerifier(config.Webhook{}), signed("", good, ts), ts, good, record.ErrUnauthenticated},
		{"signed but not JSON", v, signed(secret1, []byte("ticket=42"), ts), ts, []byte("ticket=42"), record.ErrMalformed},
		{"signed but no event id", v, signed(secret1, []byte(`{"type":"zen:event-type:ticket.created","detail":{"id":"1"}}`), ts), ts, []byte(`{"type":"zen:event-type:ticket.created","detail":{"id":"1"}}`), record.ErrMalformed},
		{"ticket event without detail.id", v, signed(secret1, []byte(`{"id":"e","type":"zen:event-type:ticket.created","detail":{}}`), ts), ts, []byte(`{"id":"e","type":"zen:event-type:ticket.created","detail":{}}`), record.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := tc.verifier.Verify(webhookRequest(tc.sig, tc.ts), tc.body, now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if evs != nil {
					t.Errorf("events returned with an error: %+v", evs)
				}
				for _, leak := range []string{secret1, secret2, string(tc.body)} {
					if leak != "" && strings.Contains(err.Error(), leak) {
						t.Errorf("error %q carries request data or a secret", err)
					}
				}
				return
			}
			want := []record.Event{{System: "zendesk", ID: "ev-1", Type: "ticket.status_changed", ObjectType: "ticket", ObjectID: "42",
				Occurred: now, Fields: map[string]string{"organization_id": "7"}}}
			if !reflect.DeepEqual(evs, want) {
				t.Errorf("events:\n got %+v\nwant %+v", evs, want)
			}
		})
	}
}

// TestWebhookReScoresTheTicketsOrganization pins the webhook path at the
// connector's edge: a signed ticket event names the ticket, FetchTicket
// re-reads it with its metrics, and the organization's signals move.
func TestWebhookReScoresTheTicketsOrganization(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{})
	seed(w)
	h := signalsOf(pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()}))
	w.clk.Advance(time.Minute)
	w.fake.PutTicket(zendesktest.Ticket{ID: 7, OrganizationID: 2, Status: "open", Priority: "urgent"})
	w.fake.PutMetric(zendesktest.TicketMetric{TicketID: 7, ReplyCalendarMin: zendesktest.Minutes(240)})

	now := w.clk.Now()
	body := zendesktest.TicketEvent("ev-7", "created", 7, 2, now)
	r := webhookRequest("", "")
	zendesktest.SignRequest(r, secret2, body, now)
	evs, err := w.client.Verify(r, body, now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	id := int64(7)
	if evs[0].ObjectID != "7" || evs[0].Fields["organization_id"] != "2" {
		t.Fatalf("event %+v", evs[0])
	}
	tk, err := w.client.FetchTicket(context.Background(), id)
	if err != nil {
		t.Fatalf("FetchTicket: %v", err)
	}
	h.PutTicket(tk)
	want := []record.Signal{
		sig("2", "tickets_open", 2, now), sig("2", "tickets_created_30d", 2, now), sig("2", "median_first_reply_hours", 4, now),
		sig("2", "satisfaction_good_ratio", 0, now), sig("2", "urgent_tickets", 1, now),
	}
	if got := h.OrganizationSignals(2, now); !reflect.DeepEqual(got, want) {
		t.Errorf("organization 2 after the event:\n got %+v\nwant %+v", got, want)
	}
	if n := w.fake.Count("GET /api/v2/tickets/{id}") + w.fake.Count("GET /api/v2/tickets/{id}/metrics"); n != 2 {
		t.Errorf("webhook path sent %d requests, want 2", n)
	}
	w.fake.DeleteTicket(7)
	if _, err := w.client.FetchTicket(context.Background(), id); !errors.Is(err, zendesk.ErrNotFound) {
		t.Errorf("FetchTicket of a deleted ticket: %v, want ErrNotFound", err)
	}
}
