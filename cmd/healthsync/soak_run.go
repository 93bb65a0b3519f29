package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/internal/faultproxy"
)

const soakAPIToken = "soak-api-token-not-a-secret"

// soakConfig is the soak's configuration: the demo's connectors with short
// client timeouts (the proxy holds answers for 3s), quick write retries,
// every score change written and no touch-model hysteresis (it keeps an
// account's previous tier near a boundary by design, which a clean store
// does not know; 0 means the default 0.1, so a negligible share), so the
// CRM can equal a clean sync exactly.
const soakConfig = `# Written by healthsync soak.
store: {path: %[1]q}
server: {listen: %[2]q, api_token: %[3]q}
log: {level: warn}
reporting: {currency: JPY, fx: {USD: 150.0}, timezone: Asia/Tokyo}
connectors:
  - name: salesforce
    kind: salesforce
    login_url: %[4]s
    organization_id: %[5]s
    auth: {flow: client_credentials, client_id: %[6]s, client_secret: %[7]s}
    schedule: "@every 1h"
    http: {timeout: 2s, retry_wait_min: 50ms, retry_wait_max: 500ms}
  - name: hubspot
    kind: hubspot
    base_url: %[8]s
    auth: {access_token: %[9]s}
    schedule: "@every 1h"
    rate_limit: {requests: 1000, per: 10s}
    http: {timeout: 2s, retry_wait_min: 50ms, retry_wait_max: 500ms}
  - name: stripe
    kind: stripe
    base_url: %[10]s
    auth: {api_key: %[11]s}
    webhook: {secrets: [%[12]s]}
    schedule: "@every 1h"
    http: {timeout: 2s, retry_wait_min: 50ms, retry_wait_max: 500ms}
  - name: chargebee
    kind: chargebee
    site: demo
    base_url: %[13]s
    auth: {api_key: %[14]s}
    schedule: "@every 1h"
    rate_limit: {requests: 1000, per: 10s}
    http: {timeout: 2s, retry_wait_min: 50ms, retry_wait_max: 500ms}
matching:
  rules:
    - {kind: billing_metadata, key: salesforce_account_id}
    - {kind: billing_metadata, key: hubspot_company_id}
    - {kind: crm_field, field: Stripe_Customer_Id__c, connector: salesforce}
    - {kind: email_domain}
scoring:
  touch: {hysteresis: 0.000000001}
write_back:
  max_band_change_share: 1
  min_score_change: 0
engine:
  reconcile_schedule: "@every 1h"
  write_retry: {min: 1s, max: 5s}
`

// writeSoakConfig writes a config for the given vendor base URLs.
func writeSoakConfig(path, store, listen, sf, hs, st, cb string) error {
	text := fmt.Sprintf(soakConfig, store, listen, soakAPIToken, sf, demoSFOrgID, demoSFClientID, demoSFClientSecret,
		hs, demoHSToken, st, demoStripeKey, demoStripeWHSecret, cb, demoCBKey)
	return os.WriteFile(path, []byte(text), 0o600)
}

// runSoak runs the soak described in soak.go.
func runSoak(ctx context.Context, o soakOptions) (soakResult, error) {
	start := time.Now()
	res := soakResult{Requests: map[string]int{}, Faults: map[string]int{}}
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "%s  "+format+"\n", append([]any{time.Since(start).Round(10 * time.Millisecond)}, args...)...)
	}
	stack, err := newDemoStack(o.Accounts, o.Seed, o.Dir)
	if err != nil {
		return res, err
	}
	defer stack.Close()
	vendors := []struct{ name, url string }{{"salesforce", stack.sf.URL}, {"hubspot", stack.hs.URL}, {"stripe", stack.st.URL}, {"chargebee", stack.cb.URL}}
	proxies := map[string]*faultproxy.Proxy{}
	for i, v := range vendors {
		p, err := faultproxy.New(faultproxy.Options{Target: v.url, Rules: faultRules(o.Faults), Seed: uint64(o.Seed)*10 + uint64(i), Hold: 3 * time.Second})
		if err != nil {
			return res, err
		}
		defer p.Close()
		proxies[v.name] = p
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	cfgPath, storePath := filepath.Join(o.Dir, "soak.yaml"), filepath.Join(o.Dir, "soak.db")
	if err := writeSoakConfig(cfgPath, storePath, addr, proxies["salesforce"].URL, proxies["hubspot"].URL,
		proxies["stripe"].URL, proxies["chargebee"].URL); err != nil {
		return res, err
	}
	lf, err := soakLogFile(o.Dir)
	if err != nil {
		return res, err
	}
	defer lf.Close()
	d := &soakDaemon{o: o, cfg: cfgPath, addr: addr, logf: lf}
	targets := stripeTargets(stack.st)
	if len(targets) == 0 {
		return res, fmt.Errorf("the world has no active Stripe subscription")
	}
	logf("world: %d accounts, %d active Stripe subscriptions; faults %.0f%% of vendor requests; daemon at %s, log %s",
		o.Accounts, len(targets), o.Faults*100, addr, lf.Name())

	if err := d.start(ctx); err != nil {
		return res, err
	}
	// On an early return the daemon must not outlive the run (Kill on a
	// process already waited for is a harmless ErrProcessDone).
	defer func() { d.cmd.Process.Kill() }()
	snd := &soakSender{url: "http://" + addr + "/webhooks/stripe", st: stack.st, targets: targets, acked: map[string]bool{},
		client: &http.Client{Timeout: 5 * time.Second}}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	sendDone, loadStart := make(chan struct{}), time.Now()
	go func() {
		defer close(sendDone)
		snd.run(loadCtx, o.Rate, o.Duration)
	}()

	// Kill 1: during the first start's full sync, at its first CRM write
	// (after the write, before it is recorded is the window that
	// duplicates tasks and freezes fields when handled badly).
	wrote := func() bool { return stack.sf.Count("composite") > 0 }
	waitUntil(ctx, o.Duration/3, wrote)
	if err := d.kill9(); err != nil {
		return res, err
	}
	res.Kills++
	logf("kill -9 #1 (first CRM write seen: %v), %d events acknowledged", wrote(), snd.ackedCount())
	if err := d.start(ctx); err != nil {
		return res, err
	}
	// Kill 2: halfway through the load, with events being processed.
	waitUntil(ctx, o.Duration/2-time.Since(loadStart), func() bool { return false })
	if err := d.kill9(); err != nil {
		return res, err
	}
	res.Kills++
	logf("kill -9 #2, %d events acknowledged", snd.ackedCount())
	if err := d.start(ctx); err != nil {
		return res, err
	}
	<-sendDone
	// Everything sent was acknowledged in the end (the sender resends, as
	// Stripe does), or the run failed.
	res.Events, res.Acked, res.Resent, res.Redelivered = snd.stats()
	logf("load done: %d events, %d acknowledged", res.Events, res.Acked)
	drainStart := time.Now()
	if err := waitDrained(ctx, d, 5*time.Minute); err != nil {
		return res, err
	}
	res.Drain = time.Since(drainStart)
	if err := d.stop(); err != nil {
		return res, err
	}
	logf("queue drained and runs finished, daemon stopped")

	// The daemon's scheduled pass, run once here: it writes what stayed
	// pending after faults. Faults stay on; a pass that leaves writes
	// pending is followed by another, as the schedule would.
	for res.SyncPasses < 5 {
		res.SyncPasses++
		var out bytes.Buffer
		code := run(ctx, []string{"sync", "--config", cfgPath}, &out, &out)
		fmt.Fprintf(lf, "--- sync pass %d exit %d\n%s", res.SyncPasses, code, out.String())
		if code == 0 {
			break
		}
		time.Sleep(time.Second) // the write retry back-off's minimum
	}
	for name, p := range proxies {
		s := p.Stats()
		res.Faults[name], res.Requests[name] = s.Total(), s.Forwarded+s.Injected[0]
	}
	if err := checkStore(storePath, snd.ackedIDs(), &res); err != nil {
		return res, err
	}
	if err := checkAgainstClean(ctx, o, stack, &res); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	logf("done")
	return res, nil
}

// waitUntil polls cond until it holds, ctx ends or limit passes.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDrained waits until the daemon's queue is empty and no pull or sync
// of its own is running (the pulls that --sync-now started catch up with
// the events the load made).
func waitDrained(ctx context.Context, d *soakDaemon, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		q, _, err := d.queueDepth()
		var open []string
		if err == nil && q == 0 {
			if open, err = d.running(); err == nil && len(open) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the daemon was not idle within %s (queue %d, running %v, %v)", limit, q, open, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stripeTargets lists the active Stripe subscriptions with items, in the
// order the fake created them (from its customer.subscription.created
// events).
func stripeTargets(st *stripetest.Server) []string {
	var out []string
	for _, ev := range st.Events() {
		if ev.Type != "customer.subscription.created" {
			continue
		}
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(ev.Object, &obj) != nil {
			continue
		}
		if s, ok := st.Subscription(obj.ID); ok && s.Status == "active" && len(s.Items) > 0 {
			out = append(out, obj.ID)
		}
	}
	return out
}

// soakSender makes a real change in the Stripe fake at a steady rate and
// posts its signed event to the daemon, resending what was not
// acknowledged (the daemon was down) and redelivering every tenth
// acknowledged event, as Stripe does. One goroutine runs it; mu guards the
// counters read by others.
type soakSender struct {
	url     string
	st      *stripetest.Server
	targets []string
	client  *http.Client

	mu                              sync.Mutex
	acked                           map[string]bool
	order                           []string // acknowledged IDs in order
	events, resent, redelivered, ok int
}

func (s *soakSender) post(ctx context.Context, id string) bool {
	body, found := s.st.EventJSON(id)
	if !found {
		return false
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// run sends for d, then resends what is unacknowledged for up to a minute.
func (s *soakSender) run(ctx context.Context, rate float64, d time.Duration) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var pending []string
	end := time.Now().Add(d)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sending := time.Now().Before(end)
		if !sending && (len(pending) == 0 || time.Now().After(end.Add(time.Minute))) {
			return
		}
		// Resend up to five unacknowledged events first, oldest first.
		var still []string
		for j, id := range pending {
			if j < 5 && s.post(ctx, id) {
				s.ack(id, true)
				continue
			}
			still = append(still, id)
		}
		pending = still
		if !sending {
			continue
		}
		id, err := s.change(i)
		if err != nil {
			continue
		}
		if s.post(ctx, id) {
			s.ack(id, false)
		} else {
			pending = append(pending, id)
		}
		if i%10 == 9 {
			s.mu.Lock()
			old := s.order[len(s.order)/2:]
			s.mu.Unlock()
			if len(old) > 0 && s.post(ctx, old[i%len(old)]) {
				s.mu.Lock()
				s.redelivered++
				s.mu.Unlock()
			}
		}
	}
}

// change makes change i in the Stripe fake and returns its event ID: every
// fourth change a new invoice of subscription i/4 whose payment fails
// (the payment_failed task rule creates a task while the event is
// processed, so task creation meets the faults and the kills), otherwise a
// quantity change on subscription i, up in even rounds over the
// subscriptions and down in odd ones (never below 1).
func (s *soakSender) change(i int) (string, error) {
	n := s.st.EventCount()
	var err error
	if i%4 == 3 {
		err = s.failPayment(s.targets[(i/4)%len(s.targets)])
	} else {
		sub := s.targets[i%len(s.targets)]
		err = s.st.UpdateSubscription(sub, func(x *stripetest.Subscription) {
			if i/len(s.targets)%2 == 1 && x.Items[0].Quantity > 1 {
				x.Items[0].Quantity--
			} else {
				x.Items[0].Quantity++
			}
		})
	}
	if err != nil {
		return "", err
	}
	evs := s.st.EventsFrom(n)
	if len(evs) == 0 {
		return "", fmt.Errorf("no event for change %d", i)
	}
	s.mu.Lock()
	s.events++
	s.mu.Unlock()
	return evs[len(evs)-1].ID, nil
}

// failPayment adds an open invoice for the subscription's current period
// and fails its payment (the last event is invoice.payment_failed).
func (s *soakSender) failPayment(sub string) error {
	x, ok := s.st.Subscription(sub)
	if !ok {
		return fmt.Errorf("no subscription %s", sub)
	}
	it := x.Items[0]
	in, err := s.st.AddInvoice(stripetest.Invoice{Customer: x.Customer, Subscription: sub, Status: "open", Currency: x.Currency,
		PeriodStart: x.CurrentPeriodStart, PeriodEnd: x.CurrentPeriodEnd,
		Lines: []stripetest.InvoiceLine{{Price: it.Price, Subscription: sub, SubscriptionItem: it.ID, Quantity: it.Quantity,
			Amount: 10_000 * it.Quantity, PeriodStart: x.CurrentPeriodStart, PeriodEnd: x.CurrentPeriodEnd}}})
	if err != nil {
		return err
	}
	return s.st.FailInvoicePayment(in.ID)
}

func (s *soakSender) ack(id string, resent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.acked[id] {
		s.acked[id] = true
		s.order = append(s.order, id)
		s.ok++
	}
	if resent {
		s.resent++
	}
}

func (s *soakSender) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok
}

func (s *soakSender) ackedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func (s *soakSender) stats() (events, acked, resent, redelivered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events, s.ok, s.resent, s.redelivered
}

// soakJSON is the result as indented JSON (for the test's log).
func soakJSON(r soakResult) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}
