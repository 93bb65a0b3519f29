package zendesk

import (
	"fmt"

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
