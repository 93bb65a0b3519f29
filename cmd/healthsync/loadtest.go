package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/daemon"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// cmdLoadtest is the webhook receiver's load test over loopback: the demo
// world, the real daemon, signed Stripe events. It measures event-to-CRM
// latency on an empty queue, then sustained verified ingest with durable
// commit and the acknowledge latency, then (unless --bare=false) a bare
// net/http handler that reads the body and answers 200, with the same
// senders and payloads, and prints the verified rate as a share of it.
// With --postgres it then repeats the sustained ingest with --replicas
// daemons sharing that PostgreSQL database, the requests spread over them
// as a load balancer would, so one run gives both stores' figures.
func cmdLoadtest(e *env) error {
	o, err := parseLoadtest(e)
	if err != nil {
		return err
	}
	stack, err := newDemoStack(o.accounts, 1, "")
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
			runErr = runLoad(ctx, e, d, a, stack, o)
		}()
	}
	quiet := *e
	quiet.ctx = ctx
	if err := runDaemon(&quiet, stack.cfg, "", started); err != nil {
		return err
	}
	if runErr != nil || o.postgres == "" {
		return runErr
	}
	return loadPostgres(e, stack, o)
}

// loadOptions are loadtest's flags.
type loadOptions struct {
	duration   time.Duration
	conc       int
	accounts   int
	changes    int
	cpuprofile string
	process    bool
	bare       bool
	// postgres is the DSN of the PostgreSQL run (empty: none). It holds
	// the password: only postgres.Address of it is ever printed.
	postgres string
	schema   string
	replicas int
	source   string // stripe or segment
}

// parseLoadtest reads loadtest's flags.
func parseLoadtest(e *env) (loadOptions, error) {
	fs := newFlags(e, "loadtest", "[--duration D] [--concurrency N] [--accounts N] [--changes N] [--bare=false] [--source stripe|segment] [--postgres DSN [--replicas N] [--schema NAME]]")
	duration := fs.Duration("duration", 10*time.Second, "how long to send events")
	conc := fs.Int("concurrency", 32, "concurrent senders")
	accounts := fs.Int("accounts", 300, "accounts in the generated world")
	changes := fs.Int("changes", 20, "subscription changes timed from event to CRM field")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	process := fs.Bool("process", true, "keep processing events while ingesting (false: measure ingest alone)")
	bare := fs.Bool("bare", true, "also send the same load to a bare net/http handler (reads the body, answers 200) and print the ratio")
	pgDSN := fs.String("postgres", "", "then measure ingest with --replicas daemons sharing this PostgreSQL database (postgres://...)")
	replicas := fs.Int("replicas", 2, "daemons sharing the PostgreSQL store (with --postgres)")
	schema := fs.String("schema", "", "PostgreSQL schema for the run, left in the database (default healthsync_loadtest_UNIXTIME)")
	source := fs.String("source", "stripe", "what the bbolt ingest phase sends: stripe (signed subscription events) or segment (signed track calls, one a request)")
	if err := parseFlags(fs, e.args); err != nil {
		return loadOptions{}, err
	}
	o := loadOptions{duration: *duration, conc: *conc, accounts: *accounts, changes: *changes, cpuprofile: *cpuprofile,
		process: *process, bare: *bare, postgres: *pgDSN, schema: *schema, replicas: *replicas, source: *source}
	switch {
	case o.source != "stripe" && o.source != "segment":
		return o, usagef("--source: stripe or segment")
	case o.conc < 1:
		return o, usagef("--concurrency must be at least 1")
	case o.replicas < 1:
		return o, usagef("--replicas must be at least 1")
	case o.postgres == "" && (flagSet(fs, "replicas") || o.schema != ""):
		return o, usagef("--replicas and --schema need --postgres")
	case o.postgres != "" && !strings.HasPrefix(o.postgres, "postgres://") && !strings.HasPrefix(o.postgres, "postgresql://"):
		return o, usagef("--postgres wants a URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	if o.postgres != "" && o.schema == "" {
		o.schema = fmt.Sprintf("healthsync_loadtest_%d", time.Now().Unix())
	}
	return o, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runLoad(ctx context.Context, e *env, d *daemon.Daemon, a *app, stack *demoStack, o loadOptions) error {
	w := e.stdout
	duration, conc := o.duration, o.conc
	if _, err := a.eng.Sync(ctx, engine.SyncOptions{Full: true}); err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	client := httpclient.New(httpclient.Options{Name: "loadtest", RetryMax: -1, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}})
	post := poster(ctx, client, "http://"+d.Addr+"/webhooks/stripe")

	targets, err := loadTargets(a)
	if err != nil {
		return err
	}

	// 1. Event to CRM: a real change in Stripe, its signed event, the time
	// until the Salesforce field shows it.
	var toCRM []time.Duration
	for i := 0; i < o.changes; i++ {
		tg := targets[i%len(targets)]
		before := fmt.Sprint(stack.sf.Get("Account", tg.acct)["MRR__c"])
		n := stack.st.EventCount()
		if err := stack.st.UpdateSubscription(tg.sub, func(s *stripetest.Subscription) { s.Items[0].Quantity++ }); err != nil {
			return err
		}
		evs := stack.st.EventsFrom(n)
		if len(evs) == 0 {
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
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if !o.process {
		d.PauseWorkers(true)
		defer d.PauseWorkers(false)
	}
	events := loadEvents(targets)
	if o.source == "segment" {
		var err error
		if post, events, err = segmentLoad(ctx, client, stack, d.Addr); err != nil {
			return err
		}
	}
	commits, _ := a.st.(interface{ CommitStats() bolt.CommitStats })
	var before bolt.CommitStats
	if commits != nil {
		before = commits.CommitStats()
	}
	inbox, _ := a.st.(interface{ InboxStats() bolt.InboxStats })
	var inboxBefore bolt.InboxStats
	if inbox != nil {
		inboxBefore = inbox.InboxStats()
	}
	verified := sendLoad(ctx, post, events, conc, duration)
	if o.cpuprofile != "" {
		pprof.StopCPUProfile() // the profile covers verified ingest only
	}
	var groups string
	if commits != nil {
		after := commits.CommitStats()
		if n := after.Groups - before.Groups; n > 0 {
			busy := after.Busy - before.Busy
			groups = fmt.Sprintf("; group commits %d, %.1f calls and %s each, busy %.0f%% of the run",
				n, float64(after.Calls-before.Calls)/float64(n), (busy / time.Duration(n)).Round(10*time.Microsecond), 100*busy.Seconds()/duration.Seconds())
		}
	}
	if inbox != nil {
		after := inbox.InboxStats()
		if n := after.Groups - inboxBefore.Groups; n > 0 {
			busy := after.Busy - inboxBefore.Busy
			groups += fmt.Sprintf("; inbox log writes %d (one fdatasync each), %.1f events and %s each, busy %.0f%%; moved to bbolt in %d commits",
				n, float64(after.Events-inboxBefore.Events)/float64(n), (busy / time.Duration(n)).Round(10*time.Microsecond),
				100*busy.Seconds()/duration.Seconds(), after.Moves-inboxBefore.Moves)
		}
	}
	q, _, _ := a.st.QueueDepth()
	fmt.Fprintf(w, "%s ingest (bbolt, 1 daemon; %s): %s; queue depth after %d%s\n", o.source, o.phase("fsync on"), verified, q, groups)
	if !o.bare {
		return nil
	}

	// 3. The same senders and payloads against a bare net/http handler on
	// loopback: what this machine's HTTP stack allows, the ceiling the
	// verified rate is read against.
	bareURL, stop, err := startBare()
	if err != nil {
		return err
	}
	defer stop()
	base := sendLoad(ctx, poster(ctx, client, bareURL), events, conc, duration)
	fmt.Fprintf(w, "bare net/http handler (%d senders, %s, reads the body, answers 200): %s\n", conc, duration, base)
	fmt.Fprintf(w, "verified ingest is %.0f%% of the bare handler's rate (%.0f / %.0f events/s)\n",
		100*verified.rate()/max(base.rate(), 1e-9), verified.rate(), base.rate())
	return nil
}

// phase describes a sustained-ingest phase of o for its output line.
func (o loadOptions) phase(durability string) string {
	mode := "processing concurrently"
	if !o.process {
		mode = "processing paused"
	}
	return fmt.Sprintf("%d senders, %s, %s, %s", o.conc, o.duration, durability, mode)
}

// loadTarget is an active Stripe subscription linked to a Salesforce account.
type loadTarget struct{ sub, acct, cus string }

// loadTargets lists the active Stripe subscriptions of customers linked to
// Salesforce accounts in a's store, by subscription ID.
func loadTargets(a *app) ([]loadTarget, error) {
	links, err := a.st.Links()
	if err != nil {
		return nil, fmt.Errorf("reading links: %w", err)
	}
	acctOf := map[string]string{}
	for _, l := range links {
		if strings.HasPrefix(l.AccountKey, record.Salesforce+"/") && strings.HasPrefix(l.CustomerKey, record.Stripe+"/") {
			acctOf[strings.TrimPrefix(l.CustomerKey, "stripe/")] = strings.TrimPrefix(l.AccountKey, "salesforce/")
		}
	}
	subs, err := a.st.Subscriptions("stripe")
	if err != nil {
		return nil, fmt.Errorf("reading subscriptions: %w", err)
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

// loadEvents returns the body of sender g's i-th event: a unique
// subscription-updated event of one of targets.
func loadEvents(targets []loadTarget) func(g, i int) []byte {
	return func(g, i int) []byte {
		tg := targets[(g*7919+i)%len(targets)]
		return fmt.Appendf(nil, `{"id":"evt_load_%d_%d","object":"event","api_version":"2025-03-31.basil","created":%d,"type":"customer.subscription.updated","livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"data":{"object":{"id":%q,"object":"subscription","customer":%q}}}`,
			g, i, time.Now().Unix(), tg.sub, tg.cus)
	}
}

// poster returns a function that POSTs a signed Stripe event body with
// client to urls, round robin as a load balancer would, and returns the status and the time to the answer.
func poster(ctx context.Context, client *httpclient.Client, urls ...string) func(body []byte) (int, time.Duration, error) {
	var next atomic.Uint64
	return func(body []byte) (int, time.Duration, error) {
		url := urls[(next.Add(1)-1)%uint64(len(urls))]
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
}

// loadResult is what one load phase measured.
type loadResult struct {
	ok, failed int64
	elapsed    time.Duration
	latencies  []time.Duration // of the acknowledged requests
}

func (r loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%d events acknowledged (%d failed), %.0f events/s; acknowledge p50 %s  p99 %s  max %s",
		r.ok, r.failed, r.rate(), pct(r.latencies, 50), pct(r.latencies, 99), pct(r.latencies, 100))
}

// sendLoad runs conc senders for duration, each posting body(g, i) for
// its i-th request, one request at a time, and counts the 200 answers.
func sendLoad(ctx context.Context, post func([]byte) (int, time.Duration, error), body func(g, i int) []byte, conc int, duration time.Duration) loadResult {
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
				code, d, err := post(body(g, i))
				if err != nil || code != http.StatusOK {
					bad.Add(1)
					continue
				}
				ok.Add(1)
				lat[g] = append(lat[g], d)
			}
		}(g)
	}
	wg.Wait()
	r := loadResult{ok: ok.Load(), failed: bad.Load(), elapsed: time.Since(startAt)}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r
}

// startBare serves a bare handler on 127.0.0.1: it reads the body (up to
// the webhook receiver's size limit, as the receiver does) and answers 200
// with no verification and no storage. stop closes it.
func startBare() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening for the bare handler: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(bareHandler), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String() + "/webhooks/stripe", func() {
		_ = srv.Close()
		<-done
	}, nil
}

// bareHandler reads the request body into memory, as any handler that
// verifies it must, and answers 200.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bareMaxBody)); err != nil {
		http.Error(w, "reading body", http.StatusRequestEntityTooLarge)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// bareMaxBody bounds the bare handler's body like the receiver's default
// limit (webhook.Options.MaxBody).
const bareMaxBody = 1 << 20

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

// loadPostgres repeats the sustained ingest with o.replicas daemons sharing
// one PostgreSQL store (schema o.schema, left in the database), after a
// full sync into it, the requests spread over the daemons round robin.
// The durability printed is the server's own (fsync, synchronous_commit).
func loadPostgres(e *env, stack *demoStack, o loadOptions) error {
	durability, err := pgDurability(e.ctx, o.postgres)
	if err != nil {
		return err
	}
	cfg := *stack.cfg
	cfg.Store = config.Store{Driver: config.DriverPostgres, DSN: config.NewSecret(o.postgres), Schema: o.schema,
		MaxConns: 32, StatementTimeout: config.Duration(30 * time.Second), Lease: config.Duration(time.Minute)}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	type up struct {
		d    *daemon.Daemon
		a    *app
		done chan<- struct{}
	}
	ups := make(chan up, o.replicas)
	errs := make(chan error, o.replicas)
	quiet := *e
	quiet.ctx = ctx
	for range o.replicas {
		go func() {
			errs <- runDaemon(&quiet, &cfg, "", func(d *daemon.Daemon, a *app, done chan<- struct{}) { ups <- up{d, a, done} })
		}()
	}
	var running []up
	stopped := 0 // daemons whose runDaemon returned
	for len(running) < o.replicas && err == nil {
		select {
		case u := <-ups:
			running = append(running, u)
		case err = <-errs:
			stopped++
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
		for range o.replicas - stopped {
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
		if !o.process {
			u.d.PauseWorkers(true)
		}
	}
	client := httpclient.New(httpclient.Options{Name: "loadtest", RetryMax: -1, Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.conc * 2}})
	r := sendLoad(ctx, poster(ctx, client, urls...), loadEvents(targets), o.conc, o.duration)
	q, _, _ := a.st.QueueDepth()
	fmt.Fprintf(e.stdout, "ingest (postgres at %s, %d daemons; %s): %s; queue depth after %d\n",
		postgres.Address(o.postgres), o.replicas, o.phase(durability), r, q)
	fmt.Fprintf(e.stdout, "postgres schema %s left in the database (DROP SCHEMA %s CASCADE removes it)\n", o.schema, o.schema)
	return nil
}

// pgDurability reads the server's fsync and synchronous_commit settings,
// so the figures say what a commit waited for.
func pgDurability(ctx context.Context, dsn string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		// pgx's connect errors name user, host and database, never the password.
		return "", fmt.Errorf("connecting to postgres at %s: %w", postgres.Address(dsn), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var fsync, syncCommit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit); err != nil {
		return "", fmt.Errorf("reading postgres settings: %w", err)
	}
	return fmt.Sprintf("fsync %s, synchronous_commit %s", fsync, syncCommit), nil
}

// segmentLoad switches the ingest phase to Segment: it links one group per
// Salesforce account with a website (a signed group call each, by domain)
// and returns a poster for /webhooks/segment and the body of call i of
// sender g: one Logged In track call of a distinct user in one of those
// groups, so every request is stored (logins and the active_users set) and
// queues a re-score.
func segmentLoad(ctx context.Context, client *httpclient.Client, stack *demoStack, addr string) (func([]byte) (int, time.Duration, error), func(g, i int) []byte, error) {
	url := "http://" + addr + "/webhooks/segment"
	post := func(body []byte) (int, time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature", segmentSignature(demoSegmentSecret, body))
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0), nil
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
			return nil, nil, fmt.Errorf("linking segment group %s: %d %v", g, code, err)
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil, nil, fmt.Errorf("no Salesforce account with a website to link Segment groups to")
	}
	return post, func(g, i int) []byte {
		return fmt.Appendf(nil, `{"type":"track","messageId":"lt-%d-%d","userId":"lt-user-%d-%d","event":"Logged In","properties":{},"context":{"groupId":%q},"timestamp":%q}`,
			g, i, g, i, groups[(g*7919+i)%len(groups)], time.Now().UTC().Format(time.RFC3339Nano))
	}, nil
}
