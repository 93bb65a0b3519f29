package main

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/daemon"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// cmdLoadtest is the webhook receiver's load test over loopback: the demo
// world, the real daemon, signed Stripe events. It measures event-to-CRM
// latency on an empty queue, then sustained verified ingest with durable
// commit and the acknowledge latency.
func cmdLoadtest(e *env) error {
	fs := newFlags(e, "loadtest", "[--duration D] [--concurrency N] [--accounts N] [--changes N]")
	duration := fs.Duration("duration", 10*time.Second, "how long to send events")
	conc := fs.Int("concurrency", 32, "concurrent senders")
	accounts := fs.Int("accounts", 300, "accounts in the generated world")
	changes := fs.Int("changes", 20, "subscription changes timed from event to CRM field")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	process := fs.Bool("process", true, "keep processing events while ingesting (false: measure ingest alone)")
	pgDSN := fs.String("postgres", "", "also measure ingest with --replicas daemons sharing this PostgreSQL database, after the bbolt run (a new schema is created in it)")
	replicas := fs.Int("replicas", 2, "daemons sharing the PostgreSQL store (with --postgres)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *replicas < 1 {
		return usagef("--replicas must be at least 1")
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
			runErr = runLoad(ctx, e, d, a, stack, *duration, *conc, *changes, *cpuprofile, *process)
		}()
	}
	quiet := *e
	quiet.ctx = ctx
	if err := runDaemon(&quiet, stack.cfg, "", started); err != nil {
		return err
	}
	if runErr != nil || *pgDSN == "" {
		return runErr
	}
	return loadPostgres(e, stack, *pgDSN, *replicas, *duration, *conc, *process)
}

func runLoad(ctx context.Context, e *env, d *daemon.Daemon, a *app, stack *demoStack, duration time.Duration, conc, changes int, cpuprofile string, process bool) error {
	w := e.stdout
	if _, err := a.eng.Sync(ctx, engine.SyncOptions{Full: true}); err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	url := "http://" + d.Addr + "/webhooks/stripe"
	client := httpclient.New(httpclient.Options{Name: "loadtest", RetryMax: -1, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}})
	post := func(body []byte) (int, time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0), nil
	}

	targets, err := loadTargets(a)
	if err != nil {
		return err
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
	r := ingest(ctx, []string{url}, targets, conc, duration)
	q, _, _ := a.st.QueueDepth()
	r.print(w, "bbolt, 1 daemon", process, q)
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

// loadTarget is an active Stripe subscription linked to a Salesforce account.
type loadTarget struct{ sub, acct, cus string }

// loadTargets lists the active Stripe subscriptions of customers linked to
// Salesforce accounts, by subscription ID.
func loadTargets(a *app) ([]loadTarget, error) {
	links, err := a.st.Links()
	if err != nil {
		return nil, err
	}
	acctOf := map[string]string{}
	for _, l := range links {
		if strings.HasPrefix(l.AccountKey, record.Salesforce+"/") && strings.HasPrefix(l.CustomerKey, record.Stripe+"/") {
			acctOf[strings.TrimPrefix(l.CustomerKey, "stripe/")] = strings.TrimPrefix(l.AccountKey, "salesforce/")
		}
	}
	subs, err := a.st.Subscriptions("stripe")
	if err != nil {
		return nil, err
	}
	var targets []loadTarget
	for _, s := range subs {
		if s.Status == record.StatusActive && acctOf[s.CustomerID] != "" && len(s.Items) > 0 {
			targets = append(targets, loadTarget{s.ID, acctOf[s.CustomerID], s.CustomerID})
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].sub < targets[j].sub })
	if len(targets) == 0 {
		return nil, fmt.Errorf("no active Stripe subscription linked to a Salesforce account")
	}
	return targets, nil
}

// ingestResult is one sustained-ingest measurement.
type ingestResult struct {
	conc     int
	duration time.Duration
	ok, bad  int64
	elapsed  time.Duration
	lat      []time.Duration
	daemons  int
}

func (r ingestResult) print(w io.Writer, store string, process bool, queued int) {
	mode := "processing concurrently"
	if !process {
		mode = "processing paused"
	}
	fmt.Fprintf(w, "ingest (%s; %d senders, %s, fsync on, %s): %d events acknowledged (%d failed), %.0f events/s; acknowledge p50 %s  p99 %s  max %s; queue depth after %d\n",
		store, r.conc, r.duration, mode, r.ok, r.bad, float64(r.ok)/r.elapsed.Seconds(), pct(r.lat, 50), pct(r.lat, 99), pct(r.lat, 100), queued)
}

// ingest posts unique, verified events from conc senders for duration,
// spread over the webhook URLs round robin (a load balancer), and measures
// the acknowledge latency.
func ingest(ctx context.Context, urls []string, targets []loadTarget, conc int, duration time.Duration) ingestResult {
	client := httpclient.New(httpclient.Options{Name: "loadtest", RetryMax: -1, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}})
	var ok, bad atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	startAt := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				tg := targets[(g*7919+i)%len(targets)]
				body := fmt.Appendf(nil, `{"id":"evt_load_%d_%d","object":"event","api_version":"2025-03-31.basil","created":%d,"type":"customer.subscription.updated","livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"data":{"object":{"id":%q,"object":"subscription","customer":%q}}}`,
					g, i, time.Now().Unix(), tg.sub, tg.cus)
				req, _ := http.NewRequestWithContext(ctx, "POST", urls[(g+i)%len(urls)], bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
					continue
				}
				ok.Add(1)
				lat[g] = append(lat[g], time.Since(t0))
			}
		}(g)
	}
	wg.Wait()
	r := ingestResult{conc: conc, duration: duration, ok: ok.Load(), bad: bad.Load(), elapsed: time.Since(startAt), daemons: len(urls)}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	return r
}

// loadPostgres repeats the sustained ingest with replicas daemons sharing
// one PostgreSQL store (a new schema named after the time), after a full
// sync into it, the requests spread over the daemons as a load balancer
// would.
func loadPostgres(e *env, stack *demoStack, dsn string, replicas int, duration time.Duration, conc int, process bool) error {
	cfg := *stack.cfg
	cfg.Store = config.Store{Driver: config.DriverPostgres, DSN: config.NewSecret(dsn),
		Schema: fmt.Sprintf("healthsync_loadtest_%d", time.Now().Unix()), MaxConns: 32,
		StatementTimeout: config.Duration(30 * time.Second), Lease: config.Duration(time.Minute)}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	type up struct {
		d    *daemon.Daemon
		a    *app
		done chan<- struct{}
	}
	ups := make(chan up, replicas)
	errs := make(chan error, replicas)
	quiet := *e
	quiet.ctx = ctx
	for range replicas {
		go func() {
			errs <- runDaemon(&quiet, &cfg, "", func(d *daemon.Daemon, a *app, done chan<- struct{}) { ups <- up{d, a, done} })
		}()
	}
	var running []up
	var err error
	for len(running) < replicas && err == nil {
		select {
		case u := <-ups:
			running = append(running, u)
		case err = <-errs:
			if err == nil {
				err = errors.New("a daemon stopped before serving")
			}
		}
	}
	defer func() {
		cancel()
		for _, u := range running {
			close(u.done)
		}
		for range replicas {
			<-errs
		}
	}()
	if err != nil {
		return fmt.Errorf("starting the postgres daemons: %w", err)
	}
	a := running[0].a
	if _, err := a.eng.Sync(ctx, engine.SyncOptions{Full: true}); err != nil {
		return fmt.Errorf("initial sync into postgres: %w", err)
	}
	targets, err := loadTargets(a)
	if err != nil {
		return err
	}
	var urls []string
	for _, u := range running {
		urls = append(urls, "http://"+u.d.Addr+"/webhooks/stripe")
		if !process {
			u.d.PauseWorkers(true)
		}
	}
	r := ingest(ctx, urls, targets, conc, duration)
	q, _, _ := a.st.QueueDepth()
	r.print(e.stdout, fmt.Sprintf("postgres at %s, %d daemons", postgres.Address(dsn), replicas), process, q)
	fmt.Fprintf(e.stdout, "postgres schema %s left in the database (DROP SCHEMA %s CASCADE removes it)\n", cfg.Store.Schema, cfg.Store.Schema)
	return nil
}
