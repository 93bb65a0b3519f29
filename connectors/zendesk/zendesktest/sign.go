package zendesktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Webhook signature headers. Docs ("Verifying webhook authenticity"):
// "X-Zendesk-Webhook-Signature - the main signature" and
// "X-Zendesk-Webhook-Signature-Timestamp - the timestamp used to verify the
// signature".
const (
	SignatureHeader          = "X-Zendesk-Webhook-Signature"
	SignatureTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
)

// Sign returns the signature Zendesk sends for body at timestamp ts (as it
// appears in the timestamp header): base64(HMACSHA256(TIMESTAMP + BODY))
// keyed with the webhook's signing secret as given (docs "Verifying webhook
// authenticity").
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignRequest sets the two signature headers on r for body at time at,
// formatted as Zendesk does ("2024-04-17T17:18:10Z").
func SignRequest(r *http.Request, secret string, body []byte, at time.Time) {
	ts := at.UTC().Format(time.RFC3339)
	r.Header.Set(SignatureTimestampHeader, ts)
	r.Header.Set(SignatureHeader, Sign(secret, ts, body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Zendesk Webhook")
}

// TicketEvent builds a ticket event body as Zendesk event webhooks send it
// (docs "Webhook event types" > "Event schema", "Ticket events": type,
// account_id, id, time, zendesk_event_version, subject "zen:ticket:{id}",
// detail with id and organization_id as strings).
func TicketEvent(eventID, eventType string, ticketID, orgID int64, at time.Time) []byte {
	t := at.UTC().Format(time.RFC3339)
	return []byte(`{"type":"zen:event-type:ticket.` + eventType + `","account_id":88888888,"id":"` + eventID +
		`","time":"` + t + `","zendesk_event_version":"2022-11-06","subject":"zen:ticket:` + itoa(ticketID) +
		`","detail":{"id":"` + itoa(ticketID) + `","organization_id":"` + itoa(orgID) + `","status":"OPEN","priority":"HIGH","created_at":"` + t +
		`","updated_at":"` + t + `"},"event":{}}`)
}
