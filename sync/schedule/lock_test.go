package schedule

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// memLock is a JobLock in memory: a job is held by whoever locked it last
// until unlocked; fail makes TryLock fail.
type memLock struct {
	mu       sync.Mutex
	held     map[string]bool
	fail     error
	unlocked []string
}

func (l *memLock) TryLock(_ context.Context, job string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, false, l.fail
	}
	if l.held[job] {
		return nil, false, nil
	}
	l.held[job] = true
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, job)
		l.unlocked = append(l.unlocked, job)
	}, true, nil
}

// TestJobLock: a run goes ahead only with its job's lock, which it releases
// when done; a lock held elsewhere or unavailable skips the run, logged and
// counted by job.
func TestJobLock(t *testing.T) {
	tests := []struct {
		name      string
		held      map[string]bool
		fail      error
		wantRuns  []string
		wantSkips map[string]Skips
		wantUnl   []string
		wantLog   map[string]any
	}{
		{name: "free", held: map[string]bool{}, wantRuns: []string{"sf"}, wantSkips: map[string]Skips{},
			wantUnl: []string{"sf"}},
		{name: "held by another replica", held: map[string]bool{"sf": true}, wantSkips: map[string]Skips{"sf": {Held: 1}},
			wantLog: map[string]any{"level": "info", "job": "sf", "message": "job running on another replica, skipped"}},
		{name: "other job held", held: map[string]bool{"billing": true}, wantRuns: []string{"sf"}, wantSkips: map[string]Skips{},
			wantUnl: []string{"sf"}},
		{name: "lock unavailable", held: map[string]bool{}, fail: errors.New("store is unavailable"),
			wantSkips: map[string]Skips{"sf": {Failed: 1}},
			wantLog: map[string]any{"level": "warn", "job": "sf", "error": "store is unavailable",
				"message": "job lock unavailable, skipped"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			lock := &memLock{held: tc.held, fail: tc.fail}
			s := New(zerolog.New(&logs), WithJobLock(lock))
			var runs []string
			if err := s.Add("sf", "@every 1h", func(ctx context.Context) {
				lock.mu.Lock()
				if !lock.held["sf"] {
					t.Error("job ran without its lock")
				}
				lock.mu.Unlock()
				runs = append(runs, "sf")
			}); err != nil {
				t.Fatal(err)
			}
			s.jobs["sf"].run.Run()
			if !reflect.DeepEqual(runs, tc.wantRuns) {
				t.Errorf("runs %v, want %v", runs, tc.wantRuns)
			}
			if got := s.LockSkips(); !reflect.DeepEqual(got, tc.wantSkips) {
				t.Errorf("skips %v, want %v", got, tc.wantSkips)
			}
			if !reflect.DeepEqual(lock.unlocked, tc.wantUnl) {
				t.Errorf("unlocked %v, want %v", lock.unlocked, tc.wantUnl)
			}
			var skipLines []map[string]any
			for _, l := range logs.lines(t) {
				if l["level"] == "info" || l["level"] == "warn" {
					skipLines = append(skipLines, l)
				}
			}
			var want []map[string]any
			if tc.wantLog != nil {
				want = []map[string]any{tc.wantLog}
			}
			if !reflect.DeepEqual(skipLines, want) {
				t.Errorf("log lines %v, want %v", skipLines, want)
			}
		})
	}
}

// TestJobLockReleasedAfterPanic: a run that panics still releases its lock.
func TestJobLockReleasedAfterPanic(t *testing.T) {
	lock := &memLock{held: map[string]bool{}}
	s := New(zerolog.Nop(), WithJobLock(lock))
	if err := s.Add("sf", "@every 1h", func(context.Context) { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	s.jobs["sf"].run.Run()
	if !reflect.DeepEqual(lock.unlocked, []string{"sf"}) || len(lock.held) != 0 {
		t.Errorf("unlocked %v, held %v; want the lock released", lock.unlocked, lock.held)
	}
}
