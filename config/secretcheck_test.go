package config

import (
	"reflect"
	"testing"
)

// TestLiteralSecretWarnings: a secret written in the file is valid but
// warned about at its position; one from the environment (even through a
// default) is not; the value never appears in the warning.
func TestLiteralSecretWarnings(t *testing.T) {
	const msg = "secret written in the file; prefer a ${VAR} reference to the environment or a secret store"
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		{"all from the environment", "server: {api_token: \"${UNSET_TOKEN:-operator-token-0123456789}\"}\n" +
			"connectors: [{name: b, kind: stripe, auth: {api_key: \"${STRIPE_SECRET_KEY}\"}, schedule: '@hourly'}]\n", []Problem{}},
		{"literal token and key", "server: {api_token: literal-token-31337-abcdef}\n" +
			"connectors: [{name: b, kind: stripe, auth: {api_key: sk_live_31337}, schedule: '@hourly'}]\n",
			[]Problem{{File: "w.yaml", Line: 1, Col: 21, Path: "server.api_token", Message: msg},
				{File: "w.yaml", Line: 2, Col: 54, Path: "connectors[0].auth.api_key", Message: msg}}},
		{"partly literal list", "connectors: [{name: b, kind: stripe, auth: {api_key: \"${STRIPE_SECRET_KEY}\"},\n" +
			"  webhook: {secrets: [\"${STRIPE_WEBHOOK_SECRET}\", whsec_31337_old]}, schedule: '@hourly'}]\n",
			[]Problem{{File: "w.yaml", Line: 2, Col: 51, Path: "connectors[0].webhook.secrets[1]", Message: msg}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("w.yaml", []byte(tt.yaml), lookup(testEnv))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Warnings, tt.want) {
				t.Errorf("warnings\n got %+v\nwant %+v", cfg.Warnings, tt.want)
			}
		})
	}
}

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"", false},
		{"change-me-to-a-long-random-token", true},       // the example's default
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true}, // the example's notify secret
		{"sk_test_change_me", true},
		{"  Secret ", true},
		{"please-REPLACE_ME", true},
		{"sk_live_51HqkX2eZvKYlo2C0abcdef", false},
		{"pat-na1-0f4c6d2e-8b1a-4c55-9d1e-3f6a7b8c9d0e", false},
	}
	for _, tt := range tests {
		if got := IsPlaceholder(tt.value); got != tt.want {
			t.Errorf("IsPlaceholder(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}
