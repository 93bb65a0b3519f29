package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/sync/store"
)

// Schedules across replicas: TryLock takes a session advisory lock
// (pg_try_advisory_lock, "Advisory Lock Functions" in the PostgreSQL
// documentation) named after the schema and the job, on a connection of
// its own opened for the run and closed by unlock. A session lock is held
// until it is unlocked or its session ends, so a replica that dies (or
// whose connection is cut) mid-run releases the job and another replica's
// next tick runs it; the cursor moves only with committed pages, so the
// pull it cut short loses nothing. The connection is pinged every
// LockKeepalive while held, so a server's idle_session_timeout does not
// end the session during a long run. It is not the pool's: a long pull
// must not hold a pool connection, and closing it must not hand a locked
// session back to the pool.
//
// The replica whose lock connection was cut keeps running its job to the
// end (TryLock cannot stop it), so in that window the next tick of another
// replica may overlap it; docs/postgres.md lists this residual risk.

// TryLock takes job's schedule lock without waiting (it implements schedule.JobLock).
// ok is false when another session holds it. It fails with
// store.ErrUnavailable when the database cannot be reached.
func (s *Store) TryLock(ctx context.Context, job string) (unlock func(), ok bool, err error) {
	if s.closed.Load() {
		return nil, false, fmt.Errorf("locking job %s: %w", job, store.ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, false, fmt.Errorf("locking job %s: connecting: %w", job, classify(err))
	}
	key := s.jobKey(job)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil || !ok {
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, false, fmt.Errorf("locking job %s: %w", job, classify(err))
		}
		return nil, false, nil
	}
	// The keepalive goroutine owns conn until stop is closed and it has
	// returned (a pgx.Conn is not safe for concurrent use); then unlock
	// does.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(s.opts.LockKeepalive)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// A failed ping means the session, and so the lock, is
				// gone; the run goes on (see above).
				pctx, cancel := context.WithTimeout(context.Background(), s.opts.CallTimeout)
				_ = conn.Ping(pctx)
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-stopped
			// Unlock before closing, so the lock is free when unlock
			// returns (a closed session's locks go a moment later). A
			// failed unlock is harmless: closing ends the session.
			bg, cancel := context.WithTimeout(context.Background(), s.opts.CallTimeout)
			defer cancel()
			_, _ = conn.Exec(bg, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
			conn.Close(bg)
		})
	}, true, nil
}

// jobKey names job's advisory lock: advisory locks are per database, so
// the schema is part of the name and stores in two schemas do not share
// jobs.
func (s *Store) jobKey(job string) string {
	return "healthsync/job/" + s.opts.Schema + "/" + job
}
