package store

import (
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// QueuedEvent is one verified webhook event waiting to be processed.
type QueuedEvent struct {
	// Seq is the queue position, assigned by Enqueue.
	Seq uint64 `json:"-"`
	// Connector is the configured connector name the event came through;
	// with Event.ID it is the dedupe key.
	Connector string `json:"connector"`
	// Key orders processing: events with the same Key are claimed one at a
	// time in Seq order. Empty means Connector/ObjectType/ObjectID.
	Key   string       `json:"key"`
	Event record.Event `json:"event"`
	// Attempts counts failed processing attempts (Retry, DeadLetter).
	Attempts int `json:"attempts"`
	// Due is the earliest time the event may be claimed.
	Due       time.Time `json:"due"`
	Enqueued  time.Time `json:"enqueued"`
	LastError string    `json:"last_error,omitempty"`
	// DeadAt is when the event was moved to the dead letters.
	DeadAt time.Time `json:"dead_at,omitzero"`
	// Covers lists later queued copies of this event (same connector, type
	// and object, same ordering key) that Claim coalesced into it: Ack
	// removes them too, since processing reads the object's current state.
	// Retry and DeadLetter leave them queued. Not persisted.
	Covers []uint64 `json:"-"`
}

// OrderKey is the ordering key the claim policy uses: Key, or
// Connector/ObjectType/ObjectID when Key is empty.
func (e *QueuedEvent) OrderKey() string {
	if e.Key != "" {
		return e.Key
	}
	return e.Connector + "/" + e.Event.ObjectType + "/" + e.Event.ObjectID
}
