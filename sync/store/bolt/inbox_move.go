package bolt

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Moving the inbox log's events into the bbolt queue: the mover goroutine
// while the store is open, and the replay of what a crash left at Open.
// inbox.go describes the design.

// inboxMoveDelay is how long logged events may wait for a larger move when
// no reader waits for them; inboxReaderDelay when one does (the webhook
// workers' Claim). Each move is a bbolt commit, two fdatasyncs on the disk
// the log's own fdatasync waits for: moving at every log write (a move as
// soon as the last ended) made each log write 1.2-1.4 ms instead of
// 0.3 ms and held verified ingest at 20-26% of a bare handler's rate, the
// longer wait at 29% (loadtest, processing paused).
const (
	inboxMoveDelay   = 100 * time.Millisecond
	inboxReaderDelay = 10 * time.Millisecond
)

// maxFreeSegments is how many emptied segments are kept for recycling; more
// are deleted.
const maxFreeSegments = 2

// openInbox moves what the log at path.inbox holds beyond the queue
// bucket's sequence into bbolt, keeps its files for recycling, and starts
// the writer and the mover.
func (s *Store) openInbox(noSync bool, segSize int64, gather time.Duration) error {
	in := &inbox{s: s, dir: s.path + ".inbox", noSync: noSync, segSize: segSize, gather: gather, busyWindow: logBusyWindow,
		pending: newLogGroup(), ids: map[string]*enqueueCall{}, nextGen: 1}
	in.work.L, in.movable.L, in.moved.L = &in.mu, &in.mu, &in.mu
	if err := in.replay(); err != nil {
		for _, seg := range in.free {
			seg.f.Close()
		}
		return fmt.Errorf("replaying the inbox log %s: %w", in.dir, err)
	}
	err := s.view(func(tx *bbolt.Tx) error {
		in.seq = tx.Bucket(bucketQueue).Sequence()
		return nil
	})
	if err != nil {
		return err
	}
	in.movedTo = in.seq
	s.inbox = in
	in.wg.Add(2)
	go in.writeLoop()
	go in.moveLoop()
	return nil
}

// replay reads every segment in generation order and moves the events
// after the queue bucket's sequence into bbolt. A file without a valid
// header (a crash while it was created, before any record) is removed.
func (in *inbox) replay() error {
	entries, err := os.ReadDir(in.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var segs []*segment
	defer func() { in.free = segs }()
	for _, de := range entries {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ".log") {
			continue
		}
		path := filepath.Join(in.dir, de.Name())
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		h := make([]byte, segHeaderSize)
		_, rerr := f.ReadAt(h, 0)
		gen, ok := parseSegHeader(h)
		fi, serr := f.Stat()
		if rerr != nil || serr != nil || !ok {
			f.Close()
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		segs = append(segs, &segment{f: f, path: path, gen: gen, size: fi.Size()})
		in.nextGen = max(in.nextGen, gen+1)
	}
	slices.SortFunc(segs, func(a, b *segment) int { return cmp.Compare(a.gen, b.gen) })

	var base uint64
	if err := in.s.view(func(tx *bbolt.Tx) error {
		base = tx.Bucket(bucketQueue).Sequence()
		return nil
	}); err != nil {
		return err
	}
	for _, seg := range segs {
		data := make([]byte, seg.size)
		n, err := seg.f.ReadAt(data, 0)
		if err != nil && n < len(data) && !errors.Is(err, io.EOF) {
			return err
		}
		bodies := unmoved(data[:n], seg.gen, base)
		for len(bodies) > 0 {
			batch := bodies[:min(len(bodies), inboxMoveMax)]
			if err := in.s.update(func(tx *bbolt.Tx) error { return moveTx(tx, batch) }); err != nil {
				return err
			}
			// Open counted the queue before this replay (queuecount.go).
			for _, b := range batch {
				if e, err := parseBody(b); err == nil {
					in.s.queued.add(entryConnector(e.val), 1)
				}
			}
			base = readSeq(batch[len(batch)-1])
			bodies = bodies[len(batch):]
		}
	}
	for len(segs) > maxFreeSegments {
		os.Remove(segs[0].path)
		segs[0].f.Close()
		segs = segs[1:]
	}
	return nil
}

// unmoved returns the bodies of a segment's valid records (data, of
// generation gen) that are not yet in bbolt: those after base, the queue
// bucket's sequence.
func unmoved(data []byte, gen, base uint64) [][]byte {
	bodies, _ := scanSegment(data, gen)
	return slices.DeleteFunc(bodies, func(b []byte) bool { return readSeq(b) <= base })
}

// countUnmoved counts, without changing anything, the events the log
// beside the store at path holds that are not yet in bbolt (base is the
// queue bucket's sequence): what the next Open moves in.
func countUnmoved(path string, base uint64) (int, error) {
	files, err := filepath.Glob(filepath.Join(path+".inbox", "*.log"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, fmt.Errorf("reading inbox segment: %w", err)
		}
		if gen, ok := parseSegHeader(data); ok {
			n += len(unmoved(data, gen, base))
		}
	}
	return n, nil
}

// moveTx puts logged events into the queue with their dedupe IDs and
// raises the queue's sequence to the last Seq moved. It can run again in a
// new transaction (commit.go retries a group) with the same result.
func moveTx(tx *bbolt.Tx, bodies [][]byte) error {
	q, dd, dx := tx.Bucket(bucketQueue), tx.Bucket(bucketDedupe), tx.Bucket(bucketDedupeExpiry)
	var last uint64
	for _, b := range bodies {
		e, err := parseBody(b)
		if err != nil {
			return fmt.Errorf("inbox entry %d: %w", readSeq(b), err)
		}
		if e.dk != nil {
			if old := dd.Get(e.dk); old != nil && !bytes.Equal(old, e.expires) {
				if err := dx.Delete(append(clone(old), e.dk...)); err != nil {
					return err
				}
			}
			if err := dd.Put(e.dk, e.expires); err != nil {
				return err
			}
			if err := dx.Put(append(clone(e.expires), e.dk...), []byte{}); err != nil {
				return err
			}
		}
		if err := q.Put(seqKey(e.seq), e.val); err != nil {
			return err
		}
		last = e.seq
	}
	if q.Sequence() < last {
		return q.SetSequence(last)
	}
	return nil
}

// moveLoop is the mover goroutine.
func (in *inbox) moveLoop() {
	defer in.wg.Done()
	backoff := time.Millisecond
	for {
		in.mu.Lock()
		for (len(in.toMove) == 0 || in.paused || in.abandon || in.canWait()) && !in.written {
			in.movable.Wait()
		}
		if len(in.toMove) == 0 || in.abandon {
			in.moved.Broadcast()
			in.mu.Unlock()
			return
		}
		batch := slices.Clone(in.toMove[:min(len(in.toMove), inboxMoveMax)])
		in.mu.Unlock()

		err := in.s.batch(func(tx *bbolt.Tx) error { return moveTx(tx, batch) })

		in.mu.Lock()
		if err != nil {
			in.moveErr = err
			in.moved.Broadcast()
			stop := in.written
			in.mu.Unlock()
			if stop {
				return // the events stay in the log; the next Open moves them
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		in.moveErr = nil
		in.toMove = in.toMove[len(batch):]
		if len(in.toMove) > 0 {
			in.since = time.Now() // the oldest left arrived during this move
		}
		in.movedTo = readSeq(batch[len(batch)-1])
		in.stats.Moves++
		in.stats.Moved += int64(len(batch))
		for _, b := range batch {
			if e, perr := parseBody(b); perr == nil && e.dk != nil {
				delete(in.ids, string(e.dk))
			}
		}
		extra := in.retire()
		in.moved.Broadcast()
		in.mu.Unlock()
		for _, seg := range extra {
			seg.f.Close()
			os.Remove(seg.path)
		}
	}
}

// canWait is true while the mover may let logged events gather for a
// larger move: there are fewer than inboxMoveMax/4 and the oldest was
// logged less than inboxMoveDelay ago (inboxReaderDelay while a reader
// waits for them). It arms a timer that wakes the mover when the delay
// ends, earlier than an armed one if a reader came. Call with mu held.
func (in *inbox) canWait() bool {
	if len(in.toMove) >= inboxMoveMax/4 {
		return false
	}
	delay := inboxMoveDelay
	if in.readers > 0 {
		delay = inboxReaderDelay
	}
	at := in.since.Add(delay)
	left := time.Until(at)
	if left <= 0 {
		return false
	}
	if in.alarmAt.IsZero() || at.Before(in.alarmAt) {
		in.alarmAt = at
		time.AfterFunc(left, func() {
			in.mu.Lock()
			defer in.mu.Unlock()
			if !in.alarmAt.After(at) {
				in.alarmAt = time.Time{}
			}
			in.movable.Broadcast()
		})
	}
	return true
}

// retire frees the segments, other than the active one, whose events are
// all in bbolt, and returns those beyond maxFreeSegments for deletion. Call
// with mu held.
func (in *inbox) retire() (extra []*segment) {
	for len(in.segs) > 1 && in.segs[0].last <= in.movedTo {
		in.free = append(in.free, in.segs[0])
		in.segs = in.segs[1:]
	}
	if n := len(in.free) - maxFreeSegments; n > 0 {
		extra = slices.Clone(in.free[:n])
		in.free = in.free[n:]
	}
	return extra
}
