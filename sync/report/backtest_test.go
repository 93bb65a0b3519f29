package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/scoring/backtest"
)

func sampleBacktest() *backtest.Result {
	day := func(s string) *string { return &s }
	n := func(v int) *int { return &v }
	return &backtest.Result{Source: "backtest", From: "2025-12-01", To: "2026-11-23", EveryDays: 7, LeadDays: 30, HorizonDays: 180,
		Flag: "at_risk", Threshold: 50, Customers: 40, Churned: 4, Detected: 3, DetectionRate: ptr(0.75), MedianLeadDays: ptr(44),
		Flagged: 6, FlaggedChurned: 3, Precision: ptr(0.5), FalseAlarmRate: ptr(0.0833), AUC: ptr(0.81),
		Accounts: []backtest.ChurnerResult{
			{ID: "salesforce/001A", Name: "Acme", ChurnedOn: "2026-05-02", FirstFlaggedOn: day("2026-03-10"), LeadDays: n(53), Detected: true,
				Score: ptr(31), Reasons: []string{"logins in 28 days: 1 (good 12 or more), -18 pts"}},
			{ID: "salesforce/001Q", Name: "Quiet Leaver KK", ChurnedOn: "2026-08-14", Score: ptr(86),
				Reasons: []string{"open support tickets: 1 (good 0 or less), -2 pts"}},
		},
		ByLead: []backtest.LeadPoint{{LeadDays: 0, DetectionRate: ptr(1)}, {LeadDays: 30, DetectionRate: ptr(0.75)},
			{LeadDays: 90, DetectionRate: ptr(0.5)}, {LeadDays: 180, DetectionRate: ptr(0)}},
		Tradeoff: []backtest.TradeoffPoint{{Threshold: 30, DetectionRate: ptr(0.5), Precision: ptr(0.8)},
			{Threshold: 50, DetectionRate: ptr(0.75), Precision: ptr(0.5)}, {Threshold: 70, DetectionRate: ptr(1), Precision: ptr(0.2)}},
		Warnings: []string{"only 4 churners in the period"},
	}
}

// TestBacktestSection: the section is in the page when a backtest ran,
// lists the missed churner with its last score and reasons, and stays
// self-contained; without a backtest the page has no section.
func TestBacktestSection(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `id="backtest"`) {
		t.Error("a report without a backtest has a backtest section")
	}
	r.Backtest = sampleBacktest()
	buf.Reset()
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{`id="backtest"`, `id="chart-backtest-lead"`, `id="chart-backtest-tradeoff"`,
		`<td class="l">Quiet Leaver KK</td><td class="l">2026-08-14</td><td>86</td><td class="l">open support tickets: 1 (good 0 or less), -2 pts</td>`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(html, `<td class="l">Acme</td><td class="l">2026-05-02`) {
		t.Error("a detected churner is listed as missed")
	}
	if regexp.MustCompile(`(src|href)="https?://`).MatchString(html) {
		t.Error("page loads an external resource")
	}
}

// TestBacktestRendersInChromium renders the report with its backtest
// section, and the backtest page alone, in headless Chromium: every chart
// draws visible marks (5 on the report, 2 on the backtest page).
func TestBacktestRendersInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed in CI")
		}
		t.Skip("chromium not installed")
	}
	r := sample()
	r.Backtest = sampleBacktest()
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		// The sample report draws movements, scores, bands and cohorts (no
		// segment has customers) and the backtest section two more.
		{"report", func(b *bytes.Buffer) error { return WriteHTML(b, r) }, "6"},
		{"backtest page", func(b *bytes.Buffer) error { return WriteBacktestHTML(b, r.Backtest) }, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "page.html")
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, err := RenderDOM(t.Context(), bin, file, filepath.Join(dir, "profile"))
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			m := regexp.MustCompile(`data-charts-drawn="(\d+)"`).FindStringSubmatch(dom)
			if m == nil || m[1] != tc.want {
				t.Fatalf("charts drawn = %v, want %s", m, tc.want)
			}
		})
	}
}
