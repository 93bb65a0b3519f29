package config

import (
	"errors"
	"strings"
	"testing"
)

// TestExpand checks ${VAR} expansion through Parse, on a connector's
// fields, so the expanded value is observed where a connector reads it.
func TestExpand(t *testing.T) {
	env := map[string]string{
		"KEY":     "sk_test_abc",
		"EMPTY":   "",
		"SPECIAL": `a: b # c, {d} [e] "f"`,
		"RPS":     "25",
		"HOST":    "billing.example.com",
	}
	tests := []struct {
		name    string
		value   string // the YAML for auth.api_key
		want    string
		wantErr string // substring of the problem, with position
	}{
		{"plain", "${KEY}", "sk_test_abc", ""},
		{"in flow mapping unquoted", "${KEY}", "sk_test_abc", ""},
		{"double quoted", `"${KEY}"`, "sk_test_abc", ""},
		{"single quoted", `'${KEY}'`, "sk_test_abc", ""},
		{"embedded", "pre-${KEY}-post", "pre-sk_test_abc-post", ""},
		{"two references", "${KEY}${KEY}", "sk_test_abcsk_test_abc", ""},
		{"default when unset", "${NOPE:-fallback}", "fallback", ""},
		{"default when empty", "${EMPTY:-fallback}", "fallback", ""},
		{"default with punctuation", "${NOPE:-a,b:c/d}", "a,b:c/d", ""},
		{"empty default", "x${NOPE:-}", "x", ""},
		{"set wins over default", "${KEY:-fallback}", "sk_test_abc", ""},
		{"value with YAML syntax stays literal", "${SPECIAL}", `a: b # c, {d} [e] "f"`, ""},
		{"escaped", "$${KEY}", "${KEY}", ""},
		{"unset", "${NOPE}", "", "t.yaml:4:22: connectors[0].auth.api_key: environment variable NOPE is not set"},
		{"unset second of two", "${KEY}${NOPE2}", "", "t.yaml:4:28: connectors[0].auth.api_key: environment variable NOPE2 is not set"},
		{"invalid name", "${A-B}", "", `invalid variable reference "${A-B}"`},
		{"empty name", "${}", "", `invalid variable reference "${}"`},
		{"escaped default", "$${KEY:-x}", "${KEY:-x}", ""},
		{"dollar alone", "a$b$$c", "a$b$$c", ""},
		{"space in name", `"${A B}"`, "", "t.yaml:4:22: connectors[0].auth.api_key: invalid or unterminated variable reference"},
		{"unterminated", `"${KEY"`, "", "t.yaml:4:22: connectors[0].auth.api_key: invalid or unterminated variable reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "# a comment with ${NOT_SET} is ignored\n" +
				"connectors:\n" +
				"  - {name: b, kind: stripe, schedule: \"@hourly\",\n" +
				"     auth: {api_key: " + tt.value + "}}\n"
			cfg, err := Parse("t.yaml", []byte(src), lookup(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk_test_abc") {
					t.Errorf("value in error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Connectors[0].Auth.APIKey.Reveal(); got != tt.want {
				t.Errorf("api_key = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExpandTypes checks that references work in non-string values and
// keep line and column numbers exact after them.
func TestExpandTypes(t *testing.T) {
	env := map[string]string{"RPS": "25", "PER": "2s", "SHARE": "0.75", "ONLY": "false", "LONG_VALUE_NAME": "x"}
	src := `connectors:
  - {name: b, kind: stripe, schedule: "@hourly", auth: {api_key: "${LONG_VALUE_NAME}"}, rate_limit: {requests: ${RPS}, per: ${PER}}}
write_back: {update_only: ${ONLY}, max_band_change_share: ${SHARE}, min_score_change: ${NOPE:-5}}
server: {listen: "${LONG_VALUE_NAME}:${LONG_VALUE_NAME}", shutdown_timeout: ${PER}}
`
	_, err := Parse("t.yaml", []byte(src), lookup(env))
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Problems) != 1 {
		t.Fatalf("want one problem (server.listen), got %v", err)
	}
	// The column counts the original text, not the expanded one.
	if got, want := errs.Problems[0].String(), `t.yaml:4:18: server.listen: invalid port "x"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	src = strings.Replace(src, `"${LONG_VALUE_NAME}:${LONG_VALUE_NAME}"`, `":8080"`, 1)
	cfg, err := Parse("t.yaml", []byte(src), lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	rl := cfg.Connectors[0].RateLimit
	if rl.Requests != 25 || rl.Per.D().String() != "2s" || cfg.WriteBack.UpdateOnly ||
		cfg.WriteBack.MaxBandChangeShare != 0.75 || cfg.WriteBack.MinScoreChange != 5 {
		t.Errorf("typed values: rate_limit=%+v write_back=%+v", rl, cfg.WriteBack)
	}
}

func TestPrivateUseCharacterRejected(t *testing.T) {
	src := "store: {path: \"a\uE000b\"}\n"
	_, err := Parse("t.yaml", []byte(src), lookup(nil))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:1:17: private-use character U+E000") {
		t.Fatalf("err = %v", err)
	}
}
