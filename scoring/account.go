package scoring

import (
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// AccountInput is everything known about one account, gathered by the
// engine: the CRM account and deals, the linked billing subscriptions and
// invoices, usage signals, and state from earlier runs.
type AccountInput struct {
	Account       record.Account
	Deals         []record.Deal
	Subscriptions []record.Subscription
	Invoices      []record.Invoice
	Signals       []record.Signal
	// ScoreHistory holds earlier health scores, for the trend.
	ScoreHistory []ScorePoint
	// PreviousTouch is the base touch tier of the last run (hysteresis).
	PreviousTouch string
	// OnboardedAt is when an earlier run found the account onboarded (zero:
	// not yet, evaluate the signals).
	OnboardedAt time.Time
	// LastTasks maps a rule name to when its last task was created, for
	// cooldowns.
	LastTasks map[string]time.Time
	// LastHealth is the health the last run stored (nil: none), kept for a
	// churned account or prospect under the freeze treatment.
	LastHealth *LastHealth
	// Recorded are MRR values the store recorded live in earlier months;
	// they replace the values rebuilt from invoices for those months.
	Recorded []RecordedMonth
	// Currency is the reporting currency (ISO 4217) and FX the rates:
	// 1 unit of currency X = FX[X] units of the reporting currency.
	Currency string
	FX       map[string]float64
	// Explain keeps the ledger for every month, not only the current one
	// (`healthsync explain ACCOUNT`).
	Explain bool
}

// RecordedMonth is an MRR value the store recorded for a past month, in
// reporting minor units.
type RecordedMonth struct {
	Month Month `json:"month"`
	MRR   int64 `json:"mrr"`
}

// AccountResult is everything scoring computed for one account. Money is in
// minor units of the reporting currency (Currency).
type AccountResult struct {
	Key      string    `json:"key"` // account ref key, e.g. "salesforce/001..."
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	OwnerID  string    `json:"owner_id,omitempty"`
	AsOf     time.Time `json:"as_of"`
	Currency string    `json:"currency"`
	// MRR as of AsOf and ARR = 12 x MRR.
	MRR int64 `json:"mrr"`
	ARR int64 `json:"arr"`
	// Months is the MRR series, oldest first, HistoryMonths long, ending with
	// the month of AsOf; each month's MRR is as of its last instant (the
	// current month: as of AsOf).
	Months []MonthMRR `json:"months"`
	// Ledger explains the months: the current month always, every month of
	// the series when AccountInput.Explain is set. Oldest first.
	Ledger []MonthLedger `json:"ledger"`
	// PrevMRR is the MRR of the month before Months[0].
	PrevMRR int64 `json:"prev_mrr"`
	// Start is when the first subscription started (zero: none).
	Start time.Time `json:"start,omitempty"`
	// Segments holds the values of Settings.Segments, in order.
	Segments  []string `json:"segments,omitempty"`
	Health    Health   `json:"health"`
	TouchBase string   `json:"touch_base"` // tier before escalation, for hysteresis
	Touch     string   `json:"touch"`
	Phase     string   `json:"phase"`
	Onboarded bool     `json:"onboarded"`
	// OnboardedAt and TimeToValueDays (-1 when not onboarded).
	OnboardedAt     time.Time `json:"onboarded_at,omitempty"`
	TimeToValueDays float64   `json:"time_to_value_days"`
	DaysToRenewal   int       `json:"days_to_renewal"` // -1 when no renewal date
	// LoginsPerWeek (sum of "logins" in 7 days) and FeaturesUsed (latest
	// "features_used" in 30 days), -1 when missing; for the KPI targets.
	LoginsPerWeek float64      `json:"logins_per_week"`
	FeaturesUsed  float64      `json:"features_used"`
	Tasks         []TaskIntent `json:"tasks,omitempty"`
	// FirstLogin is the first "logins" signal above 0 since Start and
	// Products the MRR series split by product when the account has
	// several, for the playbook KPIs (kpi.go).
	FirstLogin time.Time    `json:"first_login,omitzero"`
	Products   []ProductMRR `json:"products,omitempty"`
	// ClearedRules lists rules that close their open task because their
	// condition no longer holds.
	ClearedRules []string `json:"cleared_rules,omitempty"`
	// Problems are data issues found while scoring (missing FX rate, a
	// failing rule).
	Problems []string `json:"problems,omitempty"`
}

const day = 24 * time.Hour

// ScoreAccount computes one account's MRR series and movements, health,
// touch model, lifecycle phase and task intents as of asOf. s must have had
// ApplyDefaults; rules may be nil (no tasks). It is safe to call
// concurrently.
func ScoreAccount(in AccountInput, asOf time.Time, s Settings, rules *CompiledRules) AccountResult {
	return scoreAccount(&in, asOf.In(zone(s.Location)), &s, rules)
}

func scoreAccount(in *AccountInput, asOf time.Time, s *Settings, rules *CompiledRules) AccountResult {
	res := AccountResult{
		Key: in.Account.Key(), ID: in.Account.ID, Name: in.Account.Name, OwnerID: in.Account.OwnerID,
		AsOf: asOf, Currency: strings.ToUpper(in.Currency), TimeToValueDays: -1, DaysToRenewal: -1,
	}
	conv := newConverter(in.Currency, in.FX)
	calc := newMRRCalc(in.Subscriptions, in.Invoices, &s.Metrics, conv, MonthIn(asOf, s.Location).StartIn(s.Location))
	instants, everMRR := scoreMRR(&res, in, calc, asOf, s)

	// Signals of the metrics scoring reads, indexed once.
	sx := signalPool.Get().(*signalIndex)
	defer signalPool.Put(sx)
	sx.build(in.Signals, signalNames(s))

	dv, f := derive(&res, in, sx, asOf, s)
	scoreLifecycle(&res, in, sx, &dv, &f, instants, everMRR, asOf, s, conv)
	scoreTasks(&res, in, &dv, &f, asOf, s, rules)
	return res
}

// scoreMRR fills res's MRR series (Months, PrevMRR, MRR, ARR), its ledger
// (the current month's, every month's with in.Explain) and a problem per
// line left out for a missing FX rate. It returns the month-end instants of
// the series (the last is asOf) and whether the account ever had MRR.
func scoreMRR(res *AccountResult, in *AccountInput, calc *mrrCalc, asOf time.Time, s *Settings) (instants []time.Time, everMRR bool) {
	h := s.Metrics.HistoryMonths
	if h < 1 {
		h = 1
	}
	cur := MonthIn(asOf, s.Location)
	first := cur - Month(h) + 1
	res.Months = make([]MonthMRR, h)
	instants = make([]time.Time, h+1)
	for i := range instants {
		instants[i] = (first + Month(i) - 1).LastInstantIn(s.Location)
	}
	instants[h] = asOf
	vals := make([]int64, h+1)
	calc.series(instants, vals)
	prev := vals[0]
	if v, ok := recorded(in.Recorded, first-1, cur); ok {
		prev = v
	}
	res.PrevMRR = prev
	hadMRR := false
	for i := range res.Months {
		m := first + Month(i)
		mm := &res.Months[i]
		v, ok := recorded(in.Recorded, m, cur)
		if !ok {
			v = vals[i+1]
		}
		mm.Month, mm.MRR, mm.Delta = m, v, v-prev
		mm.Kind = Classify(prev, v, hadMRR)
		if m == cur || in.Explain {
			ml := MonthLedger{Month: m, MRR: v, Delta: mm.Delta, Kind: mm.Kind, Why: mm.Kind.Why()}
			if ok {
				ml.Lines = append(ml.Lines, LedgerLine{Kind: LedgerRecorded, Detail: "value recorded by the store in " + m.String(), Currency: res.Currency, Amount: v, Rate: 1, Converted: v})
			} else {
				calc.at(instants[i+1], &ml.Lines)
			}
			res.Ledger = append(res.Ledger, ml)
		}
		if prev > 0 {
			hadMRR = true
		}
		prev = v
	}
	res.MRR = res.Months[h-1].MRR
	res.ARR = 12 * res.MRR
	for _, l := range res.Ledger[len(res.Ledger)-1].Lines {
		if l.Kind == LedgerExcluded && strings.HasPrefix(l.Detail, "no FX rate") {
			res.Problems = append(res.Problems, l.Detail)
		}
	}
	return instants, hadMRR || res.MRR > 0
}

// accountFacts are the counts the derived values, the phase and the task
// rules share.
type accountFacts struct {
	start              time.Time // the earliest subscription start (zero: none)
	daysSinceStart     int       // -1 without a start
	failed30, failed90 int       // failed payments in the last 30 and 90 days
	openDeals          int
	openUpsell         bool // an open deal of an upsell type
}

// calendarDays is the number of calendar days from from's date to to's,
// both read in loc (the business's zone, Settings.Location): a count
// that changes at local midnight, when a sync re-scores date-driven
// measures (engine, dirty.go), not at whatever time of day the renewal or
// the start falls. Counted in 24-hour periods, a days-to-renewal written at
// 09:00 was a day too high by the afternoon until the next re-score.
func calendarDays(from, to time.Time, loc *time.Location) int {
	fy, fm, fd := from.In(loc).Date()
	ty, tm, td := to.In(loc).Date()
	return int(time.Date(ty, tm, td, 12, 0, 0, 0, time.UTC).Sub(time.Date(fy, fm, fd, 12, 0, 0, 0, time.UTC)) / day)
}

// derive computes the derived values health measures can read (NaN where
// unknown) and the account's facts; it sets res.Start and
// res.DaysToRenewal.
func derive(res *AccountResult, in *AccountInput, sx *signalIndex, asOf time.Time, s *Settings) (dv derivedValues, f accountFacts) {
	dv = derivedValues{daysToRenewal: math.NaN(), mrrTrend: math.NaN(), daysSinceStart: math.NaN(), planUsage: math.NaN(), failed90: math.NaN()}
	for i := range in.Subscriptions {
		sub := &in.Subscriptions[i]
		if sub.Deleted || sub.Status == record.StatusIncomplete || sub.Status == record.StatusIncompleteExpired {
			continue
		}
		if st := subStart(sub); !st.IsZero() && (f.start.IsZero() || st.Before(f.start)) {
			f.start = st
		}
	}
	res.Start = f.start
	f.daysSinceStart = -1
	if !f.start.IsZero() && !asOf.Before(f.start) {
		f.daysSinceStart = calendarDays(f.start, asOf, asOf.Location())
		dv.daysSinceStart = float64(f.daysSinceStart)
	}
	if renewal, ok := renewalDate(in, asOf, &s.Lifecycle, &s.Metrics); ok {
		res.DaysToRenewal = calendarDays(asOf, renewal, asOf.Location())
		dv.daysToRenewal = float64(res.DaysToRenewal)
	}
	open := 0
	for i := range in.Invoices {
		inv := &in.Invoices[i]
		if inv.Deleted {
			continue
		}
		age := asOf.Sub(inv.Created)
		if inv.PaymentFailed && age >= 0 {
			if age <= 90*day {
				f.failed90++
			}
			if age <= 30*day {
				f.failed30++
			}
		}
		if inv.Status == record.InvoiceOpen && !inv.DueDate.IsZero() && inv.DueDate.Before(asOf) {
			open++
		}
	}
	if len(in.Subscriptions) > 0 || len(in.Invoices) > 0 {
		dv.failed90 = float64(f.failed90)
		dv.openInvoices = float64(open)
	} else {
		dv.openInvoices = math.NaN()
	}
	if h := len(res.Months); h > 3 {
		if base := res.Months[h-4].MRR; base > 0 {
			dv.mrrTrend = float64(res.MRR-base) / float64(base)
		}
	}
	for i := range in.Deals {
		d := &in.Deals[i]
		if d.Deleted || d.IsClosed {
			continue
		}
		f.openDeals++
		for _, t := range s.Lifecycle.Expansion.UpsellDealTypes {
			if strings.EqualFold(t, d.Type) {
				f.openUpsell = true
			}
		}
	}
	dv.openDeals = float64(f.openDeals)
	var limit int64
	for i := range in.Subscriptions {
		sub := &in.Subscriptions[i]
		if excludedAt(sub, asOf, &s.Metrics) != counts {
			continue
		}
		for j := range sub.Items {
			limit += sub.Items[j].PlanLimit
		}
	}
	if limit > 0 {
		if u := sx.aggregate(sx.lookup(s.Lifecycle.Expansion.UsageSignal), AggLast, 30, asOf); !math.IsNaN(u) {
			dv.planUsage = u / float64(limit)
		}
	}
	return dv, f
}

// scoreLifecycle fills res's health, touch model, onboarding, phase and
// inactive treatment, and the usage figures for KPIs; instants are the
// MRR series' month ends (product series).
func scoreLifecycle(res *AccountResult, in *AccountInput, sx *signalIndex, dv *derivedValues, f *accountFacts, instants []time.Time, everMRR bool, asOf time.Time, s *Settings, conv *converter) {
	res.Health = scoreHealth(&s.Health, in, sx, dv, asOf)
	arrMajor := float64(res.ARR) / pow10[MinorUnitExponent(in.Currency)]
	res.TouchBase, res.Touch = TouchFor(arrMajor, in.PreviousTouch, res.Health.Band, &s.Touch)
	if !in.OnboardedAt.IsZero() {
		res.Onboarded, res.OnboardedAt = true, in.OnboardedAt
	} else if !f.start.IsZero() {
		var scratch []record.Signal
		if at, ok := onboardedAt(in.Signals, f.start, s.Lifecycle.Onboarded, &scratch); ok && !at.After(asOf) {
			res.Onboarded, res.OnboardedAt = true, at
		}
	}
	if res.Onboarded && !f.start.IsZero() {
		res.TimeToValueDays = math.Max(0, res.OnboardedAt.Sub(f.start).Hours()/24)
	}
	onboardingDays := f.daysSinceStart
	if f.start.IsZero() {
		onboardingDays = 0
	}
	res.Phase = phaseFor(&s.Lifecycle, res.MRR, everMRR, res.Onboarded, onboardingDays, res.DaysToRenewal,
		res.Health.Band, zeroNaN(dv.planUsage), f.openUpsell)
	// An account that is not a live customer keeps the health of its
	// treatment, gets no task, and every rule counts as cleared (its open
	// tasks are closed).
	inactive := ""
	switch {
	case res.Phase == PhaseChurned:
		inactive = InactiveChurned
	case !everMRR && len(in.Subscriptions) == 0 && len(in.Invoices) == 0:
		inactive = InactiveProspect
	}
	treatment := s.Health.Treatment(inactive)
	if inactive != "" && treatment != InactiveScore {
		inactiveHealth(&res.Health, inactive, treatment, in.LastHealth)
	}
	res.LoginsPerWeek = minusOneNaN(sx.aggregate(sx.lookup("logins"), AggSum, 7, asOf))
	res.FeaturesUsed = minusOneNaN(sx.aggregate(sx.lookup("features_used"), AggLast, 30, asOf))
	res.Segments = segmentValues(&in.Account, s.Segments)
	res.FirstLogin, res.Products = sx.firstLogin(f.start), productSeries(in, instants, &s.Metrics, conv)

}

// scoreTasks evaluates the task rules: an inactive account clears every
// rule; otherwise the rules' intents and cleared rules are set, and a
// failing rule is a problem.
func scoreTasks(res *AccountResult, in *AccountInput, dv *derivedValues, f *accountFacts, asOf time.Time, s *Settings, rules *CompiledRules) {
	if res.Health.Inactive != "" {
		res.ClearedRules = rules.names()
	} else if rules != nil && len(rules.rules) > 0 {
		env := RuleEnv{
			Account: AccountEnv{ID: in.Account.ID, Name: in.Account.Name, OwnerID: in.Account.OwnerID,
				Industry: in.Account.Industry, Fields: in.Account.Fields},
			Score: res.Health.Score, PreviousScore: res.Health.PreviousScore, ScoreChange: res.Health.Trend,
			TrendDays: s.Health.TrendDays, Band: res.Health.Band, Override: res.Health.Override,
			Reasons: res.Health.Reasons, Missing: res.Health.Missing,
			MRR: float64(res.MRR) / pow10[MinorUnitExponent(in.Currency)], ARR: float64(res.ARR) / pow10[MinorUnitExponent(in.Currency)],
			Touch: res.Touch, Phase: res.Phase, Onboarded: res.Onboarded, DaysSinceStart: f.daysSinceStart,
			MonthsSinceStart: monthsBetween(f.start, asOf), DaysToRenewal: res.DaysToRenewal,
			FailedPayments30d: f.failed30, FailedPayments90d: f.failed90, PlanUsage: zeroNaN(dv.planUsage),
			OpenDeals: f.openDeals, OpenUpsell: f.openUpsell,
		}
		if env.Account.Fields == nil {
			env.Account.Fields = map[string]any{}
		}
		if rules.usesMeasures {
			env.Measures = make(map[string]float64, len(res.Health.Measures))
			for _, mr := range res.Health.Measures {
				if !mr.Missing {
					env.Measures[mr.Name] = mr.Value
				}
			}
		}
		if env.Reasons == nil {
			env.Reasons = []string{}
		}
		var errs []error
		res.Tasks, res.ClearedRules, errs = rules.Evaluate(&env, res.Key, asOf, in.LastTasks)
		for _, e := range errs {
			res.Problems = append(res.Problems, e.Error())
		}
	}
}

var signalPool = sync.Pool{New: func() any { return new(signalIndex) }}

// signalNames lists the metrics scoring reads: the measures' signals, the
// expansion usage signal, logins and features_used (KPI targets).
func signalNames(s *Settings) []string {
	names := make([]string, 0, len(s.Health.Measures)+3)
	add := func(n string) {
		if n == "" {
			return
		}
		for _, x := range names {
			if x == n {
				return
			}
		}
		names = append(names, n)
	}
	for i := range s.Health.Measures {
		add(s.Health.Measures[i].Signal)
	}
	add(s.Lifecycle.Expansion.UsageSignal)
	add("logins")
	add("features_used")
	return names
}

func recorded(rs []RecordedMonth, m, cur Month) (int64, bool) {
	if m >= cur {
		return 0, false
	}
	for _, r := range rs {
		if r.Month == m {
			return r.MRR, true
		}
	}
	return 0, false
}

// renewalDate is the CRM renewal date field when set, else the current
// period end of the longest-term counting subscription when its term is at
// least RenewalMinTermMonths. ok is false when there is none in the future.
func renewalDate(in *AccountInput, asOf time.Time, l *LifecycleSettings, m *MetricsSettings) (time.Time, bool) {
	if l.RenewalDateField != "" {
		if v, ok := in.Account.Fields[l.RenewalDateField].(string); ok && v != "" {
			for _, layout := range []string{"2006-01-02", time.RFC3339} {
				// A date alone is that date in the business's zone.
				if t, err := time.ParseInLocation(layout, v, asOf.Location()); err == nil {
					return t, !t.Before(asOf.Truncate(day))
				}
			}
		}
	}
	var best time.Time
	bestTerm := 0
	for i := range in.Subscriptions {
		sub := &in.Subscriptions[i]
		if excludedAt(sub, asOf, m) != counts || sub.CurrentPeriodEnd.IsZero() || sub.CurrentPeriodEnd.Before(asOf) {
			continue
		}
		iv, n := mainInterval(sub)
		if n < 1 {
			n = 1
		}
		term := n
		switch iv {
		case "year":
			term = 12 * n
		case "quarter":
			term = 3 * n
		case "week", "day":
			term = 0
		}
		if term < l.RenewalMinTermMonths {
			continue
		}
		if term > bestTerm || (term == bestTerm && sub.CurrentPeriodEnd.Before(best)) {
			best, bestTerm = sub.CurrentPeriodEnd, term
		}
	}
	return best, !best.IsZero()
}

// monthsBetween counts whole calendar months from start to t (a start on
// 01-15 is 1 month old on 02-15); -1 when start is zero.
func monthsBetween(start, t time.Time) int {
	if start.IsZero() || t.Before(start) {
		return -1
	}
	n := (t.Year()-start.Year())*12 + int(t.Month()) - int(start.Month())
	if start.AddDate(0, n, 0).After(t) {
		n--
	}
	return n
}

func segmentValues(a *record.Account, names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		switch n {
		case "owner":
			out[i] = a.OwnerID
		case "industry":
			out[i] = a.Industry
		default:
			switch v := a.Fields[n].(type) {
			case string:
				out[i] = v
			case float64:
				out[i] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				out[i] = strconv.FormatBool(v)
			}
		}
		if out[i] == "" {
			out[i] = "(none)"
		}
	}
	return out
}

func zeroNaN(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return f
}

func minusOneNaN(f float64) float64 {
	if math.IsNaN(f) {
		return -1
	}
	return f
}

// ScoreAccounts scores n accounts on workers goroutines (GOMAXPROCS when
// workers < 1) and returns the results in order. input(i) supplies the
// i-th account; it is called from the workers, so it must be safe for
// concurrent use. ScoreAccounts returns when every account is scored.
func ScoreAccounts(n int, input func(i int) AccountInput, asOf time.Time, s Settings, rules *CompiledRules, workers int) []AccountResult {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]AccountResult, n)
	asOf = asOf.In(zone(s.Location))
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				hi := min(lo+chunk, n)
				for i := lo; i < hi; i++ {
					in := input(i)
					out[i] = scoreAccount(&in, asOf, &s, rules)
				}
			}
		}()
	}
	wg.Wait()
	return out
}
