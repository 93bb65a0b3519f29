package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/webhook"
)

// A fifth and a sixth connector kind that only this file knows: "toycrm"
// (a CRM writing two records a call, whose account IDs sit in billing
// metadata under "toycrm_") and "toybill" (a billing system whose
// "toy.dunning" event reports a failed payment). They go through config
// validation and defaults, the wire table, the engine's role decisions and
// the webhook receiver's ordering, with no other file naming them.

var registerToys sync.Once

// toyKinds are the wire-table rows of the two toy kinds.
func toyKinds(crm *toyCRM, bill *toyBilling) []connectorKind {
	apiKeyOnly := func(c config.Connector, p string, v *config.Problems) {
		if c.Auth.APIKey.IsZero() {
			v.Add(p+".auth.api_key", "is required for %s", c.Kind)
		}
		if c.Site != "" {
			v.Add(p+".site", "does not apply to %s connectors", c.Kind)
		}
	}
	return []connectorKind{
		{name: "toycrm",
			caps: record.Capabilities{System: "toycrm", Role: record.RoleCRM, WriteBatch: 2, MetadataPrefixes: []string{"toycrm_"}},
			config: &config.Kind{
				Defaults:   func(c *config.Connector) { c.FullResync = config.Duration(24 * time.Hour) },
				Validate:   apiKeyOnly,
				MatchRules: []config.MatchRule{{Kind: config.MatchBillingMetadata, Key: "toycrm_account_id"}},
			},
			build: func(config.Connector, zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
				return &engine.Connector{Source: crm, Writer: crm, Tasks: crm}, nil, nil
			}},
		{name: "toybill",
			caps:   record.Capabilities{System: "toybill", Role: record.RoleBilling, PaymentFailureEvents: []string{"toy.dunning"}},
			config: &config.Kind{Validate: apiKeyOnly},
			build: func(config.Connector, zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
				return &engine.Connector{Source: bill, Fetcher: bill}, &webhook.Source{Verifier: bill, ContentTypes: []string{"application/json"}}, nil
			}},
	}
}

// toyCRM holds accounts and records the write calls it receives.
type toyCRM struct {
	now      time.Time
	accounts []record.Account
	mu       sync.Mutex
	calls    [][]string // IDs per Update call
}

func (c *toyCRM) Pull(context.Context, record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		yield(&record.Batch{Stream: "accounts", Accounts: c.accounts, Full: true, Done: true}, nil)
	}
}

func (c *toyCRM) Update(_ context.Context, ups []record.FieldUpdate) ([]record.WriteResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	var out []record.WriteResult
	for _, u := range ups {
		ids = append(ids, u.ID)
		out = append(out, record.WriteResult{ID: u.ID})
	}
	c.calls = append(c.calls, ids)
	return out, nil
}

func (c *toyCRM) CreateTasks(_ context.Context, ts []record.Task) ([]record.WriteResult, error) {
	var out []record.WriteResult
	for i, t := range ts {
		out = append(out, record.WriteResult{ID: fmt.Sprintf("task%d", i), Key: t.DedupeKey})
	}
	return out, nil
}

func (c *toyCRM) CompleteTasks(_ context.Context, ts []record.Task) ([]record.WriteResult, error) {
	var out []record.WriteResult
	for _, t := range ts {
		out = append(out, record.WriteResult{ID: t.ID})
	}
	return out, nil
}

// toyBilling holds customers, subscriptions and invoices and verifies its
// webhooks by a shared token; a payload is {"id","type","invoice","customer"}.
type toyBilling struct {
	batch record.Batch
}

func (b *toyBilling) Pull(context.Context, record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		bb := b.batch
		yield(&bb, nil)
	}
}

func (b *toyBilling) Fetch(_ context.Context, objectType, id string) (*record.Batch, error) {
	for _, in := range b.batch.Invoices {
		if objectType == "invoice" && in.ID == id {
			return &record.Batch{Invoices: []record.Invoice{in}}, nil
		}
	}
	return nil, fmt.Errorf("no %s %s", objectType, id)
}

func (b *toyBilling) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	if r.Header.Get("X-Toy-Token") != "toy-secret" {
		return nil, fmt.Errorf("wrong token: %w", record.ErrUnauthenticated)
	}
	var in struct{ ID, Type, Invoice, Customer string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding: %w", record.ErrMalformed)
	}
	return []record.Event{{System: "toybill", ID: in.ID, Type: in.Type, ObjectType: "invoice", ObjectID: in.Invoice,
		Occurred: now, OrderKey: record.CustomerOrderKey(in.Customer)}}, nil
}

// toyPublisher records the engine's notifications.
type toyPublisher struct {
	mu      sync.Mutex
	notices []engine.Notice
}

func (p *toyPublisher) Publish(ns []engine.Notice) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notices = append(p.notices, ns...)
	return nil
}

func (p *toyPublisher) take(typ string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, n := range p.notices {
		if n.Type == typ {
			out = append(out, n.Account)
		}
	}
	p.notices = nil
	return out
}

const toyConfig = `
store: {path: %q}
connectors:
  - {name: crm, kind: toycrm, auth: {api_key: k1}, schedule: "@every 1h"}
  - {name: bill, kind: toybill, auth: {api_key: k2}, schedule: "@every 1h"}
write_back: {max_band_change_share: 1}
`

func TestToyKindsNeedOnlyTheWireTable(t *testing.T) {
	registerToys.Do(func() { registerKinds(toyKinds(nil, nil)) })
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	env := func(string) (string, bool) { return "", false }

	// Config: the registered kinds' checks run, and the kind list names them.
	_, err := config.Parse("bad.yaml", []byte(`
connectors:
  - {name: crm, kind: toycrm, schedule: "@every 1h"}
  - {name: bill, kind: toybill, site: x, auth: {api_key: k}, schedule: "@every 1h"}
  - {name: other, kind: nosuch, schedule: "@every 1h"}
`), env)
	var ce *config.Errors
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v, want *config.Errors", err)
	}
	var got []string
	for _, p := range ce.Problems {
		if strings.HasPrefix(p.Path, "connectors[") {
			got = append(got, p.Path+": "+p.Message)
		}
	}
	want := []string{
		"connectors[0].auth.api_key: is required for toycrm",
		"connectors[1].site: does not apply to toybill connectors",
		`connectors[2].kind: must be one of salesforce, hubspot, stripe, chargebee, zendesk, sql, segment, toycrm, toybill, not "nosuch"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	cfg, err := config.Parse("toy.yaml", []byte(fmt.Sprintf(toyConfig, filepath.Join(t.TempDir(), "toy.db"))), env)
	if err != nil {
		t.Fatal(err)
	}
	gotDefaults := []any{cfg.Connectors[0].FullResync.D(), cfg.Connectors[1].FullResync.D(), cfg.Matching.Rules}
	wantDefaults := []any{24 * time.Hour, 7 * 24 * time.Hour, []config.MatchRule{{Kind: config.MatchBillingMetadata, Key: "toycrm_account_id"}}}
	if !reflect.DeepEqual(gotDefaults, wantDefaults) {
		t.Fatalf("defaults (full_resync crm, bill; match rules) = %v, want %v", gotDefaults, wantDefaults)
	}

	// The wire table builds them and hands the engine their capabilities.
	crm := &toyCRM{now: now}
	bill := &toyBilling{}
	var accounts []record.Account
	for i := 1; i <= 5; i++ {
		id, cus := fmt.Sprintf("a%d", i), fmt.Sprintf("c%d", i)
		accounts = append(accounts, record.Account{Ref: record.Ref{System: "toycrm", ID: id, Modified: now}, Name: "Account " + id})
		bill.batch.Customers = append(bill.batch.Customers, record.Customer{Ref: record.Ref{System: "toybill", ID: cus, Modified: now},
			Name: "Customer " + cus, Currency: "USD", Metadata: map[string]string{"toycrm_account_id": id}})
		bill.batch.Subscriptions = append(bill.batch.Subscriptions, record.Subscription{Ref: record.Ref{System: "toybill", ID: "s" + cus, Modified: now},
			CustomerID: cus, Status: record.StatusActive, Currency: "USD", StartDate: now.AddDate(0, -3, 0), Created: now.AddDate(0, -3, 0),
			Items: []record.Item{{ID: "it" + cus, Currency: "USD", UnitAmount: 10000, Interval: "month", IntervalCount: 1, Quantity: 1, Recurring: true}}})
		bill.batch.Invoices = append(bill.batch.Invoices, record.Invoice{Ref: record.Ref{System: "toybill", ID: "in" + cus, Modified: now},
			CustomerID: cus, SubscriptionID: "s" + cus, Status: "paid", Paid: true, Currency: "USD", Total: 10000, AmountPaid: 10000, Created: now.AddDate(0, 0, -5)})
	}
	crm.accounts = accounts
	bill.batch.Stream, bill.batch.Full, bill.batch.Done = "billing", true, true
	w, err := wireKinds(cfg, zerolog.Nop(), append(connectorKinds(), toyKinds(crm, bill)...))
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, c := range w.connectors {
		roles = append(roles, fmt.Sprintf("%s crm=%v", c.Name(), c.IsCRM()))
	}
	if want := []string{"crm crm=true", "bill crm=false"}; !reflect.DeepEqual(roles, want) {
		t.Errorf("roles = %v, want %v", roles, want)
	}
	if !slices.Contains(w.systems, "toycrm") || !slices.Contains(w.systems, "toybill") {
		t.Errorf("signal systems %v lack the toy kinds", w.systems)
	}

	// The engine: matched by the toy CRM's metadata prefix, written two
	// records a call.
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub := &toyPublisher{}
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Connectors: w.connectors, Publisher: pub, Logger: zerolog.Nop(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Sync(context.Background(), engine.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	links, err := st.Links()
	if err != nil {
		t.Fatal(err)
	}
	var linked []string
	for _, l := range links {
		linked = append(linked, l.AccountKey+" "+l.CustomerKey+" "+l.Rule)
	}
	slices.Sort(linked)
	wantLinks := []string{
		"toycrm/a1 toybill/c1 billing_metadata", "toycrm/a2 toybill/c2 billing_metadata", "toycrm/a3 toybill/c3 billing_metadata",
		"toycrm/a4 toybill/c4 billing_metadata", "toycrm/a5 toybill/c5 billing_metadata",
	}
	if !reflect.DeepEqual(linked, wantLinks) {
		t.Errorf("links = %v, want %v", linked, wantLinks)
	}
	if want := [][]string{{"a1", "a2"}, {"a3", "a4"}, {"a5"}}; !reflect.DeepEqual(crm.calls, want) {
		t.Errorf("write calls = %v, want %v (WriteBatch 2)", crm.calls, want)
	}

	// The webhook receiver orders by the key the toy verifier set: the
	// second event of customer c1 waits while the first is claimed.
	h := webhook.NewHandler(webhook.Options{Sources: w.webhooks, Queue: st, Now: func() time.Time { return now }})
	for _, ev := range []struct{ id, typ, invoice, customer string }{
		{"e1", "toy.dunning", "inc1", "c1"}, {"e2", "toy.updated", "inc2", "c2"}, {"e3", "toy.updated", "inc1", "c1"},
	} {
		body := fmt.Sprintf(`{"id":%q,"type":%q,"invoice":%q,"customer":%q}`, ev.id, ev.typ, ev.invoice, ev.customer)
		r := httptest.NewRequest(http.MethodPost, "/webhooks/bill", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Toy-Token", "toy-secret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("POST %s = %d %s", ev.id, rec.Code, rec.Body)
		}
	}
	claimed, err := st.Claim(10, now)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, q := range claimed {
		keys = append(keys, q.Event.ID+" "+q.Key)
	}
	if want := []string{"e1 bill/customer/c1", "e2 bill/customer/c2"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("claimed = %v, want %v", keys, want)
	}

	// Payment failure is the toy billing's own event type: toy.dunning
	// notifies, toy.updated does not (the invoices are paid).
	pub.take(config.EventPaymentFailed)
	for i, want := range [][]string{{"toycrm/a1"}, nil} {
		if _, err := eng.Process(context.Background(), claimed[i]); err != nil {
			t.Fatal(err)
		}
		if got := pub.take(config.EventPaymentFailed); !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%s): payment_failed notices for %v, want %v", claimed[i].Event.ID, claimed[i].Event.Type, got, want)
		}
	}
}
