// Package store is healthsync's persistence: one bbolt file holding pulled
// records and their sync cursors, identity links, scores and their history,
// what was written to each CRM field, pending writes, created tasks, the
// webhook queue with its dedupe IDs, outbound notifications and run history.
//
// Every write is one transaction per batch; readers copy bytes out before
// their transaction ends and decode afterwards, so no transaction is held
// while the caller does network I/O. The bucket layout is drawn in schema.go
// and key encodings are in keys.go.
package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Errors callers branch on.
var (
	// ErrInUse is wrapped by Open's error when another process holds the file.
	ErrInUse = errors.New("in use by another healthsync process")
	// ErrNewerSchema means the file was written by a newer healthsync.
	ErrNewerSchema = errors.New("schema version is newer than this build")
	// ErrCorrupt means a stored value could not be decoded.
	ErrCorrupt = errors.New("corrupt store value")
	// ErrNotFound is returned by calls that act on one entry that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store is closed")
)

// InUseError is Open's error when another process holds the file lock. Its
// text is exactly "PATH is in use by another healthsync process".
type InUseError struct{ Path string }

func (e *InUseError) Error() string { return e.Path + " is in use by another healthsync process" }

// Unwrap makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Unwrap() error { return ErrInUse }

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
}

// Store is an open healthsync database. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	path string
	now  func() time.Time
	ttl  time.Duration

	// mu guards the in-memory claims of the webhook queue.
	mu       sync.Mutex
	inflight map[uint64]string   // seq -> ordering key
	busyKeys map[string]uint64   // ordering key -> seq
	covers   map[uint64][]uint64 // claimed seq -> coalesced copies
}

// Open opens or creates the store at path, takes its lock (failing with an
// *InUseError after opts.Timeout when another process holds it), creates
// missing buckets and runs schema migrations in one transaction, then
// forgets webhook event IDs whose dedupe window has ended.
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
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, &InUseError{Path: path}
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return prepare(tx, migs) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing store %s: %w", path, err)
	}
	s := &Store{
		db:       db,
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
	return s, nil
}

// view, update and batch run fn in a bbolt transaction (View, Update,
// Batch) and report a closed database as ErrClosed.
func (s *Store) view(fn func(*bbolt.Tx) error) error   { return closedErr(s.db.View(fn)) }
func (s *Store) update(fn func(*bbolt.Tx) error) error { return closedErr(s.db.Update(fn)) }
func (s *Store) batch(fn func(*bbolt.Tx) error) error  { return closedErr(s.db.Batch(fn)) }

func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock. In-flight queue claims are dropped:
// the next Open sees those events as pending again. Calls after Close fail
// with ErrClosed; closing again does nothing.
func (s *Store) Close() error {
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
