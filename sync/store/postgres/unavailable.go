package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthsync/healthsync/sync/store"
)

// The database going away is normal: a server restarting, failing over or
// out of reach makes calls fail with store.ErrUnavailable (wrapping pgx's
// error) instead of an error callers cannot tell from a bug. pgxpool
// reconnects by itself: it drops connections that broke and pings one that
// sat idle for more than a second before handing it out, so the first calls
// after the server returns succeed.

// unavailableCodes are the SQLSTATEs of a server that is going away or not
// yet accepting work ("PostgreSQL Error Codes", Appendix A of the
// PostgreSQL documentation): class 08 (connection exception) is matched by
// its prefix.
var unavailableCodes = map[string]bool{
	"57P01": true, // admin_shutdown: pg_ctl stop -m fast, pg_terminate_backend
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now: starting up or in recovery
	"57P05": true, // idle_session_timeout
	"53300": true, // too_many_connections
}

// unavailable reports an error that means the database could not be
// reached or dropped the connection, as opposed to one about the
// statement, the data or the credentials (a refused password is not
// transient, so it is not unavailable).
func unavailable(err error) bool {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailableCodes[pe.Code] || (len(pe.Code) == 5 && pe.Code[:2] == "08")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) ||
		// A call bounded by CallTimeout that ran out: the server did not
		// answer in time (a statement timeout is a PgError, 57014).
		errors.Is(err, context.DeadlineExceeded)
}

// classify wraps an unavailable error with store.ErrUnavailable, keeping
// pgx's error in the chain; other errors pass unchanged.
func classify(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// address names the server of cfg as host:port for errors: never the
// user's password, which pgx's errors leave out too.
func address(cfg *pgconn.Config) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}
