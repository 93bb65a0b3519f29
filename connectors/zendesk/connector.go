package zendesk

import (
	"fmt"
	"strings"

	"github.com/healthsync/healthsync/config"
)

// Kind is the connector kind config/ will register for Zendesk.
const Kind = "zendesk"

// FromConnector maps a YAML connector entry onto Config, so wiring the
// kind is one line once config/ accepts it: site is the subdomain,
// auth.username the admin email, auth.api_key the API token, webhook.secrets
// and webhook.tolerance the webhook settings, rate_limit the incremental
// export budget (default DefaultExportRateLimit), http the client tuning.
// A kind other than "zendesk" (or empty) is an error.
func FromConnector(c config.Connector) (Config, error) {
	if c.Kind != "" && c.Kind != Kind {
		return Config{}, fmt.Errorf("zendesk connector %q: kind is %q, want %q", c.Name, c.Kind, Kind)
	}
	return Config{
		Name:            c.Name,
		Subdomain:       c.Site,
		BaseURL:         c.BaseURL,
		Email:           c.Auth.Username,
		APIToken:        c.Auth.APIKey,
		Webhook:         c.Webhook,
		ExportRateLimit: c.RateLimit,
		HTTP:            c.HTTP,
	}, nil
}

// ConfigKind is the kind's row for config.RegisterKind.
func ConfigKind() config.Kind { return config.Kind{Validate: CheckConnector} }

// CheckConnector checks a zendesk connector entry at key path p: what New
// requires, and no setting of another kind.
func CheckConnector(c config.Connector, p string, v *config.Problems) {
	v.Forbid(c, p, "login_url", "api_version", "organization_id", "auth.flow", "auth.client_id", "auth.client_secret",
		"auth.private_key", "auth.private_key_file", "auth.refresh_token", "auth.access_token", "webhook.client_secret",
		"webhook.username", "webhook.password", "search_rate_limit", "max_api_share", "objects")
	if c.Auth.Username == "" {
		v.Add(p+".auth.username", "is required for zendesk (the admin email the API token belongs to)")
	}
	if c.Auth.APIKey.IsZero() {
		v.Add(p+".auth.api_key", "is required for zendesk (an API token)")
	}
	switch {
	case c.Site == "" && c.BaseURL == "":
		v.Add(p+".site", "is required for zendesk (the subdomain in {subdomain}.zendesk.com), or set base_url")
	case strings.ContainsAny(c.Site, "./:@ "):
		v.Add(p+".site", "must be the subdomain only, as in {subdomain}.zendesk.com, not %q", c.Site)
	}
	for i, s := range c.Webhook.Secrets {
		if s.IsZero() {
			v.Add(fmt.Sprintf("%s.webhook.secrets[%d]", p, i), "must not be empty")
		}
	}
}
