package scoring

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// ScorePoint is a past health score.
type ScorePoint struct {
	Time  time.Time `json:"time"`
	Score float64   `json:"score"`
}

// MeasureResult is one measure's contribution to the health score.
type MeasureResult struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`   // raw value (logins, days, fraction...)
	Missing bool    `json:"missing"` // no data; see HealthSettings.Missing
	Points  float64 `json:"points"`  // 0-100 for this measure
	Weight  float64 `json:"weight"`  // as configured
	// Lost is the score points this measure cost: (100 - points) x weight /
	// total weight, after the missing-data policy.
	Lost float64 `json:"lost"`
}

// Health is an account's health score.
type Health struct {
	Score         float64         `json:"score"`          // 0-100, one decimal; the override when set
	ComputedScore float64         `json:"computed_score"` // the model's score
	Band          string          `json:"band"`           // healthy, caution, at_risk
	Override      bool            `json:"override"`       // the score comes from the CRM override field
	Trend         float64         `json:"trend"`          // Score - score TrendDays ago (0 when unknown)
	PreviousScore float64         `json:"previous_score"` // the score TrendDays ago, Score when unknown
	TrendKnown    bool            `json:"trend_known"`
	Reasons       []string        `json:"reasons"` // up to three, the measures that cost the most points
	Missing       []string        `json:"missing,omitempty"`
	Measures      []MeasureResult `json:"measures"`
	// Inactive is set for an account that is not a live customer and is
	// not scored like one (InactiveChurned, InactiveProspect): Score, Band,
	// Trend and Reasons are then the frozen values of its last live score
	// (treatment freeze) or empty (clear); Measures are still computed.
	Inactive string `json:"inactive,omitempty"`
}

// LastHealth is the health an earlier run stored for an account.
type LastHealth struct {
	Score   float64
	Band    string
	Reasons []string
}

// inactiveHealth applies the treatment of an account that is not a live
// customer. Worked example: a customer scored 64 (caution) churns; under
// freeze every later run reports 64, caution, trend 0 and the reasons of
// that last score; under clear 0, no band, no reasons.
func inactiveHealth(h *Health, kind, treatment string, last *LastHealth) {
	h.Inactive = kind
	h.Score, h.Band, h.Trend, h.Reasons, h.PreviousScore, h.TrendKnown = 0, "", 0, nil, 0, false
	if treatment == InactiveFreeze && last != nil {
		h.Score, h.Band, h.PreviousScore = last.Score, last.Band, last.Score
		h.Reasons = append([]string(nil), last.Reasons...)
	}
}

// derivedValues are the non-signal inputs of measures, computed once per
// account. NaN means missing.
type derivedValues struct {
	daysToRenewal, failed90, mrrTrend, openInvoices, openDeals, daysSinceStart, planUsage float64
}

func (d *derivedValues) get(name string) float64 {
	switch name {
	case DerivedDaysToRenewal:
		return d.daysToRenewal
	case DerivedFailedPayments90d:
		return d.failed90
	case DerivedMRRTrend:
		return d.mrrTrend
	case DerivedOpenInvoices:
		return d.openInvoices
	case DerivedOpenDeals:
		return d.openDeals
	case DerivedDaysSinceStart:
		return d.daysSinceStart
	case DerivedPlanUsage:
		return d.planUsage
	}
	return math.NaN()
}

// aggregateSignals aggregates the signals of metric in the window
// (asOf - days, asOf]. It returns NaN when the account has no observation
// of the metric in the window, except count and sum, which are 0 when the
// account has the metric at all (an account that reports logins and had none
// this month has 0 logins, not missing data).
//
// Worked example: logins on days -1, -3 and -40 with values 2, 1, 5 and a
// 28-day window: count 2, sum 3, avg 1.5, last 2 (the latest), days_since 1.
func aggregateSignals(signals []record.Signal, metric, agg string, days int, asOf time.Time) float64 {
	var idx signalIndex
	idx.build(signals, []string{metric})
	return idx.aggregate(0, agg, days, asOf)
}

// signalIndex holds an account's signals of the metrics scoring needs in a
// compact form (Unix nanoseconds, metric number), built once per account.
type signalIndex struct {
	names []string
	pts   []sigPoint // grouped by metric: metric m is pts[off[m]:off[m+1]]
	tmp   []sigPoint
	off   []int
	seen  []bool
}

type sigPoint struct {
	t int64
	v float64
	m int
}

func (x *signalIndex) build(signals []record.Signal, names []string) {
	x.names = names
	x.tmp = x.tmp[:0]
	if cap(x.seen) < len(names) {
		x.seen = make([]bool, len(names))
		x.off = make([]int, len(names)+1)
	}
	x.seen = x.seen[:len(names)]
	x.off = x.off[:len(names)+1]
	clear(x.seen)
	clear(x.off)
	for i := range signals {
		s := &signals[i]
		for m, n := range names {
			if s.Metric == n {
				x.tmp = append(x.tmp, sigPoint{t: s.Time.UnixNano(), v: s.Value, m: m})
				x.seen[m] = true
				x.off[m+1]++
				break
			}
		}
	}
	// counting sort by metric
	for m := 1; m < len(x.off); m++ {
		x.off[m] += x.off[m-1]
	}
	if cap(x.pts) < len(x.tmp) {
		x.pts = make([]sigPoint, len(x.tmp), 2*len(x.tmp))
	}
	x.pts = x.pts[:len(x.tmp)]
	var posBuf [16]int
	pos := append(posBuf[:0], x.off[:len(names)]...)
	for _, p := range x.tmp {
		x.pts[pos[p.m]] = p
		pos[p.m]++
	}
}

func (x *signalIndex) lookup(metric string) int {
	for i, n := range x.names {
		if n == metric {
			return i
		}
	}
	return -1
}

// aggregate is aggregateSignals over the metric numbered m.
func (x *signalIndex) aggregate(m int, agg string, days int, asOf time.Time) float64 {
	if m < 0 || !x.seen[m] {
		return math.NaN()
	}
	to := asOf.UnixNano()
	from := to - int64(days)*int64(day)
	var n int
	var sum, lastV float64
	last, lastPos := int64(math.MinInt64), int64(math.MinInt64)
	lo, hi := math.Inf(1), math.Inf(-1)
	pts := x.pts[x.off[m]:x.off[m+1]]
	for i := range pts {
		p := &pts[i]
		if p.t <= from || p.t > to {
			continue
		}
		n++
		sum += p.v
		if p.v < lo {
			lo = p.v
		}
		if p.v > hi {
			hi = p.v
		}
		if p.t >= last {
			last, lastV = p.t, p.v
		}
		if p.v > 0 && p.t > lastPos {
			lastPos = p.t
		}
	}
	switch agg {
	case AggCount:
		return float64(n)
	case AggSum:
		return sum
	}
	if n == 0 {
		return math.NaN()
	}
	switch agg {
	case AggAvg:
		return sum / float64(n)
	case AggMax:
		return hi
	case AggMin:
		return lo
	case AggDaysSince:
		if lastPos == math.MinInt64 {
			return math.NaN()
		}
		return math.Floor(float64(to-lastPos) / float64(day))
	default:
		return lastV
	}
}

// measurePoints turns a value into 0-100 points. Linear: poor gives 0, good
// gives 100, in between proportionally, clamped; the same formula serves
// both directions because good < poor for lower-is-better. Worked example:
// open tickets good 0, poor 5, value 2: (2-5)/(0-5) = 60 points. Steps: the
// first step reached gives its points (days to renewal 45 with steps
// 90:100, 30:70, 0:40 gives 70).
func measurePoints(ms *Measure, v float64) float64 {
	if len(ms.Steps) > 0 {
		lower := ms.Direction == LowerIsBetter
		for _, st := range ms.Steps {
			if (!lower && v >= st.At) || (lower && v <= st.At) {
				return st.Points
			}
		}
		return 0
	}
	if ms.Good == ms.Poor {
		return 0
	}
	p := (v - ms.Poor) / (ms.Good - ms.Poor) * 100
	return math.Max(0, math.Min(100, p))
}

// fieldNumber reads a numeric CRM field value (float64, numeric string or
// bool); ok is false when absent or not a number.
func fieldNumber(fields map[string]any, name string) (float64, bool) {
	v, ok := fields[name]
	if !ok || v == nil {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// scoreHealth computes the health score. The score is the weighted mean of
// the measures' points:
//
//	score = sum(points_i x w_i) / sum(w_i)
//
// over present measures with the reweight policy (default), over all
// measures with a missing one scoring 50 (neutral) or 0 (zero). Worked
// example: logins 75 points (w 20), NPS 40 points (w 10), tickets missing
// (w 10): reweight gives (75x20 + 40x10)/30 = 63.3; neutral
// (1500+400+500)/40 = 60; zero 1900/40 = 47.5.
//
// Bands: >= healthy (80) healthy, >= caution (50) caution, else at_risk. The
// trend is the score minus the latest score at or before asOf - TrendDays.
// Reasons are the three measures that lost the most points, as text.
func scoreHealth(h *HealthSettings, in *AccountInput, sx *signalIndex, dv *derivedValues, asOf time.Time) Health {
	res := Health{Measures: make([]MeasureResult, len(h.Measures))}
	var totalW, presentW, sum float64
	for i := range h.Measures {
		ms := &h.Measures[i]
		v := math.NaN()
		switch {
		case ms.Signal != "":
			v = sx.aggregate(sx.lookup(ms.Signal), ms.Aggregation, ms.WindowDays, asOf)
		case ms.Derived != "":
			v = dv.get(ms.Derived)
		case ms.Field != "":
			if f, ok := fieldNumber(in.Account.Fields, ms.Field); ok {
				v = f
			}
		}
		mr := MeasureResult{Name: ms.Name, Weight: ms.Weight}
		totalW += ms.Weight
		if math.IsNaN(v) {
			mr.Missing = true
			res.Missing = append(res.Missing, ms.Name)
			switch h.Missing {
			case MissingNeutral:
				mr.Points = 50
			case MissingZero:
				mr.Points = 0
			}
		} else {
			mr.Value = v
			mr.Points = measurePoints(ms, v)
			presentW += ms.Weight
		}
		res.Measures[i] = mr
	}
	denom := totalW
	if h.Missing == MissingReweight || h.Missing == "" {
		denom = presentW
	}
	for i := range res.Measures {
		mr := &res.Measures[i]
		if mr.Missing && (h.Missing == MissingReweight || h.Missing == "") {
			continue
		}
		if denom > 0 {
			sum += mr.Points * mr.Weight
			mr.Lost = (100 - mr.Points) * mr.Weight / denom
		}
	}
	score := 0.0
	if denom > 0 {
		score = sum / denom
	}
	score = math.Round(score*10) / 10
	res.ComputedScore = score
	res.Score = score
	if h.OverrideField != "" {
		if f, ok := fieldNumber(in.Account.Fields, h.OverrideField); ok {
			res.Score = math.Max(0, math.Min(100, f))
			res.Override = true
		}
	}
	res.Band = BandFor(res.Score, h.Bands)
	res.PreviousScore = res.Score
	if h.TrendDays > 0 {
		cut := asOf.Add(-time.Duration(h.TrendDays) * 24 * time.Hour)
		var best time.Time
		for _, p := range in.ScoreHistory {
			if !p.Time.After(cut) && !p.Time.Before(best) {
				best = p.Time
				res.PreviousScore = p.Score
				res.TrendKnown = true
			}
		}
		if res.TrendKnown {
			res.Trend = math.Round((res.Score-res.PreviousScore)*10) / 10
		}
	}
	res.Reasons = topReasons(h, res.Measures, res.Override)
	return res
}

// BandFor returns the band of a score.
func BandFor(score float64, b Bands) string {
	switch {
	case score >= b.Healthy:
		return BandHealthy
	case score >= b.Caution:
		return BandCaution
	}
	return BandAtRisk
}

// topReasons: the three measures that cost the most points (at least half
// a point), as "logins in 28 days: 3 (good 12 or more), -15 pts".
func topReasons(h *HealthSettings, mrs []MeasureResult, override bool) []string {
	var top [3]int
	n := 0
	for i := range mrs {
		if mrs[i].Lost < 0.5 {
			continue
		}
		// insert i into top (sorted by Lost, descending; earlier wins ties)
		j := n
		if j < 3 {
			n++
		} else if mrs[i].Lost <= mrs[top[2]].Lost {
			continue
		} else {
			j = 2
		}
		for j > 0 && mrs[i].Lost > mrs[top[j-1]].Lost {
			top[j] = top[j-1]
			j--
		}
		top[j] = i
	}
	out := make([]string, 0, n+1)
	if override {
		out = append(out, "score set manually in the CRM")
	}
	for _, i := range top[:n] {
		ms := &h.Measures[i]
		mr := &mrs[i]
		lost := strconv.FormatFloat(math.Round(mr.Lost), 'f', 0, 64)
		if mr.Missing {
			out = append(out, "no data for "+ms.Label+", -"+lost+" pts")
			continue
		}
		out = append(out, ms.Label+": "+formatValue(ms, mr.Value)+" ("+goodText(ms)+"), -"+lost+" pts")
	}
	return out
}

func formatValue(ms *Measure, v float64) string {
	if ms.Derived == DerivedMRRTrend || ms.Derived == DerivedPlanUsage {
		return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
	}
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func goodText(ms *Measure) string {
	good := ms.Good
	if len(ms.Steps) > 0 {
		good = ms.Steps[0].At
	}
	g := formatValue(ms, good)
	if ms.Direction == LowerIsBetter {
		return "good " + g + " or less"
	}
	return "good " + g + " or more"
}
