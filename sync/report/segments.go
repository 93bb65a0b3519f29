package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/healthsync/healthsync/scoring"
)

// BuiltinDimensions are the segment dimensions every report can use besides
// the CRM fields the accounts carry.
var BuiltinDimensions = []string{"touch_model", "owner", "industry", "phase", "band"}

const noValue = "(none)"

// dimensions returns the report's dimensions: touch_model first, then the
// configured ones, then extra; each once. An unknown extra dimension is an
// ErrOptions error listing the valid ones.
func dimensions(configured []string, extra string, members []Member) ([]string, error) {
	dims := []string{"touch_model"}
	seen := map[string]bool{"touch_model": true, "touch": true}
	for _, d := range configured {
		if !seen[d] {
			seen[d] = true
			dims = append(dims, d)
		}
	}
	if extra == "" || seen[extra] {
		return dims, nil
	}
	valid := map[string]bool{}
	for _, d := range BuiltinDimensions {
		valid[d] = true
	}
	for i := range members {
		for f := range members[i].Fields {
			valid[f] = true
		}
	}
	if !valid[extra] {
		names := make([]string, 0, len(valid))
		for d := range valid {
			names = append(names, d)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: unknown segment %q; valid: %s", ErrOptions, extra, strings.Join(names, ", "))
	}
	return append(dims, extra), nil
}

// grouping holds each member's group key per dimension and the label shown
// for each key. Keys fold case and spacing ("BANKING", "Banking " and
// "banking" are one group) except owners, which are grouped by ID.
type grouping struct {
	dims   []string
	keys   [][]string                  // member -> dimension -> key
	labels []map[string]string         // dimension -> key -> label
	counts []map[string]map[string]int // dimension -> key -> spelling -> members
	owner  map[string]string           // owner ID -> name
}

func newGrouping(dims []string, members []Member) *grouping {
	g := &grouping{dims: dims, keys: make([][]string, len(members)), labels: make([]map[string]string, len(dims)),
		counts: make([]map[string]map[string]int, len(dims)), owner: map[string]string{}}
	for d := range dims {
		g.labels[d], g.counts[d] = map[string]string{}, map[string]map[string]int{}
	}
	for i := range members {
		m := &members[i]
		if m.OwnerID != "" && m.OwnerName != "" {
			g.owner[m.OwnerID] = m.OwnerName
		}
		g.keys[i] = make([]string, len(dims))
		for d, dim := range dims {
			raw := strings.Join(strings.Fields(dimValue(m, dim)), " ")
			key := raw
			if dim != "owner" {
				key = strings.ToLower(raw)
			}
			if key == "" {
				key, raw = noValue, noValue
			}
			g.keys[i][d] = key
			if g.counts[d][key] == nil {
				g.counts[d][key] = map[string]int{}
			}
			g.counts[d][key][raw]++
		}
	}
	// A group's label is its most common spelling (ties: the greater
	// string, so "Banking" wins over "BANKING"); an owner's is the name.
	for d, dim := range dims {
		for key, spellings := range g.counts[d] {
			best, n := "", -1
			for s, c := range spellings {
				if c > n || (c == n && s > best) {
					best, n = s, c
				}
			}
			if name := g.owner[key]; dim == "owner" && name != "" {
				best = name
			}
			g.labels[d][key] = best
		}
	}
	return g
}

func dimValue(m *Member, dim string) string {
	switch dim {
	case "touch_model", "touch":
		return m.Result.Touch
	case "owner":
		return m.OwnerID
	case "industry":
		return m.Industry
	case "phase":
		return m.Result.Phase
	case "band":
		return m.Result.Health.Band
	}
	switch v := m.Fields[dim].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// segments merges the period's segment retention (NRR) with the
// population's counts: customers, MRR and at-risk accounts with MRR > 0 on
// the as-of day, for every dimension. Rows come in dimension order, values
// by label with "(none)" last.
func (g *grouping) segments(period []scoring.Segment, members []Member, major func(int64) float64) []Segment {
	type row struct {
		seg      Segment
		mrrMinor int64
	}
	rows := make([]map[string]*row, len(g.dims))
	get := func(d int, key string) *row {
		if rows[d] == nil {
			rows[d] = map[string]*row{}
		}
		r := rows[d][key]
		if r == nil {
			label := g.labels[d][key]
			if label == "" {
				label = key
			}
			r = &row{seg: Segment{Dimension: g.dims[d], Value: label}}
			if g.dims[d] == "touch_model" {
				r.seg.TouchModel = label
			}
			rows[d][key] = r
		}
		return r
	}
	index := map[string]int{"touch": 0}
	for d, dim := range g.dims {
		index[dim] = d
	}
	for _, s := range period {
		d, ok := index[s.Dimension]
		if !ok {
			continue
		}
		r := get(d, s.Value)
		if s.MRRStart > 0 && !math.IsNaN(s.NRR) {
			r.seg.NRR = num(round4(s.NRR))
		}
	}
	for i := range members {
		res := &members[i].Result
		if res.MRR <= 0 {
			continue
		}
		for d := range g.dims {
			r := get(d, g.keys[i][d])
			r.seg.Customers++
			r.mrrMinor += res.MRR
			if res.Health.Band == scoring.BandAtRisk {
				r.seg.AtRisk++
			}
		}
	}
	out := []Segment{}
	for d := range g.dims {
		list := make([]*row, 0, len(rows[d]))
		for _, r := range rows[d] {
			r.seg.MRR = major(r.mrrMinor)
			list = append(list, r)
		}
		sort.Slice(list, func(a, b int) bool {
			la, lb := list[a].seg.Value, list[b].seg.Value
			if (la == noValue) != (lb == noValue) {
				return lb == noValue
			}
			return la < lb
		})
		for _, r := range list {
			out = append(out, r.seg)
		}
	}
	return out
}
