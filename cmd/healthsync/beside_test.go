package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// lockedBuffer is a bytes.Buffer the daemon's goroutines can log into.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// besideWorld is a demo world synced once into its store, with a config
// whose daemon listens on a known loopback port and whose schedules do not
// fire during a test.
type besideWorld struct {
	cfgPath, addr string
	cfg           *config.Config
	key, name     string // a CRM account and its unique name
	deadID        uint64 // a dead-lettered webhook event
}

// testStack seeds the demo's fakes with a small world and writes its
// config; the fakes stop when the test ends. Tests that use it are skipped
// with -short.
func testStack(t *testing.T, accounts int, seed int64) *demoStack {
	t.Helper()
	if testing.Short() {
		t.Skip("seeds the demo fakes")
	}
	stack, err := newDemoStack(accounts, seed, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	return stack
}

func newBesideWorld(t *testing.T) *besideWorld {
	t.Helper()
	stack := testStack(t, 30, 11)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	text, err := os.ReadFile(stack.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text = bytes.Replace(text, []byte(`listen: "127.0.0.1:0"`), []byte(`listen: "`+addr+`"`), 1)
	text = regexp.MustCompile(`schedule: "[^"]*"`).ReplaceAll(text, []byte(`schedule: "@every 1000h"`))
	if err := os.WriteFile(stack.cfgPath, text, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "sync", "--config", stack.cfgPath); code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errs)
	}
	cfg, err := config.Load(stack.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	w := &besideWorld{cfgPath: stack.cfgPath, addr: addr, cfg: cfg}
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// One dead letter, so that `webhooks dlq` has a row to print.
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := st.Enqueue([]store.QueuedEvent{{Connector: "stripe", Event: record.Event{System: "stripe", ID: "evt_dead1",
		Type: "invoice.payment_failed", ObjectType: "invoice", ObjectID: "in_1", Occurred: now}}}); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.Claim(1, now.Add(time.Minute))
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := st.DeadLetter(claimed[0].Seq, errors.New("fetching invoice in_1: stripe: HTTP 404")); err != nil {
		t.Fatal(err)
	}
	w.deadID = claimed[0].Seq
	accts, err := st.Accounts("salesforce")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range accts {
		count[strings.ToLower(a.Name)]++
	}
	for _, a := range accts {
		if count[strings.ToLower(a.Name)] == 1 {
			w.key, w.name = "salesforce/"+a.ID, a.Name
			break
		}
	}
	if w.key == "" {
		t.Fatal("no account with a unique name")
	}
	return w
}

// startDaemon runs `healthsync run` until the test ends and waits until it
// is ready.
func (w *besideWorld) startDaemon(t *testing.T) (stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--config", w.cfgPath}, logs, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + w.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("daemon exited %d:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("daemon not ready:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, ""
		}
		stopped = true
		cancel()
		return <-done, logs.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestCommandsBesideRunningDaemon runs each read command once with the store
// free and once while `healthsync run` holds it: the second run talks to the
// daemon's API and prints exactly the same.
func TestCommandsBesideRunningDaemon(t *testing.T) {
	w := newBesideWorld(t)
	p := w.cfgPath
	tests := []struct {
		name string
		args []string
	}{
		{"plan", []string{"plan", "--config", p}},
		{"plan json", []string{"plan", "--config", p, "--json"}},
		{"runs", []string{"runs", "--config", p}},
		{"runs json limit", []string{"runs", "--config", p, "--json", "--limit", "2"}},
		{"report", []string{"report", "--config", p}},
		{"report every flag", []string{"report", "--config", p, "--format", "JSON", "--from", "2026-01", "--to", "2026-06",
			"--as-of", "2026-07-15", "--segment", "industry", "--account", w.key}},
		{"report csv by name", []string{"report", "--config", p, "--format", "csv", "--account", w.name}},
		{"report html", []string{"report", "--config", p, "--format", "html", "--as-of", "2026-11-30"}},
		{"explain", []string{"explain", w.key, "--config", p}},
		{"explain json by name", []string{"explain", "--config", p, w.name, "--json"}},
		{"webhooks dlq", []string{"webhooks", "dlq", "--config", p}},
		{"setup hubspot", []string{"setup", "hubspot", "--config", p}},
		{"report unknown account", []string{"report", "--config", p, "--account", "nope-no-such-account"}},
		{"explain unknown account", []string{"explain", "--config", p, "nope-no-such-account"}},
	}
	type result struct {
		code int
		out  string
	}
	want := make([]result, len(tests))
	for i, tt := range tests {
		code, out, errs := runCLI(t, tt.args...)
		if code != 0 && !strings.Contains(tt.name, "unknown") {
			t.Fatalf("%s with the store free: exit %d\n%s", tt.name, code, errs)
		}
		want[i] = result{code, out}
	}
	stop := w.startDaemon(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if !strings.Contains(errs, "held by the running daemon; asking it at http://"+w.addr) {
				t.Errorf("stderr does not say the daemon answered:\n%s", errs)
			}
			if got := (result{code, sameNow(out)}); !reflect.DeepEqual(got, result{want[i].code, sameNow(want[i].out)}) {
				t.Errorf("beside the daemon: exit %d, stdout\n%s\nwant exit %d, stdout\n%s\nstderr: %s", code, out, want[i].code, want[i].out, errs)
			}
		})
	}

	for i, tt := range tests {
		row := regexp.MustCompile(`\n` + strconv.FormatUint(w.deadID, 10) + ` +stripe +evt_dead1 +invoice.payment_failed +invoice/in_1 +1 `)
		if tt.name == "webhooks dlq" && !row.MatchString(want[i].out) {
			t.Errorf("webhooks dlq lacks the dead letter %s:\n%s", row, want[i].out)
		}
	}
	code, out, errs := runCLI(t, "webhooks", "replay", "--config", p, strconv.FormatUint(w.deadID, 10))
	if code != 0 || !regexp.MustCompile(`^event \d+ queued again as \d+; the running daemon processes it now\n$`).MatchString(out) {
		t.Fatalf("webhooks replay beside the daemon: exit %d %q %s", code, out, errs)
	}

	// backup while the daemon runs: the copy opens and holds the same data.
	bk := filepath.Join(t.TempDir(), "copy.db")
	code, out, errs = runCLI(t, "backup", "--config", p, bk)
	if code != 0 || !strings.HasPrefix(out, "backup written to "+bk) {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errs)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("daemon exit %d:\n%s", code, logs)
	}
	compareStores(t, w.cfg.Store.Path, bk)
}

var (
	rfc3339  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	apiUsage = regexp.MustCompile(`(?s)"api_usage": \[.*?\]`)
)

// sameNow blanks what differs between two processes asked a second apart:
// timestamps of "now" (a plan's or score's as-of) and the API calls this
// process made (a report's api_usage; the daemon ran its preflight).
func sameNow(s string) string {
	s = rfc3339.ReplaceAllStringFunc(s, func(ts string) string {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && time.Since(t).Abs() < 5*time.Minute {
			return "<now>"
		}
		return ts
	})
	return apiUsage.ReplaceAllString(s, `"api_usage": <this process>`)
}

// compareStores checks that the backup holds the original's records, runs
// and scores.
func compareStores(t *testing.T, orig, copyPath string) {
	t.Helper()
	read := func(path string) map[string]any {
		st, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatalf("opening %s: %v", path, err)
		}
		defer st.Close()
		m := map[string]any{}
		for _, c := range []string{"salesforce", "hubspot", "stripe", "chargebee"} {
			counts, err := st.Counts(c)
			if err != nil {
				t.Fatal(err)
			}
			m["counts "+c] = counts
			accts, err := st.Accounts(c)
			if err != nil {
				t.Fatal(err)
			}
			m["accounts "+c] = accts
		}
		runs, err := st.Runs(1000)
		if err != nil {
			t.Fatal(err)
		}
		m["runs"] = runs
		scores, err := st.Scores()
		if err != nil {
			t.Fatal(err)
		}
		m["scores"] = scores
		return m
	}
	a, b := read(orig), read(copyPath)
	if len(a["runs"].([]store.Run)) == 0 || len(a["accounts salesforce"].([]record.Account)) == 0 {
		t.Fatal("the original store is empty")
	}
	for k := range a {
		if !reflect.DeepEqual(a[k], b[k]) {
			t.Errorf("backup differs in %s", k)
		}
	}
}
