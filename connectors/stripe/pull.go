package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Streams of a Stripe pull.
const (
	StreamCustomers     = "customers"
	StreamSubscriptions = "subscriptions"
	StreamInvoices      = "invoices"
	StreamEvents        = "events"
)

// EventRetention is how long Stripe keeps events
// (https://docs.stripe.com/api/events): an older cursor cannot be resumed.
const EventRetention = 30 * 24 * time.Hour

// ErrRepeatedCursor means Stripe returned a page that would repeat a
// pagination cursor; the pull stops instead of looping.
var ErrRepeatedCursor = errors.New("stripe returned a repeated pagination cursor")

// eventTypes are the events that change customers, subscriptions and
// invoices. types[] takes exact names, at most 20
// (https://docs.stripe.com/api/events/list#list_events-types).
var eventTypes = []string{
	"customer.created", "customer.updated", "customer.deleted",
	"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
	"customer.subscription.paused", "customer.subscription.resumed",
	"customer.subscription.pending_update_applied", "customer.subscription.pending_update_expired",
	"invoice.created", "invoice.finalized", "invoice.updated", "invoice.paid", "invoice.payment_failed",
	"invoice.payment_succeeded", "invoice.voided", "invoice.marked_uncollectible", "invoice.deleted",
	"invoice.payment_action_required",
}

// eventCursor is the events stream position: the last processed event and
// its creation time (unix seconds). ID is empty when the account had no
// event when the position was taken; Created then is the observation time.
type eventCursor struct {
	ID      string `json:"id,omitempty"`
	Created int64  `json:"created"`
}

// listCursor marks a completed full listing of a stream.
type listCursor struct {
	Listed int64 `json:"listed"`
}

// Pull yields customers, subscriptions and invoices, then the events
// cursor. A first load (or req.Full, or an events cursor older than 30
// days) notes the newest event, lists the three streams completely and
// ends with the events batch carrying that position, so changes made while
// listing are replayed by the next run. Otherwise the events after the
// cursor are read in creation order and each changed object is fetched
// again with the pinned version.
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		lk := c.newLookups()
		now := req.Now
		if now.IsZero() {
			now = c.now()
		}
		var cur eventCursor
		raw, has := req.Cursors[StreamEvents]
		if has && json.Unmarshal(raw, &cur) != nil {
			c.log.Warn().Str("stream", StreamEvents).Msg("unreadable event cursor, full re-list")
			has = false
		}
		full := req.Full || !has
		if has && !req.Full && now.Sub(ts(cur.Created)) > EventRetention {
			c.log.Info().Str("stream", StreamEvents).Time("cursor_created", ts(cur.Created)).
				Msg("event cursor older than 30 days (Stripe's event retention), full re-list")
			full = true
		}
		if !full {
			for _, s := range []string{StreamCustomers, StreamSubscriptions, StreamInvoices} {
				if _, ok := req.Cursors[s]; !ok {
					if !c.listStream(ctx, lk, s, yield) {
						return
					}
				}
			}
			err := c.pullEvents(ctx, lk, cur, yield)
			if err == nil || !errors.Is(err, errCursorGone) {
				if err != nil {
					yield(nil, err)
				}
				return
			}
			c.log.Info().Str("stream", StreamEvents).Str("event", cur.ID).
				Msg("event cursor no longer exists at Stripe, full re-list")
		}
		head, err := c.head(ctx)
		if err != nil {
			yield(nil, fmt.Errorf("reading newest event: %w", err))
			return
		}
		for _, s := range []string{StreamCustomers, StreamSubscriptions, StreamInvoices} {
			if !c.listStream(ctx, lk, s, yield) {
				return
			}
		}
		b, _ := json.Marshal(head)
		yield(&record.Batch{Stream: StreamEvents, Cursor: b, Done: true}, nil)
	}
}

func typesQuery(q url.Values) url.Values {
	for _, t := range eventTypes {
		q.Add("types[]", t)
	}
	return q
}

// head is the events position before a full listing.
func (c *Client) head(ctx context.Context) (eventCursor, error) {
	var page apiList[apiEvent]
	obs, err := c.get(ctx, "/v1/events", typesQuery(url.Values{"limit": {"1"}}), &page)
	if err != nil {
		return eventCursor{}, err
	}
	if len(page.Data) == 0 {
		return eventCursor{Created: obs.Unix()}, nil
	}
	return eventCursor{ID: page.Data[0].ID, Created: page.Data[0].Created}, nil
}

type listPage[T any] struct {
	data     []T
	observed time.Time
	last     bool
}

// pages walks a list endpoint with limit and starting_after until has_more
// is false (https://docs.stripe.com/api/pagination).
func pages[T any](ctx context.Context, c *Client, path string, q url.Values, id func(T) string) iter.Seq2[listPage[T], error] {
	return func(yield func(listPage[T], error) bool) {
		seen := map[string]bool{}
		q.Set("limit", strconv.Itoa(c.pageSize))
		for {
			var p apiList[T]
			obs, err := c.get(ctx, path, q, &p)
			if err != nil {
				yield(listPage[T]{}, fmt.Errorf("reading %s page: %w", path, err))
				return
			}
			last := !p.HasMore || len(p.Data) == 0
			if !yield(listPage[T]{data: p.Data, observed: obs, last: last}, nil) || last {
				return
			}
			next := id(p.Data[len(p.Data)-1])
			if seen[next] {
				yield(listPage[T]{}, fmt.Errorf("reading %s: %w (%s)", path, ErrRepeatedCursor, next))
				return
			}
			seen[next] = true
			q.Set("starting_after", next)
		}
	}
}

// listStream enumerates one stream completely; false stops the pull.
func (c *Client) listStream(ctx context.Context, lk *lookups, stream string, yield func(*record.Batch, error) bool) bool {
	emit := func(b *record.Batch, last bool, obs time.Time) bool {
		b.Stream, b.Full, b.Done = stream, true, last
		if last {
			b.Cursor, _ = json.Marshal(listCursor{Listed: obs.Unix()})
		}
		return yield(b, nil)
	}
	fail := func(err error) bool { yield(nil, err); return false }
	switch stream {
	case StreamCustomers:
		for p, err := range pages(ctx, c, "/v1/customers", url.Values{}, func(a apiCustomer) string { return a.ID }) {
			if err != nil {
				return fail(err)
			}
			b := &record.Batch{}
			for _, a := range p.data {
				b.Customers = append(b.Customers, a.record(p.observed))
			}
			if !emit(b, p.last, p.observed) {
				return false
			}
		}
	case StreamSubscriptions:
		q := url.Values{"status": {"all"}, "expand[]": c.subExpand("data.")}
		for p, err := range pages(ctx, c, "/v1/subscriptions", q, func(a apiSubscription) string { return a.ID }) {
			if err != nil {
				return fail(err)
			}
			b := &record.Batch{}
			for _, a := range p.data {
				s, err := c.completeSubscription(ctx, lk, a, p.observed)
				if err != nil {
					return fail(err)
				}
				b.Subscriptions = append(b.Subscriptions, s)
			}
			if !emit(b, p.last, p.observed) {
				return false
			}
		}
	case StreamInvoices:
		for p, err := range pages(ctx, c, "/v1/invoices", url.Values{}, func(a apiInvoice) string { return a.ID }) {
			if err != nil {
				return fail(err)
			}
			b := &record.Batch{}
			for _, a := range p.data {
				in, err := c.completeInvoice(ctx, lk, a, p.observed)
				if err != nil {
					return fail(err)
				}
				b.Invoices = append(b.Invoices, in)
			}
			if !emit(b, p.last, p.observed) {
				return false
			}
		}
	}
	return true
}

func (c *Client) atLeast(version string) bool {
	return c.version[:min(10, len(c.version))] >= version[:10]
}

// subExpand lists the subscription expansions for the pinned version that
// fit Stripe's depth limit after prefix ("data." on a list): the items'
// price tiers and discounts, the discounts array from basil on, and from
// clover the discounts' coupons, which clover no longer auto-expands. What
// does not fit (data.items.data.price.tiers, item coupons under clover) is
// read by completeSubscription through lookups.
func (c *Client) subExpand(prefix string) []string {
	paths := []string{"items.data.price.tiers", "items.data.discounts"}
	if c.atLeast(basilVersion) {
		paths = append(paths, "discounts")
	}
	if c.atLeast(cloverVersion) {
		paths = append(paths, "discounts.source.coupon", "items.data.discounts.source.coupon")
	}
	return expansions(prefix, paths...)
}

// itemExpand lists the expansions of a subscription item list.
func (c *Client) itemExpand() []string {
	paths := []string{"price.tiers", "discounts"}
	if c.atLeast(cloverVersion) {
		paths = append(paths, "discounts.source.coupon")
	}
	return expansions("data.", paths...)
}

// completeSubscription follows items.has_more (a subscription embeds its
// first items only) and completes what the depth limit kept out of the
// response: tiers of tiered prices and coupons of discounts.
func (c *Client) completeSubscription(ctx context.Context, lk *lookups, a apiSubscription, obs time.Time) (record.Subscription, error) {
	if a.Items.HasMore {
		var items []apiItem
		q := url.Values{"subscription": {a.ID}, "expand[]": c.itemExpand()}
		for p, err := range pages(ctx, c, "/v1/subscription_items", q, func(i apiItem) string { return i.ID }) {
			if err != nil {
				return record.Subscription{}, fmt.Errorf("reading items of %s: %w", a.ID, err)
			}
			items = append(items, p.data...)
		}
		a.Items = apiList[apiItem]{Data: items}
	}
	for i := range a.Items.Data {
		it := &a.Items.Data[i]
		if err := lk.completePrice(ctx, &it.Price); err != nil {
			return record.Subscription{}, fmt.Errorf("completing subscription %s: %w", a.ID, err)
		}
		if err := lk.completeDiscounts(ctx, it.Discounts); err != nil {
			return record.Subscription{}, fmt.Errorf("completing subscription %s: %w", a.ID, err)
		}
	}
	if err := lk.completeDiscounts(ctx, a.Discounts); err != nil {
		return record.Subscription{}, fmt.Errorf("completing subscription %s: %w", a.ID, err)
	}
	return a.record(obs), nil
}

// completeInvoice follows lines.has_more with /v1/invoices/{id}/lines and
// gives each basil line its price: from 2025-03-31.basil a line names its
// price only by ID under pricing.price_details (changelog "line item
// pricing and parent"), so its interval comes from the price, read once
// per run.
func (c *Client) completeInvoice(ctx context.Context, lk *lookups, a apiInvoice, obs time.Time) (record.Invoice, error) {
	lines := a.Lines.Data
	if a.Lines.HasMore {
		lines = nil
		for p, err := range pages(ctx, c, "/v1/invoices/"+url.PathEscape(a.ID)+"/lines", url.Values{}, func(l apiLine) string { return l.ID }) {
			if err != nil {
				return record.Invoice{}, fmt.Errorf("reading lines of %s: %w", a.ID, err)
			}
			lines = append(lines, p.data...)
		}
	}
	for i := range lines {
		l := &lines[i]
		if l.Price != nil || l.Pricing == nil || l.Pricing.PriceDetails == nil {
			continue
		}
		id := l.Pricing.PriceDetails.Price.ID()
		if id == "" {
			continue
		}
		p, err := lk.price(ctx, id)
		if err != nil {
			return record.Invoice{}, fmt.Errorf("completing invoice %s: %w", a.ID, err)
		}
		l.Price = p
	}
	return a.record(obs, lines), nil
}

// snapshot reads an object from the data.object of its newest event in a
// page ("the object as it was at the time of the event", Stripe API
// reference, "The Event object"), completed like a fetched one (item
// pages, tiers, coupons): an events page of 100 changes then costs one
// call, not 100. ok is false when the object must be fetched instead: a
// deletion (a deleted customer's event carries the customer as it was),
// or a payload that does not decode.
func (c *Client) snapshot(ctx context.Context, lk *lookups, kind string, ev apiEvent) (*record.Batch, bool, error) {
	if strings.HasSuffix(ev.Type, ".deleted") {
		return nil, false, nil
	}
	switch kind {
	case "customer":
		var a apiCustomer
		if json.Unmarshal(ev.Data.Object, &a) != nil || a.Deleted {
			return nil, false, nil
		}
		return &record.Batch{Customers: []record.Customer{a.record(c.observe(""))}}, true, nil
	case "subscription":
		var a apiSubscription
		if json.Unmarshal(ev.Data.Object, &a) != nil {
			return nil, false, nil
		}
		s, err := c.completeSubscription(ctx, lk, a, c.observe(""))
		if err != nil {
			return nil, false, err
		}
		return &record.Batch{Subscriptions: []record.Subscription{s}}, true, nil
	case "invoice":
		var a apiInvoice
		if json.Unmarshal(ev.Data.Object, &a) != nil {
			return nil, false, nil
		}
		in, err := c.completeInvoice(ctx, lk, a, c.observe(""))
		if err != nil {
			return nil, false, err
		}
		return &record.Batch{Invoices: []record.Invoice{in}}, true, nil
	}
	return nil, false, nil
}

var errCursorGone = errors.New("event cursor no longer exists")

// pullEvents reads events after cur, oldest first, one batch per page.
func (c *Client) pullEvents(ctx context.Context, lk *lookups, cur eventCursor, yield func(*record.Batch, error) bool) error {
	if cur.ID == "" {
		return c.pullEventsSince(ctx, lk, cur, yield)
	}
	before := cur.ID
	seen := map[string]bool{}
	first := true
	for {
		// ending_before returns the events just newer than the cursor,
		// newest first; has_more says newer ones remain.
		var p apiList[apiEvent]
		q := typesQuery(url.Values{"limit": {strconv.Itoa(c.pageSize)}, "ending_before": {before}})
		_, err := c.get(ctx, "/v1/events", q, &p)
		if err != nil {
			if first && isMissing(err) {
				return errCursorGone
			}
			return fmt.Errorf("reading events page: %w", err)
		}
		first = false
		if len(p.Data) == 0 {
			yield(&record.Batch{Stream: StreamEvents, Done: true}, nil)
			return nil
		}
		newest := p.Data[0]
		if seen[newest.ID] {
			return fmt.Errorf("reading events: %w (%s)", ErrRepeatedCursor, newest.ID)
		}
		seen[newest.ID] = true
		evs := slices.Clone(p.Data)
		slices.Reverse(evs)
		b, err := c.applyEvents(ctx, lk, evs)
		if err != nil {
			return err
		}
		b.Done = !p.HasMore
		if !yield(b, nil) || !p.HasMore {
			return nil
		}
		before = newest.ID
	}
}

// pullEventsSince handles a cursor without an event ID: every event
// created at or after cur.Created, read newest first and applied oldest
// first.
func (c *Client) pullEventsSince(ctx context.Context, lk *lookups, cur eventCursor, yield func(*record.Batch, error) bool) error {
	var all []apiEvent
	q := typesQuery(url.Values{"created[gte]": {strconv.FormatInt(cur.Created, 10)}})
	for p, err := range pages(ctx, c, "/v1/events", q, func(e apiEvent) string { return e.ID }) {
		if err != nil {
			return err
		}
		all = append(all, p.data...)
	}
	slices.Reverse(all)
	if len(all) == 0 {
		yield(&record.Batch{Stream: StreamEvents, Done: true}, nil)
		return nil
	}
	for chunk := range slices.Chunk(all, c.pageSize) {
		b, err := c.applyEvents(ctx, lk, chunk)
		if err != nil {
			return err
		}
		b.Done = &chunk[len(chunk)-1] == &all[len(all)-1]
		if !yield(b, nil) {
			return nil
		}
	}
	return nil
}

type eventObject struct {
	ID     string `json:"id"`
	Object string `json:"object"`
}

// applyEvents turns events (oldest first) into one batch: each changed
// object once, in the order of its last change, taken from that last
// event's data.object when it is complete (see snapshot) and fetched again
// otherwise. The cursor is the newest event.
func (c *Client) applyEvents(ctx context.Context, lk *lookups, evs []apiEvent) (*record.Batch, error) {
	type target struct{ kind, id string }
	lastAt := map[target]int{}
	for i, e := range evs {
		var o eventObject
		if json.Unmarshal(e.Data.Object, &o) != nil || o.ID == "" {
			continue
		}
		switch o.Object {
		case "customer", "subscription", "invoice":
			lastAt[target{o.Object, o.ID}] = i
		}
	}
	targets := make([]target, 0, len(lastAt))
	for t := range lastAt {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, func(a, b target) int { return lastAt[a] - lastAt[b] })
	b := &record.Batch{Stream: StreamEvents}
	for _, t := range targets {
		f, ok, err := c.snapshot(ctx, lk, t.kind, evs[lastAt[t]])
		if err != nil {
			return nil, fmt.Errorf("reading %s %s from its event: %w", t.kind, t.id, err)
		}
		if !ok {
			f, err = c.fetch(ctx, lk, t.kind, t.id)
		}
		if err != nil {
			return nil, fmt.Errorf("fetching %s %s after event: %w", t.kind, t.id, err)
		}
		b.Customers = append(b.Customers, f.Customers...)
		b.Subscriptions = append(b.Subscriptions, f.Subscriptions...)
		b.Invoices = append(b.Invoices, f.Invoices...)
		b.Deleted = append(b.Deleted, f.Deleted...)
	}
	newest := evs[len(evs)-1]
	b.Cursor, _ = json.Marshal(eventCursor{ID: newest.ID, Created: newest.Created})
	return b, nil
}
