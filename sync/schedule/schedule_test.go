package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestParse(t *testing.T) {
	from := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC) // a Monday, 09:00 in Tokyo
	tests := []struct {
		name     string
		spec     string
		wantNext time.Time // zero: expect an error
	}{
		{"five fields", "*/15 * * * *", from.Add(15 * time.Minute)},
		{"six fields with seconds", "30 */5 * * * *", from.Add(30 * time.Second)},
		{"every", "@every 10m", from.Add(10 * time.Minute)},
		{"descriptor", "@hourly", from.Add(time.Hour)},
		{"CRON_TZ", "CRON_TZ=Asia/Tokyo 0 10 * * 1-5", from.Add(time.Hour)},
		{"TZ", "TZ=Asia/Tokyo 0 10 * * *", from.Add(time.Hour)},
		{"bad field", "*/15 * * *", time.Time{}},
		{"out of range", "61 * * * *", time.Time{}},
		{"unknown zone", "CRON_TZ=Mars/Olympus * * * * *", time.Time{}},
		{"bad every", "@every fortnight", time.Time{}},
		{"empty", "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Parse(tc.spec)
			next, nerr := Next(tc.spec, from)
			if tc.wantNext.IsZero() {
				if err == nil || nerr == nil {
					t.Fatalf("Parse(%q) accepted", tc.spec)
				}
				return
			}
			if err != nil || nerr != nil {
				t.Fatalf("Parse(%q): %v / %v", tc.spec, err, nerr)
			}
			if !next.Equal(tc.wantNext) {
				t.Errorf("Next = %v, want %v", next, tc.wantNext)
			}
		})
	}
}

func TestSkipIfStillRunning(t *testing.T) {
	var logs syncBuffer
	s := New(zerolog.New(&logs))
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	if err := s.Add("sf", "@every 1h", func(ctx context.Context) {
		runs.Add(1)
		close(started)
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	j := s.jobs["sf"].run
	done := make(chan struct{})
	go func() { j.Run(); close(done) }()
	<-started
	j.Run() // fires while the first run blocks: skipped, returns at once
	if n := runs.Load(); n != 1 {
		t.Errorf("job ran %d times, want 1", n)
	}
	close(release)
	<-done
	var skipped bool
	for _, l := range logs.lines(t) {
		if l["message"] == "job still running, skipped" && l["job"] == "sf" && l["level"] == "info" {
			skipped = true
		}
	}
	if !skipped {
		t.Errorf("no skip log line in %v", logs.lines(t))
	}
}

func TestRecoverFromPanic(t *testing.T) {
	var logs syncBuffer
	s := New(zerolog.New(&logs))
	var runs atomic.Int32
	if err := s.Add("score", "@every 1h", func(ctx context.Context) {
		if runs.Add(1) == 1 {
			panic("boom")
		}
	}); err != nil {
		t.Fatal(err)
	}
	j := s.jobs["score"].run
	j.Run() // must not panic
	j.Run() // the skip guard was released: the job runs again
	if n := runs.Load(); n != 2 {
		t.Errorf("job ran %d times, want 2", n)
	}
	var logged bool
	for _, l := range logs.lines(t) {
		if l["level"] == "error" && l["message"] == "panic" && l["error"] == "boom" && l["job"] == "score" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("panic not logged: %v", logs.lines(t))
	}
}

func TestRunContextCarriesRunIDAndLogger(t *testing.T) {
	var logs syncBuffer
	s := New(zerolog.New(&logs))
	ids := make(chan string, 2)
	if err := s.Add("billing", "@every 1h", func(ctx context.Context) {
		ids <- RunID(ctx)
		zerolog.Ctx(ctx).Info().Msg("pulled")
	}); err != nil {
		t.Fatal(err)
	}
	s.jobs["billing"].run.Run()
	s.jobs["billing"].run.Run()
	a, b := <-ids, <-ids
	if len(a) != 16 || a == b {
		t.Errorf("run IDs %q %q", a, b)
	}
	var seen []string
	for _, l := range logs.lines(t) {
		if l["message"] == "pulled" && l["job"] == "billing" {
			seen = append(seen, l["run_id"].(string))
		}
	}
	if strings.Join(seen, ",") != a+","+b {
		t.Errorf("log run IDs %v, want %s,%s", seen, a, b)
	}
}

func TestStopWaitsForInFlight(t *testing.T) {
	s := New(zerolog.Nop())
	var finished atomic.Bool
	started := make(chan struct{})
	if err := s.Add("sf", "@every 1h", func(ctx context.Context) {
		close(started)
		<-s.stopping // still running when Stop begins
		if ctx.Err() != nil {
			t.Error("context cancelled during a graceful stop")
		}
		finished.Store(true)
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	if err := s.RunNow("sf"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Stop returned before the job finished")
	}
	if err := s.RunNow("sf"); !errors.Is(err, ErrStopped) {
		t.Errorf("RunNow after Stop: %v", err)
	}
	if err := s.Add("x", "@every 1h", func(context.Context) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Add after Stop: %v", err)
	}
}

func TestStopDeadlineCancelsJobs(t *testing.T) {
	s := New(zerolog.Nop())
	started := make(chan struct{})
	var sawCancel atomic.Bool
	if err := s.Add("sf", "@every 1h", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		sawCancel.Store(true)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("sf"); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the shutdown deadline has already passed
	if err := s.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop = %v, want context.Canceled", err)
	}
	if !sawCancel.Load() {
		t.Error("Stop returned before the cancelled job did")
	}
}

func TestAddAndEntries(t *testing.T) {
	s := New(zerolog.Nop())
	if err := s.Add("sf", "CRON_TZ=Asia/Tokyo */15 * * * *", func(context.Context) {}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("billing", "@every 10m", func(context.Context) {}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("sf", "@every 1m", func(context.Context) {}); err == nil {
		t.Error("duplicate name accepted")
	}
	if err := s.Add("bad", "not a spec", func(context.Context) {}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("bad spec: %v", err)
	}
	if err := s.RunNow("nope"); err == nil {
		t.Error("RunNow of unknown job accepted")
	}
	s.Start()
	defer s.Stop(context.Background())
	es := s.Entries()
	if len(es) != 2 || es[0].Name != "billing" || es[1].Name != "sf" || es[1].Spec != "CRON_TZ=Asia/Tokyo */15 * * * *" {
		t.Fatalf("entries %+v", es)
	}
}
