package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// Standard fields always read. Owner.Name is the account owner's name, a
// child-to-parent relationship field (SOQL and SOSL Reference,
// "Relationship Queries"; Object Reference, Account: OwnerId refers to
// User).
var (
	accountFields     = []string{"Id", "Name", "Website", "OwnerId", "Owner.Name", "Industry", "SystemModstamp", "LastModifiedDate", "IsDeleted"}
	opportunityFields = []string{"Id", "AccountId", "Name", "StageName", "Type", "Amount", "CloseDate", "IsClosed", "IsWon", "OwnerId", "SystemModstamp", "IsDeleted"}
	taskFields        = []string{"Id", "WhatId", "OwnerId", "Subject", "Description", "ActivityDate", "Priority", "Status", "IsClosed", "SystemModstamp"}
)

// Streams.
const (
	StreamAccount     = "Account"
	StreamOpportunity = "Opportunity"
	StreamTask        = "Task"
	// DeletedSuffix names the sibling stream of deletions: "Account/deleted".
	DeletedSuffix = "/deleted"
)

type objectSpec struct {
	name   string
	fields []string // standard + extra, no duplicates
	extra  []string
}

// objectSpecs builds Account and Opportunity with the extra fields config
// lists. Other objects are skipped with a warning: the canonical records have
// no type for them.
func objectSpecs(objs []config.Object, log zerolog.Logger) []objectSpec {
	specs := []objectSpec{{name: StreamAccount, fields: slices.Clone(accountFields)}, {name: StreamOpportunity, fields: slices.Clone(opportunityFields)}}
	for _, o := range objs {
		i := slices.IndexFunc(specs, func(s objectSpec) bool { return strings.EqualFold(s.name, o.Name) })
		if i < 0 {
			log.Warn().Str("object", o.Name).Msg("salesforce object has no canonical record type; not pulled")
			continue
		}
		for _, f := range o.Fields {
			if !slices.ContainsFunc(specs[i].fields, func(x string) bool { return strings.EqualFold(x, f) }) {
				specs[i].fields = append(specs[i].fields, f)
				specs[i].extra = append(specs[i].extra, f)
			}
		}
	}
	return specs
}

// Cursor is the compound position (SystemModstamp, Id) of the last record of
// a committed page.
type Cursor struct {
	Modstamp time.Time `json:"systemmodstamp"`
	ID       string    `json:"id"`
}

func decodeCursor(b []byte) (*Cursor, error) {
	if b == nil {
		return nil, nil
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding cursor: %w", err)
	}
	return &c, nil
}

func (c Cursor) encode() []byte {
	b, _ := json.Marshal(Cursor{Modstamp: c.Modstamp.UTC(), ID: c.ID})
	return b
}

// soqlTime writes a SOQL datetime literal in UTC in a documented form,
// 2024-01-15T10:30:00Z: no fractional seconds (SOQL and SOSL Reference,
// "Date Formats and Date Literals in WHERE"). Salesforce stores datetimes
// in whole seconds, so dropping a fraction re-reads, never skips.
func soqlTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// after is the compound cursor condition: records strictly after (ts, id)
// in (SystemModstamp, Id) order.
func (c *Cursor) after() string {
	ts := soqlTime(c.Modstamp)
	return fmt.Sprintf("(SystemModstamp > %s OR (SystemModstamp = %s AND Id > '%s'))", ts, ts, soqlEscape(c.ID))
}

func soqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// Pull yields, for Account and Opportunity, the changed (or, on a full read,
// all) records page by page in (SystemModstamp, Id) order, then their
// deletions from queryAll in a sibling stream "Object/deleted", then the
// tasks healthsync created (stream Task): on a full read the open ones, else
// those changed since the cursor, closed ones included.
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		for _, o := range c.objects {
			if !c.pullObject(ctx, req, o, yield) {
				return
			}
			if !c.pullDeleted(ctx, req, o, yield) {
				return
			}
		}
		c.pullTasks(ctx, req, yield)
	}
}

// queryResult is the query resource's response (REST API Developer Guide,
// "Execute a SOQL Query").
type queryResult struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        rows   `json:"records"`
}

// pages runs a SOQL query and follows nextRecordsUrl to the end; a repeated
// nextRecordsUrl is an error. While the caller handles a page (commits it)
// the next one is already being read: one request ahead, waited for when
// the caller stops.
func (c *Client) pages(ctx context.Context, soql string, all bool) iter.Seq2[*queryResult, error] {
	return func(yield func(*queryResult, error) bool) {
		res := "/query"
		if all {
			res = "/queryAll"
		}
		path := c.dataPath(res + "?" + url.Values{"q": {soql}}.Encode())
		hdr := http.Header{"Sforce-Query-Options": {"batchSize=2000"}}
		type page struct {
			qr  *queryResult
			err error
		}
		read := func(ctx context.Context, path string) page {
			var qr queryResult
			if err := c.call(ctx, http.MethodGet, path, nil, hdr, &qr); err != nil {
				return page{err: fmt.Errorf("querying %s: %w", queryObject(soql), err)}
			}
			return page{qr: &qr}
		}
		// A page read ahead that the caller no longer wants is let finish
		// (not cancelled, which would count as an API error): ctx governs.
		var wg sync.WaitGroup
		defer wg.Wait()
		seen := map[string]bool{}
		cur := read(ctx, path)
		for {
			if cur.err != nil {
				yield(nil, cur.err)
				return
			}
			qr := cur.qr
			next := qr.NextRecordsURL
			more := !qr.Done && next != ""
			repeated := more && seen[next]
			var ahead chan page
			if more && !repeated {
				seen[next] = true
				ahead = make(chan page, 1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					ahead <- read(ctx, next)
				}()
			}
			if !yield(qr, nil) || !more {
				return
			}
			if repeated {
				yield(nil, fmt.Errorf("querying %s: Salesforce returned nextRecordsUrl %s twice", queryObject(soql), next))
				return
			}
			cur = <-ahead
		}
	}
}

func queryObject(soql string) string {
	_, after, _ := strings.Cut(soql, " FROM ")
	obj, _, _ := strings.Cut(after, " ")
	return obj
}

func (c *Client) pullObject(ctx context.Context, req record.PullRequest, o objectSpec, yield func(*record.Batch, error) bool) bool {
	cur, err := decodeCursor(req.Cursors[o.name])
	if err != nil {
		return yield(nil, fmt.Errorf("%s: %w", o.name, err))
	}
	full := req.Full || cur == nil
	soql := "SELECT " + strings.Join(o.fields, ", ") + " FROM " + o.name
	if !full {
		soql += " WHERE " + cur.after()
	}
	soql += " ORDER BY SystemModstamp, Id"
	for qr, err := range c.pages(ctx, soql, false) {
		if err != nil {
			return yield(nil, err)
		}
		b := &record.Batch{Stream: o.name, Full: full, Done: qr.Done || qr.NextRecordsURL == ""}
		var last *Cursor
		for _, raw := range qr.Records {
			r, err := decodeRow(raw)
			if err != nil {
				return yield(nil, fmt.Errorf("%s: %w", o.name, err))
			}
			switch o.name {
			case StreamAccount:
				b.Accounts = append(b.Accounts, toAccount(r, o.extra))
			case StreamOpportunity:
				b.Deals = append(b.Deals, toDeal(r, o.extra))
			}
			last = &Cursor{Modstamp: r.time("SystemModstamp"), ID: r.str("Id")}
		}
		b.Cursor = c.pageCursor(last, full, b.Done, req.Now)
		b.Usage = c.usagePtr()
		if !yield(b, nil) {
			return false
		}
	}
	return true
}

// pageCursor is the cursor a page ending at last commits: settled on the
// last page, nil for an empty page, the beginning of time for an empty
// complete full read (incremental pulls start from the beginning).
func (c *Client) pageCursor(last *Cursor, full, done bool, now time.Time) []byte {
	switch {
	case last != nil && done:
		return c.settled(*last, now).encode()
	case last != nil:
		return last.encode()
	case full && done:
		return Cursor{Modstamp: time.Unix(0, 0)}.encode()
	}
	return nil
}

// settleWindow: the cursor that ends a read never moves past now minus this
// window. A record saved within the same second as the cursor's
// SystemModstamp but with a lower Id, or committed by a transaction that
// started earlier, would otherwise fall behind the compound cursor; instead
// the next read looks at the last two minutes again (upserts are
// idempotent, so the cost is a few re-read records).
const settleWindow = 2 * time.Minute

func (c *Client) settled(last Cursor, now time.Time) Cursor {
	if now.IsZero() {
		now = c.now()
	}
	if limit := now.Add(-settleWindow).UTC(); last.Modstamp.After(limit) {
		return Cursor{Modstamp: limit}
	}
	return last
}

func (c *Client) pullDeleted(ctx context.Context, req record.PullRequest, o objectSpec, yield func(*record.Batch, error) bool) bool {
	stream := o.name + DeletedSuffix
	cur, err := decodeCursor(req.Cursors[stream])
	if err != nil {
		return yield(nil, fmt.Errorf("%s: %w", stream, err))
	}
	soql := "SELECT Id, SystemModstamp FROM " + o.name + " WHERE IsDeleted = true"
	if cur != nil {
		soql += " AND " + cur.after()
	}
	soql += " ORDER BY SystemModstamp, Id"
	for qr, err := range c.pages(ctx, soql, true) {
		if err != nil {
			return yield(nil, err)
		}
		b := &record.Batch{Stream: stream, Done: qr.Done || qr.NextRecordsURL == ""}
		for _, raw := range qr.Records {
			r, err := decodeRow(raw)
			if err != nil {
				return yield(nil, fmt.Errorf("%s: %w", stream, err))
			}
			ref := record.Ref{System: record.Salesforce, ID: r.str("Id"), Modified: r.time("SystemModstamp")}
			b.Deleted = append(b.Deleted, ref)
			b.Cursor = Cursor{Modstamp: ref.Modified, ID: ref.ID}.encode()
		}
		if b.Cursor == nil && cur == nil && b.Done {
			b.Cursor = Cursor{Modstamp: time.Unix(0, 0)}.encode()
		}
		b.Usage = c.usagePtr()
		if !yield(b, nil) {
			return false
		}
	}
	return true
}

// markerRe finds the dedupe marker line healthsync puts in a task's
// Description.
var markerRe = regexp.MustCompile(`(?m)^\[healthsync:([^\]\r\n]+)\][ \t]*\r?$`)

// pullTasks yields the tasks that carry a healthsync marker. Task
// Description is a long text area, which SOQL cannot filter, so the marker
// is matched here. A full read (no cursor) enumerates the open tasks; an
// incremental one reads the tasks whose SystemModstamp moved past the
// cursor, closed ones included (IsClosed follows Status: Object
// Reference, "Task"), so a task completed in Salesforce reaches the store
// as completed instead of every open task being listed on every pull.
func (c *Client) pullTasks(ctx context.Context, req record.PullRequest, yield func(*record.Batch, error) bool) {
	cur, err := decodeCursor(req.Cursors[StreamTask])
	if err != nil {
		yield(nil, fmt.Errorf("%s: %w", StreamTask, err))
		return
	}
	full := req.Full || cur == nil
	soql := "SELECT " + strings.Join(taskFields, ", ") + " FROM Task WHERE "
	if full {
		soql += "IsClosed = false AND WhatId != null"
	} else {
		soql += "WhatId != null AND " + cur.after()
	}
	soql += " ORDER BY SystemModstamp, Id"
	for qr, err := range c.pages(ctx, soql, false) {
		if err != nil {
			yield(nil, err)
			return
		}
		b := &record.Batch{Stream: StreamTask, Full: full, Done: qr.Done || qr.NextRecordsURL == ""}
		var last *Cursor
		for _, raw := range qr.Records {
			r, err := decodeRow(raw)
			if err != nil {
				yield(nil, fmt.Errorf("decoding task: %w", err))
				return
			}
			if t, ok := toTask(r); ok {
				b.Tasks = append(b.Tasks, t)
			}
			last = &Cursor{Modstamp: r.time("SystemModstamp"), ID: r.str("Id")}
		}
		b.Cursor = c.pageCursor(last, full, b.Done, req.Now)
		b.Usage = c.usagePtr()
		if !yield(b, nil) {
			return
		}
	}
}

// Fetch re-reads one Account, Opportunity or Task (deleted ones come back as
// a deletion) for the webhook path.
func (c *Client) Fetch(ctx context.Context, objectType, id string) (*record.Batch, error) {
	if !idRe.MatchString(id) {
		return nil, fmt.Errorf("fetching %s: invalid id %q", objectType, id)
	}
	var fields []string
	var extra []string
	switch objectType {
	case StreamTask:
		fields = append(slices.Clone(taskFields), "IsDeleted")
	default:
		i := slices.IndexFunc(c.objects, func(o objectSpec) bool { return o.name == objectType })
		if i < 0 {
			return nil, fmt.Errorf("fetching %s: unsupported object type", objectType)
		}
		fields, extra = c.objects[i].fields, c.objects[i].extra
	}
	soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + objectType + " WHERE Id = '" + id + "'"
	b := &record.Batch{Stream: objectType}
	found := false
	for qr, err := range c.pages(ctx, soql, true) {
		if err != nil {
			return nil, fmt.Errorf("fetching %s %s: %w", objectType, id, err)
		}
		for _, raw := range qr.Records {
			r, err := decodeRow(raw)
			if err != nil {
				return nil, fmt.Errorf("fetching %s %s: %w", objectType, id, err)
			}
			found = true
			if r.bool("IsDeleted") {
				b.Deleted = append(b.Deleted, record.Ref{System: record.Salesforce, ID: r.str("Id"), Modified: r.time("SystemModstamp")})
				continue
			}
			switch objectType {
			case StreamAccount:
				b.Accounts = append(b.Accounts, toAccount(r, extra))
			case StreamOpportunity:
				b.Deals = append(b.Deals, toDeal(r, extra))
			case StreamTask:
				if t, ok := toTask(r); ok {
					b.Tasks = append(b.Tasks, t)
				}
			}
		}
	}
	if !found {
		// Purged from the recycle bin or never there: gone either way.
		b.Deleted = append(b.Deleted, record.Ref{System: record.Salesforce, ID: id})
	}
	b.Usage = c.usagePtr()
	return b, nil
}

var idRe = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
