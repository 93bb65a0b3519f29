package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthsync/healthsync/sync/store"
)

// appliedVersions lists the migrations goose recorded in schema, with how
// often each was applied.
func appliedVersions(t *testing.T, dsn, schema string) map[int64]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version_id, count(*) FROM `+pgx.Identifier{schema, versionTable}.Sanitize()+
		` WHERE is_applied GROUP BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	var v int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&v, &n}, func() error { out[v] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationsRace: replicas starting together on a new schema all open
// it, and each migration runs exactly once.
func TestMigrationsRace(t *testing.T) {
	dsn, schema := testSchema(t)
	const replicas = 8
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), dsn, Options{Schema: schema}) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
			continue
		}
		defer s.Close()
	}
	// goose records version 0 when it creates its table, then each
	// migration.
	same(t, "applied migrations", appliedVersions(t, dsn, schema), map[int64]int{0: 1, 1: 1, 2: 1, 3: 1})
	if t.Failed() {
		return
	}
	// The schema works from every replica.
	if _, err := stores[0].Enqueue([]store.QueuedEvent{event("e1", "A")}); err != nil {
		t.Fatal(err)
	}
	got, err := stores[replicas-1].Claim(1, t0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "claimed through another replica", ids(got), []string{"e1"})
}

// TestNewerSchemaRefused: a database migrated by a newer build is refused
// with store.ErrNewerSchema, naming both versions, and left untouched.
func TestNewerSchemaRefused(t *testing.T) {
	s, _ := openTest(t, Options{})
	schema := s.opts.Schema
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES (4, true)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), testURL(t), Options{Schema: schema})
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("open of a newer schema: %v, want ErrNewerSchema", err)
	}
	same(t, "error", err.Error(),
		"opening postgres store: database has schema version 4, this build knows up to 3: schema version is newer than this build")
	same(t, "applied migrations", appliedVersions(t, testURL(t), schema), map[int64]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 1})
}

// TestDSNNeverInErrors: the connection string holds the password; no
// error of Open repeats it.
func TestDSNNeverInErrors(t *testing.T) {
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "pw-7c1e0d5a-not-the-password"
	u.User = url.UserPassword(u.User.Username(), secret)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name string
		dsn  string
		is   error // nil: any error
	}{
		{"wrong password", u.String(), nil},
		{"unparseable URL", "postgres://user:" + secret + "@127.0.0.1:notaport/db", ErrInvalidDSN},
		{"unparseable key=value", "host=127.0.0.1 password=" + secret + " sslmode=bogus", ErrInvalidDSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.dsn, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats the password: %v", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}

// TestSessionSettings: the pool is sized from Options and every
// connection runs with the statement timeout and the store's schema.
func TestSessionSettings(t *testing.T) {
	s, _ := openTest(t, Options{MaxConns: 7, StatementTimeout: 1500 * time.Millisecond})
	type settings struct {
		MaxConns         int32
		StatementTimeout string
		Schema           string
	}
	got := settings{MaxConns: s.pool.Config().MaxConns}
	err := s.pool.QueryRow(context.Background(), `SELECT current_setting('statement_timeout'), current_schema()`).
		Scan(&got.StatementTimeout, &got.Schema)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "settings", got, settings{MaxConns: 7, StatementTimeout: "1500ms", Schema: s.opts.Schema})
	// A statement running past the timeout is cancelled by the server.
	_, err = s.pool.Exec(context.Background(), `SELECT pg_sleep(3)`)
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("a 3s statement under a 1.5s timeout: %v, want the server's statement timeout", err)
	}
}

// TestMigrationWaitOutlastsStatementTimeout: a replica waiting for another
// one's migrations waits past its statement timeout (up to its
// MigrateTimeout), then opens, and its pool keeps the statement timeout.
func TestMigrationWaitOutlastsStatementTimeout(t *testing.T) {
	dsn, schema := testSchema(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	lock := "healthsync/migrate/" + schema
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, lock); err != nil {
		t.Fatal(err)
	}
	type result struct {
		s   *Store
		err error
	}
	opened := make(chan result, 1)
	go func() {
		s, err := Open(ctx, dsn, Options{Schema: schema, StatementTimeout: 100 * time.Millisecond, MaxConns: 2})
		opened <- result{s, err}
	}()
	select {
	case r := <-opened:
		t.Fatalf("Open returned while another replica held the migration lock: %v", r.err)
	case <-time.After(500 * time.Millisecond): // five statement timeouts
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, lock); err != nil {
		t.Fatal(err)
	}
	r := <-opened
	if r.err != nil {
		t.Fatalf("Open after the lock was released: %v", r.err)
	}
	defer r.s.Close()
	// Both pooled connections, the lock's included, have the timeout back.
	var got [2]string
	c1, err := r.s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Release()
	c2, err := r.s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Release()
	for i, c := range []*pgxpool.Conn{c1, c2} {
		if err := c.QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&got[i]); err != nil {
			t.Fatal(err)
		}
	}
	same(t, "statement timeouts", got, [2]string{"100ms", "100ms"})
}

// TestTLSFromDSN: TLS settings travel in the DSN: sslmode=require against
// the test server, which has no certificate, is refused rather than
// falling back to plain text.
func TestTLSFromDSN(t *testing.T) {
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("sslmode") != "disable" {
		t.Skip("the test server's URL does not disable TLS; nothing to compare")
	}
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	s, err := Open(context.Background(), u.String(), Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened without TLS although the DSN requires it")
	}
	if !strings.Contains(err.Error(), "TLS") {
		t.Errorf("error %v, want the server's refusal of TLS", err)
	}
}
