// Package bolt is healthsync's embedded store: one bbolt file holding pulled
// records and their sync cursors, identity links, scores and their history,
// what was written to each CRM field, pending writes, created tasks, the
// webhook queue with its dedupe IDs, outbound notifications and run history.
//
// Every write is one transaction per batch; readers copy bytes out before
// their transaction ends and decode afterwards, so no transaction is held
// while the caller does network I/O. The bucket layout is drawn in schema.go
// and key encodings are in keys.go.
//
// Store implements store.Store, whose doc comments are its contract;
// conformance_test.go runs storetest.Exercise against it. What describes the
// file itself (Path, Size, SchemaVersionOnDisk, WriteTo, Check, Options,
// migrations) is this package's alone.
package bolt

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/healthsync/healthsync/sync/store"
)

// InUseError is Open's error when another process holds the file lock. Its
// text is exactly "PATH is in use by another healthsync process".
type InUseError struct{ Path string }

func (e *InUseError) Error() string { return e.Path + " is in use by another healthsync process" }

// Unwrap makes errors.Is(err, store.ErrInUse) true.
func (e *InUseError) Unwrap() error { return store.ErrInUse }

// Options tune Open. The zero value is usable.
type Options struct {
	// Timeout is how long Open waits for the file lock; default 1s.
	Timeout time.Duration
	// Now is the clock for stored timestamps (enqueue time, expiry); default
	// time.Now.
	Now func() time.Time
	// DedupeTTL is how long a webhook event ID is remembered after it is
	// enqueued; default 7 days (vendors retry for up to three days).
	DedupeTTL time.Duration
	// NoSync skips fsync after each commit. For benchmarks and throwaway
	// files only: a crash can then lose committed writes.
	NoSync bool
	// CheckMaxBytes: an existing file up to this size gets bbolt's full
	// consistency check at Open (default 64 MiB: BenchmarkConsistencyCheck
	// measured about 2 GB/s, 40 ms for an 86 MB file, on a 2-core VM);
	// negative never. The header is always checked. `healthsync store
	// check` checks a file of any size.
	CheckMaxBytes int64
	// CommitDelay is how long the group commit behind Enqueue and Ack
	// waits before each commit to gather more calls; default 0: a commit
	// starts as soon as the previous one's fsync ends, and calls arriving
	// meanwhile share the next (see commit.go).
	CommitDelay time.Duration
	// DirectQueue makes Enqueue commit to bbolt itself, without the inbox
	// log in front of the queue (inbox.go). For comparisons: the log
	// acknowledges verified webhooks several times faster, with the same
	// durability.
	DirectQueue bool
	// LogGather is how long the inbox log's writer, while busy (its last
	// write ended under 2 ms before), waits for more events before a
	// write, or until 16 are pending, so one fdatasync carries more of
	// them; default 0: it writes at once (store.log_gather, whose
	// default is 200µs). A lone webhook is never delayed.
	LogGather time.Duration

	segmentSize int64 // the inbox log's segment size; tests make it small
}

// Store is an open healthsync database. It is safe for concurrent use.
type Store struct {
	db    boltDB     // recovers from panics and faults: check.go
	group *committer // Enqueue's and Ack's group commit: commit.go
	inbox *inbox     // the log in front of the queue, nil with DirectQueue: inbox.go
	path  string
	now   func() time.Time
	ttl   time.Duration

	// mu guards the in-memory claims of the webhook queue.
	mu       sync.Mutex
	inflight map[uint64]string   // seq -> ordering key
	busyKeys map[string]uint64   // ordering key -> seq
	covers   map[uint64][]uint64 // claimed seq -> coalesced copies

	queued *queueCounts // queued events per connector: queuecount.go
}

// Open opens or creates the store at path, takes its lock (failing with an
// *InUseError after opts.Timeout when another process holds it), creates
// missing buckets and runs schema migrations in one transaction, then
// forgets webhook event IDs whose dedupe window has ended. Only a missing
// file is created: an empty, truncated or otherwise damaged one gives a
// *DamagedError naming it (see check.go).
func Open(path string, opts Options) (*Store, error) {
	return open(path, opts, migrations)
}

func open(path string, opts Options, migs []Migration) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DedupeTTL <= 0 {
		opts.DedupeTTL = 7 * 24 * time.Hour
	}
	if opts.CheckMaxBytes == 0 {
		opts.CheckMaxBytes = 64 << 20
	}
	exists, size, err := checkHeader(path)
	if err != nil {
		return nil, err
	}
	bdb, err := openBolt(path, &bbolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, openError(path, err)
	}
	db := boltDB{DB: bdb, path: path, paced: &releasePacer{}}
	if exists && size <= opts.CheckMaxBytes {
		if problems := consistency(db); len(problems) > 0 {
			db.Close()
			return nil, &DamagedError{Path: path, Problems: problems}
		}
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return prepare(tx, migs) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing store %s: %w", path, err)
	}
	var queued *queueCounts
	if err := db.View(func(tx *bbolt.Tx) (err error) { queued, err = countQueue(tx); return err }); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing store %s: %w", path, err)
	}
	s := &Store{
		queued:   queued,
		db:       db,
		group:    newCommitter(db.Update, path, opts.CommitDelay),
		path:     path,
		now:      opts.Now,
		ttl:      opts.DedupeTTL,
		inflight: map[uint64]string{},
		busyKeys: map[string]uint64{},
		covers:   map[uint64][]uint64{},
	}
	if _, err := s.SweepDedupe(opts.Now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing store %s: %w", path, err)
	}
	if !opts.DirectQueue {
		if opts.segmentSize <= 0 {
			opts.segmentSize = inboxSegmentSize
		}
		if err := s.openInbox(opts.NoSync, opts.segmentSize, opts.LogGather); err != nil {
			s.group.close()
			db.Close()
			return nil, fmt.Errorf("preparing store %s: %w", path, err)
		}
	}
	return s, nil
}

// view, update and batch run fn in a bbolt transaction (View, Update, or
// one shared by concurrent batch calls: commit.go) and report a closed
// database as store.ErrClosed.
func (s *Store) view(fn func(*bbolt.Tx) error) error   { return closedErr(s.db.View(fn)) }
func (s *Store) update(fn func(*bbolt.Tx) error) error { return closedErr(s.db.Update(fn)) }
func (s *Store) batch(fn func(*bbolt.Tx) error) error  { return closedErr(s.group.run(fn)) }

func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock. In-flight queue claims are dropped:
// the next Open sees those events as pending again. Calls after Close fail
// with store.ErrClosed; closing again does nothing.
func (s *Store) Close() error {
	if s.inbox != nil {
		s.inbox.close() // moves what the inbox log holds into bbolt
	}
	s.group.close() // commits what Enqueue and Ack already queued
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// SchemaVersionOnDisk reads the version recorded in the file.
func (s *Store) SchemaVersionOnDisk() (uint64, error) {
	var v uint64
	err := s.view(func(tx *bbolt.Tx) error {
		v = readSeq(tx.Bucket(bucketSchema).Get(keySchemaVersion))
		return nil
	})
	return v, err
}

// Size is the file's size in bytes, for metrics.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Meta returns the value stored under key, or nil when none is.
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.view(func(tx *bbolt.Tx) error {
		v = clone(tx.Bucket(bucketMeta).Get([]byte(key)))
		return nil
	})
	return v, err
}

// SetMeta stores val under key; a nil val deletes it.
func (s *Store) SetMeta(key string, val []byte) error {
	return s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if val == nil {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), val)
	})
}

// MetaTime and SetMetaTime store a time under a meta key, for example the
// last full resync of a connector.
func (s *Store) MetaTime(key string) (time.Time, error) {
	v, err := s.Meta(key)
	if err != nil || v == nil {
		return time.Time{}, err
	}
	return readTime(v), nil
}

// SetMetaTime stores t under key.
func (s *Store) SetMetaTime(key string, t time.Time) error {
	return s.SetMeta(key, timeKey(t))
}

// nestedBucket walks (creating) nested buckets by name under a top-level one.
func nestedBucket(tx *bbolt.Tx, top []byte, names ...string) (*bbolt.Bucket, error) {
	b := tx.Bucket(top)
	for _, n := range names {
		if n == "" {
			return nil, fmt.Errorf("empty bucket name under %s", top)
		}
		nb, err := b.CreateBucketIfNotExists([]byte(n))
		if err != nil {
			return nil, fmt.Errorf("creating bucket %s/%s: %w", top, n, err)
		}
		b = nb
	}
	return b, nil
}

// lookupBucket walks nested buckets without creating them; nil if missing.
func lookupBucket(tx *bbolt.Tx, top []byte, names ...string) *bbolt.Bucket {
	b := tx.Bucket(top)
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}

// The bbolt store implements every interface.
var (
	_ store.RecordStore     = (*Store)(nil)
	_ store.CRMRecords      = (*Store)(nil)
	_ store.BillingRecords  = (*Store)(nil)
	_ store.CursorStore     = (*Store)(nil)
	_ store.LinkStore       = (*Store)(nil)
	_ store.SignalStore     = (*Store)(nil)
	_ store.ScoreStore      = (*Store)(nil)
	_ store.WriteLedger     = (*Store)(nil)
	_ store.TaskStore       = (*Store)(nil)
	_ store.Queue           = (*Store)(nil)
	_ store.DeadLetterQueue = (*Store)(nil)
	_ store.QueueStats      = (*Store)(nil)
	_ store.Outbox          = (*Store)(nil)
	_ store.RunLog          = (*Store)(nil)
	_ store.Meta            = (*Store)(nil)
	_ store.Store           = (*Store)(nil)
)
