package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/schedule"
	"github.com/healthsync/healthsync/sync/store"
)

// The PostgreSQL store shares a schedule between replicas.
var _ schedule.JobLock = (*Store)(nil)

// TestScheduleRunsOnceAcrossReplicas: two replicas' schedulers fire the
// same job together, again and again; a run takes a while. The job never
// runs on both at once, and the firings the lock turned away are counted.
func TestScheduleRunsOnceAcrossReplicas(t *testing.T) {
	a, more := openTest(t, Options{})
	b := more(Options{})
	var active, overlaps, runs atomic.Int32
	job := func(ctx context.Context) {
		if active.Add(1) > 1 {
			overlaps.Add(1)
		}
		runs.Add(1)
		time.Sleep(40 * time.Millisecond)
		active.Add(-1)
	}
	scheds := []*schedule.Scheduler{
		schedule.New(zerolog.Nop(), schedule.WithJobLock(a)),
		schedule.New(zerolog.Nop(), schedule.WithJobLock(b)),
	}
	for _, s := range scheds {
		if err := s.Add("pull/sf", "@every 1h", job); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	const ticks = 15
	for range ticks {
		for _, s := range scheds {
			if err := s.RunNow("pull/sf"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, s := range scheds {
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var held, failed int64
	for _, s := range scheds {
		sk := s.LockSkips()["pull/sf"]
		held, failed = held+sk.Held, failed+sk.Failed
	}
	if overlaps.Load() != 0 || failed != 0 || runs.Load() == 0 || held == 0 {
		t.Errorf("overlapping runs %d, runs %d, skipped for a held lock %d, for a failed lock %d; want 0, >0, >0, 0",
			overlaps.Load(), runs.Load(), held, failed)
	}
}

// TestJobLockReleasedWhenHolderConnectionDies: the replica holding a job
// loses its lock connection (pg_terminate_backend, as when it dies or is
// cut off); the lock goes with the session and the other replica's next
// tick runs the job. The first holder's unlock is then harmless.
func TestJobLockReleasedWhenHolderConnectionDies(t *testing.T) {
	a, more := openTest(t, Options{})
	b := more(Options{})
	ctx := context.Background()

	unlockA, ok, err := a.TryLock(ctx, "reconcile")
	if err != nil || !ok {
		t.Fatalf("first TryLock: ok %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "reconcile"); err != nil || ok {
		t.Fatalf("TryLock while held: ok %v, %v; want false, nil", ok, err)
	}
	// Another job of the same replica set is independent.
	unlockOther, ok, err := b.TryLock(ctx, "pull/sf")
	if err != nil || !ok {
		t.Fatalf("TryLock of another job: ok %v, %v", ok, err)
	}
	unlockOther()

	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
		a.jobKey("reconcile")).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the holder's session: %d sessions, %v", killed, err)
	}

	sched := schedule.New(zerolog.Nop(), schedule.WithJobLock(b))
	ran := make(chan struct{}, 1)
	if err := sched.Add("reconcile", "@every 1h", func(context.Context) { ran <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	sched.Start()
	defer sched.Stop(context.Background())
	// The server ends the session asynchronously: tick until it has.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := sched.RunNow("reconcile"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ran:
		case <-time.After(50 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatalf("the other replica never ran the job; skips %v", sched.LockSkips())
		}
		break
	}
	unlockA() // its connection is gone: nothing to release, no panic
	unlockA()
}

// TestJobLockUnavailable: a store whose database is away cannot take a
// job's lock: store.ErrUnavailable, not a run.
func TestJobLockUnavailable(t *testing.T) {
	s, _ := openTest(t, Options{})
	// Point the store's pool config at a port nothing listens on.
	cfg := s.pool.Config()
	cfg.ConnConfig.Port = closedPort(t)
	s2 := &Store{pool: mustPool(t, cfg), opts: s.opts}
	_, ok, err := s2.TryLock(context.Background(), "reconcile")
	if ok || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("TryLock: ok %v, %v; want false, ErrUnavailable", ok, err)
	}
}

// TestJobLockOutlivesIdleSessionTimeout: a server (or role) with
// idle_session_timeout (PostgreSQL 14 and later) ends idle sessions; the
// held lock's connection is kept busy, so a long run keeps its lock.
func TestJobLockOutlivesIdleSessionTimeout(t *testing.T) {
	url, schema := testSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if version < 140000 {
		t.Skipf("server version %d has no idle_session_timeout", version)
	}
	b, err := Open(ctx, url, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Replica a's sessions end after 500ms idle.
	cfg := b.pool.Config()
	cfg.ConnConfig.RuntimeParams["idle_session_timeout"] = "500"
	opts := b.opts
	opts.LockKeepalive = 100 * time.Millisecond
	a := &Store{pool: mustPool(t, cfg), opts: opts}

	unlock, ok, err := a.TryLock(ctx, "pull/sf")
	if err != nil || !ok {
		t.Fatalf("TryLock: ok %v, %v", ok, err)
	}
	time.Sleep(1500 * time.Millisecond) // a long run
	if _, ok, err := b.TryLock(ctx, "pull/sf"); err != nil || ok {
		t.Fatalf("other replica's TryLock during the run: ok %v, %v; want false, nil", ok, err)
	}
	unlock()
	unlockB, ok, err := b.TryLock(ctx, "pull/sf")
	if err != nil || !ok {
		t.Fatalf("other replica's TryLock after unlock: ok %v, %v; want true, nil", ok, err)
	}
	unlockB()
}
