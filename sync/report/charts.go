package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
)

// The charts are inline SVG. Every chart names its axes and units in
// text.axis elements (the rendering test counts them); every drawn bar or
// cell is a .mark.

// svgOpen starts a chart of w x h pixels.
func svgOpen(w, h float64, label string) *strings.Builder {
	b := new(strings.Builder)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="%s" font-family="system-ui,sans-serif">`,
		w, h, html.EscapeString(label))
	return b
}

// axisTitle writes an axis title; vertical titles are rotated to read
// bottom to top.
func axisTitle(b *strings.Builder, x, y float64, vertical bool, text string) {
	rot := ""
	if vertical {
		rot = fmt.Sprintf(` transform="rotate(-90 %.1f %.1f)"`, x, y)
	}
	fmt.Fprintf(b, `<text class="axis" x="%.1f" y="%.1f" font-size="11" fill="#3e4c59" text-anchor="middle"%s>%s</text>`,
		x, y, rot, html.EscapeString(text))
}

// niceStep returns a round tick step (1, 2 or 5 x 10^k) that cuts span
// into at most n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow10(int(math.Floor(math.Log10(raw))))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// axisRange returns the tick step (at least minStep) and the axis end, a
// whole number of steps covering maxV.
func axisRange(maxV float64, n int, minStep float64) (step, top float64) {
	step = math.Max(minStep, niceStep(maxV, n))
	return step, math.Max(step, math.Ceil(maxV/step)*step)
}

var moveColors = map[string]string{
	"new": "#2f80ed", "expansion": "#27ae60", "reactivation": "#9b51e0",
	"contraction": "#f2994a", "churn": "#eb5757",
}

// movementChart stacks each month's gains above zero and losses below,
// with a value axis in the reporting currency.
func movementChart(ms []Movement, currency string) template.HTML {
	currency = html.EscapeString(currency)
	const W, H, padL, padR, padB, padT = 760.0, 320.0, 86.0, 12.0, 48.0, 14.0
	b := svgOpen(W, H, "MRR movements by month")
	if len(ms) == 0 {
		b.WriteString(`<text x="20" y="40">no months in the period</text></svg>`)
		return template.HTML(b.String())
	}
	var maxUp, maxDown float64
	for _, m := range ms {
		maxUp = math.Max(maxUp, m.New+m.Expansion+m.Reactivation)
		maxDown = math.Max(maxDown, -(m.Contraction + m.Churn))
	}
	step := niceStep(maxUp+maxDown, 6)
	top := math.Ceil(maxUp/step) * step
	bottom := math.Ceil(maxDown/step) * step
	if top+bottom == 0 {
		top = step
	}
	plotH := H - padB - padT
	scale := plotH / (top + bottom)
	zero := padT + top*scale
	for v := -bottom; v <= top+step/2; v += step {
		y := zero - v*scale
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, padL, y, W-padR, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, padL-4, y+3, Money(v))
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#52606d"/>`, padL, zero, W-padR, zero)
	slot := (W - padL - padR) / float64(len(ms))
	bw := slot * 0.6
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
			fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s %s</title></rect>`,
				x, y, bw, h, moveColors[part.k], m.Month, part.k, Money(part.v), currency)
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
			fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: -%s %s</title></rect>`,
				x, y, bw, h, moveColors[part.k], m.Month, part.k, Money(part.v), currency)
			y += h
		}
		if len(ms) <= 12 || i%2 == 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x+bw/2, H-padB+14, m.Month)
		}
	}
	axisTitle(b, padL+(W-padL-padR)/2, H-8, false, "month")
	axisTitle(b, 14, padT+plotH/2, true, "MRR change per month ("+currency+")")
	b.WriteString(`</svg><div class="legend">`)
	for _, k := range []string{"new", "expansion", "reactivation", "contraction", "churn"} {
		fmt.Fprintf(b, `<span><i class="sw" style="background:%s"></i>%s</span>`, moveColors[k], k)
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

// scoreChart is the histogram of health scores in bins of 10 points,
// coloured from red (low scores) to green (high).
func scoreChart(bins []ScoreBin, currency string) template.HTML {
	currency = html.EscapeString(currency)
	const W, H, padL, padR, padB, padT = 560.0, 260.0, 56.0, 12.0, 44.0, 18.0
	b := svgOpen(W, H, "Accounts by health score")
	maxN := 0
	for _, x := range bins {
		maxN = max(maxN, x.Accounts)
	}
	step, top := axisRange(float64(maxN), 5, 1)
	plotH, plotW := H-padB-padT, W-padL-padR
	for v := 0.0; v <= top+step/2; v += step {
		y := padT + plotH - v/top*plotH
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, padL, y, W-padR, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%.0f</text>`, padL-4, y+3, v)
	}
	for i := 0; i <= 10; i++ {
		x := padL + float64(i)*plotW/10
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>`, x, H-padB+14, i*10)
	}
	for i, x := range bins {
		h := float64(x.Accounts) / top * plotH
		bx := padL + float64(i)*plotW/10 + 2
		fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>score %d-%d: %d accounts, MRR %s %s</title></rect>`,
			bx, padT+plotH-h, plotW/10-4, h, scoreColor(float64(x.From+5)), x.From, x.To, x.Accounts, Money(x.MRR), currency)
		if x.Accounts > 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>`, bx+plotW/20-2, padT+plotH-h-3, x.Accounts)
		}
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#52606d"/>`, padL, padT+plotH, W-padR, padT+plotH)
	axisTitle(b, padL+plotW/2, H-8, false, "health score (0-100 points)")
	axisTitle(b, 14, padT+plotH/2, true, "accounts")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// scoreColor runs from red (0) through amber (50) to green (100).
func scoreColor(score float64) string {
	t := math.Max(0, math.Min(1, score/100))
	if t < 0.5 {
		return lerp([3]float64{198, 40, 40}, [3]float64{242, 201, 76}, t*2)
	}
	return lerp([3]float64{242, 201, 76}, [3]float64{39, 174, 96}, (t-0.5)*2)
}

func lerp(a, b [3]float64, t float64) string {
	return fmt.Sprintf("rgb(%.0f,%.0f,%.0f)", a[0]+(b[0]-a[0])*t, a[1]+(b[1]-a[1])*t, a[2]+(b[2]-a[2])*t)
}

var bandColors = map[string]string{"healthy": "#27ae60", "caution": "#f2c94c", "at_risk": "#eb5757"}

// bandChart is the population's accounts per health band.
func bandChart(bands []BandCount, currency string) template.HTML {
	currency = html.EscapeString(currency)
	const W, H, padL, padR, barH, padB = 560.0, 170.0, 80.0, 200.0, 28.0, 40.0
	b := svgOpen(W, H, "Accounts by health band")
	if len(bands) == 0 {
		b.WriteString(`<text x="20" y="40">no accounts</text></svg>`)
		return template.HTML(b.String())
	}
	step, top := axisRange(float64(slices.MaxFunc(bands, func(a, b BandCount) int { return a.Accounts - b.Accounts }).Accounts), 4, 1)
	plotW := W - padL - padR
	base := 8 + float64(len(bands))*(barH+10)
	for v := 0.0; v <= top+step/2; v += step {
		x := padL + v/top*plotW
		fmt.Fprintf(b, `<line x1="%.1f" y1="4" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, x, x, base)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%.0f</text>`, x, base+12, v)
	}
	for i, x := range bands {
		y := 8 + float64(i)*(barH+10)
		w := float64(x.Accounts) / top * plotW
		color := bandColors[x.Band]
		if color == "" {
			color = "#9aa5b1"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end">%s</text>`, padL-8, y+barH/2+4, html.EscapeString(x.Band))
		fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d accounts</title></rect>`,
			padL, y, w, barH, color, html.EscapeString(x.Band), x.Accounts)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11">%d · MRR %s %s</text>`, padL+w+6, y+barH/2+4, x.Accounts, Money(x.MRR), currency)
	}
	axisTitle(b, padL+plotW/2, H-6, false, "accounts with MRR (band)")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// cohortChart is the revenue-retention heat map: one row per start month,
// one column per month since the start, each cell written with its
// percentage, and a legend of the colour scale.
func cohortChart(cs []Cohort) template.HTML {
	const cell, cellH, padL, padT, padB = 46.0, 24.0, 118.0, 40.0, 62.0
	maxLen := 0
	for _, c := range cs {
		maxLen = max(maxLen, len(c.Revenue))
	}
	W := math.Max(padL+float64(maxLen)*cell+16, 420)
	H := padT + float64(len(cs))*cellH + padB
	b := svgOpen(W, H, "Cohort revenue retention")
	if len(cs) == 0 {
		b.WriteString(`<text x="20" y="40">no cohorts started in the series</text></svg>`)
		return template.HTML(b.String())
	}
	axisTitle(b, padL+float64(maxLen)*cell/2, 12, false, "months since the cohort's first month")
	for j := 0; j < maxLen; j++ {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>`, padL+float64(j)*cell+cell/2, padT-6, j)
	}
	for i, c := range cs {
		y := padT + float64(i)*cellH
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s (%d)</text>`, padL-6, y+cellH/2+3, c.Start, c.Size)
		for j, v := range c.Revenue {
			x := padL + float64(j)*cell
			fill, ink := heat(v)
			fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s month %d: %s revenue, %s logos</title></rect>`,
				x, y, cell-2, cellH-2, fill, c.Start, j, Pct(v), Pct(at(c.Logo, j)))
			fmt.Fprintf(b, `<text class="cell" x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="%s">%.0f%%</text>`,
				x+cell/2-1, y+cellH/2+3, ink, v*100)
		}
	}
	axisTitle(b, 14, padT+float64(len(cs))*cellH/2, true, "cohort (accounts)")
	// Legend: the colour scale from 40% to 130% of the first month's MRR.
	ly := padT + float64(len(cs))*cellH + 14
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">revenue kept</text>`, padL-6, ly+12)
	for k, v := range []float64{0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3} {
		fill, ink := heat(v)
		x := padL + float64(k)*34
		fmt.Fprintf(b, `<rect class="legend" x="%.1f" y="%.1f" width="32" height="16" fill="%s"/>`, x, ly, fill)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle" fill="%s">%.0f%%</text>`, x+16, ly+11, ink, v*100)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10">%% of the cohort's first-month MRR (red: poor retention)</text>`, padL, ly+32)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func at(s []float64, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// heat maps a retention fraction to a fill and a legible text colour:
// pale at 100%, deepening to green above it and, faster, to red below it,
// so that poor retention stands out. 50% or less is full red.
func heat(v float64) (fill, ink string) {
	if v >= 1 {
		t := math.Min(1, (v-1)/0.3)
		return lerp([3]float64{232, 245, 233}, [3]float64{46, 125, 50}, t), pick(t > 0.55)
	}
	t := math.Min(1, (1-v)/0.5)
	return lerp([3]float64{255, 243, 224}, [3]float64{183, 28, 28}, t), pick(t > 0.5)
}

func pick(dark bool) string {
	if dark {
		return "#ffffff"
	}
	return "#1f2933"
}

// segmentChart draws each dimension's values as bars of MRR, annotated
// with customers, accounts at risk and NRR.
func segmentChart(segs []Segment, currency string) template.HTML {
	currency = html.EscapeString(currency)
	const W, padL, padR, barH, gap, padT = 760.0, 150.0, 250.0, 18.0, 6.0, 8.0
	var maxMRR float64
	dims := 0
	prev := ""
	for _, s := range segs {
		maxMRR = math.Max(maxMRR, s.MRR)
		if s.Dimension != prev {
			dims++
			prev = s.Dimension
		}
	}
	H := padT + float64(len(segs))*(barH+gap) + float64(dims)*18 + 44
	b := svgOpen(W, H, "MRR by segment")
	if len(segs) == 0 {
		b.WriteString(`<text x="20" y="40">no segments</text></svg>`)
		return template.HTML(b.String())
	}
	step, top := axisRange(maxMRR, 4, 0)
	plotW := W - padL - padR
	base := H - 36
	for v := 0.0; v <= top+step/2; v += step {
		x := padL + v/top*plotW
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, x, padT, x, base)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x, base+12, Money(v))
	}
	y := padT
	prev = ""
	for _, s := range segs {
		if s.Dimension != prev {
			prev = s.Dimension
			fmt.Fprintf(b, `<text x="4" y="%.1f" font-size="11" font-weight="600">%s</text>`, y+12, html.EscapeString(s.Dimension))
			y += 18
		}
		w := s.MRR / top * plotW
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>`, padL-6, y+barH/2+4, html.EscapeString(s.Value))
		fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2f80ed"><title>%s %s: MRR %s %s</title></rect>`,
			padL, y, w, barH, html.EscapeString(s.Dimension), html.EscapeString(s.Value), Money(s.MRR), currency)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10">%d customers · %d at risk · NRR %s</text>`,
			padL+w+6, y+barH/2+4, s.Customers, s.AtRisk, PctOf(s.NRR))
		y += barH + gap
	}
	axisTitle(b, padL+plotW/2, H-6, false, "MRR on the as-of day ("+currency+")")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
