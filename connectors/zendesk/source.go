package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"

	"github.com/healthsync/healthsync/connectors/record"
)

// Capabilities describe the Zendesk kind to the engine: a signals source
// whose signals name Zendesk organizations.
func Capabilities() record.Capabilities {
	return record.Capabilities{System: System, Role: record.RoleSignals}
}

// StreamHelpdesk is the one stream a Source reports to the engine; its
// cursor holds the export positions and the help desk itself.
const StreamHelpdesk = "helpdesk"

// Source is a Client as the engine's signals source: it pulls the
// organizations and tickets exports, keeps the Helpdesk they describe and
// yields the signals of every organization, and re-reads a ticket named by
// a webhook event. The Helpdesk and the two export positions are one
// cursor, committed with the pull's last batch (with the signals), so a
// pull that stops half way is repeated from the last complete one and the
// help desk never holds tickets its cursor does not cover. The Helpdesk
// is guarded by mu (the pull and webhook workers share it).
type Source struct {
	c *Client

	mu     sync.Mutex
	desk   *Helpdesk // nil until restored or pulled
	cursor sourceCursor
}

// sourceCursor is the StreamHelpdesk cursor: the export streams'
// positions and the help desk they lead to.
type sourceCursor struct {
	Streams  map[string][]byte `json:"streams"`
	Helpdesk *Helpdesk         `json:"helpdesk"`
}

// NewSource wraps c.
func NewSource(c *Client) *Source { return &Source{c: c} }

// Restore loads the help desk from the stored cursors at start, so a
// webhook before the first pull of the process sees every ticket.
func (s *Source) Restore(cursors map[string][]byte) error {
	cur, ok, err := decodeSourceCursor(cursors)
	if err != nil || !ok {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.desk, s.cursor = cur.Helpdesk, cur
	return nil
}

func decodeSourceCursor(cursors map[string][]byte) (sourceCursor, bool, error) {
	b := cursors[StreamHelpdesk]
	if len(b) == 0 {
		return sourceCursor{}, false, nil
	}
	var cur sourceCursor
	if err := json.Unmarshal(b, &cur); err != nil {
		return sourceCursor{}, false, fmt.Errorf("zendesk: reading stored help desk: %w", err)
	}
	if cur.Helpdesk == nil {
		cur.Helpdesk = NewHelpdesk()
	}
	if cur.Streams == nil {
		cur.Streams = map[string][]byte{}
	}
	return cur, true, nil
}

// Pull exports what changed since the stored positions (everything when
// req.Full or nothing is stored), then yields one batch: the signals of
// every organization as of req.Now (time-windowed signals move without a
// ticket changing) and the cursor. Export pages are not yielded one by one:
// the help desk they build is only consistent once the export ends.
func (s *Source) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		cur, ok, err := decodeSourceCursor(req.Cursors)
		if err != nil {
			yield(nil, err)
			return
		}
		full := req.Full || !ok
		if full {
			cur = sourceCursor{Streams: map[string][]byte{}, Helpdesk: NewHelpdesk()}
		}
		now := req.Now
		if now.IsZero() {
			now = s.c.now()
		}
		var usage *record.APIUsage
		// The export builds on a copy; webhook workers keep the last
		// complete help desk until this one is.
		desk := cur.Helpdesk.clone()
		for zb, err := range s.c.Pull(ctx, record.PullRequest{Cursors: cur.Streams, Full: full, Now: now}) {
			if err != nil {
				yield(nil, err)
				return
			}
			desk.Apply(zb)
			if zb.Cursor != nil {
				cur.Streams[zb.Stream] = zb.Cursor
			}
			if zb.Usage != nil {
				usage = zb.Usage
			}
		}
		cur.Helpdesk = desk
		b, err := json.Marshal(cur)
		if err != nil {
			yield(nil, fmt.Errorf("zendesk: encoding help desk: %w", err))
			return
		}
		s.mu.Lock()
		s.desk, s.cursor = desk, cur
		sigs := desk.Signals(now)
		s.mu.Unlock()
		yield(&record.Batch{Stream: StreamHelpdesk, Signals: sigs, Cursor: b, Full: full, Done: true, Usage: usage}, nil)
	}
}

// ErrNotLoaded means a webhook arrived before the help desk was restored
// or pulled: the event is retried later.
var ErrNotLoaded = errors.New("zendesk help desk not loaded yet")

// Fetch re-reads the ticket a webhook event names (objectType "ticket")
// and returns its organization's signals as of now; for an organization
// event (objectType "organization") it returns that organization's
// signals. A deleted ticket is removed from the help desk.
func (s *Source) Fetch(ctx context.Context, objectType, id string) (*record.Batch, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("zendesk: %s id %q is not a number", objectType, id)
	}
	s.mu.Lock()
	loaded := s.desk != nil
	s.mu.Unlock()
	if !loaded {
		return nil, ErrNotLoaded
	}
	org := n
	if objectType == "ticket" {
		t, err := s.c.FetchTicket(ctx, n)
		gone := errors.Is(err, ErrNotFound)
		if err != nil && !gone {
			return nil, err
		}
		s.mu.Lock()
		if gone {
			t = s.desk.Tickets[n]
			delete(s.desk.Tickets, n)
		} else {
			s.desk.PutTicket(t)
		}
		s.mu.Unlock()
		org = t.OrganizationID
	} else if objectType != "organization" {
		return nil, nil
	}
	if org == 0 {
		return &record.Batch{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &record.Batch{Signals: s.desk.OrganizationSignals(org, s.c.now())}, nil
}

// LinkKeys gives the keys an organization (ref "zendesk/<id>") is matched
// to a CRM account by: its external_id (the CRM account ID) and its
// domain_names (docs "Organizations"). ok is false for an unknown one.
func (s *Source) LinkKeys(ref record.Ref) (accountID string, domains []string, ok bool) {
	n, err := strconv.ParseInt(ref.ID, 10, 64)
	if ref.System != System || err != nil {
		return "", nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.desk == nil {
		return "", nil, false
	}
	o, ok := s.desk.Organizations[n]
	return o.ExternalID, o.Domains, ok
}

// clone copies the help desk's maps (the records are values).
func (h *Helpdesk) clone() *Helpdesk {
	c := &Helpdesk{Organizations: make(map[int64]Organization, len(h.Organizations)), Tickets: make(map[int64]Ticket, len(h.Tickets))}
	for k, v := range h.Organizations {
		c.Organizations[k] = v
	}
	for k, v := range h.Tickets {
		c.Tickets[k] = v
	}
	return c
}

// FirstPage reads the first page of the organizations export, without
// the whole export a Pull makes, and returns its record count
// (`healthsync check`).
func (s *Source) FirstPage(ctx context.Context) (int, error) {
	for b, err := range s.c.Pull(ctx, record.PullRequest{Full: true, Now: s.c.now()}) {
		if err != nil {
			return 0, err
		}
		return len(b.Organizations) + len(b.Tickets), nil
	}
	return 0, nil
}
