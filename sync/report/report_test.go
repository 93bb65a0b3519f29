package report

import (
	"bytes"
	"encoding/json"
	"github.com/healthsync/healthsync/scoring"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func sample() *Report {
	return &Report{
		AsOf: "2026-10-31", Timezone: "Asia/Tokyo", Currency: "JPY", Period: Period{"2025-11", "2026-10"},
		Population: Population{Date: "2026-10-31", Rule: populationRule, Customers: 2, WithoutMRR: 1},
		Portfolio: Portfolio{MRR: 1234567, ARR: 14814804, Customers: 2, NRR: num(1.08), GRR: num(0.93), CRR: num(0.95),
			LogoChurnRate: num(0.04), RevenueChurnRate: num(0.05), ARPA: num(617283.5), LTV: num(8230440)},
		Movements: []Movement{
			{Month: "2026-09", New: 100000, Expansion: 20000, Contraction: -5000, Churn: -30000, MRREnd: 1200000},
			{Month: "2026-10", New: 50000, Expansion: 10000, Reactivation: 4567, Contraction: 0, Churn: -30000, MRREnd: 1234567},
		},
		Targets:  []Target{{KPI: "nrr", Op: ">=", Target: 1.10, Value: num(1.08), Met: new(false)}},
		Segments: []Segment{{Dimension: "touch_model", Value: "high", TouchModel: "high", Customers: 1, MRR: 900000, NRR: num(1.1)}},
		Accounts: []Account{
			{ID: "salesforce/001A", CRM: CRMRef{System: "salesforce", ID: "001A"}, Name: "Acme", MRR: 900000, ARR: 10800000,
				HealthScore: 42, Band: "at_risk", TouchModel: "high", Phase: "renewal", Reasons: []string{"logins low"}},
			{ID: "salesforce/001B", CRM: CRMRef{System: "salesforce", ID: "001B"}, Name: "Globex", MRR: 334567, ARR: 4014804,
				HealthScore: 88, Band: "healthy", TouchModel: "low", Phase: "adoption"},
		},
		Unmatched: []Unmatched{{System: "stripe", ID: "cus_X", MRR: 1000}},
		Bands:     []BandCount{{"healthy", 1, 334567}, {"caution", 0, 0}, {"at_risk", 1, 900000}},
		Cohorts:   []Cohort{{Start: "2026-09", Size: 2, Logo: []float64{1, 1}, Revenue: []float64{1, 0.9}}},
	}
}

// TestJSONKeys pins the documented JSON keys: renaming one is a breaking
// change for report consumers.
func TestJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":           {"accounts", "api_usage?", "as_of", "bands", "cohorts", "conflicts", "currency", "movements", "notice?", "onboarding", "period", "population", "portfolio", "score_distribution", "segments", "targets", "tasks?", "timezone", "unmatched"},
		"population": {"customers", "date", "rule", "without_mrr"},
		"portfolio":  {"arpa", "arr", "crr", "customers", "grr", "logo_churn_rate", "ltv", "mrr", "nrr", "revenue_churn_rate", "unknown?"},
		"period":     {"from", "to"},
		"movements":  {"churn", "contraction", "expansion", "month", "mrr_end", "new", "reactivation"},
		"targets":    {"kpi", "met", "op", "reason?", "target", "value"},
		"segments":   {"at_risk", "customers", "dimension", "mrr", "nrr", "touch_model", "value"},
		"accounts":   {"arr", "band", "crm", "health_score", "id", "mrr", "name", "phase", "reasons", "touch_model", "trend"},
		"unmatched":  {"id", "mrr", "system"},
	}
	for section, keys := range want {
		obj := m
		if section != "" {
			switch v := m[section].(type) {
			case map[string]any:
				obj = v
			case []any:
				obj = v[0].(map[string]any)
			}
		}
		for _, k := range keys {
			optional := strings.HasSuffix(k, "?")
			k = strings.TrimSuffix(k, "?")
			if _, ok := obj[k]; !ok && !optional {
				t.Errorf("%s: key %q missing", section, k)
			}
		}
	}
	if got := m["accounts"].([]any)[0].(map[string]any)["crm"].(map[string]any); got["system"] != "salesforce" || got["id"] != "001A" {
		t.Errorf("accounts[0].crm = %v", got)
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 12.5: "12.50", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -30000: "-30,000"} {
		if got := Money(in); got != want {
			t.Errorf("Money(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestTableAndCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sample(), 6, 10); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"1,234,567", "108.0%", "MISSED", "2026-10", "Acme", "logins low", "unmatched"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The most at-risk account comes first.
	if strings.Index(out, "Acme") > strings.Index(out, "Globex") {
		t.Errorf("at-risk order wrong:\n%s", out)
	}
	buf.Reset()
	if err := WriteCSV(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 3 {
		t.Errorf("CSV has %d lines, want 3", lines)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, id := range []string{"chart-movements", "chart-bands", "chart-cohorts", "segments"} {
		if !strings.Contains(html, `id="`+id+`"`) {
			t.Errorf("missing #%s", id)
		}
	}
	if n := strings.Count(html, `class="mark"`); n < 8 {
		t.Errorf("only %d chart marks", n)
	}
	if regexp.MustCompile(`(src|href)="https?://`).MatchString(html) {
		t.Error("page loads an external resource")
	}
}

// TestHTMLRendersInChromium renders a report of a generated book in
// headless Chromium, checks that every chart drew visible marks and names
// its axes, and keeps a screenshot (under $OUT when set, for CI to keep as
// an artifact). CI installs chromium; elsewhere the test is skipped when
// the browser is absent.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed in CI")
		}
		t.Skip("chromium not installed")
	}
	dir := t.TempDir()
	out := os.Getenv("OUT")
	if out == "" {
		out = dir
	}
	file := filepath.Join(out, "healthsync-report.html")
	r := bookReport(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, err := RenderDOM(t.Context(), bin, file, filepath.Join(dir, "profile"))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	drawn := regexp.MustCompile(`data-charts-drawn="(\d+)"`).FindStringSubmatch(dom)
	labelled := regexp.MustCompile(`data-charts-labelled="(\d+)"`).FindStringSubmatch(dom)
	if drawn == nil || drawn[1] != "5" || labelled == nil || labelled[1] != "5" {
		t.Fatalf("charts drawn = %v, labelled = %v, want 5 and 5 (DOM head: %.300s)", drawn, labelled, dom)
	}
	png := filepath.Join(out, "healthsync-report.png")
	if err := Screenshot(t.Context(), bin, file, filepath.Join(dir, "profile"), png, 1280, 4000); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", png, err)
	}
	t.Logf("page: %s, screenshot: %s", file, png)
}

func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestAtRiskOrder(t *testing.T) {
	accs := []Account{{ID: "a", HealthScore: 50, MRR: 1}, {ID: "b", HealthScore: 20, MRR: 1}, {ID: "c", HealthScore: 20, MRR: 5}}
	got := AtRisk(accs, 2)
	ids := []string{got[0].ID, got[1].ID}
	if ids[0] != "c" || ids[1] != "b" {
		t.Fatalf("AtRisk = %v, want [c b]", ids)
	}
}

func ptr(v float64) *float64 { return &v }

// TestEveryKPIHasAReason: a target that cannot be judged says why, for
// every KPI scoring knows (none falls back to "unknown KPI").
func TestEveryKPIHasAReason(t *testing.T) {
	for _, k := range scoring.TargetMetrics {
		if r := targetReason(k, "start", "customers"); r == "" || r == "unknown KPI" {
			t.Errorf("%s: reason %q", k, r)
		}
	}
}
