package daemon

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// lockingStore is a bbolt store with a JobLock, as the PostgreSQL store
// has: free decides whether TryLock gets the lock; the jobs asked for and
// unlocked are recorded.
type lockingStore struct {
	*bolt.Store
	free bool

	mu              sync.Mutex
	tried, unlocked []string
}

func (s *lockingStore) TryLock(ctx context.Context, job string) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tried = append(s.tried, job)
	if !s.free {
		return nil, false, nil
	}
	return func() { s.mu.Lock(); defer s.mu.Unlock(); s.unlocked = append(s.unlocked, job) }, true, nil
}

func (s *lockingStore) calls() (tried, unlocked []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tried...), append([]string(nil), s.unlocked...)
}

// TestScheduleTakesStoreJobLock: with a store that has a JobLock, every
// scheduled run takes the job's lock first; a run whose lock another
// replica holds does not pull and is counted in
// healthsync_schedule_skipped_total{job}.
func TestScheduleTakesStoreJobLock(t *testing.T) {
	tests := []struct {
		free         bool
		pulls        int
		wantUnlocked []string
		wantSkipped  map[string]float64
	}{
		{free: true, pulls: 1, wantUnlocked: []string{"pull:billing"}, wantSkipped: map[string]float64{}},
		{free: false, pulls: 0, wantSkipped: map[string]float64{"pull:billing": 1}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("lock free %v", tc.free), func(t *testing.T) {
			cfg, bs := billingDaemon(t, "")
			st := &lockingStore{Store: bs, free: tc.free}
			eng, ln := billingEngine(t, cfg, st, zerolog.Nop())
			reg := prometheus.NewRegistry()
			started := make(chan struct{})
			d := New(Options{Config: cfg, Store: st, Engine: eng, Logger: zerolog.Nop(), Listener: ln, SyncNow: true, Registry: reg,
				Started: func(string) { close(started) }})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			<-started
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				tried, unlocked := st.calls()
				if len(tried) > 0 && (!tc.free || len(unlocked) > 0) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			tried, unlocked := st.calls()
			if want := []string{"pull:billing"}; !reflect.DeepEqual(tried, want) {
				t.Errorf("locks tried %v, want %v", tried, want)
			}
			if !reflect.DeepEqual(unlocked, tc.wantUnlocked) {
				t.Errorf("unlocked %v, want %v", unlocked, tc.wantUnlocked)
			}
			runs, err := bs.Runs(10)
			if err != nil {
				t.Fatal(err)
			}
			pulls := 0
			for _, r := range runs {
				if r.Kind == "pull_full" {
					pulls++
				}
			}
			if pulls != tc.pulls {
				t.Errorf("%d pulls, want %d", pulls, tc.pulls)
			}
			if got := skippedTotals(t, reg); !reflect.DeepEqual(got, tc.wantSkipped) {
				t.Errorf("healthsync_schedule_skipped_total %v, want %v", got, tc.wantSkipped)
			}
		})
	}
}

// skippedTotals reads healthsync_schedule_skipped_total by job from reg.
func skippedTotals(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "healthsync_schedule_skipped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// billingDaemon parses a daemon configuration with one Stripe connector
// "billing" pulling @every 1000h (and extra, YAML lines of its own) and
// opens its bbolt store, closed when the test ends.
func billingDaemon(t *testing.T, extra string) (*config.Config, *bolt.Store) {
	t.Helper()
	cfg, err := config.Parse("d.yaml", []byte(fmt.Sprintf("store: {path: %q}\nserver: {shutdown_timeout: 5s}\n%s"+
		"connectors:\n  - {name: billing, kind: stripe, base_url: \"http://127.0.0.1:1\", auth: {api_key: \"${K}\"}, schedule: \"@every 1000h\"}\n",
		filepath.Join(t.TempDir(), "d.db"), extra)), func(string) (string, bool) { return "sk_test_x", true })
	if err != nil {
		t.Fatal(err)
	}
	bs, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	return cfg, bs
}

// billingEngine builds the engine of billingDaemon's configuration over st,
// its connector pulling onePage, and a listener on a free loopback port.
func billingEngine(t *testing.T, cfg *config.Config, st store.Store, log zerolog.Logger) (*engine.Engine, net.Listener) {
	t.Helper()
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Logger: log,
		Connectors: []*engine.Connector{{Config: cfg.Connectors[0], Source: onePage{}}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return eng, ln
}

// serve runs a daemon (no schedules) on cfg's connectors over st until the
// test ends, and returns its address.
func serve(t *testing.T, cfg *config.Config, st store.Store) string {
	t.Helper()
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 1)
	d := New(Options{Config: cfg, Store: st, Engine: eng, Logger: zerolog.Nop(), Listener: ln, NoSchedule: true, Started: func(a string) { started <- a }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return <-started
}
