package scoring

import (
	"math"
	"sort"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// onboardedAt evaluates the "onboarded" definition: each criterion's signal,
// aggregated cumulatively from start (sum, count or max), must reach Min no
// later than WithinDays after start. The account is onboarded at the time
// the last criterion was reached; ok is false when a criterion was not
// reached in time. With no criteria an account is onboarded at start.
//
// Worked example: start 2026-01-01, criteria logins count >= 1 within 7
// days and features_used max >= 5 within 30 days; a login on 01-02 and
// features_used 3 on 01-05 then 5 on 01-12: onboarded 2026-01-12, time to
// value 11 days.
func onboardedAt(signals []record.Signal, start time.Time, crit []OnboardedCriterion, scratch *[]record.Signal) (time.Time, bool) {
	if len(crit) == 0 {
		return start, true
	}
	var at time.Time
	for _, c := range crit {
		deadline := start.Add(time.Duration(c.WithinDays) * 24 * time.Hour)
		sel := (*scratch)[:0]
		for i := range signals {
			s := &signals[i]
			if s.Metric == c.Signal && !s.Time.Before(start) && !s.Time.After(deadline) {
				sel = append(sel, *s)
			}
		}
		if !sort.SliceIsSorted(sel, func(a, b int) bool { return sel[a].Time.Before(sel[b].Time) }) {
			sort.SliceStable(sel, func(a, b int) bool { return sel[a].Time.Before(sel[b].Time) })
		}
		*scratch = sel
		var acc float64
		reached := time.Time{}
		for i := range sel {
			switch c.Aggregation {
			case AggSum:
				acc += sel[i].Value
			case AggCount:
				acc++
			default:
				acc = math.Max(acc, sel[i].Value)
			}
			if acc >= c.Min {
				reached = sel[i].Time
				break
			}
		}
		if reached.IsZero() {
			return time.Time{}, false
		}
		if reached.After(at) {
			at = reached
		}
	}
	return at, true
}

// phaseFor decides the lifecycle phase, first match wins:
//
//  1. churned: no MRR now and the account had MRR before;
//  2. onboarding: not onboarded and started less than OnboardingDays ago
//     (an account that never paid and has no start is onboarding too);
//  3. renewal: the renewal date is within RenewalWindowDays;
//  4. expansion: healthy and plan usage >= PlanUsage or an open upsell deal;
//  5. adoption otherwise.
func phaseFor(l *LifecycleSettings, mrr int64, hadMRR, onboarded bool, daysSinceStart, daysToRenewal int, band string, planUsage float64, openUpsell bool) string {
	switch {
	case mrr == 0 && hadMRR:
		return PhaseChurned
	case !onboarded && daysSinceStart < l.OnboardingDays:
		return PhaseOnboarding
	case daysToRenewal >= 0 && daysToRenewal <= l.RenewalWindowDays:
		return PhaseRenewal
	case band == BandHealthy && ((planUsage > 0 && planUsage >= l.Expansion.PlanUsage) || openUpsell):
		return PhaseExpansion
	}
	return PhaseAdoption
}
