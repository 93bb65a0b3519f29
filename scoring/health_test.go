package scoring

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

func sig(metric string, t time.Time, v float64) record.Signal {
	return record.Signal{Metric: metric, Time: t, Value: v}
}

func TestAggregateSignals(t *testing.T) {
	asOf := date(2026, 11, 20)
	signals := []record.Signal{
		sig("logins", asOf.AddDate(0, 0, -1), 2), sig("logins", asOf.AddDate(0, 0, -3), 1),
		sig("logins", asOf.AddDate(0, 0, -40), 5), sig("nps", asOf.AddDate(0, 0, -2), 30),
	}
	tests := []struct {
		agg, metric string
		want        float64
	}{
		{AggCount, "logins", 2}, {AggSum, "logins", 3}, {AggAvg, "logins", 1.5}, {AggLast, "logins", 2},
		{AggMax, "logins", 2}, {AggMin, "logins", 1}, {AggDaysSince, "logins", 1},
		{AggSum, "tickets_open", math.NaN()}, {AggLast, "tickets_open", math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.agg+"/"+tc.metric, func(t *testing.T) {
			got := aggregateSignals(signals, tc.metric, tc.agg, 28, asOf)
			if !(got == tc.want || (math.IsNaN(got) && math.IsNaN(tc.want))) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := aggregateSignals(signals, "nps", AggSum, 1, asOf); got != 0 {
		t.Errorf("a metric with data outside the window sums to 0, got %v", got)
	}
}

func TestHealthMissingPolicies(t *testing.T) {
	// logins 75 points (w 20), NPS 40 points (w 10), tickets missing (w 10).
	measures := []Measure{
		{Name: "logins", Label: "logins in 28 days", Signal: "logins", Aggregation: AggSum, WindowDays: 28, Good: 12, Poor: 0, Weight: 20},
		{Name: "nps", Label: "NPS", Signal: "nps", Aggregation: AggLast, WindowDays: 180, Good: 50, Poor: -20, Weight: 10},
		{Name: "tickets", Label: "open tickets", Signal: "tickets_open", Aggregation: AggLast, WindowDays: 30, Direction: LowerIsBetter, Good: 0, Poor: 5, Weight: 10},
	}
	asOf := date(2026, 11, 20)
	in := AccountInput{Signals: []record.Signal{sig("logins", asOf.AddDate(0, 0, -2), 9), sig("nps", asOf.AddDate(0, 0, -5), 8)}}
	tests := []struct {
		policy string
		score  float64
		band   string
	}{
		{MissingReweight, 63.3, BandCaution},
		{MissingNeutral, 60, BandCaution},
		{MissingZero, 47.5, BandAtRisk},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			s := Settings{Health: HealthSettings{Measures: measures, Missing: tc.policy}}
			s.ApplyDefaults()
			var sx signalIndex
			sx.build(in.Signals, signalNames(&s))
			h := scoreHealth(&s.Health, &in, &sx, &derivedValues{}, asOf)
			if h.Score != tc.score || h.Band != tc.band {
				t.Errorf("score %v %s, want %v %s", h.Score, h.Band, tc.score, tc.band)
			}
			if !reflect.DeepEqual(h.Missing, []string{"tickets"}) {
				t.Errorf("missing %v", h.Missing)
			}
			if h.Measures[0].Points != 75 || h.Measures[1].Points != 40 {
				t.Errorf("points %+v", h.Measures)
			}
		})
	}
}

func TestHealthReasonsOverrideTrend(t *testing.T) {
	asOf := date(2026, 11, 20)
	s := DefaultSettings()
	s.Health.OverrideField = "Health_Override__c"
	in := AccountInput{
		Signals: []record.Signal{
			sig("logins", asOf.AddDate(0, 0, -2), 3), sig("active_users", asOf.AddDate(0, 0, -1), 10),
			sig("features_used", asOf.AddDate(0, 0, -1), 5), sig("tickets_open", asOf.AddDate(0, 0, -1), 4),
			sig("nps", asOf.AddDate(0, 0, -10), 50),
		},
		ScoreHistory: []ScorePoint{{Time: asOf.AddDate(0, 0, -45), Score: 90}, {Time: asOf.AddDate(0, 0, -31), Score: 85}, {Time: asOf.AddDate(0, 0, -2), Score: 60}},
	}
	dv := derivedValues{failed90: 2, mrrTrend: 0.05, daysToRenewal: math.NaN()}
	var sx signalIndex
	sx.build(in.Signals, signalNames(&s))
	h := scoreHealth(&s.Health, &in, &sx, &dv, asOf)
	// Present weight 95 (days to renewal missing): logins 25 pts x 20,
	// tickets 20 x 10, failed payments 0 x 15, the rest 100: 5700 / 95 = 60.
	// Lost: logins 75x20/95 = 15.8, failed payments 15.8, tickets 8.4.
	want := []string{
		"logins in 28 days: 3 (good 12 or more), -16 pts",
		"failed payments in 90 days: 2 (good 0 or less), -16 pts",
		"open support tickets: 4 (good 0 or less), -8 pts",
	}
	if !reflect.DeepEqual(h.Reasons, want) {
		t.Errorf("reasons\n%q\nwant\n%q", h.Reasons, want)
	}
	if h.Score != 60 || h.Band != BandCaution || h.Override {
		t.Errorf("score %v band %s", h.Score, h.Band)
	}
	if !h.TrendKnown || h.PreviousScore != 85 || h.Trend != -25 {
		t.Errorf("trend %v from %v", h.Trend, h.PreviousScore)
	}
	in.Account.Fields = map[string]any{"Health_Override__c": "95"}
	h = scoreHealth(&s.Health, &in, &sx, &dv, asOf)
	if !h.Override || h.Score != 95 || h.ComputedScore != 60 || h.Band != BandHealthy || h.Reasons[0] != "score set manually in the CRM" {
		t.Errorf("override %+v", h)
	}
}

func TestMeasurePoints(t *testing.T) {
	steps := Measure{Steps: []Step{{At: 90, Points: 100}, {At: 30, Points: 70}, {At: 0, Points: 40}}}
	lower := Measure{Direction: LowerIsBetter, Good: 0, Poor: 5}
	tests := []struct {
		name string
		m    Measure
		v    float64
		want float64
	}{
		{"linear middle", Measure{Good: 12, Poor: 0}, 9, 75},
		{"linear clamped high", Measure{Good: 12, Poor: 0}, 30, 100},
		{"linear clamped low", Measure{Good: 12, Poor: 2}, 0, 0},
		{"lower is better", lower, 2, 60},
		{"steps 45 days", steps, 45, 70},
		{"steps 120 days", steps, 120, 100},
		{"steps below all", steps, -3, 0},
		{"lower steps", Measure{Direction: LowerIsBetter, Steps: []Step{{At: 0, Points: 100}, {At: 2, Points: 50}}}, 1, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := measurePoints(&tc.m, tc.v); got != tc.want {
				t.Errorf("points %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTouchFor(t *testing.T) {
	s := DefaultSettings()
	tests := []struct {
		name       string
		arr        float64
		prev, band string
		base, want string
	}{
		{"high", 12_000_000, "", BandHealthy, TouchHigh, TouchHigh},
		{"low", 1_000_000, "", BandHealthy, TouchLow, TouchLow},
		{"tech", 999_999, "", BandHealthy, TouchTech, TouchTech},
		{"hysteresis keeps low just above the boundary", 10_500_000, TouchLow, BandHealthy, TouchLow, TouchLow},
		{"low moves up past the band", 11_000_000, TouchLow, BandHealthy, TouchHigh, TouchHigh},
		{"hysteresis keeps high just below", 9_500_000, TouchHigh, BandHealthy, TouchHigh, TouchHigh},
		{"high moves down past the band", 8_900_000, TouchHigh, BandHealthy, TouchLow, TouchLow},
		{"at risk escalates one tier", 500_000, "", BandAtRisk, TouchTech, TouchLow},
		{"at risk high stays high", 20_000_000, "", BandAtRisk, TouchHigh, TouchHigh},
		{"caution does not escalate", 500_000, "", BandCaution, TouchTech, TouchTech},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, got := TouchFor(tc.arr, tc.prev, tc.band, &s.Touch)
			if base != tc.base || got != tc.want {
				t.Errorf("TouchFor = %s, %s; want %s, %s", base, got, tc.base, tc.want)
			}
		})
	}
	s.Touch.Hysteresis = -1
	if base, _ := TouchFor(10_500_000, TouchLow, BandHealthy, &s.Touch); base != TouchHigh {
		t.Errorf("negative hysteresis disables it, got %s", base)
	}
}

func TestOnboardedAt(t *testing.T) {
	start := date(2026, 1, 1)
	crit := []OnboardedCriterion{
		{Signal: "logins", Aggregation: AggCount, Min: 1, WithinDays: 7},
		{Signal: "features_used", Aggregation: AggMax, Min: 5, WithinDays: 30},
	}
	tests := []struct {
		name    string
		signals []record.Signal
		want    time.Time
		ok      bool
	}{
		{"worked example", []record.Signal{sig("features_used", date(2026, 1, 12), 5), sig("logins", date(2026, 1, 2), 1), sig("features_used", date(2026, 1, 5), 3)}, date(2026, 1, 12), true},
		{"login too late", []record.Signal{sig("logins", date(2026, 1, 9), 1), sig("features_used", date(2026, 1, 5), 6)}, time.Time{}, false},
		{"features never reach 5", []record.Signal{sig("logins", date(2026, 1, 2), 1), sig("features_used", date(2026, 1, 5), 4)}, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var scratch []record.Signal
			got, ok := onboardedAt(tc.signals, start, crit, &scratch)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("onboardedAt = %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPhaseFor(t *testing.T) {
	l := DefaultSettings().Lifecycle
	tests := []struct {
		name          string
		mrr           int64
		had, onb      bool
		days, renewal int
		band          string
		usage         float64
		upsell        bool
		want          string
	}{
		{"churned", 0, true, true, 400, -1, BandAtRisk, 0, false, PhaseChurned},
		{"onboarding", 1000, true, false, 20, -1, BandHealthy, 0, false, PhaseOnboarding},
		{"onboarding window over", 1000, true, false, 120, -1, BandHealthy, 0, false, PhaseAdoption},
		{"renewal", 1000, true, true, 300, 60, BandCaution, 0, false, PhaseRenewal},
		{"expansion by usage", 1000, true, true, 200, 200, BandHealthy, 0.85, false, PhaseExpansion},
		{"expansion by upsell deal", 1000, true, true, 200, -1, BandHealthy, 0, true, PhaseExpansion},
		{"not healthy is adoption", 1000, true, true, 200, -1, BandCaution, 0.9, true, PhaseAdoption},
		{"adoption", 1000, true, true, 200, 200, BandHealthy, 0.5, false, PhaseAdoption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := phaseFor(&l, tc.mrr, tc.had, tc.onb, tc.days, tc.renewal, tc.band, tc.usage, tc.upsell); got != tc.want {
				t.Errorf("phase %s, want %s", got, tc.want)
			}
		})
	}
}
