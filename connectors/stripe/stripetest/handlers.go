package stripetest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EventRetention is how long the API returns an event: older ones are not
// listed or retrieved (API reference "List all events",
// https://docs.stripe.com/api/events/list: "List events, going back up to
// 30 days"; https://docs.stripe.com/api/events: "we only guarantee access
// to events through the Retrieve Event API for 30 days").
const EventRetention = 30 * 24 * time.Hour

type item struct {
	id      string
	created int64
	seq     int64
}

// sorted returns the objects of a kind newest first, cached until the next
// mutation (every mutation emits an event, which clears the cache); the
// caller holds s.mu.
func (s *Server) sorted(kind string, build func() []item) []item {
	if s.order == nil {
		s.order = map[string][]item{}
	}
	if its, ok := s.order[kind]; ok {
		return its
	}
	its := build()
	slices.SortFunc(its, newestFirst)
	s.order[kind] = its
	return its
}

// sortedEntries is sorted for a kind kept in a map of entries; idCreated
// reads an object's ID and creation time.
func sortedEntries[T any](s *Server, kind string, objects map[string]*entry[T], idCreated func(T) (string, time.Time)) []item {
	return s.sorted(kind, func() []item {
		its := make([]item, 0, len(objects))
		for _, e := range objects {
			id, created := idCreated(e.v)
			its = append(its, item{id, created.Unix(), e.seq})
		}
		return its
	})
}

func newestFirst(a, b item) int {
	if c := cmp.Compare(b.created, a.created); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

// before reports whether a sorts before b in newest-first order.
func before(a, b item) bool { return newestFirst(a, b) < 0 }

type listParams struct {
	limit         int
	startingAfter string
	endingBefore  string
	expand        map[string]bool
	created       func(int64) bool
}

type apiError struct {
	status                int
	typ, code, param, msg string
}

func badParam(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "parameter_invalid_integer", param: param, msg: msg}
}

func (e *apiError) write(w http.ResponseWriter) {
	writeError(w, e.status, e.typ, e.code, e.param, e.msg)
}

// arrayParam reads a form-encoded array: name[]=a&name[]=b or
// name[0]=a&name[1]=b, as Stripe's SDKs send them.
func arrayParam(q url.Values, name string) []string {
	var out []string
	out = append(out, q[name+"[]"]...)
	keys := make([]string, 0)
	for k := range q {
		if strings.HasPrefix(k, name+"[") && k != name+"[]" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, q[k]...)
	}
	return out
}

// maxExpandDepth is Stripe's limit on expansions ("Expanding Responses",
// https://docs.stripe.com/api/expanding_objects: "Expansions have a maximum
// depth of four levels"). Every dot-separated segment counts, including the
// "data" of a list and the "data" of a nested list, so
// data.invoice.subscription.default_source is the deepest a list accepts and
// data.items.data.price.tiers (five) is refused.
const maxExpandDepth = 4

// checkExpand refuses an expansion deeper than maxExpandDepth with the
// error Stripe answers (400 invalid_request_error, "You cannot expand more
// than 4 levels of a property. Property: <path>", param expand).
func checkExpand(e string) *apiError {
	if strings.Count(e, ".")+1 > maxExpandDepth {
		return &apiError{http.StatusBadRequest, "invalid_request_error", "", "expand",
			fmt.Sprintf("You cannot expand more than %d levels of a property. Property: %s", maxExpandDepth, e)}
	}
	return nil
}

// parseList reads the common list parameters
// (https://docs.stripe.com/api/pagination). allowed lists the expansions
// the endpoint supports, relative to one object of data; list expansions
// carry the "data." prefix.
func parseList(r *http.Request, allowed ...string) (listParams, *apiError) {
	q := r.URL.Query()
	p := listParams{limit: 10, expand: map[string]bool{}}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, badParam("limit", "Invalid integer: "+v)
		}
		if n < 1 || n > 100 {
			return p, &apiError{http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "limit",
				"This value must be greater than or equal to 1 and less than or equal to 100."}
		}
		p.limit = n
	}
	p.startingAfter, p.endingBefore = q.Get("starting_after"), q.Get("ending_before")
	if p.startingAfter != "" && p.endingBefore != "" {
		return p, &apiError{http.StatusBadRequest, "invalid_request_error", "", "ending_before",
			"You may only specify one of these parameters: ending_before, starting_after."}
	}
	for _, e := range arrayParam(q, "expand") {
		if aerr := checkExpand(e); aerr != nil {
			return p, aerr
		}
		rel, ok := strings.CutPrefix(e, "data.")
		if !ok || !slices.Contains(allowed, rel) {
			return p, &apiError{http.StatusBadRequest, "invalid_request_error", "", "expand",
				fmt.Sprintf("This property cannot be expanded (%s).", e)}
		}
		p.expand[rel] = true
	}
	f, aerr := createdFilter(q)
	if aerr != nil {
		return p, aerr
	}
	p.created = f
	return p, nil
}

func parseExpand(r *http.Request, allowed ...string) (map[string]bool, *apiError) {
	exp := map[string]bool{}
	for _, e := range arrayParam(r.URL.Query(), "expand") {
		if aerr := checkExpand(e); aerr != nil {
			return nil, aerr
		}
		if !slices.Contains(allowed, e) {
			return nil, &apiError{http.StatusBadRequest, "invalid_request_error", "", "expand",
				fmt.Sprintf("This property cannot be expanded (%s).", e)}
		}
		exp[e] = true
	}
	return exp, nil
}

func createdFilter(q url.Values) (func(int64) bool, *apiError) {
	type bound struct {
		op string
		v  int64
	}
	var bs []bound
	for _, op := range []string{"", "gt", "gte", "lt", "lte"} {
		key := "created"
		if op != "" {
			key += "[" + op + "]"
		}
		v := q.Get(key)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badParam(key, "Invalid integer: "+v)
		}
		bs = append(bs, bound{op, n})
	}
	return func(c int64) bool {
		for _, b := range bs {
			switch {
			case b.op == "" && c != b.v, b.op == "gt" && c <= b.v, b.op == "gte" && c < b.v,
				b.op == "lt" && c >= b.v, b.op == "lte" && c > b.v:
				return false
			}
		}
		return true
	}, nil
}

// page applies Stripe's cursor pagination to items (any order; small lists
// such as a subscription's items) and writes the list object. lookup finds
// a cursor object among all objects of the kind, filtered or not.
func page(w http.ResponseWriter, p listParams, items []item, url, kind string, lookup func(string) (item, bool), render func(id string) any) {
	if !slices.IsSortedFunc(items, newestFirst) {
		slices.SortFunc(items, newestFirst)
	}
	pageSorted(w, p, items, nil, url, kind, lookup, render)
}

// pageSorted applies Stripe's cursor pagination to all, every object of
// the kind newest first, keeping those keep accepts (nil: all) and the
// created filter, and writes the list object. It finds the cursor's place
// by binary search and examines objects from there only until the page
// and its has_more are decided, so a page costs O(limit) when most objects
// match, not O(len(all)): a full pull through the fake stays linear. The
// cursor may be an object the filters drop; its place in the order is
// what counts (https://docs.stripe.com/api/pagination: starting_after and
// ending_before are object IDs that define the place in the list).
func pageSorted(w http.ResponseWriter, p listParams, all []item, keep func(item) bool, url, kind string, lookup func(string) (item, bool), render func(id string) any) {
	ok := func(it item) bool { return p.created(it.created) && (keep == nil || keep(it)) }
	sel := make([]item, 0, min(p.limit+1, len(all)))
	switch {
	case p.endingBefore != "":
		ref, found := lookup(p.endingBefore)
		if !found {
			missing(w, kind, p.endingBefore, "ending_before")
			return
		}
		// The limit matching objects just before the cursor, nearest
		// last; walk back from the cursor and reverse.
		i := sort.Search(len(all), func(k int) bool { return !before(all[k], ref) })
		for k := i - 1; k >= 0 && len(sel) <= p.limit; k-- {
			if ok(all[k]) {
				sel = append(sel, all[k])
			}
		}
		hasMore := len(sel) > p.limit
		sel = sel[:min(p.limit, len(sel))]
		slices.Reverse(sel)
		writeList(w, sel, hasMore, url, render)
		return
	case p.startingAfter != "":
		ref, found := lookup(p.startingAfter)
		if !found {
			missing(w, kind, p.startingAfter, "starting_after")
			return
		}
		all = all[sort.Search(len(all), func(k int) bool { return before(ref, all[k]) }):]
	}
	for k := 0; k < len(all) && len(sel) <= p.limit; k++ {
		if ok(all[k]) {
			sel = append(sel, all[k])
		}
	}
	writeList(w, sel[:min(p.limit, len(sel))], len(sel) > p.limit, url, render)
}

// writeList writes a list object of the rendered items.
func writeList(w http.ResponseWriter, sel []item, hasMore bool, url string, render func(id string) any) {
	data := make([]any, 0, len(sel))
	for _, it := range sel {
		data = append(data, render(it.id))
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "has_more": hasMore, "url": url})
}

func missing(w http.ResponseWriter, kind, id, param string) {
	writeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", param,
		fmt.Sprintf("No such %s: '%s'", kind, id))
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	p, aerr := parseList(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	email := r.URL.Query().Get("email")
	s.mu.Lock()
	defer s.mu.Unlock()
	all := sortedEntries(s, "customers", s.customers, func(v Customer) (string, time.Time) { return v.ID, v.Created })
	keep := func(it item) bool {
		c := s.customers[it.id].v
		return !c.Deleted && (email == "" || c.Email == email)
	}
	pageSorted(w, p, all, keep, "/v1/customers", "customer", func(id string) (item, bool) {
		e, ok := s.customers[id]
		if !ok {
			return item{}, false
		}
		return item{id: id, created: e.v.Created.Unix(), seq: e.seq}, true
	}, func(id string) any { return s.renderCustomer(s.customers[id].v) })
}

// subAllowed lists the expandable paths of a subscription for version
// (API reference "The Subscription object": customer, discounts and the
// items' price and discounts are expandable; price.tiers is includable).
// From 2025-09-30.clover a discount's coupon is expandable under
// source.coupon (changelog "Adds the Discount source property and removes
// the Discount coupon property").
func subAllowed(version string) []string {
	out := []string{"customer", "items.data.price.tiers", "items.data.discounts"}
	if basil(version) {
		out = append(out, "discounts")
	}
	if clover(version) {
		out = append(out, "discounts.source.coupon", "items.data.discounts.source.coupon")
	}
	return out
}

// itemAllowed lists the expandable paths of a subscription item.
func itemAllowed(version string) []string {
	out := []string{"price.tiers", "discounts"}
	if clover(version) {
		out = append(out, "discounts.source.coupon")
	}
	return out
}

// subItemExpand turns a subscription's expansions into its items'.
func subItemExpand(exp map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range exp {
		if rel, ok := strings.CutPrefix(k, "items.data."); ok {
			out[rel] = true
		}
	}
	return out
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p, aerr := parseList(r, subAllowed(ri.version)...)
	if aerr != nil {
		aerr.write(w)
		return
	}
	q := r.URL.Query()
	status, customer, price := q.Get("status"), q.Get("customer"), q.Get("price")
	s.mu.Lock()
	defer s.mu.Unlock()
	all := sortedEntries(s, "subscriptions", s.subs, func(v Subscription) (string, time.Time) { return v.ID, v.Created })
	keep := func(it item) bool {
		sub := s.subs[it.id].v
		// https://docs.stripe.com/api/subscriptions/list#list_subscriptions-status:
		// by default canceled subscriptions are not returned; "ended" is
		// canceled or incomplete_expired; "all" returns every status.
		switch {
		case status == "" && sub.Status == "canceled":
			return false
		case status == "ended" && sub.Status != "canceled" && sub.Status != "incomplete_expired":
			return false
		case status != "" && status != "all" && status != "ended" && sub.Status != status:
			return false
		case customer != "" && sub.Customer != customer:
			return false
		case price != "" && !slices.ContainsFunc(sub.Items, func(it SubscriptionItem) bool { return it.Price == price }):
			return false
		}
		return true
	}
	pageSorted(w, p, all, keep, "/v1/subscriptions", "subscription", func(id string) (item, bool) {
		e, ok := s.subs[id]
		if !ok {
			return item{}, false
		}
		return item{id: id, created: e.v.Created.Unix(), seq: e.seq}, true
	}, func(id string) any { return s.renderSubscription(s.subs[id].v, ri.version, p.expand) })
}

// listSubscriptionItems serves GET /v1/subscription_items?subscription=
// (https://docs.stripe.com/api/subscription_items/list), oldest first as
// on the subscription.
func (s *Server) listSubscriptionItems(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p, aerr := parseList(r, itemAllowed(ri.version)...)
	if aerr != nil {
		aerr.write(w)
		return
	}
	subID := r.URL.Query().Get("subscription")
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.subs[subID]
	if !ok {
		missing(w, "subscription", subID, "subscription")
		return
	}
	sub := e.v
	var items []item
	for i, it := range sub.Items {
		items = append(items, item{it.ID, 0, int64(-i)})
	}
	page(w, p, items, "/v1/subscription_items", "subscription item", func(id string) (item, bool) {
		for i, it := range sub.Items {
			if it.ID == id {
				return item{id: id, seq: int64(-i)}, true
			}
		}
		return item{}, false
	}, func(id string) any {
		for _, it := range sub.Items {
			if it.ID == id {
				return s.renderItem(it, sub, ri.version, p.expand)
			}
		}
		return nil
	})
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p, aerr := parseList(r, "customer")
	if aerr != nil {
		aerr.write(w)
		return
	}
	q := r.URL.Query()
	status, customer, sub := q.Get("status"), q.Get("customer"), q.Get("subscription")
	s.mu.Lock()
	defer s.mu.Unlock()
	all := sortedEntries(s, "invoices", s.invoices, func(v Invoice) (string, time.Time) { return v.ID, v.Created })
	keep := func(it item) bool {
		in := s.invoices[it.id].v
		return (status == "" || in.Status == status) && (customer == "" || in.Customer == customer) &&
			(sub == "" || in.Subscription == sub)
	}
	pageSorted(w, p, all, keep, "/v1/invoices", "invoice", func(id string) (item, bool) {
		e, ok := s.invoices[id]
		if !ok {
			return item{}, false
		}
		return item{id: id, created: e.v.Created.Unix(), seq: e.seq}, true
	}, func(id string) any { return s.renderInvoice(s.invoices[id].v, ri.version, p.expand) })
}

// listInvoiceLines serves GET /v1/invoices/{invoice}/lines
// (https://docs.stripe.com/api/invoices/invoice_lines), in invoice order.
func (s *Server) listInvoiceLines(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p, aerr := parseList(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	id := r.PathValue("invoice")
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.invoices[id]
	if !ok {
		missing(w, "invoice", id, "invoice")
		return
	}
	in := e.v
	var items []item
	for i, l := range in.Lines {
		items = append(items, item{l.ID, 0, int64(-i)})
	}
	page(w, p, items, "/v1/invoices/"+id+"/lines", "line item", func(lid string) (item, bool) {
		for i, l := range in.Lines {
			if l.ID == lid {
				return item{id: lid, seq: int64(-i)}, true
			}
		}
		return item{}, false
	}, func(lid string) any {
		for _, l := range in.Lines {
			if l.ID == lid {
				return s.renderLine(l, in, ri.version)
			}
		}
		return nil
	})
}

// listEvents serves GET /v1/events (https://docs.stripe.com/api/events/list):
// type (with * wildcards), types[] (exact names, at most 20), created
// filters, and only the last 30 days.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p, aerr := parseList(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	q := r.URL.Query()
	typ, types := q.Get("type"), arrayParam(q, "types")
	if typ != "" && len(types) > 0 {
		(&apiError{http.StatusBadRequest, "invalid_request_error", "", "types",
			"You may only specify one of these parameters: type, types."}).write(w)
		return
	}
	if len(types) > 20 {
		(&apiError{http.StatusBadRequest, "invalid_request_error", "", "types",
			"You may specify at most 20 event types."}).write(w)
		return
	}
	cut := ri.now.Add(-EventRetention).Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.sorted("events", func() []item {
		its := make([]item, 0, len(s.events))
		for _, e := range s.events {
			its = append(its, item{e.ID, e.Created.Unix(), e.seq})
		}
		return its
	})
	keep := func(it item) bool { return it.created >= cut && matchType(s.events[s.eventAt[it.id]].Type, typ, types) }
	pageSorted(w, p, all, keep, "/v1/events", "event", func(id string) (item, bool) {
		e, ok := s.event(id)
		if !ok || e.Created.Unix() < cut {
			return item{}, false
		}
		return item{id: id, created: e.Created.Unix(), seq: e.seq}, true
	}, func(id string) any {
		e, _ := s.event(id)
		return s.renderEvent(e)
	})
}

// event finds an event by ID; the caller holds s.mu.
func (s *Server) event(id string) (event, bool) {
	i, ok := s.eventAt[id]
	if !ok {
		return event{}, false
	}
	return s.events[i], true
}

func matchType(t, typ string, types []string) bool {
	if typ != "" {
		if prefix, ok := strings.CutSuffix(typ, "*"); ok {
			return strings.HasPrefix(t, prefix)
		}
		return t == typ
	}
	return len(types) == 0 || slices.Contains(types, t)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	id := r.PathValue("id")
	cut := ri.now.Add(-EventRetention)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.event(id); ok && !e.Created.Before(cut) {
		writeJSON(w, s.renderEvent(e))
		return
	}
	missing(w, "event", id, "id")
}

// retrieve serves GET of one object: expansions checked against allowed
// (and the depth limit), 404 resource_missing ("No such <kind>: '<id>'",
// param id) for an unknown ID, else render's object.
func retrieve[T any](s *Server, w http.ResponseWriter, r *http.Request, objects map[string]*entry[T], kind, pathKey string,
	allowed []string, render func(v T, exp map[string]bool) any) {
	exp, aerr := parseExpand(r, allowed...)
	if aerr != nil {
		aerr.write(w)
		return
	}
	id := r.PathValue(pathKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := objects[id]
	if !ok {
		missing(w, kind, id, "id")
		return
	}
	writeJSON(w, render(e.v, exp))
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	retrieve(s, w, r, s.customers, "customer", "customer", nil, func(c Customer, _ map[string]bool) any {
		if c.Deleted {
			// https://docs.stripe.com/api/customers/delete: a deleted
			// customer is retrievable as {"id","object","deleted":true}.
			return map[string]any{"id": c.ID, "object": "customer", "deleted": true}
		}
		return s.renderCustomer(c)
	})
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	retrieve(s, w, r, s.subs, "subscription", "subscription_exposed_id", subAllowed(ri.version),
		func(sub Subscription, exp map[string]bool) any { return s.renderSubscription(sub, ri.version, exp) })
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	retrieve(s, w, r, s.invoices, "invoice", "invoice", []string{"customer"},
		func(in Invoice, exp map[string]bool) any { return s.renderInvoice(in, ri.version, exp) })
}

// getPrice serves GET /v1/prices/{price} ("Retrieve a price",
// https://docs.stripe.com/api/prices/retrieve); tiers is includable
// ("The Price object": tiers is present only when expanded).
func (s *Server) getPrice(w http.ResponseWriter, r *http.Request) {
	retrieve(s, w, r, s.prices, "price", "price", []string{"tiers", "product"}, func(p Price, exp map[string]bool) any {
		m := s.renderPrice(p, exp["tiers"])
		if pr, ok := s.products[p.Product]; ok && exp["product"] {
			m["product"] = s.renderProduct(pr.v)
		}
		return m
	})
}

// getCoupon serves GET /v1/coupons/{coupon} ("Retrieve a coupon",
// https://docs.stripe.com/api/coupons/retrieve).
func (s *Server) getCoupon(w http.ResponseWriter, r *http.Request) {
	retrieve(s, w, r, s.coupons, "coupon", "coupon", nil, func(c Coupon, _ map[string]bool) any { return s.renderCoupon(c) })
}
