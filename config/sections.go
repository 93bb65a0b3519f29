package config

import (
	"time"
	_ "time/tzdata" // reporting.timezone resolves in images without /usr/share/zoneinfo (distroless)
)

// Store drivers.
const (
	// DriverBolt is the embedded bbolt file: one process per file.
	DriverBolt = "bolt"
	// DriverPostgres is a PostgreSQL database several replicas share.
	DriverPostgres = "postgres"
)

// Store is where healthsync keeps what it pulled, scored and queued: a
// bbolt file (the default) or a PostgreSQL database.
type Store struct {
	// Driver is bolt (default) or postgres.
	Driver string `yaml:"driver" json:"driver"`
	// Path is the bbolt file (driver bolt; default ./healthsync.db).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// CommitDelay is how long the webhook queue's group commit waits
	// before each commit to gather more events (driver bolt; default 0:
	// a commit starts as soon as the previous one's fsync ends).
	CommitDelay Duration `yaml:"commit_delay,omitempty" json:"commit_delay,omitempty"`
	// LogGather is how long the inbox log in front of the webhook queue
	// waits, while under load, for more verified webhooks to share one
	// fdatasync (driver bolt; default 200µs, 0 turns it off; a lone
	// webhook is written at once).
	LogGather Duration `yaml:"log_gather,omitempty" json:"log_gather,omitempty"`
	// DSN is the PostgreSQL connection string (driver postgres): a
	// postgres:// URL or key=value string; TLS settings (sslmode,
	// sslrootcert) pass through it. It holds a password: give it from
	// the environment, ${HEALTHSYNC_DATABASE_URL}.
	DSN Secret `yaml:"dsn,omitempty" json:"dsn,omitempty"`
	// Schema is the PostgreSQL schema of the tables (created when
	// missing); empty means the server's search_path, normally public.
	Schema string `yaml:"schema,omitempty" json:"schema,omitempty"`
	// MaxConns sizes the PostgreSQL connection pool (default 10).
	MaxConns int `yaml:"max_conns" json:"max_conns"`
	// StatementTimeout bounds each PostgreSQL statement (default 30s).
	StatementTimeout Duration `yaml:"statement_timeout" json:"statement_timeout"`
	// Lease is how long a webhook event claimed by a replica stays its
	// own without renewal; a replica that dies loses its claims after at
	// most this long (default 1m).
	Lease Duration `yaml:"lease" json:"lease"`
}

// Server is the daemon's HTTP listener: health, metrics, webhooks, API.
type Server struct {
	// Listen is host:port (default 127.0.0.1:8080).
	Listen string `yaml:"listen" json:"listen"`
	// APIToken is the bearer token for /api/... and /report; without it
	// those routes are not served.
	APIToken Secret `yaml:"api_token,omitempty" json:"api_token,omitempty"`
	// MetricsListen serves /metrics without a token on a separate
	// host:port; otherwise /metrics requires the API token.
	MetricsListen string `yaml:"metrics_listen,omitempty" json:"metrics_listen,omitempty"`
	// ShutdownTimeout bounds the wait for in-flight jobs on SIGTERM
	// (default 30s).
	ShutdownTimeout Duration `yaml:"shutdown_timeout,omitempty" json:"shutdown_timeout,omitempty"`
}

// Log configures the process logger.
type Log struct {
	// Level is trace, debug, info (default), warn or error.
	Level string `yaml:"level" json:"level"`
	// Format is json or console; empty means console when stderr is a
	// terminal and json otherwise.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
}

// Reporting sets the currency money is reported in and the business's
// time zone.
type Reporting struct {
	// Currency is an ISO 4217 code (default USD).
	Currency string `yaml:"currency" json:"currency"`
	// FX converts other currencies: FX["USD"] = 150 means 1 USD = 150 units
	// of Currency.
	FX map[string]float64 `yaml:"fx,omitempty" json:"fx,omitempty"`
	// Timezone is an IANA zone name (default UTC). Month boundaries (MRR
	// movements, periods, cohorts), the as-of day and task due dates follow
	// it: a subscription starting at 08:00 on 1 November in Asia/Tokyo
	// counts in November.
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
}

// Location returns the Timezone's location (UTC when it is empty or was
// not validated).
func (r Reporting) Location() *time.Location {
	if loc, err := time.LoadLocation(r.Timezone); err == nil && r.Timezone != "" {
		return loc
	}
	return time.UTC
}

// Matching rule kinds.
const (
	// MatchBillingMetadata: the billing customer's metadata Key holds the
	// CRM account ID.
	MatchBillingMetadata = "billing_metadata"
	// MatchCRMField: the CRM account's Field holds the billing customer ID.
	MatchCRMField = "crm_field"
	// MatchEmailDomain: the billing customer's e-mail domain equals the CRM
	// account's website domain (free-mail domains ignored).
	MatchEmailDomain = "email_domain"
)

// Matching links billing customers to CRM accounts.
type Matching struct {
	// Rules are tried in order; the first that links a customer wins.
	Rules []MatchRule `yaml:"rules" json:"rules"`
	// MinMatchRate: when fewer than this share of billing customers with
	// revenue are linked, write-back is blocked (default 0.5).
	MinMatchRate float64 `yaml:"min_match_rate" json:"min_match_rate"`
	// IgnoreDomains are e-mail domains never used for matching (default: a
	// list of free-mail providers).
	IgnoreDomains []string `yaml:"ignore_domains" json:"ignore_domains"`
}

// MatchRule is one identity rule.
type MatchRule struct {
	Kind  string `yaml:"kind" json:"kind"`
	Key   string `yaml:"key,omitempty" json:"key,omitempty"`     // billing_metadata
	Field string `yaml:"field,omitempty" json:"field,omitempty"` // crm_field
	// Connector limits the rule to one connector (billing or CRM) by name.
	Connector string `yaml:"connector,omitempty" json:"connector,omitempty"`
}

// Write-back value keys: what healthsync writes to each CRM account.
const (
	FieldHealthScore = "health_score"
	FieldBand        = "band"
	FieldTrend       = "trend"
	FieldReasons     = "reasons"
	FieldTouchModel  = "touch_model"
	FieldPhase       = "phase"
	FieldMRR         = "mrr"
	FieldARR         = "arr"
	FieldUpdatedAt   = "updated_at"
)

// WriteBackKeys lists the value keys in their write order.
var WriteBackKeys = []string{FieldHealthScore, FieldBand, FieldTrend, FieldReasons,
	FieldTouchModel, FieldPhase, FieldMRR, FieldARR, FieldUpdatedAt}

// WriteBack sets what is written to the CRM and the safety rails.
type WriteBack struct {
	// UpdateOnly: healthsync never creates or deletes CRM records except
	// tasks (default true).
	UpdateOnly bool `yaml:"update_only" json:"update_only"`
	// MinScoreChange: a score is written only when it moved by at least this
	// many points or its band changed (default 3; 0 writes every change).
	MinScoreChange float64 `yaml:"min_score_change" json:"min_score_change"`
	// MaxBandChangeShare: a run that would change the band of more than this
	// share of accounts stops before writing and needs `healthsync apply
	// --confirm` (default 0.2; 1 disables the check).
	MaxBandChangeShare float64 `yaml:"max_band_change_share" json:"max_band_change_share"`
	// OwnedFields are value keys healthsync owns: written even when a
	// person edited the field since healthsync's last write (otherwise such
	// a field is left alone and reported).
	OwnedFields []string `yaml:"owned_fields,omitempty" json:"owned_fields,omitempty"`
	// Salesforce and HubSpot map value keys to CRM fields per CRM kind.
	Salesforce CRMMapping `yaml:"salesforce" json:"salesforce"`
	HubSpot    CRMMapping `yaml:"hubspot" json:"hubspot"`
}

// CRMMapping is where values go in one CRM.
type CRMMapping struct {
	// Object is the account object (Account, companies).
	Object string `yaml:"object" json:"object"`
	// Fields maps value keys (health_score, band, ...) to field API names;
	// an empty name does not write that value.
	Fields map[string]string `yaml:"fields" json:"fields"`
	// TaskObject is the object tasks are created as (Task, tasks).
	TaskObject string `yaml:"task_object" json:"task_object"`
}

// Mapping returns the field mapping for a CRM connector kind.
func (w WriteBack) Mapping(kind string) CRMMapping {
	if kind == KindHubSpot {
		return w.HubSpot
	}
	return w.Salesforce
}

// Owns reports whether healthsync owns the value key.
func (w WriteBack) Owns(key string) bool {
	for _, k := range w.OwnedFields {
		if k == key {
			return true
		}
	}
	return false
}

// Engine tunes the sync engine.
type Engine struct {
	// ReconcileSchedule is when matching, scoring and write-back run over
	// everything pulled (default "@every 15m").
	ReconcileSchedule string `yaml:"reconcile_schedule" json:"reconcile_schedule"`
	// MaxRecordDrop blocks write-back for a source whose record count fell
	// by more than this share since its last complete pull (default 0.5).
	MaxRecordDrop float64 `yaml:"max_record_drop" json:"max_record_drop"`
	// WriteRetry is the back-off of failed CRM writes, retried on later
	// passes (default 1m to 6h).
	WriteRetry Backoff `yaml:"write_retry" json:"write_retry"`
	// Workers is how many connectors pull at once (default 4).
	Workers int `yaml:"workers" json:"workers"`
}

// Backoff is an exponential back-off range.
type Backoff struct {
	Min Duration `yaml:"min" json:"min"`
	Max Duration `yaml:"max" json:"max"`
}

// Webhooks tunes inbound webhook handling.
type Webhooks struct {
	// MaxBodyBytes limits a request body (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// Workers process the queue (default 4).
	Workers int `yaml:"workers" json:"workers"`
	// MaxAttempts before a queued event is dead-lettered (default 8).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// SignalsToken is the bearer token of POST /v1/signals (product
	// usage signals); without it the route is not served.
	SignalsToken Secret `yaml:"signals_token,omitempty" json:"signals_token,omitempty"`
	// DedupeTTL is how long processed event IDs are remembered (default 7d).
	DedupeTTL Duration `yaml:"dedupe_ttl" json:"dedupe_ttl"`
	// StuckAfter is how long the workers may hold claimed events without
	// finishing one before /readyz reports them stuck (default 5m).
	StuckAfter Duration `yaml:"stuck_after" json:"stuck_after"`
	// BatchSize is how many queued events a worker claims and processes
	// together: one re-score of their accounts and one batched write-back
	// (default 200, one Salesforce composite call; 1 processes events one
	// at a time).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// BatchWait is how long a worker waits for a batch to fill before
	// processing what it claimed (default 50ms; 0s: no wait).
	BatchWait Duration `yaml:"batch_wait" json:"batch_wait"`
	// PullThreshold: when more events of one billing connector than this
	// are queued (the whole queue, not one batch; it may exceed
	// BatchSize), the workers run that connector's incremental pull
	// instead of one fetch per event (default 100; 0 never pulls).
	PullThreshold int `yaml:"pull_threshold" json:"pull_threshold"`
}

// Notification event types.
const (
	EventBandChanged    = "band_changed"
	EventScoreDropped   = "score_dropped"
	EventMRRChanged     = "mrr_changed"
	EventChurned        = "churned"
	EventTaskCreated    = "task_created"
	EventPaymentFailed  = "payment_failed"
	FormatStandard      = "standard"
	FormatSlack         = "slack"
	defaultNotifyFormat = FormatStandard
)

// NotifyEvents lists every notification event type.
var NotifyEvents = []string{EventBandChanged, EventScoreDropped, EventMRRChanged,
	EventChurned, EventTaskCreated, EventPaymentFailed}

// Notify configures outbound notifications to RevOps subscribers.
type Notify struct {
	Subscribers []Subscriber `yaml:"subscribers,omitempty" json:"subscribers,omitempty"`
	// MaxAttempts per notification before it is given up (default 10).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// Backoff between delivery attempts (default 10s to 1h).
	Backoff Backoff `yaml:"backoff" json:"backoff"`
	// Timeout of one delivery (default 10s).
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Subscriber receives notifications.
type Subscriber struct {
	Name string `yaml:"name" json:"name"`
	URL  string `yaml:"url" json:"url"`
	// Secret signs standard notifications (Standard Webhooks: "whsec_" and
	// base64 of 24 to 64 random bytes); slack format needs none.
	Secret Secret `yaml:"secret,omitempty" json:"secret,omitempty"`
	// Events filters what is sent (default every event).
	Events []string `yaml:"events,omitempty" json:"events,omitempty"`
	// Format is standard (signed JSON, default) or slack (an incoming
	// webhook message).
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
}

// Wants reports whether the subscriber receives event type ev.
func (s Subscriber) Wants(ev string) bool {
	for _, e := range s.Events {
		if e == ev {
			return true
		}
	}
	return false
}

// APIKeyMissing reports whether the connector has no auth.api_key.
func (c Connector) APIKeyMissing() bool { return c.Auth.APIKey.IsZero() }

func dur(d time.Duration) Duration { return Duration(d) }
