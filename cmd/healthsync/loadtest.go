package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/daemon"
	"github.com/healthsync/healthsync/sync/engine"
)

// cmdLoadtest is the webhook receiver's load test over loopback: the demo
// world, the real daemon, signed Stripe events. It measures event-to-CRM
// latency on an empty queue, then sustained verified ingest with durable
// commit and the acknowledge latency.
func cmdLoadtest(e *env) error {
	fs := newFlags(e, "loadtest", "[--duration D] [--concurrency N] [--accounts N] [--changes N] [--source stripe|segment]")
	duration := fs.Duration("duration", 10*time.Second, "how long to send events")
	conc := fs.Int("concurrency", 32, "concurrent senders")
	accounts := fs.Int("accounts", 300, "accounts in the generated world")
	changes := fs.Int("changes", 20, "subscription changes timed from event to CRM field")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	process := fs.Bool("process", true, "keep processing events while ingesting (false: measure ingest alone)")
	source := fs.String("source", "stripe", "what the ingest phase sends: stripe (signed subscription events) or segment (signed track calls, one a request)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *source != "stripe" && *source != "segment" {
		return usagef("--source: stripe or segment")
	}
	stack, err := newDemoStack(*accounts, 1, "")
	if err != nil {
		return err
	}
	defer stack.Close()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var runErr error
	started := func(d *daemon.Daemon, a *app, done chan<- struct{}) {
		go func() {
			defer close(done)
			defer cancel()
			runErr = runLoad(ctx, e, d, a, stack, *duration, *conc, *changes, *cpuprofile, *process, *source)
		}()
	}
	quiet := *e
	quiet.ctx = ctx
	if err := runDaemon(&quiet, stack.cfg, "", started); err != nil {
		return err
	}
	return runErr
}

func runLoad(ctx context.Context, e *env, d *daemon.Daemon, a *app, stack *demoStack, duration time.Duration, conc, changes int, cpuprofile string, process bool, source string) error {
	w := e.stdout
	if _, err := a.eng.Sync(ctx, engine.SyncOptions{Full: true}); err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	url := "http://" + d.Addr + "/webhooks/stripe"
	client := httpclient.New(httpclient.Options{Name: "loadtest", RetryMax: -1, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}})
	sign := func(r *http.Request, body []byte) {
		r.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
	}
	post := func(body []byte) (int, time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sign(req, body)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0), nil
	}

	// Subscriptions of customers linked to Salesforce accounts.
	links, err := a.st.Links()
	if err != nil {
		return err
	}
	acctOf := map[string]string{}
	for _, l := range links {
		if strings.HasPrefix(l.AccountKey, record.Salesforce+"/") && strings.HasPrefix(l.CustomerKey, record.Stripe+"/") {
			acctOf[strings.TrimPrefix(l.CustomerKey, "stripe/")] = strings.TrimPrefix(l.AccountKey, "salesforce/")
		}
	}
	subs, err := a.st.Subscriptions("stripe")
	if err != nil {
		return err
	}
	type target struct{ sub, acct, cus string }
	var targets []target
	for _, s := range subs {
		if s.Status == record.StatusActive && acctOf[s.CustomerID] != "" && len(s.Items) > 0 {
			targets = append(targets, target{s.ID, acctOf[s.CustomerID], s.CustomerID})
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].sub < targets[j].sub })
	if len(targets) == 0 {
		return fmt.Errorf("no active Stripe subscription linked to a Salesforce account")
	}

	// 1. Event to CRM: a real change in Stripe, its signed event, the time
	// until the Salesforce field shows it.
	var toCRM []time.Duration
	for i := 0; i < changes; i++ {
		tg := targets[i%len(targets)]
		before := fmt.Sprint(stack.sf.Get("Account", tg.acct)["MRR__c"])
		n := len(stack.st.Events())
		if err := stack.st.UpdateSubscription(tg.sub, func(s *stripetest.Subscription) { s.Items[0].Quantity++ }); err != nil {
			return err
		}
		evs := stack.st.Events()
		if len(evs) <= n {
			return fmt.Errorf("no event for %s", tg.sub)
		}
		body, _ := stack.st.EventJSON(evs[len(evs)-1].ID)
		t0 := time.Now()
		if code, _, err := post(body); err != nil || code != 200 {
			return fmt.Errorf("posting change event: %d %v", code, err)
		}
		for {
			if fmt.Sprint(stack.sf.Get("Account", tg.acct)["MRR__c"]) != before {
				toCRM = append(toCRM, time.Since(t0))
				break
			}
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("change to %s not in the CRM after 30s", tg.sub)
			}
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Fprintf(w, "event to CRM field (%d subscription changes, fakes at zero latency): p50 %s  p95 %s  max %s\n",
		len(toCRM), pct(toCRM, 50), pct(toCRM, 95), pct(toCRM, 100))

	// 2. Sustained ingest: unique, verified events, committed before the 2xx.
	event := func(g, i int) []byte {
		tg := targets[(g*7919+i)%len(targets)]
		return fmt.Appendf(nil, `{"id":"evt_load_%d_%d","object":"event","api_version":"2025-03-31.basil","created":%d,"type":"customer.subscription.updated","livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"data":{"object":{"id":%q,"object":"subscription","customer":%q}}}`,
			g, i, time.Now().Unix(), tg.sub, tg.cus)
	}
	if source == "segment" {
		if event, err = segmentLoad(stack, d.Addr, post, &url, &sign); err != nil {
			return err
		}
	}
	var sent, ok, bad atomic.Int64
	lat := make([][]time.Duration, conc)
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if !process {
		d.PauseWorkers(true)
		defer d.PauseWorkers(false)
	}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	startAt := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				code, d, err := post(event(g, i))
				sent.Add(1)
				if err != nil || code != 200 {
					bad.Add(1)
					continue
				}
				ok.Add(1)
				lat[g] = append(lat[g], d)
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(startAt)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	q, _, _ := a.st.QueueDepth()
	mode := "processing concurrently"
	if !process {
		mode = "processing paused"
	}
	fmt.Fprintf(w, "%s ingest (%d senders, %s, fsync on, %s): %d events acknowledged (%d failed), %.0f events/s; acknowledge p50 %s  p99 %s  max %s; queue depth after %d\n",
		source, conc, duration, mode, ok.Load(), bad.Load(), float64(ok.Load())/elapsed.Seconds(), pct(all, 50), pct(all, 99), pct(all, 100), q)
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond)
}

// segmentLoad switches the ingest phase to Segment: it links one group per
// Salesforce account with a website (a signed group call each, by
// domain), points url and sign at /webhooks/segment, and returns the
// body of call i of sender g: one Logged In track call of a distinct user
// in one of those groups, so every request is stored (logins and the
// active_users set) and queues a re-score.
func segmentLoad(stack *demoStack, addr string, post func([]byte) (int, time.Duration, error), url *string,
	sign *func(*http.Request, []byte)) (func(g, i int) []byte, error) {
	*url = "http://" + addr + "/webhooks/segment"
	*sign = func(r *http.Request, body []byte) {
		r.Header.Set("X-Signature", segmentSignature(demoSegmentSecret, body))
	}
	var groups []string
	for _, acct := range stack.sf.All("Account") {
		site, _ := acct["Website"].(string)
		if site == "" {
			continue
		}
		g := fmt.Sprintf("lt-%d", len(groups))
		body := fmt.Appendf(nil, `{"type":"group","messageId":"lt-group-%s","userId":"lt-admin","groupId":%q,"traits":{"website":%q},"timestamp":%q}`,
			g, g, site, time.Now().UTC().Format(time.RFC3339))
		if code, _, err := post(body); err != nil || code != 200 {
			return nil, fmt.Errorf("linking segment group %s: %d %v", g, code, err)
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no Salesforce account with a website to link Segment groups to")
	}
	return func(g, i int) []byte {
		return fmt.Appendf(nil, `{"type":"track","messageId":"lt-%d-%d","userId":"lt-user-%d-%d","event":"Logged In","properties":{},"context":{"groupId":%q},"timestamp":%q}`,
			g, i, g, i, groups[(g*7919+i)%len(groups)], time.Now().UTC().Format(time.RFC3339Nano))
	}, nil
}
