package demoworld

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// TestHelpdeskMovesSignals loads the help desk, exports it through the
// zendesk client and checks that every organization links to its account
// (external_id or domain) and that at-risk accounts show more open and
// urgent tickets, slower replies and worse ratings than healthy ones.
func TestHelpdeskMovesSignals(t *testing.T) {
	w := Generate(Options{Accounts: 120, Seed: 3, Now: testNow})
	load(t, w)
	now := func() time.Time { return w.now.Add(time.Hour) }
	fake := zendesktest.NewServer(zendesktest.Options{Email: "demo@example.com", Token: "zd-demo", Now: now, ExportRateLimit: -1})
	t.Cleanup(fake.Close)
	n, err := w.LoadZendesk(fake)
	if err != nil || n == 0 {
		t.Fatalf("LoadZendesk = %d, %v", n, err)
	}
	c, err := zendesk.New(zendesk.Config{Name: "desk", BaseURL: fake.URL, Email: "demo@example.com", APIToken: config.NewSecret("zd-demo")},
		zendesk.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h := zendesk.NewHelpdesk()
	for b, err := range c.Pull(context.Background(), record.PullRequest{Now: now()}) {
		if err != nil {
			t.Fatal(err)
		}
		h.Apply(b)
	}
	if len(h.Tickets) != n || len(h.Organizations) != len(w.accounts) {
		t.Fatalf("exported %d tickets, %d organizations; seeded %d, %d", len(h.Tickets), len(h.Organizations), n, len(w.accounts))
	}
	byKey := map[string]*account{}
	for _, a := range w.accounts {
		byKey[a.crmID], byKey[a.Domain] = a, a
	}
	profileOf := map[string]string{}
	for id, o := range h.Organizations {
		a := byKey[o.ExternalID]
		if a == nil && len(o.Domains) == 1 {
			a = byKey[o.Domains[0]]
		}
		if a == nil {
			t.Fatalf("organization %d (%+v) links to no account", id, o)
		}
		profileOf[strconv.FormatInt(id, 10)] = a.Profile
	}
	type agg struct{ sum, n float64 }
	mean := map[string]map[string]*agg{}
	for _, s := range h.Signals(w.now) {
		p := profileOf[s.Account.ID]
		if mean[p] == nil {
			mean[p] = map[string]*agg{}
		}
		if mean[p][s.Metric] == nil {
			mean[p][s.Metric] = &agg{}
		}
		mean[p][s.Metric].sum += s.Value
		mean[p][s.Metric].n++
	}
	m := func(p, metric string) float64 {
		a := mean[p][metric]
		if a == nil || a.n == 0 {
			return 0
		}
		return a.sum / a.n
	}
	for _, c := range []struct {
		metric string
		higher bool // at risk above healthy
	}{
		{zendesk.MetricOpenTickets, true}, {zendesk.MetricUrgentTickets, true},
		{zendesk.MetricMedianFirstReplyH, true}, {zendesk.MetricSatisfactionGoodRat, false},
	} {
		risk, healthy := m(profAtRisk, c.metric), m(profHealthy, c.metric)
		if (risk > healthy) != c.higher {
			t.Errorf("%s: at risk %.2f, healthy %.2f", c.metric, risk, healthy)
		}
	}
}
