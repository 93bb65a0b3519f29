package store

import (
	"time"
)

// Notification is one outbound notification to a RevOps subscriber, kept
// until delivered.
type Notification struct {
	// ID is the outbox position, assigned by PutOutbox.
	ID         uint64 `json:"-"`
	Subscriber string `json:"subscriber"`
	// EventID is the idempotency ID receivers see (e.g. webhook-id).
	EventID   string    `json:"event_id"`
	Type      string    `json:"type"`
	Payload   []byte    `json:"payload"` // the exact bytes to send and sign
	Created   time.Time `json:"created"`
	Due       time.Time `json:"due"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
}
