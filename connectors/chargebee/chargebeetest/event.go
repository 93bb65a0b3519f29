package chargebeetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// EventBody builds a webhook body as Chargebee POSTs it (docs: "Events >
// Event object", "Webhooks"): one event object with id, occurred_at (Unix
// seconds), source, object "event", api_version "v2", event_type and content,
// which holds the affected resources keyed by resource name ("subscription",
// "customer", "invoice", "transaction", ...).
func EventBody(id, eventType string, occurred time.Time, content map[string]any) []byte {
	ev := map[string]any{
		"id":             id,
		"occurred_at":    occurred.Unix(),
		"source":         "admin_console",
		"user":           "admin@example.com",
		"object":         "event",
		"api_version":    "v2",
		"event_type":     eventType,
		"webhook_status": "scheduled",
		"content":        content,
	}
	b, _ := json.Marshal(ev)
	return b
}

// EventObjects names the stored records an event's content carries.
type EventObjects struct {
	SubscriptionID string
	CustomerID     string // defaults to the subscription's, invoice's or transaction's customer
	InvoiceID      string
	TransactionID  string
}

// Event builds a webhook body for eventType (e.g. "subscription_changed",
// "payment_failed") whose content is the current state of the named stored
// records, occurred_at from the clock.
func (s *Server) Event(id, eventType string, o EventObjects) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	content := map[string]any{}
	cust := o.CustomerID
	if o.TransactionID != "" {
		t, ok := s.transactions[o.TransactionID]
		if !ok {
			return nil, fmt.Errorf("transaction %q: %w", o.TransactionID, ErrNotFound)
		}
		content["transaction"] = *t
		cust = cmpOr(cust, t.CustomerID)
	}
	if o.InvoiceID != "" {
		v, ok := s.invoices[o.InvoiceID]
		if !ok {
			return nil, fmt.Errorf("invoice %q: %w", o.InvoiceID, ErrNotFound)
		}
		content["invoice"] = *v
		cust = cmpOr(cust, v.CustomerID)
	}
	if o.SubscriptionID != "" {
		v, ok := s.subscriptions[o.SubscriptionID]
		if !ok {
			return nil, fmt.Errorf("subscription %q: %w", o.SubscriptionID, ErrNotFound)
		}
		content["subscription"] = *v
		cust = cmpOr(cust, v.CustomerID)
	}
	if cust != "" {
		c, ok := s.customers[cust]
		if !ok {
			return nil, fmt.Errorf("customer %q: %w", cust, ErrNotFound)
		}
		content["customer"] = *c
	}
	return EventBody(id, eventType, s.now(), content), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// WebhookRequest builds the POST Chargebee sends to a webhook endpoint:
// JSON body, and Basic auth when user is not empty (the credentials set on
// the webhook in Chargebee's settings).
func WebhookRequest(url, user, password string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ChargeBee")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return req, nil
}
