package segment

import (
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Kind is the connector kind of Segment in the configuration.
const Kind = config.KindSegment

// Capabilities describe the Segment kind to the engine: a push source of
// usage signals.
func Capabilities() record.Capabilities {
	return record.Capabilities{System: System, Role: record.RoleSignals}
}

// ConfigKind is the kind's row for config.RegisterKind: Segment pushes, so
// a schedule is optional (its pull does nothing; default once a day), and
// the segment: section and webhook.secrets are checked by Validate.
func ConfigKind() config.Kind {
	return config.Kind{
		Defaults: func(c *config.Connector) {
			if c.Schedule == "" {
				c.Schedule = "@every 24h"
			}
		},
		Validate: CheckConnector,
	}
}

// FromConnector maps a YAML connector entry onto Config: webhook.secrets
// are the shared secrets, the segment: section the rest.
func FromConnector(c config.Connector) Config {
	cfg := Config{Name: c.Name, SharedSecrets: c.Webhook.Secrets}
	if s := c.Segment; s != nil {
		cfg.Account = AccountRule{By: s.Account.By, Trait: s.Account.Trait, System: s.Account.System}
		cfg.MaxCalls, cfg.BodySignatureOnly = s.MaxCalls, s.BodySignatureOnly
		for _, e := range s.Events {
			cfg.Events = append(cfg.Events, EventMetric{Event: e.Event, Metric: e.Metric, Value: e.Value,
				DistinctUsers: e.DistinctUsers, DistinctProperty: e.DistinctProperty, Window: time.Duration(e.Window)})
		}
	}
	return cfg
}

// CheckConnector checks a segment connector entry at key path p.
func CheckConnector(c config.Connector, p string, v *config.Problems) {
	v.Forbid(c, p, "login_url", "base_url", "api_version", "site", "organization_id", "auth.flow", "auth.client_id",
		"auth.client_secret", "auth.username", "auth.private_key", "auth.private_key_file", "auth.refresh_token",
		"auth.access_token", "auth.api_key", "webhook.client_secret", "webhook.username", "webhook.password",
		"webhook.tolerance", "rate_limit", "search_rate_limit", "max_api_share", "objects")
	if c.Segment == nil {
		v.Add(p+".segment", "is required for segment (account: and events:)")
		return
	}
	cfg := FromConnector(c)
	v.AddError(cfg.Validate(), func(path string) string {
		if strings.HasPrefix(path, "webhook.") {
			return p + "." + path
		}
		return p + ".segment." + path
	})
}
