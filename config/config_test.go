package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.bad.yaml.errors golden files")

// testEnv is the environment of the testdata files. Every credential
// contains "31337" so a test can prove none reaches an error message.
var testEnv = map[string]string{
	"SF_CLIENT_ID":           "3MVG9-test-client",
	"SF_CLIENT_SECRET":       "sf-secret-31337",
	"STRIPE_SECRET_KEY":      "sk_test_31337",
	"STRIPE_WEBHOOK_SECRET":  "whsec_31337",
	"STRIPE_PUBLISHABLE_KEY": "pk_test_31337",
	"HUBSPOT_ACCESS_TOKEN":   "pat-na1-31337",
	"SHORT_TOKEN":            "tok31337",
	"SECRET_PASSWORD":        "p4ss-31337",
	"SLACK_URL":              "https://hooks.slack.com/services/T1/B1/slack31337",
	"CB_WEBHOOK_PASSWORD":    "cb-31337",
	"EMPTY_VAR":              "",
	"RPS":                    "25",
	"DATABASE_URL":           "postgres://healthsync:pg-31337@db.internal:5432/healthsync?sslmode=verify-full",
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestFiles parses every testdata file: *.good.yaml must be valid and
// *.bad.yaml must give exactly the problems in its .errors golden file.
func TestFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(name, data, lookup(testEnv))
			switch {
			case strings.HasSuffix(name, ".good.yaml"):
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				if cfg == nil || cfg.File != name {
					t.Fatalf("config not returned: %+v", cfg)
				}
			case strings.HasSuffix(name, ".bad.yaml"):
				var errs *Errors
				if !errors.As(err, &errs) {
					t.Fatalf("want *Errors, got %v", err)
				}
				if cfg != nil {
					t.Errorf("invalid file returned a config")
				}
				got := err.Error() + "\n"
				golden := f + ".errors"
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if got != string(want) {
					t.Errorf("problems differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
				}
				if strings.Contains(got, "31337") {
					t.Errorf("a secret value reached the error text:\n%s", got)
				}
				for _, p := range errs.Problems {
					if p.File != name || p.Line < 1 || p.Col < 1 {
						t.Errorf("problem without a position: %+v", p)
					}
				}
			default:
				t.Fatalf("testdata file %s is neither .good.yaml nor .bad.yaml", name)
			}
		})
	}
}

// TestUnknownKeyAndBadCron is the foundation issue's acceptance case: both
// lines are named.
func TestUnknownKeyAndBadCron(t *testing.T) {
	data, err := os.ReadFile("testdata/unknown_and_cron.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("unknown_and_cron.bad.yaml", data, lookup(testEnv))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	got := map[int]string{}
	for _, p := range errs.Problems {
		got[p.Line] = p.Path
	}
	want := map[int]string{7: "connectors[0].schedule", 8: "connectors[0].retries"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems by line = %v, want %v\n%v", got, want, err)
	}
	if errs.ConfigProblems() != 2 {
		t.Errorf("ConfigProblems = %d, want 2", errs.ConfigProblems())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var errs *Errors
	if err == nil || errors.As(err, &errs) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

// TestDefaults checks the defaults filled into a minimal file.
func TestDefaults(t *testing.T) {
	// Load expands from the process environment.
	t.Setenv("STRIPE_SECRET_KEY", "sk_test_31337")
	cfg, err := Load("testdata/minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "testdata/minimal.good.yaml" {
		t.Errorf("File = %q", cfg.File)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"store.path", cfg.Store.Path, "./healthsync.db"},
		{"store.log_gather", cfg.Store.LogGather.D(), 200 * time.Microsecond},
		{"server.listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout.D(), 30 * time.Second},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, ""},
		{"reporting.currency", cfg.Reporting.Currency, "USD"},
		{"connector base_url", cfg.Connectors[0].BaseURL, DefaultStripeBaseURL},
		{"connector api_version", cfg.Connectors[0].APIVersion, DefaultStripeAPIVersion},
		{"connector full_resync", cfg.Connectors[0].FullResync.D(), 7 * 24 * time.Hour},
		{"connector webhook tolerance", cfg.Connectors[0].Webhook.Tolerance.D(), 5 * time.Minute},
		{"connector http", cfg.Connectors[0].HTTP, HTTP{dur(30 * time.Second), 4, dur(500 * time.Millisecond), dur(30 * time.Second)}},
		{"connector api key", cfg.Connectors[0].Auth.APIKey.Reveal(), "sk_test_31337"},
		{"matching.rules", len(cfg.Matching.Rules), 3},
		{"matching.min_match_rate", cfg.Matching.MinMatchRate, 0.5},
		{"matching.ignore_domains", cfg.Matching.IgnoreDomains, DefaultIgnoreDomains},
		{"tasks", len(cfg.Tasks) > 0, true},
		{"scoring bands", cfg.Scoring.Health.Bands.Healthy, 80.0},
		{"write_back.update_only", cfg.WriteBack.UpdateOnly, true},
		{"write_back.min_score_change", cfg.WriteBack.MinScoreChange, 3.0},
		{"write_back.max_band_change_share", cfg.WriteBack.MaxBandChangeShare, 0.2},
		{"write_back.salesforce", cfg.WriteBack.Mapping(KindSalesforce).Fields, DefaultSalesforceFields},
		{"write_back.hubspot", cfg.WriteBack.Mapping(KindHubSpot).Fields, DefaultHubSpotFields},
		{"write_back.salesforce.task_object", cfg.WriteBack.Salesforce.TaskObject, "Task"},
		{"engine.reconcile_schedule", cfg.Engine.ReconcileSchedule, "@every 15m"},
		{"engine.max_record_drop", cfg.Engine.MaxRecordDrop, 0.5},
		{"engine.write_retry", cfg.Engine.WriteRetry, Backoff{dur(time.Minute), dur(6 * time.Hour)}},
		{"engine.workers", cfg.Engine.Workers, 4},
		{"webhooks.max_body_bytes", cfg.Webhooks.MaxBodyBytes, int64(1 << 20)},
		{"webhooks.workers", cfg.Webhooks.Workers, 4},
		{"webhooks.max_attempts", cfg.Webhooks.MaxAttempts, 8},
		{"webhooks.dedupe_ttl", cfg.Webhooks.DedupeTTL.D(), 7 * 24 * time.Hour},
		{"notify.max_attempts", cfg.Notify.MaxAttempts, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestConnectorDefaults checks the per-kind defaults.
func TestConnectorDefaults(t *testing.T) {
	src := `
connectors:
  - {name: sf, kind: salesforce, login_url: "https://acme.my.salesforce.com", auth: {client_id: id, client_secret: s}, schedule: "@hourly"}
  - {name: sf-jwt, kind: salesforce, auth: {flow: jwt_bearer, client_id: id, username: u, private_key_file: k.pem}, schedule: "@hourly"}
  - {name: hs, kind: hubspot, auth: {client_id: id, client_secret: app-secret, refresh_token: r}, schedule: "@hourly"}
  - {name: cb, kind: chargebee, site: acme, auth: {api_key: k}, schedule: "@hourly"}
`
	cfg, err := Parse("c.yaml", []byte(src), lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	sf, _ := cfg.Connector("sf")
	sfJWT, _ := cfg.Connector("sf-jwt")
	hs, _ := cfg.Connector("hs")
	cb, _ := cfg.Connector("cb")
	tests := []struct {
		name      string
		got, want any
	}{
		{"sf login_url given", sf.LoginURL, "https://acme.my.salesforce.com"},
		{"sf jwt_bearer login_url", sfJWT.LoginURL, DefaultSalesforceLoginURL},
		{"sf api_version", sf.APIVersion, "62.0"},
		{"sf flow", sf.Auth.Flow, FlowClientCredentials},
		{"sf max_api_share", sf.MaxAPIShare, 0.8},
		{"sf full_resync", sf.FullResync.D(), 24 * time.Hour},
		{"sf objects", sf.Objects, []Object{{Name: "Account"}, {Name: "Opportunity"}}},
		{"sf no rate limit", sf.RateLimit, RateLimit{}},
		{"hs base_url", hs.BaseURL, DefaultHubSpotBaseURL},
		{"hs rate_limit", hs.RateLimit, RateLimit{Requests: 100, Per: dur(10 * time.Second), Burst: 100}},
		{"hs search_rate_limit", hs.SearchRateLimit, RateLimit{Requests: 4, Per: dur(time.Second), Burst: 4}},
		{"hs webhook secret from app", hs.Webhook.ClientSecret.Reveal(), "app-secret"},
		{"hs objects", hs.Objects, []Object{{Name: "companies"}, {Name: "deals"}}},
		{"hs match rules", cfg.Matching.Rules[0].Key, "hubspot_company_id"},
		{"cb base_url", cb.BaseURL, "https://acme.chargebee.com"},
		{"cb full_resync", cb.FullResync.D(), 7 * 24 * time.Hour},
		{"unknown connector", func() bool { _, ok := cfg.Connector("nope"); return ok }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestExplicitValuesKept checks that an explicit zero or empty list is not
// replaced by a default where it means something.
func TestExplicitValuesKept(t *testing.T) {
	src := `
connectors:
  - {name: billing, kind: stripe, auth: {api_key: k}, schedule: "@hourly"}
tasks: []
write_back: {update_only: false, min_score_change: 0}
notify:
  subscribers:
    - {name: s, url: "https://hooks.slack.com/services/T/B/X", format: slack, events: [churned]}
`
	cfg, err := Parse("c.yaml", []byte(src), lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tasks) != 0 || cfg.WriteBack.UpdateOnly || cfg.WriteBack.MinScoreChange != 0 {
		t.Errorf("explicit values replaced: tasks=%d update_only=%v min_score_change=%v",
			len(cfg.Tasks), cfg.WriteBack.UpdateOnly, cfg.WriteBack.MinScoreChange)
	}
	if s := cfg.Notify.Subscribers[0]; !s.Wants(EventChurned) || s.Wants(EventBandChanged) {
		t.Errorf("events = %v", s.Events)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"with path", Problem{"h.yaml", 3, 5, "connectors[0].schedule", "bad"}, "h.yaml:3:5: connectors[0].schedule: bad"},
		{"file level", Problem{"h.yaml", 1, 1, "", "invalid YAML"}, "h.yaml:1:1: invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	e := &Errors{Problems: []Problem{{"f", 9, 1, "b", "x"}, {"f", 2, 7, "a", "y"}, {"f", 2, 3, "a", "z"}, {"f", 9, 1, "b", "x"}}}
	e.sort()
	if got, want := e.Error(), "f:2:3: a: z\nf:2:7: a: y\nf:9:1: b: x"; got != want {
		t.Errorf("sorted:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		spec string
		ok   bool
	}{
		{"*/15 * * * *", true},
		{"0 */15 * * * *", true},
		{"CRON_TZ=Asia/Tokyo 0 9 * * MON-FRI", true},
		{"TZ=UTC @daily", true},
		{"@every 10m", true},
		{"@every 90s", true},
		{"@every 500ms", false},
		{"@every -1m", false},
		{"@every 7d", false},
		{"CRON_TZ=Nowhere/City * * * * *", false},
		{"* * * *", false},
		{"60 * * * *", false},
		{"@sometimes", false},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseSchedule(tt.spec)
			if (err == nil) != tt.ok {
				t.Errorf("ParseSchedule(%q) err = %v, want ok=%v", tt.spec, err, tt.ok)
			}
		})
	}
}
