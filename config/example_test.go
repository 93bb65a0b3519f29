package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/scoring"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// exampleEnv is an operator's environment for the example: every variable
// it references set to a value of the right shape.
func exampleEnv(name string) (string, bool) {
	switch {
	case name == "SLACK_WEBHOOK_URL":
		return "https://hooks.slack.com/services/T1/B1/operator", true
	case name == "REVOPS_WEBHOOK_SECRET":
		return "whsec_b3BlcmF0b3Itbm90aWZ5LXNpZ25pbmctc2VjcmV0", true
	case strings.HasSuffix(name, "_PRIVATE_KEY"):
		return "", true
	}
	return "operator-" + strings.ToLower(name) + "-4f9c2a7e81d3", true
}

// TestExampleValidates: the example validates once its variables are set,
// and with none set it fails naming every secret still at the example's
// placeholder (a published default must not guard anything).
func TestExampleValidates(t *testing.T) {
	cfg, err := Parse("example.yaml", Example(), exampleEnv)
	if err != nil {
		t.Fatalf("the example does not validate:\n%v", err)
	}
	if len(cfg.Connectors) != 4 {
		t.Errorf("connectors = %d, want one per kind", len(cfg.Connectors))
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("the example writes secrets in the file: %v", cfg.Warnings)
	}

	_, err = Parse("example.yaml", Example(), noEnv)
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("the example with no environment: want *Errors, got %v", err)
	}
	// Each problem names the placeholder's own line (the example moves as
	// options are added, so the line is checked against the text, not pinned).
	lines := strings.Split(string(Example()), "\n")
	var got []string
	for _, p := range errs.Problems {
		got = append(got, fmt.Sprintf("%s: %s", p.Path, p.Message))
		if p.Line < 1 || p.Line > len(lines) || !strings.Contains(lines[p.Line-1], "${") {
			t.Errorf("%s: line %d is not the placeholder's line", p.Path, p.Line)
		}
	}
	const msg = "is a placeholder, not a credential: set the real value (usually through the ${VAR} it references)"
	var want []string
	for _, path := range []string{
		"server.api_token", "connectors[0].auth.client_secret", "connectors[1].auth.access_token",
		"connectors[1].webhook.client_secret", "connectors[2].auth.api_key", "connectors[2].webhook.secrets[0]",
		"connectors[3].auth.api_key", "connectors[3].webhook.password", "webhooks.signals_token",
		"notify.subscribers[0].secret",
	} {
		want = append(want, fmt.Sprintf("%s: %s", path, msg))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems with no environment:\n got %q\nwant %q", got, want)
	}
}

// TestExampleShowsDefaults checks that the sections the example presents
// as defaults are the defaults.
func TestExampleShowsDefaults(t *testing.T) {
	cfg, err := Parse("example.yaml", Example(), exampleEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := scoring.DefaultSettings(); !reflect.DeepEqual(cfg.Scoring, want) {
		t.Errorf("example scoring differs from scoring.DefaultSettings():\n got %+v\nwant %+v", cfg.Scoring, want)
	}
	if want := scoring.DefaultTaskRules(); !reflect.DeepEqual(normTasks(cfg.Tasks), normTasks(want)) {
		t.Errorf("example tasks differ from scoring.DefaultTaskRules():\n got %+v\nwant %+v", cfg.Tasks, want)
	}
	def, err := Parse("d.yaml", []byte("connectors: [{name: b, kind: stripe, auth: {api_key: k}, schedule: '@hourly'}]"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"engine", cfg.Engine, def.Engine},
		{"store", cfg.Store, def.Store},
		{"write_back mappings", []CRMMapping{cfg.WriteBack.Salesforce, cfg.WriteBack.HubSpot}, []CRMMapping{def.WriteBack.Salesforce, def.WriteBack.HubSpot}},
		{"write_back rails", []float64{cfg.WriteBack.MinScoreChange, cfg.WriteBack.MaxBandChangeShare}, []float64{def.WriteBack.MinScoreChange, def.WriteBack.MaxBandChangeShare}},
		{"webhooks", cfg.Webhooks.DedupeTTL, def.Webhooks.DedupeTTL},
		{"notify", []any{cfg.Notify.MaxAttempts, cfg.Notify.Backoff, cfg.Notify.Timeout}, []any{def.Notify.MaxAttempts, def.Notify.Backoff, def.Notify.Timeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("example %+v, default %+v", tt.got, tt.want)
			}
		})
	}
}

// normTasks fills the task owner default, which the example spells out.
func normTasks(rules []scoring.TaskRule) []scoring.TaskRule {
	out := slices.Clone(rules)
	for i := range out {
		if out[i].Owner == "" {
			out[i].Owner = scoring.OwnerAccountOwner
		}
	}
	return out
}

// alternative matches the "#~ " lines that show mutually exclusive options.
var alternative = regexp.MustCompile(`(?m)^(\s*)#~ `)

// TestExampleCoversEveryKey walks Config by reflection and fails when a
// yaml key is in neither the example nor its "#~" alternatives.
func TestExampleCoversEveryKey(t *testing.T) {
	full := alternative.ReplaceAll(Example(), []byte("$1"))
	masked, refs, problems := mask(full)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	d := newDecoder(&expander{refs: refs, env: noEnv})
	file, err := parseYAML(masked)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	d.decode(file, reflect.ValueOf(&cfg).Elem(), "")
	for _, p := range d.problems {
		if !strings.Contains(p.Message, "environment variable") {
			t.Errorf("example with alternatives: %v", p)
		}
	}
	present := map[string]bool{}
	index := regexp.MustCompile(`\[\d+\]`)
	for path := range d.where {
		present[index.ReplaceAllString(path, "[]")] = true
	}
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		if !present[key] {
			t.Errorf("the example does not show %s", key)
		}
	}
}

// schemaKeys lists every key path of t, with [] for list items; maps are
// covered by their key.
func schemaKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var keys []string
		for _, name := range structFields(t).names {
			f := t.FieldByIndex(structFields(t).byName[name])
			p := joinPath(prefix, name)
			keys = append(keys, p)
			keys = append(keys, schemaKeys(f.Type, p)...)
		}
		return keys
	case reflect.Slice:
		return schemaKeys(t.Elem(), prefix+"[]")
	}
	return nil
}
