package scoring

// TouchFor assigns the touch model from ARR in reporting-currency major
// units a year, the previous base tier (for hysteresis) and the health band
// (for escalation). It returns the base tier (store it as the next run's
// previous tier) and the tier after escalation.
//
// Tiers are checked from the highest: the first whose MinARR the ARR reaches
// applies. Hysteresis h keeps the previous tier while the ARR stays within
// its range widened by h on both sides: with the defaults (high >= 10M, low
// >= 1M, h = 0.1) a low-touch account moves up only at 11M and a high-touch
// account moves down only below 9M. Escalation moves an account whose band
// is the escalate band (default at_risk) one tier up: an at-risk tech-touch
// account becomes low touch.
func TouchFor(arrMajor float64, previous, band string, t *TouchSettings) (base, touch string) {
	if len(t.Tiers) == 0 {
		return "", ""
	}
	idx := len(t.Tiers) - 1
	for i, tr := range t.Tiers {
		if arrMajor >= tr.MinARR {
			idx = i
			break
		}
	}
	if t.Hysteresis > 0 && previous != "" {
		for p, tr := range t.Tiers {
			if tr.Name != previous || p == idx {
				continue
			}
			lower := tr.MinARR * (1 - t.Hysteresis)
			inRange := arrMajor >= lower || p == len(t.Tiers)-1
			if p > 0 {
				upper := t.Tiers[p-1].MinARR * (1 + t.Hysteresis)
				inRange = inRange && arrMajor < upper
			}
			if inRange {
				idx = p
			}
		}
	}
	base = t.Tiers[idx].Name
	if t.Escalate != "" && t.Escalate != "none" && band == t.Escalate && idx > 0 {
		idx--
	}
	return base, t.Tiers[idx].Name
}
