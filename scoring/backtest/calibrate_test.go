package backtest

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// synthTimelines: 600 accounts on 52 weekly dates with three measures of
// equal weight. Churn is driven by "usage" alone: a churner's usage points
// sink from 70 towards 10 over the 120 days before its churn; "tickets"
// and "noise" are drawn the same way for everyone.
func synthTimelines(churners int) ([]Timeline, []time.Time, scoring.HealthSettings) {
	r := rand.New(rand.NewPCG(3, 4))
	dates := Dates(date("2026-01-01"), date("2026-12-24"), 7*day)
	h := scoring.HealthSettings{Missing: scoring.MissingReweight, Bands: scoring.Bands{Healthy: 80, Caution: 50}, Measures: []scoring.Measure{
		{Name: "noise", Weight: 10}, {Name: "usage", Weight: 10}, {Name: "tickets", Weight: 10}}}
	ts := make([]Timeline, 600)
	for i := range ts {
		t := &ts[i]
		t.Key = "a" + itoa(i)
		if i < churners {
			t.Churn = dates[0].Add(time.Duration(60+r.IntN(300)) * day)
		}
		t.Scores = make([]float64, len(dates))
		t.Points = make([][]float64, len(dates))
		for k, d := range dates {
			if !t.Churn.IsZero() && !d.Before(t.Churn) {
				t.Scores[k] = math.NaN()
				t.Points[k] = []float64{math.NaN(), math.NaN(), math.NaN()}
				continue
			}
			usage := 50 + 40*r.Float64()
			if !t.Churn.IsZero() {
				if left := t.Churn.Sub(d); left < 120*day {
					usage = 10 + (usage-10)*float64(left)/float64(120*day)
				}
			}
			t.Points[k] = []float64{100 * r.Float64(), usage, 40 + 60*r.Float64()}
		}
	}
	return rescore(ts, h), dates, h
}

func TestCalibrateRecoversTheChurnDriver(t *testing.T) {
	ts, dates, h := synthTimelines(120)
	c := Calibrate(ts, dates, h, CalibrateOptions{Options: Options{LeadDays: 30, HorizonDays: 120}})
	w := map[string]float64{}
	for _, x := range c.Weights {
		w[x.Name] = x.New
	}
	if !(w["usage"] > w["noise"] && w["usage"] > w["tickets"]) {
		t.Fatalf("weights %v: usage drives churn and should weigh most", c.Weights)
	}
	if !c.Reliable || len(c.Warnings) != 0 {
		t.Errorf("reliable = %v, warnings %q (fit %d, test %d churners)", c.Reliable, c.Warnings, c.FitChurners, c.TestChurners)
	}
	// On the newer half the suggestion holds the target with fewer false
	// alarms than the equal weights.
	if c.After.DetectionRate == nil || *c.After.DetectionRate < 0.8 || c.Before.Precision == nil || c.After.Precision == nil ||
		*c.After.Precision <= *c.Before.Precision {
		t.Errorf("validation: before detection %v precision %v, after %v %v; want after >= 0.8 detection at a better precision",
			ptr(c.Before.DetectionRate), ptr(c.Before.Precision), ptr(c.After.DetectionRate), ptr(c.After.Precision))
	}
	y := c.YAML()
	for _, want := range []string{"scoring:\n  health:\n", "      - name: usage\n", "# was 10: churners averaged", "      caution: "} {
		if !strings.Contains(y, want) {
			t.Errorf("YAML lacks %q:\n%s", want, y)
		}
	}
}

func TestCalibrateSaysTooFewChurners(t *testing.T) {
	ts, dates, h := synthTimelines(12)
	c := Calibrate(ts, dates, h, CalibrateOptions{Options: Options{LeadDays: 30, HorizonDays: 120}})
	if c.Reliable || len(c.Warnings) == 0 || !strings.Contains(c.Warnings[0], "fewer than 20 in a half") {
		t.Errorf("reliable = %v, warnings %q; want a warning about too few churners", c.Reliable, c.Warnings)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
