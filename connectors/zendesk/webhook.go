package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Webhook signature headers. Docs ("Verifying webhook authenticity"):
// "X-Zendesk-Webhook-Signature - the main signature",
// "X-Zendesk-Webhook-Signature-Timestamp - the timestamp used to verify the
// signature".
const (
	SignatureHeader          = "X-Zendesk-Webhook-Signature"
	SignatureTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
)

// DefaultTolerance is the accepted distance between the signed timestamp
// and the receiver's clock. Zendesk documents the timestamp as what
// "help[s] prevent against replay attacks" without a number; 5 minutes is
// healthsync's rule for every signed webhook.
const DefaultTolerance = 5 * time.Minute

// Verifier authenticates Zendesk webhooks: base64(HMACSHA256(TIMESTAMP +
// BODY)) keyed with the webhook's signing secret (docs "Verifying webhook
// authenticity"), compared with hmac.Equal against every configured secret
// (rotation), and a timestamp within the tolerance.
type Verifier struct {
	secrets   [][]byte
	tolerance time.Duration
}

// NewVerifier builds a Verifier from webhook.secrets and
// webhook.tolerance. With no secret every request is refused.
func NewVerifier(w config.Webhook) *Verifier {
	v := &Verifier{tolerance: w.Tolerance.D()}
	if v.tolerance <= 0 {
		v.tolerance = DefaultTolerance
	}
	for _, s := range w.Secrets {
		if !s.IsZero() {
			v.secrets = append(v.secrets, []byte(s.Reveal()))
		}
	}
	return v
}

// Verify uses the connector's webhook settings (see Verifier.Verify).
func (c *Client) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	return c.verify.Verify(r, body, now)
}

// webhookEvent is a Zendesk event webhook body (docs "Webhook event types" >
// "Event schema": type, account_id, id, time, zendesk_event_version,
// subject, detail, event; "Ticket events": detail.id and
// detail.organization_id are strings).
type webhookEvent struct {
	Type    string    `json:"type"`
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
	Detail  struct {
		ID             string `json:"id"`
		OrganizationID string `json:"organization_id"`
	} `json:"detail"`
}

// Verify checks the signature and timestamp over the raw body and parses it
// into one record.Event: ticket events name the ticket to re-read
// (ObjectType "ticket") and carry its organization_id in Fields, so the
// engine re-scores that organization's account; organization events name
// the organization. A bad, missing or stale signature wraps
// record.ErrUnauthenticated; a body that is not an event wraps
// record.ErrMalformed. Neither error carries request data.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	if len(v.secrets) == 0 {
		return nil, fmt.Errorf("zendesk webhook signing secret is not configured: %w", record.ErrUnauthenticated)
	}
	sig, ts := r.Header.Get(SignatureHeader), r.Header.Get(SignatureTimestampHeader)
	if sig == "" || ts == "" {
		return nil, fmt.Errorf("zendesk webhook: missing signature headers: %w", record.ErrUnauthenticated)
	}
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return nil, fmt.Errorf("zendesk webhook: unreadable signature timestamp: %w", record.ErrUnauthenticated)
	}
	if d := now.Sub(at); d > v.tolerance || d < -v.tolerance {
		return nil, fmt.Errorf("zendesk webhook: signature timestamp outside the tolerance: %w", record.ErrUnauthenticated)
	}
	given, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("zendesk webhook: signature is not base64: %w", record.ErrUnauthenticated)
	}
	ok := false
	for _, s := range v.secrets {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(ts))
		m.Write(body)
		ok = hmac.Equal(m.Sum(nil), given) || ok
	}
	if !ok {
		return nil, fmt.Errorf("zendesk webhook: signature mismatch: %w", record.ErrUnauthenticated)
	}
	var ev webhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("zendesk webhook: decoding event: %w", record.ErrMalformed)
	}
	if ev.ID == "" || !strings.HasPrefix(ev.Type, "zen:event-type:") {
		return nil, fmt.Errorf("zendesk webhook: event lacks id or a zen:event-type type: %w", record.ErrMalformed)
	}
	out := record.Event{System: System, ID: ev.ID, Type: strings.TrimPrefix(ev.Type, "zen:event-type:"), Occurred: ev.Time.UTC()}
	switch {
	case strings.HasPrefix(out.Type, "ticket."):
		if ev.Detail.ID == "" {
			return nil, fmt.Errorf("zendesk webhook: ticket event without detail.id: %w", record.ErrMalformed)
		}
		out.ObjectType, out.ObjectID = "ticket", ev.Detail.ID
		if org := ev.Detail.OrganizationID; org != "" && org != "0" {
			out.Fields = map[string]string{"organization_id": org}
		}
	case strings.HasPrefix(out.Type, "organization."):
		if ev.Detail.ID == "" {
			return nil, fmt.Errorf("zendesk webhook: organization event without detail.id: %w", record.ErrMalformed)
		}
		out.ObjectType, out.ObjectID = "organization", ev.Detail.ID
	}
	return []record.Event{out}, nil
}
