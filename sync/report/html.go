package report

import (
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: KPI cards,
// inline SVG charts (MRR movements by month, the health-score histogram and
// bands, the cohort retention heat map, MRR by segment) with axis titles and
// units, and the segment, at-risk, unmatched and conflict tables. No
// external resource is loaded.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		R        *Report
		Movement template.HTML
		Scores   template.HTML
		Bands    template.HTML
		Cohorts  template.HTML
		Segments template.HTML
		AtRisk   []Account
		Backtest template.HTML
	}{r, movementChart(r.Movements, r.Currency), scoreChart(r.Scores, r.Currency), bandChart(r.Bands, r.Currency),
		cohortChart(r.Cohorts), segmentChart(r.Segments, r.Currency), AtRisk(r.Accounts, 15), backtestSection(r.Backtest)}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"money": Money, "pct": Pct, "moneyOf": MoneyOf, "pctOf": PctOf, "status": status, "join": strings.Join,
	"tval": targetValue, "scope": Scope, "unknowns": Unknowns, "tgoal": targetGoal,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>healthsync report {{.R.AsOf}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2933;background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#616e7c;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:10px 14px;min-width:110px}
.card .k{font-size:12px;color:#616e7c}.card .v{font-size:20px;font-weight:600}
.met{color:#1d7f4e}.MISSED{color:#b42318}
.notice{background:#fff4e5;border:1px solid #f2994a;padding:8px 12px;margin-bottom:12px}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e4e7eb;padding:4px 8px;text-align:right}th{background:#f0f2f5}
td.l,th.l{text-align:left}
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:8px;display:inline-block}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
</style></head>
<body>
<h1>healthsync portfolio report</h1>
<div class="sub">As of {{.R.AsOf}} &middot; {{.R.Currency}} &middot; period {{.R.Period.From}} to {{.R.Period.To}}</div>
{{with .R.Notice}}<div class="notice">{{.}}</div>{{end}}
<div class="sub" id="scope">{{scope .R}}{{range unknowns .R}}<br>{{.}}{{end}}</div>
<div class="cards">
<div class="card"><div class="k">MRR ({{.R.Currency}})</div><div class="v">{{money .R.Portfolio.MRR}}</div></div>
<div class="card"><div class="k">ARR ({{.R.Currency}})</div><div class="v">{{money .R.Portfolio.ARR}}</div></div>
<div class="card"><div class="k">Customers</div><div class="v">{{.R.Portfolio.Customers}}</div></div>
<div class="card"><div class="k">NRR</div><div class="v">{{pctOf .R.Portfolio.NRR}}</div></div>
<div class="card"><div class="k">GRR</div><div class="v">{{pctOf .R.Portfolio.GRR}}</div></div>
<div class="card"><div class="k">CRR</div><div class="v">{{pctOf .R.Portfolio.CRR}}</div></div>
<div class="card"><div class="k">Logo churn</div><div class="v">{{pctOf .R.Portfolio.LogoChurnRate}}</div></div>
<div class="card"><div class="k">ARPA ({{.R.Currency}})</div><div class="v">{{moneyOf .R.Portfolio.ARPA}}</div></div>
<div class="card"><div class="k">LTV ({{.R.Currency}})</div><div class="v">{{moneyOf .R.Portfolio.LTV}}</div></div>
</div>
{{if .R.Targets}}<h2>KPI targets</h2>
<table><tr><th class="l">KPI</th><th>value</th><th>target</th><th class="l">status</th></tr>
{{range .R.Targets}}<tr><td class="l">{{.KPI}}</td><td>{{tval .}}</td><td>{{tgoal .}}</td><td class="l {{status .}}">{{status .}}{{with .Reason}}: {{.}}{{end}}</td></tr>
{{end}}</table>{{end}}
<h2>MRR movements by month</h2>
<div class="chart" id="chart-movements">{{.Movement}}</div>
<h2>Health-score distribution</h2>
<div class="row"><div class="chart" id="chart-scores">{{.Scores}}</div>
<div class="chart" id="chart-bands">{{.Bands}}</div></div>
<h2>Cohort retention (revenue)</h2>
<div class="chart" id="chart-cohorts">{{.Cohorts}}</div>
<h2>Segments</h2>
<div class="chart" id="chart-segments">{{.Segments}}</div>
<table id="segments"><tr><th class="l">dimension</th><th class="l">value</th><th>customers</th><th>MRR ({{.R.Currency}})</th><th>NRR</th><th>at risk</th></tr>
{{range .R.Segments}}<tr><td class="l">{{.Dimension}}</td><td class="l">{{.Value}}</td><td>{{.Customers}}</td><td>{{money .MRR}}</td><td>{{pctOf .NRR}}</td><td>{{.AtRisk}}</td></tr>
{{end}}</table>
<h2>Accounts most at risk</h2>
<table><tr><th class="l">account</th><th>score</th><th class="l">band</th><th>MRR ({{.R.Currency}})</th><th class="l">touch</th><th class="l">phase</th><th class="l">reasons</th></tr>
{{range .AtRisk}}<tr><td class="l">{{.Name}}</td><td>{{printf "%.0f" .HealthScore}}</td><td class="l">{{.Band}}</td><td>{{money .MRR}}</td><td class="l">{{.TouchModel}}</td><td class="l">{{.Phase}}</td><td class="l">{{join .Reasons "; "}}</td></tr>
{{end}}</table>
{{.Backtest}}
{{if or .R.Unmatched .R.Conflicts}}<h2>Unmatched and conflicting billing customers</h2>
<div class="row">{{if .R.Unmatched}}<table id="unmatched"><tr><th class="l" colspan="3">unmatched: linked to no account ({{len .R.Unmatched}})</th></tr>
<tr><th class="l">customer</th><th class="l">name</th><th>MRR ({{.R.Currency}})</th></tr>
{{range .R.Unmatched}}<tr><td class="l">{{.System}}/{{.ID}}</td><td class="l">{{.Name}}</td><td>{{money .MRR}}</td></tr>{{end}}
</table>{{end}}
{{if .R.Conflicts}}<table id="conflicts"><tr><th class="l" colspan="3">conflicts: claimed by several accounts ({{len .R.Conflicts}})</th></tr>
<tr><th class="l">customer</th><th class="l">claimed by</th><th class="l">rule</th></tr>
{{range .R.Conflicts}}<tr><td class="l">{{.Customer}}</td><td class="l">{{join .Accounts ", "}}</td><td class="l">{{.Rule}}</td></tr>{{end}}
</table>{{end}}</div>{{end}}
<script>
// Marks how many charts drew visible marks, for the rendering test.
window.addEventListener('load', function () {
  var n = 0, labelled = 0;
  document.querySelectorAll('.chart svg').forEach(function (svg) {
    var marks = svg.querySelectorAll('rect.mark, path.mark');
    var drawn = Array.prototype.some.call(marks, function (m) { var b = m.getBBox(); return b.width > 0 && b.height > 0; });
    if (drawn) n++;
    if (svg.querySelectorAll('text.axis').length > 0) labelled++;
  });
  document.body.setAttribute('data-charts-drawn', String(n));
  document.body.setAttribute('data-charts-labelled', String(labelled));
});
</script>
</body></html>
`))
