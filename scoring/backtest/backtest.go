// Package backtest checks the health score against what really happened:
// it recomputes every account's score on past evaluation dates from what
// was known on each date (no look-ahead), finds the accounts that churned,
// and measures how many churners the score flagged early enough to act
// (detection), how often a flag was followed by a churn (precision), the
// false alarms and the AUC. Calibrate fits measure weights and band
// thresholds to that history.
//
// It is pure computation like the scoring package: no I/O, no clock. Days
// are 24-hour days; rates are fractions; scores and points are 0-100.
package backtest

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// Options choose what a backtest measures.
type Options struct {
	// LeadDays: a churner counts as detected only when flagged at least
	// this many days before its churn (time to act; default 30).
	LeadDays int
	// HorizonDays: and at most this many days before (default 180).
	HorizonDays int
	// Flag is the band at or below which an account is flagged: at_risk
	// (default) or caution.
	Flag string
	// Source names where the scores come from: "backtest" (replayed) or
	// "live" (as written to the CRM).
	Source string
}

func (o *Options) defaults() {
	if o.LeadDays == 0 {
		o.LeadDays = 30
	}
	if o.HorizonDays == 0 {
		o.HorizonDays = 180
	}
	if o.Flag == "" {
		o.Flag = scoring.BandAtRisk
	}
	if o.Source == "" {
		o.Source = "backtest"
	}
}

// Threshold is the score below which the band is at or below flag.
func Threshold(flag string, b scoring.Bands) float64 {
	if flag == scoring.BandCaution {
		return b.Healthy
	}
	return b.Caution
}

// Result is `healthsync backtest --format json`; the keys are documented in
// the README and pinned by a test. Rates are fractions, null when their
// denominator is zero.
type Result struct {
	Source      string `json:"source"` // backtest or live
	From        string `json:"from"`   // first evaluation date, YYYY-MM-DD
	To          string `json:"to"`     // last evaluation date
	EveryDays   int    `json:"every_days"`
	LeadDays    int    `json:"lead_days"`
	HorizonDays int    `json:"horizon_days"`
	Flag        string `json:"flag"`
	// Threshold is the score below which an account is flagged.
	Threshold float64 `json:"threshold"`
	// Customers is the accounts that paid on some evaluation date.
	Customers int `json:"customers"`
	// Churned counts the churners with enough history: paying on an
	// evaluation date between horizon and lead days before the churn.
	Churned int `json:"churned"`
	// TooLittleHistory counts churners left out of Churned (listed in
	// Accounts with too_little_history).
	TooLittleHistory int      `json:"too_little_history"`
	Detected         int      `json:"detected"`
	DetectionRate    *float64 `json:"detection_rate"`
	MedianLeadDays   *float64 `json:"median_lead_days"`
	// Flagged: accounts flagged on some evaluation date; FlaggedChurned:
	// those that churned within the horizon after a flag.
	Flagged        int      `json:"flagged"`
	FlaggedChurned int      `json:"flagged_churned"`
	Precision      *float64 `json:"precision"`
	FalseAlarmRate *float64 `json:"false_alarm_rate"`
	// AUC of the score lead days before the outcome, churners against the
	// rest (1: every churner scored below every other account; 0.5: chance).
	AUC      *float64        `json:"auc"`
	Measures []MeasureLift   `json:"measures"`
	Accounts []ChurnerResult `json:"accounts"`
	// ByLead is the detection rate when lead is each value from 0 to the
	// horizon (the report's line chart).
	ByLead []LeadPoint `json:"by_lead"`
	// Tradeoff is detection against precision for flag thresholds 5 to 95.
	Tradeoff []TradeoffPoint `json:"tradeoff"`
	Warnings []string        `json:"warnings"`
}

// MeasureLift compares a measure's mean points lead days before the
// outcome: churners against the rest. Lift = rest - churners, in points: a
// measure that sees churn coming has a large positive lift.
type MeasureLift struct {
	Name     string   `json:"name"`
	Churners *float64 `json:"churners"`
	Rest     *float64 `json:"rest"`
	Lift     *float64 `json:"lift"`
}

// ChurnerResult is one churner.
type ChurnerResult struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	ChurnedOn      string   `json:"churned_on"`
	FirstFlaggedOn *string  `json:"first_flagged_on"`
	LeadDays       *int     `json:"lead_days"`
	Detected       bool     `json:"detected"`
	Score          *float64 `json:"score"` // on first_flagged_on, or lead days before the churn when missed
	Reasons        []string `json:"reasons"`
	// TooLittleHistory: not paying on any evaluation date of its window.
	TooLittleHistory bool `json:"too_little_history,omitempty"`
}

// LeadPoint is the detection rate at one lead time.
type LeadPoint struct {
	LeadDays      int      `json:"lead_days"`
	DetectionRate *float64 `json:"detection_rate"`
}

// TradeoffPoint is detection and precision when accounts scoring below
// Threshold are flagged.
type TradeoffPoint struct {
	Threshold     float64  `json:"threshold"`
	DetectionRate *float64 `json:"detection_rate"`
	Precision     *float64 `json:"precision"`
}

const day = 24 * time.Hour

// Evaluate measures the timelines against their churns. dates are the
// evaluation dates the timelines were computed on; measures names the
// timelines' Points columns.
func Evaluate(ts []Timeline, dates []time.Time, measures []string, bands scoring.Bands, o Options) Result {
	o.defaults()
	thr := Threshold(o.Flag, bands)
	r := Result{Source: o.Source, LeadDays: o.LeadDays, HorizonDays: o.HorizonDays, Flag: o.Flag, Threshold: thr,
		Measures: []MeasureLift{}, Accounts: []ChurnerResult{}, ByLead: []LeadPoint{}, Tradeoff: []TradeoffPoint{},
		Warnings: []string{}}
	if len(dates) == 0 {
		return r
	}
	r.From, r.To = dates[0].Format(time.DateOnly), dates[len(dates)-1].Format(time.DateOnly)
	if len(dates) > 1 {
		r.EveryDays = int(dates[1].Sub(dates[0]) / day)
	}
	ev := evaluator{ts: ts, dates: dates, lead: time.Duration(o.LeadDays) * day, horizon: time.Duration(o.HorizonDays) * day}
	ev.classify()
	r.Customers, r.Churned, r.TooLittleHistory = ev.customers, ev.churned, ev.tooLittle

	c := ev.count(thr, ev.lead)
	r.Detected, r.Flagged, r.FlaggedChurned = c.detected, c.flagged, c.flaggedChurned
	r.DetectionRate = ratio(c.detected, ev.churned)
	r.Precision = ratio(c.flaggedChurned, c.flagged)
	r.FalseAlarmRate = ratio(c.flaggedRest, ev.rest)
	if len(c.leads) > 0 {
		sort.Ints(c.leads)
		n := len(c.leads)
		m := float64(c.leads[n/2])
		if n%2 == 0 {
			m = float64(c.leads[n/2-1]+c.leads[n/2]) / 2
		}
		r.MedianLeadDays = &m
	}
	r.AUC = ev.auc()
	r.Measures = ev.lifts(measures)
	r.Accounts = ev.churners(thr)
	step := r.EveryDays
	if step <= 0 {
		step = 7
	}
	for l := 0; l <= o.HorizonDays; l += step {
		lc := ev.count(thr, time.Duration(l)*day)
		r.ByLead = append(r.ByLead, LeadPoint{LeadDays: l, DetectionRate: ratio(lc.detected, ev.churned)})
	}
	for t := 5.0; t <= 95; t += 5 {
		tc := ev.count(t, ev.lead)
		r.Tradeoff = append(r.Tradeoff, TradeoffPoint{Threshold: t, DetectionRate: ratio(tc.detected, ev.churned),
			Precision: ratio(tc.flaggedChurned, tc.flagged)})
	}
	if ev.churned < MinChurners {
		r.Warnings = append(r.Warnings, tooFew(ev.churned))
	}
	return r
}

// MinChurners is the number of churners under which the figures are not
// reliable: with 19 churners one more detection moves the rate by 5 points.
const MinChurners = 20

func tooFew(n int) string {
	return "only " + itoa(n) + " churners in the period (fewer than 20): one churner more or less moves the detection rate by " +
		itoa(int(math.Round(100/math.Max(1, float64(n))))) + " points, so these figures are not reliable; widen the period with --from"
}

func itoa(n int) string { return strconv.Itoa(n) }

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := math.Round(float64(a)/float64(b)*10000) / 10000
	return &v
}

// evaluator holds a classification of the timelines: churners with enough
// history, churners without, and the rest.
type evaluator struct {
	ts             []Timeline
	dates          []time.Time
	lead, horizon  time.Duration
	kind           []int // kindRest, kindChurner, kindTooLittle, kindNone
	customers      int
	churned, rest  int
	tooLittle      int
	lastRef        int // the evaluation date lead days before the last date
	scoreOverrides [][]float64
}

const (
	kindNone = iota // never a paying customer
	kindRest
	kindChurner
	kindTooLittle
)

func (ev *evaluator) score(i, k int) float64 {
	if ev.scoreOverrides != nil {
		return ev.scoreOverrides[i][k]
	}
	return ev.ts[i].Scores[k]
}

func (ev *evaluator) classify() {
	ev.kind = make([]int, len(ev.ts))
	last := ev.dates[len(ev.dates)-1]
	ev.lastRef = ev.refIndex(last.Add(-ev.lead))
	for i := range ev.ts {
		t := &ev.ts[i]
		paying := false
		for k := range t.Scores {
			if !math.IsNaN(ev.score(i, k)) {
				paying = true
				break
			}
		}
		if !t.Churn.IsZero() {
			ev.kind[i] = kindTooLittle
			lo, hi := t.Churn.Add(-ev.horizon), t.Churn.Add(-ev.lead)
			for k, d := range ev.dates {
				if !d.Before(lo) && !d.After(hi) && !math.IsNaN(ev.score(i, k)) {
					ev.kind[i] = kindChurner
					break
				}
			}
			if ev.kind[i] == kindChurner {
				ev.churned++
			} else {
				ev.tooLittle++
			}
			ev.customers++
			continue
		}
		if paying {
			ev.kind[i] = kindRest
			ev.rest++
			ev.customers++
		}
	}
}

// refIndex is the last evaluation date at or before t (-1: none).
func (ev *evaluator) refIndex(t time.Time) int {
	return sort.Search(len(ev.dates), func(k int) bool { return ev.dates[k].After(t) }) - 1
}

// ref is the evaluation date an account is judged on: lead days before its
// churn, or before the last date for the rest; the latest such date on
// which it paid (-1: none).
func (ev *evaluator) ref(i int) int {
	k := ev.lastRef
	if ev.kind[i] == kindChurner || ev.kind[i] == kindTooLittle {
		k = ev.refIndex(ev.ts[i].Churn.Add(-ev.lead))
	}
	for ; k >= 0; k-- {
		if !math.IsNaN(ev.score(i, k)) {
			return k
		}
	}
	return -1
}

type counts struct {
	detected, flagged, flaggedChurned, flaggedRest int
	leads                                          []int
	first                                          []int // per timeline: first flagged date index in the window, -1
}

// count flags accounts scoring below thr while paying (and before their
// churn) and counts detections with the given lead.
func (ev *evaluator) count(thr float64, lead time.Duration) counts {
	c := counts{first: make([]int, len(ev.ts))}
	for i := range ev.ts {
		c.first[i] = -1
		t := &ev.ts[i]
		kind := ev.kind[i]
		if kind == kindNone {
			continue
		}
		flagged, inHorizon := false, false
		lo, hi := t.Churn.Add(-ev.horizon), t.Churn.Add(-lead)
		for k, d := range ev.dates {
			s := ev.score(i, k)
			if math.IsNaN(s) || s >= thr || (!t.Churn.IsZero() && !d.Before(t.Churn)) {
				continue
			}
			flagged = true
			if t.Churn.IsZero() {
				break
			}
			if !d.Before(lo) {
				inHorizon = true
			}
			if kind == kindChurner && c.first[i] < 0 && !d.Before(lo) && !d.After(hi) {
				c.first[i] = k
			}
		}
		if flagged {
			c.flagged++
			switch {
			case inHorizon && kind != kindRest:
				c.flaggedChurned++
			case kind == kindRest:
				c.flaggedRest++
			}
		}
		if c.first[i] >= 0 {
			c.detected++
			c.leads = append(c.leads, int(t.Churn.Sub(ev.dates[c.first[i]])/day))
		}
	}
	return c
}

// auc is the probability that a churner's score lead days before its churn
// is below a random other customer's score lead days before the last date
// (ties count half): the Mann-Whitney statistic over ranks.
func (ev *evaluator) auc() *float64 {
	type obs struct {
		s     float64
		churn bool
	}
	var xs []obs
	nc, nr := 0, 0
	for i := range ev.ts {
		if ev.kind[i] != kindChurner && ev.kind[i] != kindRest {
			continue
		}
		k := ev.ref(i)
		if k < 0 {
			continue
		}
		ch := ev.kind[i] == kindChurner
		xs = append(xs, obs{ev.score(i, k), ch})
		if ch {
			nc++
		} else {
			nr++
		}
	}
	if nc == 0 || nr == 0 {
		return nil
	}
	// Rank by score descending: a churner ranked after (lower score than) a
	// non-churner is a correctly ordered pair.
	sort.Slice(xs, func(a, b int) bool { return xs[a].s > xs[b].s })
	var pairs float64
	restAbove := 0
	for a := 0; a < len(xs); {
		b := a
		tc, tr := 0, 0
		for b < len(xs) && xs[b].s == xs[a].s {
			if xs[b].churn {
				tc++
			} else {
				tr++
			}
			b++
		}
		pairs += float64(tc) * (float64(restAbove) + float64(tr)/2)
		restAbove += tr
		a = b
	}
	v := math.Round(pairs/float64(nc*nr)*10000) / 10000
	return &v
}

func (ev *evaluator) lifts(names []string) []MeasureLift {
	out := make([]MeasureLift, len(names))
	for j, n := range names {
		var sc, sr float64
		var nc, nr int
		for i := range ev.ts {
			if ev.ts[i].Points == nil || (ev.kind[i] != kindChurner && ev.kind[i] != kindRest) {
				continue
			}
			k := ev.ref(i)
			if k < 0 {
				continue
			}
			p := ev.ts[i].Points[k][j]
			if math.IsNaN(p) {
				continue
			}
			if ev.kind[i] == kindChurner {
				sc, nc = sc+p, nc+1
			} else {
				sr, nr = sr+p, nr+1
			}
		}
		ml := MeasureLift{Name: n}
		if nc > 0 {
			ml.Churners = round1(sc / float64(nc))
		}
		if nr > 0 {
			ml.Rest = round1(sr / float64(nr))
		}
		if nc > 0 && nr > 0 {
			ml.Lift = round1(*ml.Rest - *ml.Churners)
		}
		out[j] = ml
	}
	return out
}

func round1(v float64) *float64 {
	v = math.Round(v*10) / 10
	return &v
}

func (ev *evaluator) churners(thr float64) []ChurnerResult {
	c := ev.count(thr, ev.lead)
	var out []ChurnerResult
	for i := range ev.ts {
		if ev.kind[i] != kindChurner && ev.kind[i] != kindTooLittle {
			continue
		}
		t := &ev.ts[i]
		cr := ChurnerResult{ID: t.Key, Name: t.Name, ChurnedOn: t.Churn.Format(time.DateOnly), Reasons: []string{},
			TooLittleHistory: ev.kind[i] == kindTooLittle}
		k := ev.ref(i)
		if f := c.first[i]; f >= 0 {
			d := ev.dates[f].Format(time.DateOnly)
			l := int(t.Churn.Sub(ev.dates[f]) / day)
			cr.FirstFlaggedOn, cr.LeadDays, cr.Detected = &d, &l, true
			k = f
		}
		if k >= 0 {
			s := ev.score(i, k)
			cr.Score = &s
			if t.reasons != nil {
				if rs := t.reasons(k); rs != nil {
					cr.Reasons = rs
				}
			}
		}
		out = append(out, cr)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].ChurnedOn != out[b].ChurnedOn {
			return out[a].ChurnedOn < out[b].ChurnedOn
		}
		return out[a].ID < out[b].ID
	})
	if out == nil {
		out = []ChurnerResult{}
	}
	return out
}
