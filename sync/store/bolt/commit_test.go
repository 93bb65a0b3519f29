package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// gated is a committer whose commits each wait for the test: a commit
// announces its number on entered and proceeds with the error it receives
// from release (nil: commit normally; otherwise run the group, then fail
// and roll back as a failed fsync would).
type gated struct {
	db       *bbolt.DB
	c        *committer
	n        int
	entered  chan int
	release  chan error
	mu       sync.Mutex
	results  map[string]error
	finished sync.WaitGroup
}

var bucketTest = []byte("t")

func newGated(t *testing.T) *gated {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket(bucketTest); return err }); err != nil {
		t.Fatal(err)
	}
	g := &gated{db: db, entered: make(chan int), release: make(chan error), results: map[string]error{}}
	g.c = newCommitter(g.update, "c.db", 0)
	return g
}

func (g *gated) update(fn func(*bbolt.Tx) error) error {
	g.n++ // only the leader commits
	g.entered <- g.n
	injected := <-g.release
	return g.db.Update(func(tx *bbolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return injected
	})
}

// put queues a call that appends id to the test bucket (fn fails with
// fail when it is not nil) and waits until the call is pending or
// committing.
func (g *gated) put(t *testing.T, id string, fail error) {
	t.Helper()
	g.c.mu.Lock()
	queued, leading := len(g.c.pending), g.c.leading
	g.c.mu.Unlock()
	g.finished.Add(1)
	go func() {
		defer g.finished.Done()
		err := g.c.run(func(tx *bbolt.Tx) error {
			if fail != nil {
				return fail
			}
			b := tx.Bucket(bucketTest)
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			return b.Put(seqKey(seq), []byte(id))
		})
		g.mu.Lock()
		g.results[id] = err
		g.mu.Unlock()
	}()
	waitFor(t, func() bool {
		g.c.mu.Lock()
		defer g.c.mu.Unlock()
		if !leading {
			return g.c.leading // it leads
		}
		return len(g.c.pending) > queued
	})
}

// ids lists what the committed transactions stored, in commit order.
func (g *gated) ids(t *testing.T) []string {
	t.Helper()
	out := []string{}
	if err := g.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTest).ForEach(func(_, v []byte) error { out = append(out, string(v)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
	}
}

func (g *gated) commit(t *testing.T, want int, err error) {
	t.Helper()
	if n := <-g.entered; n != want {
		t.Fatalf("commit %d started, want %d", n, want)
	}
	g.release <- err
}

// Calls that arrive while a commit runs share the next one, in the order
// they arrived; one call's failing fn fails only that call; a failed commit
// fails only its group.
func TestCommitterGroups(t *testing.T) {
	errBad := errors.New("bad event")
	errDisk := errors.New("fdatasync: input/output error")
	g := newGated(t)

	g.put(t, "a", nil) // commits alone, at once: no fixed delay
	if n := <-g.entered; n != 1 {
		t.Fatalf("commit %d started, want 1", n)
	}
	for _, id := range []string{"b", "c", "d", "e"} { // wait while "a" commits
		fail := error(nil)
		if id == "c" {
			fail = errBad
		}
		g.put(t, id, fail)
	}
	g.release <- nil
	g.commit(t, 2, nil)     // b, c, d, e: c's fn fails, the rest retried
	g.put(t, "f", nil)      // arrives during commit 3 ...
	g.put(t, "g", nil)      // ... as does g
	g.commit(t, 3, nil)     // b, d, e
	g.commit(t, 4, errDisk) // f, g: the commit fails
	waitFor(t, func() bool { g.c.mu.Lock(); defer g.c.mu.Unlock(); return !g.c.leading })
	g.put(t, "h", nil)  // after the failed group
	g.commit(t, 5, nil) // h
	g.finished.Wait()

	want := map[string]error{"a": nil, "b": nil, "c": errBad, "d": nil, "e": nil, "f": errDisk, "g": errDisk, "h": nil}
	if !reflect.DeepEqual(g.results, want) {
		t.Errorf("results %v, want %v", g.results, want)
	}
	if got, want := g.ids(t), []string{"a", "b", "d", "e", "h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	g.c.mu.Lock()
	stats := g.c.stats
	g.c.mu.Unlock()
	if stats.Busy <= 0 {
		t.Errorf("busy %s, want the commits' time", stats.Busy)
	}
	stats.Busy = 0
	if want := (CommitStats{Groups: 4, Calls: 8}); stats != want { // a; b c d e; f g; h
		t.Errorf("stats %+v, want %+v", stats, want)
	}
}

// close refuses new calls at once and returns after the queued ones are
// committed.
func TestCommitterCloseDrains(t *testing.T) {
	g := newGated(t)
	g.put(t, "a", nil)
	if n := <-g.entered; n != 1 {
		t.Fatalf("commit %d started, want 1", n)
	}
	g.put(t, "b", nil)
	g.put(t, "c", nil)
	closed := make(chan struct{})
	go func() { g.c.close(); close(closed) }()
	waitFor(t, func() bool { g.c.mu.Lock(); defer g.c.mu.Unlock(); return g.c.closed })
	if err := g.c.run(func(*bbolt.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("run after close: %v, want store.ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("close returned with calls still queued")
	default:
	}
	g.release <- nil
	g.commit(t, 2, nil)
	<-closed
	g.finished.Wait()
	if want := map[string]error{"a": nil, "b": nil, "c": nil}; !reflect.DeepEqual(g.results, want) {
		t.Errorf("results %v, want %v", g.results, want)
	}
	if got, want := g.ids(t), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// Every acknowledged Enqueue of many concurrent senders is in the file
// after Close and a reopen, each sender's events in the order it sent them.
func TestEnqueueConcurrentDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	for _, delay := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprint("delay ", delay), func(t *testing.T) {
			s, err := Open(path, Options{CommitDelay: delay})
			if err != nil {
				t.Fatal(err)
			}
			const senders, each = 16, 40
			want := map[string][]string{}
			var wg sync.WaitGroup
			for w := range senders {
				conn := fmt.Sprintf("%s-%d", delay, w)
				var ids []string
				for i := range each {
					ids = append(ids, fmt.Sprintf("evt_%d", i))
				}
				want[conn] = ids
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, id := range ids {
						if _, err := s.Enqueue([]store.QueuedEvent{ev(conn, id, id)}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := map[string][]string{}
			if err := s.view(func(tx *bbolt.Tx) error {
				return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
					e, err := decodeQueued(k, v)
					if err == nil {
						got[e.Connector] = append(got[e.Connector], e.Event.ID)
					}
					return err
				})
			}); err != nil {
				t.Fatal(err)
			}
			for conn := range got {
				if _, mine := want[conn]; !mine {
					delete(got, conn) // the previous subtest's
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after reopen: %v\nwant %v", got, want)
			}
		})
	}
}

// A lone Enqueue commits at once instead of waiting out a fixed batch delay
// (bbolt's DB.Batch waits MaxBatchDelay, 10 ms, before every commit). The
// fastest of five calls bounds the latency without depending on one
// unlucky scheduling moment.
func TestEnqueueAloneHasNoDelay(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fastest := time.Hour
	for i := range 5 {
		start := time.Now()
		if _, err := s.Enqueue([]store.QueuedEvent{ev("b", fmt.Sprint("evt_", i), "cus_1")}); err != nil {
			t.Fatal(err)
		}
		fastest = min(fastest, time.Since(start))
	}
	if fastest >= batchDelay {
		t.Errorf("fastest lone Enqueue took %s, want under %s", fastest, batchDelay)
	}
}

// batchDelay is bbolt's DefaultMaxBatchDelay (internal/common, v1.5.0).
const batchDelay = 10 * time.Millisecond

// BenchmarkEnqueueSerial is one sender enqueueing one event per call with
// fsync on: the cost of one commit (bbolt writes the pages, fdatasyncs,
// writes the meta page and fdatasyncs again), which is the floor of a
// webhook's acknowledge latency under the group commit.
func BenchmarkEnqueueSerial(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := s.Enqueue([]store.QueuedEvent{ev("billing", fmt.Sprint("evt_", i), "cus_1")}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
