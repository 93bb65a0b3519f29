package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Search request limits: at most 5 filter groups, 10 filters in a group
// and 25 filters in all (developer changelog "Breaking Change: Expanded
// Filtering Capabilities and Error Messaging in HubSpot's Search API", from
// 2024-08-26; the OpenAPI documents still say "Up to 6 groups", the
// stricter rule is enforced), and a query string of at most 3,000
// characters (PublicObjectSearchRequest.query).
const (
	maxFilterGroups   = 5
	maxGroupFilters   = 10
	maxTotalFilters   = 25
	maxSearchQueryLen = 3000
)

// checkSearchLimits returns the VALIDATION_ERROR message of a search
// request past the limits, "" within them. groups holds each filter
// group's number of filters.
func checkSearchLimits(queryLen int, groups []int) string {
	total := 0
	for _, n := range groups {
		if n > maxGroupFilters {
			return fmt.Sprintf("too many filters in a filter group: %d, at most %d", n, maxGroupFilters)
		}
		total += n
	}
	switch {
	case len(groups) > maxFilterGroups:
		return fmt.Sprintf("too many filter groups: %d, at most %d", len(groups), maxFilterGroups)
	case total > maxTotalFilters:
		return fmt.Sprintf("too many filters: %d, at most %d in all filter groups", total, maxTotalFilters)
	case queryLen > maxSearchQueryLen:
		return fmt.Sprintf("query is %d characters, at most %d", queryLen, maxSearchQueryLen)
	}
	return ""
}

// searchGroup is one filter group: its filters are ANDed.
type searchGroup struct {
	Filters []searchFilter `json:"filters"`
}

func filterCounts(groups []searchGroup) []int {
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = len(g.Filters)
	}
	return out
}

// SearchCap is the search API's limit on results reachable by paging for
// one query (developers.hubspot.com "CRM search": "limited to 10,000 total
// results for any given query. Attempting to page beyond 10,000 will result
// in a 400 error").
const SearchCap = 10000

type searchFilter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        *string  `json:"value"`
	HighValue    *string  `json:"highValue"`
	Values       []string `json:"values"`
}

type searchSort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// UnmarshalJSON accepts the documented object form {propertyName,
// direction} and the specs' string form ("prop", "-prop" descending).
func (s *searchSort) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		s.Direction = "ASCENDING"
		if strings.HasPrefix(str, "-") {
			s.Direction, str = "DESCENDING", str[1:]
		}
		s.PropertyName = str
		return nil
	}
	type plain searchSort
	return json.Unmarshal(b, (*plain)(s))
}

// handleSearch serves POST /crm/v3/objects/{type}/search (crm-*-v3.json
// doSearch: PublicObjectSearchRequest -> CollectionResponseWithTotal-
// SimplePublicObject). Filter groups are ORed, filters within a group
// ANDed, within checkSearchLimits; limit up
// to 200; after is an offset; total counts every match; paging past
// SearchCap answers 400. Archived records are never returned.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, typ string) {
	var in struct {
		FilterGroups []searchGroup `json:"filterGroups"`
		Sorts        []searchSort  `json:"sorts"`
		Properties   []string      `json:"properties"`
		Limit        int           `json:"limit"`
		After        json.Number   `json:"after"`
		Query        string        `json:"query"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if msg := checkSearchLimits(len(in.Query), filterCounts(in.FilterGroups)); msg != "" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, nil)
		return
	}
	if in.Limit == 0 {
		in.Limit = 10
	}
	if in.Limit < 0 || in.Limit > 200 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be between 1 and 200", nil)
		return
	}
	offset := 0
	if in.After != "" {
		n, err := strconv.Atoi(string(in.After))
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "after must be a non-negative integer offset", nil)
			return
		}
		offset = n
	}
	if offset >= SearchCap {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
			"There was a problem with the request. Paging is limited to 10,000 results for a search query.", nil)
		return
	}
	for _, so := range in.Sorts {
		if so.Direction != "" && so.Direction != "ASCENDING" && so.Direction != "DESCENDING" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "sort direction must be ASCENDING or DESCENDING", nil)
			return
		}
	}

	s.mu.Lock()
	// Consecutive pages of one query (same filters, sorts and query, the
	// next after offset) reuse its matches until a record changes, so a
	// page after the first costs O(limit); the first is one pass over the
	// records, as total counts every match.
	key, _ := json.Marshal([]any{in.FilterGroups, in.Sorts, in.Query})
	memo, ok := s.lastSearch[typ]
	if !ok || memo.key != string(key) {
		memo = searchMemo{key: string(key), matched: s.searchLocked(typ, in.FilterGroups, in.Sorts, in.Query)}
		if s.lastSearch == nil {
			s.lastSearch = map[string]searchMemo{}
		}
		s.lastSearch[typ] = memo
	}
	matched := memo.matched
	total := len(matched)
	end := offset + in.Limit
	if end > total {
		end = total
	}
	var results []map[string]any
	if offset < total {
		for _, o := range matched[offset:end] {
			results = append(results, view(typ, o, in.Properties, nil))
		}
	}
	s.mu.Unlock()
	if results == nil {
		results = []map[string]any{}
	}
	body := map[string]any{"total": total, "results": results}
	if end < total {
		next := strconv.Itoa(end)
		body["paging"] = map[string]any{"next": map[string]string{"after": next}}
	}
	writeJSON(w, http.StatusOK, body)
}

// searchMemo is the last search of a type: its request's filters, sorts
// and query (JSON) and the records matching them, in order.
type searchMemo struct {
	key     string
	matched []*Object
}

// searchLocked returns the records of typ that match the filter groups
// (any group, all filters of it) and the query, not archived, ordered by
// sorts and then ID. The caller holds s.mu.
func (s *Server) searchLocked(typ string, groups []searchGroup, sorts []searchSort, query string) []*Object {
	var matched []*Object
	for _, o := range s.objects[typ] {
		if o.Archived {
			continue
		}
		ok := len(groups) == 0
		for _, g := range groups {
			all := true
			for _, f := range g.Filters {
				if !match(o, f) {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if ok && query != "" {
			ok = strings.Contains(strings.ToLower(o.Properties["name"]+" "+o.Properties["domain"]), strings.ToLower(query))
		}
		if ok {
			matched = append(matched, o)
		}
	}
	// Sort keys are computed once per record, not per comparison.
	type entry struct {
		o    *Object
		keys []sortKey
	}
	entries := make([]entry, len(matched))
	for i, o := range matched {
		ks := make([]sortKey, len(sorts))
		for n, so := range sorts {
			ks[n] = keyOf(o.Properties[so.PropertyName])
		}
		entries[i] = entry{o, ks}
	}
	slices.SortFunc(entries, func(x, y entry) int {
		for n, so := range sorts {
			c := x.keys[n].cmp(y.keys[n])
			if c == 0 {
				continue
			}
			if so.Direction == "DESCENDING" {
				return -c
			}
			return c
		}
		if idLess(x.o.ID, y.o.ID) {
			return -1
		}
		if x.o.ID == y.o.ID {
			return 0
		}
		return 1
	})
	for i := range entries {
		matched[i] = entries[i].o
	}
	return matched
}

func match(o *Object, f searchFilter) bool {
	v, has := o.Properties[f.PropertyName]
	has = has && v != ""
	val := ""
	if f.Value != nil {
		val = *f.Value
	}
	switch f.Operator {
	case "HAS_PROPERTY":
		return has
	case "NOT_HAS_PROPERTY":
		return !has
	case "EQ":
		return has && compare(v, val) == 0
	case "NEQ":
		return !has || compare(v, val) != 0
	case "GT":
		return has && compare(v, val) > 0
	case "GTE":
		return has && compare(v, val) >= 0
	case "LT":
		return has && compare(v, val) < 0
	case "LTE":
		return has && compare(v, val) <= 0
	case "BETWEEN":
		hi := ""
		if f.HighValue != nil {
			hi = *f.HighValue
		}
		return has && compare(v, val) >= 0 && compare(v, hi) <= 0
	case "IN", "NOT_IN":
		in := false
		for _, x := range f.Values {
			if has && strings.EqualFold(v, x) {
				in = true
			}
		}
		return in == (f.Operator == "IN")
	case "CONTAINS_TOKEN":
		return has && strings.Contains(strings.ToLower(v), strings.Trim(strings.ToLower(val), "*"))
	case "NOT_CONTAINS_TOKEN":
		return !has || !strings.Contains(strings.ToLower(v), strings.Trim(strings.ToLower(val), "*"))
	}
	return false
}

// compare orders two property values: datetimes (ISO 8601 or epoch
// milliseconds, both accepted in filters) and numbers numerically, else as
// case-insensitive strings.
func compare(a, b string) int { return keyOf(a).cmp(keyOf(b)) }

// sortKey orders values as compare does: numbers (datetimes as epoch
// milliseconds) before strings.
type sortKey struct {
	num   float64
	isNum bool
	str   string
}

func keyOf(v string) sortKey {
	if strings.Contains(v, "T") {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return sortKey{num: float64(t.UnixMilli()), isNum: true}
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return sortKey{num: f, isNum: true}
	}
	return sortKey{str: strings.ToLower(v)}
}

func (a sortKey) cmp(b sortKey) int {
	switch {
	case a.isNum && b.isNum:
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	case a.isNum:
		return -1
	case b.isNum:
		return 1
	}
	return strings.Compare(a.str, b.str)
}
