package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/internal/demoworld"
	"github.com/healthsync/healthsync/sync/engine"
)

// The scale curve (issue 14): at several world sizes (Salesforce accounts
// billed in Stripe, two subscriptions each), a full sync; then, once the
// Salesforce pull's settle window has passed (as with any schedule of two
// minutes or more), the echo sync that pulls back the accounts the full
// sync wrote (their SystemModstamp moved; it finds only healthsync's own
// values and re-scores none); then an idle sync, nothing having changed. The fakes run in a child process (`healthsync
// fakes`) and each sync in its own child (`healthsync sync`) against the
// same store, so each phase's peak RSS is healthsync's alone: the kernel's
// maximum resident set of that child, read after it exits.

// fakesURLs is the line `healthsync fakes` prints once its fakes serve.
type fakesURLs struct {
	Salesforce    string `json:"salesforce"`
	Stripe        string `json:"stripe"`
	Accounts      int    `json:"accounts"`
	Subscriptions int    `json:"subscriptions"` // subscriptions in the world, ended ones included
}

func cmdFakes(e *env) error {
	fs := newFlags(e, "fakes", "[--accounts N] [--seed S] [--subs N]")
	accounts := fs.Int("accounts", 1000, "Salesforce accounts in the generated world")
	seed := fs.Int64("seed", 1, "seed of the deterministic world generator")
	subs := fs.Int("subs", 2, "running Stripe subscriptions per account")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *accounts < 10 || *subs < 1 {
		return usagef("--accounts: at least 10; --subs: at least 1")
	}
	sf, st, urls, err := startScaleFakes(*accounts, *seed, *subs)
	if err != nil {
		return err
	}
	// The plan the fakes were seeded from is garbage now: give its memory
	// back before serving, and collect when the heap has grown by half
	// (not doubled) while serving: every page rendered is garbage, and
	// at 100,000 accounts the default let the fakes' resident set grow a
	// GiB past the seeding peak during one full sync, on a machine the
	// sync child shares.
	runtime.GC()
	debug.FreeOSMemory()
	debug.SetGCPercent(50)
	defer sf.Close()
	defer st.Close()
	b, _ := json.Marshal(urls)
	fmt.Fprintf(e.stdout, "%s\n", b)
	// Serve until stdin ends (the parent closed it or exited) or a signal
	// cancels the context.
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(gone)
	}()
	select {
	case <-gone:
	case <-e.ctx.Done():
	}
	return nil
}

// startScaleFakes serves the scale world's Salesforce and Stripe fakes on
// 127.0.0.1 with the demo's credentials.
func startScaleFakes(accounts int, seed int64, subs int) (*salesforcetest.Server, *stripetest.Server, fakesURLs, error) {
	// Seeding 100,000 accounts holds the plan and the fakes' objects at
	// once (about 3 GiB live); collecting when the heap has grown by a
	// quarter instead of doubled keeps the peak resident set well below
	// twice that, for some more GC time.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	now := time.Now().UTC().Truncate(24 * time.Hour)
	// The fakes serve no usage signals: the world leaves them out.
	w := demoworld.Generate(demoworld.Options{Accounts: accounts, Seed: seed, Now: now, SalesforceOnly: true, SubsPerAccount: subs,
		NoSignals: true})
	sf := salesforcetest.NewServer(salesforcetest.Options{ClientID: demoSFClientID, ClientSecret: demoSFClientSecret, OrgID: demoSFOrgID})
	st := stripetest.NewServer(stripetest.Options{APIKey: demoStripeKey, ForgetExpiredEvents: true})
	err := w.LoadSalesforce(sf)
	if err == nil {
		err = w.LoadStripe(st)
	}
	if err != nil {
		sf.Close()
		st.Close()
		return nil, nil, fakesURLs{}, fmt.Errorf("seeding the fakes: %w", err)
	}
	return sf, st, fakesURLs{Salesforce: sf.URL, Stripe: st.URL, Accounts: accounts, Subscriptions: w.Summary().Subscriptions}, nil
}

// scaleConfig is the scale curve's config: the demo's Salesforce and
// Stripe connectors, every score change written.
const scaleConfig = `# Written by healthsync scalecurve.
store: {path: %[1]q}
log: {level: warn}
reporting: {currency: JPY, fx: {USD: 150.0}, timezone: Asia/Tokyo}
connectors:
  - name: salesforce
    kind: salesforce
    login_url: %[2]s
    organization_id: %[3]s
    auth: {flow: client_credentials, client_id: %[4]s, client_secret: %[5]s}
    schedule: "@every 1h"
  - name: stripe
    kind: stripe
    base_url: %[6]s
    auth: {api_key: %[7]s}
    schedule: "@every 1h"
matching:
  rules:
    - {kind: billing_metadata, key: salesforce_account_id}
    - {kind: crm_field, field: Stripe_Customer_Id__c, connector: salesforce}
    - {kind: email_domain}
write_back:
  max_band_change_share: 1
`

// scalePhase is one sync child's figures.
type scalePhase struct {
	Accounts int           `json:"accounts"`
	Phase    string        `json:"phase"` // "full", "echo" or "idle"
	Took     time.Duration `json:"took_ns"`
	// Calls are the API calls per connector (its pull) and "write" (the
	// CRM write-back).
	Calls  map[string]int64 `json:"calls"`
	PeakKB int64            `json:"peak_rss_kib"`
	Err    string           `json:"error,omitempty"`
}

// scaleOptions configure a scale curve run.
type scaleOptions struct {
	Accounts []int
	Seed     int64
	Dir      string
	Bin      string        // the healthsync binary run as fakes and sync children
	Limit    time.Duration // per child sync; a phase over it is stopped and reported
	// MaxRSS (bytes) stops a sync child whose resident set grows past it,
	// so a size too large for the machine ends with the figure it reached
	// instead of exhausting memory shared with others; 0: no limit.
	MaxRSS int64
	Log    io.Writer
	// MemLimit is GOMEMLIMIT for the sync children ("": inherited).
	MemLimit string
	// Settle is how long after the full sync ends the echo sync starts:
	// the Salesforce pull re-reads what changed in the last two minutes
	// (connectors/salesforce settleWindow), so an echo sooner than that
	// and the idle sync after it would both re-read every account written.
	Settle time.Duration
}

func cmdScalecurve(e *env) error {
	fs := newFlags(e, "scalecurve", "[--accounts N,N,...] [--seed S] [--dir DIR] [--limit D] [--gomemlimit L] [--settle D] [--json]")
	list := fs.String("accounts", "1000,10000,100000", "world sizes, comma-separated")
	o := scaleOptions{Log: e.stderr}
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the deterministic world generator")
	fs.StringVar(&o.Dir, "dir", "", "folder for configs and stores (default: a new temporary folder)")
	fs.DurationVar(&o.Limit, "limit", 30*time.Minute, "longest a sync child may run")
	maxRSS := fs.Int64("max-rss-mib", 4096, "stop a sync child whose resident set passes this many MiB (0: no limit)")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	fs.StringVar(&o.MemLimit, "gomemlimit", "", "run the sync children with this GOMEMLIMIT (the Go runtime's soft memory limit, e.g. 1536MiB); for the sync children only; default: the environment's")
	fs.DurationVar(&o.Settle, "settle", 2*time.Minute+5*time.Second, "wait this long after the full sync before the echo sync (the Salesforce pull's two-minute settle window)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	for _, f := range strings.Split(*list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			return usagef("--accounts: comma-separated counts of at least 10, got %q", f)
		}
		o.Accounts = append(o.Accounts, n)
	}
	o.MaxRSS = *maxRSS << 20
	bin, err := childSetup(&o.Dir, "healthsync-scale-")
	if err != nil {
		return err
	}
	o.Bin = bin
	phases, err := runScaleCurve(e.ctx, o)
	if *asJSON {
		printJSON(e.stdout, phases)
	} else {
		printScaleCurve(e.stdout, phases)
	}
	return err
}

// childSetup prepares a command that runs healthsync children: *dir
// becomes a new temporary folder named after prefix when empty, and bin
// is this binary.
func childSetup(dir *string, prefix string) (bin string, err error) {
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", prefix); err != nil {
			return "", err
		}
	}
	if bin, err = os.Executable(); err != nil {
		return "", fmt.Errorf("finding the healthsync binary: %w", err)
	}
	return bin, nil
}

// runScaleCurve measures each size in turn; it stops at the first phase
// that fails and returns the figures so far.
func runScaleCurve(ctx context.Context, o scaleOptions) ([]scalePhase, error) {
	var out []scalePhase
	for _, n := range o.Accounts {
		ph, err := scaleOne(ctx, o, n)
		out = append(out, ph...)
		if err != nil {
			return out, fmt.Errorf("%d accounts: %w", n, err)
		}
	}
	return out, nil
}

// scaleOne starts the fakes for n accounts and runs the full, the echo
// (o.Settle after the full one ends) and the idle sync against one new
// store.
func scaleOne(ctx context.Context, o scaleOptions, n int) ([]scalePhase, error) {
	dir := filepath.Join(o.Dir, strconv.Itoa(n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "scalecurve: %d accounts: starting the fakes\n", n)
	fakes := exec.CommandContext(ctx, o.Bin, "fakes", "--accounts", strconv.Itoa(n), "--seed", strconv.FormatInt(o.Seed, 10))
	fakes.Env = append(os.Environ(), SoakChildEnv+"=1")
	fakes.Stderr = o.Log
	stdin, err := fakes.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := fakes.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := fakes.Start(); err != nil {
		return nil, fmt.Errorf("starting the fakes: %w", err)
	}
	defer func() {
		stdin.Close() // the fakes stop when their stdin ends
		fakes.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the fakes' URLs: %w", err)
	}
	var urls fakesURLs
	if err := json.Unmarshal(line, &urls); err != nil {
		return nil, fmt.Errorf("reading the fakes' URLs: %w", err)
	}
	cfg := filepath.Join(dir, "healthsync.yaml")
	text := fmt.Sprintf(scaleConfig, filepath.Join(dir, "healthsync.db"), urls.Salesforce, demoSFOrgID, demoSFClientID, demoSFClientSecret,
		urls.Stripe, demoStripeKey)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return nil, err
	}
	var out []scalePhase
	for _, phase := range []string{"full", "echo", "idle"} {
		if phase == "echo" && o.Settle > 0 {
			fmt.Fprintf(o.Log, "scalecurve: %d accounts: waiting %s (the settle window)\n", n, o.Settle)
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(o.Settle):
			}
		}
		fmt.Fprintf(o.Log, "scalecurve: %d accounts (%d Stripe subscriptions): %s sync\n", n, urls.Subscriptions, phase)
		ph, err := scaleSync(ctx, o, cfg, filepath.Join(dir, phase+".log"))
		ph.Accounts, ph.Phase = n, phase
		out = append(out, ph)
		if err != nil {
			return out, fmt.Errorf("%s sync: %w", phase, err)
		}
	}
	return out, nil
}

// scaleSync runs one `healthsync sync --json` child and reads its report
// and peak RSS; its stderr goes to logPath.
func scaleSync(ctx context.Context, o scaleOptions, cfg, logPath string) (scalePhase, error) {
	ph := scalePhase{Calls: map[string]int64{}}
	lf, err := os.Create(logPath)
	if err != nil {
		return ph, err
	}
	defer lf.Close()
	cctx, cancel := context.WithTimeout(ctx, o.Limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.Bin, "sync", "--config", cfg, "--json")
	cmd.Env = append(os.Environ(), SoakChildEnv+"=1")
	if o.MemLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+o.MemLimit)
	}
	cmd.Stderr = lf
	var stdout strings.Builder
	cmd.Stdout = &stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ph, fmt.Errorf("starting the sync: %w", err)
	}
	over := make(chan int64, 1)
	stopWatch := make(chan struct{})
	go watchRSS(cmd.Process, o.MaxRSS, over, stopWatch)
	runErr := cmd.Wait()
	close(stopWatch)
	ph.Took = time.Since(start)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ph.PeakKB = ru.Maxrss // KiB on Linux
		}
	}
	var rep engine.SyncReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err == nil {
		for _, p := range rep.Pulls {
			ph.Calls[p.Connector] = p.API.Calls
		}
		if rep.Write != nil {
			ph.Calls["write"] = int64(rep.Write.Calls)
		}
	}
	select {
	case rss := <-over:
		ph.Err = fmt.Sprintf("stopped at %d MiB resident, over the %d MiB limit", rss>>20, o.MaxRSS>>20)
		return ph, errors.New(ph.Err)
	default:
	}
	switch {
	case cctx.Err() != nil && ctx.Err() == nil:
		ph.Err = fmt.Sprintf("stopped after %s", o.Limit)
	case runErr != nil:
		ph.Err = fmt.Sprintf("%v (log %s)", runErr, logPath)
	}
	if ph.Err != "" {
		return ph, errors.New(ph.Err)
	}
	return ph, nil
}

// watchRSS kills p, and sends its resident set size on over, when it
// passes limit bytes (read from /proc every 50ms) until stop closes.
func watchRSS(p *os.Process, limit int64, over chan<- int64, stop <-chan struct{}) {
	if limit <= 0 {
		return
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if rss := residentBytes(p.Pid); rss > limit {
			p.Kill()
			over <- rss
			return
		}
	}
}

// residentBytes is a process's VmRSS from /proc/PID/status (0 when it
// cannot be read).
func residentBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// printScaleCurve prints the figures as a table, in the README's form.
func printScaleCurve(w io.Writer, phases []scalePhase) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "accounts\tsync\ttime\tSalesforce calls\tStripe calls\twrite calls\tpeak RSS\t")
	for _, p := range phases {
		took := p.Took.Round(100 * time.Millisecond).String()
		if p.Err != "" {
			took += " (" + p.Err + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d MiB\t\n", p.Accounts, p.Phase, took, p.Calls["salesforce"], p.Calls["stripe"],
			p.Calls["write"], (p.PeakKB+512)/1024)
	}
	tw.Flush()
}
