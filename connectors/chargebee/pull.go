package chargebee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// ErrRepeatedOffset means Chargebee returned a next_offset it had already
// returned in the same enumeration; following it would loop.
var ErrRepeatedOffset = errors.New("chargebee returned a repeated next_offset")

// cursor is a stream's persisted position: records with updated_at after
// UpdatedAfter (Unix seconds, Chargebee's clock) minus the overlap are read
// again on the next incremental pull.
type cursor struct {
	UpdatedAfter int64 `json:"updated_after"`
}

func encodeCursor(updatedAfter int64) []byte {
	b, _ := json.Marshal(cursor{UpdatedAfter: updatedAfter})
	return b
}

// listPages follows limit/offset/next_offset paging of GET /api/v2/{path}.
func (c *Client) listPages(ctx context.Context, path string, q url.Values) iter.Seq2[*listPage, error] {
	return func(yield func(*listPage, error) bool) {
		seen := map[string]bool{}
		offset := ""
		for {
			qq := url.Values{}
			for k, v := range q {
				qq[k] = v
			}
			qq.Set("limit", strconv.Itoa(c.page))
			if offset != "" {
				qq.Set("offset", offset)
			}
			var p listPage
			if err := c.get(ctx, path, qq, &p); err != nil {
				yield(nil, fmt.Errorf("reading %s page: %w", path, err))
				return
			}
			if p.NextOffset != "" {
				if seen[p.NextOffset] {
					yield(nil, fmt.Errorf("reading %s page: %w", path, ErrRepeatedOffset))
					return
				}
				seen[p.NextOffset] = true
			}
			if !yield(&p, nil) || p.NextOffset == "" {
				return
			}
			offset = p.NextOffset
		}
	}
}

// listAll yields every entry of a list.
func (c *Client) listAll(ctx context.Context, path string, q url.Values) iter.Seq2[map[string]json.RawMessage, error] {
	return func(yield func(map[string]json.RawMessage, error) bool) {
		for p, err := range c.listPages(ctx, path, q) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range p.List {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// Pull yields the streams "customers", "subscriptions" and "invoices" in
// that order, one batch per page of up to Options.PageSize records.
//
// A stream without a stored cursor, or req.Full, is enumerated completely
// without an updated_at filter (Chargebee records may lack updated_at, and
// updated_at[after] never matches them): its batches have Full set, the last
// one Done, and only the last one carries a cursor, the time the enumeration
// started. Otherwise the pull asks for updated_at[after] = cursor - overlap,
// sort_by[asc]=updated_at and include_deleted=true; every batch carries the
// last updated_at seen as its cursor, and deleted records come back in
// Batch.Deleted.
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		catalogDone := false
		for _, stream := range []string{StreamCustomers, StreamSubscriptions, StreamInvoices} {
			if stream != StreamCustomers && !catalogDone {
				if err := c.refreshCatalog(ctx); err != nil {
					yield(nil, fmt.Errorf("chargebee: %w", err))
					return
				}
				catalogDone = true
			}
			if !c.pullStream(ctx, req, stream, yield) {
				return
			}
		}
	}
}

// pullStream pulls one stream; false means stop (error yielded or the
// consumer stopped).
func (c *Client) pullStream(ctx context.Context, req record.PullRequest, stream string, yield func(*record.Batch, error) bool) bool {
	started := req.Now
	if started.IsZero() {
		started = c.now()
	}
	full := req.Full
	var since int64
	if raw, ok := req.Cursors[stream]; !ok || len(raw) == 0 {
		full = true
	} else if !full {
		var cur cursor
		if err := json.Unmarshal(raw, &cur); err != nil || cur.UpdatedAfter <= 0 {
			c.log.Warn().Str("stream", stream).Msg("unreadable cursor, reading the stream in full")
			full = true
		} else {
			since = cur.UpdatedAfter
		}
	}
	q := url.Values{}
	if !full {
		after := since - int64(c.overlap/time.Second)
		q.Set("updated_at[after]", strconv.FormatInt(max(after, 0), 10))
		q.Set("sort_by[asc]", "updated_at")
		q.Set("include_deleted", "true")
	}
	c.log.Debug().Str("stream", stream).Bool("full", full).Int64("updated_after", since).Msg("pulling stream")

	maxUpdated := since
	for p, err := range c.listPages(ctx, stream, q) {
		if err != nil {
			yield(nil, fmt.Errorf("chargebee %s: %w", stream, err))
			return false
		}
		b := &record.Batch{Stream: stream, Full: full, Done: p.NextOffset == ""}
		if err := c.mapPage(ctx, stream, p, b); err != nil {
			yield(nil, fmt.Errorf("chargebee %s: %w", stream, err))
			return false
		}
		if full {
			if b.Done {
				b.Cursor = encodeCursor(started.Unix())
			}
		} else {
			maxUpdated = max(maxUpdated, pageMaxUpdated(b))
			if maxUpdated > since {
				b.Cursor = encodeCursor(maxUpdated)
			}
		}
		if !yield(b, nil) {
			return false
		}
	}
	return true
}

func pageMaxUpdated(b *record.Batch) int64 {
	var m time.Time
	upd := func(r record.Ref) {
		if r.Modified.After(m) {
			m = r.Modified
		}
	}
	for _, x := range b.Customers {
		upd(x.Ref)
	}
	for _, x := range b.Subscriptions {
		upd(x.Ref)
	}
	for _, x := range b.Invoices {
		upd(x.Ref)
	}
	for _, x := range b.Deleted {
		upd(x)
	}
	if m.IsZero() {
		return 0
	}
	return m.Unix()
}

// mapPage decodes a list page of stream into b.
func (c *Client) mapPage(ctx context.Context, stream string, p *listPage, b *record.Batch) error {
	switch stream {
	case StreamCustomers:
		for _, e := range p.List {
			var w wireCustomer
			if err := decodeEntry(e, "customer", &w); err != nil {
				return err
			}
			cu := mapCustomer(w, e["customer"])
			if cu.Deleted {
				b.Deleted = append(b.Deleted, cu.Ref)
				continue
			}
			b.Customers = append(b.Customers, cu)
		}
	case StreamSubscriptions:
		subs := make([]wireSubscription, len(p.List))
		for i, e := range p.List {
			if err := decodeEntry(e, "subscription", &subs[i]); err != nil {
				return err
			}
		}
		if err := c.ensureCatalog(ctx, subs, nil); err != nil {
			return err
		}
		for _, w := range subs {
			s := mapSubscription(w, c)
			if s.Deleted {
				b.Deleted = append(b.Deleted, s.Ref)
				continue
			}
			b.Subscriptions = append(b.Subscriptions, s)
		}
	case StreamInvoices:
		invs := make([]wireInvoice, len(p.List))
		for i, e := range p.List {
			if err := decodeEntry(e, "invoice", &invs[i]); err != nil {
				return err
			}
		}
		if err := c.ensureCatalog(ctx, nil, invs); err != nil {
			return err
		}
		for _, w := range invs {
			in := mapInvoice(w, c)
			if in.Deleted {
				b.Deleted = append(b.Deleted, in.Ref)
				continue
			}
			b.Invoices = append(b.Invoices, in)
		}
	}
	return nil
}
