package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: KPI cards,
// inline SVG charts (MRR movements by month, health-score distribution by
// band, cohort retention heat map) and the segment and at-risk tables. No
// external resource is loaded.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		R        *Report
		Movement template.HTML
		Bands    template.HTML
		Cohorts  template.HTML
		AtRisk   []Account
	}{r, movementChart(r.Movements), bandChart(r.Bands), cohortChart(r.Cohorts), AtRisk(r.Accounts, 15)}
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
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
</style></head>
<body>
<h1>healthsync portfolio report</h1>
<div class="sub">As of {{.R.AsOf}} &middot; {{.R.Currency}} &middot; period {{.R.Period.From}} to {{.R.Period.To}}</div>
{{with .R.Notice}}<div class="notice">{{.}}</div>{{end}}
<div class="sub" id="scope">{{scope .R}}{{range unknowns .R}}<br>{{.}}{{end}}</div>
<div class="cards">
<div class="card"><div class="k">MRR</div><div class="v">{{money .R.Portfolio.MRR}}</div></div>
<div class="card"><div class="k">ARR</div><div class="v">{{money .R.Portfolio.ARR}}</div></div>
<div class="card"><div class="k">Customers</div><div class="v">{{.R.Portfolio.Customers}}</div></div>
<div class="card"><div class="k">NRR</div><div class="v">{{pctOf .R.Portfolio.NRR}}</div></div>
<div class="card"><div class="k">GRR</div><div class="v">{{pctOf .R.Portfolio.GRR}}</div></div>
<div class="card"><div class="k">CRR</div><div class="v">{{pctOf .R.Portfolio.CRR}}</div></div>
<div class="card"><div class="k">Logo churn</div><div class="v">{{pctOf .R.Portfolio.LogoChurnRate}}</div></div>
<div class="card"><div class="k">ARPA</div><div class="v">{{moneyOf .R.Portfolio.ARPA}}</div></div>
<div class="card"><div class="k">LTV</div><div class="v">{{moneyOf .R.Portfolio.LTV}}</div></div>
</div>
{{if .R.Targets}}<h2>KPI targets</h2>
<table><tr><th class="l">KPI</th><th>value</th><th>target</th><th class="l">status</th></tr>
{{range .R.Targets}}<tr><td class="l">{{.KPI}}</td><td>{{tval .}}</td><td>{{tgoal .}}</td><td class="l {{status .}}">{{status .}}{{with .Reason}}: {{.}}{{end}}</td></tr>
{{end}}</table>{{end}}
<h2>MRR movements by month</h2>
<div class="chart" id="chart-movements">{{.Movement}}</div>
<h2>Health-score distribution by band</h2>
<div class="chart" id="chart-bands">{{.Bands}}</div>
<h2>Cohort retention (revenue)</h2>
<div class="chart" id="chart-cohorts">{{.Cohorts}}</div>
<h2>Segments</h2>
<table id="segments"><tr><th class="l">dimension</th><th class="l">value</th><th>customers</th><th>MRR</th><th>NRR</th><th>at risk</th></tr>
{{range .R.Segments}}<tr><td class="l">{{.Dimension}}</td><td class="l">{{.Value}}</td><td>{{.Customers}}</td><td>{{money .MRR}}</td><td>{{pctOf .NRR}}</td><td>{{.AtRisk}}</td></tr>
{{end}}</table>
<h2>Accounts most at risk</h2>
<table><tr><th class="l">account</th><th>score</th><th class="l">band</th><th>MRR</th><th class="l">touch</th><th class="l">phase</th><th class="l">reasons</th></tr>
{{range .AtRisk}}<tr><td class="l">{{.Name}}</td><td>{{printf "%.0f" .HealthScore}}</td><td class="l">{{.Band}}</td><td>{{money .MRR}}</td><td class="l">{{.TouchModel}}</td><td class="l">{{.Phase}}</td><td class="l">{{join .Reasons "; "}}</td></tr>
{{end}}</table>
{{if .R.Unmatched}}<h2>Unmatched billing customers</h2>
<table><tr><th class="l">customer</th><th class="l">name</th><th>MRR</th></tr>
{{range .R.Unmatched}}<tr><td class="l">{{.System}}/{{.ID}}</td><td class="l">{{.Name}}</td><td>{{money .MRR}}</td></tr>{{end}}
</table>{{end}}
<script>
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
</script>
</body></html>
`))

var moveColors = map[string]string{
	"new": "#2f80ed", "expansion": "#27ae60", "reactivation": "#9b51e0",
	"contraction": "#f2994a", "churn": "#eb5757",
}

func movementChart(ms []Movement) template.HTML {
	const W, H, padL, padB, padT = 720.0, 280.0, 70.0, 40.0, 16.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="MRR movements by month">`, W, H)
	if len(ms) == 0 {
		b.WriteString(`<text x="20" y="40">no data</text></svg>`)
		return template.HTML(b.String())
	}
	var maxUp, maxDown float64
	for _, m := range ms {
		maxUp = math.Max(maxUp, m.New+m.Expansion+m.Reactivation)
		maxDown = math.Max(maxDown, -(m.Contraction + m.Churn))
	}
	if maxUp+maxDown == 0 {
		maxUp = 1
	}
	plotH := H - padB - padT
	scale := plotH / (maxUp + maxDown)
	zero := padT + maxUp*scale
	slot := (W - padL - 10) / float64(len(ms))
	bw := slot * 0.6
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5b1"/>`, padL, zero, W-10, zero)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, padL-4, padT+8, Money(maxUp))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">0</text>`, padL-4, zero+3)
	if maxDown > 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">-%s</text>`, padL-4, H-padB, Money(maxDown))
	}
	for i, m := range ms {
		x := padL + float64(i)*slot + (slot-bw)/2
		y := zero
		for _, part := range []struct {
			k string
			v float64
		}{{"new", m.New}, {"expansion", m.Expansion}, {"reactivation", m.Reactivation}} {
			if part.v <= 0 {
				continue
			}
			h := part.v * scale
			y -= h
			fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, y, bw, h, moveColors[part.k], m.Month, part.k, Money(part.v))
		}
		y = zero
		for _, part := range []struct {
			k string
			v float64
		}{{"contraction", -m.Contraction}, {"churn", -m.Churn}} {
			if part.v <= 0 {
				continue
			}
			h := part.v * scale
			fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: -%s</title></rect>`,
				x, y, bw, h, moveColors[part.k], m.Month, part.k, Money(part.v))
			y += h
		}
		if len(ms) <= 12 || i%2 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x+bw/2, H-padB+14, m.Month)
		}
	}
	b.WriteString(`</svg><div class="legend">`)
	for _, k := range []string{"new", "expansion", "reactivation", "contraction", "churn"} {
		fmt.Fprintf(&b, `<span><i class="sw" style="background:%s"></i>%s</span>`, moveColors[k], k)
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

var bandColors = map[string]string{"healthy": "#27ae60", "caution": "#f2c94c", "at_risk": "#eb5757"}

func bandChart(bands []BandCount) template.HTML {
	const W, H, padL, barH = 620.0, 150.0, 90.0, 30.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="Accounts by health band">`, W, H)
	max := 0
	for _, x := range bands {
		if x.Accounts > max {
			max = x.Accounts
		}
	}
	if max == 0 {
		max = 1
	}
	for i, x := range bands {
		y := 10 + float64(i)*(barH+12)
		w := float64(x.Accounts) / float64(max) * (W - padL - 260)
		color := bandColors[x.Band]
		if color == "" {
			color = "#9aa5b1"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end">%s</text>`, padL-8, y+barH/2+4, x.Band)
		fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d accounts</title></rect>`,
			padL, y, w, barH, color, x.Band, x.Accounts)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12">%d accounts · MRR %s</text>`, padL+w+6, y+barH/2+4, x.Accounts, Money(x.MRR))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func cohortChart(cs []Cohort) template.HTML {
	const cell, padL, padT = 26.0, 80.0, 24.0
	maxLen := 0
	for _, c := range cs {
		if len(c.Revenue) > maxLen {
			maxLen = len(c.Revenue)
		}
	}
	W := padL + float64(maxLen)*cell + 10
	H := padT + float64(len(cs))*cell + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="Cohort revenue retention">`, math.Max(W, 200), math.Max(H, 60))
	if len(cs) == 0 {
		b.WriteString(`<text x="20" y="40">no cohorts</text></svg>`)
		return template.HTML(b.String())
	}
	for j := 0; j < maxLen; j++ {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>`, padL+float64(j)*cell+cell/2, padT-8, j)
	}
	for i, c := range cs {
		y := padT + float64(i)*cell
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s (%d)</text>`, padL-6, y+cell/2+3, c.Start, c.Size)
		for j, v := range c.Revenue {
			fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s month %d: %s revenue, %s logos</title></rect>`,
				padL+float64(j)*cell, y, cell-2, cell-2, heat(v), c.Start, j, Pct(v), Pct(at(c.Logo, j)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func at(s []float64, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// heat maps a retention fraction to a colour from red (0) to green (>= 1).
func heat(v float64) string {
	v = math.Max(0, math.Min(1.2, v)) / 1.2
	r := int(235 - v*(235-39))
	g := int(87 + v*(174-87))
	bl := int(87 + v*(96-87))
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, bl)
}
