package engine

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/report"
)

// ReportOptions choose what a report covers.
type ReportOptions struct {
	// AsOf is the day for current values (zero: now).
	AsOf time.Time
	// From and To are the months reported (zero: the last 12 complete
	// months before AsOf's month).
	From, To scoring.Month
	// Segment adds a CRM field (or owner, industry) to the segments.
	Segment string
	// Account limits the accounts list to one account key or CRM ID.
	Account string
}

// Report computes the portfolio report from the store (no API call).
func (e *Engine) Report(ctx context.Context, o ReportOptions) (*report.Report, *Reconciled, error) {
	asOf := o.AsOf
	if asOf.IsZero() {
		asOf = e.now()
	}
	e.mu.Lock()
	rec, err := e.Reconcile(ctx, asOf, false, nil)
	e.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return e.BuildReport(rec, o), rec, nil
}

// BuildReport turns a reconcile into the report.
func (e *Engine) BuildReport(rec *Reconciled, o ReportOptions) *report.Report {
	asOf := rec.AsOf
	from, to := o.From, o.To
	if to == 0 {
		to = scoring.MonthOf(asOf) - 1
	}
	if from == 0 {
		from = to - 11
	}
	settings := e.score
	if o.Segment != "" {
		settings.Segments = append(append([]string(nil), settings.Segments...), o.Segment)
	}
	results := make([]scoring.AccountResult, len(rec.Accounts))
	for i, s := range rec.Accounts {
		results[i] = s.Result
		if o.Segment != "" {
			v := "(none)"
			switch o.Segment {
			case "owner":
				v = s.Account.OwnerID
			case "industry":
				v = s.Account.Industry
			default:
				if f, ok := s.Account.Fields[o.Segment]; ok && f != nil {
					v = toText(f)
				}
			}
			results[i].Segments = append(append([]string(nil), results[i].Segments...), v)
		}
	}
	pf := scoring.Portfolio(results, from, to, settings)
	cur := e.cfg.Reporting.Currency
	major := func(minor int64) float64 {
		return math.Round(float64(minor)/math.Pow10(scoring.MinorUnitExponent(cur))*100) / 100
	}
	// Current values as of AsOf, not the end of the period.
	var mrrNow int64
	customersNow := 0
	for _, s := range rec.Accounts {
		mrrNow += s.Result.MRR
		if s.Result.MRR > 0 {
			customersNow++
		}
	}
	r := &report.Report{
		AsOf: asOf.Format("2006-01-02"), Currency: cur,
		Period: report.Period{From: from.String(), To: to.String()},
		Portfolio: report.Portfolio{MRR: major(mrrNow), ARR: major(mrrNow * 12), Customers: customersNow,
			NRR: round4(pf.NRR), GRR: round4(pf.GRR), CRR: round4(pf.CRR), LogoChurnRate: round4(pf.LogoChurn),
			RevenueChurnRate: round4(pf.RevenueChurn), ARPA: major(pf.ARPA), LTV: major(pf.LTV)},
		Onboarding: report.Onboarding{Eligible: pf.OnboardingEligible, CompletionRate: round4(pf.OnboardingCompletion),
			MedianTTVDays: pf.MedianTimeToValueDays},
		Movements: []report.Movement{}, Targets: []report.Target{}, Segments: []report.Segment{},
		Accounts: []report.Account{}, Unmatched: []report.Unmatched{}, Conflicts: []report.Conflict{},
		Cohorts: []report.Cohort{},
	}
	r.Onboarding.Completed = int(math.Round(pf.OnboardingCompletion * float64(pf.OnboardingEligible)))
	for _, m := range pf.Months {
		r.Movements = append(r.Movements, report.Movement{Month: m.Month.String(), New: major(m.New),
			Expansion: major(m.Expansion), Contraction: -major(m.Contraction), Churn: -major(m.Churn),
			Reactivation: major(m.Reactivation), MRREnd: major(m.MRREnd)})
	}
	for _, t := range pf.Targets {
		rt := report.Target{KPI: t.Metric, Op: t.Op, Target: t.Value, Met: t.Met}
		if t.Known {
			v := round4(t.Actual)
			rt.Value = &v
		}
		r.Targets = append(r.Targets, rt)
	}
	e.attachBacktest(r)
	atRisk := map[string]int{}
	for _, s := range rec.Accounts {
		if s.Result.Health.Band == scoring.BandAtRisk && s.Result.MRR > 0 {
			atRisk["touch="+s.Result.Touch]++
		}
	}
	for _, sg := range pf.Segments {
		seg := report.Segment{Dimension: sg.Dimension, Value: sg.Value, Customers: sg.Customers, MRR: major(sg.MRR), NRR: round4(sg.NRR)}
		if sg.Dimension == "touch" {
			seg.Dimension, seg.TouchModel = "touch_model", sg.Value
			seg.AtRisk = atRisk["touch="+sg.Value]
		}
		r.Segments = append(r.Segments, seg)
	}
	bands := map[string]*report.BandCount{}
	for _, b := range []string{scoring.BandHealthy, scoring.BandCaution, scoring.BandAtRisk} {
		bands[b] = &report.BandCount{Band: b}
	}
	for _, s := range rec.Accounts {
		res := &s.Result
		if res.MRR <= 0 && res.Phase == scoring.PhaseChurned {
			// Not part of the live book: listed apart with the month they churned.
			if o.Account == "" || o.Account == s.Account.Key() || o.Account == s.Account.ID {
				r.Churned = append(r.Churned, churned(s, major))
			}
			continue
		}
		if b := bands[res.Health.Band]; b != nil {
			b.Accounts++
			b.MRR += major(res.MRR)
		}
		if o.Account != "" && o.Account != s.Account.Key() && o.Account != s.Account.ID {
			continue
		}
		reasons := res.Health.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		r.Accounts = append(r.Accounts, report.Account{ID: s.Account.Key(),
			CRM:  report.CRMRef{System: s.Account.System, Connector: s.Connector, ID: s.Account.ID},
			Name: s.Account.Name, MRR: major(res.MRR), ARR: major(res.ARR), HealthScore: math.Round(res.Health.Score),
			Band: res.Health.Band, Trend: math.Round(res.Health.Trend), TouchModel: res.Touch, Phase: res.Phase,
			Reasons: reasons, Override: res.Health.Override})
	}
	for _, b := range []string{scoring.BandHealthy, scoring.BandCaution, scoring.BandAtRisk} {
		r.Bands = append(r.Bands, *bands[b])
	}
	sort.Slice(r.Accounts, func(i, j int) bool { return r.Accounts[i].ID < r.Accounts[j].ID })
	sort.Slice(r.Churned, func(i, j int) bool { return r.Churned[i].ID < r.Churned[j].ID })
	r.Account = o.Account
	for _, c := range pf.Cohorts {
		r.Cohorts = append(r.Cohorts, report.Cohort{Start: c.Start.String(), Size: c.Accounts, Logo: round4s(c.Logo), Revenue: round4s(c.Revenue)})
	}
	for _, u := range rec.Unmatched {
		r.Unmatched = append(r.Unmatched, report.Unmatched{System: u.Customer.System, ID: u.Customer.ID, Name: u.Customer.Name, MRR: major(u.MRR)})
	}
	for _, c := range rec.Conflicts {
		r.Conflicts = append(r.Conflicts, report.Conflict{Customer: c.Customer, Accounts: c.Accounts, Rule: c.Rule})
	}
	for _, c := range e.conns {
		st := c.stats()
		r.APIUsage = append(r.APIUsage, report.ConnectorUsage{Connector: c.Name(), Calls: st.Calls, Retries: st.Retries,
			Throttled: st.Throttled, Errors: st.Errors})
	}
	return r
}

func round4(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*10000) / 10000
}

func round4s(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round4(x)
	}
	return out
}

func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

// churned is a churned account's report line: the last month of its series
// whose movement was churn, and the MRR of the month before it.
func churned(s *Scored, major func(int64) float64) report.Churned {
	c := report.Churned{ID: s.Account.Key(), CRM: report.CRMRef{System: s.Account.System, Connector: s.Connector, ID: s.Account.ID},
		Name: s.Account.Name}
	months := s.Result.Months
	for i := len(months) - 1; i >= 0; i-- {
		if months[i].Kind == scoring.MoveChurn {
			c.ChurnMonth = months[i].Month.String()
			c.LastMRR = major(-months[i].Delta)
			break
		}
	}
	return c
}
