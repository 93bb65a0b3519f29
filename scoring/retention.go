package scoring

import (
	"math"
	"sort"
	"time"
)

// PortfolioMonth is the portfolio's movements and customers in a month.
type PortfolioMonth struct {
	Month Month `json:"month"`
	Movements
	Customers        int `json:"customers"`         // accounts with MRR > 0 at the month's end
	NewCustomers     int `json:"new_customers"`     // new or reactivated this month
	ChurnedCustomers int `json:"churned_customers"` // churned this month
}

// Retention holds the portfolio metrics of a period. Money in reporting
// minor units; rates as fractions.
type Retention struct {
	From Month `json:"from"`
	To   Month `json:"to"`
	// MRRStart is the MRR at the end of the month before From; MRR at the
	// end of To; ARR = 12 x MRR.
	MRRStart int64 `json:"mrr_start"`
	MRR      int64 `json:"mrr"`
	ARR      int64 `json:"arr"`
	// CustomersStart and Customers: accounts with MRR > 0 at the start and
	// at the end; NewCustomers: customers at the end that were not at the
	// start.
	CustomersStart int `json:"customers_start"`
	Customers      int `json:"customers"`
	NewCustomers   int `json:"new_customers"`
	// Movements of the period (sums of the months).
	Movements Movements `json:"movements"`
	// NRR = (start MRR + expansion - contraction - churn) / start MRR, over
	// the accounts that were customers at the start (their reactivations
	// count as expansion); equivalently their end MRR / their start MRR.
	NRR float64 `json:"nrr"`
	// GRR = sum over start customers of min(end MRR, start MRR) / start MRR:
	// without expansion, capped at 100%.
	GRR float64 `json:"grr"`
	// CRR = (customers at end - new customers) / customers at start.
	CRR float64 `json:"crr"`
	// LogoChurn = start customers without MRR at the end / customers at start.
	LogoChurn float64 `json:"logo_churn"`
	// RevenueChurn = (contraction + churn of start customers) / start MRR
	// (gross revenue churn over the period; 1 - GRR).
	RevenueChurn float64 `json:"revenue_churn"`
	// RevenueChurnMonthly is the mean monthly revenue churn of the period:
	// sum of monthly contraction + churn / sum of monthly start MRR.
	RevenueChurnMonthly float64 `json:"revenue_churn_monthly"`
	// ARPA = MRR / customers at the end (reporting minor units a month).
	ARPA int64 `json:"arpa"`
	// LTV = ARPA x gross margin / monthly revenue churn rate, in reporting
	// minor units. The average-lifetime form is ARPA x margin x lifetime in
	// months, with lifetime = 1 / monthly churn rate; the two agree when
	// churn is measured the same way. LTVUnbounded is true when there was
	// no revenue churn (LTV is then 0).
	LTV          int64 `json:"ltv"`
	LTVUnbounded bool  `json:"ltv_unbounded,omitempty"`
}

// Segment is the retention of the accounts sharing a value of a dimension
// (touch, owner, or a CRM field).
type Segment struct {
	Dimension string `json:"dimension"`
	Value     string `json:"value"`
	Retention
}

// CohortRow is one start-month cohort: the accounts whose first month with
// MRR is Start. Logo[k] and Revenue[k] are the share of the cohort's
// accounts with MRR and the cohort's MRR relative to its first month, k
// months after Start (Logo[0] = Revenue[0] = 1).
type CohortRow struct {
	Start    Month     `json:"start"`
	Accounts int       `json:"accounts"`
	MRR      int64     `json:"mrr"` // the cohort's MRR in its first month
	Logo     []float64 `json:"logo"`
	Revenue  []float64 `json:"revenue"`
}

// TargetStatus is a KPI target with its value.
type TargetStatus struct {
	Target
	Actual float64 `json:"actual"`
	Known  bool    `json:"known"` // false when there is no data to judge
	Met    bool    `json:"met"`
}

// PortfolioResult is the portfolio view of a period.
type PortfolioResult struct {
	Retention
	Months   []PortfolioMonth `json:"months"`
	Segments []Segment        `json:"segments"`
	Cohorts  []CohortRow      `json:"cohorts"`
	// OnboardingCompletion is the share of accounts that started in the
	// period and were due to be onboarded by its end (started at least
	// OnboardingDays before, or already onboarded) that were onboarded
	// within the definition's days. MedianTimeToValueDays is over those
	// onboarded (-1 when none).
	OnboardingEligible    int            `json:"onboarding_eligible"`
	OnboardingCompletion  float64        `json:"onboarding_completion"`
	MedianTimeToValueDays float64        `json:"median_time_to_value_days"`
	LoginsPerWeek         float64        `json:"logins_per_week"` // mean over accounts with data
	FeaturesUsed          float64        `json:"features_used"`   // mean over accounts with data
	Playbook              PlaybookKPIs   `json:"playbook"`
	Targets               []TargetStatus `json:"targets"`
}

// retAcc accumulates a Retention over a set of accounts.
type retAcc struct {
	r                    Retention
	retained             int64 // sum of end MRR of start customers
	grrNum               int64
	lostStart            int // start customers with no end MRR
	monthlyLost, monthly int64
}

func (a *retAcc) add(ar *AccountResult, fi, ti int) {
	start := ar.PrevMRR
	if fi > 0 {
		start = ar.Months[fi-1].MRR
	}
	end := ar.Months[ti].MRR
	a.r.MRRStart += start
	a.r.MRR += end
	if start > 0 {
		a.r.CustomersStart++
		a.retained += end
		a.grrNum += min(start, end)
		if end == 0 {
			a.lostStart++
		}
	}
	if end > 0 {
		a.r.Customers++
		if start == 0 {
			a.r.NewCustomers++
		}
	}
	prev := start
	for i := fi; i <= ti; i++ {
		m := &ar.Months[i]
		a.r.Movements.add(prev, m)
		a.monthly += prev
		if m.Kind == MoveChurn || m.Kind == MoveContraction {
			a.monthlyLost -= m.Delta
		}
		prev = m.MRR
	}
}

func (a *retAcc) finish(margin float64) Retention {
	r := a.r
	r.Movements.MRRStart, r.Movements.MRREnd = r.MRRStart, r.MRR
	r.ARR = 12 * r.MRR
	if r.MRRStart > 0 {
		r.NRR = float64(a.retained) / float64(r.MRRStart)
		r.GRR = math.Min(1, float64(a.grrNum)/float64(r.MRRStart))
		r.RevenueChurn = 1 - r.GRR
	}
	if r.CustomersStart > 0 {
		r.CRR = float64(r.Customers-r.NewCustomers) / float64(r.CustomersStart)
		r.LogoChurn = float64(a.lostStart) / float64(r.CustomersStart)
	}
	if r.Customers > 0 {
		r.ARPA = r.MRR / int64(r.Customers)
	}
	if a.monthly > 0 {
		r.RevenueChurnMonthly = float64(a.monthlyLost) / float64(a.monthly)
	}
	if r.RevenueChurnMonthly > 0 {
		r.LTV = roundInt(float64(r.ARPA) * margin / r.RevenueChurnMonthly)
	} else if r.ARPA > 0 {
		r.LTVUnbounded = true
	}
	return r
}

// Portfolio computes the portfolio metrics of the months from..to
// (inclusive) over the accounts' results, which must share an as-of month
// and have series covering from-1..to. Segments are by touch model and by
// each of s.Segments.
//
// Worked example: two accounts with 100,000 and 50,000 JPY at the start of
// the period; the first grows to 120,000 and the second churns; a third
// starts at 30,000. MRR 150,000 -> 150,000; NRR = (150,000 + 20,000 - 50,000)
// / 150,000 = 80%; GRR = (100,000 + 0) / 150,000 = 66.7%; CRR = (2 - 1) / 2
// = 50%; logo churn 50%; ARPA 75,000.
func Portfolio(accounts []AccountResult, from, to Month, s Settings) PortfolioResult {
	var out PortfolioResult
	if len(accounts) == 0 || to < from {
		out.From, out.To = from, to
		out.MedianTimeToValueDays = -1
		out.Targets = targetStatuses(s.Targets, &out, false)
		return out
	}
	first := accounts[0].Months[0].Month
	fi, ti := int(from-first), int(to-first)
	if fi < 0 {
		fi = 0
	}
	if ti >= len(accounts[0].Months) {
		ti = len(accounts[0].Months) - 1
	}
	if ti < fi {
		ti = fi
	}
	nm := ti - fi + 1
	out.Months = make([]PortfolioMonth, nm)
	for k := range out.Months {
		out.Months[k].Month = first + Month(fi+k)
	}
	var total retAcc
	type segKey struct{ dim, val string }
	segIdx := map[segKey]int{}
	var segAccs []retAcc
	var segKeys []segKey
	addSeg := func(k segKey, ar *AccountResult) {
		i, ok := segIdx[k]
		if !ok {
			i = len(segAccs)
			segIdx[k] = i
			segAccs = append(segAccs, retAcc{})
			segKeys = append(segKeys, k)
		}
		segAccs[i].add(ar, fi, ti)
	}
	cohorts := map[Month]*CohortRow{}
	var ttv []float64
	var logins, features float64
	var nLogins, nFeatures int
	periodEnd := to.EndIn(s.Location)
	for ai := range accounts {
		ar := &accounts[ai]
		if len(ar.Months) <= ti || ar.Months[0].Month != first {
			continue
		}
		total.add(ar, fi, ti)
		addSeg(segKey{"touch", segmentTouch(ar, fi, ti, &s.Touch)}, ar)
		for i, dim := range s.Segments {
			if i < len(ar.Segments) {
				addSeg(segKey{dim, ar.Segments[i]}, ar)
			}
		}
		prev := ar.PrevMRR
		if fi > 0 {
			prev = ar.Months[fi-1].MRR
		}
		for k := 0; k < nm; k++ {
			m := &ar.Months[fi+k]
			pm := &out.Months[k]
			pm.Movements.add(prev, m)
			if m.MRR > 0 {
				pm.Customers++
			}
			switch m.Kind {
			case MoveNew, MoveReactivation:
				pm.NewCustomers++
			case MoveChurn:
				pm.ChurnedCustomers++
			}
			prev = m.MRR
		}
		// cohorts: first month with MRR within the series
		for i := range ar.Months {
			if ar.Months[i].MRR > 0 {
				if i == 0 && ar.PrevMRR > 0 {
					break // started before the series
				}
				c := cohorts[ar.Months[i].Month]
				if c == nil {
					c = &CohortRow{Start: ar.Months[i].Month, Logo: make([]float64, len(ar.Months)-i), Revenue: make([]float64, len(ar.Months)-i)}
					cohorts[c.Start] = c
				}
				c.Accounts++
				c.MRR += ar.Months[i].MRR
				for k := i; k < len(ar.Months); k++ {
					if ar.Months[k].MRR > 0 {
						c.Logo[k-i]++
					}
					c.Revenue[k-i] += float64(ar.Months[k].MRR)
				}
				break
			}
		}
		// onboarding: accounts that started in the period and were due
		if !ar.Start.IsZero() && !ar.Start.Before(from.StartIn(s.Location)) && ar.Start.Before(periodEnd) {
			due := !ar.Start.Add(time.Duration(s.Lifecycle.OnboardingDays) * day).After(ar.AsOf)
			if ar.Onboarded || due {
				out.OnboardingEligible++
				if ar.Onboarded {
					ttv = append(ttv, ar.TimeToValueDays)
				}
			}
		}
		if ar.LoginsPerWeek >= 0 {
			logins += ar.LoginsPerWeek
			nLogins++
		}
		if ar.FeaturesUsed >= 0 {
			features += ar.FeaturesUsed
			nFeatures++
		}
	}
	out.Retention = total.finish(s.Metrics.GrossMargin)
	out.From, out.To = first+Month(fi), first+Month(ti)
	for i, k := range segKeys {
		r := segAccs[i].finish(s.Metrics.GrossMargin)
		r.From, r.To = out.From, out.To
		out.Segments = append(out.Segments, Segment{Dimension: k.dim, Value: k.val, Retention: r})
	}
	sort.Slice(out.Segments, func(a, b int) bool {
		if out.Segments[a].Dimension != out.Segments[b].Dimension {
			return out.Segments[a].Dimension < out.Segments[b].Dimension
		}
		return out.Segments[a].Value < out.Segments[b].Value
	})
	for _, c := range cohorts {
		n := float64(c.Accounts)
		base := float64(c.MRR)
		for k := range c.Logo {
			c.Logo[k] /= n
			if base > 0 {
				c.Revenue[k] /= base
			}
		}
		out.Cohorts = append(out.Cohorts, *c)
	}
	sort.Slice(out.Cohorts, func(a, b int) bool { return out.Cohorts[a].Start < out.Cohorts[b].Start })
	out.MedianTimeToValueDays = -1
	if out.OnboardingEligible > 0 {
		out.OnboardingCompletion = float64(len(ttv)) / float64(out.OnboardingEligible)
	}
	if len(ttv) > 0 {
		sort.Float64s(ttv)
		n := len(ttv)
		if n%2 == 1 {
			out.MedianTimeToValueDays = ttv[n/2]
		} else {
			out.MedianTimeToValueDays = (ttv[n/2-1] + ttv[n/2]) / 2
		}
	}
	out.LoginsPerWeek, out.FeaturesUsed = -1, -1
	if nLogins > 0 {
		out.LoginsPerWeek = logins / float64(nLogins)
	}
	if nFeatures > 0 {
		out.FeaturesUsed = features / float64(nFeatures)
	}
	out.Playbook = playbookKPIs(accounts, fi, ti, from, to)
	out.Targets = targetStatuses(s.Targets, &out, true)
	return out
}

func targetStatuses(ts []Target, p *PortfolioResult, have bool) []TargetStatus {
	out := make([]TargetStatus, 0, len(ts))
	for _, t := range ts {
		st := TargetStatus{Target: t}
		var v float64
		known := have
		switch t.Metric {
		case "nrr":
			v, known = p.NRR, known && p.MRRStart > 0
		case "grr":
			v, known = p.GRR, known && p.MRRStart > 0
		case "crr":
			v, known = p.CRR, known && p.CustomersStart > 0
		case "logo_churn":
			v, known = p.LogoChurn, known && p.CustomersStart > 0
		case "revenue_churn":
			v, known = p.RevenueChurn, known && p.MRRStart > 0
		case "onboarding_completion":
			v, known = p.OnboardingCompletion, known && p.OnboardingEligible > 0
		case "time_to_value_days":
			v, known = p.MedianTimeToValueDays, known && p.MedianTimeToValueDays >= 0
		case "logins_per_week":
			v, known = p.LoginsPerWeek, known && p.LoginsPerWeek >= 0
		case "features_used":
			v, known = p.FeaturesUsed, known && p.FeaturesUsed >= 0
		default:
			v, known = p.Playbook.value(t.Metric)
			known = known && have
		}
		st.Actual, st.Known = v, known
		if known {
			if t.Op == "<=" {
				st.Met = v <= t.Value+1e-9
			} else {
				st.Met = v >= t.Value-1e-9
			}
		}
		out = append(out, st)
	}
	return out
}

// segmentTouch is the touch tier an account is counted in for segment
// retention: its current tier, except that an account that churned during
// the period counts in the tier its ARR at the period start gave it (with no
// MRR left, its current tier is always the lowest, which would pile every
// churned account into tech touch). Example: an account at 1,200,000 JPY ARR
// (low touch) that churns in the period counts in low touch, not tech touch.
func segmentTouch(ar *AccountResult, fi, ti int, t *TouchSettings) string {
	if ar.Months[ti].MRR > 0 {
		return ar.Touch
	}
	start := ar.PrevMRR
	if fi > 0 {
		start = ar.Months[fi-1].MRR
	}
	if start <= 0 {
		return ar.Touch
	}
	arr := float64(start*12) / math.Pow10(MinorUnitExponent(ar.Currency))
	if _, touch := TouchFor(arr, "", "", t); touch != "" {
		return touch
	}
	return ar.Touch
}
