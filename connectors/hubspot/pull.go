package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// Paging limits HubSpot documents: list pages hold at most 100 records,
// search pages 200, and one search query reaches at most 10,000 results.
const (
	listLimit   = 100
	searchLimit = 200
	searchCap   = 10000
)

// ErrRepeatedCursor means HubSpot returned a paging token it had already
// returned: following it would loop forever.
var ErrRepeatedCursor = errors.New("hubspot returned the same paging cursor twice")

// cursor is a stream's stored position: records modified at or after
// Since (less the overlap) are read by the next incremental pull.
type cursor struct {
	Since int64 `json:"since"` // Unix milliseconds
}

func encodeCursor(t time.Time) []byte {
	b, _ := json.Marshal(cursor{Since: t.UnixMilli()})
	return b
}

// page is the specs' CollectionResponse...ForwardPaging / WithTotal.
type page struct {
	Results []object `json:"results"`
	Total   int      `json:"total"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

func (p *page) next() string {
	if p.Paging == nil || p.Paging.Next == nil {
		return ""
	}
	return p.Paging.Next.After
}

// Pull yields batches of companies, deals (with their associated company)
// and healthsync tasks. A stream without a stored cursor, or req.Full, is
// read completely with the list endpoint (archived records as deletions;
// open tasks only); otherwise the search endpoint reads records modified
// since the cursor, tasks completed since included, so a completion
// reaches the store without every open task being listed on every pull.
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		now := req.Now
		if now.IsZero() {
			now = c.opts.Now()
		}
		c.forgetOwners()
		yield = c.namingOwners(ctx, yield)
		for _, stream := range []string{StreamCompanies, StreamDeals, StreamTasks} {
			var err error
			var cont bool
			raw := req.Cursors[stream]
			if req.Full || raw == nil {
				cont, err = c.pullFull(ctx, stream, now, yield)
			} else {
				var cur cursor
				if jerr := json.Unmarshal(raw, &cur); jerr != nil || cur.Since <= 0 {
					cont, err = c.pullFull(ctx, stream, now, yield)
				} else {
					cont, err = c.pullIncremental(ctx, stream, time.UnixMilli(cur.Since).UTC(), yield)
				}
			}
			if err != nil {
				yield(nil, fmt.Errorf("hubspot: pulling %s: %w", stream, err))
				return
			}
			if !cont {
				return
			}
		}
	}
}

// namingOwners wraps yield so that every batch of companies carries its
// owners' names.
func (c *Client) namingOwners(ctx context.Context, yield func(*record.Batch, error) bool) func(*record.Batch, error) bool {
	return func(b *record.Batch, err error) bool {
		if err == nil && b != nil {
			if err := c.nameOwners(ctx, b.Accounts); err != nil {
				yield(nil, fmt.Errorf("hubspot: pulling %s: %w", b.Stream, err))
				return false
			}
		}
		return yield(b, err)
	}
}

// list reads one page of GET /crm/v3/objects/{type}.
func (c *Client) list(ctx context.Context, stream, after string, archived bool) (*page, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(listLimit))
	q["properties"] = c.properties(stream)
	if archived {
		q.Set("archived", "true")
	}
	if after != "" {
		q.Set("after", after)
	}
	var p page
	if _, err := c.call(ctx, http.MethodGet, "/crm/v3/objects/"+stream, q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// pullFull enumerates a stream with the list endpoint, then its archived
// records as deletions. The last batch carries Done and the cursor (the
// time the enumeration started, so changes made during it are re-read).
func (c *Client) pullFull(ctx context.Context, stream string, started time.Time, yield func(*record.Batch, error) bool) (bool, error) {
	passes := []bool{false, true}
	if stream == StreamTasks {
		passes = []bool{false} // completed or deleted tasks simply stop being listed
	}
	for i, archived := range passes {
		after := ""
		seen := map[string]bool{}
		for {
			p, err := c.list(ctx, stream, after, archived)
			if err != nil {
				return false, fmt.Errorf("listing page: %w", err)
			}
			b := &record.Batch{Stream: stream, Full: true}
			if archived {
				for i := range p.Results {
					o := &p.Results[i]
					r := ref(o)
					if o.ArchivedAt != nil {
						r.Modified = o.ArchivedAt.UTC()
					}
					b.Deleted = append(b.Deleted, r)
				}
			} else {
				companyOf, err := c.companiesOf(ctx, stream, p.Results)
				if err != nil {
					return false, err
				}
				c.fill(b, p.Results, companyOf)
			}
			next := p.next()
			if next != "" {
				if seen[next] {
					return false, fmt.Errorf("listing page after %q: %w", after, ErrRepeatedCursor)
				}
				seen[next] = true
			}
			if next == "" && i == len(passes)-1 {
				b.Done = true
				b.Cursor = encodeCursor(started)
			}
			b.Usage = c.usage()
			if !yield(b, nil) {
				return false, nil
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return true, nil
}

// fill converts records into the batch. companyOf is each deal's or task's
// company, read by companiesOf on every path.
func (c *Client) fill(b *record.Batch, objs []object, companyOf map[string]string) {
	for i := range objs {
		o := &objs[i]
		company := companyOf[o.ID]
		switch b.Stream {
		case StreamCompanies:
			b.Accounts = append(b.Accounts, c.toAccount(o))
		case StreamDeals:
			b.Deals = append(b.Deals, c.toDeal(o, company))
		case StreamTasks:
			t, ok := c.toTask(o, company)
			switch {
			case ok && t.Status == record.TaskOpen:
				b.Tasks = append(b.Tasks, t)
				c.rememberTask(t.DedupeKey, t.ID)
			case ok && !b.Full:
				b.Tasks = append(b.Tasks, t) // completed since the cursor
			}
		}
	}
}

// Search request bodies (PublicObjectSearchRequest). Sorts are sent in the
// object form HubSpot's search guide documents and its API honours; the
// OpenAPI document types them as strings (a known error of the spec, see
// HubSpot/hubspot-api-python#236 and hubspot-api-nodejs#14).
type filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type filterGroup struct {
	Filters []filter `json:"filters"`
}

type sortSpec struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

type searchRequest struct {
	FilterGroups []filterGroup `json:"filterGroups"`
	Sorts        []sortSpec    `json:"sorts"`
	Properties   []string      `json:"properties"`
	Limit        int           `json:"limit"`
	After        string        `json:"after"`
}

// window is one search query's filter and sort; pages of it are read with
// after offsets until the 10,000 cap.
type window struct {
	op     string // GTE or GT on hs_lastmodifieddate
	since  time.Time
	idMode bool   // all records modified at since, by ID
	lastID string // idMode: hs_object_id GT lastID
}

func (w window) request(props []string, after string) searchRequest {
	ms := strconv.FormatInt(w.since.UnixMilli(), 10)
	if w.idMode {
		fs := []filter{{PropertyName: "hs_lastmodifieddate", Operator: "EQ", Value: ms}}
		if w.lastID != "" {
			fs = append(fs, filter{PropertyName: "hs_object_id", Operator: "GT", Value: w.lastID})
		}
		return searchRequest{
			FilterGroups: []filterGroup{{Filters: fs}},
			Sorts:        []sortSpec{{PropertyName: "hs_object_id", Direction: "ASCENDING"}},
			Properties:   props, Limit: searchLimit, After: after,
		}
	}
	return searchRequest{
		FilterGroups: []filterGroup{{Filters: []filter{{PropertyName: "hs_lastmodifieddate", Operator: w.op, Value: ms}}}},
		Sorts:        []sortSpec{{PropertyName: "hs_lastmodifieddate", Direction: "ASCENDING"}},
		Properties:   props, Limit: searchLimit, After: after,
	}
}

// pullIncremental reads records modified at or after since-overlap with the
// search endpoint, ascending by hs_lastmodifieddate, 200 a page. When the
// next page would pass the 10,000-result cap the window moves to the last
// modification time seen; when all 10,000 results share one instant, that
// instant is read by ID (hs_object_id GT last) and the window then resumes
// strictly after it. Re-read records are harmless: upserts are idempotent.
func (c *Client) pullIncremental(ctx context.Context, stream string, since time.Time, yield func(*record.Batch, error) bool) (bool, error) {
	props := c.properties(stream)
	if stream == StreamDeals || stream == StreamTasks {
		props = append(props, "hs_object_id")
	}
	w := window{op: "GTE", since: since.Add(-c.opts.Overlap)}
	mark := since // cursor: never moves backwards
	after := "0"
	seen := map[string]bool{}
	for {
		var p page
		body := w.request(props, after)
		if _, err := c.call(ctx, http.MethodPost, "/crm/v3/objects/"+stream+"/search", nil, body, &p); err != nil {
			return false, fmt.Errorf("searching page: %w", err)
		}
		companyOf, err := c.companiesOf(ctx, stream, p.Results)
		if err != nil {
			return false, err
		}
		b := &record.Batch{Stream: stream}
		c.fill(b, p.Results, companyOf)
		var last *object
		if n := len(p.Results); n > 0 {
			last = &p.Results[n-1]
			if m := last.modified(); m.After(mark) && !w.idMode {
				mark = m
			}
		}
		next := p.next()
		if next != "" {
			if seen[next] {
				return false, fmt.Errorf("searching page after %q: %w", after, ErrRepeatedCursor)
			}
			seen[next] = true
		}
		moved := false
		if n, err := strconv.Atoi(next); next != "" && err == nil && n >= searchCap && last != nil {
			// The next page is beyond the cap: start a new query.
			moved = true
			seen = map[string]bool{}
			after = "0"
			switch lm := last.modified(); {
			case w.idMode:
				w.lastID = last.ID
			case lm.After(w.since):
				w.op, w.since = "GTE", lm
			default:
				// 10,000 records modified in one millisecond: page that
				// instant by ID.
				w = window{since: w.since, idMode: true, lastID: last.ID}
			}
		}
		done := false
		if next == "" {
			if w.idMode {
				// The instant is exhausted; continue strictly after it.
				w = window{op: "GT", since: w.since}
				after, seen, moved = "0", map[string]bool{}, true
			} else {
				done = true
			}
		}
		if !moved && !done {
			after = next
		}
		b.Cursor = encodeCursor(mark)
		b.Done = done
		b.Usage = c.usage()
		if !yield(b, nil) {
			return false, nil
		}
		if done {
			return true, nil
		}
	}
}

// assocPage is crm-associations-v4.json's
// BatchResponsePublicAssociationMultiWithLabel(WithErrors).
type assocPage struct {
	Results []struct {
		From struct {
			ID string `json:"id"`
		} `json:"from"`
		To []struct {
			ToObjectID       json.RawMessage `json:"toObjectId"` // string in the spec, a number in HubSpot's answers
			AssociationTypes []struct {
				Category string `json:"category"`
				TypeID   int    `json:"typeId"`
			} `json:"associationTypes"`
		} `json:"to"`
	} `json:"results"`
}

// primaryDealCompany is HubSpot's "Deal to company primary" association
// type ID (developers.hubspot.com "Associations v4", association type ID
// values). The developer changelog "Changes to primary labels for
// HubSpot-defined association labels" says to rely on type IDs, not labels.
const primaryDealCompany = 5

// companiesOf reads the company of each deal or task with the v4
// associations batch read; companies have none (nil). It is the one rule of
// every path (list, search, get): the primary company (type 5) when there
// is one, else the lowest company ID, so a deal maps to the same account
// whichever path read it. v3 answers cannot serve: they list the primary
// company twice (deal_to_company and deal_to_company_unlabeled) and carry
// no type IDs.
func (c *Client) companiesOf(ctx context.Context, stream string, objs []object) (map[string]string, error) {
	if stream == StreamCompanies || len(objs) == 0 {
		return nil, nil
	}
	type input struct {
		ID string `json:"id"`
	}
	in := struct {
		Inputs []input `json:"inputs"`
	}{}
	for _, o := range objs {
		in.Inputs = append(in.Inputs, input{ID: o.ID})
	}
	var ap assocPage
	_, err := c.call(ctx, http.MethodPost, "/crm/v4/associations/"+stream+"/companies/batch/read", nil, in, &ap)
	if err != nil {
		var he *httpclient.Error
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("reading %s associations: %w", stream, err)
	}
	type choice struct {
		id      string
		primary bool
	}
	best := map[string]choice{}
	for _, r := range ap.Results {
		for _, t := range r.To {
			ch := choice{id: strings.Trim(string(t.ToObjectID), `"`)}
			for _, at := range t.AssociationTypes {
				ch.primary = ch.primary || (stream == StreamDeals && at.TypeID == primaryDealCompany)
			}
			cur, ok := best[r.From.ID]
			if !ok || (ch.primary && !cur.primary) || (ch.primary == cur.primary && idLess(ch.id, cur.id)) {
				best[r.From.ID] = ch
			}
		}
	}
	out := make(map[string]string, len(best))
	for from, ch := range best {
		out[from] = ch.id
	}
	return out, nil
}

// idLess orders HubSpot record IDs (decimal numbers) numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Fetch re-reads one company, deal or task for the webhook path; a record
// HubSpot no longer has (404) comes back as a deletion.
func (c *Client) Fetch(ctx context.Context, objectType, id string) (*record.Batch, error) {
	stream := normObject(objectType)
	if _, ok := standardProps[stream]; !ok {
		return nil, fmt.Errorf("hubspot: fetching %s %s: unsupported object type", objectType, id)
	}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("hubspot: fetching %s: invalid id %q", objectType, id)
	}
	q := url.Values{}
	q["properties"] = c.properties(stream)
	var o object
	_, err := c.call(ctx, http.MethodGet, "/crm/v3/objects/"+stream+"/"+id, q, nil, &o)
	b := &record.Batch{Stream: stream}
	if err != nil {
		var he *httpclient.Error
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			b.Deleted = []record.Ref{{System: record.HubSpot, ID: id, Modified: c.opts.Now().UTC()}}
			return b, nil
		}
		return nil, fmt.Errorf("hubspot: fetching %s %s: %w", stream, id, err)
	}
	companyOf, err := c.companiesOf(ctx, stream, []object{o})
	if err != nil {
		return nil, fmt.Errorf("hubspot: fetching %s %s: %w", stream, id, err)
	}
	c.fill(b, []object{o}, companyOf)
	if err := c.nameOwners(ctx, b.Accounts); err != nil {
		return nil, fmt.Errorf("hubspot: fetching %s %s: %w", stream, id, err)
	}
	return b, nil
}
