package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// sfStripe is a Salesforce org and a Stripe account with three customers.
type sfStripe struct {
	sf      *salesforcetest.Server
	stripe  *stripetest.Server
	eng     *engine.Engine
	st      *bolt.Store
	cfg     *config.Config
	accts   []string // Salesforce account IDs
	subs    []string // Stripe subscription IDs
	path    string
	now     time.Time
	sfConn  *salesforce.Client
	stConn  *stripe.Client
	connect func(t *testing.T)
	// pulled are the extra Account fields the connector reads (default:
	// the healthsync fields).
	pulled []string
	// extraYAML is appended to the config (scoring, tasks).
	extraYAML string
	// sfURL, when set, replaces the fake's URL as login_url (a proxy).
	sfURL string
	// wrap, when set, wraps the store the engine uses (read logs).
	wrap func(store.Store) store.Store
}

const e2eConfig = `
store: {path: %q}
reporting: {currency: JPY, fx: {USD: 150}}
connectors:
  - name: sf
    kind: salesforce
    login_url: %s
    auth: {flow: client_credentials, client_id: cid, client_secret: csecret}
    schedule: "@every 15m"
    http: {retry_max: 1, retry_wait_min: 1ms, retry_wait_max: 2ms, timeout: 1s}
  - name: billing
    kind: stripe
    base_url: %s
    auth: {api_key: sk_test_e2e}
    schedule: "@every 10m"
    http: {retry_max: 1, retry_wait_min: 1ms, retry_wait_max: 2ms}
matching:
  rules:
    - {kind: billing_metadata, key: salesforce_account_id}
    - {kind: email_domain}
write_back:
  max_band_change_share: 1
`

func newSFStripe(t *testing.T) *sfStripe {
	t.Helper()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	e := &sfStripe{now: now, path: filepath.Join(t.TempDir(), "e2e.db")}
	e.sf = salesforcetest.NewServer(salesforcetest.Options{ClientID: "cid", ClientSecret: "csecret", Now: func() time.Time { return e.now }})
	t.Cleanup(e.sf.Close)
	e.sf.AddHealthsyncFields()
	e.stripe = stripetest.NewServer(stripetest.Options{APIKey: "sk_test_e2e", Now: now.AddDate(0, -6, 0)})
	t.Cleanup(e.stripe.Close)

	price := e.stripe.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 10000, Interval: "month"})
	usd := e.stripe.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 12000, Interval: "year"}) // 120 USD/yr = 10 USD/mo
	for i, q := range []int64{3, 1, 5} {
		id, err := e.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i), "Website": fmt.Sprintf("https://acct%d.example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		e.accts = append(e.accts, id)
		c := e.stripe.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("billing@acct%d.example.com", i),
			Metadata: map[string]string{"salesforce_account_id": id}})
		if i == 2 { // matched by e-mail domain only
			e.stripe.UpdateCustomer(c.ID, func(c *stripetest.Customer) { c.Metadata = nil })
		}
		p := price.ID
		if i == 1 {
			p = usd.ID
		}
		sub, err := e.stripe.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: p, Quantity: q}},
			StartDate: now.AddDate(0, -6, 0)})
		if err != nil {
			t.Fatal(err)
		}
		e.subs = append(e.subs, sub.ID)
	}
	e.stripe.SetNow(now)
	e.connect = func(t *testing.T) {
		sfURL := e.sf.URL
		if e.sfURL != "" {
			sfURL = e.sfURL
		}
		cfg, err := config.Parse("e2e.yaml", []byte(fmt.Sprintf(e2eConfig, e.path, sfURL, e.stripe.URL)+e.extraYAML), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		e.cfg = cfg
		sfc := cfg.Connectors[0]
		pulled := e.pulled
		if pulled == nil {
			pulled = []string{"Health_Score__c", "Health_Band__c", "Health_Trend__c", "Health_Reasons__c", "Touch_Model__c",
				"Lifecycle_Phase__c", "MRR__c", "ARR__c", "Healthsync_Updated_At__c"}
		}
		sfc.Objects = append(sfc.Objects, config.Object{Name: "Account", Fields: pulled})
		clock := func() time.Time { return e.now }
		if e.sfConn, err = salesforce.New(sfc, salesforce.Options{Now: clock}); err != nil {
			t.Fatal(err)
		}
		if e.stConn, err = stripe.New(cfg.Connectors[1], stripe.Options{Now: clock}); err != nil {
			t.Fatal(err)
		}
		if e.st, err = bolt.Open(e.path, bolt.Options{Now: clock}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.st.Close() })
		var es store.Store = e.st
		if e.wrap != nil {
			es = e.wrap(es)
		}
		e.eng, err = engine.New(engine.Options{Config: cfg, Store: es, Now: clock, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
			{Config: sfc, Caps: salesforce.Capabilities(), Source: e.sfConn, Fetcher: e.sfConn, Writer: e.sfConn, Tasks: e.sfConn, Preflight: e.sfConn, Stats: e.sfConn.Stats},
			{Config: cfg.Connectors[1], Caps: stripe.Capabilities(), Source: e.stConn, Fetcher: e.stConn, Stats: e.stConn.Stats},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.connect(t)
	return e
}

func (e *sfStripe) sync(t *testing.T) *engine.SyncReport {
	t.Helper()
	rep, err := e.eng.Sync(context.Background(), engine.SyncOptions{KeepScores: true})
	if err != nil {
		t.Fatalf("sync: %v (errors %v)", err, rep.Errors)
	}
	return rep
}

func TestEndToEndSalesforceStripe(t *testing.T) {
	e := newSFStripe(t)
	rep := e.sync(t)
	if len(rep.Errors) > 0 {
		t.Fatalf("first sync errors: %v", rep.Errors)
	}
	// MRR in the CRM equals the subscriptions: 3 x 10,000 JPY; 120 USD a
	// year x 150 = 1,500 JPY a month; 5 x 10,000 JPY.
	wantMRR := []float64{30000, 1500, 50000}
	for i, id := range e.accts {
		acc := e.sf.Get("Account", id)
		if acc["MRR__c"] != wantMRR[i] || acc["ARR__c"] != wantMRR[i]*12 {
			t.Errorf("account %d: MRR__c %v ARR__c %v, want %v / %v", i, acc["MRR__c"], acc["ARR__c"], wantMRR[i], wantMRR[i]*12)
		}
		for _, f := range []string{"Health_Score__c", "Health_Band__c", "Touch_Model__c", "Lifecycle_Phase__c", "Healthsync_Updated_At__c"} {
			if acc[f] == nil {
				t.Errorf("account %d: %s not written", i, f)
			}
		}
		sc, ok, err := e.st.Score("salesforce/" + id)
		if err != nil || !ok {
			t.Fatalf("no score stored for %s", id)
		}
		if acc["Health_Score__c"] != float64(int(sc.Score+0.5)) || acc["Health_Band__c"] != sc.Band {
			t.Errorf("account %d: CRM has %v/%v, store has %v/%v", i, acc["Health_Score__c"], acc["Health_Band__c"], sc.Score, sc.Band)
		}
	}
	if rep.Reconcile.MatchRate != 1 {
		t.Errorf("match rate %v, want 1 (two by metadata, one by domain)", rep.Reconcile.MatchRate)
	}

	// A second run with no change: zero write calls, at most one query call
	// per object and connector.
	before := e.sf.Counts()
	stripeBefore := e.stripe.Counts()
	rep = e.sync(t)
	after := e.sf.Counts()
	if d := after["composite"] - before["composite"]; d != 0 {
		t.Errorf("second run made %d composite calls, want 0 (plan: %+v)", d, rep.Plan.Writes)
	}
	if d := after["query"] - before["query"]; d > 5 {
		t.Errorf("second run made %d query calls (Account, Opportunity, their deletions, tasks): want at most 5", d)
	}
	var stripeCalls int64
	calls := map[string]int64{}
	for k, v := range e.stripe.Counts() {
		stripeCalls += v - stripeBefore[k]
		if v != stripeBefore[k] {
			calls[k] = v - stripeBefore[k]
		}
	}
	if stripeCalls > 1 {
		t.Errorf("second run made %d Stripe calls %v, want 1 (the events feed)", stripeCalls, calls)
	}

	// An unchanged score adds no history point (one a day, or per change).
	if h, _ := e.st.ScoreHistory("salesforce/"+e.accts[0], time.Time{}); len(h) != 1 {
		t.Errorf("score history has %d points after two identical runs, want 1", len(h))
	}

	// A changed subscription rewrites exactly that account.
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	sub, _ := e.stripe.Subscription(e.subs[0])
	if err := e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 4 }); err != nil {
		t.Fatal(err)
	}
	_ = sub
	before = e.sf.Counts()
	rep = e.sync(t)
	if len(rep.Plan.Writes) != 1 || rep.Plan.Writes[0].ID != e.accts[0] {
		t.Fatalf("plan writes %+v, want exactly account 0", rep.Plan.Writes)
	}
	if got := e.sf.Get("Account", e.accts[0])["MRR__c"]; got != 40000.0 {
		t.Errorf("MRR__c after upgrade = %v, want 40000", got)
	}
	if d := e.sf.Counts()["composite"] - before["composite"]; d != 1 {
		t.Errorf("upgrade made %d composite calls, want 1", d)
	}
	if h, _ := e.st.ScoreHistory("salesforce/"+e.accts[0], time.Time{}); len(h) != 2 {
		t.Errorf("score history has %d points after a change, want 2", len(h))
	}
}

func TestEndToEndFaultMidWriteLosesNothing(t *testing.T) {
	e := newSFStripe(t)
	// The write call fails on every attempt (2 with retry_max 1): the
	// writes stay pending. Task creation, the next composite call, works.
	e.sf.InjectFault(salesforcetest.Fault{Path: "/composite/sobjects", Times: 2, Status: 503})
	rep, err := e.eng.Sync(context.Background(), engine.SyncOptions{})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if rep.Write.Written != 0 || rep.Write.Failed != 3 {
		t.Fatalf("write %+v, want 0 written 3 failed", rep.Write)
	}
	pend, _ := e.st.Pending("sf")
	if len(pend) != 3 {
		t.Fatalf("pending %d, want 3", len(pend))
	}
	// Restart the process: pending writes survive and are retried once due.
	e.st.Close()
	e.connect(t)
	e.now = e.now.Add(7 * time.Hour)
	e.stripe.SetNow(e.now)
	rep = e.sync(t)
	if rep.Write.Written != 3 {
		t.Fatalf("after restart wrote %d, want 3 (%+v)", rep.Write.Written, rep.Write)
	}
	for i, id := range e.accts {
		if e.sf.Get("Account", id)["MRR__c"] == nil {
			t.Errorf("account %d has no MRR after the retry", i)
		}
	}
	if pend, _ := e.st.Pending("sf"); len(pend) != 0 {
		t.Errorf("%d writes still pending", len(pend))
	}
}

func TestEndToEndTasksAndDedupe(t *testing.T) {
	e := newSFStripe(t)
	// Poor usage makes every account at risk, so the at-risk rule fires.
	var sigs []record.Signal
	for _, id := range e.accts {
		for d := 0; d < 30; d++ {
			ts := e.now.AddDate(0, 0, -d)
			sigs = append(sigs, record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "logins", Time: ts, Value: 0},
				record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "nps", Time: ts, Value: 1},
				record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "tickets_open", Time: ts, Value: 9})
		}
	}
	if _, err := e.st.AddSignals(sigs); err != nil {
		t.Fatal(err)
	}
	rep := e.sync(t)
	if rep.Write.TasksCreated == 0 {
		t.Fatalf("no tasks created; plan %+v", rep.Plan.Creates)
	}
	tasks := e.sf.All("Task")
	if len(tasks) != rep.Write.TasksCreated {
		t.Fatalf("CRM has %d tasks, run created %d", len(tasks), rep.Write.TasksCreated)
	}
	for _, tk := range tasks {
		if tk["WhatId"] == nil || tk["Subject"] == "" {
			t.Errorf("task without account or subject: %v", tk)
		}
	}
	// The next run creates none: deduplicated by key.
	rep = e.sync(t)
	if len(rep.Plan.Creates) != 0 || len(e.sf.All("Task")) != len(tasks) {
		t.Fatalf("second run planned %d tasks, CRM has %d (was %d)", len(rep.Plan.Creates), len(e.sf.All("Task")), len(tasks))
	}
	// A new process with an empty task memory still dedupes: against the
	// store and against the open tasks read back from the CRM.
	e.st.Close()
	e.connect(t)
	if rep = e.sync(t); len(rep.Plan.Creates) != 0 {
		t.Fatalf("after restart planned %d tasks again", len(rep.Plan.Creates))
	}
}

func TestEndToEndPersonEditIsLeftAlone(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	// A CSM overwrites the MRR field by hand, a minute later.
	e.now = e.now.Add(time.Minute)
	if err := e.sf.Update("Account", e.accts[0], map[string]any{"MRR__c": 1.0}); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	if err := e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 7 }); err != nil {
		t.Fatal(err)
	}
	rep := e.sync(t)
	if got := e.sf.Get("Account", e.accts[0])["MRR__c"]; got != 1.0 {
		t.Fatalf("MRR__c = %v: healthsync overwrote a person's edit", got)
	}
	found := false
	for _, s := range rep.Plan.Skips {
		if s.ID == e.accts[0] && s.Field == "MRR__c" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the edit was not reported: %+v", rep.Plan.Skips)
	}
}

func TestEndToEndGates(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	before := e.sf.Counts()["composite"]
	// The billing pull fails: accounts it feeds are not written.
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	e.stripe.UpdateSubscription(e.subs[1], func(s *stripetest.Subscription) { s.Items[0].Quantity = 9 })
	e.stripe.InjectFault(stripetest.Fault{Path: "/v1/events", Times: 10, Status: 500})
	rep, _ := e.eng.Sync(context.Background(), engine.SyncOptions{})
	if len(rep.Plan.Writes) != 0 {
		t.Fatalf("planned %d writes although the billing pull failed", len(rep.Plan.Writes))
	}
	blocked := 0
	for _, s := range rep.Plan.Skips {
		if s.Field == "" && s.Reason != "" {
			blocked++
		}
	}
	if blocked != 3 || e.sf.Counts()["composite"] != before {
		t.Fatalf("blocked %d accounts (want 3), composite calls %d -> %d", blocked, before, e.sf.Counts()["composite"])
	}
}

func TestEndToEndBandCeilingNeedsConfirm(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	// Every account collapses to at risk: above a 20% ceiling.
	e.cfg.WriteBack.MaxBandChangeShare = 0.2
	var sigs []record.Signal
	for _, id := range e.accts {
		for d := 0; d < 30; d++ {
			ts := e.now.AddDate(0, 0, -d)
			sigs = append(sigs, record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "logins", Time: ts, Value: 0},
				record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "tickets_open", Time: ts, Value: 20},
				record.Signal{Account: record.Ref{System: record.Salesforce, ID: id}, Metric: "nps", Time: ts, Value: 0})
		}
	}
	e.st.AddSignals(sigs)
	before := e.sf.Counts()["composite"]
	rep, err := e.eng.Sync(context.Background(), engine.SyncOptions{})
	if !errors.Is(err, engine.ErrNeedsConfirm) || !rep.Plan.NeedsConfirm {
		t.Skipf("bands did not move enough to trip the ceiling (err %v, %d/%d changes)", err, rep.Plan.BandChanges, rep.Plan.BandBase)
	}
	if e.sf.Counts()["composite"] != before {
		t.Fatal("wrote before confirmation")
	}
	if _, _, err := e.eng.Apply(context.Background(), false); !errors.Is(err, engine.ErrNeedsConfirm) {
		t.Fatalf("apply without --confirm: %v", err)
	}
	wr, _, err := e.eng.Apply(context.Background(), true)
	if err != nil || wr.Written == 0 {
		t.Fatalf("apply --confirm: %+v %v", wr, err)
	}
	if e.sf.Get("Account", e.accts[0])["Health_Band__c"] != "at_risk" {
		t.Fatalf("band after confirm = %v", e.sf.Get("Account", e.accts[0])["Health_Band__c"])
	}
}

func TestEndToEndWebhookEventRescoresOneAccount(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.stripe.SetNow(e.now)
	if err := e.stripe.UpdateSubscription(e.subs[2], func(s *stripetest.Subscription) { s.Items[0].Quantity = 2 }); err != nil {
		t.Fatal(err)
	}
	before := e.sf.Counts()
	// The payload is not trusted: only the object's ID is used, the current
	// state is fetched from Stripe.
	ev := store.QueuedEvent{Connector: "billing", Event: record.Event{System: "stripe", ID: "evt_test_1",
		Type: "customer.subscription.updated", ObjectType: "subscription", ObjectID: e.subs[2], Object: []byte(`{"id":"` + e.subs[2] + `","quantity":999}`)}}
	wrote, err := e.eng.Process(context.Background(), ev)
	if err != nil || !wrote {
		t.Fatalf("Process = %v, %v", wrote, err)
	}
	if got := e.sf.Get("Account", e.accts[2])["MRR__c"]; got != 20000.0 {
		t.Fatalf("MRR__c = %v, want 20000", got)
	}
	after := e.sf.Counts()
	if d := after["composite"] - before["composite"]; d != 1 {
		t.Fatalf("%d composite calls, want 1", d)
	}
	if d := after["query"] - before["query"]; d != 0 {
		t.Fatalf("%d Salesforce queries on the webhook path, want 0", d)
	}
	// The other accounts were not touched.
	for _, id := range e.accts[:2] {
		if lw, _ := e.st.LastWritten("sf", "Account", id); lw["MRR__c"].At.After(e.now.Add(-time.Minute)) {
			t.Errorf("account %s was rewritten", id)
		}
	}
}

func TestEndToEndPreflightReportsMissingFields(t *testing.T) {
	e := newSFStripe(t)
	e.sf.RemoveField("Account", "Touch_Model__c")
	e.sf.RemoveField("Account", "ARR__c")
	problems, err := e.eng.Preflight(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range problems["sf"] {
		got[p.Field] = true
	}
	if len(problems["sf"]) != 2 || !got["Touch_Model__c"] || !got["ARR__c"] {
		t.Fatalf("problems %+v, want Touch_Model__c and ARR__c at once", problems)
	}
}

func signalsFor(accts []string, now time.Time, offset time.Duration, logins, nps, tickets float64) []record.Signal {
	var sigs []record.Signal
	for _, id := range accts {
		ref := record.Ref{System: record.Salesforce, ID: id}
		for d := 0; d < 30; d++ {
			ts := now.AddDate(0, 0, -d).Add(offset)
			sigs = append(sigs, record.Signal{Account: ref, Metric: "logins", Time: ts, Value: logins},
				record.Signal{Account: ref, Metric: "active_users", Time: ts, Value: logins},
				record.Signal{Account: ref, Metric: "features_used", Time: ts, Value: logins / 2},
				record.Signal{Account: ref, Metric: "nps", Time: ts, Value: nps},
				record.Signal{Account: ref, Metric: "tickets_open", Time: ts, Value: tickets})
		}
	}
	return sigs
}

// TestEndToEndTaskClosesWhenCleared: an at-risk task closes itself (status
// Completed, a note) once the account is no longer at risk.
func TestEndToEndTaskClosesWhenCleared(t *testing.T) {
	e := newSFStripe(t)
	e.st.AddSignals(signalsFor(e.accts[:1], e.now, 0, 0, 0, 20))
	rep := e.sync(t)
	var taskID string
	for _, c := range rep.Write.Created {
		if c.Intent.Rule == "at_risk_follow_up" && c.Account == "salesforce/"+e.accts[0] {
			taskID = "found"
		}
	}
	if taskID == "" {
		t.Fatalf("no at-risk task; score %v", rep.Reconcile.Accounts[0].Result.Health)
	}
	// Usage recovers: many logins, high NPS, no tickets, later the same days.
	e.now = e.now.Add(2 * time.Hour)
	e.stripe.SetNow(e.now)
	e.st.AddSignals(signalsFor(e.accts[:1], e.now, time.Hour, 40, 10, 0))
	rep = e.sync(t)
	if rep.Write.TasksClosed != 1 {
		t.Fatalf("closed %d tasks, want 1 (plan closes %+v, band now %s)", rep.Write.TasksClosed, rep.Plan.Closes,
			rep.Reconcile.Accounts[0].Result.Health.Band)
	}
	var closed map[string]any
	for _, tk := range e.sf.All("Task") {
		if tk["Status"] == "Completed" {
			closed = tk
		}
	}
	if closed == nil || !strings.Contains(fmt.Sprint(closed["Description"]), "no longer holds") {
		t.Fatalf("no completed task with a note in the CRM: %v", e.sf.All("Task"))
	}
	if open, _ := e.st.OpenTasks(); len(open) != 0 {
		for _, o := range open {
			if o.Rule == "at_risk_follow_up" {
				t.Fatalf("store still has the task open: %+v", o)
			}
		}
	}
}

// TestEndToEndOwnedFieldOverridesEdit: a field in write_back.owned_fields is
// written even after a person edited it.
func TestEndToEndOwnedFieldOverridesEdit(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.cfg.WriteBack.OwnedFields = []string{"mrr"}
	e.now = e.now.Add(time.Minute)
	e.sf.Update("Account", e.accts[0], map[string]any{"MRR__c": 1.0})
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 7 })
	e.sync(t)
	if got := e.sf.Get("Account", e.accts[0])["MRR__c"]; got != 70000.0 {
		t.Fatalf("MRR__c = %v, want 70000 (healthsync owns mrr)", got)
	}
}

// TestEndToEndRecordedMonthsKeepHistory: once healthsync has seen a month,
// its month-end MRR comes from what was recorded, not from a rebuild (here
// the subscription's later state would rewrite November).
func TestEndToEndRecordedMonthsKeepHistory(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t) // 2026-11-20: account 0 at 3 x 10,000 JPY
	e.now = time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC)
	e.stripe.SetNow(e.now)
	if err := e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 5 }); err != nil {
		t.Fatal(err)
	}
	rep := e.sync(t)
	s, ok := rep.Reconcile.Account("salesforce/" + e.accts[0])
	if !ok {
		t.Fatal("account missing")
	}
	var nov, dec *scoring.MonthMRR
	for i := range s.Result.Months {
		switch s.Result.Months[i].Month.String() {
		case "2026-11":
			nov = &s.Result.Months[i]
		case "2026-12":
			dec = &s.Result.Months[i]
		}
	}
	if nov == nil || dec == nil {
		t.Fatal("months missing")
	}
	if nov.MRR != 30000 || dec.MRR != 50000 || dec.Kind != scoring.MoveExpansion {
		t.Fatalf("November %d, December %d (%s); want 30000 recorded, then 50000 expansion", nov.MRR, dec.MRR, dec.Kind)
	}
}

// TestEndToEndFullPullKeepsRecordsCommittedMeanwhile: a complete
// enumeration deletes records it did not see only if they predate it; one a
// webhook fetch committed while it ran survives.
func TestEndToEndFullPullKeepsRecordsCommittedMeanwhile(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	ghost := func(id string, modified time.Time) record.Customer {
		return record.Customer{Ref: record.Ref{System: record.Stripe, ID: id, Modified: modified}, Name: id}
	}
	if _, err := e.st.CommitBatch("billing", &record.Batch{Customers: []record.Customer{
		ghost("cus_gone_long_ago", e.now.Add(-time.Hour)), ghost("cus_committed_meanwhile", e.now.Add(time.Second))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Sync(context.Background(), engine.SyncOptions{Full: true, Connector: "billing"}); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := e.st.Customer("billing", "cus_gone_long_ago"); !c.Deleted {
		t.Error("a customer missing from the complete enumeration was not deleted")
	}
	if c, ok, _ := e.st.Customer("billing", "cus_committed_meanwhile"); !ok || c.Deleted {
		t.Error("a customer committed after the enumeration began was deleted")
	}
}

// TestEndToEndOwnWriteIsNotAnEdit: between healthsync's write and the next
// CRM pull the stored account still holds the older value; that is not a
// person's edit, so a billing-only sync still writes.
func TestEndToEndOwnWriteIsNotAnEdit(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	for i, q := range []int64{4, 6} {
		e.now = e.now.Add(time.Hour)
		e.stripe.SetNow(e.now)
		e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = q })
		opts := engine.SyncOptions{}
		if i == 1 {
			opts.Connector = "billing" // no Salesforce pull: the stored account is older than the last write
		}
		rep, err := e.eng.Sync(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range rep.Plan.Skips {
			if s.ID == e.accts[0] {
				t.Fatalf("run %d skipped %s: %s", i, s.Field, s.Reason)
			}
		}
	}
	if got := e.sf.Get("Account", e.accts[0])["MRR__c"]; got != 60000.0 {
		t.Fatalf("MRR__c = %v, want 60000", got)
	}
}

// TestEndToEndPendingWriteRespectsLaterEdit: a write that failed stays
// pending, but if a person edits the field before the retry, the stale
// pending value is not sent over the edit.
func TestEndToEndPendingWriteRespectsLaterEdit(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t) // MRR__c written: 30,000
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	e.stripe.UpdateSubscription(e.subs[0], func(s *stripetest.Subscription) { s.Items[0].Quantity = 8 })
	e.sf.InjectFault(salesforcetest.Fault{Path: "/composite/sobjects", Times: 2, Status: 503})
	rep, _ := e.eng.Sync(context.Background(), engine.SyncOptions{})
	if rep.Write.Failed == 0 {
		t.Fatalf("the write did not fail: %+v", rep.Write)
	}
	// A CSM edits MRR__c before the retry.
	e.now = e.now.Add(time.Minute)
	e.sf.Update("Account", e.accts[0], map[string]any{"MRR__c": 12345.0})
	e.now = e.now.Add(7 * time.Hour)
	e.stripe.SetNow(e.now)
	e.sync(t)
	if got := e.sf.Get("Account", e.accts[0])["MRR__c"]; got != 12345.0 {
		t.Fatalf("MRR__c = %v: a stale pending write overwrote the person's edit", got)
	}
	if got := e.sf.Get("Account", e.accts[0])["ARR__c"]; got != 960000.0 {
		t.Fatalf("ARR__c = %v, want the other pending fields written (960,000)", got)
	}
}

// TestSyncDropsScoresBeforeWriting (issue 14): a sync's report keeps the
// re-scored accounts only when asked; by default they are dropped once the
// plan is made, and the counts stay.
func TestSyncDropsScoresBeforeWriting(t *testing.T) {
	e := newSFStripe(t)
	rep, err := e.eng.Sync(context.Background(), engine.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reconcile == nil || len(rep.Reconcile.Accounts) != 0 {
		t.Fatalf("report kept the scored accounts: %+v", rep.Reconcile)
	}
	if rep.Rescored == 0 || rep.Write == nil || rep.Write.Written == 0 {
		t.Fatalf("rescored %d, write %+v: the sync did not run", rep.Rescored, rep.Write)
	}
	if _, ok := rep.Reconcile.Account("salesforce/" + e.accts[0]); ok {
		t.Fatal("an account is still looked up after the drop")
	}
}
