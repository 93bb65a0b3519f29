package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/healthsync/healthsync/internal/faultproxy"
	"github.com/healthsync/healthsync/sync/store"
)

// The soak test (issue 13, "Keep"): the daemon as a child process
// (`healthsync run`) under a steady load of signed Stripe webhooks, with
// faultproxy failing 10-20% of its vendor requests (reset before
// forwarding, answer dropped after the fake did the work, answer held past
// the client's timeout) and two kill -9/restart cycles on the same store.
// It ends when every event was acknowledged and processed and one `sync`
// pass (what the daemon's schedule runs) has run, then checks:
//   - the CRM fields equal those a clean full sync of the same world writes
//     into a second pair of fake CRMs (soak_check.go);
//   - no two CRM tasks carry the same [healthsync:KEY] marker;
//   - every acknowledged event ID is known to the store (none lost), the
//     queue is empty and no event is dead-lettered.
//
// The outcome is deterministic (the world, the fault draws per request
// order and the kill moments are chosen); timing is not.

// soakOptions configure one soak run.
type soakOptions struct {
	Duration time.Duration // how long webhooks are sent
	Rate     float64       // webhooks per second
	Accounts int
	Seed     int64
	Faults   float64 // share of vendor requests failed, 0.1-0.2
	Dir      string  // config, stores and the daemon's log
	// Bin is the healthsync binary run as the daemon; with
	// SoakChildEnv=1 in its environment (the test binary runs main then).
	Bin string
	Log io.Writer // progress lines
}

// SoakChildEnv is set in the daemon's environment; the test binary's
// TestMain runs main() when it sees it.
const SoakChildEnv = "HEALTHSYNC_SOAK_CHILD"

// soakResult holds a run's figures.
type soakResult struct {
	Events      int            `json:"events"`      // distinct Stripe changes posted
	Acked       int            `json:"acked"`       // of those, acknowledged (2xx)
	Resent      int            `json:"resent"`      // posts repeated after a failure (daemon down)
	Redelivered int            `json:"redelivered"` // acknowledged events sent again, as vendors do
	Requests    map[string]int `json:"requests"`    // vendor requests through each proxy
	Faults      map[string]int `json:"faults"`      // faults injected per vendor
	Kills       int            `json:"kills"`
	SyncPasses  int            `json:"sync_passes"` // final sync passes until one succeeded
	Lost        int            `json:"lost"`        // acknowledged events the store does not know
	Queued      int            `json:"queued"`      // events left in the queue
	DeadLetters []string       `json:"dead_letters"`
	Tasks       int            `json:"tasks"`      // healthsync tasks in the soak CRMs
	Duplicates  int            `json:"duplicates"` // tasks beyond the first per marker
	// DuplicateKeys names each marker found more than once, with its count.
	DuplicateKeys []string      `json:"duplicate_keys"`
	Compared      int           `json:"compared"` // CRM accounts compared with the clean sync
	Mismatches    []string      `json:"mismatches"`
	Drain         time.Duration `json:"drain_ns"` // from the load's end until the daemon was idle
	Took          time.Duration `json:"took_ns"`
}

// ok reports whether the run met every condition.
func (r soakResult) ok() bool {
	return r.Kills == 2 && r.Acked == r.Events && r.Lost == 0 && r.Queued == 0 && len(r.DeadLetters) == 0 &&
		r.Duplicates == 0 && len(r.Mismatches) == 0 && r.Compared > 0
}

func (r soakResult) summary() string {
	var faults, reqs int
	for v, n := range r.Faults {
		faults += n
		reqs += r.Requests[v]
	}
	share := 0.0
	if reqs > 0 {
		share = float64(faults) / float64(reqs)
	}
	return fmt.Sprintf("events %d (acknowledged %d, resent after a failure %d, redelivered %d), vendor requests %d, faults %d (%.1f%%: %v), "+
		"kills %d, idle %s after the load, final sync passes %d, lost %d, queued %d, dead letters %d, tasks %d, duplicate tasks %d, accounts compared %d, mismatches %d, took %s",
		r.Events, r.Acked, r.Resent, r.Redelivered, reqs, faults, share*100, r.Faults, r.Kills, r.Drain.Round(100*time.Millisecond), r.SyncPasses, r.Lost, r.Queued,
		len(r.DeadLetters), r.Tasks, r.Duplicates, r.Compared, len(r.Mismatches), r.Took.Round(100*time.Millisecond))
}

func cmdSoak(e *env) error {
	fs := newFlags(e, "soak", "[--duration D] [--rate N] [--accounts N] [--seed S] [--faults F] [--dir DIR]")
	o := soakOptions{Log: e.stdout}
	fs.DurationVar(&o.Duration, "duration", 2*time.Minute, "how long signed Stripe webhooks are sent")
	fs.Float64Var(&o.Rate, "rate", 20, "webhooks per second")
	fs.IntVar(&o.Accounts, "accounts", 150, "accounts in the generated world")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the world and of the fault draws")
	fs.Float64Var(&o.Faults, "faults", 0.15, "share of vendor requests failed (0.1 to 0.2)")
	fs.StringVar(&o.Dir, "dir", "", "folder for configs, stores and the daemon's log (default: a new temporary folder)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if o.Faults < 0 || o.Faults > 0.5 || o.Rate <= 0 || o.Accounts < 10 || o.Duration <= 0 {
		return usagef("--faults 0 to 0.5, --rate above 0, --accounts at least 10, --duration above 0")
	}
	bin, err := childSetup(&o.Dir, "healthsync-soak-")
	if err != nil {
		return err
	}
	o.Bin = bin
	r, err := runSoak(e.ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "soak: %s\n", r.summary())
	for _, m := range r.Mismatches {
		fmt.Fprintf(e.stdout, "  mismatch: %s\n", m)
	}
	for _, k := range r.DuplicateKeys {
		fmt.Fprintf(e.stdout, "  duplicate task: %s\n", k)
	}
	for _, d := range r.DeadLetters {
		fmt.Fprintf(e.stdout, "  dead letter: %s\n", d)
	}
	if !r.ok() {
		return errors.New("soak failed (see above; the daemon's log is in " + o.Dir + ")")
	}
	return nil
}

// soakDaemon is the `healthsync run` child.
type soakDaemon struct {
	o      soakOptions
	cfg    string
	addr   string
	logf   *os.File
	cmd    *exec.Cmd
	exited chan error
}

func (d *soakDaemon) start(ctx context.Context) error {
	cmd := exec.Command(d.o.Bin, "run", "--config", d.cfg, "--sync-now")
	cmd.Env = append(os.Environ(), SoakChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = d.logf, d.logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the daemon: %w", err)
	}
	d.cmd, d.exited = cmd, make(chan error, 1)
	go func() { d.exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.exited:
			return fmt.Errorf("the daemon exited at start: %v (log %s)", err, d.logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		resp, err := http.Get("http://" + d.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the daemon did not answer /healthz within 30s")
}

// kill9 kills the daemon with SIGKILL and waits for it.
func (d *soakDaemon) kill9() error {
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing the daemon: %w", err)
	}
	<-d.exited
	return nil
}

// stop sends SIGTERM and waits (at most 60s, above the default 30s
// server.shutdown_timeout) for a clean exit.
func (d *soakDaemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping the daemon: %w", err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			return fmt.Errorf("the daemon's exit: %w", err)
		}
		return nil
	case <-time.After(60 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.exited
		return errors.New("the daemon did not stop within 60s of SIGTERM")
	}
}

// queueDepth reads the queue gauges from the daemon's /metrics.
func (d *soakDaemon) queueDepth() (queued, dead int, err error) {
	req, _ := http.NewRequest("GET", "http://"+d.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+soakAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	queued, dead = -1, -1
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "healthsync_webhook_queue_depth "); ok {
			fmt.Sscan(v, &queued)
		}
		if v, ok := strings.CutPrefix(line, "healthsync_webhook_dead_letters "); ok {
			fmt.Sscan(v, &dead)
		}
	}
	if queued < 0 || dead < 0 {
		return 0, 0, fmt.Errorf("metrics without the queue gauges (status %d)", resp.StatusCode)
	}
	return queued, dead, nil
}

// running lists the daemon's runs still open (pulls and syncs), from
// GET /api/runs.
func (d *soakDaemon) running() ([]string, error) {
	req, _ := http.NewRequest("GET", "http://"+d.addr+"/api/runs?limit=200", nil)
	req.Header.Set("Authorization", "Bearer "+soakAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Runs []store.Run `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("reading /api/runs (status %d): %w", resp.StatusCode, err)
	}
	var open []string
	for _, r := range body.Runs {
		if r.Status == "running" {
			open = append(open, strings.TrimSpace(r.Kind+" "+r.Connector))
		}
	}
	return open, nil
}

// freeAddr returns a loopback address no one listens on, so the daemon
// keeps one address across restarts.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// faultRules fail about share of every request: resets (nothing done),
// dropped answers and answers held past the client's 2s timeout (the fake
// did the work), 40/40/20.
func faultRules(share float64) []faultproxy.Rule {
	// Independent draws: 1-(1-a)(1-a)(1-b) is about a+a+b for small shares.
	return []faultproxy.Rule{
		{Fault: faultproxy.Reset, Rate: share * 0.4},
		{Fault: faultproxy.DropAnswer, Rate: share * 0.4},
		{Fault: faultproxy.Timeout, Rate: share * 0.2},
	}
}

// soakLogFile opens the daemon's log in dir.
func soakLogFile(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}
