package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthsync/healthsync/sync/store"
)

// Address is the host and port dsn connects to first, for messages: it
// never includes the user or password. An unparseable dsn gives a phrase
// saying so.
func Address(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(unparseable connection string)"
	}
	return address(cfg)
}

// Ping reports whether the database answers now: it takes a connection
// from the pool (connecting when none is idle) and round-trips once. The
// daemon's /readyz is false while it fails.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging postgres: %w", err)
	}
	return nil
}

// Migrate brings the schema at dsn to this build's version, as Open does,
// without opening a store: for `healthsync migrate`, run before replicas
// of a new version start. It returns the schema version found and the
// version now in place; a schema newer than this build is refused
// (store.ErrNewerSchema) and left alone.
func Migrate(ctx context.Context, dsn string, opts Options) (from, to int64, err error) {
	opts = withDefaults(opts)
	pool, err := newPool(ctx, dsn, opts)
	if err != nil {
		return 0, 0, fmt.Errorf("migrating postgres schema: %w", err)
	}
	defer pool.Close()
	version := func() (int64, error) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return 0, fmt.Errorf("connecting: %w", err)
		}
		defer conn.Release()
		return schemaVersion(ctx, conn)
	}
	if from, err = version(); err != nil {
		return 0, 0, fmt.Errorf("migrating postgres schema: %w", err)
	}
	if err := migrate(ctx, pool, opts); err != nil {
		return from, 0, fmt.Errorf("migrating postgres schema: %w", err)
	}
	if to, err = version(); err != nil {
		return from, 0, fmt.Errorf("migrating postgres schema: %w", err)
	}
	return from, to, nil
}
