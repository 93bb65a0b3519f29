package scoring

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Settings holds every knob of the scoring package: how MRR is counted, the
// health model, the touch model, lifecycle phases, KPI targets and segments.
// It is the `scoring:` section of the configuration file. Zero values are
// filled by ApplyDefaults; DefaultSettings returns the documented defaults.
//
// Durations are whole days (`*_days`); money is in major units of the
// reporting currency (e.g. yen with JPY reporting); rates are fractions
// (1.10 means 110%).
type Settings struct {
	Metrics   MetricsSettings   `yaml:"metrics" json:"metrics"`
	Health    HealthSettings    `yaml:"health" json:"health"`
	Touch     TouchSettings     `yaml:"touch" json:"touch"`
	Lifecycle LifecycleSettings `yaml:"lifecycle" json:"lifecycle"`
	// Targets are KPI targets, each reported with met / not met.
	Targets []Target `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Segments names extra CRM account fields (record.Account.Fields keys,
	// or "owner" / "industry") the portfolio is broken down by, in addition
	// to the touch model.
	Segments []string `yaml:"segments,omitempty" json:"segments,omitempty"`
	// Location is the business's time zone (config reporting.timezone; nil:
	// UTC): month boundaries, the as-of day and task due dates follow it.
	Location *time.Location `yaml:"-" json:"-"`
}

// Metric presets: named bundles of MRR rules, so a team can match the tool
// it compares against.
//
//	preset      trials   past_due  unpaid   paused   cancel_at_period_end  discounts     metered
//	healthsync  exclude  include   exclude  exclude  period_end            all           last_period
//	stripe      exclude  include   exclude  exclude  immediately           forever_only  last_period
//	chartmogul  exclude  include   exclude  exclude  period_end            all           last_period
//	profitwell  exclude  include   exclude  exclude  period_end            all           last_period
//
// Stripe's dashboard ends MRR as soon as cancel-at-period-end is set and
// counts only forever coupons; ChartMogul and ProfitWell keep MRR to the end
// of the paid period and subtract every discount. "healthsync" is the default.
const (
	PresetHealthsync = "healthsync"
	PresetStripe     = "stripe"
	PresetChartMogul = "chartmogul"
	PresetProfitWell = "profitwell"
)

// Values of the MRR rules.
const (
	Include = "include"
	Exclude = "exclude"

	CancelAtPeriodEnd = "period_end"  // keep counting until the paid period ends
	CancelImmediately = "immediately" // stop counting when cancel-at-period-end is set

	DiscountsAll         = "all"
	DiscountsForeverOnly = "forever_only"
	DiscountsNone        = "none"

	MeteredLastPeriod = "last_period" // last billed period's usage x price
	MeteredNone       = "none"        // metered prices do not count
)

// MetricsSettings are the MRR counting rules. Each rule left empty takes its
// value from Preset.
type MetricsSettings struct {
	// Preset is healthsync (default), stripe, chartmogul or profitwell.
	Preset string `yaml:"preset,omitempty" json:"preset,omitempty"`
	// Trials: whether trialing subscriptions count (include / exclude).
	Trials string `yaml:"trials,omitempty" json:"trials,omitempty"`
	// PastDue: whether past_due subscriptions count until canceled.
	PastDue string `yaml:"past_due,omitempty" json:"past_due,omitempty"`
	// Unpaid: whether unpaid subscriptions count.
	Unpaid string `yaml:"unpaid,omitempty" json:"unpaid,omitempty"`
	// Paused: whether paused subscriptions count.
	Paused string `yaml:"paused,omitempty" json:"paused,omitempty"`
	// CancelAtPeriodEnd: period_end (count until the period ends) or
	// immediately (stop when the cancellation is requested).
	CancelAtPeriodEnd string `yaml:"cancel_at_period_end,omitempty" json:"cancel_at_period_end,omitempty"`
	// Discounts: all, forever_only or none reduce MRR.
	Discounts string `yaml:"discounts,omitempty" json:"discounts,omitempty"`
	// Metered: last_period or none.
	Metered string `yaml:"metered,omitempty" json:"metered,omitempty"`
	// GrossMargin for LTV, a fraction (default 1.0 = 100%).
	GrossMargin float64 `yaml:"gross_margin,omitempty" json:"gross_margin,omitempty"`
	// HistoryMonths is how many calendar months of MRR history are kept per
	// account (default 24).
	HistoryMonths int `yaml:"history_months,omitempty" json:"history_months,omitempty"`
}

// Missing-data policies of a health model.
const (
	MissingReweight = "reweight" // weights re-normalised over present measures (default)
	MissingNeutral  = "neutral"  // a missing measure scores 50 points of 100
	MissingZero     = "zero"     // a missing measure scores 0
)

// Measure aggregations over a window of signals.
const (
	AggCount     = "count"      // number of observations
	AggSum       = "sum"        // sum of values
	AggAvg       = "avg"        // mean of values
	AggMax       = "max"        // largest value
	AggMin       = "min"        // smallest value
	AggLast      = "last"       // latest value in the window
	AggDaysSince = "days_since" // whole days since the latest observation with a value > 0
)

// Derived measure values computed from billing and CRM data.
const (
	DerivedDaysToRenewal     = "days_to_renewal"     // days until the current period end of the main subscription
	DerivedFailedPayments90d = "failed_payments_90d" // invoices with a failed payment created in the last 90 days
	DerivedMRRTrend          = "mrr_trend"           // (MRR now - MRR 3 months ago) / MRR 3 months ago
	DerivedOpenInvoices      = "open_invoices"       // open invoices past their due date
	DerivedOpenDeals         = "open_deals"          // open CRM deals
	DerivedDaysSinceStart    = "days_since_start"    // days since the first subscription started
	DerivedPlanUsage         = "plan_usage"          // usage signal / plan limit, see Lifecycle.Expansion
)

var derivedNames = []string{DerivedDaysToRenewal, DerivedFailedPayments90d, DerivedMRRTrend,
	DerivedOpenInvoices, DerivedOpenDeals, DerivedDaysSinceStart, DerivedPlanUsage}

// Directions of a measure.
const (
	HigherIsBetter = "higher_is_better"
	LowerIsBetter  = "lower_is_better"
)

// HealthSettings is the weighted health model.
type HealthSettings struct {
	Measures []Measure `yaml:"measures,omitempty" json:"measures,omitempty"`
	// Missing is the missing-data policy: reweight (default), neutral, zero.
	Missing string `yaml:"missing,omitempty" json:"missing,omitempty"`
	// Bands are the score boundaries (defaults: healthy 80, caution 50).
	Bands Bands `yaml:"bands,omitempty" json:"bands,omitempty"`
	// TrendDays: the trend compares with the score this many days ago (30).
	TrendDays int `yaml:"trend_days,omitempty" json:"trend_days,omitempty"`
	// OverrideField is a CRM account field whose non-empty numeric value
	// (0-100) replaces the computed score, shown as an override.
	OverrideField string `yaml:"override_field,omitempty" json:"override_field,omitempty"`
	// Churned is the treatment of an account that had MRR and has none now:
	// freeze (default) keeps the score, band, trend and reasons it had
	// before it churned (the CRM fields are not written again), clear
	// empties them, score scores it like a live customer.
	Churned string `yaml:"churned,omitempty" json:"churned,omitempty"`
	// Prospects is the treatment of an account with no billing subscription
	// or invoice (never a customer): clear (default), freeze or score.
	// Under freeze and clear an account gets no task and its open tasks are
	// closed with a note.
	Prospects string `yaml:"prospects,omitempty" json:"prospects,omitempty"`
}

// Treatments of churned accounts and prospects (HealthSettings.Churned,
// HealthSettings.Prospects).
const (
	InactiveFreeze = "freeze"
	InactiveClear  = "clear"
	InactiveScore  = "score"
)

// Kinds of accounts that are not live customers (Health.Inactive).
const (
	InactiveChurned  = "churned"
	InactiveProspect = "prospect"
)

// Treatment returns the treatment configured for an inactive kind
// (InactiveChurned, InactiveProspect); InactiveScore for anything else.
func (h *HealthSettings) Treatment(kind string) string {
	switch kind {
	case InactiveChurned:
		return h.Churned
	case InactiveProspect:
		return h.Prospects
	}
	return InactiveScore
}

// Bands: a score >= Healthy is healthy, >= Caution is caution, else at risk.
type Bands struct {
	Healthy float64 `yaml:"healthy,omitempty" json:"healthy,omitempty"`
	Caution float64 `yaml:"caution,omitempty" json:"caution,omitempty"`
}

// Band names.
const (
	BandHealthy = "healthy"
	BandCaution = "caution"
	BandAtRisk  = "at_risk"
)

// Measure is one weighted input of the health score. Exactly one of Signal,
// Derived and Field names the value:
//
//   - Signal: a record.Signal metric aggregated over the last WindowDays
//     with Aggregation;
//   - Derived: one of the derived values (days_to_renewal, ...);
//   - Field: a numeric CRM account field (e.g. NPS__c).
//
// The value becomes 0-100 points either linearly between Poor (0 points)
// and Good (100 points), clamped, or, when Steps are given, by the first step
// the value reaches. Worked example: logins summed over 28 days with
// good 12 and poor 0; 9 logins give 75 points; with weight 20 of a total
// weight 100 the measure contributes 15 of the 100 score points and costs 5.
type Measure struct {
	Name        string  `yaml:"name" json:"name"`
	Label       string  `yaml:"label,omitempty" json:"label,omitempty"` // text for reasons, default Name
	Signal      string  `yaml:"signal,omitempty" json:"signal,omitempty"`
	Derived     string  `yaml:"derived,omitempty" json:"derived,omitempty"`
	Field       string  `yaml:"field,omitempty" json:"field,omitempty"`
	Aggregation string  `yaml:"aggregation,omitempty" json:"aggregation,omitempty"` // signals: count, sum, avg, max, min, last, days_since
	WindowDays  int     `yaml:"window_days,omitempty" json:"window_days,omitempty"` // signals: default 30
	Direction   string  `yaml:"direction,omitempty" json:"direction,omitempty"`     // higher_is_better (default) or lower_is_better
	Good        float64 `yaml:"good" json:"good"`
	Poor        float64 `yaml:"poor" json:"poor"`
	Steps       []Step  `yaml:"steps,omitempty" json:"steps,omitempty"`
	Weight      float64 `yaml:"weight" json:"weight"`
}

// Step is a step grade: a value that reaches At (>= for higher-is-better,
// <= for lower-is-better) earns Points (0-100). Steps are checked in order;
// a value reaching none earns 0.
type Step struct {
	At     float64 `yaml:"at" json:"at"`
	Points float64 `yaml:"points" json:"points"`
}

// Touch model names.
const (
	TouchHigh = "high"
	TouchLow  = "low"
	TouchTech = "tech"
)

// TouchSettings assign a touch model by ARR tier.
type TouchSettings struct {
	// Tiers from the highest to the lowest; the first whose MinARR the
	// account's ARR reaches applies. MinARR is in reporting-currency major
	// units a year. Defaults: high >= 10,000,000, low >= 1,000,000, tech.
	Tiers []TouchTier `yaml:"tiers,omitempty" json:"tiers,omitempty"`
	// Escalate names the band that moves an account up one tier
	// (default at_risk; "none" disables).
	Escalate string `yaml:"escalate,omitempty" json:"escalate,omitempty"`
	// Hysteresis, a fraction (default 0.1): an account keeps its previous
	// tier unless its ARR passes the boundary by this share of the boundary.
	// Negative disables it.
	Hysteresis float64 `yaml:"hysteresis,omitempty" json:"hysteresis,omitempty"`
}

// TouchTier is one ARR tier.
type TouchTier struct {
	Name   string  `yaml:"name" json:"name"`
	MinARR float64 `yaml:"min_arr" json:"min_arr"`
}

// Lifecycle phases.
const (
	PhaseOnboarding = "onboarding"
	PhaseAdoption   = "adoption"
	PhaseExpansion  = "expansion"
	PhaseRenewal    = "renewal"
	PhaseChurned    = "churned"
)

// LifecycleSettings decide the lifecycle phase.
type LifecycleSettings struct {
	// OnboardingDays: an account is onboarding until onboarded or this many
	// days after its start (default 90).
	OnboardingDays int `yaml:"onboarding_days,omitempty" json:"onboarding_days,omitempty"`
	// Onboarded is the definition of "onboarded": every criterion must be
	// reached within its days of the start.
	Onboarded []OnboardedCriterion `yaml:"onboarded,omitempty" json:"onboarded,omitempty"`
	// RenewalWindowDays: renewal phase within this many days of the renewal
	// date (default 90).
	RenewalWindowDays int `yaml:"renewal_window_days,omitempty" json:"renewal_window_days,omitempty"`
	// RenewalMinTermMonths: the renewal date is the current period end of
	// the main subscription when its billing term is at least this many
	// months (default 12), so monthly plans have no renewal phase.
	RenewalMinTermMonths int `yaml:"renewal_min_term_months,omitempty" json:"renewal_min_term_months,omitempty"`
	// RenewalDateField is a CRM account field holding the contract renewal
	// date (YYYY-MM-DD or RFC 3339); when set and filled it wins.
	RenewalDateField string `yaml:"renewal_date_field,omitempty" json:"renewal_date_field,omitempty"`
	// Expansion: when a healthy account is in the expansion phase.
	Expansion ExpansionRules `yaml:"expansion,omitempty" json:"expansion,omitempty"`
}

// OnboardedCriterion: the signal, aggregated cumulatively from the start
// (sum, count or max), reaches Min within WithinDays of the start.
// Example: {signal: features_used, aggregation: max, min: 5, within_days: 30}.
type OnboardedCriterion struct {
	Signal      string  `yaml:"signal" json:"signal"`
	Aggregation string  `yaml:"aggregation,omitempty" json:"aggregation,omitempty"` // sum, count, max (default max)
	Min         float64 `yaml:"min" json:"min"`
	WithinDays  int     `yaml:"within_days,omitempty" json:"within_days,omitempty"` // default OnboardingDays
}

// ExpansionRules: a healthy account is in the expansion phase when its plan
// usage reaches PlanUsage or it has an open deal of one of UpsellDealTypes.
type ExpansionRules struct {
	// UsageSignal is the metric compared to the items' plan limit (latest
	// value; default active_users).
	UsageSignal string `yaml:"usage_signal,omitempty" json:"usage_signal,omitempty"`
	// PlanUsage is the usage/limit fraction (default 0.8).
	PlanUsage float64 `yaml:"plan_usage,omitempty" json:"plan_usage,omitempty"`
	// UpsellDealTypes are deal types that count as upsell (default Upsell,
	// Expansion, Cross-sell).
	UpsellDealTypes []string `yaml:"upsell_deal_types,omitempty" json:"upsell_deal_types,omitempty"`
}

// Target is a KPI target. Metric is one of TargetMetrics; Op is ">=" or "<=".
type Target struct {
	Metric string  `yaml:"metric" json:"metric"`
	Op     string  `yaml:"op" json:"op"`
	Value  float64 `yaml:"value" json:"value"`
}

// TargetMetrics are the metrics a target may name: rates are fractions,
// time_to_value in days, logins_per_week and features_used are account
// averages over the latest 7 / 30 days; the playbook KPIs (upsell_rate ...
// churn_signal_detection) are defined in kpi.go.
var TargetMetrics = []string{"nrr", "grr", "crr", "logo_churn", "revenue_churn",
	"onboarding_completion", "time_to_value_days", "logins_per_week", "features_used",
	KPIUpsellRate, KPICrossSellRate, KPIFirstLoginRate, KPIHealthScore, KPIHealthyShare, KPIChurnSignalDetection}

// TaskRule turns an account's computed state into a task intent.
//
// When is an expr-lang/expr boolean expression over RuleEnv (e.g.
// `band == "at_risk"`); Subject and Body are text/template templates over
// the same variables (`{{.account.name}}: health {{.score}}`). The dedupe key
// is rule + account + period, so one task per period at most.
type TaskRule struct {
	Name    string `yaml:"name" json:"name"`
	When    string `yaml:"when" json:"when"`
	Subject string `yaml:"subject" json:"subject"`
	Body    string `yaml:"body,omitempty" json:"body,omitempty"`
	// Owner is "account_owner" (default) or a fixed user or queue ID.
	Owner        string `yaml:"owner,omitempty" json:"owner,omitempty"`
	DueInDays    int    `yaml:"due_in_days,omitempty" json:"due_in_days,omitempty"`
	Priority     string `yaml:"priority,omitempty" json:"priority,omitempty"` // high, normal (default), low
	CooldownDays int    `yaml:"cooldown_days,omitempty" json:"cooldown_days,omitempty"`
	// Period is the dedupe period: day, week, month (default), quarter,
	// year or once (one task per account ever).
	Period string `yaml:"period,omitempty" json:"period,omitempty"`
	// CloseWhenCleared closes the open task when the condition is no longer
	// true.
	CloseWhenCleared bool `yaml:"close_when_cleared,omitempty" json:"close_when_cleared,omitempty"`
}

// Owner and period values of task rules.
const (
	OwnerAccountOwner = "account_owner"

	PeriodDay     = "day"
	PeriodWeek    = "week"
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodYear    = "year"
	PeriodOnce    = "once"
)

// FieldError is one validation problem; Path is the YAML key path relative
// to the section (e.g. "health.measures[2].weight" or "[1].when").
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

type presetRules struct{ trials, pastDue, unpaid, paused, cancel, discounts, metered string }

var presets = map[string]presetRules{
	PresetHealthsync: {Exclude, Include, Exclude, Exclude, CancelAtPeriodEnd, DiscountsAll, MeteredLastPeriod},
	PresetStripe:     {Exclude, Include, Exclude, Exclude, CancelImmediately, DiscountsForeverOnly, MeteredLastPeriod},
	PresetChartMogul: {Exclude, Include, Exclude, Exclude, CancelAtPeriodEnd, DiscountsAll, MeteredLastPeriod},
	PresetProfitWell: {Exclude, Include, Exclude, Exclude, CancelAtPeriodEnd, DiscountsAll, MeteredLastPeriod},
}

// DefaultSettings returns the documented defaults with the healthsync preset.
func DefaultSettings() Settings {
	s := Settings{
		Health: HealthSettings{Measures: DefaultMeasures()},
		Lifecycle: LifecycleSettings{Onboarded: []OnboardedCriterion{
			{Signal: "logins", Aggregation: AggCount, Min: 1, WithinDays: 7},
			{Signal: "features_used", Aggregation: AggMax, Min: 5, WithinDays: 30},
			{Signal: "setup_complete", Aggregation: AggMax, Min: 1, WithinDays: 30},
		}},
		Targets: DefaultTargets(),
	}
	s.ApplyDefaults()
	return s
}

// DefaultMeasures is the default health model (weights total 100).
func DefaultMeasures() []Measure {
	return []Measure{
		{Name: "logins", Label: "logins in 28 days", Signal: "logins", Aggregation: AggSum, WindowDays: 28, Good: 12, Poor: 0, Weight: 20},
		{Name: "active_users", Label: "active users", Signal: "active_users", Aggregation: AggAvg, WindowDays: 30, Good: 10, Poor: 1, Weight: 15},
		{Name: "features_used", Label: "features used", Signal: "features_used", Aggregation: AggMax, WindowDays: 30, Good: 5, Poor: 1, Weight: 15},
		{Name: "tickets_open", Label: "open support tickets", Signal: "tickets_open", Aggregation: AggLast, WindowDays: 30, Direction: LowerIsBetter, Good: 0, Poor: 5, Weight: 10},
		{Name: "nps", Label: "NPS", Signal: "nps", Aggregation: AggLast, WindowDays: 180, Good: 50, Poor: -20, Weight: 10},
		{Name: "failed_payments", Label: "failed payments in 90 days", Derived: DerivedFailedPayments90d, Direction: LowerIsBetter, Good: 0, Poor: 2, Weight: 15},
		{Name: "mrr_trend", Label: "MRR trend over 3 months", Derived: DerivedMRRTrend, Good: 0.05, Poor: -0.10, Weight: 10},
		{Name: "days_to_renewal", Label: "days to renewal", Derived: DerivedDaysToRenewal,
			Steps: []Step{{At: 90, Points: 100}, {At: 30, Points: 70}, {At: 0, Points: 40}}, Weight: 5},
	}
}

// DefaultTargets are the shipped KPI targets.
func DefaultTargets() []Target {
	return []Target{
		{Metric: "nrr", Op: ">=", Value: 1.10},
		{Metric: "logo_churn", Op: "<=", Value: 0.05},
		{Metric: "grr", Op: ">=", Value: 0.95},
		{Metric: "onboarding_completion", Op: ">=", Value: 0.90},
		{Metric: "time_to_value_days", Op: "<=", Value: 30},
		{Metric: "logins_per_week", Op: ">=", Value: 3},
		{Metric: "features_used", Op: ">=", Value: 5},
		{Metric: KPIUpsellRate, Op: ">=", Value: 0.20},
		{Metric: KPICrossSellRate, Op: ">=", Value: 0.10},
		{Metric: KPIFirstLoginRate, Op: ">=", Value: 0.95},
		{Metric: KPIHealthScore, Op: ">=", Value: 80},
		{Metric: KPIHealthyShare, Op: ">=", Value: 0.80},
		{Metric: KPIChurnSignalDetection, Op: ">=", Value: 0.80},
	}
}

// DefaultTaskRules returns the shipped task rules.
func DefaultTaskRules() []TaskRule {
	return []TaskRule{
		{Name: "at_risk_follow_up", When: `band == "at_risk"`,
			Subject:   "At-risk follow-up: {{.account.name}}",
			Body:      "Health {{printf \"%.0f\" .score}} ({{.band}}). Main reasons: {{join .reasons \"; \"}}.",
			DueInDays: 3, Priority: "high", CooldownDays: 30, Period: PeriodMonth, CloseWhenCleared: true},
		{Name: "score_drop", When: `score_change <= -15`,
			Subject:   "Health dropped {{printf \"%.0f\" (neg .score_change)}} points: {{.account.name}}",
			Body:      "Score {{printf \"%.0f\" .previous_score}} -> {{printf \"%.0f\" .score}} in {{.trend_days}} days. {{join .reasons \"; \"}}.",
			DueInDays: 5, Priority: "high", CooldownDays: 30, Period: PeriodMonth},
		{Name: "onboarding_stalled", When: `!onboarded && days_since_start > 30 && phase == "onboarding"`,
			Subject:   "Onboarding not complete after 30 days: {{.account.name}}",
			Body:      "Started {{.days_since_start}} days ago; onboarding criteria not met yet.",
			DueInDays: 5, Priority: "normal", Period: PeriodOnce, CloseWhenCleared: true},
		{Name: "renewal_not_healthy", When: `days_to_renewal >= 0 && days_to_renewal <= 90 && band != "healthy" && mrr > 0`,
			Subject:   "Renewal in {{.days_to_renewal}} days, account {{.band}}: {{.account.name}}",
			Body:      "ARR {{printf \"%.0f\" .arr}}. {{join .reasons \"; \"}}.",
			DueInDays: 7, Priority: "high", Period: PeriodQuarter},
		{Name: "payment_failed", When: `failed_payments_30d > 0`,
			Subject:   "Payment failed: {{.account.name}}",
			Body:      "{{.failed_payments_30d}} failed payment(s) in the last 30 days.",
			DueInDays: 2, Priority: "high", CooldownDays: 14, Period: PeriodMonth, CloseWhenCleared: true},
		{Name: "review_1_month", When: `months_since_start == 1`,
			Subject: "1-month review: {{.account.name}}", DueInDays: 7, Priority: "normal", Period: PeriodOnce},
		{Name: "review_3_months", When: `months_since_start == 3`,
			Subject: "3-month review: {{.account.name}}", DueInDays: 7, Priority: "normal", Period: PeriodOnce},
		{Name: "review_6_months", When: `months_since_start == 6`,
			Subject: "6-month review: {{.account.name}}", DueInDays: 7, Priority: "normal", Period: PeriodOnce},
		{Name: "expansion_opportunity", When: `plan_usage >= 0.8`,
			Subject:   "Expansion: usage at {{printf \"%.0f\" (pct .plan_usage)}}% of plan: {{.account.name}}",
			DueInDays: 14, Priority: "normal", CooldownDays: 90, Period: PeriodQuarter},
	}
}

// ApplyDefaults fills zero values with the defaults and applies the metrics
// preset to every MRR rule left empty.
func (s *Settings) ApplyDefaults() {
	m := &s.Metrics
	if m.Preset == "" {
		m.Preset = PresetHealthsync
	}
	if p, ok := presets[m.Preset]; ok {
		fill(&m.Trials, p.trials)
		fill(&m.PastDue, p.pastDue)
		fill(&m.Unpaid, p.unpaid)
		fill(&m.Paused, p.paused)
		fill(&m.CancelAtPeriodEnd, p.cancel)
		fill(&m.Discounts, p.discounts)
		fill(&m.Metered, p.metered)
	}
	if m.GrossMargin == 0 {
		m.GrossMargin = 1
	}
	if m.HistoryMonths == 0 {
		m.HistoryMonths = 24
	}
	h := &s.Health
	fill(&h.Missing, MissingReweight)
	fill(&h.Churned, InactiveFreeze)
	fill(&h.Prospects, InactiveClear)
	if h.Bands.Healthy == 0 {
		h.Bands.Healthy = 80
	}
	if h.Bands.Caution == 0 {
		h.Bands.Caution = 50
	}
	if h.TrendDays == 0 {
		h.TrendDays = 30
	}
	for i := range h.Measures {
		ms := &h.Measures[i]
		fill(&ms.Direction, HigherIsBetter)
		if ms.Signal != "" {
			fill(&ms.Aggregation, AggLast)
			if ms.WindowDays == 0 {
				ms.WindowDays = 30
			}
		}
		fill(&ms.Label, ms.Name)
	}
	t := &s.Touch
	if len(t.Tiers) == 0 {
		t.Tiers = []TouchTier{{TouchHigh, 10_000_000}, {TouchLow, 1_000_000}, {TouchTech, 0}}
	}
	fill(&t.Escalate, BandAtRisk)
	if t.Hysteresis == 0 {
		t.Hysteresis = 0.1
	}
	l := &s.Lifecycle
	if l.OnboardingDays == 0 {
		l.OnboardingDays = 90
	}
	if l.RenewalWindowDays == 0 {
		l.RenewalWindowDays = 90
	}
	if l.RenewalMinTermMonths == 0 {
		l.RenewalMinTermMonths = 12
	}
	for i := range l.Onboarded {
		fill(&l.Onboarded[i].Aggregation, AggMax)
		if l.Onboarded[i].WithinDays == 0 {
			l.Onboarded[i].WithinDays = l.OnboardingDays
		}
	}
	fill(&l.Expansion.UsageSignal, "active_users")
	if l.Expansion.PlanUsage == 0 {
		l.Expansion.PlanUsage = 0.8
	}
	if l.Expansion.UpsellDealTypes == nil {
		l.Expansion.UpsellDealTypes = []string{"Upsell", "Expansion", "Cross-sell"}
	}
}

func fill(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// Validate reports every problem of s (after ApplyDefaults) at once, with
// paths relative to the scoring section.
func (s Settings) Validate() []FieldError {
	var errs []FieldError
	add := func(path, format string, a ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, a...)})
	}
	oneOf := func(path, v string, allowed ...string) {
		if v == "" {
			return
		}
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		add(path, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
	}
	m := s.Metrics
	if _, ok := presets[m.Preset]; !ok && m.Preset != "" {
		add("metrics.preset", "unknown preset %q (healthsync, stripe, chartmogul, profitwell)", m.Preset)
	}
	oneOf("metrics.trials", m.Trials, Include, Exclude)
	oneOf("metrics.past_due", m.PastDue, Include, Exclude)
	oneOf("metrics.unpaid", m.Unpaid, Include, Exclude)
	oneOf("metrics.paused", m.Paused, Include, Exclude)
	oneOf("metrics.cancel_at_period_end", m.CancelAtPeriodEnd, CancelAtPeriodEnd, CancelImmediately)
	oneOf("metrics.discounts", m.Discounts, DiscountsAll, DiscountsForeverOnly, DiscountsNone)
	oneOf("metrics.metered", m.Metered, MeteredLastPeriod, MeteredNone)
	if m.GrossMargin < 0 || m.GrossMargin > 1 {
		add("metrics.gross_margin", "must be a fraction between 0 and 1, not %g", m.GrossMargin)
	}
	if m.HistoryMonths < 0 || m.HistoryMonths > 240 {
		add("metrics.history_months", "must be between 1 and 240, not %d", m.HistoryMonths)
	}

	h := s.Health
	oneOf("health.missing", h.Missing, MissingReweight, MissingNeutral, MissingZero)
	oneOf("health.churned", h.Churned, InactiveFreeze, InactiveClear, InactiveScore)
	oneOf("health.prospects", h.Prospects, InactiveFreeze, InactiveClear, InactiveScore)
	if h.Bands.Healthy < 0 || h.Bands.Healthy > 100 {
		add("health.bands.healthy", "must be between 0 and 100, not %g", h.Bands.Healthy)
	}
	if h.Bands.Caution < 0 || h.Bands.Caution > 100 {
		add("health.bands.caution", "must be between 0 and 100, not %g", h.Bands.Caution)
	}
	if h.Bands.Healthy != 0 && h.Bands.Caution != 0 && h.Bands.Caution >= h.Bands.Healthy {
		add("health.bands.caution", "must be below healthy (%g), not %g", h.Bands.Healthy, h.Bands.Caution)
	}
	if h.TrendDays < 0 {
		add("health.trend_days", "must not be negative")
	}
	names := map[string]int{}
	for i, ms := range h.Measures {
		p := fmt.Sprintf("health.measures[%d]", i)
		if ms.Name == "" {
			add(p+".name", "is required")
		} else if j, dup := names[ms.Name]; dup {
			add(p+".name", "duplicate measure %q (also measures[%d])", ms.Name, j)
		} else {
			names[ms.Name] = i
		}
		sources := 0
		for _, v := range []string{ms.Signal, ms.Derived, ms.Field} {
			if v != "" {
				sources++
			}
		}
		if sources != 1 {
			add(p, "needs exactly one of signal, derived or field")
		}
		if ms.Derived != "" {
			oneOf(p+".derived", ms.Derived, derivedNames...)
		}
		if ms.Signal != "" {
			oneOf(p+".aggregation", ms.Aggregation, AggCount, AggSum, AggAvg, AggMax, AggMin, AggLast, AggDaysSince)
			if ms.WindowDays < 0 {
				add(p+".window_days", "must be positive")
			}
		} else if ms.Aggregation != "" {
			add(p+".aggregation", "applies to signal measures only")
		}
		oneOf(p+".direction", ms.Direction, HigherIsBetter, LowerIsBetter)
		if !(ms.Weight > 0) || math.IsInf(ms.Weight, 0) {
			add(p+".weight", "must be positive, not %g", ms.Weight)
		}
		if len(ms.Steps) == 0 {
			switch {
			case ms.Good == ms.Poor:
				add(p+".good", "good and poor must differ (or give steps)")
			case ms.Direction == LowerIsBetter && ms.Good > ms.Poor:
				add(p+".good", "must be below poor (%g) for lower_is_better", ms.Poor)
			case ms.Direction != LowerIsBetter && ms.Good < ms.Poor:
				add(p+".good", "must be above poor (%g) for higher_is_better", ms.Poor)
			}
		}
		for j, st := range ms.Steps {
			sp := fmt.Sprintf("%s.steps[%d]", p, j)
			if st.Points < 0 || st.Points > 100 {
				add(sp+".points", "must be between 0 and 100, not %g", st.Points)
			}
			if j > 0 {
				prev := ms.Steps[j-1].At
				if (ms.Direction == LowerIsBetter && st.At <= prev) || (ms.Direction != LowerIsBetter && st.At >= prev) {
					add(sp+".at", "steps must be ordered from the best value to the worst")
				}
			}
		}
	}

	t := s.Touch
	tiers := map[string]bool{}
	for i, tr := range t.Tiers {
		p := fmt.Sprintf("touch.tiers[%d]", i)
		if tr.Name == "" {
			add(p+".name", "is required")
		} else if tiers[tr.Name] {
			add(p+".name", "duplicate tier %q", tr.Name)
		}
		tiers[tr.Name] = true
		if tr.MinARR < 0 {
			add(p+".min_arr", "must not be negative")
		}
		if i > 0 && tr.MinARR >= t.Tiers[i-1].MinARR {
			add(p+".min_arr", "tiers must be ordered by decreasing min_arr")
		}
	}
	if n := len(t.Tiers); n > 0 && t.Tiers[n-1].MinARR != 0 {
		add(fmt.Sprintf("touch.tiers[%d].min_arr", n-1), "the last tier must start at 0")
	}
	oneOf("touch.escalate", t.Escalate, BandAtRisk, BandCaution, "none")
	if t.Hysteresis >= 1 {
		add("touch.hysteresis", "must be a fraction below 1, not %g", t.Hysteresis)
	}

	l := s.Lifecycle
	if l.OnboardingDays < 0 {
		add("lifecycle.onboarding_days", "must be positive")
	}
	if l.RenewalWindowDays < 0 {
		add("lifecycle.renewal_window_days", "must be positive")
	}
	if l.RenewalMinTermMonths < 0 {
		add("lifecycle.renewal_min_term_months", "must be positive")
	}
	for i, c := range l.Onboarded {
		p := fmt.Sprintf("lifecycle.onboarded[%d]", i)
		if c.Signal == "" {
			add(p+".signal", "is required")
		}
		oneOf(p+".aggregation", c.Aggregation, AggSum, AggCount, AggMax)
		if c.WithinDays < 0 {
			add(p+".within_days", "must be positive")
		}
	}
	if l.Expansion.PlanUsage < 0 {
		add("lifecycle.expansion.plan_usage", "must be a positive fraction")
	}

	for i, tg := range s.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		oneOf(p+".metric", tg.Metric, TargetMetrics...)
		if tg.Metric == "" {
			add(p+".metric", "is required")
		}
		if tg.Op != ">=" && tg.Op != "<=" {
			add(p+".op", "must be \">=\" or \"<=\", not %q", tg.Op)
		}
	}
	for i, seg := range s.Segments {
		if strings.TrimSpace(seg) == "" {
			add(fmt.Sprintf("segments[%d]", i), "must name a CRM field")
		}
	}
	return errs
}
