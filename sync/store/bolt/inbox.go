package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// The inbox log in front of the webhook queue (issue 14). A bbolt commit
// (page spill, two fdatasyncs, freelist) took about 1.3 ms under webhook
// load and commits ran back to back, which capped verified ingest at about
// a fifth of a bare HTTP handler's rate. Enqueue now appends its events to
// an append-only log (inbox_log.go) instead: concurrent calls share one
// write and ONE fdatasync, a group starting as soon as the previous one
// ends (as commit.go does for bbolt), and Enqueue returns only after its
// group's fdatasync, so a webhook's 2xx still follows durability.
//
// A mover goroutine then moves logged events into the bbolt queue in large
// batches (one commit, shared with Acks through commit.go, for up to
// inboxMoveMax events) and recycles a segment once all its events are in
// bbolt. Every read of the queue (Claim, QueueDepth, Replay, Export,
// WriteTo) first waits until the mover has moved what was logged before it
// (caughtUp), so it sees every acknowledged event. Close drains the mover
// and removes the log. Open moves what a crash left in the log into bbolt
// before anything else (inbox_move.go).
//
// Seq numbers are assigned here, in log order, from a counter that starts
// at the queue bucket's sequence; a move raises the bucket's sequence to
// the last Seq it moved, so the bucket's sequence S always means "every
// logged event with Seq <= S is in bbolt" and replay skips them (an event
// acknowledged and removed from the queue is never replayed). Replay of a
// dead letter takes its Seq from the same counter and waits for the events
// before it to be moved first, which keeps that meaning.
//
// De-duplication: an event ID is a duplicate when it is in bbolt's dedupe
// bucket (unexpired) or logged and not yet moved. The latter are held in
// ids from the moment an Enqueue claims them until the mover's commit, so
// every check looks first at ids and then at bbolt (a move removes an ID
// from ids only after it is in bbolt). A duplicate of an event still being
// logged answers only once that event's write is durable.
//
// A failed write or fdatasync of the log stops the log for good (the page
// cache's state after a failed fdatasync is unknown): later Enqueues fail
// until the store is reopened, which replays what the log holds.
//
// Concurrency: mu guards every field below it; the writer goroutine owns
// the active segment's file and offset; the mover goroutine owns nothing
// but its batch. Lock order: inbox.mu is never held while calling into
// bbolt or commit.go.

// inboxMoveMax bounds the events one move commits.
const inboxMoveMax = 4096

type inbox struct {
	s       *Store
	dir     string
	noSync  bool
	segSize int64
	wg      sync.WaitGroup // the writer and the mover

	mu         sync.Mutex
	work       sync.Cond // the writer waits for a pending group
	movable    sync.Cond // the mover waits for logged events
	moved      sync.Cond // caughtUp waits for the mover
	seq        uint64    // the last Seq assigned
	logSeq     uint64    // the last Seq assigned to a logged event
	pending    *logGroup
	ids        map[string]*enqueueCall // dedupe keys logged or being logged, not yet in bbolt
	failed     error                   // the log is stopped
	closing    bool                    // no more Enqueues; the writer ends when pending is written
	written    bool                    // the writer has ended
	toMove     [][]byte                // bodies durable in the log, not yet in bbolt, in Seq order
	since      time.Time               // when toMove last became non-empty
	readers    int                     // caughtUp calls waiting for the mover
	alarmAt    time.Time               // when an armed timer wakes the mover; zero: none armed
	movedTo    uint64                  // highest Seq in bbolt
	moveErr    error                   // the mover's last attempt failed
	paused     bool                    // tests: the mover is stopped
	abandon    bool                    // tests: the mover ends without moving (a crash)
	segs       []*segment              // segments holding events not yet moved; the active one last
	free       []*segment              // segments whose events are all in bbolt
	nextGen    uint64
	stats      InboxStats
	gather     time.Duration // the writer's gathering wait under load: gatherLocked
	busyWindow time.Duration // logBusyWindow; tests widen it
	lastEnd    time.Time     // when the writer's last write ended
	stopOnce   sync.Once
}

// logGroup is the events of concurrent Enqueues written with one fdatasync.
type logGroup struct {
	bodies [][]byte
	done   chan struct{} // closed when written (err nil) or failed
	err    error
}

// enqueueCall is one Enqueue, for the duplicates that wait on its outcome.
type enqueueCall struct {
	done    chan struct{}
	err     error
	expires time.Time // the end of its events' dedupe window
}

// InboxStats describe the inbox log since Open: the groups written (one
// fdatasync each), the events they carried and the time spent writing
// them; the moves into bbolt and the events they carried.
type InboxStats struct {
	Groups, Events int64
	Busy           time.Duration
	Moves, Moved   int64
}

// InboxStats returns the inbox log's counters (zero without the log).
func (s *Store) InboxStats() InboxStats {
	if s.inbox == nil {
		return InboxStats{}
	}
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	return s.inbox.stats
}

func newLogGroup() *logGroup { return &logGroup{done: make(chan struct{})} }

// enqueue is Store.Enqueue through the log: vals are the events' queue
// values, expires the end of their dedupe window.
func (in *inbox) enqueue(events []store.QueuedEvent, vals [][]byte, now, expires time.Time) ([]bool, error) {
	me := &enqueueCall{done: make(chan struct{}), expires: expires}
	defer close(me.done)
	dup, dks, mine, waits, err := in.claimIDs(events, me, now)
	if err != nil {
		me.err = err
		return nil, err
	}

	// IDs already moved are in bbolt: they left ids only after the move's
	// commit, so this read, which starts after the check above, sees them.
	if len(mine) > 0 {
		err = in.s.view(func(tx *bbolt.Tx) error {
			dd := tx.Bucket(bucketDedupe)
			for _, i := range mine {
				if old := dd.Get(dks[i]); old != nil && readTime(old).After(now) {
					dup[i] = true
				}
			}
			return nil
		})
	}
	var bodies [][]byte
	if err == nil {
		for i := range events {
			if !dup[i] {
				bodies = append(bodies, logBody(dks[i], expires, vals[i]))
			}
		}
	}

	in.mu.Lock()
	if err == nil {
		err = in.usable()
	}
	if err != nil {
		for _, i := range mine {
			delete(in.ids, string(dks[i]))
		}
		in.mu.Unlock()
		me.err = err
		return nil, err
	}
	var g *logGroup
	if len(bodies) > 0 {
		g = in.pending
		j := 0
		for i := range events {
			if dup[i] {
				continue
			}
			in.seq++
			in.logSeq = in.seq
			events[i].Seq = in.seq
			setBodySeq(bodies[j], in.seq)
			j++
		}
		g.bodies = append(g.bodies, bodies...)
		in.work.Signal()
	}
	for _, i := range mine {
		if dup[i] {
			delete(in.ids, string(dks[i])) // it is in bbolt
		}
	}
	in.mu.Unlock()

	if g != nil {
		<-g.done
		if g.err != nil {
			me.err = g.err
			return nil, g.err
		}
	}
	for _, c := range waits {
		<-c.done
		if c.err != nil {
			me.err = c.err
			return nil, c.err
		}
	}
	return dup, nil
}

// claimIDs is Enqueue's first step: it marks each event that is a
// duplicate of one logged and not yet moved (waits lists the calls logging
// those) or of one earlier in events, and claims the other IDs for me in
// ids (mine). An ID logged whose dedupe window ended before now (a clock
// that jumped, a tiny TTL) is waited for until it is in bbolt, where the
// usual expiry rule decides; then the step starts again.
func (in *inbox) claimIDs(events []store.QueuedEvent, me *enqueueCall, now time.Time) (dup []bool, dks [][]byte, mine []int, waits []*enqueueCall, err error) {
	for {
		dup, dks, mine, waits = make([]bool, len(events)), make([][]byte, len(events)), nil, nil
		var stale *enqueueCall
		in.mu.Lock()
		if err := in.usable(); err != nil {
			in.mu.Unlock()
			return nil, nil, nil, nil, err
		}
		for i := range events {
			if events[i].Event.ID == "" {
				continue
			}
			dks[i] = joinKey(events[i].Connector, events[i].Event.ID)
			if c, ok := in.ids[string(dks[i])]; ok {
				if c != me && !c.expires.After(now) {
					stale = c
					break
				}
				dup[i] = true
				if c != me {
					waits = append(waits, c)
				}
				continue
			}
			in.ids[string(dks[i])] = me
			mine = append(mine, i)
		}
		if stale == nil {
			in.mu.Unlock()
			return dup, dks, mine, waits, nil
		}
		for _, i := range mine {
			delete(in.ids, string(dks[i]))
		}
		in.mu.Unlock()
		<-stale.done
		in.mu.Lock()
		target := in.logSeq
		in.mu.Unlock()
		if err := in.caughtUp(target); err != nil {
			return nil, nil, nil, nil, err
		}
	}
}

// usable is nil when Enqueue may log. Call with mu held.
func (in *inbox) usable() error {
	switch {
	case in.closing:
		return store.ErrClosed
	case in.failed != nil:
		return in.failed
	}
	return nil
}

// writeLoop is the writer goroutine: it writes each pending group with one
// fdatasync and hands its events to the mover.
func (in *inbox) writeLoop() {
	defer in.wg.Done()
	for {
		in.mu.Lock()
		for len(in.pending.bodies) == 0 && !in.closing {
			in.work.Wait()
		}
		in.gatherLocked()
		g := in.pending
		if len(g.bodies) == 0 {
			in.written = true
			in.movable.Broadcast()
			in.moved.Broadcast()
			in.mu.Unlock()
			return
		}
		in.pending = newLogGroup()
		err := in.failed
		in.mu.Unlock()

		start := time.Now()
		if err == nil {
			err = in.write(g.bodies)
		}
		busy := time.Since(start)

		in.mu.Lock()
		if err != nil {
			if in.failed == nil {
				in.failed = fmt.Errorf("writing the inbox log: %w", err)
			}
			g.err = in.failed
			for _, b := range g.bodies {
				if e, perr := parseBody(b); perr == nil && e.dk != nil {
					delete(in.ids, string(e.dk))
				}
			}
		} else {
			if len(in.toMove) == 0 {
				in.since = time.Now()
			}
			in.toMove = append(in.toMove, g.bodies...)
			in.stats.Groups++
			in.stats.Events += int64(len(g.bodies))
			in.stats.Busy += busy
			in.movable.Signal()
		}
		in.lastEnd = time.Now()
		in.mu.Unlock()
		close(g.done)
	}
}

// logGatherMin is how many events end the writer's gathering early.
const logGatherMin = 16

// logBusyWindow: the writer gathers only when its previous write ended
// less than this before the next event came, that is under load; a lone
// webhook after a quiet spell is written at once.
const logBusyWindow = 2 * time.Millisecond

// gatherLocked is the writer's wait before a write while the log is busy:
// up to in.gather (store.log_gather), or until logGatherMin events are
// pending, so that one fdatasync carries more of them. Under a 32-sender
// load on a 2-core VM, 200µs took the events per write from about 3 to
// about 10 and verified ingest from 17% to 26% of a bare handler's rate
// (processing concurrently; 30% to 36% with processing paused). The
// caller holds mu with events pending.
func (in *inbox) gatherLocked() {
	if in.gather <= 0 || in.closing || time.Since(in.lastEnd) >= in.busyWindow {
		return
	}
	deadline := time.Now().Add(in.gather)
	for len(in.pending.bodies) < logGatherMin && !in.closing {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		t := time.AfterFunc(left, func() {
			in.mu.Lock()
			in.work.Broadcast()
			in.mu.Unlock()
		})
		in.work.Wait()
		t.Stop()
	}
}

// write appends bodies to the log, moving to the next segment when the
// active one is full, and makes them durable.
func (in *inbox) write(bodies [][]byte) error {
	in.mu.Lock()
	var seg *segment
	if len(in.segs) > 0 {
		seg = in.segs[len(in.segs)-1]
	}
	in.mu.Unlock()
	var buf []byte
	var last uint64
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := seg.f.WriteAt(buf, seg.off); err != nil {
			return err
		}
		if !in.noSync {
			if err := datasync(seg.f); err != nil {
				return err
			}
		}
		seg.off += int64(len(buf))
		buf = buf[:0]
		in.mu.Lock()
		seg.last = last
		in.mu.Unlock()
		return nil
	}
	for _, b := range bodies {
		need := int64(recHeaderSize + len(b))
		if seg == nil || seg.off+int64(len(buf))+need > seg.size {
			if err := flush(); err != nil {
				return err
			}
			next, err := in.nextSegment(segHeaderSize + need)
			if err != nil {
				return err
			}
			seg = next
		}
		buf = appendRecord(buf, seg.gen, b)
		last = readSeq(b)
	}
	return flush()
}

// nextSegment makes a free segment (or a new one) of at least need bytes
// the active segment.
func (in *inbox) nextSegment(need int64) (*segment, error) {
	in.mu.Lock()
	var seg *segment
	if n := len(in.free); n > 0 && in.free[n-1].size >= need {
		seg = in.free[n-1]
		in.free = in.free[:n-1]
	}
	gen := in.nextGen
	in.nextGen++
	in.mu.Unlock()

	var err error
	if seg != nil {
		err = seg.recycle(gen)
	} else {
		if err = os.MkdirAll(in.dir, 0o700); err == nil {
			err = syncDir(filepath.Dir(in.dir))
		}
		if err == nil {
			seg, err = createSegment(in.dir, gen, max(in.segSize, need))
		}
	}
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	in.segs = append(in.segs, seg)
	in.mu.Unlock()
	return seg, nil
}

// caughtUp waits until every event logged with a Seq up to target is in
// bbolt; target 0 means every event logged before the call.
func (in *inbox) caughtUp(target uint64) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if target == 0 {
		target = in.loggedTo()
	}
	for in.movedTo < target {
		if in.failed != nil && target > in.loggedTo() {
			return in.failed
		}
		if in.moveErr != nil {
			return fmt.Errorf("moving logged events into the queue: %w", in.moveErr)
		}
		if in.written && in.abandon {
			return store.ErrClosed
		}
		in.readers++
		in.movable.Signal() // a reader waits: move now
		in.moved.Wait()
		in.readers--
	}
	return nil
}

// loggedTo is the highest Seq durable in the log. Call with mu held.
func (in *inbox) loggedTo() uint64 {
	if n := len(in.toMove); n > 0 {
		return readSeq(in.toMove[n-1])
	}
	return in.movedTo
}

// close stops Enqueue, waits for the writer and the mover to finish what
// was logged, and removes the log when all of it is in bbolt.
func (in *inbox) close() {
	in.stopOnce.Do(func() {
		in.mu.Lock()
		in.closing = true
		in.paused = false
		in.work.Broadcast()
		in.movable.Broadcast()
		in.mu.Unlock()
		in.wg.Wait()

		in.mu.Lock()
		defer in.mu.Unlock()
		drained := len(in.toMove) == 0 && in.failed == nil && !in.abandon
		for _, seg := range append(in.segs, in.free...) {
			seg.f.Close()
			if drained {
				os.Remove(seg.path)
			}
		}
		in.segs, in.free = nil, nil
		if drained {
			os.Remove(in.dir) // only when empty
		}
	})
}

// logEnqueue is Enqueue's path through the inbox log.
func (s *Store) logEnqueue(events []store.QueuedEvent, vals [][]byte, now time.Time) ([]bool, error) {
	dup, err := s.inbox.enqueue(events, vals, now, now.Add(s.ttl))
	if err != nil {
		return nil, fmt.Errorf("enqueueing events: %w", err)
	}
	// Logged is durably queued: the counts move now, not when the mover
	// puts the events into bbolt.
	s.queued.addQueued(events, dup)
	return dup, nil
}

// caughtUp waits until every event logged before the call is in bbolt, so a
// read of the queue that follows sees every acknowledged event. Without the
// inbox log it returns at once.
func (s *Store) caughtUp() error {
	if s.inbox == nil {
		return nil
	}
	return s.inbox.caughtUp(0)
}

// reserveSeq takes the next queue Seq for an event put into bbolt directly
// (Replay) and waits until every event with a lower Seq is in bbolt. It
// returns 0 without the inbox log: the caller then uses the bucket's
// NextSequence.
func (s *Store) reserveSeq() (uint64, error) {
	if s.inbox == nil {
		return 0, nil
	}
	in := s.inbox
	in.mu.Lock()
	if err := in.usable(); err != nil {
		in.mu.Unlock()
		return 0, err
	}
	in.seq++
	seq, target := in.seq, in.logSeq
	in.mu.Unlock()
	if target == 0 {
		return seq, nil
	}
	return seq, in.caughtUp(target)
}

// queueSeq is the Seq for a reserved one (see reserveSeq), raising q's
// sequence to it, or q's next sequence when none is reserved.
func queueSeq(q *bbolt.Bucket, reserved uint64) (uint64, error) {
	if reserved == 0 {
		return q.NextSequence()
	}
	if q.Sequence() < reserved {
		if err := q.SetSequence(reserved); err != nil {
			return 0, err
		}
	}
	return reserved, nil
}

// afterImport raises the Seq counter to the queue sequence an Import set.
func (s *Store) afterImport(seq uint64) {
	if s.inbox == nil {
		return
	}
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	s.inbox.seq = max(s.inbox.seq, seq)
	s.inbox.movedTo = max(s.inbox.movedTo, seq)
}
