package sqlsource

import (
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Kind is the connector kind of a SQL source in the configuration.
const Kind = config.KindSQL

// System is the record system of a SQL source (its signals name CRM or
// billing accounts, never "sql" records).
const System = "sql"

// Capabilities describe the SQL kind to the engine: a pulled source of
// usage signals.
func Capabilities() record.Capabilities {
	return record.Capabilities{System: System, Role: record.RoleSignals}
}

// ConfigKind is the kind's row for config.RegisterKind.
func ConfigKind() config.Kind { return config.Kind{Validate: CheckConnector} }

// FromConnector maps a YAML connector entry's sql: section onto Config.
func FromConnector(c config.Connector) Config {
	cfg := Config{Name: c.Name}
	if s := c.SQL; s != nil {
		cfg.Driver, cfg.DSN, cfg.Query, cfg.AccountSystem = s.Driver, s.DSN, s.Query, s.AccountSystem
		cfg.Overlap, cfg.StatementTimeout = time.Duration(s.Overlap), time.Duration(s.StatementTimeout)
		cfg.RowLimit, cfg.BatchSize, cfg.Start, cfg.FutureSkew = s.RowLimit, s.BatchSize, s.Start, time.Duration(s.FutureSkew)
	}
	return cfg
}

// CheckConnector checks a sql connector entry at key path p.
func CheckConnector(c config.Connector, p string, v *config.Problems) {
	v.Forbid(c, p, "login_url", "base_url", "api_version", "site", "organization_id", "auth.flow", "auth.client_id",
		"auth.client_secret", "auth.username", "auth.private_key", "auth.private_key_file", "auth.refresh_token",
		"auth.access_token", "auth.api_key", "webhook.secrets", "webhook.client_secret", "webhook.username",
		"webhook.password", "webhook.tolerance", "rate_limit", "search_rate_limit", "max_api_share", "objects")
	if c.SQL == nil {
		v.Add(p+".sql", "is required for sql (driver, dsn and query)")
		return
	}
	cfg := FromConnector(c)
	v.AddError(cfg.Validate(), func(path string) string { return p + ".sql." + path })
}
