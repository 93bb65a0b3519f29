package chargebee

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Verifier authenticates Chargebee webhooks. Chargebee does not sign its
// webhooks; it sends the Basic auth credentials configured on the webhook
// endpoint (docs: "Webhooks > Basic authentication"), which are compared in
// constant time with config webhook.username/password.
type Verifier struct {
	user, pass [32]byte // SHA-256, so compares are constant-time whatever the length
	configured bool
}

// NewVerifier builds a Verifier from the connector's webhook settings. With
// no username or password configured every request is refused.
func NewVerifier(w config.Webhook) *Verifier {
	v := &Verifier{configured: w.Username != "" && !w.Password.IsZero()}
	if v.configured {
		v.user = sha256.Sum256([]byte(w.Username))
		v.pass = sha256.Sum256([]byte(w.Password.Reveal()))
	}
	return v
}

// webhookEvent is the event object Chargebee POSTs (docs: "Events").
type webhookEvent struct {
	ID         string                     `json:"id"`
	OccurredAt int64                      `json:"occurred_at"`
	EventType  string                     `json:"event_type"`
	Content    map[string]json.RawMessage `json:"content"`
}

// Verify checks the request's Basic credentials and parses the event body
// into one record.Event naming the object to re-read. Chargebee events carry
// no signed timestamp and are retried for days, so now is not used for a
// freshness check; the event id serves for dedupe.
func (v *Verifier) Verify(r *http.Request, body []byte, _ time.Time) ([]record.Event, error) {
	if !v.configured {
		return nil, fmt.Errorf("chargebee webhook credentials are not configured: %w", record.ErrUnauthenticated)
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, fmt.Errorf("chargebee webhook: missing basic credentials: %w", record.ErrUnauthenticated)
	}
	hu, hp := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	if subtle.ConstantTimeCompare(hu[:], v.user[:])&subtle.ConstantTimeCompare(hp[:], v.pass[:]) != 1 {
		return nil, fmt.Errorf("chargebee webhook: wrong credentials: %w", record.ErrUnauthenticated)
	}
	var ev webhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("chargebee webhook: decoding event: %w", record.ErrMalformed)
	}
	if ev.ID == "" || ev.EventType == "" || ev.Content == nil {
		return nil, fmt.Errorf("chargebee webhook: event lacks id, event_type or content: %w", record.ErrMalformed)
	}
	objType := objectTypeFor(ev.EventType, ev.Content)
	out := record.Event{
		System:     record.Chargebee,
		ID:         ev.ID,
		Type:       ev.EventType,
		ObjectType: objType,
		Occurred:   ts(ev.OccurredAt),
	}
	if objType != "" {
		raw := ev.Content[objType]
		var obj struct {
			ID         string `json:"id"`
			CustomerID string `json:"customer_id"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.ID == "" {
			return nil, fmt.Errorf("chargebee webhook: %s without id: %w", objType, record.ErrMalformed)
		}
		out.ObjectID, out.Object = obj.ID, raw
		// A customer's subscription, invoice and transaction events are
		// ordered together (Chargebee API v2, "Subscriptions", "Invoices",
		// "Transactions": each carries customer_id).
		switch {
		case obj.CustomerID != "":
			out.OrderKey = record.CustomerOrderKey(obj.CustomerID)
		case objType == "customer":
			out.OrderKey = record.CustomerOrderKey(obj.ID)
		}
	}
	return []record.Event{out}, nil
}

// objectTypeFor picks the object an event is about: the resource its type
// names (subscription_changed -> subscription, customer_changed ->
// customer, invoice_generated -> invoice); payment_* events change an
// invoice's payment state, so their invoice, else their transaction. Other
// events fall back to the first of subscription, invoice, customer,
// transaction in the content. "" when none is present (the event is kept
// for the record but names nothing to fetch).
func objectTypeFor(eventType string, content map[string]json.RawMessage) string {
	prefer := []string{"subscription", "invoice", "customer", "transaction"}
	switch {
	case strings.HasPrefix(eventType, "subscription_"):
		prefer = []string{"subscription", "customer"}
	case strings.HasPrefix(eventType, "customer_"):
		prefer = []string{"customer"}
	case strings.HasPrefix(eventType, "invoice_"):
		prefer = []string{"invoice"}
	case strings.HasPrefix(eventType, "payment_"):
		prefer = []string{"invoice", "transaction", "subscription"}
	}
	for _, k := range prefer {
		if _, ok := content[k]; ok {
			return k
		}
	}
	return ""
}
