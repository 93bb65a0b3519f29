package config

import (
	"strings"
	"time"
)

// SQLSource is a kind: sql connector's settings, the connector's sql:
// section. The sqlsource package validates it (registered by the wire
// table); the YAML keys are the field tags.
type SQLSource struct {
	// Driver is the database driver: postgres (pgx's database/sql driver).
	Driver string `yaml:"driver" json:"driver"`
	// DSN is the connection string; use a role that can only read.
	DSN Secret `yaml:"dsn" json:"dsn"`
	// Query returns the columns account, metric, value, time for rows with
	// time after :since.
	Query string `yaml:"query" json:"query"`
	// AccountSystem is the record system of the account column
	// (salesforce, hubspot, stripe, chargebee or external); empty: the
	// column holds "system/id" keys.
	AccountSystem string `yaml:"account_system,omitempty" json:"account_system,omitempty"`
	// Overlap is subtracted from the cursor before it is bound to :since
	// (default 10m).
	Overlap Duration `yaml:"overlap,omitempty" json:"overlap,omitempty"`
	// StatementTimeout bounds each statement of a pull (default 5m).
	StatementTimeout Duration `yaml:"statement_timeout,omitempty" json:"statement_timeout,omitempty"`
	// RowLimit caps the rows read per run (default 1,000,000).
	RowLimit int `yaml:"row_limit,omitempty" json:"row_limit,omitempty"`
	// BatchSize is the rows stored per transaction (default 5,000).
	BatchSize int `yaml:"batch_size,omitempty" json:"batch_size,omitempty"`
	// Start is :since on the first run (default the Unix epoch).
	Start time.Time `yaml:"start,omitempty" json:"start,omitempty"`
	// FutureSkew is how far past the clock a row's time may be (default 5m).
	FutureSkew Duration `yaml:"future_skew,omitempty" json:"future_skew,omitempty"`
}

// SegmentSource is a kind: segment connector's settings, the connector's
// segment: section (the shared secrets are webhook.secrets). The segment
// package validates it.
type SegmentSource struct {
	// Account says how a group call names its account.
	Account SegmentAccount `yaml:"account" json:"account"`
	// Events maps track events to metrics.
	Events []SegmentEvent `yaml:"events" json:"events"`
	// MaxCalls caps the calls of one request (default 10,000).
	MaxCalls int `yaml:"max_calls,omitempty" json:"max_calls,omitempty"`
	// BodySignatureOnly refuses batches signed over their first call only
	// (set it when batching is off in Segment).
	BodySignatureOnly bool `yaml:"body_signature_only,omitempty" json:"body_signature_only,omitempty"`
}

// SegmentAccount links a Segment group to an account: by trait (a group
// trait holds the CRM account ID of System) or by domain (a trait, default
// website, holds the company's domain).
type SegmentAccount struct {
	By     string `yaml:"by,omitempty" json:"by,omitempty"`
	Trait  string `yaml:"trait,omitempty" json:"trait,omitempty"`
	System string `yaml:"system,omitempty" json:"system,omitempty"`
}

// SegmentEvent maps one track event to a metric: value 1 per call, or the
// number in properties[value], or the distinct users (distinct_users) or
// distinct values of a property (distinct_property) per window (default
// 24h).
type SegmentEvent struct {
	Event            string   `yaml:"event" json:"event"`
	Metric           string   `yaml:"metric" json:"metric"`
	Value            string   `yaml:"value,omitempty" json:"value,omitempty"`
	DistinctUsers    bool     `yaml:"distinct_users,omitempty" json:"distinct_users,omitempty"`
	DistinctProperty string   `yaml:"distinct_property,omitempty" json:"distinct_property,omitempty"`
	Window           Duration `yaml:"window,omitempty" json:"window,omitempty"`
}

// Kinds whose settings live in a section of their own or in the common
// keys; their vendor packages validate them (registered by the wire
// table).
const (
	KindSQL     = "sql"
	KindSegment = "segment"
	KindZendesk = "zendesk"
)

// Forbid reports each of keys (connector key paths: login_url, base_url,
// api_version, site, organization_id, auth.*, webhook.*, rate_limit,
// search_rate_limit, max_api_share, objects) that is set on c as not
// applying to its kind; p is the connector's key path.
func (v *Problems) Forbid(c Connector, p string, keys ...string) {
	a, w := c.Auth, c.Webhook
	set := map[string]bool{
		"login_url": c.LoginURL != "", "base_url": c.BaseURL != "", "api_version": c.APIVersion != "", "site": c.Site != "",
		"organization_id": c.OrganizationID != "", "auth.flow": a.Flow != "", "auth.client_id": a.ClientID != "",
		"auth.client_secret": !a.ClientSecret.IsZero(), "auth.username": a.Username != "", "auth.private_key": !a.PrivateKey.IsZero(),
		"auth.private_key_file": a.PrivateKeyFile != "", "auth.refresh_token": !a.RefreshToken.IsZero(),
		"auth.access_token": !a.AccessToken.IsZero(), "auth.api_key": !a.APIKey.IsZero(), "webhook.secrets": len(w.Secrets) > 0,
		"webhook.client_secret": !w.ClientSecret.IsZero(), "webhook.username": w.Username != "", "webhook.password": !w.Password.IsZero(),
		"webhook.tolerance": w.Tolerance != 0, "rate_limit": c.RateLimit != (RateLimit{}), "search_rate_limit": c.SearchRateLimit != (RateLimit{}),
		"max_api_share": c.MaxAPIShare != 0, "objects": len(c.Objects) > 0,
	}
	for _, k := range keys {
		if set[k] {
			v.Add(p+"."+k, "does not apply to %s connectors", c.Kind)
		}
	}
}

// AddError reports the problems of a vendor package's Validate error: a
// heading line, then one "key.path: message" per line; under maps each
// key path to its path in this file ("connectors[2].sql.query").
func (v *Problems) AddError(err error, under func(path string) string) {
	if err == nil {
		return
	}
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines[1:] {
		path, msg, _ := strings.Cut(l, ": ")
		v.Add(under(path), "%s", msg)
	}
}
