package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// asOf is the report day of the build tests; the default period is
// 2025-12 to 2026-11 and the series run 2025-12 to 2026-12.
var asOf = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// member builds a scored account whose MRR was prev in 2025-11 and then
// takes the values given, one per month from 2025-12 to 2026-12.
func member(id, touch, band string, score float64, phase string, prev int64, mrr ...int64) Member {
	first := scoring.MonthFor(2025, time.December)
	res := scoring.AccountResult{Key: "salesforce/" + id, ID: id, Currency: "JPY", AsOf: asOf, PrevMRR: prev, Touch: touch,
		Phase: phase, Health: scoring.Health{Score: score, Band: band}, LoginsPerWeek: -1, FeaturesUsed: -1, TimeToValueDays: -1}
	had, p := prev > 0, prev
	for i, v := range mrr {
		res.Months = append(res.Months, scoring.MonthMRR{Month: first + scoring.Month(i), MRR: v, Delta: v - p, Kind: scoring.Classify(p, v, had)})
		had = had || p > 0
		p = v
	}
	res.MRR, res.ARR = p, 12*p
	return Member{ID: res.Key, CRM: CRMRef{System: "salesforce", ID: id}, Name: "Account " + id, Result: res}
}

func flat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// world: A and B pay all along; C churned in 2026-06; D started in
// 2026-12 (after the period, before as-of); E is a trial without MRR.
func world() []Member {
	a := member("A", scoring.TouchHigh, scoring.BandHealthy, 85, "adoption", 100000, flat(100000, 13)...)
	a.Industry, a.OwnerID, a.OwnerName = "Banking", "005A", "Ana Owner"
	a.Result.Health.Trend = -0.3 // rounds to 0, never -0
	a.Fields = map[string]any{"Tier__c": "Gold"}
	b := member("B", scoring.TouchLow, scoring.BandAtRisk, 32, "renewal", 50000, flat(50000, 13)...)
	b.Industry, b.OwnerID = "BANKING", "005B"
	b.Fields = map[string]any{"Tier__c": "gold"}
	c := member("C", scoring.TouchTech, scoring.BandAtRisk, 20, scoring.PhaseChurned, 30000, append(flat(30000, 6), flat(0, 7)...)...)
	c.Industry, c.OwnerID = "retail", "005B"
	d := member("D", scoring.TouchTech, scoring.BandCaution, 55, "onboarding", 0, append(flat(0, 12), 20000)...)
	d.OwnerID = "005A"
	e := member("E", scoring.TouchTech, scoring.BandCaution, 60, "onboarding", 0, flat(0, 13)...)
	e.Industry, e.OwnerID = "Retail ", "005A"
	return []Member{a, b, c, d, e}
}

func input(members []Member, segment string) Input {
	return Input{AsOf: asOf, Currency: "JPY", Settings: scoring.DefaultSettings(), Segment: segment, Members: members}
}

// TestPopulationTotalsAgree pins issue 19 item 2: every current figure
// counts the accounts with MRR > 0 on the as-of day, so each dimension's
// segments, the bands and the score histogram add up to the portfolio's
// customers and MRR; ARPA is that MRR over those customers.
func TestPopulationTotalsAgree(t *testing.T) {
	r, err := Build(input(world(), "industry"))
	if err != nil {
		t.Fatal(err)
	}
	wantPop := Population{Date: "2026-12-06", Rule: populationRule, Customers: 3, WithoutMRR: 2}
	if r.Population != wantPop {
		t.Errorf("population = %+v, want %+v", r.Population, wantPop)
	}
	if r.Period != (Period{"2025-12", "2026-11"}) {
		t.Errorf("period = %+v", r.Period)
	}
	// NRR = GRR = (100,000 + 50,000 + 0) / 180,000; CRR = 2/3; the monthly
	// revenue churn is 30,000 lost of 2,010,000 started (12 x 150,000 +
	// 7 x 30,000), so LTV = 56,666 x 67.
	want := Portfolio{MRR: 170000, ARR: 2040000, Customers: 3, NRR: num(0.8333), GRR: num(0.8333), CRR: num(0.6667),
		LogoChurnRate: num(0.3333), RevenueChurnRate: num(0.1667), ARPA: num(56666), LTV: num(3796622)}
	if !reflect.DeepEqual(r.Portfolio, want) {
		t.Errorf("portfolio = %s\nwant        %s", js(t, r.Portfolio), js(t, want))
	}
	type total struct {
		customers int
		mrr       float64
	}
	sums := map[string]total{}
	for _, s := range r.Segments {
		x := sums[s.Dimension]
		sums[s.Dimension] = total{x.customers + s.Customers, x.mrr + s.MRR}
	}
	for _, b := range r.Bands {
		x := sums["bands"]
		sums["bands"] = total{x.customers + b.Accounts, x.mrr + b.MRR}
	}
	for _, b := range r.Scores {
		x := sums["scores"]
		sums["scores"] = total{x.customers + b.Accounts, x.mrr + b.MRR}
	}
	wantSums := map[string]total{"touch_model": {3, 170000}, "industry": {3, 170000}, "bands": {3, 170000}, "scores": {3, 170000}}
	if !reflect.DeepEqual(sums, wantSums) {
		t.Errorf("totals = %v, want %v (portfolio: %d customers, MRR %v)", sums, wantSums, r.Portfolio.Customers, r.Portfolio.MRR)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, r, 0, 5); err != nil {
		t.Fatal(err)
	}
	if want := "3 accounts with MRR > 0 on 2026-12-06 (2 without MRR left out). Rates, movements and cohorts: months 2025-12 to 2026-11 (UTC)."; !strings.Contains(buf.String(), want) {
		t.Errorf("table header lacks %q:\n%s", want, buf.String())
	}
}

// TestUnknownIsNotZero pins issue 19 item 3: what cannot be computed is
// null in JSON and n/a in the table, with the reason, never 0%, -1 or
// MISSED; no -0 appears.
func TestUnknownIsNotZero(t *testing.T) {
	allUnknown := func(why, customersWhy string) map[string]string {
		return map[string]string{"nrr": why, "grr": why, "revenue_churn_rate": why, "crr": customersWhy, "logo_churn_rate": customersWhy,
			"arpa": "no customers on 2026-12-06", "ltv": "no customers on 2026-12-06"}
	}
	noMRR := "no MRR at the end of 2025-11, the month before the period"
	noCust := "no customers at the end of 2025-11, the month before the period"
	cases := []struct {
		name    string
		members []Member
		notice  string
		unknown map[string]string
	}{
		{"empty store", nil, "the store holds no accounts or billing customers yet: run `healthsync sync` first", allUnknown(noMRR, noCust)},
		{"as-of before any revenue", []Member{member("E", scoring.TouchTech, scoring.BandCaution, 60, "onboarding", 0, flat(0, 13)...)},
			"no account has MRR on 2026-12-06 or at the end of 2025-11: is --as-of before the first subscription, or was billing never synced?",
			allUnknown(noMRR, noCust)},
		{"no churn", world()[:2], "", map[string]string{"ltv": "no revenue churn in the period, so the lifetime is unbounded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := input(c.members, "")
			in.Settings.Targets = []scoring.Target{{Metric: "logo_churn", Op: "<=", Value: 0.02}, {Metric: "time_to_value_days", Op: "<=", Value: 14}}
			r, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Notice != c.notice {
				t.Errorf("notice = %q, want %q", r.Notice, c.notice)
			}
			if !reflect.DeepEqual(r.Portfolio.Unknown, c.unknown) {
				t.Errorf("unknown = %v, want %v", r.Portfolio.Unknown, c.unknown)
			}
			ttv := Target{KPI: "time_to_value_days", Op: "<=", Target: 14, Reason: "no account that started in the period has been onboarded"}
			if !reflect.DeepEqual(r.Targets[1], ttv) {
				t.Errorf("target = %+v, want %+v", r.Targets[1], ttv)
			}
			if r.Onboarding != (Onboarding{}) {
				t.Errorf("onboarding = %+v, want all unknown", r.Onboarding)
			}
			var buf bytes.Buffer
			if err := WriteJSON(&buf, r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if regexp.MustCompile(`-0(\.0+)?[,\n}\]]`).MatchString(out) {
				t.Errorf("JSON has a negative zero:\n%s", out)
			}
			if !strings.Contains(out, `"median_time_to_value_days": null`) || !strings.Contains(out, `"ltv": null`) {
				t.Errorf("JSON lacks nulls:\n%s", out)
			}
			buf.Reset()
			if err := WriteTable(&buf, r, 0, 5); err != nil {
				t.Fatal(err)
			}
			out = buf.String()
			for _, bad := range []string{"MISSED", "-1.0", " 0.0%"} {
				if strings.Contains(out, bad) && (bad != " 0.0%" || c.unknown["logo_churn_rate"] != "") {
					t.Errorf("table shows %q:\n%s", bad, out)
				}
			}
			buf.Reset()
			if err := WriteHTML(&buf, r); err != nil {
				t.Fatal(err)
			}
			if html := buf.String(); !strings.Contains(html, `<div class="v">n/a</div>`) || !strings.Contains(html, "ltv: n/a, ") {
				t.Errorf("HTML lacks n/a values and reasons")
			}
			if !strings.Contains(out, "ltv: n/a, "+c.unknown["ltv"]) || !strings.Contains(out, "n/a     no account that started in the period has been onboarded") {
				t.Errorf("table lacks the n/a reasons:\n%s", out)
			}
		})
	}
}

// TestPeriodIsValidated pins issue 19 item 3: a reversed period, or one
// ending after the as-of month, is an options error, not an empty report.
func TestPeriodIsValidated(t *testing.T) {
	m := func(y int, mo time.Month) scoring.Month { return scoring.MonthFor(y, mo) }
	cases := []struct {
		name     string
		from, to scoring.Month
		want     string // error; "" for none
	}{
		{"defaults", 0, 0, ""},
		{"one month", m(2026, 6), m(2026, 6), ""},
		{"reversed", m(2026, 6), m(2026, 1), "invalid report options: the period starts in 2026-06, after it ends in 2026-01"},
		{"from after the default end", m(2027, 1), 0, "invalid report options: the period starts in 2027-01, after it ends in 2026-11"},
		{"future end", m(2026, 6), m(2027, 2), "invalid report options: the period ends in 2027-02, after the as-of month 2026-12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := input(world(), "")
			in.From, in.To = c.from, c.to
			_, err := Build(in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return
			}
			if err == nil || err.Error() != c.want || !errors.Is(err, ErrOptions) {
				t.Fatalf("Build error = %v, want %q (ErrOptions)", err, c.want)
			}
		})
	}
}

// TestAsOfInTheBusinessTimeZone pins issue 19 item 5 in the report: the
// as-of day and the default period follow the business's time zone, and
// the header names it.
func TestAsOfInTheBusinessTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		loc    *time.Location
		asOf   time.Time
		want   string // as_of
		period Period
		zone   string
	}{
		{tokyo, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), "2026-12-01", Period{"2025-12", "2026-11"}, "Asia/Tokyo"},
		{tokyo, time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC), "2026-11-30", Period{"2025-11", "2026-10"}, "Asia/Tokyo"},
		{nil, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), "2026-11-30", Period{"2025-11", "2026-10"}, "UTC"},
	}
	for _, c := range cases {
		in := input(world(), "")
		in.AsOf, in.Settings.Location = c.asOf, c.loc
		r, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		if r.AsOf != c.want || r.Period != c.period || r.Timezone != c.zone || r.Population.Date != c.want {
			t.Errorf("%v in %v: as_of %s, period %+v, zone %s; want %s, %+v, %s", c.asOf, c.loc, r.AsOf, r.Period, r.Timezone, c.want, c.period, c.zone)
		}
		if !strings.HasSuffix(Scope(r), " ("+c.zone+").") {
			t.Errorf("scope %q does not name the zone", Scope(r))
		}
	}
}

// TestSegmentDimensions pins issue 19 item 4: the dimension is validated,
// values that differ only in case or spacing are one row, owners show
// their names where the CRM gives them, every column is computed, and
// touch_model is not repeated.
func TestSegmentDimensions(t *testing.T) {
	type row struct {
		Value     string
		Customers int
		MRR       float64
		NRR       string
		AtRisk    int
	}
	cases := []struct {
		segment string
		want    []row  // rows of that dimension
		err     string // error; "" for none
	}{
		{"industry", []row{{"Banking", 2, 150000, "100.0%", 1}, {"retail", 0, 0, "0.0%", 0}, {"(none)", 1, 20000, "n/a", 0}}, ""},
		{"owner", []row{{"005B", 1, 50000, "62.5%", 1}, {"Ana Owner", 2, 120000, "100.0%", 0}}, ""},
		{"Tier__c", []row{{"gold", 2, 150000, "100.0%", 1}, {"(none)", 1, 20000, "0.0%", 0}}, ""},
		{"phase", []row{{"adoption", 1, 100000, "100.0%", 0}, {"churned", 0, 0, "0.0%", 0}, {"onboarding", 1, 20000, "n/a", 0}, {"renewal", 1, 50000, "100.0%", 1}}, ""},
		{"band", []row{{"at_risk", 1, 50000, "62.5%", 1}, {"caution", 1, 20000, "n/a", 0}, {"healthy", 1, 100000, "100.0%", 0}}, ""},
		{"touch_model", nil, ""},
		{"Industri", nil, `invalid report options: unknown segment "Industri"; valid: Tier__c, band, industry, owner, phase, touch_model`},
	}
	for _, c := range cases {
		t.Run(c.segment, func(t *testing.T) {
			r, err := Build(input(world(), c.segment))
			if c.err != "" {
				if err == nil || err.Error() != c.err || !errors.Is(err, ErrOptions) {
					t.Fatalf("Build error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			touch := map[string]int{}
			for _, s := range r.Segments {
				if s.Dimension == "touch_model" {
					touch[s.Value]++
				}
				if s.Dimension == c.segment && c.segment != "touch_model" {
					got = append(got, row{s.Value, s.Customers, s.MRR, PctOf(s.NRR), s.AtRisk})
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s rows = %+v\nwant %+v", c.segment, got, c.want)
			}
			wantTouch := map[string]int{scoring.TouchHigh: 1, scoring.TouchLow: 1, scoring.TouchTech: 1}
			if !reflect.DeepEqual(touch, wantTouch) {
				t.Errorf("touch_model rows = %v, want each tier once", touch)
			}
		})
	}
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
