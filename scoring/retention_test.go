package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// series builds an AccountResult from month values, the first being the
// month before the series (PrevMRR).
func series(key string, first Month, touch string, prev int64, mrr ...int64) AccountResult {
	ar := AccountResult{Key: key, Touch: touch, PrevMRR: prev, LoginsPerWeek: -1, FeaturesUsed: -1, TimeToValueDays: -1}
	had := prev > 0
	p := prev
	for i, v := range mrr {
		ar.Months = append(ar.Months, MonthMRR{Month: first + Month(i), MRR: v, Delta: v - p, Kind: Classify(p, v, had)})
		if p > 0 {
			had = true
		}
		p = v
	}
	ar.MRR = p
	ar.ARR = 12 * p
	ar.AsOf = (first + Month(len(mrr)-1)).LastInstant()
	return ar
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPortfolioWorkedExample(t *testing.T) {
	m0 := MonthFor(2026, 9)
	accounts := []AccountResult{
		series("a", m0, TouchHigh, 100000, 110000, 120000),
		series("b", m0, TouchLow, 50000, 50000, 0),
		series("c", m0, TouchLow, 0, 0, 30000),
	}
	s := DefaultSettings()
	p := Portfolio(accounts, m0, m0+1, s)
	r := p.Retention
	if r.MRRStart != 150000 || r.MRR != 150000 || r.ARR != 1800000 {
		t.Errorf("MRR %d -> %d ARR %d", r.MRRStart, r.MRR, r.ARR)
	}
	wantMv := Movements{MRRStart: 150000, New: 30000, Expansion: 20000, Churn: 50000, MRREnd: 150000}
	if r.Movements != wantMv {
		t.Errorf("movements %+v, want %+v", r.Movements, wantMv)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"NRR", r.NRR, 120000.0 / 150000},
		{"GRR", r.GRR, 100000.0 / 150000},
		{"CRR", r.CRR, 0.5},
		{"logo churn", r.LogoChurn, 0.5},
		{"revenue churn", r.RevenueChurn, 50000.0 / 150000},
		// monthly: month 1 lost 0 of 150,000; month 2 lost 50,000 of 160,000
		{"monthly revenue churn", r.RevenueChurnMonthly, 50000.0 / 310000},
	}
	for _, c := range checks {
		if !approx(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.Customers != 2 || r.CustomersStart != 2 || r.NewCustomers != 1 || r.ARPA != 75000 {
		t.Errorf("customers %d/%d new %d ARPA %d", r.CustomersStart, r.Customers, r.NewCustomers, r.ARPA)
	}
	if want := int64(math.Round(75000 / (50000.0 / 310000))); r.LTV != want {
		t.Errorf("LTV %d, want %d", r.LTV, want)
	}
	if len(p.Months) != 2 || p.Months[1].Churn != 50000 || p.Months[1].New != 30000 || p.Months[1].ChurnedCustomers != 1 || p.Months[0].Customers != 2 {
		t.Errorf("months %+v", p.Months)
	}
	segs := map[string]Retention{}
	for _, sg := range p.Segments {
		segs[sg.Dimension+"="+sg.Value] = sg.Retention
	}
	// b churned: it counts in the tier its starting ARR gave it (600,000
	// JPY a year: tech touch), not in its last label, so low touch holds
	// only the new account c.
	if low := segs["touch=low"]; low.MRRStart != 0 || low.MRR != 30000 || low.NewCustomers != 1 {
		t.Errorf("low-touch segment %+v", low)
	}
	if tech := segs["touch=tech"]; tech.MRRStart != 50000 || tech.MRR != 0 || !approx(tech.NRR, 0) || tech.LogoChurn != 1 {
		t.Errorf("tech-touch segment %+v", tech)
	}
	if high := segs["touch=high"]; !approx(high.NRR, 1.2) || high.GRR != 1 {
		t.Errorf("high-touch segment NRR %v GRR %v", high.NRR, high.GRR)
	}
	// Cohort: c starts in 2026-10 (a and b started before the series).
	if len(p.Cohorts) != 1 || p.Cohorts[0].Start != m0+1 || p.Cohorts[0].Accounts != 1 || p.Cohorts[0].Logo[0] != 1 {
		t.Errorf("cohorts %+v", p.Cohorts)
	}
	var nrr TargetStatus
	for _, ts := range p.Targets {
		if ts.Metric == "nrr" {
			nrr = ts
		}
	}
	if !nrr.Known || nrr.Met || !approx(nrr.Actual, 0.8) {
		t.Errorf("NRR target %+v", nrr)
	}
}

func TestPortfolioNoChangeIsFullRetention(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m0 := MonthFor(2026, 1)
	for trial := 0; trial < 50; trial++ {
		var accounts []AccountResult
		for i := 0; i < 1+r.IntN(30); i++ {
			v := r.Int64N(1000000)
			accounts = append(accounts, series("x", m0, TouchTech, v, v))
		}
		p := Portfolio(accounts, m0, m0, DefaultSettings())
		if p.MRRStart == 0 {
			continue
		}
		if !approx(p.NRR, 1) || !approx(p.GRR, 1) || p.LogoChurn != 0 || p.RevenueChurn != 0 {
			t.Fatalf("no-change month: NRR %v GRR %v logo churn %v revenue churn %v", p.NRR, p.GRR, p.LogoChurn, p.RevenueChurn)
		}
		if !p.LTVUnbounded || p.LTV != 0 {
			t.Fatalf("no churn must give an unbounded LTV")
		}
	}
}

func TestPortfolioMovementsSumToChange(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m0 := MonthFor(2025, 1)
	var accounts []AccountResult
	for i := 0; i < 300; i++ {
		vals := make([]int64, 12)
		for k := range vals {
			if r.IntN(3) > 0 {
				vals[k] = r.Int64N(100000)
			}
		}
		accounts = append(accounts, series("x", m0, TouchTech, r.Int64N(2)*r.Int64N(100000), vals...))
	}
	p := Portfolio(accounts, m0, m0+11, DefaultSettings())
	for _, m := range p.Months {
		if m.MRRStart+m.New+m.Expansion+m.Reactivation-m.Contraction-m.Churn != m.MRREnd {
			t.Fatalf("%s: movements %+v do not sum to the change", m.Month, m.Movements)
		}
	}
	mv := p.Movements
	if mv.MRRStart+mv.New+mv.Expansion+mv.Reactivation-mv.Contraction-mv.Churn != mv.MRREnd {
		t.Fatalf("period movements %+v do not sum", mv)
	}
	if p.GRR > 1 || p.NRR < 0 {
		t.Fatalf("GRR %v NRR %v", p.GRR, p.NRR)
	}
}

func TestPortfolioOnboarding(t *testing.T) {
	m0 := MonthFor(2026, 1)
	mk := func(start time.Time, onboarded bool, ttv float64) AccountResult {
		ar := series("x", m0, TouchTech, 0, 1000, 1000, 1000, 1000, 1000, 1000)
		ar.Start, ar.Onboarded, ar.TimeToValueDays = start, onboarded, ttv
		return ar
	}
	accounts := []AccountResult{
		mk(date(2026, 1, 5), true, 10),
		mk(date(2026, 1, 10), true, 40),
		mk(date(2026, 2, 1), false, -1), // due (90 days passed by 06-30), not onboarded
		mk(date(2026, 6, 1), false, -1), // not due yet: not counted
		mk(date(2025, 6, 1), true, 5),   // started before the period
	}
	p := Portfolio(accounts, m0, m0+5, DefaultSettings())
	if p.OnboardingEligible != 3 || !approx(p.OnboardingCompletion, 2.0/3) || p.MedianTimeToValueDays != 25 {
		t.Errorf("eligible %d completion %v median %v", p.OnboardingEligible, p.OnboardingCompletion, p.MedianTimeToValueDays)
	}
}
