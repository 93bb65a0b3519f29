package backtest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/healthsync/healthsync/scoring"
)

// CalibrateOptions choose how Calibrate fits the model.
type CalibrateOptions struct {
	Options
	// Target is the detection rate to reach (default 0.80).
	Target float64
}

// Calibration is a suggested health model fitted to the history, with
// its validation on the newer half of the period.
type Calibration struct {
	// FitFrom/FitTo and TestFrom/TestTo are the two halves of the
	// evaluation dates: the model is fitted on the older, validated on the
	// newer.
	FitFrom, FitTo, TestFrom, TestTo string
	FitChurners, TestChurners        int
	// Reliable is false with fewer than MinChurners churners in either
	// half; Warnings say why.
	Reliable bool
	Warnings []string
	Target   float64
	Flag     string
	Weights  []WeightChange
	// Old and New are the band boundaries.
	Old, New scoring.Bands
	// Before and After are detection and precision on the newer half with
	// the configured and the suggested model.
	Before, After Validation
	// Suggested is the health section with the new weights and bands.
	Suggested scoring.HealthSettings
}

// WeightChange is one measure's weight before and after, with the fitted
// logistic coefficient (per 100 points lost) and why it moved.
type WeightChange struct {
	Name        string  `json:"name"`
	Old         float64 `json:"old"`
	New         float64 `json:"new"`
	Coefficient float64 `json:"coefficient"`
	Why         string  `json:"why"`
}

// Validation is detection and precision on the validation half.
type Validation struct {
	DetectionRate *float64 `json:"detection_rate"`
	Precision     *float64 `json:"precision"`
	Flagged       int      `json:"flagged"`
	Churned       int      `json:"churned"`
}

// Calibrate fits the measure weights and the flag threshold to replayed
// timelines (with Points). Weights: a logistic regression of churn on the
// measures' points lead days before the outcome (churners lead days before
// their churn, the rest lead days before the end of the fitting half), each
// measure's input being the share of its points lost, (100 - points) / 100,
// a missing measure as the missing-data policy scores it; L2-regularised and fitted with gonum's
// BFGS. A measure's new weight is its positive coefficient's share of the
// configured total weight (at least 1: a weight must be positive). Worked
// example: coefficients logins 3.0, nps 1.0, tickets -0.2 with a total
// weight 40 give logins 30, nps 10, tickets 1.
//
// Threshold: on the fitting half with the new weights, the flag boundary
// (caution for flag at_risk, healthy for flag caution) from 1 to 99 that
// reaches the target detection at the best precision (the highest detection
// when none reaches it).
func Calibrate(ts []Timeline, dates []time.Time, h scoring.HealthSettings, o CalibrateOptions) Calibration {
	o.defaults()
	if o.Target == 0 {
		o.Target = 0.80
	}
	c := Calibration{Target: o.Target, Flag: o.Flag, Old: h.Bands, New: h.Bands, Suggested: h, Warnings: []string{}}
	if len(dates) < 4 {
		c.Warnings = append(c.Warnings, "fewer than 4 evaluation dates: nothing to calibrate on")
		return c
	}
	split := len(dates) / 2
	fitDates, testDates := dates[:split], dates[split:]
	c.FitFrom, c.FitTo = fitDates[0].Format(time.DateOnly), fitDates[len(fitDates)-1].Format(time.DateOnly)
	c.TestFrom, c.TestTo = testDates[0].Format(time.DateOnly), testDates[len(testDates)-1].Format(time.DateOnly)
	fit, test := slice(ts, 0, split, fitDates[len(fitDates)-1]), slice(ts, split, len(dates), dates[len(dates)-1])

	lead, horizon := time.Duration(o.LeadDays)*day, time.Duration(o.HorizonDays)*day
	ev := evaluator{ts: fit, dates: fitDates, lead: lead, horizon: horizon}
	ev.classify()
	tv := evaluator{ts: test, dates: testDates, lead: lead, horizon: horizon}
	tv.classify()
	c.FitChurners, c.TestChurners = ev.churned, tv.churned
	c.Reliable = ev.churned >= MinChurners && tv.churned >= MinChurners
	if !c.Reliable {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d churners to fit on and %d to validate on (fewer than %d in a half): "+
			"a weight fitted on so few accounts follows their accidents, and the validation moves by %d points per churner; "+
			"treat the suggestion as a hint and widen the period with --from", ev.churned, tv.churned, MinChurners,
			int(math.Round(100/math.Max(1, float64(min(ev.churned, tv.churned)))))))
	}

	// Samples: one per account, on its reference date. A missing measure
	// gets the input the missing-data policy gives it: the mean of the
	// present ones with reweight (it does not count, so its absence must
	// not teach anything), 50 points with neutral, 0 with zero.
	nm := len(h.Measures)
	var xs [][]float64
	var ys []float64
	for i := range fit {
		if ev.kind[i] != kindChurner && ev.kind[i] != kindRest || fit[i].Points == nil {
			continue
		}
		k := ev.ref(i)
		if k < 0 {
			continue
		}
		x := make([]float64, nm)
		for j, p := range fit[i].Points[k] {
			x[j] = math.NaN()
			switch {
			case !math.IsNaN(p):
				x[j] = (100 - p) / 100
			case h.Missing == scoring.MissingNeutral:
				x[j] = 0.5
			case h.Missing == scoring.MissingZero:
				x[j] = 1
			}
		}
		xs = append(xs, x)
		y := 0.0
		if ev.kind[i] == kindChurner {
			y = 1
		}
		ys = append(ys, y)
	}
	for j := 0; j < nm; j++ {
		var sum float64
		n := 0
		for _, x := range xs {
			if !math.IsNaN(x[j]) {
				sum, n = sum+x[j], n+1
			}
		}
		mean := 0.5
		if n > 0 {
			mean = sum / float64(n)
		}
		for _, x := range xs {
			if math.IsNaN(x[j]) {
				x[j] = mean
			}
		}
	}
	// A measure with no variation in the samples (missing for everyone,
	// or the same points everywhere) says nothing: it keeps its weight.
	varies := make([]bool, nm)
	for j := range varies {
		for i := 1; i < len(xs) && !varies[j]; i++ {
			varies[j] = math.Abs(xs[i][j]-xs[0][j]) > 1e-9
		}
		if !varies[j] {
			for i := range xs {
				xs[i][j] = 0
			}
		}
	}
	coef := logistic(xs, ys, nm)
	total, pos := 0.0, 0.0
	for _, m := range h.Measures {
		total += m.Weight
	}
	for _, b := range coef {
		pos += math.Max(0, b)
	}
	c.Suggested.Measures = append([]scoring.Measure(nil), h.Measures...)
	for j := range c.Suggested.Measures {
		m := &c.Suggested.Measures[j]
		w := 1.0
		if pos > 0 && coef[j] > 0 {
			w = math.Max(1, math.Round(coef[j]/pos*total))
		}
		reason := why(ev, fit, j)
		switch {
		case pos == 0:
			w = m.Weight // nothing learned: keep the weights
		case !varies[j]:
			w, reason = m.Weight, "no variation in the history to learn from, kept"
		}
		c.Weights = append(c.Weights, WeightChange{Name: m.Name, Old: m.Weight, New: w, Coefficient: math.Round(coef[j]*1000) / 1000,
			Why: reason})
		m.Weight = w
	}

	// Threshold on the fitting half with the new weights.
	refit := rescore(fit, c.Suggested)
	ev.ts = refit
	best, bestDet, bestPrec := -1.0, -1.0, -1.0
	for t := 1.0; t <= 99; t++ {
		cn := ev.count(t, lead)
		det := frac(cn.detected, ev.churned)
		prec := frac(cn.flaggedChurned, cn.flagged)
		reach, bestReach := det >= o.Target-1e-9, bestDet >= o.Target-1e-9
		switch {
		case best < 0,
			reach && !bestReach,
			reach && bestReach && prec > bestPrec+1e-12,
			!reach && !bestReach && det > bestDet+1e-12:
			best, bestDet, bestPrec = t, det, prec
		}
	}
	if best > 0 {
		c.New = withThreshold(h.Bands, o.Flag, best)
		if bestDet < o.Target-1e-9 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("no threshold reaches %.0f%% detection on the older half (best %.0f%%): "+
				"the measures do not see enough of the churn coming; add a measure (see the missed churners' reasons)", o.Target*100, bestDet*100))
		}
	}
	c.Suggested.Bands = c.New

	c.Before = validate(test, testDates, h, o.Options)
	c.After = validate(test, testDates, c.Suggested, o.Options)
	return c
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// slice returns the timelines on dates [from, to); a churn after end or
// before the first date is dropped (not an outcome of that part).
func slice(ts []Timeline, from, to int, end time.Time) []Timeline {
	out := make([]Timeline, len(ts))
	for i, t := range ts {
		nt := Timeline{Key: t.Key, Name: t.Name, Scores: t.Scores[from:to], Churn: t.Churn}
		if t.Points != nil {
			nt.Points = t.Points[from:to]
		}
		if nt.Churn.After(end) {
			nt.Churn = time.Time{}
		}
		out[i] = nt
	}
	return out
}

// rescore recomputes the scores from the points with h's weights and
// missing-data policy (scoreHealth's formula; a CRM override is not
// replayed). Dates on which the account did not pay stay NaN.
func rescore(ts []Timeline, h scoring.HealthSettings) []Timeline {
	out := make([]Timeline, len(ts))
	for i, t := range ts {
		nt := t
		nt.Scores = make([]float64, len(t.Scores))
		for k, s := range t.Scores {
			if math.IsNaN(s) || t.Points == nil {
				nt.Scores[k] = s
				continue
			}
			var sum, den float64
			for j, p := range t.Points[k] {
				w := h.Measures[j].Weight
				switch {
				case !math.IsNaN(p):
					sum, den = sum+p*w, den+w
				case h.Missing == scoring.MissingNeutral:
					sum, den = sum+50*w, den+w
				case h.Missing == scoring.MissingZero:
					den += w
				}
			}
			if den > 0 {
				nt.Scores[k] = math.Round(sum/den*10) / 10
			} else {
				nt.Scores[k] = 0
			}
		}
		out[i] = nt
	}
	return out
}

func validate(ts []Timeline, dates []time.Time, h scoring.HealthSettings, o Options) Validation {
	r := Evaluate(rescore(ts, h), dates, nil, h.Bands, o)
	return Validation{DetectionRate: r.DetectionRate, Precision: r.Precision, Flagged: r.Flagged, Churned: r.Churned}
}

func withThreshold(b scoring.Bands, flag string, t float64) scoring.Bands {
	gap := b.Healthy - b.Caution
	if flag == scoring.BandCaution {
		b.Healthy = t
		if b.Caution >= t {
			b.Caution = math.Max(1, t-gap)
		}
		return b
	}
	b.Caution = t
	if b.Healthy <= t {
		b.Healthy = math.Min(100, t+gap)
	}
	return b
}

// why explains a measure's weight by its mean points on the reference
// dates, churners against the rest.
func why(ev evaluator, ts []Timeline, j int) string {
	ev.ts = ts
	l := ev.lifts(make([]string, j+1))[j]
	if l.Churners == nil || l.Rest == nil {
		return "no data for churners or the rest"
	}
	return "churners averaged " + strconv.FormatFloat(*l.Churners, 'f', 0, 64) + " points, the rest " +
		strconv.FormatFloat(*l.Rest, 'f', 0, 64)
}

// logistic fits P(y=1) = 1 / (1 + exp(-(b0 + sum b_j x_j))) by maximum
// likelihood with an L2 penalty of 0.01 x n on the slopes, and returns the
// slopes.
func logistic(xs [][]float64, ys []float64, nm int) []float64 {
	out := make([]float64, nm)
	if len(xs) == 0 {
		return out
	}
	lambda := 0.01 * float64(len(xs))
	p := optimize.Problem{
		Func: func(b []float64) float64 {
			var nll float64
			for i, x := range xs {
				z := b[0]
				for j, v := range x {
					z += b[j+1] * v
				}
				// log(1 + e^z) - y z, computed stably
				nll += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - ys[i]*z
			}
			for _, v := range b[1:] {
				nll += lambda / 2 * v * v
			}
			return nll
		},
		Grad: func(g, b []float64) {
			clear(g)
			for i, x := range xs {
				z := b[0]
				for j, v := range x {
					z += b[j+1] * v
				}
				d := 1/(1+math.Exp(-z)) - ys[i]
				g[0] += d
				for j, v := range x {
					g[j+1] += d * v
				}
			}
			for j := 1; j < len(b); j++ {
				g[j] += lambda * b[j]
			}
		},
	}
	res, err := optimize.Minimize(p, make([]float64, nm+1), nil, &optimize.BFGS{})
	if err != nil && res == nil {
		return out
	}
	copy(out, res.X[1:])
	return out
}

// YAML prints the suggested `scoring.health` section with a comment on
// every change.
func (c Calibration) YAML() string {
	var b strings.Builder
	h := c.Suggested
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	b.WriteString("scoring:\n  health:\n")
	if h.Missing != "" {
		b.WriteString("    missing: " + h.Missing + "\n")
	}
	b.WriteString("    bands:\n")
	band := func(name string, old, nw float64) {
		b.WriteString("      " + name + ": " + num(nw))
		if old != nw {
			b.WriteString("  # was " + num(old) + fmt.Sprintf(": reaches %.0f%% detection at the best precision on %s..%s", c.Target*100, c.FitFrom, c.FitTo))
		}
		b.WriteString("\n")
	}
	band("healthy", c.Old.Healthy, c.New.Healthy)
	band("caution", c.Old.Caution, c.New.Caution)
	if h.TrendDays != 0 {
		b.WriteString("    trend_days: " + strconv.Itoa(h.TrendDays) + "\n")
	}
	if h.OverrideField != "" {
		b.WriteString("    override_field: " + h.OverrideField + "\n")
	}
	b.WriteString("    measures:\n")
	for j, m := range h.Measures {
		b.WriteString("      - name: " + m.Name + "\n")
		field := func(k, v string) {
			if v != "" {
				b.WriteString("        " + k + ": " + v + "\n")
			}
		}
		if m.Label != "" && m.Label != m.Name {
			field("label", strconv.Quote(m.Label))
		}
		field("signal", m.Signal)
		field("derived", m.Derived)
		field("field", m.Field)
		field("aggregation", m.Aggregation)
		if m.WindowDays != 0 {
			field("window_days", strconv.Itoa(m.WindowDays))
		}
		if m.Direction != scoring.HigherIsBetter {
			field("direction", m.Direction)
		}
		if len(m.Steps) > 0 {
			b.WriteString("        steps:\n")
			for _, st := range m.Steps {
				b.WriteString("          - {at: " + num(st.At) + ", points: " + num(st.Points) + "}\n")
			}
		} else {
			field("good", num(m.Good))
			field("poor", num(m.Poor))
		}
		b.WriteString("        weight: " + num(m.Weight))
		if j < len(c.Weights) {
			w := c.Weights[j]
			if w.Old != w.New {
				b.WriteString("  # was " + num(w.Old) + ": " + w.Why)
			} else {
				b.WriteString("  # unchanged: " + w.Why)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
