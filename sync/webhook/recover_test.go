package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/store"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines whose message is msg, decoded.
func (b *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// lockingProcessor stands for the engine: events whose ID starts with
// "panic" panic, those starting with "locked" need engineMu, the others are
// recorded.
type lockingProcessor struct {
	engineMu *sync.Mutex
	mu       sync.Mutex
	done     []string
}

func (p *lockingProcessor) Process(ctx context.Context, ev store.QueuedEvent) (bool, error) {
	switch {
	case strings.HasPrefix(ev.Event.ID, "panic"):
		var m map[string]int
		//lint:ignore SA5000 the nil-map write is the panic this test recovers from
		m["boom"]++ // a nil-map write, as a bug would
	case strings.HasPrefix(ev.Event.ID, "locked"):
		p.engineMu.Lock()
		defer p.engineMu.Unlock()
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = append(p.done, ev.Event.ID)
	return true, nil
}

func (p *lockingProcessor) processed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.done...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestPanicsRecoveredStuckReportedAndSIGTERMObeyed is issue 13 item 6: an
// API handler panics (one of them while holding the engine lock without
// defer, as the engine did); the server answers 500 and goes on, a panicking
// webhook is dead-lettered while later webhooks are processed, /readyz
// reports the pool stuck behind the held lock, and SIGTERM still stops the
// workers. Each panic is logged with its stack and counted.
func TestPanicsRecoveredStuckReportedAndSIGTERMObeyed(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	var logs syncBuffer
	log := zerolog.New(&logs)
	m := NewMetrics(nil)
	var now atomic.Int64
	// The workers' clock runs with the real one (the store stamps events with
	// it), shifted by now to jump past stuck_after.
	clock := func() time.Time { return time.Now().Add(time.Duration(now.Load())) }

	var engineMu sync.Mutex
	proc := &lockingProcessor{engineMu: &engineMu}
	workers := NewWorkers(WorkerOptions{Queue: st, Processor: proc, Workers: 2, Poll: 5 * time.Millisecond,
		StuckAfter: time.Minute, StopWait: 200 * time.Millisecond, Now: clock, Metrics: m, Logger: log})
	h := NewHandler(Options{Queue: st, Metrics: m, Logger: log, Notify: workers.Wake,
		Sources: []Source{{Connector: "billing", Kind: "stripe", Verifier: hmacVerifier{}}}})
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", h)
	mux.HandleFunc("/api/boom", func(http.ResponseWriter, *http.Request) { panic("api bug") })
	mux.HandleFunc("/api/locked", func(http.ResponseWriter, *http.Request) {
		engineMu.Lock() // the engine's lock taken without defer
		panic("api bug while holding the engine lock")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if workers.Stuck() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	srv := httptest.NewServer(Recover(mux, m, log))
	defer srv.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	stopped := make(chan struct{})
	go func() { workers.Run(ctx); close(stopped) }()

	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	webhook := func(id, customer string) {
		body := fmt.Sprintf(`{"id":%q,"object_id":"in_%s","customer":%q}`, id, id, customer)
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/stripe", strings.NewReader(body))
		req.Header.Set("X-Sig", sign(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook %s: %d", id, resp.StatusCode)
		}
	}
	processed := func(want ...string) func() bool {
		return func() bool { return strings.Join(proc.processed(), ",") == strings.Join(want, ",") }
	}

	if code := get("/api/boom"); code != 500 {
		t.Fatalf("/api/boom: %d, want 500", code)
	}
	webhook("panic_1", "cus_1")
	webhook("ok_1", "cus_2")
	waitFor(t, "ok_1 processed after a worker panic", processed("ok_1"))
	waitFor(t, "panic_1 dead-lettered", func() bool { _, dead, _ := st.QueueDepth(); return dead == 1 })

	if code := get("/api/locked"); code != 500 {
		t.Fatalf("/api/locked: %d, want 500", code)
	}
	webhook("locked_1", "cus_3") // blocks one worker on the held lock
	webhook("ok_2", "cus_4")     // the other worker goes on
	waitFor(t, "ok_2 processed beside a blocked worker", processed("ok_1", "ok_2"))
	waitFor(t, "locked_1 claimed", func() bool { return workers.inFlight.Load() == 1 })
	if code := get("/readyz"); code != 200 {
		t.Fatalf("/readyz before stuck_after: %d, want 200", code)
	}
	now.Add(int64(2 * time.Minute))
	if code := get("/readyz"); code != 503 {
		t.Fatalf("/readyz with a worker blocked past stuck_after: %d, want 503", code)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("workers did not stop on SIGTERM")
	}
	engineMu.Unlock() // let the abandoned processor return

	for _, where := range []string{PanicHTTP, PanicWorker} {
		want := map[string]float64{PanicHTTP: 2, PanicWorker: 1}[where]
		if got := counterValue(t, m.Panics.WithLabelValues(where)); got != want {
			t.Errorf("healthsync_panics_total{where=%q} = %v, want %v", where, got, want)
		}
	}
	for msg, want := range map[string]int{"http handler panicked": 2, "webhook processor panicked": 1} {
		lines := logs.lines(t, msg)
		if len(lines) != want {
			t.Fatalf("%d %q log lines, want %d", len(lines), msg, want)
		}
		for _, l := range lines {
			if s, _ := l["stack"].(string); !strings.Contains(s, "runtime/debug.Stack") || !strings.Contains(s, "recover_test.go") {
				t.Errorf("%q logged without the stack of the panic: %v", msg, l)
			}
		}
	}
	dl, err := st.DeadLetters()
	if err != nil || len(dl) != 1 || dl[0].Event.ID != "panic_1" ||
		dl[0].LastError != "permanent failure\nprocessor panicked: assignment to entry in nil map" {
		t.Fatalf("dead letters %+v, %v; want panic_1 with the panic as its error", dl, err)
	}
}

// failingQueue fails every Claim, as an unreadable store does.
type failingQueue struct{ WorkQueue }

func (failingQueue) Claim(int, time.Time) ([]store.QueuedEvent, error) {
	return nil, errors.New("store unavailable")
}

// TestStuckWhenClaimsFail: a pool that cannot claim is stuck after
// stuck_after, an idle one never is, a paused one is not.
func TestStuckWhenClaimsFail(t *testing.T) {
	var now atomic.Int64
	// The workers' clock runs with the real one (the store stamps events with
	// it), shifted by now to jump past stuck_after.
	clock := func() time.Time { return time.Now().Add(time.Duration(now.Load())) }
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	for _, tt := range []struct {
		name  string
		queue WorkQueue
		pause bool
		want  []bool // Stuck at +0, then after stuck_after has passed
	}{
		{"idle", st, false, []bool{false, false}},
		{"claims failing", failingQueue{}, false, []bool{false, true}},
		{"claims failing but paused", failingQueue{}, true, []bool{false, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWorkers(WorkerOptions{Queue: tt.queue, Processor: &recorder{}, Poll: time.Millisecond,
				StuckAfter: time.Minute, Now: clock})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { w.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			_, failing := tt.queue.(failingQueue)
			waitFor(t, "a claim", func() bool { return !failing || w.claimFailing.Load() })
			w.Pause(tt.pause)
			got := []bool{w.Stuck()}
			now.Add(int64(2 * time.Minute))
			got = append(got, w.Stuck())
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Stuck = %v, want %v", got, tt.want)
			}
		})
	}
}
