package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/healthsync/healthsync/scoring/backtest"
)

// backtestSection renders the backtest part of the HTML report: the
// headline figures, detection rate by lead time (a line chart), precision
// against detection for each flag threshold (the trade-off), and the
// churners the score missed with their last score and reasons. Empty when
// no backtest ran.
func backtestSection(r *backtest.Result) template.HTML {
	if r == nil {
		return ""
	}
	var b strings.Builder
	if err := backtestTmpl.Execute(&b, struct {
		R        *backtest.Result
		ByLead   template.HTML
		Tradeoff template.HTML
		Missed   []backtest.ChurnerResult
	}{r, leadChart(r), tradeoffChart(r), missed(r.Accounts)}); err != nil {
		return template.HTML("<p>backtest: " + template.HTMLEscapeString(err.Error()) + "</p>")
	}
	return template.HTML(b.String())
}

func missed(cs []backtest.ChurnerResult) []backtest.ChurnerResult {
	out := []backtest.ChurnerResult{}
	for _, c := range cs {
		if !c.Detected && !c.TooLittleHistory {
			out = append(out, c)
		}
	}
	return out
}

// WriteBacktestHTML writes the backtest alone as a self-contained page
// (`healthsync backtest --format html`).
func WriteBacktestHTML(w io.Writer, r *backtest.Result) error {
	_, err := fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>healthsync backtest %s to %s</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1f2933;background:#f7f8fa}
table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid #e4e7eb;padding:4px 8px;text-align:right}
td.l,th.l{text-align:left}.chart{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:8px;display:inline-block}</style>
</head><body>%s%s</body></html>
`, template.HTMLEscapeString(r.From), template.HTMLEscapeString(r.To), backtestSection(r), drawnScript)
	return err
}

// drawnScript marks how many charts drew visible marks, for the rendering
// tests (the main page's and the backtest page's).
const drawnScript = `<script>
// Marks how many charts drew visible marks, for the rendering test.
window.addEventListener('load', function () {
  var n = 0;
  document.querySelectorAll('.chart svg').forEach(function (svg) {
    var marks = svg.querySelectorAll('rect.mark, path.mark');
    var drawn = Array.prototype.some.call(marks, function (m) { var b = m.getBBox(); return b.width > 0 && b.height > 0; });
    if (drawn) n++;
  });
  document.body.setAttribute('data-charts-drawn', String(n));
});
</script>`

var backtestTmpl = template.Must(template.New("backtest").Funcs(template.FuncMap{
	"pct": optPct, "num": optNum, "int": optInt, "join": strings.Join,
}).Parse(`<h2 id="backtest">Does the score predict churn? Backtest ({{.R.Source}}, {{.R.From}} to {{.R.To}})</h2>
<div class="sub">Flagged = {{.R.Flag}} or worse (score below {{.R.Threshold}}); detected = flagged {{.R.LeadDays}} to {{.R.HorizonDays}} days before the churn.</div>
<table id="backtest-figures"><tr><th class="l">churned</th><th>detected</th><th>detection rate</th><th>median lead (days)</th><th>flagged</th><th>precision</th><th>false alarms</th><th>AUC</th><th>too little history</th></tr>
<tr><td class="l">{{.R.Churned}}</td><td>{{.R.Detected}}</td><td>{{pct .R.DetectionRate}}</td><td>{{int .R.MedianLeadDays}}</td><td>{{.R.Flagged}}</td><td>{{pct .R.Precision}}</td><td>{{pct .R.FalseAlarmRate}}</td><td>{{num .R.AUC}}</td><td>{{.R.TooLittleHistory}}</td></tr></table>
{{range .R.Warnings}}<p class="missed">{{.}}</p>{{end}}
<h2>Detection rate by lead time</h2>
<div class="chart" id="chart-backtest-lead">{{.ByLead}}</div>
<h2>Precision against detection, by flag threshold</h2>
<div class="chart" id="chart-backtest-tradeoff">{{.Tradeoff}}</div>
<h2>Churners the score missed</h2>
<table id="backtest-missed"><tr><th class="l">account</th><th class="l">churned</th><th>last score</th><th class="l">reasons then (what the model saw)</th></tr>
{{range .Missed}}<tr><td class="l">{{.Name}}</td><td class="l">{{.ChurnedOn}}</td><td>{{int .Score}}</td><td class="l">{{join .Reasons "; "}}</td></tr>
{{else}}<tr><td class="l" colspan="4">none</td></tr>{{end}}</table>
`))

func optPct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return Pct(*p)
}

func optInt(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", *p)
}

func optNum(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", *p)
}

const chartW, chartH, chartPad = 480.0, 240.0, 40.0

// axes draws a 0-100% y axis and returns the plot's x and y mappers.
func axes(b *strings.Builder, label, xLabel string, xMax float64) (func(float64) float64, func(float64) float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="%s">`, chartW, chartH, label)
	x := func(v float64) float64 { return chartPad + v/math.Max(xMax, 1e-9)*(chartW-chartPad-10) }
	y := func(v float64) float64 { return chartH - chartPad - v*(chartH-chartPad-10) }
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5b1"/>`, chartPad, y(0), chartW-10, y(0))
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5b1"/>`, chartPad, y(0), chartPad, y(1))
	for _, v := range []float64{0, 0.5, 0.8, 1} {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%.0f%%</text>`, chartPad-4, y(v)+3, v*100)
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#b42318" stroke-dasharray="4 3"><title>target 80%%</title></line>`,
		chartPad, y(0.8), chartW-10, y(0.8))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, (chartW+chartPad)/2, chartH-8, xLabel)
	return x, y
}

func leadChart(r *backtest.Result) template.HTML {
	var b strings.Builder
	x, y := axes(&b, "Detection rate by lead time", "lead time (days before the churn)", float64(r.HorizonDays))
	var d strings.Builder
	for _, p := range r.ByLead {
		if p.DetectionRate == nil {
			continue
		}
		cmd := "L"
		if d.Len() == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x(float64(p.LeadDays)), y(*p.DetectionRate))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#2f80ed"><title>%d days: %s</title></circle>`,
			x(float64(p.LeadDays)), y(*p.DetectionRate), p.LeadDays, Pct(*p.DetectionRate))
	}
	for _, p := range r.ByLead {
		if p.LeadDays%30 == 0 || len(r.ByLead) <= 10 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>`, x(float64(p.LeadDays)), chartH-chartPad+14, p.LeadDays)
		}
	}
	if d.Len() == 0 {
		b.WriteString(`<text x="60" y="40">no churners</text></svg>`)
		return template.HTML(b.String())
	}
	// The area under the line, so a flat line still has a visible box.
	last := r.ByLead[len(r.ByLead)-1].LeadDays
	fmt.Fprintf(&b, `<path class="mark" d="M%.1f %.1f %sL%.1f %.1f Z" fill="#2f80ed" fill-opacity="0.12" stroke="#2f80ed" stroke-width="2"/></svg>`,
		x(0), y(0), strings.Replace(d.String(), "M", "L", 1), x(float64(last)), y(0))
	return template.HTML(b.String())
}

func tradeoffChart(r *backtest.Result) template.HTML {
	var b strings.Builder
	x, y := axes(&b, "Precision against detection by threshold", "detection rate (churners flagged in time)", 1)
	var d strings.Builder
	for _, p := range r.Tradeoff {
		if p.DetectionRate == nil || p.Precision == nil {
			continue
		}
		cmd := "L"
		if d.Len() == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x(*p.DetectionRate), y(*p.Precision))
		fill := "#9aa5b1"
		if p.Threshold == r.Threshold {
			fill = "#b42318"
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>flag below %.0f: detection %s, precision %s</title></circle>`,
			x(*p.DetectionRate), y(*p.Precision), fill, p.Threshold, Pct(*p.DetectionRate), Pct(*p.Precision))
	}
	for _, v := range []float64{0, 0.5, 0.8, 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%.0f%%</text>`, x(v), chartH-chartPad+14, v*100)
	}
	if d.Len() == 0 {
		b.WriteString(`<text x="60" y="40">no flagged accounts</text></svg>`)
		return template.HTML(b.String())
	}
	fmt.Fprintf(&b, `<path class="mark" d="%s" fill="none" stroke="#27ae60" stroke-width="2"/></svg>`, strings.TrimSpace(d.String()))
	return template.HTML(b.String())
}
