package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/healthsync/healthsync/sync/store"
)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return uint16(port)
}

// mustPool is a pool on cfg, closed when the test ends.
func mustPool(t *testing.T, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestOpenUnreachable: a server that cannot be reached at start is
// store.ErrUnavailable, named by host and port, and the password stays out
// of the message.
func TestOpenUnreachable(t *testing.T) {
	const password = "s3cret-Pa55"
	port := closedPort(t)
	dsn := fmt.Sprintf("postgres://healthsync:%s@127.0.0.1:%d/hs?sslmode=disable&connect_timeout=5", password, port)
	_, err := Open(context.Background(), dsn, Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnavailable", err)
	}
	prefix := fmt.Sprintf("opening postgres store: connecting to 127.0.0.1:%d: store is unavailable: failed to connect to `user=healthsync database=hs`: ", port)
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) || strings.Contains(msg, password) {
		t.Errorf("Open error:\n%s\nwant it to start with\n%s\nand leave out the password", msg, prefix)
	}
}

// TestUnavailableClassification: which errors mean the database is away
// (store.ErrUnavailable) and which are about the statement, the data or
// the credentials.
func TestUnavailableClassification(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("enqueueing events: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"server shutting down", pg("57P01"), true},
		{"server starting up", pg("57P03"), true},
		{"connection failure", pg("08006"), true},
		{"too many connections", pg("53300"), true},
		{"connection closed mid-call", fmt.Errorf("reading outbox: %w", io.ErrUnexpectedEOF), true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"call timed out", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"wrong password", pg("28P01"), false},
		{"statement timeout", pg("57014"), false},
		{"unique violation", pg("23505"), false},
		{"not found", fmt.Errorf("x: %w", store.ErrNotFound), false},
		{"already classified", fmt.Errorf("%w: %w", store.ErrUnavailable, io.EOF), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unavailable(tc.err); got != tc.want {
				t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if err := classify(tc.err); tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("classify(%v) = %v, lost the cause", tc.err, err)
			}
		})
	}
}
