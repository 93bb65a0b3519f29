// Package postgres is the PostgreSQL store.Store, for several healthsync
// replicas sharing one database: pgx's connection pool, schema migrations
// embedded in the binary and run by goose under an advisory lock, and a
// webhook queue whose claims hold across replicas (FOR UPDATE SKIP LOCKED,
// one claim per ordering key under a primary key, leases that expire).
//
// Every query is parameterised; every list the store contracts order is
// ordered by a COLLATE "C" column, so byte order. The tables are drawn in
// migrations/00001_initial.sql.
//
// The configuration selects it with store.driver: postgres.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthsync/healthsync/sync/store"
)

// Errors callers branch on, besides those of package store (ErrNotFound,
// ErrClosed, ErrNewerSchema, ErrCorrupt, and ErrUnavailable while the
// database is away: see unavailable.go).
var (
	// ErrInvalidDSN is Open's error for a connection string pgx cannot
	// parse. The string itself is never repeated: it holds a password.
	ErrInvalidDSN = errors.New("invalid postgres connection string")
	// ErrClaimLost is returned by Ack, Retry, DeadLetter and OutboxRetry
	// when another store value took the event's claim (the notification's
	// lease) over after this one's lease expired: the other now owns it.
	ErrClaimLost = errors.New("claim was taken over by another replica")
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables; it is created if
	// missing. Empty means the server's search_path (normally "public").
	Schema string
	// MaxConns sizes the connection pool; default 10, at least 2.
	MaxConns int32
	// StatementTimeout bounds each statement on the server; default 30s.
	StatementTimeout time.Duration
	// CallTimeout bounds each method call (pool wait, all its round trips,
	// commit); default 1m.
	CallTimeout time.Duration
	// MigrateTimeout bounds waiting for the migration lock and running the
	// migrations at Open; default 2m.
	MigrateTimeout time.Duration
	// Lease is how long a queue claim holds without renewal; default 1m.
	// A live store renews its claims every Lease/3, so only the claims of
	// a store that died (or lost the database) expire; then another
	// replica's Claim takes them over. Replicas' clocks must agree to well
	// within a Lease (NTP).
	Lease time.Duration
	// Now is the clock for stored timestamps and leases; default time.Now.
	Now func() time.Time
	// DedupeTTL is how long a webhook event ID is remembered after it is
	// enqueued; default 7 days.
	DedupeTTL time.Duration
	// LockKeepalive is how often a held job lock's connection is pinged,
	// so a server's idle_session_timeout does not end the session (and the
	// lock) during a long run; default 30s.
	LockKeepalive time.Duration
}

// Store is an open PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	// id names this store value in claims.claimed_by.
	id     string
	closed atomic.Bool

	// stop ends the lease renewer; renewer waits for it.
	stop    chan struct{}
	renewer sync.WaitGroup

	// mu guards the claims this store value holds, for InFlight and for
	// the copies each claim covers (Ack deletes them).
	mu       sync.Mutex
	inflight map[uint64][]uint64 // claimed seq -> covered seqs
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; TLS settings such as sslmode, sslrootcert pass through it), creates
// the schema if needed and migrates it under an advisory lock, refusing a
// schema newer than this build (store.ErrNewerSchema), then forgets expired
// webhook event IDs. A server that cannot be reached fails with
// store.ErrUnavailable and an error naming its host and port; the dsn (and
// its password) never appears in an error.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = withDefaults(opts)
	pool, err := newPool(ctx, dsn, opts)
	if err != nil {
		return nil, fmt.Errorf("opening postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres store: connecting to %s: %w", Address(dsn), classify(err))
	}
	if err := migrate(ctx, pool, opts); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres store: %w", err)
	}
	s := &Store{pool: pool, opts: opts, id: newID(), stop: make(chan struct{}), inflight: map[uint64][]uint64{}}
	if _, err := s.SweepDedupe(opts.Now()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres store: %w", err)
	}
	s.renewer.Add(1)
	go s.renewLoop()
	return s, nil
}

// newPool is the connection pool of opts for dsn; it connects lazily.
func newPool(ctx context.Context, dsn string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, ErrInvalidDSN
	}
	cfg.MaxConns = opts.MaxConns
	rp := cfg.ConnConfig.RuntimeParams
	rp["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	rp["application_name"] = "healthsync"
	if opts.Schema != "" {
		rp["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

func withDefaults(o Options) Options {
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	// Open holds one connection for the migration lock while goose uses
	// another.
	o.MaxConns = max(o.MaxConns, 2)
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = time.Minute
	}
	if o.MigrateTimeout <= 0 {
		o.MigrateTimeout = 2 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DedupeTTL <= 0 {
		o.DedupeTTL = 7 * 24 * time.Hour
	}
	if o.LockKeepalive <= 0 {
		o.LockKeepalive = 30 * time.Second
	}
	return o
}

// newID is a random name for one store value.
func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Close releases this store value's queue claims and outbox leases (their
// events and notifications are claimable again at once), stops renewing leases and closes the pool.
// Calls after Close fail with store.ErrClosed; closing again does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	s.renewer.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.pool.Exec(ctx, `DELETE FROM claims WHERE claimed_by = $1`, s.id)
	if err == nil {
		err = s.releaseOutbox(ctx)
	}
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("closing postgres store: releasing claims: %w", err)
	}
	return nil
}

// now is the store's clock in UTC to the microsecond, the precision a
// timestamptz keeps, so a time the store sets reads back equal.
func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// call runs fn with a context bounded by CallTimeout, after checking the
// store is open, and reports a store closed meanwhile as store.ErrClosed.
func (s *Store) call(fn func(ctx context.Context) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CallTimeout)
	defer cancel()
	err := fn(ctx)
	if err != nil && s.closed.Load() && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("%w: %v", store.ErrClosed, err)
	}
	return classify(err)
}

// maxAttempts bounds how often tx runs a transaction that PostgreSQL
// aborted as a deadlock victim or serialization failure.
const maxAttempts = 3

// tx runs fn in one READ COMMITTED transaction, committing when it returns
// nil. fn may run again (deadlock, serialization failure), so it must reset
// whatever it reports.
func (s *Store) tx(fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.call(func(ctx context.Context) error {
		var err error
		for range maxAttempts {
			err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
			if !retryable(err) {
				return err
			}
		}
		return err
	})
}

// retryable reports a transaction PostgreSQL aborted that can run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// lockKey takes a transaction-scoped advisory lock on name, serialising
// the read-modify-write transactions of one family across replicas.
func lockKey(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "healthsync/"+name)
	return err
}

// InFlight is the number of events this store value has claimed and not
// yet settled, not counting covered copies.
func (s *Store) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

// The PostgreSQL store implements the whole backend.
var _ store.Store = (*Store)(nil)

// rowsOf drops Query's error: pgx returns it through the rows too, and
// pgx.CollectRows and pgx.ForEachRow report it.
func rowsOf(rows pgx.Rows, _ error) pgx.Rows { return rows }

// ts is t as a query argument: NULL for the zero time, else t in UTC.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// fromTS is a scanned timestamptz in UTC; NULL is the zero time.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}
