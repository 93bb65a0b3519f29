package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/scoring"
)

// bookReport builds the report of a generated book of 60 accounts (fixed
// seed): staggered starts, expansions, contractions, churn, scores over the
// whole range, two industries spelled several ways, unmatched customers and
// a conflict.
func bookReport(t *testing.T) *Report {
	t.Helper()
	rng := rand.New(rand.NewPCG(19, 16))
	var members []Member
	touches := []string{scoring.TouchHigh, scoring.TouchLow, scoring.TouchTech}
	industries := []string{"Banking", "BANKING", "Retail", "retail", ""}
	for i := range 60 {
		start := rng.IntN(13) - 2 // months before 2025-12 count as already paying
		v := int64(10000 * (1 + rng.IntN(20)))
		var prev int64
		if start < 0 {
			prev = v
		}
		mrr := make([]int64, 13)
		alive := start < 0
		for k := range mrr {
			if k == max(start, 0) {
				alive = true
			}
			if alive && k > max(start, 0) {
				switch x := rng.IntN(20); {
				case x == 0:
					alive, v = false, 0
				case x < 3:
					v = v * 8 / 10
				case x < 5:
					v = v * 12 / 10
				}
			}
			if alive {
				mrr[k] = v
			}
		}
		score := float64(rng.IntN(101))
		band := scoring.BandHealthy
		if score < 40 {
			band = scoring.BandAtRisk
		} else if score < 70 {
			band = scoring.BandCaution
		}
		phase := "adoption"
		if mrr[12] == 0 {
			phase = scoring.PhaseChurned
		}
		m := member(fmt.Sprintf("%03d", i), touches[rng.IntN(3)], band, score, phase, prev, mrr...)
		m.Industry = industries[rng.IntN(len(industries))]
		m.Result.Health.Reasons = []string{"logins in 28 days low"}
		members = append(members, m)
	}
	in := input(members, "industry")
	in.Unmatched = []Unmatched{{System: "stripe", ID: "cus_U1", Name: "Orphan KK", MRR: 45000}}
	in.Conflicts = []Conflict{{Customer: "stripe/cus_C1", Accounts: []string{"salesforce/001", "salesforce/002"}, Rule: "email_domain"}}
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHTMLCharts pins issue 19 item 16 in the page's markup: a score
// histogram beside the bands, cohort cells written with their percentage
// and a legend, segments as a chart and a table, conflicts listed with the
// unmatched customers, and axis titles with units on every chart.
func TestHTMLCharts(t *testing.T) {
	r := bookReport(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	charts := regexp.MustCompile(`(?s)<div class="chart" id="chart-([a-z]+)">(.*?)</svg>`).FindAllStringSubmatch(page, -1)
	axes := map[string][]string{}
	for _, c := range charts {
		for _, a := range regexp.MustCompile(`<text class="axis"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(c[2], -1) {
			axes[c[1]] = append(axes[c[1]], a[1])
		}
	}
	want := map[string][]string{
		"movements": {"month", "MRR change per month (JPY)"},
		"scores":    {"health score (0-100 points)", "accounts"},
		"bands":     {"accounts with MRR (band)"},
		"cohorts":   {"months since the cohort&#39;s first month", "cohort (accounts)"},
		"segments":  {"MRR on the as-of day (JPY)"},
	}
	if fmt.Sprint(axes) != fmt.Sprint(want) {
		t.Errorf("axis titles = %q\nwant %q", axes, want)
	}
	cells := 0
	for _, c := range r.Cohorts {
		cells += len(c.Revenue)
	}
	if n := strings.Count(page, `<text class="cell"`); n != cells || cells == 0 {
		t.Errorf("%d cohort cells written, want %d", n, cells)
	}
	first := fmt.Sprintf(`>%.0f%%</text>`, r.Cohorts[0].Revenue[1]*100)
	for _, s := range []string{first, `class="legend"`, "red: poor retention", `id="segments"`, `id="unmatched"`, `id="conflicts"`,
		"salesforce/001, salesforce/002", "cus_U1"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if bins := strings.Count(page, "<title>score "); bins != 10 {
		t.Errorf("histogram has %d bins, want 10", bins)
	}
}

// TestHeatScale pins that poor retention stands out: 100% is pale, and
// the colour deepens (the sum of RGB falls) as retention drops.
func TestHeatScale(t *testing.T) {
	rgbSum := func(v float64) int {
		fill, _ := heat(v)
		var r, g, b int
		fmt.Sscanf(fill, "rgb(%d,%d,%d)", &r, &g, &b)
		return r + g + b
	}
	prev := rgbSum(1)
	for _, v := range []float64{0.9, 0.8, 0.7, 0.6, 0.5} {
		s := rgbSum(v)
		if s >= prev {
			t.Errorf("heat(%v) is not darker than heat(%v)", v, v+0.1)
		}
		prev = s
	}
	if _, ink := heat(0.4); ink != "#ffffff" {
		t.Errorf("text on deep red is %s, want white", ink)
	}
}
