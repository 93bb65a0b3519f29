package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// onePage is a Source with one page of one customer.
type onePage struct{}

func (onePage) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		yield(&record.Batch{Stream: "customers", Full: true, Done: true,
			Customers: []record.Customer{{Ref: record.Ref{System: "stripe", ID: "cus_1"}}}}, nil)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

func (l *syncLog) line(msg string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(l.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil && m["message"] == msg {
			return m
		}
	}
	return nil
}

// TestStartLineAndSyncNow: the start-up line lists every schedule with its
// next run, and SyncNow pulls at once although the schedule's first run is
// 1000 h away (without it, nothing runs).
func TestStartLineAndSyncNow(t *testing.T) {
	for _, syncNow := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync now %v", syncNow), func(t *testing.T) {
			cfg, st := billingDaemon(t, "engine: {reconcile_schedule: \"0 3 * * *\"}\n")
			logs := &syncLog{}
			log := zerolog.New(logs)
			eng, ln := billingEngine(t, cfg, st, log)
			started := make(chan struct{})
			before := time.Now().UTC()
			d := New(Options{Config: cfg, Store: st, Engine: eng, Logger: log, Listener: ln, SyncNow: syncNow,
				Started: func(string) { close(started) }})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			<-started

			line := logs.line("healthsync running")
			scheds, _ := line["schedules"].([]any)
			if len(scheds) != 2 {
				t.Fatalf("start-up line: %v", line)
			}
			next := func(i int) time.Time {
				ts, _ := time.Parse(time.RFC3339, scheds[i].(map[string]any)["next"].(string))
				return ts
			}
			got := []any{scheds[0].(map[string]any)["job"], scheds[0].(map[string]any)["spec"], scheds[1].(map[string]any)["job"], scheds[1].(map[string]any)["spec"], line["sync_now"]}
			want := []any{"pull:billing", "@every 1000h", "reconcile", "0 3 * * *", syncNow}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("schedules %v, want %v", got, want)
			}
			if d := next(0).Sub(before); d < 999*time.Hour || d > 1001*time.Hour {
				t.Errorf("pull next in %s, want 1000h", d)
			}
			if n := next(1); n.Hour() != 3 || n.Minute() != 0 || n.Before(before) || n.Sub(before) > 24*time.Hour {
				t.Errorf("reconcile next %s", n)
			}

			// Runs are recorded when they start, the sync's before its
			// pull's: wait for the pull itself.
			countPulls := func(runs []store.Run) int {
				n := 0
				for _, r := range runs {
					if r.Kind == "pull_full" && r.Connector == "billing" {
						n++
					}
				}
				return n
			}
			deadline := time.Now().Add(5 * time.Second)
			var runs []store.Run
			for time.Now().Before(deadline) {
				runs, _ = st.Runs(10)
				if countPulls(runs) > 0 || !syncNow {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !syncNow {
				time.Sleep(200 * time.Millisecond) // a pull, if one wrongly started, has long finished
				runs, _ = st.Runs(10)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			pulls := countPulls(runs)
			if want := map[bool]int{true: 1, false: 0}[syncNow]; pulls != want {
				t.Errorf("%d pulls at start, want %d (runs %v)", pulls, want, runs)
			}
		})
	}
}
