package bolt

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// The whole file, drawn. Every top-level bucket is created at Open; nested
// buckets (per connector, per stream, per account) are created on first write.
// "8B" is a big-endian fixed-width uint64 (a time as sortable nanoseconds, see
// keys.go, or a sequence number), so byte order is time or sequence order.
//
//	(root)
//	├── schema                "version" -> 8B schema version
//	├── meta                  key -> value (bytes set by SetMeta)
//	├── records
//	│   └── <connector>
//	│       └── <type>        source ID -> 8B modified, 1B flags, record body  (records.go)
//	│                         (the JSON, or since version 2 a zstd frame of it: recordenc.go)
//	├── cursors
//	│   └── <connector>       stream -> opaque cursor bytes                      (records.go)
//	├── fullsync
//	│   └── <connector>
//	│       └── <stream>
//	│           ├── types     record type -> ""  (types the stream has produced)  (fullsync.go)
//	│           └── seen      type 0x00 source ID -> ""  (during a full enumeration)
//	├── signals
//	│   └── <account key>     metric 0x00 8B time -> 8B float64 bits             (signals.go)
//	├── links                 account key 0x00 customer key -> JSON Link         (links.go)
//	├── scores                account key -> JSON ScoreSnapshot (current)        (scores.go)
//	├── score_history         account key 0x00 8B time -> JSON ScoreSnapshot
//	├── written
//	│   └── <connector>       object 0x00 record ID -> JSON map[field]WrittenValue (writes.go)
//	├── pending
//	│   └── <connector>       object 0x00 record ID -> JSON PendingWrite
//	├── tasks                 dedupe key -> JSON CreatedTask                     (tasks.go)
//	├── queue                 8B seq -> JSON QueuedEvent                         (queue.go)
//	├── dedupe                connector 0x00 event ID -> 8B expiry
//	├── dedupe_expiry         8B expiry, connector 0x00 event ID -> ""
//	├── dead_letters          8B seq -> JSON QueuedEvent
//	├── outbox                8B id -> JSON Notification                         (outbox.go)
//	├── runs                  8B start, run ID -> JSON Run                       (runs.go)
//	├── by_owner
//	│   └── <connector>
//	│       └── <type>        owner ID 0x00 source ID -> ""  (deal, subscription, invoice; bycustomer.go)
//	├── by_owner_log
//	│   └── <connector>       8B seq -> owner entries of one commit, merged on read (ownerlog.go)
//	├── newest                connector -> 8B newest modified time of its records (newest.go)
//	└── counts                connector 0x00 type -> 8B live records (counts.go)
var (
	bucketSchema       = []byte("schema")
	bucketMeta         = []byte("meta")
	bucketRecords      = []byte("records")
	bucketCursors      = []byte("cursors")
	bucketFullSync     = []byte("fullsync")
	bucketSignals      = []byte("signals")
	bucketLinks        = []byte("links")
	bucketScores       = []byte("scores")
	bucketScoreHistory = []byte("score_history")
	bucketWritten      = []byte("written")
	bucketPending      = []byte("pending")
	bucketTasks        = []byte("tasks")
	bucketQueue        = []byte("queue")
	bucketDedupe       = []byte("dedupe")
	bucketDedupeExpiry = []byte("dedupe_expiry")
	bucketDeadLetters  = []byte("dead_letters")
	bucketOutbox       = []byte("outbox")
	bucketRuns         = []byte("runs")

	// Nested bucket names under fullsync/<connector>/<stream>.
	bucketFullTypes = []byte("types")
	bucketFullSeen  = []byte("seen")

	keySchemaVersion = []byte("version")
)

// topLevel lists every top-level bucket; Open creates those missing.
var topLevel = [][]byte{
	bucketSchema, bucketMeta, bucketRecords, bucketCursors, bucketFullSync,
	bucketSignals, bucketLinks, bucketScores, bucketScoreHistory, bucketWritten,
	bucketPending, bucketTasks, bucketQueue, bucketDedupe, bucketDedupeExpiry,
	bucketDeadLetters, bucketOutbox, bucketRuns, bucketByOwner, bucketOwnerLog, bucketNewest, bucketCounts,
}

// Migration upgrades the file by one schema version inside the transaction
// it is given. migrations[i] upgrades version i+1 to version i+2.
type Migration func(tx *bbolt.Tx) error

// migrations is the list of schema upgrades, in order. Version 1 is the
// first layout (without by_owner, newest and counts); the drawing above is
// the current one. Append a func here to move on.
var migrations = []Migration{
	// 1 -> 2: record bodies may be zstd frames (recordenc.go, flagZstd1).
	// Nothing is rewritten: JSON bodies stay readable and are re-encoded
	// when their record changes. The version makes an older build, which
	// would take a frame for damaged JSON, refuse the file with
	// store.ErrNewerSchema instead.
	func(*bbolt.Tx) error { return nil },
	// 2 -> 3: owner index, newest modified times, live counts
	// (bycustomer.go, newest.go, counts.go).
	rebuildIndexes,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() uint64 { return uint64(len(migrations)) + 1 }

// prepare creates missing buckets and brings the schema to the version that
// migs define, in the one transaction it is given.
func prepare(tx *bbolt.Tx, migs []Migration) error {
	for _, name := range topLevel {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	want := uint64(len(migs)) + 1
	sb := tx.Bucket(bucketSchema)
	raw := sb.Get(keySchemaVersion)
	if raw == nil {
		// A new file is created at the current version directly.
		return sb.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, want))
	}
	if len(raw) != 8 {
		return fmt.Errorf("reading schema version: %w", store.ErrCorrupt)
	}
	have := binary.BigEndian.Uint64(raw)
	if have > want {
		return fmt.Errorf("file has schema version %d, this build knows up to %d: %w", have, want, store.ErrNewerSchema)
	}
	for v := have; v < want; v++ {
		if err := migs[v-1](tx); err != nil {
			return fmt.Errorf("migrating schema from version %d to %d: %w", v, v+1, err)
		}
	}
	return sb.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, want))
}
