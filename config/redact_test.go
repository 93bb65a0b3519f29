package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// secretConfig parses a valid file whose every credential contains "31337".
func secretConfig(t testing.TB) *Config {
	t.Helper()
	src := `
server: {api_token: "${API_TOKEN}"}
connectors:
  - name: sf
    kind: salesforce
    auth: {flow: refresh_token, client_id: id, client_secret: "${SF_CLIENT_SECRET}", refresh_token: "${SF_REFRESH}"}
    schedule: "@hourly"
  - name: hs
    kind: hubspot
    auth: {access_token: "${HUBSPOT_ACCESS_TOKEN}"}
    webhook: {client_secret: "${HS_APP_SECRET}"}
    schedule: "@hourly"
  - name: billing
    kind: stripe
    auth: {api_key: "${STRIPE_SECRET_KEY}"}
    webhook: {secrets: ["${STRIPE_WEBHOOK_SECRET}", "${STRIPE_WEBHOOK_SECRET_OLD}"]}
    schedule: "@hourly"
  - name: cb
    kind: chargebee
    site: acme
    auth: {api_key: "${CB_KEY}"}
    webhook: {username: u, password: "${CB_WEBHOOK_PASSWORD}"}
    schedule: "@hourly"
webhooks: {signals_token: "${SIGNALS_TOKEN}"}
notify:
  subscribers:
    - {name: revops, url: "https://revops.example.com/h?token=${QUERY_TOKEN}", secret: "${NOTIFY_SECRET}"}
    - {name: slack, url: "${SLACK_URL}", format: slack}
`
	env := map[string]string{
		"API_TOKEN":                 "api-token-31337-0123456789",
		"SF_CLIENT_SECRET":          "sf-31337",
		"SF_REFRESH":                "sf-refresh-31337",
		"HUBSPOT_ACCESS_TOKEN":      "pat-31337",
		"HS_APP_SECRET":             "hs-app-31337",
		"STRIPE_SECRET_KEY":         "sk_test_31337",
		"STRIPE_WEBHOOK_SECRET":     "whsec_31337",
		"STRIPE_WEBHOOK_SECRET_OLD": "whsec_old_31337",
		"CB_KEY":                    "cb-31337",
		"CB_WEBHOOK_PASSWORD":       "cb-pass-31337",
		"SIGNALS_TOKEN":             "signals-31337-0123456789",
		"QUERY_TOKEN":               "q31337",
		"NOTIFY_SECRET":             "whsec_cmVkYWN0LXRlc3Qtbm90aWZ5LXNlY3JldC0zMTMzNyE=",
		"SLACK_URL":                 "https://hooks.slack.com/services/T0/B0/slack31337",
	}
	cfg, err := Parse("s.yaml", []byte(src), lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := secretConfig(t)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		text string
	}{
		{"Redacted", string(cfg.Redacted())},
		{"fmt %v", fmt.Sprintf("%v", cfg)},
		{"fmt %+v", fmt.Sprintf("%+v", cfg)},
		{"fmt %#v", fmt.Sprintf("%#v", cfg)},
		{"json", string(js)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.text, "31337") || strings.Contains(tt.text, "MfKQ9r8") {
				t.Errorf("a secret was printed:\n%s", tt.text)
			}
			if !strings.Contains(tt.text, "<secret>") && !strings.Contains(tt.text, `\u003csecret\u003e`) {
				t.Errorf("no <secret> marker:\n%s", tt.text)
			}
		})
	}
	// The credentials are still there for the code that sends them.
	if got := cfg.Connectors[2].Webhook.Secrets[1].Reveal(); got != "whsec_old_31337" {
		t.Errorf("Reveal = %q", got)
	}
}

func TestRedactedShowsEffectiveConfig(t *testing.T) {
	out := string(secretConfig(t).Redacted())
	for _, want := range []string{
		"reconcile_schedule: \"@every 15m\"",         // a default
		"login_url: https://login.salesforce.com",    // a connector default
		"url: https://revops.example.com/h?<secret>", // query hidden
		"url: https://hooks.slack.com/<secret>",      // slack path hidden
		"api_token: <secret>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted lacks %q:\n%s", want, out)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in   string
		pathSecret bool
		want       string
	}{
		{"plain", "https://a.example.com/x", false, "https://a.example.com/x"},
		{"query", "https://a.example.com/x?k=v", false, "https://a.example.com/x?<secret>"},
		{"slack", "https://hooks.slack.com/services/T/B/X", true, "https://hooks.slack.com/<secret>"},
		{"empty", "", false, ""},
		{"not a URL", "::", false, "<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURL(tt.in, tt.pathSecret); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkParseExample(b *testing.B) {
	data := Example()
	for b.Loop() {
		if _, err := Parse("example.yaml", data, noEnv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBad(b *testing.B) {
	data, err := os.ReadFile("testdata/connectors.bad.yaml")
	if err != nil {
		b.Fatal(err)
	}
	env := lookup(testEnv)
	for b.Loop() {
		if _, err := Parse("connectors.bad.yaml", data, env); err == nil {
			b.Fatal("want problems")
		}
	}
}
