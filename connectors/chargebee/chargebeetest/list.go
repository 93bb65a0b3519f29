package chargebeetest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// row is a stored record as the list machinery sees it.
type row struct {
	id                     string
	created, updated, date int64
	status, customer, sub  string
	itemType, itemID       string
	deleted                bool
	rec                    any // *Customer, *Subscription, ...
}

// elemLocked is the list entry of a row, e.g. {"subscription":..,"customer":..}.
func (s *Server) elemLocked(x row) map[string]any {
	switch v := x.rec.(type) {
	case *Customer:
		return map[string]any{"customer": *v}
	case *Subscription:
		m := map[string]any{"subscription": *v}
		if c, ok := s.customers[v.CustomerID]; ok {
			m["customer"] = *c
		}
		return m
	case *Invoice:
		return map[string]any{"invoice": *v}
	case *Transaction:
		return map[string]any{"transaction": *v}
	case *ItemPrice:
		return map[string]any{"item_price": *v}
	case *Coupon:
		return map[string]any{"coupon": *v}
	}
	return nil
}

// sortFields lists, per collection, the documented sort_by attributes.
var sortFields = map[string][]string{
	"customers":     {"created_at", "updated_at"},
	"subscriptions": {"created_at", "updated_at"},
	"invoices":      {"date", "updated_at"},
	"transactions":  {"date", "updated_at"},
	"item_prices":   {"id", "updated_at"},
	"coupons":       {"created_at"},
}

// eachRowLocked calls fn for every stored record of a collection.
func (s *Server) eachRowLocked(coll string, fn func(row)) {
	switch coll {
	case "customers":
		for _, c := range s.customers {
			fn(row{id: c.ID, created: c.CreatedAt, updated: c.UpdatedAt, deleted: c.Deleted, rec: c})
		}
	case "subscriptions":
		for _, v := range s.subscriptions {
			fn(row{id: v.ID, created: v.CreatedAt, updated: v.UpdatedAt, status: v.Status, customer: v.CustomerID, deleted: v.Deleted, rec: v})
		}
	case "invoices":
		for _, v := range s.invoices {
			fn(row{id: v.ID, updated: v.UpdatedAt, date: v.Date, status: v.Status, customer: v.CustomerID, sub: v.SubscriptionID, deleted: v.Deleted, rec: v})
		}
	case "transactions":
		for _, v := range s.transactions {
			fn(row{id: v.ID, updated: v.UpdatedAt, date: v.Date, status: v.Status, customer: v.CustomerID, sub: v.SubscriptionID, deleted: v.Deleted, rec: v})
		}
	case "item_prices":
		for _, v := range s.itemPrices {
			fn(row{id: v.ID, created: v.CreatedAt, updated: v.UpdatedAt, status: v.Status, itemType: v.ItemType, itemID: v.ItemID, rec: v})
		}
	case "coupons":
		for _, v := range s.coupons {
			fn(row{id: v.ID, created: v.CreatedAt, updated: v.UpdatedAt, status: v.Status, rec: v})
		}
	}
}

// ascending orders rows by the sort key, then by id.
func ascending(a, b row, key func(row) int64) int {
	return cmp.Or(cmp.Compare(key(a), key(b)), strings.Compare(a.id, b.id))
}

// all reports whether x satisfies every predicate.
func all(preds []func(row) bool, x row) bool {
	for _, p := range preds {
		if !p(x) {
			return false
		}
	}
	return true
}

// orderedLocked returns the rows of a collection in ascending order of
// (key, id), sorted once per collection and sort field until the next
// change (every store write forgets them). The caller holds s.mu and must
// not change the slice.
func (s *Server) orderedLocked(coll, sortField string, key func(row) int64) []row {
	if rows, ok := s.rows[coll+" "+sortField]; ok {
		return rows
	}
	var rows []row
	s.eachRowLocked(coll, func(x row) { rows = append(rows, x) })
	slices.SortFunc(rows, func(a, b row) int { return ascending(a, b, key) })
	if s.rows == nil {
		s.rows = map[string][]row{}
	}
	s.rows[coll+" "+sortField] = rows
	return rows
}

func badParam(param, msg string) apiError {
	e := errorFor(http.StatusBadRequest)
	e.Param, e.Message = param, msg
	return e
}

// list serves GET /api/v2/{collection} (docs: "Pagination and Filtering"):
// limit 1..100 (default 10), offset = the previous page's next_offset,
// include_deleted, filters as attr[operator]=value and sort_by[asc|desc].
// The response is {"list":[...],"next_offset":"..."}, next_offset omitted on
// the last page.
func (s *Server) list(w http.ResponseWriter, r *http.Request, coll, _ string) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.writeError(w, badParam("limit", "limit : The value "+v+" is invalid. It should be between 1 and 100"))
			return
		}
		limit = n
	}
	sortField, desc := "created_at", true
	if coll == "invoices" || coll == "transactions" {
		sortField = "date"
	}
	var preds []func(row) bool
	includeDeleted := false
	var offKey *[2]string
	for name, vals := range q {
		v := vals[0]
		switch {
		case name == "limit":
		case name == "offset":
			var k [2]string
			if err := json.Unmarshal([]byte(v), &k); err != nil {
				s.writeError(w, badParam("offset", "offset : invalid value"))
				return
			}
			offKey = &k
		case name == "include_deleted":
			// A boolean (docs: "Pagination and Filtering").
			if v != "true" && v != "false" {
				s.writeError(w, badParam(name, name+" : The value "+v+" is invalid. It should be true or false"))
				return
			}
			includeDeleted = v == "true"
		case name == "sort_by[asc]" || name == "sort_by[desc]":
			// One sort attribute and one direction per request.
			if q.Has("sort_by[asc]") && q.Has("sort_by[desc]") {
				s.writeError(w, badParam(name, "sort_by : only one of sort_by[asc] and sort_by[desc] can be given"))
				return
			}
			if !slices.Contains(sortFields[coll], v) {
				s.writeError(w, badParam(name, name+" : The value "+v+" is not supported for sorting"))
				return
			}
			sortField, desc = v, name == "sort_by[desc]"
		default:
			p, e := filterPred(coll, name, v)
			if e != nil {
				s.writeError(w, *e)
				return
			}
			preds = append(preds, p)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	key := func(x row) int64 {
		switch sortField {
		case "updated_at":
			return x.updated
		case "date":
			return x.date
		case "id":
			return 0
		}
		return x.created
	}
	var from *row
	if offKey != nil {
		kv, err := strconv.ParseInt(offKey[0], 10, 64)
		if err != nil {
			s.writeError(w, badParam("offset", "offset : invalid value"))
			return
		}
		from = &row{id: offKey[1], created: kv / 1000, updated: kv / 1000, date: kv / 1000}
	}
	// Keyset paging over the rows kept in order: find the offset's place
	// by binary search and walk from there until limit+1 eligible rows, so
	// a page costs O(limit) when most rows are eligible, not a pass over
	// every record.
	rows := s.orderedLocked(coll, sortField, key) // ascending
	k, step := 0, 1
	if desc {
		k, step = len(rows)-1, -1
	}
	if from != nil {
		// The first row after from in the requested order.
		if desc {
			k = sort.Search(len(rows), func(i int) bool { return ascending(rows[i], *from, key) >= 0 }) - 1
		} else {
			k = sort.Search(len(rows), func(i int) bool { return ascending(rows[i], *from, key) > 0 })
		}
	}
	page := make([]row, 0, limit+1)
	for ; k >= 0 && k < len(rows) && len(page) <= limit; k += step {
		x := rows[k]
		if x.deleted && !includeDeleted || !all(preds, x) {
			continue
		}
		page = append(page, x)
	}
	more := len(page) > limit
	if more {
		page = page[:limit]
	}
	out := struct {
		List       []map[string]any `json:"list"`
		NextOffset string           `json:"next_offset,omitempty"`
	}{List: make([]map[string]any, 0, len(page))}
	for _, x := range page {
		out.List = append(out.List, s.elemLocked(x))
	}
	if more {
		last := page[len(page)-1]
		// Chargebee's next_offset is an opaque JSON array of the sort key
		// (milliseconds) and an internal id, e.g. ["1517505731000","240000000156"].
		b, _ := json.Marshal([2]string{strconv.FormatInt(key(last)*1000, 10), last.id})
		out.NextOffset = string(b)
	}
	writeJSON(w, out)
}

// filterPred parses one filter parameter attr[op]=value.
func filterPred(coll, name, v string) (func(row) bool, *apiError) {
	attr, op, ok := strings.Cut(strings.TrimSuffix(name, "]"), "[")
	if !ok {
		e := badParam(name, name+" : is not a supported parameter")
		return nil, &e
	}
	bad := func(msg string) (func(row) bool, *apiError) {
		e := badParam(name, name+" : "+msg)
		return nil, &e
	}
	var get func(row) string
	var ts func(row) int64
	switch attr {
	case "id":
		get = func(x row) string { return x.id }
	case "status":
		get = func(x row) string { return x.status }
	case "customer_id":
		if coll != "subscriptions" && coll != "invoices" && coll != "transactions" {
			return bad("is not a supported parameter")
		}
		get = func(x row) string { return x.customer }
	case "subscription_id":
		if coll != "invoices" && coll != "transactions" {
			return bad("is not a supported parameter")
		}
		get = func(x row) string { return x.sub }
	case "item_type":
		if coll != "item_prices" {
			return bad("is not a supported parameter")
		}
		get = func(x row) string { return x.itemType }
	case "item_id":
		if coll != "item_prices" {
			return bad("is not a supported parameter")
		}
		get = func(x row) string { return x.itemID }
	case "updated_at":
		ts = func(x row) int64 { return x.updated }
	case "created_at":
		if coll == "invoices" || coll == "transactions" {
			return bad("is not a supported parameter")
		}
		ts = func(x row) int64 { return x.created }
	case "date":
		if coll != "invoices" && coll != "transactions" {
			return bad("is not a supported parameter")
		}
		ts = func(x row) int64 { return x.date }
	default:
		return bad("is not a supported parameter")
	}
	if get != nil {
		switch op {
		case "is":
			return func(x row) bool { return get(x) == v }, nil
		case "is_not":
			return func(x row) bool { return get(x) != v }, nil
		case "in", "not_in":
			var set []string
			if err := json.Unmarshal([]byte(v), &set); err != nil {
				return bad("invalid list, expected a JSON array such as [\"a\",\"b\"]")
			}
			in := op == "in"
			return func(x row) bool { return slices.Contains(set, get(x)) == in }, nil
		case "starts_with":
			return func(x row) bool { return strings.HasPrefix(get(x), v) }, nil
		}
		return bad("unsupported operator " + op)
	}
	if op == "between" {
		var pair [2]int64
		if err := json.Unmarshal([]byte(v), &pair); err != nil {
			return bad("invalid value, expected [from,to]")
		}
		return func(x row) bool { t := ts(x); return t != 0 && t >= pair[0] && t <= pair[1] }, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return bad("invalid timestamp " + v)
	}
	switch op {
	case "after":
		// A record without the attribute never matches: this is why a first
		// load must not filter on updated_at.
		return func(x row) bool { t := ts(x); return t != 0 && t > n }, nil
	case "before":
		return func(x row) bool { t := ts(x); return t != 0 && t < n }, nil
	case "on":
		return func(x row) bool { return ts(x) == n }, nil
	}
	return bad("unsupported operator " + op)
}

// retrieve serves GET /api/v2/{collection}/{id}.
func (s *Server) retrieve(w http.ResponseWriter, coll, _ string, id string) {
	s.mu.Lock()
	var found *row
	s.eachRowLocked(coll, func(x row) {
		if x.id == id && !x.deleted {
			found = &x
		}
	})
	var body map[string]any
	if found != nil {
		body = s.elemLocked(*found)
	}
	s.mu.Unlock()
	if found == nil {
		e := errorFor(http.StatusNotFound)
		e.Message = strings.TrimSuffix(resources[coll], "s") + " with id " + url.PathEscape(id) + " not found"
		s.writeError(w, e)
		return
	}
	writeJSON(w, body)
}
