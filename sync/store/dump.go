package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// ErrNotEmpty is Import's error when the target store already holds data.
var ErrNotEmpty = errors.New("target store is not empty")

// Exporter reads a whole store into a Dump, for moving an install from one
// backend to another (`healthsync migrate-store`). The other interfaces
// cannot enumerate everything (tombstones, seen marks of a running full
// enumeration, completed tasks, the queue itself, dedupe IDs, meta keys,
// sequence counters), hence this pair.
type Exporter interface {
	// Export returns every entry of the store as of one moment, each list
	// in the order its field names. Queue claims are not exported: an
	// event in flight is exported queued.
	Export() (*Dump, error)
}

// Importer writes a Dump into an empty store.
type Importer interface {
	// Import stores d in one transaction, keeping every value, Seq and
	// outbox ID as they are, and continues the queue's and the outbox's
	// numbering after d's counters, so new events and notifications sort
	// after the imported ones. A store holding any entry refuses it with
	// ErrNotEmpty (wrapped) and stores nothing.
	Import(d *Dump) error
}

// Dump is a whole store in a backend-neutral form. Every time is UTC.
type Dump struct {
	// Meta is every meta key and its value.
	Meta map[string][]byte `json:"meta"`
	// Connectors are those that committed a batch, in order.
	Connectors []string `json:"connectors"`
	// Records are every stored record, tombstones included, by
	// connector, type, source ID.
	Records []StoredRecord `json:"records"`
	// Cursors by connector, stream.
	Cursors []StoredCursor `json:"cursors"`
	// Streams are the full-enumeration bookkeeping, by connector, stream.
	Streams []StreamState `json:"streams"`
	// Signals by account key, metric, time.
	Signals []record.Signal `json:"signals"`
	// Links by account key, customer key.
	Links []Link `json:"links"`
	// Scores are the current scores, by account key; ScoreHistory every
	// snapshot, by account key, At.
	Scores       []ScoreSnapshot `json:"scores"`
	ScoreHistory []ScoreSnapshot `json:"score_history"`
	// Written values by connector, object, ID, field.
	Written []StoredWritten `json:"written"`
	// Pending writes by connector, object, ID.
	Pending []PendingWrite `json:"pending"`
	// Tasks healthsync created, open and completed, by dedupe key.
	Tasks []CreatedTask `json:"tasks"`
	// Queue and DeadLetters by Seq (Covers empty).
	Queue       []QueuedEvent `json:"queue"`
	DeadLetters []QueuedEvent `json:"dead_letters"`
	// Dedupe are the remembered webhook event IDs, by connector, event ID.
	Dedupe []DedupeID `json:"dedupe"`
	// Outbox by ID.
	Outbox []Notification `json:"outbox"`
	// Runs by Start, then ID.
	Runs []Run `json:"runs"`
	// QueueSeq is the last Seq the queue assigned, OutboxSeq the last
	// outbox ID (0 when none was).
	QueueSeq  uint64 `json:"queue_seq"`
	OutboxSeq uint64 `json:"outbox_seq"`
}

// StoredRecord is one record as stored: its JSON document, with "deleted":
// true in a tombstone's.
type StoredRecord struct {
	Connector string          `json:"connector"`
	Type      RecordType      `json:"type"`
	ID        string          `json:"id"`
	Modified  time.Time       `json:"modified"`
	Deleted   bool            `json:"deleted"`
	Doc       json.RawMessage `json:"doc"`
}

// StoredCursor is one stream's resume cursor.
type StoredCursor struct {
	Connector string `json:"connector"`
	Stream    string `json:"stream"`
	Cursor    []byte `json:"cursor"`
}

// StreamState is a stream's full-enumeration bookkeeping: the types it has
// produced and, while a full enumeration runs, the records it has marked
// seen (Seen: Type and ID set, by type then ID; Modified zero).
type StreamState struct {
	Connector string       `json:"connector"`
	Stream    string       `json:"stream"`
	Types     []RecordType `json:"types"`
	Seen      []Gone       `json:"seen,omitempty"`
}

// StoredWritten is the last written value of one field of one CRM record.
type StoredWritten struct {
	Connector string       `json:"connector"`
	Object    string       `json:"object"`
	ID        string       `json:"id"`
	Field     string       `json:"field"`
	Value     WrittenValue `json:"value"`
}

// DedupeID is a remembered webhook event ID and when it is forgotten.
type DedupeID struct {
	Connector string    `json:"connector"`
	EventID   string    `json:"event_id"`
	Expires   time.Time `json:"expires"`
}

// Copy moves everything in src into dst, which must be empty: src's
// Export, then dst's Import. It returns what was moved.
func Copy(dst Importer, src Exporter) (*Dump, error) {
	d, err := src.Export()
	if err != nil {
		return nil, fmt.Errorf("exporting: %w", err)
	}
	if err := dst.Import(d); err != nil {
		return nil, fmt.Errorf("importing: %w", err)
	}
	return d, nil
}
