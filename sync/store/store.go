// Package store declares what healthsync keeps and how it is read back: the
// interfaces the engine, the webhook receiver and its workers, the notifier
// and the daemon consume, the values they exchange (QueuedEvent,
// PendingWrite, Run, ...) and the errors callers branch on. It holds no
// storage itself: sync/store/bolt is the embedded bbolt backend, and
// sync/store/storetest is the suite every backend passes.
package store

import (
	"io"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// The interfaces below are what the engine, the webhook receiver and its
// workers, the notifier and the daemon consume, one concept each. Their doc
// comments are the contract every backend follows (bbolt today, PostgreSQL
// next); storetest.Exercise checks it. Where a contract says "in order", the
// order is byte order of the strings named (PostgreSQL: COLLATE "C").
//
// Common rules:
//   - Times are kept to at least microsecond precision and come back as
//     the same instant; those a method sets itself or says it stores in
//     UTC come back in UTC. A zero time.Time stays zero.
//   - "The store's clock" is the Now option of the backend (time.Now by
//     default): timestamps the caller leaves zero are taken from it.
//   - A slice that finds nothing is empty (it may be nil); a map that
//     finds nothing is empty and never nil; a lookup of one
//     missing entry returns ok false and no error, except where a method
//     says it returns ErrNotFound.
//   - A method that takes a slice applies all of it in one transaction:
//     on error nothing of it is stored.
//   - No method holds a transaction open after it returns, and every method
//     is safe for concurrent use.
//
// Left off the interfaces, because they describe the bbolt file itself:
// Path, Size, SchemaVersionOnDisk, WriteTo (a backup), Options, Migration
// (takes *bbolt.Tx) and Open. Package bolt keeps them.

// RecordStore holds the records pulled from each connector, by connector,
// type and source ID, with the bookkeeping of full enumerations.
type RecordStore interface {
	// CommitBatch stores one pulled page of connector in one transaction,
	// together with its cursor, so a crash never keeps a cursor without
	// its page or a page without its cursor:
	//   - every record is upserted by (connector, type, Ref.ID). A record
	//     whose Ref.Modified is before the stored copy's is ignored and
	//     counted Stale (stale never overwrites newer, a tombstone
	//     included); one whose JSON equals the stored copy's is counted
	//     Unchanged; otherwise it replaces the copy (Updated, or Inserted
	//     when none was stored). A zero Ref.Modified never counts as stale
	//     and keeps the stored copy's modified time. A record with Deleted
	//     set is stored as a tombstone and counted Deleted.
	//   - each of Batch.Deleted (matched by ID in whichever type holds it)
	//     becomes a tombstone, counted Deleted, with "deleted": true and
	//     Ref.Modified (when not zero) written into the stored record. A
	//     deletion older than the stored copy is Stale; one of a tombstone
	//     is Unchanged; one of an unknown ID is not counted.
	//   - a non-nil Cursor replaces the cursor of (connector, Stream).
	//   - the types the batch holds are remembered for Stream. When Full,
	//     its records are marked seen for Stream; when Full and Done, the
	//     live records of the stream's types that no batch of this
	//     enumeration marked are returned in CommitStats.Unseen (ordered by
	//     type name, then source ID; each with its stored modified time)
	//     and the marks are cleared. Records of those types stored by
	//     another stream of connector count as the stream's. Unseen
	//     records are not deleted here (see ApplyDeletions).
	// Committing the same batch twice counts everything Unchanged the
	// second time. An empty connector, a cursor or Full without a Stream,
	// or a record with an empty source ID is an error and stores nothing.
	CommitBatch(connector string, b *record.Batch) (CommitStats, error)
	// ApplyDeletions turns into tombstones the records of gone that are
	// still live with exactly the modified time gone reports (a record
	// changed or deleted since is skipped), keeping that modified time. It
	// returns how many it deleted; unknown entries are skipped.
	ApplyDeletions(connector string, gone []Gone) (int, error)
	// ResetFull forgets the seen marks of an unfinished full enumeration
	// of stream, so the next Full batch starts a new one. Unknown
	// connectors and streams are not an error.
	ResetFull(connector, stream string) error
	// Counts returns the number of live records of each type of
	// connector. A type has an entry (possibly 0) once connector has
	// stored a record of it, tombstones included; other types have none.
	Counts(connector string) (map[RecordType]int, error)
	// Connectors lists, in order, the connectors that have committed a
	// batch.
	Connectors() ([]string, error)
	// NewestModified returns the latest Ref.Modified of connector's stored
	// records, tombstones included; zero when it has none. A source whose
	// versions are ordered by observation time continues after it, so its
	// versions stay ordered across restarts.
	NewestModified(connector string) (time.Time, error)
}

// CRMRecords reads the CRM side of the stored records. Lists return live
// records only, in source-ID order; single lookups return tombstones too
// (Deleted set) and ok false when nothing is stored under the ID.
type CRMRecords interface {
	Accounts(connector string) ([]record.Account, error)
	Deals(connector string) ([]record.Deal, error)
	// Tasks returns the CRM tasks pulled by connector.
	Tasks(connector string) ([]record.Task, error)
	Account(connector, id string) (record.Account, bool, error)
	Deal(connector, id string) (record.Deal, bool, error)
	// DealsOf returns the live deals whose AccountID is one of accountIDs
	// (source IDs; duplicates and empty IDs are ignored), ordered by
	// account ID then source ID, in one read.
	DealsOf(connector string, accountIDs []string) ([]record.Deal, error)
}

// BillingRecords reads the billing side of the stored records, with the
// rules of CRMRecords.
type BillingRecords interface {
	Customers(connector string) ([]record.Customer, error)
	Subscriptions(connector string) ([]record.Subscription, error)
	Invoices(connector string) ([]record.Invoice, error)
	Customer(connector, id string) (record.Customer, bool, error)
	Subscription(connector, id string) (record.Subscription, bool, error)
	Invoice(connector, id string) (record.Invoice, bool, error)
	// SubscriptionsOf and InvoicesOf return the live records whose
	// CustomerID is one of customerIDs (source IDs; duplicates and empty
	// IDs are ignored), ordered by customer ID then source ID, in one read:
	// the engine scores a chunk of accounts without decoding every record.
	SubscriptionsOf(connector string, customerIDs []string) ([]record.Subscription, error)
	InvoicesOf(connector string, customerIDs []string) ([]record.Invoice, error)
}

// CursorStore holds the opaque resume cursor of each stream of each
// connector. RecordStore.CommitBatch sets one together with its page; these
// methods act on cursors alone.
type CursorStore interface {
	// Cursors returns every stored cursor of connector by stream; empty
	// (not nil) when there is none.
	Cursors(connector string) (map[string][]byte, error)
	// SetCursor replaces one stream's cursor; a nil cursor deletes it, an
	// empty one is stored (and read back empty, not nil).
	SetCursor(connector, stream string, cursor []byte) error
	// ResetCursors deletes every cursor of connector, so its next pull is
	// a full load. An unknown connector is not an error.
	ResetCursors(connector string) error
}

// LinkStore holds the identity links between CRM accounts and billing
// customers.
type LinkStore interface {
	// SetLinks replaces the whole set of links in one transaction. A link
	// whose (AccountKey, CustomerKey) was already stored keeps its stored
	// Created; a new one keeps the Created it is given, or gets the
	// store's clock when that is zero. Its Rule is always the given one.
	SetLinks(links []Link) error
	// Links returns every link, ordered by account key then customer key.
	Links() ([]Link, error)
}

// SignalStore holds product-usage signals by account, metric and time.
type SignalStore interface {
	// AddSignals stores signals in one transaction. A signal with the
	// account, metric and time of a stored one replaces its value. It
	// returns how many were not stored before. A signal without account
	// system, account ID or metric is an error and stores nothing.
	AddSignals(sigs []record.Signal) (added int, err error)
	// Signals returns one account's signals (accountKey is
	// record.Ref.Key()) at or after since, ordered by metric then time.
	Signals(accountKey string, since time.Time) ([]record.Signal, error)
	// AllSignals returns every account's signals at or after since, by
	// account key; accounts without any have no entry.
	AllSignals(since time.Time) (map[string][]record.Signal, error)
	// PruneSignals deletes the signals strictly before before and returns
	// how many it deleted.
	PruneSignals(before time.Time) (int, error)
}

// ScoreStore holds each account's current health score and its history.
type ScoreStore interface {
	// PutScores stores snapshots in one transaction. Each goes into its
	// account's history under (AccountKey, At), replacing a snapshot with
	// the same At (so putting one twice is idempotent), and becomes the
	// account's current score unless the current one has a later At. An
	// empty AccountKey is an error and stores nothing.
	PutScores(snaps []ScoreSnapshot) error
	// Score returns an account's current score; ok false when it has none.
	Score(accountKey string) (ScoreSnapshot, bool, error)
	// Scores returns every current score, ordered by account key.
	Scores() ([]ScoreSnapshot, error)
	// ScoreHistory returns an account's snapshots with At at or after
	// since, oldest first.
	ScoreHistory(accountKey string, since time.Time) ([]ScoreSnapshot, error)
	// ScoreHistories is ScoreHistory of each of accountKeys in one read,
	// by account key; accounts without snapshots since have no entry.
	ScoreHistories(accountKeys []string, since time.Time) (map[string][]ScoreSnapshot, error)
	// ScoresAt returns, for each account, its snapshot with the latest At
	// at or before t, ordered by account key; accounts with none have no
	// entry.
	ScoresAt(t time.Time) ([]ScoreSnapshot, error)
}

// WriteLedger holds what was written to each CRM record's fields and the
// durable queue of planned writes not yet confirmed (pending writes), per
// CRM connector. A record is (object, ID); values are compared as JSON, so
// int64(5) and 5.0 are the same value, and read back as decoded JSON
// (string, float64, bool, nil, []any, map[string]any).
type WriteLedger interface {
	// LastWritten returns the last written value of each field of one
	// record; empty (not nil) when nothing was written.
	LastWritten(connector, object, id string) (map[string]WrittenValue, error)
	// AllWritten returns LastWritten of every record of connector.
	AllWritten(connector string) (map[WriteKey]map[string]WrittenValue, error)
	// WrittenOf is LastWritten of each of ids (records of object) in one
	// read; records never written have no entry.
	WrittenOf(connector, object string, ids []string) (map[WriteKey]map[string]WrittenValue, error)
	// PutWritten records that updates were written at at. Fields not
	// named keep their previous value. An empty object or ID is an error
	// and stores nothing.
	PutWritten(connector string, updates []record.FieldUpdate, at time.Time) error
	// PutPending stores planned writes in one transaction. A plan for a
	// record with a pending write merges into it (the new values win for
	// the fields it names) and keeps its Attempts, RetryAt and LastError,
	// unless that write had failed permanently: then those are reset and
	// Permanent is cleared. Planned defaults to the store's clock. An empty
	// connector, object or ID is an error and stores nothing.
	PutPending(ws []PendingWrite) error
	// Pending returns connector's pending writes, due or not, permanent
	// failures included, ordered by object then ID.
	Pending(connector string) ([]PendingWrite, error)
	// MarkWritten does PutWritten and, in the same transaction, removes
	// from each record's pending write the fields whose pending value is
	// the one written (a field re-planned with another value stays); a
	// pending write with no field left is deleted.
	MarkWritten(connector string, updates []record.FieldUpdate, at time.Time) error
	// MarkSent records, in one transaction and before the call that sends
	// them, the values of updates as sent: each becomes one of its field's
	// PendingWrite.Sent values (a value already there is not repeated; the
	// oldest beyond the last four are dropped). Sent values survive a
	// merging PutPending; MarkWritten clears the Sent values of each field
	// it records. An update without a pending write records nothing.
	MarkSent(connector string, updates []record.FieldUpdate) error
	// MarkFailed counts one failed attempt on each named record's pending
	// write: Attempts+1, LastError, Permanent and RetryAt (UTC) replaced.
	// Records without a pending write are skipped; others are untouched.
	MarkFailed(connector string, fails []WriteFailure) error
	// DropPending deletes one record's pending write; a missing one is not
	// an error.
	DropPending(connector, object, id string) error
}

// TaskStore holds the CRM tasks healthsync created, by the dedupe key of
// the rule that raised each, so one condition never opens a second task.
type TaskStore interface {
	// PutTasks inserts or replaces tasks by DedupeKey in one transaction;
	// an empty DedupeKey is an error and stores nothing.
	PutTasks(tasks []CreatedTask) error
	// PutTask is PutTasks of one task.
	PutTask(t CreatedTask) error
	// TaskByKey returns the task stored under a dedupe key; ok false when
	// none is.
	TaskByKey(key string) (CreatedTask, bool, error)
	// OpenTasks returns the tasks whose Status is record.TaskOpen, ordered
	// by dedupe key.
	OpenTasks() ([]CreatedTask, error)
	// OpenTasksByPrefix returns the open tasks whose dedupe key starts
	// with one of prefixes, ordered by dedupe key, in one read: a rule's
	// tasks of one account (keys are "rule/account key/period").
	OpenTasksByPrefix(prefixes []string) ([]CreatedTask, error)
}

// Queue is the durable webhook queue: the receiver enqueues verified
// events, workers claim, process and settle them.
//
// Claim policy. An event's ordering key is QueuedEvent.Key
// (Connector/ObjectType/ObjectID when empty). At most one event per
// ordering key is in flight (claimed and not yet settled by Ack, Retry or
// DeadLetter), and a key's events are claimed in Seq order: while a key's
// earliest queued event is in flight or not yet due, none of its later
// events is claimed. Claims belong to the store value that made them:
// after Close, the next store opened on the same data sees unsettled events
// as queued again. (Several replicas sharing one queue will need claims
// that expire, a lease; no method here takes one yet.)
//
// Coalescing. When Claim takes an event, the queued events that directly
// follow it within its ordering key and are copies of it (same Connector,
// Event.Type, Event.ObjectType and Event.ObjectID) and are due are listed in
// its Covers, in Seq order, up to the first event of the key that is not
// such a copy (at most 1,000 copies; Claim may also stop looking a bounded
// distance past its last claim, leaving later copies to a later claim).
// Processing reads the object's current state, so Ack of the
// claimed event removes its covered copies too; Retry and DeadLetter leave
// them queued. A covered copy is not claimed while its key is in flight.
type Queue interface {
	// Enqueue durably queues events in one transaction and reports, per
	// event, whether it was a duplicate: an event whose (Connector,
	// Event.ID) was enqueued within the dedupe TTL (earlier in the same
	// call included) is acknowledged but not queued, and its Seq is left
	// as it was. An empty Event.ID is never a duplicate. The others get
	// increasing Seq numbers, in slice order, after every Seq assigned
	// before; a zero Enqueued or Due becomes the store's clock, an empty
	// Key the default ordering key. These fields are set on the events
	// passed in.
	Enqueue(events []QueuedEvent) (dup []bool, err error)
	// Claim returns up to n events due at now (Due at or before now), in
	// Seq order, following the claim policy above, and marks them in
	// flight.
	Claim(n int, now time.Time) ([]QueuedEvent, error)
	// Ack removes a processed event and the copies it covers from the
	// queue and ends its claim. Its dedupe ID stays until it expires. It
	// returns ErrNotFound (wrapped) when seq is not queued.
	Ack(seq uint64) error
	// Retry counts a failed attempt (Attempts+1), stores cause's text in
	// LastError ("" for nil), makes the event due at at (UTC) and ends its
	// claim. Later events of its key wait behind it. ErrNotFound (wrapped)
	// when seq is not queued.
	Retry(seq uint64, at time.Time, cause error) error
	// DeadLetter moves an event out of the queue into the dead letters,
	// keeping its Seq, with Attempts+1, LastError and DeadAt (the store's
	// clock), and ends its claim; the next event of its key becomes
	// claimable. ErrNotFound (wrapped) when seq is not queued.
	DeadLetter(seq uint64, cause error) error
	// SweepDedupe forgets the event IDs whose dedupe window ended at or
	// before now and returns how many it forgot. A window is the dedupe
	// TTL (a backend option) from the enqueue that stored the ID; queued
	// events are not touched.
	SweepDedupe(now time.Time) (int, error)
}

// DeadLetterQueue is the operators' side of the queue's dead letters.
type DeadLetterQueue interface {
	// DeadLetters returns the dead-lettered events in Seq order.
	DeadLetters() ([]QueuedEvent, error)
	// Replay moves dead letter seq to the end of the queue under a new
	// Seq, which it returns, due at the store's clock, with Attempts 0 and
	// DeadAt zero; LastError and Enqueued are kept and the dedupe IDs are
	// not consulted. ErrNotFound (wrapped) when seq is not a dead letter.
	Replay(seq uint64) (uint64, error)
}

// QueueStats are the queue's gauges.
type QueueStats interface {
	// QueueDepth returns the number of queued events (in flight and
	// covered copies included) and of dead letters.
	QueueDepth() (queued, dead int, err error)
	// QueueDepthOf returns the number of queued events of one connector
	// (in flight and covered copies included; dead letters not), cheaply
	// enough to ask once per claimed batch: the webhook workers compare
	// it with webhooks.pull_threshold to turn a burst into a pull.
	QueueDepthOf(connector string) (int, error)
	// InFlight is the number of events claimed and not yet settled, not
	// counting covered copies.
	InFlight() int
}

// Outbox holds outbound notifications until they are delivered.
type Outbox interface {
	// PutOutbox adds notifications in one transaction and returns their
	// IDs, increasing in slice order after every ID assigned before. A
	// zero Created or Due becomes the store's clock.
	PutOutbox(ns []Notification) ([]uint64, error)
	// DueOutbox returns up to n notifications with Due at or before now,
	// in ID order. A backend several processes share may lease them to
	// this store value: it gets them again, others only once the lease has
	// passed or after OutboxRetry or Close (PostgreSQL does).
	DueOutbox(now time.Time, n int) ([]Notification, error)
	// OutboxDelivered deletes a notification; ErrNotFound (wrapped) when
	// id is not in the outbox.
	OutboxDelivered(id uint64) error
	// OutboxRetry counts a failed delivery (Attempts+1), stores cause's
	// text in LastError and makes the notification due at at (UTC);
	// ErrNotFound (wrapped) when id is not in the outbox.
	OutboxRetry(id uint64, at time.Time, cause error) error
	// OutboxLen is the number of notifications in the outbox.
	OutboxLen() (int, error)
}

// RunLog holds the history of job runs.
type RunLog interface {
	// PutRun inserts or replaces a run identified by (Start, ID), so a run
	// is put when it starts and again, with the same Start, when it ends.
	// A run without ID or Start is an error.
	PutRun(r Run) error
	// Runs returns up to limit runs, newest Start first (ties: greater ID
	// first).
	Runs(limit int) ([]Run, error)
	// PruneRuns keeps the keep newest runs (in Runs order), deletes the
	// others and returns how many it deleted.
	PruneRuns(keep int) (int, error)
	// InterruptRuns sets Status RunInterrupted, with the note "the process
	// stopped before the run ended", on every run whose Status is
	// "running", in one transaction, and returns how many. A process calls
	// it when it starts, before it begins runs of its own.
	InterruptRuns() (int, error)
}

// Meta holds small named values: engine state, the saved plan, the time of
// the last housekeeping.
type Meta interface {
	// Meta returns the value stored under key; nil when none is. An empty
	// value reads back empty, not nil.
	Meta(key string) ([]byte, error)
	// SetMeta stores val under key, replacing any value; a nil val deletes
	// the key.
	SetMeta(key string, val []byte) error
	// MetaTime returns the time stored under key by SetMetaTime, in UTC
	// to the nanosecond; the zero time when none is.
	MetaTime(key string) (time.Time, error)
	// SetMetaTime stores t under key.
	SetMetaTime(key string, t time.Time) error
}

// Store is a whole store, what a backend's Open returns: every interface
// above, and Close, which releases it, claims of the queue included. After
// Close every method that returns an error fails with one for which
// errors.Is(err, ErrClosed) holds (invalid arguments may be reported
// instead); closing again returns nil or ErrClosed.
type Store interface {
	RecordStore
	CRMRecords
	BillingRecords
	CursorStore
	LinkStore
	SignalStore
	ScoreStore
	WriteLedger
	TaskStore
	Queue
	DeadLetterQueue
	QueueStats
	Outbox
	RunLog
	Meta
	io.Closer
}
