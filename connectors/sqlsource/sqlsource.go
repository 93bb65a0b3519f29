// Package sqlsource pulls usage signals from a SQL database: a configured
// query returns rows of account, metric, value and time newer than a bound
// :since parameter, and each valid row becomes a record.Signal.
//
// A pull runs in one read-only transaction with a statement timeout, checks
// the query's column names and types before reading a row, streams the rows
// ordered by time (memory stays bounded by the batch size, whatever the row
// count), stops at a row limit per run, and reports progress. A row with a
// NULL, a non-numeric value or a time in the future fails alone, with an
// error naming its row and column; the run continues. Each batch carries
// the resumable cursor (the time of the last stored row); the next run binds
// :since to that time minus an overlap, so rows committed late with an
// earlier time are read again, and re-reading is harmless because the store
// keeps one signal per account, metric and time.
//
// Drivers: PostgreSQL through pgx's database/sql driver. Others plug in as
// a Dialect (dialect.go).
package sqlsource

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Defaults of Config.
const (
	DefaultOverlap          = 10 * time.Minute
	DefaultStatementTimeout = 5 * time.Minute
	DefaultRowLimit         = 1_000_000
	DefaultBatchSize        = 5_000
	DefaultFutureSkew       = 5 * time.Minute
	// MaxRowErrors is how many row errors a run keeps for its report; the
	// rest are counted only.
	MaxRowErrors = 10
)

// StreamSignals names the one stream of a SQL source (its cursor's key).
const StreamSignals = "signals"

// Config is the SQL source's settings. It lives here until config/ gains a
// `kind: sql` connector; the YAML key of each field is noted.
type Config struct {
	// Name is the connector's name (connectors[].name).
	Name string
	// Driver selects the Dialect (driver): "postgres".
	Driver string
	// DSN is the connection string (dsn), e.g.
	// postgres://reader:${PG_PASSWORD}@db:5432/product?sslmode=verify-full.
	// Use a role that can only read.
	DSN config.Secret
	// Query returns the columns account, metric, value, time for rows with
	// time after :since (query).
	Query string
	// AccountSystem, when set, is the record system of the account column
	// (account_system: salesforce, hubspot, stripe, chargebee or external);
	// when empty, the column holds "system/id" keys.
	AccountSystem string
	// Overlap is subtracted from the cursor before it is bound to :since
	// (overlap; default 10m).
	Overlap time.Duration
	// StatementTimeout bounds each statement of a pull (statement_timeout;
	// default 5m). The row statement runs until its last row is read, so it
	// bounds the whole pull, consumer time included.
	StatementTimeout time.Duration
	// RowLimit caps the rows read per run (row_limit; default 1,000,000);
	// the next run continues from the cursor.
	RowLimit int
	// BatchSize is the rows per record.Batch (batch_size; default 5,000).
	BatchSize int
	// Start is the :since of the first run (start; default the Unix epoch).
	Start time.Time
	// FutureSkew is how far past the clock a row's time may be before it is
	// refused as in the future (future_skew; default 5m).
	FutureSkew time.Duration
}

// systems are the record systems an account may name.
var systems = map[string]bool{record.Salesforce: true, record.HubSpot: true, record.Stripe: true, record.Chargebee: true, "external": true}

// Validate reports every problem of c at once, one per line.
func (c *Config) Validate() error {
	var p []string
	if _, ok := dialects[c.Driver]; !ok {
		p = append(p, fmt.Sprintf("driver: %q, want postgres", c.Driver))
	}
	if c.DSN.IsZero() {
		p = append(p, "dsn: required")
	}
	if strings.TrimSpace(c.Query) == "" {
		p = append(p, "query: required")
	} else if d, ok := dialects[c.Driver]; ok {
		if _, _, err := bind(c.Query, d); err != nil {
			p = append(p, "query: must compare the time column with :since (e.g. WHERE created_at > :since), or every run reads everything")
		}
	}
	if c.AccountSystem != "" && !systems[c.AccountSystem] {
		p = append(p, fmt.Sprintf("account_system: %q, want salesforce, hubspot, stripe, chargebee or external", c.AccountSystem))
	}
	for _, f := range []struct {
		key string
		v   int64
	}{{"overlap", int64(c.Overlap)}, {"statement_timeout", int64(c.StatementTimeout)}, {"row_limit", int64(c.RowLimit)},
		{"batch_size", int64(c.BatchSize)}, {"future_skew", int64(c.FutureSkew)}} {
		if f.v < 0 {
			p = append(p, f.key+": must not be negative")
		}
	}
	if c.StatementTimeout > 0 && c.StatementTimeout < time.Millisecond {
		p = append(p, "statement_timeout: at least 1ms")
	}
	if len(p) > 0 {
		return fmt.Errorf("sql connector %q:\n%s", c.Name, strings.Join(p, "\n"))
	}
	return nil
}

// Options are the source's process-level dependencies.
type Options struct {
	// Logger receives progress lines (zero value: disabled).
	Logger zerolog.Logger
	// Now is the clock for the future check (nil: time.Now).
	Now func() time.Time
	// Progress, when set, is called after each batch and once at the end
	// of a run (Progress.Done), from the goroutine iterating Pull.
	Progress func(Progress)
}

// Progress is a run's state so far.
type Progress struct {
	Rows    int        `json:"rows"`    // rows read
	Stored  int        `json:"stored"`  // rows turned into signals
	Failed  int        `json:"failed"`  // rows refused
	Errors  []RowError `json:"errors"`  // the first MaxRowErrors refusals
	Limited bool       `json:"limited"` // the run stopped at row_limit; rows remain
	Done    bool       `json:"done"`    // the last report of the run
}

// RowError is a refused row: its 1-based number in the run's result
// (ordered by time), the column at fault and why.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

func (e RowError) Error() string {
	return fmt.Sprintf("row %d: column %s: %s", e.Row, e.Column, e.Message)
}

// ErrColumns means the query's result has a missing, unexpected or wrongly
// typed column; the error names it and nothing is read.
var ErrColumns = errors.New("query columns do not match account, metric, value, time")

// Client is a SQL signal source; one instance serves every run of its
// connector. Runs must not overlap (the scheduler's SkipIfStillRunning).
type Client struct {
	cfg      Config
	dialect  Dialect
	query    string // bound
	nargs    int
	db       *sql.DB
	log      zerolog.Logger
	now      func() time.Time
	progress func(Progress)
	// last is the final Progress of the last run, set by the goroutine
	// iterating Pull (runs do not overlap) and read after it.
	last Progress
}

// RowErrors reports the rows the last run refused: how many, and the
// first MaxRowErrors as "row N: column C: message" (for the run report).
func (c *Client) RowErrors() (failed int, first []string) {
	for _, e := range c.last.Errors {
		first = append(first, e.Error())
	}
	return c.last.Failed, first
}

// New validates cfg, applies defaults and opens the connection pool (no
// connection is made until the first pull).
func New(cfg Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := dialects[cfg.Driver]
	q, n, _ := bind(cfg.Query, d)
	if d.Shared {
		n = 1
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.StatementTimeout == 0 {
		cfg.StatementTimeout = DefaultStatementTimeout
	}
	if cfg.RowLimit == 0 {
		cfg.RowLimit = DefaultRowLimit
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.FutureSkew == 0 {
		cfg.FutureSkew = DefaultFutureSkew
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Unix(0, 0).UTC()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := sql.Open(d.DriverName, cfg.DSN.Reveal())
	if err != nil {
		return nil, fmt.Errorf("sql connector %q: opening %s: %w", cfg.Name, d.Name, &redacted{err: err, pw: passwordOf(cfg.DSN.Reveal())})
	}
	db.SetMaxOpenConns(2)
	return &Client{
		cfg: cfg, dialect: d, query: q, nargs: n, db: db,
		log:      opts.Logger.With().Str("connector", cfg.Name).Str("vendor", "sql").Logger(),
		now:      opts.Now,
		progress: opts.Progress,
	}, nil
}

// Close closes the connection pool.
func (c *Client) Close() error { return c.db.Close() }

// redacted wraps a driver error so its text never carries the DSN's
// password; errors.Is and errors.As still reach the driver's error.
type redacted struct {
	err error
	pw  string
}

func (e *redacted) Error() string {
	if e.pw == "" {
		return e.err.Error()
	}
	return strings.ReplaceAll(e.err.Error(), e.pw, "xxxxx")
}

func (e *redacted) Unwrap() error { return e.err }

// redact wraps err (nil stays nil).
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	return &redacted{err: err, pw: passwordOf(c.cfg.DSN.Reveal())}
}

// passwordOf is the password of a URL DSN (postgres://user:pw@host/db) or
// of a key=value DSN (password=pw), "" when there is none.
func passwordOf(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}
