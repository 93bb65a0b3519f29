package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// TestProcessSkipsEchoesOfOwnWrites: HubSpot sends a property-change event
// for every property healthsync's write-back set. A batch of those events
// re-scores no account and makes no HubSpot call (no fetch, no write); in
// a batch where one event carries another value (a person's edit) or
// another property, that company alone is fetched and re-scored.
func TestProcessSkipsEchoesOfOwnWrites(t *testing.T) {
	written := []string{"healthsync_health_score", "healthsync_band", "healthsync_touch_model", "healthsync_phase", "healthsync_mrr",
		"healthsync_arr", "healthsync_updated_at"}
	for _, c := range []struct {
		name string
		// human, when set, is a change of company 1 in HubSpot and the
		// event that reports it.
		human        map[string]string
		wantRescored []int // companies
		wantCalls    bool
	}{
		{"echoes only", nil, nil, false},
		{"a person's value in the batch", map[string]string{"healthsync_band": "red"}, []int{1}, true},
		{"another property in the batch", map[string]string{"name": "Company One"}, []int{1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := &readLog{}
			e := newHSChargebeeWrapped(t, hubspot.DefaultProperties(), nil, func(s store.Store) store.Store { log.Store = s; return log })
			if _, err := e.eng.Sync(context.Background(), engine.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
			e.now = e.now.Add(time.Minute)
			var evs []store.QueuedEvent
			for i, id := range e.companies {
				co, _ := e.hs.Get("companies", id)
				for _, p := range written {
					if co.Properties[p] == "" {
						t.Fatalf("company %d: %s not written", i, p)
					}
					evs = append(evs, propertyEvent(id, p, co.Properties[p]))
				}
			}
			if c.human != nil {
				if !e.hs.Update("companies", e.companies[1], c.human, e.now) {
					t.Fatal("company 1 not found")
				}
				for p, v := range c.human {
					evs = append(evs, propertyEvent(e.companies[1], p, v))
				}
			}
			log.take()
			e.hs.ResetCounts()
			wrote, errs := e.eng.ProcessBatch(context.Background(), evs)
			for i := range evs {
				if errs[i] != nil || wrote[i] {
					t.Errorf("event %d (%s): wrote %v, error %v", i, evs[i].Event.ID, wrote[i], errs[i])
				}
			}
			var want []string
			for _, i := range c.wantRescored {
				want = append(want, "hubspot/"+e.companies[i])
			}
			if got := rescoredKeys(log.take()); !slices.Equal(got, want) {
				t.Errorf("re-scored %q, want %q", got, want)
			}
			if calls := e.hs.Total(); (calls > 0) != c.wantCalls {
				t.Errorf("%d HubSpot calls (%v), want calls %v", calls, e.hs.Counts(), c.wantCalls)
			}
			for k, n := range e.hs.Counts() {
				if strings.Contains(k, "batch/update") && n > 0 {
					t.Errorf("%d writes (%s)", n, k)
				}
			}
		})
	}
}

// propertyEvent is a HubSpot company.propertyChange event as the verifier
// parses it.
func propertyEvent(company, property, value string) store.QueuedEvent {
	return store.QueuedEvent{Connector: "hs", Event: record.Event{System: record.HubSpot, ID: fmt.Sprintf("1:2:company.propertyChange:%s:%s:1", company, property),
		Type: "company.propertyChange", ObjectType: "company", ObjectID: company, Fields: map[string]string{property: value}}}
}

// rescoredKeys are the accounts whose score history a re-score read, from
// a readLog's calls.
func rescoredKeys(calls []string) []string {
	var out []string
	for _, c := range calls {
		if rest, ok := strings.CutPrefix(c, "ScoreHistories ["); ok {
			out = append(out, strings.Fields(strings.TrimSuffix(rest, "]"))...)
		}
	}
	slices.Sort(out)
	return out
}
