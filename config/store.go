package config

import (
	"regexp"
	"strings"
	"time"
)

// pgSchemaRe is an unquoted PostgreSQL identifier healthsync accepts.
var pgSchemaRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// applyDefaults fills the store section: driver bolt with its file, and
// the PostgreSQL pool settings (used only by driver postgres).
func (s *Store) applyDefaults() {
	setStr(&s.Driver, DriverBolt)
	if s.Driver == DriverBolt {
		setStr(&s.Path, "./healthsync.db")
	}
	setInt(&s.MaxConns, 10)
	setDur(&s.StatementTimeout, 30*time.Second)
	setDur(&s.Lease, time.Minute)
}

// validate checks the store section. The DSN is never shown: it holds a
// password.
func (s Store) validate(k *checker) {
	k.oneOf("store.driver", s.Driver, DriverBolt, DriverPostgres)
	switch s.Driver {
	case DriverBolt:
		if strings.TrimSpace(s.Path) == "" {
			k.add("store.path", "is required")
		}
		if !s.DSN.IsZero() {
			k.add("store.dsn", "applies only to driver postgres")
		}
		if s.Schema != "" {
			k.add("store.schema", "applies only to driver postgres")
		}
		if s.CommitDelay < 0 || s.CommitDelay > Duration(time.Second) {
			k.add("store.commit_delay", "must be between 0s and 1s, not %s", s.CommitDelay)
		}
		if s.LogGather < 0 || s.LogGather > Duration(100*time.Millisecond) {
			k.add("store.log_gather", "must be between 0s and 100ms, not %s", s.LogGather)
		}
	case DriverPostgres:
		if s.Path != "" {
			k.add("store.path", "applies only to driver bolt")
		}
		if s.CommitDelay != 0 {
			k.add("store.commit_delay", "applies only to driver bolt")
		}
		if s.LogGather != 0 {
			k.add("store.log_gather", "applies only to driver bolt")
		}
		if msg := checkDSN(s.DSN); msg != "" {
			k.add("store.dsn", "%s", msg)
		}
		if s.Schema != "" && !pgSchemaRe.MatchString(s.Schema) {
			k.add("store.schema", "must be a lower-case SQL identifier (letters, digits, _), not %q", s.Schema)
		}
	}
	// A pool needs one connection for the migration lock and one for the
	// migrations; PostgreSQL's default max_connections is 100.
	k.intRange("store.max_conns", s.MaxConns, 2, 1000)
	k.positive("store.statement_timeout", s.StatementTimeout)
	if s.Lease < Duration(5*time.Second) {
		k.add("store.lease", "must be at least 5s (claims are renewed every third of it), not %s", s.Lease)
	}
}

// checkDSN returns what is wrong with a PostgreSQL connection string's
// shape, without repeating it; "" when nothing is. pgx parses it at start.
func checkDSN(dsn Secret) string {
	v := strings.TrimSpace(dsn.Reveal())
	switch {
	case v == "":
		return "is required with driver postgres (e.g. ${HEALTHSYNC_DATABASE_URL})"
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		return ""
	case strings.Contains(v, "://"):
		return "must be a postgres:// or postgresql:// URL or a key=value string (value not shown)"
	case strings.Contains(v, "="):
		return ""
	}
	return "must be a postgres:// URL or a key=value string such as \"host=db dbname=healthsync\" (value not shown)"
}
