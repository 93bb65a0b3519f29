package zendesk_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// sourcePull runs one Source pull and returns its only batch.
func sourcePull(t *testing.T, s *zendesk.Source, req record.PullRequest) *record.Batch {
	t.Helper()
	var out []*record.Batch
	for b, err := range s.Pull(context.Background(), req) {
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		out = append(out, b)
	}
	if len(out) != 1 {
		t.Fatalf("Pull yielded %d batches, want 1", len(out))
	}
	return out[0]
}

func sortSignals(s []record.Signal) []record.Signal {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Account.ID != s[j].Account.ID {
			return s[i].Account.ID < s[j].Account.ID
		}
		return s[i].Metric < s[j].Metric
	})
	return s
}

// TestSourceKeepsTheHelpdeskInItsCursor pins the engine-facing Source: one
// batch per pull with every organization's signals and a cursor holding
// the export positions and the help desk, an incremental pull from that
// cursor (only the changed ticket is exported, the signals cover every
// ticket), a restart restored from the cursor serving a webhook re-read,
// and the organizations' link keys.
func TestSourceKeepsTheHelpdeskInItsCursor(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{})
	seed(w)
	s := zendesk.NewSource(w.client)
	if _, err := s.Fetch(context.Background(), "ticket", "1"); !errors.Is(err, zendesk.ErrNotLoaded) {
		t.Fatalf("Fetch before any pull: %v, want ErrNotLoaded", err)
	}
	now := w.clk.Now()
	first := sourcePull(t, s, record.PullRequest{Now: now})
	want := zendesk.Signals(allOrgs(t, w), allTickets(t, w), now)
	if got := sortSignals(first.Signals); !reflect.DeepEqual(got, sortSignals(want)) {
		t.Fatalf("first pull signals =\n%v\nwant\n%v", got, want)
	}
	if first.Stream != zendesk.StreamHelpdesk || !first.Full || !first.Done || first.Cursor == nil {
		t.Fatalf("first batch = stream %q full %v done %v cursor %d bytes", first.Stream, first.Full, first.Done, len(first.Cursor))
	}

	// Ticket 3 (org 2, pending) is solved; the next pull resumes.
	w.clk.Advance(time.Hour)
	w.fake.PutTicket(zendesktest.Ticket{ID: 3, OrganizationID: 2, Status: "solved", CreatedAt: t0.Add(-120 * time.Hour),
		UpdatedAt: w.clk.Now().Add(-10 * time.Minute), GeneratedTimestamp: w.clk.Now().Add(-10 * time.Minute)})
	before := len(w.fake.Requests())
	now2 := w.clk.Now()
	cursors := map[string][]byte{zendesk.StreamHelpdesk: first.Cursor}
	second := sourcePull(t, s, record.PullRequest{Cursors: cursors, Now: now2})
	if n := len(w.fake.Requests()) - before; n != 2 {
		t.Errorf("incremental pull made %d export requests, want 2 (one per stream)", n)
	}
	want2 := zendesk.Signals(allOrgs(t, w), allTickets(t, w), now2)
	if got := sortSignals(second.Signals); !reflect.DeepEqual(got, sortSignals(want2)) {
		t.Fatalf("incremental pull signals =\n%v\nwant\n%v", got, want2)
	}

	// A new process restores the help desk and serves a webhook re-read:
	// ticket 1 (org 1, urgent, open) is solved.
	r := zendesk.NewSource(w.client)
	if err := r.Restore(map[string][]byte{zendesk.StreamHelpdesk: second.Cursor}); err != nil {
		t.Fatal(err)
	}
	w.fake.PutTicket(zendesktest.Ticket{ID: 1, OrganizationID: 1, Status: "solved", Priority: "urgent", CreatedAt: t0.Add(-48 * time.Hour),
		UpdatedAt: w.clk.Now().Add(-2 * time.Minute), GeneratedTimestamp: w.clk.Now().Add(-2 * time.Minute)})
	b, err := r.Fetch(context.Background(), "ticket", "1")
	if err != nil {
		t.Fatal(err)
	}
	var org1 []zendesk.Organization
	for _, o := range allOrgs(t, w) {
		if o.ID == 1 {
			org1 = append(org1, o)
		}
	}
	var tickets1 []zendesk.Ticket
	for _, tk := range allTickets(t, w) {
		if tk.OrganizationID == 1 {
			tickets1 = append(tickets1, tk)
		}
	}
	if want := zendesk.Signals(org1, tickets1, w.clk.Now()); !reflect.DeepEqual(sortSignals(b.Signals), sortSignals(want)) {
		t.Fatalf("webhook re-read signals =\n%v\nwant\n%v", b.Signals, want)
	}

	type keys struct {
		ID      string
		Domains []string
		OK      bool
	}
	var got []keys
	for _, id := range []string{"1", "2", "3", "99"} {
		a, d, ok := r.LinkKeys(record.Ref{System: zendesk.System, ID: id})
		got = append(got, keys{a, d, ok})
	}
	wantKeys := []keys{{"001ACME", []string{"acme.example"}, true}, {"", []string{"beta.example", "beta.io"}, true}, {"", nil, true}, {"", nil, false}}
	if !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("LinkKeys = %+v, want %+v", got, wantKeys)
	}
}

// allOrgs and allTickets read the fake's current records through a full
// export of the client (the reference the Source is compared with).
func allOrgs(t *testing.T, w *world) []zendesk.Organization {
	h := signalsOf(pullAll(t, w.client, record.PullRequest{Full: true, Now: w.clk.Now()}))
	var out []zendesk.Organization
	for _, o := range h.Organizations {
		out = append(out, o)
	}
	return out
}

func allTickets(t *testing.T, w *world) []zendesk.Ticket {
	h := signalsOf(pullAll(t, w.client, record.PullRequest{Full: true, Now: w.clk.Now()}))
	var out []zendesk.Ticket
	for _, tk := range h.Tickets {
		out = append(out, tk)
	}
	return out
}
