package scoring

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func TestValidateTaskRules(t *testing.T) {
	good := TaskRule{Name: "r", When: `band == "at_risk"`, Subject: "{{.account.name}}"}
	tests := []struct {
		name  string
		rules []TaskRule
		want  []string // "path: message prefix"
	}{
		{"defaults are valid", DefaultTaskRules(), nil},
		{"typo in a condition field", []TaskRule{good, {Name: "x", When: `scor < 50`, Subject: "s"}}, []string{"[1].when: unknown name scor"}},
		{"condition not boolean", []TaskRule{{Name: "x", When: `score + 1`, Subject: "s"}}, []string{"[0].when: expected bool"}},
		{"template typo", []TaskRule{{Name: "x", When: `true`, Subject: "{{.acount.name}}"}}, []string{`[0].subject: x.subject:1:9: executing "x.subject" at <.acount.name>: map has no entry for key "acount"`}},
		{"template syntax", []TaskRule{{Name: "x", When: `true`, Subject: "s", Body: "{{.score"}}, []string{"[0].body: x.body:1: unclosed action"}},
		{"missing fields", []TaskRule{{}}, []string{"[0].name: is required", "[0].when: is required", "[0].subject: is required"}},
		{"bad enums", []TaskRule{{Name: "x", When: "true", Subject: "s", Priority: "urgent", Period: "fortnight", DueInDays: -1}},
			[]string{"[0].priority: must be high", "[0].period: must be day", "[0].due_in_days: must not be negative"}},
		{"duplicate names", []TaskRule{good, good}, []string{`[1].name: duplicate rule "r" (also [0])`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateTaskRules(tc.rules)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %v", errs, tc.want)
			}
			for i, w := range tc.want {
				if got := errs[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d = %q, want prefix %q", i, got, w)
				}
			}
		})
	}
}

func TestRulesEvaluate(t *testing.T) {
	rules, err := CompileRules([]TaskRule{
		{Name: "at_risk", When: `band == "at_risk"`, Subject: "At risk: {{.account.name}}", Body: "{{join .reasons \"; \"}}",
			DueInDays: 3, Priority: "high", CooldownDays: 30, CloseWhenCleared: true},
		{Name: "big", When: `arr >= 1000000 && account.fields["Region__c"] == "APAC"`, Subject: "Big APAC", Owner: "queue_1", Period: PeriodQuarter},
		{Name: "review", When: `months_since_start == 3`, Subject: "Review", Period: PeriodOnce, CloseWhenCleared: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	env := RuleEnv{Account: AccountEnv{ID: "001A", Name: "Acme", OwnerID: "005X", Fields: map[string]any{"Region__c": "APAC"}},
		Band: BandAtRisk, ARR: 2_000_000, MonthsSinceStart: 5, Reasons: []string{"few logins", "NPS low"}}
	intents, cleared, errs := rules.Evaluate(&env, "salesforce/001A", asOf, nil)
	want := []TaskIntent{
		{Rule: "at_risk", DedupeKey: "at_risk/salesforce/001A/2026-11", AccountID: "001A", Subject: "At risk: Acme", Body: "few logins; NPS low",
			OwnerID: "005X", Due: date(2026, 11, 26), Priority: "high", CloseWhenCleared: true},
		{Rule: "big", DedupeKey: "big/salesforce/001A/2026-Q4", AccountID: "001A", Subject: "Big APAC", OwnerID: "queue_1", Due: date(2026, 11, 23), Priority: "normal"},
	}
	if len(errs) > 0 || !reflect.DeepEqual(intents, want) || !reflect.DeepEqual(cleared, []string{"review"}) {
		t.Errorf("intents %+v\nwant %+v\ncleared %v errs %v", intents, want, cleared, errs)
	}
	// Cooldown: the at-risk task was created 10 days ago.
	intents, _, _ = rules.Evaluate(&env, "salesforce/001A", asOf, map[string]time.Time{"at_risk": asOf.AddDate(0, 0, -10)})
	if len(intents) != 1 || intents[0].Rule != "big" {
		t.Errorf("cooldown not applied: %+v", intents)
	}
	// Same period, same key: a rerun never produces a different key.
	again, _, _ := rules.Evaluate(&env, "salesforce/001A", asOf.Add(5*24*time.Hour), nil)
	if again[0].DedupeKey != want[0].DedupeKey {
		t.Errorf("dedupe key changed within the period: %s", again[0].DedupeKey)
	}
}

func TestPeriodKey(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for period, want := range map[string]string{PeriodDay: "2026-11-23", PeriodWeek: "2026-W48", PeriodMonth: "2026-11",
		PeriodQuarter: "2026-Q4", PeriodYear: "2026", PeriodOnce: "once"} {
		if got := PeriodKey(period, at); got != want {
			t.Errorf("%s: %s, want %s", period, got, want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Settings)
		want   []string
	}{
		{"defaults", func(*Settings) {}, nil},
		{"unknown preset and rule values", func(s *Settings) {
			s.Metrics.Preset, s.Metrics.Discounts, s.Metrics.GrossMargin = "baremetrics", "some", 1.5
		}, []string{`metrics.preset: unknown preset "baremetrics"`, "metrics.discounts: must be one of all, forever_only, none", "metrics.gross_margin: must be a fraction"}},
		{"measure problems", func(s *Settings) {
			s.Health.Measures[2].Weight = 0
			s.Health.Measures[3].Good = 9 // lower is better: good must be below poor
			s.Health.Measures[4].Derived = "nps_score"
		}, []string{"health.measures[2].weight: must be positive", "health.measures[3].good: must be below poor",
			"health.measures[4]: needs exactly one of signal, derived or field", "health.measures[4].derived: must be one of"}},
		{"bands and tiers", func(s *Settings) {
			s.Health.Bands.Caution = 90
			s.Touch.Tiers[1].MinARR = 20_000_000
		}, []string{"health.bands.caution: must be below healthy", "touch.tiers[1].min_arr: tiers must be ordered"}},
		{"targets", func(s *Settings) { s.Targets[0].Op = ">" }, []string{`targets[0].op: must be ">=" or "<="`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			tc.mutate(&s)
			errs := s.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %v", errs, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want prefix %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestApplyDefaultsPreset(t *testing.T) {
	s := Settings{Metrics: MetricsSettings{Preset: PresetStripe, Discounts: DiscountsAll}}
	s.ApplyDefaults()
	if s.Metrics.CancelAtPeriodEnd != CancelImmediately || s.Metrics.Discounts != DiscountsAll || s.Metrics.GrossMargin != 1 || s.Metrics.HistoryMonths != 24 {
		t.Errorf("preset applied %+v", s.Metrics)
	}
	d := DefaultSettings()
	if d.Metrics.Preset != PresetHealthsync || d.Health.Bands != (Bands{80, 50}) || d.Touch.Tiers[0] != (TouchTier{TouchHigh, 10_000_000}) || d.Touch.Hysteresis != 0.1 {
		t.Errorf("defaults %+v", d)
	}
}

func TestScoreAccountEndToEnd(t *testing.T) {
	asOf := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	sub := activeSub("USD", monthly(50000, 20, "USD")) // 10,000 USD a month = 1,500,000 JPY, ARR 18M
	sub.StartDate = date(2026, 8, 23)
	sub.Items[0].PlanLimit = 25
	in := AccountInput{
		Account:       record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A"}, Name: "Acme KK", OwnerID: "005X", Fields: map[string]any{"Region__c": "APAC"}},
		Subscriptions: []record.Subscription{sub},
		Invoices: []record.Invoice{{Ref: record.Ref{System: record.Stripe, ID: "in_f"}, Status: record.InvoiceOpen, PaymentFailed: true,
			Created: asOf.AddDate(0, 0, -3), Currency: "USD"}},
		Signals: []record.Signal{
			sig("logins", asOf.AddDate(0, 0, -1), 1), sig("active_users", asOf.AddDate(0, 0, -1), 22),
			sig("features_used", asOf.AddDate(0, 0, -1), 2), sig("tickets_open", asOf.AddDate(0, 0, -1), 5),
		},
		ScoreHistory: []ScorePoint{{Time: asOf.AddDate(0, 0, -30), Score: 80}},
		Currency:     "JPY", FX: map[string]float64{"USD": 150},
	}
	s := DefaultSettings()
	s.Segments = []string{"Region__c", "owner"}
	s.Lifecycle.OnboardingDays = 120
	rules, err := CompileRules(DefaultTaskRules())
	if err != nil {
		t.Fatal(err)
	}
	res := ScoreAccount(in, asOf, s, rules)
	if res.MRR != 1_500_000 || res.ARR != 18_000_000 || res.Touch != TouchHigh {
		t.Errorf("MRR %d ARR %d touch %s", res.MRR, res.ARR, res.Touch)
	}
	if res.Health.Band != BandAtRisk || res.Phase != PhaseOnboarding || res.Onboarded {
		t.Errorf("band %s (%v) phase %s onboarded %v", res.Health.Band, res.Health.Score, res.Phase, res.Onboarded)
	}
	if !reflect.DeepEqual(res.Segments, []string{"APAC", "005X"}) {
		t.Errorf("segments %v", res.Segments)
	}
	got := map[string]string{}
	for _, ti := range res.Tasks {
		got[ti.Rule] = ti.DedupeKey
	}
	want := map[string]string{
		"at_risk_follow_up":     "at_risk_follow_up/salesforce/001A/2026-11",
		"score_drop":            "score_drop/salesforce/001A/2026-11",
		"onboarding_stalled":    "onboarding_stalled/salesforce/001A/once",
		"payment_failed":        "payment_failed/salesforce/001A/2026-11",
		"review_3_months":       "review_3_months/salesforce/001A/once",
		"expansion_opportunity": "expansion_opportunity/salesforce/001A/2026-Q4",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks %v\nwant %v\nproblems %v", got, want, res.Problems)
	}
	for _, ti := range res.Tasks {
		if ti.OwnerID != "005X" || ti.Subject == "" || strings.Contains(ti.Subject+ti.Body, "<no value>") {
			t.Errorf("task %+v", ti)
		}
	}
}
