package zendesktest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxPerPage is the largest per_page the incremental exports accept, and
// their default. Docs ("Incremental Exports": "per_page ... Defaults to
// 1000", the maximum; "Incremental Sample Export" returns up to 50).
const MaxPerPage = 1000

// recentCutoff: docs ("Using the Incremental Export API"): "any items that
// were created or changed within the minute prior to your request are
// excluded", and start_time must be more than a minute in the past
// ("Incremental Exports > start_time"; a more recent one is 422 "Too recent
// start_time").
const recentCutoff = time.Minute

// position is a place in the (generated_timestamp, id) order of the ticket
// export: the cursor points after it.
type position struct{ ts, id int64 }

func (p position) less(q position) bool {
	return p.ts < q.ts || (p.ts == q.ts && p.id < q.id)
}

// encodeCursor mimics Zendesk's opaque cursors (base64 of
// "1580753798.0||432|", docs "Incremental Exports" examples).
func encodeCursor(p position) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%d.0||%d|", p.ts, p.id)))
}

func decodeCursor(c string) (position, bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return position{}, false
	}
	var p position
	if _, err := fmt.Sscanf(string(raw), "%d.0||%d|", &p.ts, &p.id); err != nil {
		return position{}, false
	}
	return p, true
}

// perPage parses per_page: 1..MaxPerPage, default MaxPerPage.
func perPage(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("per_page")
	if v == "" {
		return MaxPerPage, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPerPage {
		writeError(w, http.StatusBadRequest, "InvalidPaginationParameter", fmt.Sprintf("per_page must be an integer between 1 and %d", MaxPerPage))
		return 0, false
	}
	return n, true
}

// startTime parses start_time (Unix seconds), required, and at least a
// minute in the past.
func startTime(w http.ResponseWriter, q url.Values, now time.Time) (int64, bool) {
	v := q.Get("start_time")
	if v == "" {
		writeError(w, http.StatusBadRequest, "InvalidValue", "start_time is required")
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "InvalidValue", "start_time must be a Unix epoch time in seconds")
		return 0, false
	}
	if n > now.Add(-recentCutoff).Unix() {
		writeError(w, http.StatusUnprocessableEntity, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute")
		return 0, false
	}
	return n, true
}

// exportTickets serves "Incremental Ticket Export, Cursor Based"
// (GET /api/v2/incremental/tickets/cursor): start_time on the first
// request, cursor after; tickets ordered by generated_timestamp;
// after_cursor, after_url, before_cursor, before_url, end_of_stream;
// include=metric_sets side-loads ticket metrics ("Tickets > Sideloads");
// exclude_deleted=true leaves out deleted tickets.
func (s *Server) exportTickets(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	n, ok := perPage(w, q)
	if !ok {
		return
	}
	var from position
	if c := q.Get("cursor"); c != "" {
		p, valid := decodeCursor(c)
		s.mu.Lock()
		issued, known := s.cursors[c]
		s.mu.Unlock()
		expired := s.opts.CursorTTL > 0 && (!known || now.Sub(issued) > s.opts.CursorTTL)
		if !valid || expired {
			writeError(w, http.StatusUnprocessableEntity, "InvalidPaginationParameter", "cursor is invalid or has expired")
			return
		}
		from = p
	} else {
		st, ok := startTime(w, q, now)
		if !ok {
			return
		}
		// generated_timestamp >= start_time: start after the last
		// possible position of the second before.
		from = position{ts: st - 1, id: 1<<62 - 1}
	}
	includeMetrics := slices.Contains(strings.Split(q.Get("include"), ","), "metric_sets")
	excludeDeleted := q.Get("exclude_deleted") == "true"
	cutoff := now.Add(-recentCutoff).Unix()

	s.mu.Lock()
	order := s.exportOrder()
	i, _ := slices.BinarySearchFunc(order, from, func(t *Ticket, p position) int {
		if (position{t.GeneratedTimestamp.Unix(), t.ID}).less(p) || (position{t.GeneratedTimestamp.Unix(), t.ID}) == p {
			return -1
		}
		return 1
	})
	var page []*Ticket
	more := false
	for ; i < len(order); i++ {
		t := order[i]
		if t.GeneratedTimestamp.Unix() > cutoff {
			break
		}
		if excludeDeleted && t.Status == "deleted" {
			continue
		}
		if len(page) == n {
			more = true
			break
		}
		page = append(page, t)
	}
	tickets := make([]ticketOut, len(page))
	var metrics []map[string]any
	for i, t := range page {
		tickets[i] = s.ticketJSON(t)
		if includeMetrics {
			metrics = append(metrics, metricJSON(t.ID, s.metrics[t.ID], t.CreatedAt))
		}
	}
	after := from
	if len(page) > 0 {
		last := page[len(page)-1]
		after = position{last.GeneratedTimestamp.Unix(), last.ID}
	}
	ac := encodeCursor(after)
	if _, issued := s.cursors[ac]; !issued {
		s.cursors[ac] = now // a cursor's age counts from its first issue
	}
	s.mu.Unlock()

	body := map[string]any{
		"tickets":       tickets,
		"after_cursor":  ac,
		"after_url":     s.baseURL() + "/incremental/tickets/cursor.json?cursor=" + url.QueryEscape(ac),
		"before_cursor": nil,
		"before_url":    nil,
		"end_of_stream": !more,
	}
	if includeMetrics {
		if metrics == nil {
			metrics = []map[string]any{}
		}
		body["metric_sets"] = metrics
	}
	writeJSON(w, http.StatusOK, body)
}

// exportOrganizations serves "Incremental Organization Export"
// (GET /api/v2/incremental/organizations), which supports only time-based
// exports ("Using the Incremental Export API": "The other endpoints only
// support time-based exports"): organizations with updated_at >= start_time
// in time order, count, end_time (the last item's time, the next
// start_time), next_page and end_of_stream. Items sharing end_time are
// returned again on the next page, as documented for time-based exports
// ("Excluding duplicate items").
func (s *Server) exportOrganizations(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	n, ok := perPage(w, q)
	if !ok {
		return
	}
	st, ok := startTime(w, q, now)
	if !ok {
		return
	}
	cutoff := now.Add(-recentCutoff).Unix()
	s.mu.Lock()
	// The organizations with start_time <= updated_at <= cutoff are a run
	// of the (updated_at, id) order, found by binary search: a page costs
	// O(per_page), not a sort of every organization.
	order := s.orgOrder()
	from := sort.Search(len(order), func(i int) bool { return order[i].UpdatedAt.Unix() >= st })
	to := sort.Search(len(order), func(i int) bool { return order[i].UpdatedAt.Unix() > cutoff })
	all := order[from:max(from, to)]
	page := all[:min(n, len(all))]
	orgs := make([]map[string]any, len(page))
	for i, o := range page {
		orgs[i] = s.orgJSON(o)
	}
	s.mu.Unlock()
	end := st
	if len(page) > 0 {
		end = page[len(page)-1].UpdatedAt.Unix()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"organizations": orgs,
		"count":         len(page),
		"end_time":      end,
		"next_page":     fmt.Sprintf("%s/incremental/organizations.json?per_page=%d&start_time=%d", s.baseURL(), n, end),
		"end_of_stream": len(all) <= n,
	})
}

// orgOrder returns the organizations in (updated_at, id) order, sorting
// once after a change. Caller holds s.mu.
func (s *Server) orgOrder() []*Organization {
	if s.orgsOrdered == nil {
		s.orgsOrdered = byTimeAndID(s.orgs, func(o *Organization) time.Time { return o.UpdatedAt })
	}
	return s.orgsOrdered
}

// exportOrder returns the tickets in (generated_timestamp, id) order,
// sorting once after a change. Caller holds s.mu.
func (s *Server) exportOrder() []*Ticket {
	if s.ordered == nil {
		s.ordered = byTimeAndID(s.tickets, func(t *Ticket) time.Time { return t.GeneratedTimestamp })
	}
	return s.ordered
}

// byTimeAndID returns the records of m ordered by at, then by ID (m's key).
func byTimeAndID[T any](m map[int64]*T, at func(*T) time.Time) []*T {
	type keyed struct {
		id int64
		v  *T
	}
	ks := make([]keyed, 0, len(m))
	for id, v := range m {
		ks = append(ks, keyed{id, v})
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Or(at(a.v).Compare(at(b.v)), cmp.Compare(a.id, b.id)) })
	out := make([]*T, len(ks))
	for i, k := range ks {
		out[i] = k.v
	}
	return out
}

// showTicket serves "Show Ticket" (GET /api/v2/tickets/{id}, {"ticket":
// ...}) and, with metrics, "Show Ticket Metrics" (GET
// /api/v2/tickets/{ticket_id}/metrics, {"ticket_metric": ...}); unknown or
// deleted tickets are 404 RecordNotFound ("Errors").
func (s *Server) showTicket(w http.ResponseWriter, id string, metrics bool) {
	n, _ := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	t := s.tickets[n]
	var body map[string]any
	switch {
	case t == nil || t.Status == "deleted":
	case metrics:
		body = map[string]any{"ticket_metric": metricJSON(n, s.metrics[n], t.CreatedAt)}
	default:
		body = map[string]any{"ticket": s.ticketJSON(t)}
	}
	s.mu.Unlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "RecordNotFound", "Not found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}
