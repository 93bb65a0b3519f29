package daemon

import (
	"github.com/healthsync/healthsync/scoring"
)

// usedSignals are the signal metrics scoring reads: each health measure's
// signal, the onboarding criteria, the expansion usage signal, and logins and
// features_used (the KPI targets' logins_per_week and features_used; see
// AccountResult.LoginsPerWeek). Task rules read the account's computed
// values, not signals.
func usedSignals(s *scoring.Settings) map[string]bool {
	used := map[string]bool{"logins": true, "features_used": true}
	for _, m := range s.Health.Measures {
		if m.Signal != "" {
			used[m.Signal] = true
		}
	}
	for _, c := range s.Lifecycle.Onboarded {
		if c.Signal != "" {
			used[c.Signal] = true
		}
	}
	if u := s.Lifecycle.Expansion.UsageSignal; u != "" {
		used[u] = true
	}
	return used
}
