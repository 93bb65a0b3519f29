package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Stream names, which key the engine's cursors.
const (
	StreamOrganizations = "organizations"
	StreamTickets       = "tickets"
)

// ErrRepeatedCursor means Zendesk returned the position it was asked for
// without reaching end_of_stream; following it would loop (the
// time-based organization export does this when more than a page of
// organizations share one updated_at second).
var ErrRepeatedCursor = errors.New("zendesk returned a repeated cursor")

// Batch is one page of a Zendesk pull. It mirrors record.Batch (Stream,
// Cursor, Full, Done, Usage, Deleted) and carries Zendesk's records, which
// record.Batch has no place for yet: organizations with their link keys and
// ticket summaries, from which Signals computes the per-account signals.
type Batch struct {
	Stream        string
	Organizations []Organization
	Tickets       []Ticket
	// Deleted lists organizations and tickets Zendesk reported deleted.
	Deleted []record.Ref
	// Cursor is the position to resume Stream after this batch, to be
	// persisted once the batch is committed; nil leaves it unchanged.
	Cursor []byte
	// Full is true when Stream is enumerated from Config.StartTime, and
	// Done on its last batch (end_of_stream).
	Full, Done bool
	// Usage is the X-Rate-Limit budget seen on the page.
	Usage *record.APIUsage
}

// ticketCursor is the tickets stream's persisted position: Zendesk's
// after_cursor, and the largest generated_timestamp seen, from which an
// expired or refused cursor restarts (minus Options.Overlap).
type ticketCursor struct {
	AfterCursor string `json:"after_cursor"`
	Since       int64  `json:"since"`
}

// orgCursor is the organizations stream's persisted position: the end_time
// of the last page, the next start_time.
type orgCursor struct {
	StartTime int64 `json:"start_time"`
}

func marshal(v any) []byte { b, _ := json.Marshal(v); return b }

// Pull yields the streams "organizations" then "tickets", one batch per
// export page of up to Options.PageSize records.
//
// A stream without a stored cursor, or req.Full, is exported from
// Config.StartTime (Full set, Done on the page with end_of_stream).
// Otherwise tickets resume from the stored after_cursor and organizations
// from the stored end_time. Every batch carries the cursor to resume after
// it, so a pull interrupted mid-export resumes from its last committed
// page. A start_time is never less than a minute old (docs "Using the
// Incremental Export API": items changed in the last minute are excluded
// and a more recent start_time is refused).
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		now := req.Now
		if now.IsZero() {
			now = c.now()
		}
		if !c.pullOrganizations(ctx, req, now, yield) {
			return
		}
		c.pullTickets(ctx, req, now, yield)
	}
}

// startTime clamps t to the export's accepted range: >= 0 and at least a
// minute (plus a second) before now.
func startTime(t int64, now time.Time) int64 {
	return max(min(t, now.Add(-time.Minute-time.Second).Unix()), 0)
}

func (c *Client) pullOrganizations(ctx context.Context, req record.PullRequest, now time.Time, yield func(*Batch, error) bool) bool {
	full := req.Full
	start := c.start.Unix()
	if raw := req.Cursors[StreamOrganizations]; len(raw) == 0 {
		full = true
	} else if !full {
		var cur orgCursor
		if err := json.Unmarshal(raw, &cur); err != nil {
			c.log.Warn().Str("stream", StreamOrganizations).Msg("unreadable cursor, exporting in full")
			full = true
		} else {
			start = cur.StartTime
		}
	}
	start = startTime(start, now)
	seen := map[int64]time.Time{} // time-based pages repeat items at their boundary second
	for {
		q := url.Values{"start_time": {strconv.FormatInt(start, 10)}, "per_page": {strconv.Itoa(c.page)}}
		var p wireOrgPage
		h, err := c.get(ctx, c.export, "/api/v2/incremental/organizations.json", q, &p)
		if err != nil {
			yield(nil, fmt.Errorf("zendesk: reading organizations page: %w", err))
			return false
		}
		b := &Batch{Stream: StreamOrganizations, Full: full, Done: p.EndOfStream, Usage: usage(h)}
		for _, w := range p.Organizations {
			o := mapOrg(w)
			if u, dup := seen[o.ID]; dup && u.Equal(o.Updated) {
				continue
			}
			seen[o.ID] = o.Updated
			if o.Deleted {
				b.Deleted = append(b.Deleted, o.Ref())
			}
			b.Organizations = append(b.Organizations, o)
		}
		if !p.EndOfStream && p.EndTime <= start {
			yield(nil, fmt.Errorf("zendesk: reading organizations page at start_time %d: %w", start, ErrRepeatedCursor))
			return false
		}
		b.Cursor = marshal(orgCursor{StartTime: max(p.EndTime, start)})
		if !yield(b, nil) {
			return false
		}
		if p.EndOfStream {
			return true
		}
		start = p.EndTime
	}
}

func (c *Client) pullTickets(ctx context.Context, req record.PullRequest, now time.Time, yield func(*Batch, error) bool) bool {
	full := req.Full
	var cur ticketCursor
	if raw := req.Cursors[StreamTickets]; len(raw) == 0 {
		full = true
	} else if !full {
		if err := json.Unmarshal(raw, &cur); err != nil || cur.AfterCursor == "" {
			c.log.Warn().Str("stream", StreamTickets).Msg("unreadable cursor, exporting in full")
			full = true
		}
	}
	base := url.Values{"per_page": {strconv.Itoa(c.page)}, "include": {"metric_sets"}}
	q := cloneWith(base, "cursor", cur.AfterCursor)
	if full {
		cur = ticketCursor{}
		q = cloneWith(base, "start_time", strconv.FormatInt(startTime(c.start.Unix(), now), 10))
	}
	since := cur.Since
	first := true
	for {
		var p wireTicketPage
		h, err := c.get(ctx, c.export, "/api/v2/incremental/tickets/cursor.json", q, &p)
		if err != nil && first && !full && isStatus(err, http.StatusUnprocessableEntity) {
			// The stored cursor was refused (expired or invalid): restart
			// from the last generated_timestamp seen, minus the overlap.
			restart := startTime(since-int64(c.overlap/time.Second), now)
			c.log.Warn().Str("stream", StreamTickets).Int64("start_time", restart).Msg("cursor refused, restarting from time")
			q = cloneWith(base, "start_time", strconv.FormatInt(restart, 10))
			first = false
			continue
		}
		if err != nil {
			yield(nil, fmt.Errorf("zendesk: reading tickets page: %w", err))
			return false
		}
		first = false
		metrics := make(map[int64]*wireMetric, len(p.MetricSets))
		for i := range p.MetricSets {
			metrics[p.MetricSets[i].TicketID] = &p.MetricSets[i]
		}
		b := &Batch{Stream: StreamTickets, Full: full, Done: p.EndOfStream, Usage: usage(h)}
		for _, w := range p.Tickets {
			t := mapTicket(w, metrics[w.ID])
			since = max(since, w.GeneratedTimestamp)
			if t.Deleted {
				b.Deleted = append(b.Deleted, t.Ref())
			}
			b.Tickets = append(b.Tickets, t)
		}
		if p.AfterCursor == nil || *p.AfterCursor == "" {
			yield(nil, fmt.Errorf("zendesk: reading tickets page: response has no after_cursor"))
			return false
		}
		next := *p.AfterCursor
		if !p.EndOfStream && next == q.Get("cursor") {
			yield(nil, fmt.Errorf("zendesk: reading tickets page: %w", ErrRepeatedCursor))
			return false
		}
		b.Cursor = marshal(ticketCursor{AfterCursor: next, Since: since})
		if !yield(b, nil) {
			return false
		}
		if p.EndOfStream {
			return true
		}
		q = cloneWith(base, "cursor", next)
	}
}

func cloneWith(v url.Values, key, val string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(key, val)
	return out
}
