package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
	"github.com/healthsync/healthsync/internal/demoworld"
	"github.com/healthsync/healthsync/sync/daemon"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/report"
)

// Demo credentials: they exist only inside the fakes on 127.0.0.1.
const (
	demoSFClientID     = "demo-connected-app"
	demoSFClientSecret = "demo-sf-secret"
	demoSFOrgID        = "00D5g000004DEMOEAA"
	demoHSToken        = "pat-demo-hubspot-token"
	demoHSAppSecret    = "demo-hubspot-app-secret"
	demoStripeKey      = "sk_test_demo_healthsync"
	demoStripeWHSecret = "whsec_demo_healthsync_signing"
	demoCBKey          = "test_demo_chargebee_key"
	demoCBUser         = "healthsync"
	demoCBPass         = "demo-chargebee-webhook"
	demoAPIToken       = "demo-api-token-not-a-secret"
	demoSignalsToken   = "demo-signals-token-not-a-secret"
	demoNotifySecret   = "whsec_ZGVtby1yZXZvcHMtbm90aWZpY2F0aW9uLXNlY3JldA=="
	demoZDEmail        = "admin@demo.example"
	demoZDToken        = "demo-zendesk-api-token"
	demoZDSecret       = "demo-zendesk-webhook-secret"
	demoSegmentSecret  = "demo-segment-shared-secret"
)

const demoConfig = `# Written by healthsync demo: every URL points at a fake on 127.0.0.1.
store: {path: %[1]q}
server: {listen: "127.0.0.1:0", api_token: %[2]q}
log: {level: warn}
reporting: {currency: JPY, fx: {USD: 150.0}, timezone: Asia/Tokyo}
connectors:
  - name: salesforce
    kind: salesforce
    login_url: %[3]s
    organization_id: %[4]s
    auth: {flow: client_credentials, client_id: %[5]s, client_secret: %[6]s}
    schedule: "@every 15m"
  - name: hubspot
    kind: hubspot
    base_url: %[7]s
    auth: {access_token: %[8]s}
    webhook: {client_secret: %[9]s}
    schedule: "@every 15m"
    rate_limit: {requests: 1000, per: 10s}
  - name: stripe
    kind: stripe
    base_url: %[10]s
    auth: {api_key: %[11]s}
    webhook: {secrets: [%[12]s]}
    schedule: "@every 10m"
  - name: chargebee
    kind: chargebee
    site: demo
    base_url: %[13]s
    auth: {api_key: %[14]s}
    webhook: {username: %[15]s, password: %[16]s}
    schedule: "@every 10m"
    rate_limit: {requests: 1000, per: 10s}
  - name: helpdesk
    kind: zendesk
    base_url: %[20]s
    auth: {username: %[21]s, api_key: %[22]s}
    webhook: {secrets: [%[23]s]}
    schedule: "@every 30m"
    rate_limit: {requests: 1000, per: 1s}
  - name: product
    kind: segment
    webhook: {secrets: [%[24]s]}
    segment:
      account: {by: domain}
      events:
        - {event: Logged In, metric: logins}
        - {event: "*", metric: active_users, distinct_users: true}
matching:
  rules:
    - {kind: billing_metadata, key: salesforce_account_id}
    - {kind: billing_metadata, key: hubspot_company_id}
    - {kind: crm_field, field: Stripe_Customer_Id__c, connector: salesforce}
    - {kind: email_domain}
write_back:
  max_band_change_share: 1
webhooks: {signals_token: %[17]q}
notify:
  subscribers:
    - {name: revops, url: %[18]s, secret: %[19]q}
`

func cmdDemo(e *env) error {
	fs := newFlags(e, "demo", "[--accounts N] [--seed S] [--serve] [--latency D] [--out FILE]")
	accounts := fs.Int("accounts", 300, "accounts in the generated world")
	seed := fs.Int64("seed", 1, "seed of the deterministic world generator")
	serve := fs.Bool("serve", false, "keep the fakes and the daemon running after the demo")
	out := fs.String("out", "healthsync-report.html", "where to write the HTML report")
	dir := fs.String("dir", "", "folder for the demo's config and store (default: a new temporary folder)")
	latency := fs.Duration("latency", 0, "added to every answer of the fake vendor APIs, e.g. 100ms (a real API's order), to see webhook batching at work")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *accounts < 10 {
		return usagef("--accounts: at least 10")
	}
	if *latency < 0 || *latency > 10*time.Second {
		return usagef("--latency: between 0s and 10s")
	}
	start := time.Now()
	w := e.stdout
	stack, err := newDemoStack(*accounts, *seed, *dir)
	if err != nil {
		return err
	}
	defer stack.Close()
	stack.setLatency(*latency)
	sf, hs, st, cb, world, cfg := stack.sf, stack.hs, stack.st, stack.cb, stack.world, stack.cfg
	fmt.Fprintf(w, "healthsync demo: %d accounts (seed %d), 18 months of history, on fakes at 127.0.0.1 answering in %s\n", *accounts, *seed, *latency)
	fmt.Fprintf(w, "  Salesforce %s  HubSpot %s  Stripe %s  Chargebee %s\n", sf.URL, hs.URL, st.URL, cb.URL)
	printSummary(w, world.Summary())
	fmt.Fprintf(w, "\nconfig written to %s\n", stack.cfgPath)

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var demoErr error
	var once sync.Once
	started := func(d *daemon.Daemon, a *app, done chan<- struct{}) {
		go func() {
			defer close(done)
			demoErr = runDemoScenario(ctx, w, d, a, stack, *out)
			if demoErr != nil || !*serve {
				once.Do(cancel)
				return
			}
			fmt.Fprintf(w, "\nserving until Ctrl-C:\n  report   curl -H 'Authorization: Bearer %s' http://%s/report\n", demoAPIToken, d.Addr)
			fmt.Fprintf(w, "  API      curl -H 'Authorization: Bearer %s' http://%s/api/report\n", demoAPIToken, d.Addr)
			fmt.Fprintf(w, "  metrics  curl -H 'Authorization: Bearer %s' http://%s/metrics\n", demoAPIToken, d.Addr)
			fmt.Fprintf(w, "  CRM      TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s %s/services/oauth2/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n", demoSFClientID, demoSFClientSecret, sf.URL)
			fmt.Fprintf(w, "           curl -H \"Authorization: Bearer $TOKEN\" '%s/services/data/v62.0/query?q=SELECT+Name,Health_Score__c,Health_Band__c,MRR__c+FROM+Account+LIMIT+5'\n", sf.URL)
		}()
	}
	env2 := *e
	env2.ctx = ctx
	if err := runDaemon(&env2, cfg, "", started); err != nil {
		return err
	}
	if demoErr != nil {
		return demoErr
	}
	fmt.Fprintf(w, "\ndemo finished in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// demoStack is the demo's world: the four fakes seeded from the
// generator, a RevOps receiver and the config pointing at them.
type demoStack struct {
	sf      *salesforcetest.Server
	hs      *hubspottest.Server
	st      *stripetest.Server
	cb      *chargebeetest.Server
	zd      *zendesktest.Server
	revops  *notificationSink
	world   *demoworld.World
	cfg     *config.Config
	cfgPath string
}

// setLatency makes every fake vendor API answer d later.
func (s *demoStack) setLatency(d time.Duration) {
	s.sf.SetLatency(d)
	s.hs.SetLatency(d)
	s.st.SetLatency(d)
	s.cb.SetLatency(d)
}

func newDemoStack(accounts int, seed int64, dir string) (*demoStack, error) {
	// The world is generated as of the start of today (UTC), so one seed
	// gives the same world, and the same figures, all day.
	now := time.Now().UTC().Truncate(24 * time.Hour)
	s := &demoStack{
		sf: salesforcetest.NewServer(salesforcetest.Options{ClientID: demoSFClientID, ClientSecret: demoSFClientSecret, OrgID: demoSFOrgID}),
		hs: hubspottest.NewServer(hubspottest.Options{AccessToken: demoHSToken, TenSecondlyLimit: 1000}),
		st: stripetest.NewServer(stripetest.Options{APIKey: demoStripeKey}),
		cb: chargebeetest.NewServer(chargebeetest.Options{APIKey: demoCBKey}),
		// The demo exports at full speed: the real limit (10 a minute) is
		// the connector's rate_limit default, kept off here.
		zd:     zendesktest.NewServer(zendesktest.Options{Email: demoZDEmail, Token: demoZDToken, ExportRateLimit: -1}),
		revops: newNotificationSink(demoNotifySecret),
	}
	s.world = demoworld.Generate(demoworld.Options{Accounts: accounts, Seed: seed, Now: now})
	for _, load := range []func() error{
		func() error { return s.world.LoadSalesforce(s.sf) }, func() error { return s.world.LoadHubSpot(s.hs) },
		func() error { return s.world.LoadStripe(s.st) }, func() error { return s.world.LoadChargebee(s.cb) },
		func() error { _, err := s.world.LoadZendesk(s.zd); return err },
	} {
		if err := load(); err != nil {
			s.Close()
			return nil, fmt.Errorf("seeding the fakes: %w", err)
		}
	}
	folder := dir
	if folder == "" {
		var err error
		if folder, err = os.MkdirTemp("", "healthsync-demo-"); err != nil {
			s.Close()
			return nil, err
		}
	} else if err := os.MkdirAll(folder, 0o755); err != nil {
		s.Close()
		return nil, err
	}
	s.cfgPath = filepath.Join(folder, "healthsync.yaml")
	text := fmt.Sprintf(demoConfig, filepath.Join(folder, "healthsync.db"), demoAPIToken, s.sf.URL, demoSFOrgID, demoSFClientID,
		demoSFClientSecret, s.hs.URL, demoHSToken, demoHSAppSecret, s.st.URL, demoStripeKey, demoStripeWHSecret, s.cb.URL, demoCBKey,
		demoCBUser, demoCBPass, demoSignalsToken, s.revops.srv.URL, demoNotifySecret, s.zd.URL, demoZDEmail, demoZDToken, demoZDSecret, demoSegmentSecret)
	if err := os.WriteFile(s.cfgPath, []byte(text), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	cfg, err := config.Load(s.cfgPath)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("the demo's own config is invalid: %w", err)
	}
	s.cfg = cfg
	// HubSpot's custom properties, as `healthsync setup hubspot` creates
	// them before the daemon first runs.
	for _, cc := range cfg.Connectors {
		if cc.Kind != config.KindHubSpot {
			continue
		}
		c, err := hubspot.New(cc, hubspot.Options{})
		if err == nil {
			_, err = c.Setup(context.Background(), hubspot.DefaultProperties())
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("hubspot setup: %w", err)
		}
	}
	return s, nil
}

// Close stops the fakes.
func (s *demoStack) Close() {
	s.sf.Close()
	s.hs.Close()
	s.st.Close()
	s.cb.Close()
	s.zd.Close()
	s.revops.srv.Close()
}

func printSummary(w io.Writer, s demoworld.Summary) {
	b, _ := json.Marshal(s)
	var m map[string]any
	json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k, v := range m {
		switch v.(type) {
		case float64:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", strings.ReplaceAll(k, "_", " "), m[k]))
	}
	fmt.Fprintf(w, "  world: %s\n", strings.Join(parts, ", "))
}

// runDemoScenario drives the running daemon: signals, a full sync, three
// signed webhooks, the report, then a burst of webhooks.
func runDemoScenario(ctx context.Context, w io.Writer, d *daemon.Daemon, a *app, stack *demoStack, out string) error {
	world, sf, hs, st, revops := stack.world, stack.sf, stack.hs, stack.st, stack.revops
	base := "http://" + d.Addr
	hc := httpclient.New(httpclient.Options{Name: "demo", RetryMax: 2, RetryWaitMin: 50 * time.Millisecond, RetryWaitMax: time.Second})

	// 1. Product usage through the real receiver (POST /v1/signals).
	sigs := world.Signals()
	for i := 0; i < len(sigs); i += 2000 {
		batch := sigs[i:min(i+2000, len(sigs))]
		var in []map[string]any
		for _, s := range batch {
			in = append(in, map[string]any{"account": s.Account.Key(), "metric": s.Metric, "value": s.Value, "time": s.Time})
		}
		body, _ := json.Marshal(map[string]any{"signals": in})
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/signals", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+demoSignalsToken)
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("posting signals: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("posting signals: HTTP %d", resp.StatusCode)
		}
	}
	fmt.Fprintf(w, "\n1. %d usage signals accepted by POST /v1/signals\n", len(sigs))
	// The phases run one after another: each signal queued a re-score,
	// and one still running would race the full sync for the same
	// accounts' writes and tasks, so the figures would vary run to run.
	if err := waitQueue(ctx, a, 30*time.Second); err != nil {
		return err
	}

	// 2. Full sync: pull, match, score, write back, tasks.
	t0 := time.Now()
	rep, err := a.eng.Sync(ctx, engine.SyncOptions{Full: true})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	fmt.Fprintf(w, "\n2. full sync in %s\n", time.Since(t0).Round(time.Millisecond))
	printSync(w, rep)

	if err := waitNotified(ctx, a, 30*time.Second); err != nil {
		return err
	}

	// 3. Signed webhooks through the real receiver, timed to the CRM.
	fmt.Fprintf(w, "\n3. webhooks (signed as each vendor signs them) until the CRM shows the change\n")
	sc := world.Summary().Scenarios
	scenarios := []struct {
		name   string
		acct   string
		field  string
		mutate func() error
	}{
		{"Stripe invoice.payment_failed", sc.FailedPaymentAccount, "Health_Score__c", func() error { return st.FailInvoicePayment(sc.FailedPaymentInvoice) }},
		{"Stripe customer.subscription.updated (downgrade)", sc.DowngradeAccount, "MRR__c", func() error {
			return st.UpdateSubscription(sc.DowngradeSubscription, func(s *stripetest.Subscription) {
				s.Items[0].Quantity = max(1, s.Items[0].Quantity/2)
			})
		}},
		{"Stripe customer.subscription.deleted (cancellation)", sc.CancelAccount, "MRR__c", func() error { return st.CancelSubscription(sc.CancelSubscription) }},
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "event\taccount\tHTTP\tacknowledged\tCRM field\tbefore\tafter\tevent to CRM")
	tasksOn := func(acct string) int {
		n := 0
		for _, t := range sf.All("Task") {
			if t["WhatId"] == acct {
				n++
			}
		}
		return n
	}
	for _, s := range scenarios {
		if s.acct == "" {
			// A small world may have no account in this situation.
			fmt.Fprintf(tw, "%s\t(no such account in this world)\t\t\t\t\t\t\n", s.name)
			continue
		}
		before := sf.Get("Account", s.acct)
		tasksBefore := tasksOn(s.acct)
		nBefore := st.EventCount()
		if err := s.mutate(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		evs := st.EventsFrom(nBefore)
		if len(evs) == 0 {
			return fmt.Errorf("%s: the fake emitted no event", s.name)
		}
		body, _ := st.EventJSON(evs[len(evs)-1].ID)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
		sent := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		resp.Body.Close()
		ack := time.Since(sent)
		took := "not seen within 10s"
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			now := sf.Get("Account", s.acct)
			if fmt.Sprint(now[s.field]) != fmt.Sprint(before[s.field]) ||
				fmt.Sprint(now["Healthsync_Updated_At__c"]) != fmt.Sprint(before["Healthsync_Updated_At__c"]) || tasksOn(s.acct) > tasksBefore {
				took = time.Since(sent).Round(time.Millisecond).String()
				break
			}
		}
		// The row shows the CRM once this event's re-score, writes, tasks
		// and notifications are done; the next event starts after that.
		if err := waitNotified(ctx, a, 30*time.Second); err != nil {
			return err
		}
		after := sf.Get("Account", s.acct)
		field := s.field
		if n := tasksOn(s.acct) - tasksBefore; n > 0 {
			field += fmt.Sprintf(" (+%d task)", n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%v\t%v\t%s\n", s.name, after["Name"], resp.StatusCode, ack.Round(time.Microsecond),
			field, show(before[s.field]), show(after[s.field]), took)
	}
	tw.Flush()
	fmt.Fprintf(w, "RevOps notifications received and verified (Standard Webhooks): %s\n", revops.summary())
	if err := demoSignalsSources(ctx, w, a, stack, base, hc); err != nil {
		return err
	}

	if err := demoBacktest(ctx, w, a, time.Now()); err != nil {
		return err
	}

	// 4. The report.
	r, _, err := a.eng.Report(ctx, engine.ReportOptions{})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(w, "\n4. report\n")
	if err := report.WriteTable(w, r, 6, 10); err != nil {
		return err
	}
	printTasks(w, rep, sf, hs)
	fmt.Fprintf(w, "\nAPI calls used\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "connector\tcalls\tretries\t429s\terrors")
	for _, u := range r.APIUsage {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", u.Connector, u.Calls, u.Retries, u.Throttled, u.Errors)
	}
	tw.Flush()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := report.WriteHTML(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	abs, _ := filepath.Abs(out)
	fmt.Fprintf(w, "\nHTML report written to %s (the daemon serves the same page at /report)\n", abs)

	// 5. A burst of webhooks, last: how its calls split between batches,
	// fetches and pulls follows timing, and the report above stays the
	// same run to run.
	return demoBurst(ctx, w, a, stack, base, hc)
}

func printTasks(w io.Writer, rep *engine.SyncReport, sf *salesforcetest.Server, hs *hubspottest.Server) {
	if rep.Write == nil {
		return
	}
	byRule := map[string]int{}
	for _, t := range rep.Write.Created {
		byRule[t.Intent.Rule]++
	}
	var rules []string
	for r := range byRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	fmt.Fprintf(w, "\nTasks created in the CRMs (%d)\n", len(rep.Write.Created))
	for _, r := range rules {
		fmt.Fprintf(w, "  %-28s %d\n", r, byRule[r])
	}
	for i, t := range rep.Write.Created {
		if i == 5 {
			break
		}
		fmt.Fprintf(w, "  e.g. %s: %q due %s\n", t.Name, t.Intent.Subject, t.Intent.Due.Format("2006-01-02"))
	}
}

// notificationSink is the RevOps endpoint of the demo: it verifies each
// notification with the Standard Webhooks algorithm.
type notificationSink struct {
	srv      *httptest.Server
	mu       sync.Mutex
	verified map[string]int
	rejected int
}

func newNotificationSink(secret string) *notificationSink {
	n := &notificationSink{verified: map[string]int{}}
	n.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		defer n.mu.Unlock()
		if err := notify.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			n.rejected++
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m notify.Message
		json.Unmarshal(body, &m)
		n.verified[m.Type]++
	}))
	return n
}

func (n *notificationSink) summary() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var parts []string
	for k, v := range n.verified {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	if n.rejected > 0 {
		parts = append(parts, fmt.Sprintf("rejected %d", n.rejected))
	}
	if len(parts) == 0 {
		return "none yet"
	}
	return strings.Join(parts, ", ")
}

// waitNotified waits until the webhook queue is drained and every
// notification it produced has been delivered.
func waitNotified(ctx context.Context, a *app, limit time.Duration) error {
	if err := waitQueue(ctx, a, limit); err != nil {
		return err
	}
	return waitFor(ctx, limit, func() (string, error) {
		n, err := a.st.OutboxLen()
		if err != nil || n == 0 {
			return "", err
		}
		return fmt.Sprintf("%d notifications still undelivered", n), nil
	})
}

// waitQueue waits until the webhook queue is empty and nothing is in flight.
func waitQueue(ctx context.Context, a *app, limit time.Duration) error {
	return waitFor(ctx, limit, func() (string, error) {
		q, _, err := a.st.QueueDepth()
		if err != nil || (q == 0 && a.st.InFlight() == 0) {
			return "", err
		}
		return fmt.Sprintf("webhook queue still holds %d events", q), nil
	})
}

// waitFor polls check every 10 ms until it reports nothing left to wait
// for ("") or an error, for at most limit.
func waitFor(ctx context.Context, limit time.Duration, check func() (waiting string, err error)) error {
	deadline := time.Now().Add(limit)
	for {
		waiting, err := check()
		if err != nil || waiting == "" {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s after %s", waiting, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
