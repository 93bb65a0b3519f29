package engine_test

import (
	"context"
	"fmt"
	"iter"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// withSignals rebuilds e's engine with one more connector, a signals
// source, on the same store.
func (e *sfStripe) withSignals(t *testing.T, c *engine.Connector) {
	t.Helper()
	conns := append(append([]*engine.Connector(nil), e.eng.Connectors()...), c)
	eng, err := engine.New(engine.Options{Config: e.cfg, Store: e.st, Now: func() time.Time { return e.now }, Logger: zerolog.Nop(), Connectors: conns})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
}

// crmHealth is what the Salesforce fake holds of an account's health and
// what the store holds as its current score.
type crmHealth struct {
	Score   any
	Reasons string
	Stored  float64
}

func (e *sfStripe) health(t *testing.T, id string) crmHealth {
	t.Helper()
	rec := e.sf.Get("Account", id)
	sn, ok, err := e.st.Score("salesforce/" + id)
	if err != nil || !ok {
		t.Fatalf("no stored score for %s: %v", id, err)
	}
	reasons, _ := rec["Health_Reasons__c"].(string)
	return crmHealth{Score: rec["Health_Score__c"], Reasons: reasons, Stored: sn.Score}
}

// metricValues are one account's stored signals of a metric, by time.
func metricValues(t *testing.T, st store.Store, key, metric string) map[time.Time]float64 {
	t.Helper()
	sigs, err := st.Signals(key, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Time]float64{}
	for _, s := range sigs {
		if s.Metric == metric {
			out[s.Time] = s.Value
		}
	}
	return out
}

// TestEndToEndZendeskSignals: a Zendesk help desk pulled by the engine
// (organization 1 matched by external_id = the CRM ID, organization 2 by
// domain_names against the account's website, organization 3 by nothing)
// stores its organizations' signals under the CRM accounts, the accounts
// are re-scored and the CRM fields written; a ticket webhook then re-reads
// the ticket and re-scores its organization's account alone.
func TestEndToEndZendeskSignals(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	before := e.health(t, e.accts[0])

	zclock := func() time.Time { return e.now }
	fake := zendesktest.NewServer(zendesktest.Options{Email: "admin@example.com", Token: "zdtok", Now: zclock, ExportRateLimit: -1})
	t.Cleanup(fake.Close)
	fake.PutOrganization(zendesktest.Organization{ID: 1, Name: "Account 0", ExternalID: e.accts[0], UpdatedAt: e.now.Add(-48 * time.Hour)})
	fake.PutOrganization(zendesktest.Organization{ID: 2, Name: "Account 1", DomainNames: []string{"acct1.example.com"}, UpdatedAt: e.now.Add(-48 * time.Hour)})
	fake.PutOrganization(zendesktest.Organization{ID: 3, Name: "Nobody", DomainNames: []string{"nobody.example"}, UpdatedAt: e.now.Add(-48 * time.Hour)})
	ticket := func(id, org int64, status string, updated time.Time) zendesktest.Ticket {
		return zendesktest.Ticket{ID: id, OrganizationID: org, Status: status, CreatedAt: e.now.Add(-72 * time.Hour), UpdatedAt: updated, GeneratedTimestamp: updated}
	}
	for id := int64(1); id <= 3; id++ {
		fake.PutTicket(ticket(id, 1, "open", e.now.Add(-24*time.Hour)))
	}
	fake.PutTicket(ticket(4, 2, "solved", e.now.Add(-24*time.Hour)))
	fake.PutTicket(ticket(5, 3, "open", e.now.Add(-24*time.Hour)))

	cc := config.Connector{Name: "helpdesk", Kind: zendesk.Kind, BaseURL: fake.URL, Auth: config.Auth{Username: "admin@example.com", APIKey: config.NewSecret("zdtok")},
		RateLimit: config.RateLimit{Requests: 1000, Per: config.Duration(time.Second)}}
	zc, err := zendesk.FromConnector(cc)
	if err != nil {
		t.Fatal(err)
	}
	client, err := zendesk.New(zc, zendesk.Options{Now: zclock})
	if err != nil {
		t.Fatal(err)
	}
	src := zendesk.NewSource(client)
	e.withSignals(t, &engine.Connector{Config: cc, Caps: zendesk.Capabilities(), Source: src, Fetcher: src, Stats: client.Stats})

	rep := e.sync(t)
	var pull *engine.PullReport
	for _, p := range rep.Pulls {
		if p.Connector == "helpdesk" {
			pull = p
		}
	}
	// Three signals an organization without replies or ratings
	// (tickets_open, tickets_created_30d, urgent_tickets): organization 3's
	// are not stored.
	if pull == nil || !reflect.DeepEqual(pull.Signals, &engine.SignalCounts{Stored: 6, Unresolved: 3}) {
		t.Fatalf("helpdesk pull = %+v, want 6 signals stored, 3 unresolved", pull)
	}
	asOf := e.now
	got := []map[time.Time]float64{
		metricValues(t, e.st, "salesforce/"+e.accts[0], "tickets_open"),
		metricValues(t, e.st, "salesforce/"+e.accts[1], "tickets_open"),
		metricValues(t, e.st, "zendesk/3", "tickets_open"),
	}
	want := []map[time.Time]float64{{asOf: 3}, {asOf: 0}, {}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored tickets_open (account 0, account 1, organization 3) = %v, want %v", got, want)
	}
	after := e.health(t, e.accts[0])
	if after.Score == before.Score || fmt.Sprint(after.Score) != fmt.Sprint(math.Round(after.Stored)) || !strings.Contains(after.Reasons, "open support tickets") {
		t.Fatalf("account 0 in the CRM: before %+v, after %+v: want the new stored score written, with the ticket reason", before, after)
	}

	// Ticket 1 is solved; Zendesk's webhook names it.
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	fake.PutTicket(ticket(1, 1, "solved", e.now.Add(-2*time.Minute)))
	wrote, err := e.eng.Process(context.Background(), store.QueuedEvent{Connector: "helpdesk",
		Event: record.Event{System: zendesk.System, ID: "01HZ-ticket-1", Type: "ticket.status_changed", ObjectType: "ticket", ObjectID: "1"}})
	if err != nil || !wrote {
		t.Fatalf("Process = %v, %v; want a write", wrote, err)
	}
	if got, want := metricValues(t, e.st, "salesforce/"+e.accts[0], "tickets_open"), map[time.Time]float64{asOf: 3, e.now: 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("tickets_open after the webhook = %v, want %v", got, want)
	}
	solved := e.health(t, e.accts[0])
	if solved.Score == after.Score || fmt.Sprint(solved.Score) != fmt.Sprint(math.Round(solved.Stored)) {
		t.Fatalf("account 0 after the webhook: %+v (before it %+v): want a higher score written", solved, after)
	}
}

// slowSource delays a source's pull, so a concurrent pull finishes first.
type slowSource struct {
	engine.Source
	d time.Duration
}

func (s slowSource) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	time.Sleep(s.d)
	return s.Source.Pull(ctx, req)
}

// TestFirstSyncPullsSignalsAfterTheCRM: on a first sync the CRM's accounts
// are not in the store yet; a signals source is pulled once the CRM's pull
// is committed, so its organizations resolve (a slow CRM pull would
// otherwise leave every signal unresolved).
func TestFirstSyncPullsSignalsAfterTheCRM(t *testing.T) {
	e := newSFStripe(t)
	zclock := func() time.Time { return e.now }
	fake := zendesktest.NewServer(zendesktest.Options{Email: "admin@example.com", Token: "zdtok", Now: zclock, ExportRateLimit: -1})
	t.Cleanup(fake.Close)
	fake.PutOrganization(zendesktest.Organization{ID: 1, Name: "Account 0", ExternalID: e.accts[0], UpdatedAt: e.now.Add(-48 * time.Hour)})
	fake.PutTicket(zendesktest.Ticket{ID: 1, OrganizationID: 1, Status: "open", CreatedAt: e.now.Add(-72 * time.Hour),
		UpdatedAt: e.now.Add(-24 * time.Hour), GeneratedTimestamp: e.now.Add(-24 * time.Hour)})
	cc := config.Connector{Name: "helpdesk", Kind: zendesk.Kind, BaseURL: fake.URL, Auth: config.Auth{Username: "admin@example.com", APIKey: config.NewSecret("zdtok")},
		RateLimit: config.RateLimit{Requests: 1000, Per: config.Duration(time.Second)}}
	zc, _ := zendesk.FromConnector(cc)
	client, err := zendesk.New(zc, zendesk.Options{Now: zclock})
	if err != nil {
		t.Fatal(err)
	}
	src := zendesk.NewSource(client)
	crm := *e.eng.Connectors()[0]
	crm.Source = slowSource{Source: crm.Source, d: 300 * time.Millisecond}
	conns := []*engine.Connector{&crm, e.eng.Connectors()[1], {Config: cc, Caps: zendesk.Capabilities(), Source: src, Fetcher: src}}
	eng, err := engine.New(engine.Options{Config: e.cfg, Store: e.st, Now: zclock, Logger: zerolog.Nop(), Connectors: conns})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Sync(context.Background(), engine.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Pulls {
		got = append(got, fmt.Sprintf("%s %+v", p.Connector, p.Signals))
	}
	want := []string{"sf <nil>", "billing <nil>", "helpdesk &{Stored:3 Unresolved:0 RowsFailed:0 RowErrors:[]}"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pulls = %v, want %v", got, want)
	}
}
