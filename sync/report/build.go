package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// ErrOptions marks report options the caller got wrong (a reversed period,
// an unknown segment dimension): a usage error for the CLI (exit 2) and a
// 400 for the API.
var ErrOptions = errors.New("invalid report options")

// Input is what Build turns into a report: the scored accounts of one
// reconcile pass and the report's options. Money is in reporting minor
// units.
type Input struct {
	AsOf     time.Time
	Currency string
	// From and To are the months asked for; zero means the default (the 12
	// complete months before AsOf's month).
	From, To scoring.Month
	// Settings are the scoring settings with defaults applied; their
	// Segments are the configured dimensions and their Location the
	// business's time zone (months, the as-of day).
	Settings scoring.Settings
	// Segment is one more dimension to break the portfolio down by.
	Segment string
	// Account limits the accounts list to one account key or CRM ID.
	Account   string
	Members   []Member
	Unmatched []Unmatched
	Conflicts []Conflict
	APIUsage  []ConnectorUsage
}

// Member is one scored CRM account.
type Member struct {
	ID        string // healthsync account key, "salesforce/001..."
	CRM       CRMRef
	Name      string
	OwnerID   string
	OwnerName string // the owner's name when the CRM gives it
	Industry  string
	Fields    map[string]any // configured CRM fields, as decoded from JSON
	Result    scoring.AccountResult
}

// Population rule, stated in the report.
const populationRule = "accounts with MRR > 0 on date"

// ResolvePeriod fills in the default period (the 12 complete months before
// asOf's month in loc, the business's time zone) and rejects a period that
// ends before it starts or after asOf's month.
func ResolvePeriod(asOf time.Time, loc *time.Location, from, to scoring.Month) (scoring.Month, scoring.Month, error) {
	if to == 0 {
		to = scoring.MonthIn(asOf, loc) - 1
	}
	if from == 0 {
		from = to - 11
	}
	if from > to {
		return 0, 0, fmt.Errorf("%w: the period starts in %s, after it ends in %s", ErrOptions, from, to)
	}
	if cur := scoring.MonthIn(asOf, loc); to > cur {
		return 0, 0, fmt.Errorf("%w: the period ends in %s, after the as-of month %s", ErrOptions, to, cur)
	}
	return from, to, nil
}

// Build computes the report. It fails only on bad options (ErrOptions).
func Build(in Input) (*Report, error) {
	loc := in.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	from, to, err := ResolvePeriod(in.AsOf, loc, in.From, in.To)
	if err != nil {
		return nil, err
	}
	dims, err := dimensions(in.Settings.Segments, in.Segment, in.Members)
	if err != nil {
		return nil, err
	}
	g := newGrouping(dims, in.Members)
	settings := in.Settings
	settings.Segments = dims[1:] // touch is scoring's own
	results := make([]scoring.AccountResult, len(in.Members))
	for i := range in.Members {
		results[i] = in.Members[i].Result
		results[i].Segments = g.keys[i][1:]
	}
	pf := scoring.Portfolio(results, from, to, settings)
	major := func(minor int64) float64 {
		return math.Round(float64(minor)/math.Pow10(scoring.MinorUnitExponent(in.Currency))*100) / 100
	}
	asOf := in.AsOf.In(loc).Format("2006-01-02")
	r := &Report{
		AsOf: asOf, Timezone: loc.String(), Currency: in.Currency,
		Period:    Period{From: from.String(), To: to.String()},
		Movements: []Movement{}, Targets: []Target{}, Segments: []Segment{}, Accounts: []Account{},
		Unmatched: []Unmatched{}, Conflicts: []Conflict{}, Cohorts: []Cohort{}, Bands: []BandCount{}, Scores: []ScoreBin{},
		APIUsage: in.APIUsage,
	}

	// The population: one day, one rule, for every current figure.
	var mrr int64
	customers := 0
	for i := range in.Members {
		if m := in.Members[i].Result.MRR; m > 0 {
			mrr += m
			customers++
		}
	}
	r.Population = Population{Date: asOf, Rule: populationRule, Customers: customers, WithoutMRR: len(in.Members) - customers}
	unknown := map[string]string{}
	val := func(key string, v float64, ok bool, why string) *float64 {
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			unknown[key] = why
			return nil
		}
		return num(v)
	}
	prev := (from - 1).String()
	noStartMRR := "no MRR at the end of " + prev + ", the month before the period"
	noStartCustomers := "no customers at the end of " + prev + ", the month before the period"
	noCustomers := "no customers on " + asOf
	p := &r.Portfolio
	p.MRR, p.ARR, p.Customers = major(mrr), major(12*mrr), customers
	p.NRR = val("nrr", round4(pf.NRR), pf.MRRStart > 0, noStartMRR)
	p.GRR = val("grr", round4(pf.GRR), pf.MRRStart > 0, noStartMRR)
	p.RevenueChurnRate = val("revenue_churn_rate", round4(pf.RevenueChurn), pf.MRRStart > 0, noStartMRR)
	p.CRR = val("crr", round4(pf.CRR), pf.CustomersStart > 0, noStartCustomers)
	p.LogoChurnRate = val("logo_churn_rate", round4(pf.LogoChurn), pf.CustomersStart > 0, noStartCustomers)
	var arpa int64
	if customers > 0 {
		arpa = mrr / int64(customers)
	}
	p.ARPA = val("arpa", major(arpa), customers > 0, noCustomers)
	switch {
	case customers == 0:
		p.LTV = val("ltv", 0, false, noCustomers)
	case pf.RevenueChurnMonthly <= 0:
		p.LTV = val("ltv", 0, false, "no revenue churn in the period, so the lifetime is unbounded")
	default:
		p.LTV = val("ltv", major(int64(math.Round(float64(arpa)*settings.Metrics.GrossMargin/pf.RevenueChurnMonthly))), true, "")
	}
	if len(unknown) > 0 {
		p.Unknown = unknown
	}
	switch {
	case len(in.Members) == 0 && len(in.Unmatched) == 0:
		r.Notice = "the store holds no accounts or billing customers yet: run `healthsync sync` first"
	case customers == 0 && pf.MRRStart == 0:
		r.Notice = "no account has MRR on " + asOf + " or at the end of " + prev + ": is --as-of before the first subscription, or was billing never synced?"
	}

	ob := &r.Onboarding
	ob.Eligible = pf.OnboardingEligible
	ob.Completed = int(math.Round(pf.OnboardingCompletion * float64(pf.OnboardingEligible)))
	if pf.OnboardingEligible > 0 {
		ob.CompletionRate = num(round4(pf.OnboardingCompletion))
	}
	if pf.MedianTimeToValueDays >= 0 {
		ob.MedianTTVDays = num(pf.MedianTimeToValueDays)
	}
	for _, t := range pf.Targets {
		tg := Target{KPI: t.Metric, Op: t.Op, Target: t.Value}
		if t.Known {
			tg.Value, tg.Met = num(round4(t.Actual)), &t.Met
		} else {
			tg.Reason = targetReason(t.Metric, noStartMRR, noStartCustomers)
		}
		r.Targets = append(r.Targets, tg)
	}
	for _, m := range pf.Months {
		r.Movements = append(r.Movements, Movement{Month: m.Month.String(), New: major(m.New),
			Expansion: major(m.Expansion), Contraction: negate(major(m.Contraction)), Churn: negate(major(m.Churn)),
			Reactivation: major(m.Reactivation), MRREnd: major(m.MRREnd)})
	}
	r.Segments = g.segments(pf.Segments, in.Members, major)
	r.Bands, r.Scores = distribution(in.Members, major)
	for i := range in.Members {
		m := &in.Members[i]
		res := &m.Result
		if in.Account != "" && in.Account != m.ID && in.Account != m.CRM.ID {
			continue
		}
		if res.MRR <= 0 && res.Phase == scoring.PhaseChurned {
			// Not part of the live book: listed apart with the month they churned.
			r.Churned = append(r.Churned, churned(m, major))
			continue
		}
		reasons := res.Health.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		r.Accounts = append(r.Accounts, Account{ID: m.ID, CRM: m.CRM, Name: m.Name, MRR: major(res.MRR), ARR: major(res.ARR),
			HealthScore: whole(res.Health.Score), Band: res.Health.Band, Trend: whole(res.Health.Trend),
			TouchModel: res.Touch, Phase: res.Phase, Reasons: reasons, Override: res.Health.Override})
	}
	sort.Slice(r.Accounts, func(i, j int) bool { return r.Accounts[i].ID < r.Accounts[j].ID })
	sort.Slice(r.Churned, func(i, j int) bool { return r.Churned[i].ID < r.Churned[j].ID })
	r.Account = in.Account
	for _, c := range pf.Cohorts {
		r.Cohorts = append(r.Cohorts, Cohort{Start: c.Start.String(), Size: c.Accounts, Logo: round4s(c.Logo), Revenue: round4s(c.Revenue)})
	}
	r.Unmatched = append(r.Unmatched, in.Unmatched...)
	r.Conflicts = append(r.Conflicts, in.Conflicts...)
	return r, nil
}

// churned is a churned account's report line: the last month of its series
// whose movement was churn, and the MRR of the month before it.
func churned(m *Member, major func(int64) float64) Churned {
	c := Churned{ID: m.ID, CRM: m.CRM, Name: m.Name}
	months := m.Result.Months
	for i := len(months) - 1; i >= 0; i-- {
		if months[i].Kind == scoring.MoveChurn {
			c.ChurnMonth = months[i].Month.String()
			c.LastMRR = major(-months[i].Delta)
			break
		}
	}
	return c
}

func targetReason(metric, noStartMRR, noStartCustomers string) string {
	switch metric {
	case "nrr", "grr", "revenue_churn":
		return noStartMRR
	case "crr", "logo_churn":
		return noStartCustomers
	case "onboarding_completion":
		return "no account that started in the period was due for onboarding"
	case "time_to_value_days":
		return "no account that started in the period has been onboarded"
	case "logins_per_week", "features_used":
		return "no usage signals received"
	case scoring.KPIUpsellRate, scoring.KPICrossSellRate:
		return noStartCustomers
	case scoring.KPIFirstLoginRate:
		return "no account started in the period with login signals to judge"
	case scoring.KPIHealthScore, scoring.KPIHealthyShare:
		return "no scored account with MRR on the as-of day"
	case scoring.KPIChurnSignalDetection:
		return "no backtest yet: run `healthsync backtest` (or `backtest --live`)"
	}
	return "unknown KPI"
}

// distribution counts the population (MRR > 0) by band and by score,
// in bins of 10 points.
func distribution(members []Member, major func(int64) float64) ([]BandCount, []ScoreBin) {
	bands := []BandCount{{Band: scoring.BandHealthy}, {Band: scoring.BandCaution}, {Band: scoring.BandAtRisk}}
	bins := make([]ScoreBin, 10)
	for i := range bins {
		bins[i].From, bins[i].To = i*10, i*10+10
	}
	for i := range members {
		res := &members[i].Result
		if res.MRR <= 0 {
			continue
		}
		for b := range bands {
			if bands[b].Band == res.Health.Band {
				bands[b].Accounts++
				bands[b].MRR += major(res.MRR)
			}
		}
		k := min(9, max(0, int(math.Floor(res.Health.Score/10))))
		bins[k].Accounts++
		bins[k].MRR += major(res.MRR)
	}
	for b := range bands {
		bands[b].MRR = math.Round(bands[b].MRR*100) / 100
	}
	for k := range bins {
		bins[k].MRR = math.Round(bins[k].MRR*100) / 100
	}
	return bands, bins
}

// negate turns a loss into a negative amount without producing -0.
func negate(v float64) float64 { return plusZero(-v) }

// whole rounds to a whole number without producing -0 (a trend of -0.3
// is 0, and prints so).
func whole(v float64) float64 { return plusZero(math.Round(v)) }

// plusZero turns -0 into 0 and leaves every other value alone.
func plusZero(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}

func num(v float64) *float64 { return &v }

func round4(v float64) float64 { return plusZero(math.Round(v*10000) / 10000) }

func round4s(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0
		}
		out[i] = round4(x)
	}
	return out
}
