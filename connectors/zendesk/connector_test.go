package zendesk_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/zendesk"
)

// TestNewValidatesConfig pins every configuration problem, reported at
// once and without the token.
func TestNewValidatesConfig(t *testing.T) {
	ok := zendesk.Config{Name: "desk", Subdomain: "acme", Email: email, APIToken: config.NewSecret(token)}
	if c, err := zendesk.New(ok, zendesk.Options{}); err != nil || c == nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*zendesk.Config)
		want string
	}{
		{"no token", func(c *zendesk.Config) { c.APIToken = config.Secret{} }, `zendesk connector "desk": auth.api_key (the API token) is required`},
		{"no email", func(c *zendesk.Config) { c.Email = "" }, `zendesk connector "desk": auth.username (the admin email the token belongs to) is required`},
		{"no subdomain", func(c *zendesk.Config) { c.Subdomain = "" }, `zendesk connector "desk": site (the zendesk subdomain) is required (or base_url)`},
		{"subdomain is a host", func(c *zendesk.Config) { c.Subdomain = "acme.zendesk.com" }, `zendesk connector "desk": site "acme.zendesk.com" must be the subdomain only, as in {subdomain}.zendesk.com`},
		{"relative base url", func(c *zendesk.Config) { c.BaseURL = "/api" }, `zendesk connector "desk": base_url "/api" is not an absolute URL`},
		{"everything at once", func(c *zendesk.Config) { *c = zendesk.Config{Name: "desk"} },
			`zendesk connector "desk": auth.username (the admin email the token belongs to) is required; auth.api_key (the API token) is required; site (the zendesk subdomain) is required (or base_url)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := zendesk.New(cfg, zendesk.Options{})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestFromConnector pins the mapping of a YAML connector entry.
func TestFromConnector(t *testing.T) {
	in := config.Connector{
		Name: "desk", Kind: "zendesk", Site: "acme", BaseURL: "http://127.0.0.1:1",
		Auth:      config.Auth{Username: email, APIKey: config.NewSecret(token)},
		Webhook:   config.Webhook{Secrets: []config.Secret{config.NewSecret(secret1)}, Tolerance: config.Duration(time.Minute)},
		RateLimit: config.RateLimit{Requests: 30, Per: config.Duration(time.Minute)},
		HTTP:      config.HTTP{RetryMax: 3},
	}
	got, err := zendesk.FromConnector(in)
	want := zendesk.Config{Name: "desk", Subdomain: "acme", BaseURL: "http://127.0.0.1:1", Email: email, APIToken: config.NewSecret(token),
		Webhook: in.Webhook, ExportRateLimit: in.RateLimit, HTTP: in.HTTP}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("FromConnector = %+v, %v\nwant %+v", got, err, want)
	}
	in.Kind = "stripe"
	if _, err := zendesk.FromConnector(in); err == nil || err.Error() != `zendesk connector "desk": kind is "stripe", want "zendesk"` {
		t.Errorf("wrong kind: %v", err)
	}
}
