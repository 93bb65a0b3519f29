package bolt

import (
	"slices"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// The group commit behind Enqueue and Ack. bbolt's own DB.Batch waits a
// fixed MaxBatchDelay (10 ms by default) before it commits, so a webhook's
// acknowledgement took about 10 ms plus an fsync however idle the store was
// (issue 14: acknowledge p50 13-20 ms against 0.7-0.9 ms for a bare
// handler). The committer instead starts a commit at once when none is
// running, and every call that arrives while a commit (and its fsync) runs
// joins the next one: acknowledge latency approaches one fsync under load,
// and a lone call costs exactly one. Options.CommitDelay adds bbolt's kind
// of fixed wait back for a workload that prefers fewer, larger commits.
//
// There is no goroutine of its own: the caller that finds no commit running
// leads, commits what is pending (its own call included), then hands the
// lead to the first call that queued meanwhile, so no caller commits more
// than two groups before it returns.

// maxGroup bounds the calls one transaction carries (bbolt's
// DefaultMaxBatchSize).
const maxGroup = 1000

type committer struct {
	update func(func(*bbolt.Tx) error) error // one read-write transaction, fsynced
	path   string                            // for *PanicError
	delay  time.Duration                     // wait before each commit; 0: none
	max    int

	mu      sync.Mutex
	idle    sync.Cond // broadcast when leading turns false
	pending []*groupCall
	leading bool
	closed  bool
	stats   CommitStats
}

// CommitStats describe the group commit behind Enqueue and Ack since Open:
// the groups committed, the calls they carried and the time spent
// committing them (transaction and fsync). Busy close to the elapsed time
// means commits ran back to back: the rate is then capped by the commit.
type CommitStats struct {
	Groups, Calls int64
	Busy          time.Duration
}

// CommitStats returns the group commit's counters.
func (s *Store) CommitStats() CommitStats {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.stats
}

type groupCall struct {
	fn   func(*bbolt.Tx) error
	done chan groupResult // capacity 1: a lead, then (after it) the result
}

type groupResult struct {
	err  error
	lead bool // the receiver now commits the pending calls
}

func newCommitter(update func(func(*bbolt.Tx) error) error, path string, delay time.Duration) *committer {
	c := &committer{update: update, path: path, delay: delay, max: maxGroup}
	c.idle.L = &c.mu
	return c
}

// run commits fn in a transaction shared with concurrent calls and returns
// once that transaction is fsynced. As with bbolt's Batch, fn may run more
// than once: when one call's fn fails, the transaction is rolled back and
// retried without it, so only that call sees its error; a failed commit
// fails the calls of that group only. After close, run fails with
// store.ErrClosed.
func (c *committer) run(fn func(*bbolt.Tx) error) error {
	call := &groupCall{fn: fn, done: make(chan groupResult, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return store.ErrClosed
	}
	c.pending = append(c.pending, call)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if lead {
		c.commitNext()
	}
	for {
		r := <-call.done
		if !r.lead {
			return r.err
		}
		c.commitNext()
	}
}

// commitNext commits up to max pending calls, delivers their results, then
// passes the lead to the next pending call or, when there is none, ends it.
func (c *committer) commitNext() {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.mu.Lock()
	n := min(len(c.pending), c.max)
	group := slices.Clone(c.pending[:n])
	c.pending = slices.Delete(c.pending, 0, n)
	c.mu.Unlock()

	start := time.Now()
	c.commit(group)
	busy := time.Since(start)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Groups++
	c.stats.Calls += int64(len(group))
	c.stats.Busy += busy
	if len(c.pending) > 0 {
		c.pending[0].done <- groupResult{lead: true}
		return
	}
	c.leading = false
	c.idle.Broadcast()
}

// commit runs group's calls in one transaction, dropping a call whose fn
// fails (it gets its error) and retrying the rest.
func (c *committer) commit(group []*groupCall) {
	for len(group) > 0 {
		failed := -1
		err := c.update(func(tx *bbolt.Tx) error {
			for i, call := range group {
				if err := c.safely(call.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, call := range group {
				call.done <- groupResult{err: err}
			}
			return
		}
		group[failed].done <- groupResult{err: err}
		group = slices.Delete(group, failed, failed+1)
	}
}

// safely runs fn, turning a panic (or a fault reading a damaged page) into
// its caller's error instead of the whole group's.
func (c *committer) safely(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer guard(c.path, "writing", &err)()
	return fn(tx)
}

// close makes later calls fail with store.ErrClosed and waits until every
// call already queued is committed.
func (c *committer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.leading {
		c.idle.Wait()
	}
}
