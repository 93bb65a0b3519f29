package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// The webhook queue. Enqueue commits events (and their dedupe IDs) with
// bbolt's group commit, so many concurrent webhook requests share one fsync.
// Workers Claim due events in sequence order, at most one in flight per
// ordering key, so the events of one account or object are handled in the
// order they arrived. Claims live in memory only: after a restart every
// unacknowledged event is pending again.
//
// A queue value is an 8-byte due time, a uvarint-prefixed ordering key, then
// the event's JSON, so Claim scans without decoding JSON.

func queueValue(e *store.QueuedEvent) ([]byte, error) {
	js, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", e.Event.ID, err)
	}
	key := e.OrderKey()
	v := make([]byte, 0, 8+binary.MaxVarintLen64+len(key)+len(js))
	v = appendTime(v, e.Due)
	v = binary.AppendUvarint(v, uint64(len(key)))
	v = append(v, key...)
	return append(v, js...), nil
}

// queueHeader reads the due time and ordering key of a queue value and
// returns the offset of its JSON.
func queueHeader(v []byte) (due time.Time, key string, js []byte, err error) {
	if len(v) < 9 {
		return time.Time{}, "", nil, store.ErrCorrupt
	}
	n, w := binary.Uvarint(v[8:])
	if w <= 0 || uint64(len(v)-8-w) < n {
		return time.Time{}, "", nil, store.ErrCorrupt
	}
	start := 8 + w
	return readTime(v), string(v[start : start+int(n)]), v[start+int(n):], nil
}

func decodeQueued(k, v []byte) (store.QueuedEvent, error) {
	_, _, js, err := queueHeader(v)
	if err != nil {
		return store.QueuedEvent{}, fmt.Errorf("queue entry %d: %w", readSeq(k), err)
	}
	var e store.QueuedEvent
	if err := json.Unmarshal(js, &e); err != nil {
		return store.QueuedEvent{}, fmt.Errorf("queue entry %d: %w: %v", readSeq(k), store.ErrCorrupt, err)
	}
	e.Seq = readSeq(k)
	return e, nil
}

// Enqueue durably queues events, skipping those whose (Connector, Event.ID)
// was queued within the dedupe TTL; dup[i] reports such a duplicate. Events
// with an empty Event.ID are never deduplicated. Concurrent calls share one
// transaction and one fsync (bbolt's Batch). Seq, and Enqueued and Due when
// zero, are set on the events passed in.
func (s *Store) Enqueue(events []store.QueuedEvent) (dup []bool, err error) {
	now := s.now().UTC()
	vals := make([][]byte, len(events))
	for i := range events {
		e := &events[i]
		if e.Enqueued.IsZero() {
			e.Enqueued = now
		}
		if e.Due.IsZero() {
			e.Due = now
		}
		if e.Key == "" {
			e.Key = e.OrderKey()
		}
		if vals[i], err = queueValue(e); err != nil {
			return nil, err
		}
	}
	if s.inbox != nil {
		return s.logEnqueue(events, vals, now)
	}
	expires := appendTime(nil, now.Add(s.ttl))
	err = s.batch(func(tx *bbolt.Tx) error {
		// Batch may run this more than once; start from scratch each time.
		dup = make([]bool, len(events))
		q, dd, dx := tx.Bucket(bucketQueue), tx.Bucket(bucketDedupe), tx.Bucket(bucketDedupeExpiry)
		for i := range events {
			e := &events[i]
			if e.Event.ID != "" {
				dk := joinKey(e.Connector, e.Event.ID)
				if old := dd.Get(dk); old != nil {
					if readTime(old).After(now) {
						dup[i] = true
						continue
					}
					if err := dx.Delete(append(clone(old), dk...)); err != nil {
						return err
					}
				}
				if err := dd.Put(dk, expires); err != nil {
					return err
				}
				if err := dx.Put(append(clone(expires), dk...), []byte{}); err != nil {
					return err
				}
			}
			seq, err := q.NextSequence()
			if err != nil {
				return err
			}
			e.Seq = seq
			if err := q.Put(seqKey(seq), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueueing events: %w", err)
	}
	s.queued.addQueued(events, dup)
	return dup, nil
}

// Claim returns up to n events due at now, in Seq order, skipping any whose
// ordering key has an event in flight or an earlier event not yet due. The
// caller must Ack, Retry or DeadLetter each claimed event.
func (s *Store) Claim(n int, now time.Time) ([]store.QueuedEvent, error) {
	if err := s.caughtUp(); err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.QueuedEvent
	claimed := map[string]int{} // key -> index in out, for coalescing
	open := map[string]bool{}   // the claimed event's duplicates may still follow
	err := s.view(func(tx *bbolt.Tx) error {
		blocked := map[string]bool{}
		scanned := 0
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			due, key, _, err := queueHeader(v)
			if err != nil {
				return fmt.Errorf("queue entry %d: %w", readSeq(k), err)
			}
			seq := readSeq(k)
			if i, ok := claimed[key]; ok && open[key] {
				// Coalesce: a later copy of the same event (same
				// connector, type and object) is covered by processing
				// the claimed one, which reads the object's current state.
				e, err := decodeQueued(k, v)
				if err != nil {
					return err
				}
				p := &out[i]
				if !due.After(now) && len(p.Covers) < maxCovers && e.Connector == p.Connector && e.Event.Type == p.Event.Type &&
					e.Event.ObjectType == p.Event.ObjectType && e.Event.ObjectID == p.Event.ObjectID {
					p.Covers = append(p.Covers, seq)
					continue
				}
				open[key] = false
				continue
			}
			if len(out) >= n {
				// Look a bounded distance further for copies to coalesce.
				if len(claimed) == 0 || scanned > coalesceLookahead {
					break
				}
				scanned++
				continue
			}
			if _, busy := s.busyKeys[key]; busy || blocked[key] || due.After(now) {
				blocked[key] = true
				continue
			}
			if _, mine := s.inflight[seq]; mine {
				blocked[key] = true
				continue
			}
			e, err := decodeQueued(k, v)
			if err != nil {
				return err
			}
			claimed[key] = len(out)
			open[key] = true
			out = append(out, e)
			blocked[key] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	for _, e := range out {
		s.inflight[e.Seq] = e.Key
		s.busyKeys[e.Key] = e.Seq
		if len(e.Covers) > 0 {
			s.covers[e.Seq] = e.Covers
		}
	}
	return out, nil
}

// maxCovers bounds how many queued copies one claim acknowledges;
// coalesceLookahead how many entries Claim reads past its last claim.
const (
	maxCovers         = 1000
	coalesceLookahead = 5000
)

func (s *Store) release(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.covers, seq)
	if key, ok := s.inflight[seq]; ok {
		delete(s.inflight, seq)
		if s.busyKeys[key] == seq {
			delete(s.busyKeys, key)
		}
	}
}

// Ack removes a processed event from the queue. Its dedupe ID stays until
// it expires. Concurrent Acks share a transaction.
func (s *Store) Ack(seq uint64) error {
	s.mu.Lock()
	covers := s.covers[seq]
	s.mu.Unlock()
	defer s.release(seq)
	var conn string // the event's connector, its covered copies' too
	gone := 0
	err := s.batch(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		v := q.Get(seqKey(seq))
		if v == nil {
			return store.ErrNotFound
		}
		conn, gone = entryConnector(v), 1
		for _, c := range covers {
			if q.Get(seqKey(c)) != nil {
				gone++
			}
			if err := q.Delete(seqKey(c)); err != nil {
				return err
			}
		}
		return q.Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("acknowledging event %d: %w", seq, err)
	}
	s.queued.add(conn, -gone)
	return nil
}

// queuedAt reads the queued event seq from q (store.ErrNotFound when it
// is not there).
func queuedAt(q *bbolt.Bucket, seq uint64) (store.QueuedEvent, error) {
	v := q.Get(seqKey(seq))
	if v == nil {
		return store.QueuedEvent{}, store.ErrNotFound
	}
	return decodeQueued(seqKey(seq), v)
}

// Retry counts a failed attempt, records the error and makes the event due
// again at at. Later events with the same ordering key wait behind it.
func (s *Store) Retry(seq uint64, at time.Time, cause error) error {
	defer s.release(seq)
	err := s.update(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		e, err := queuedAt(q, seq)
		if err != nil {
			return err
		}
		e.Attempts++
		e.Due = at.UTC()
		e.LastError = errText(cause)
		nv, err := queueValue(&e)
		if err != nil {
			return err
		}
		return q.Put(seqKey(seq), nv)
	})
	if err != nil {
		return fmt.Errorf("retrying event %d: %w", seq, err)
	}
	return nil
}

// DeadLetter moves an event that keeps failing out of the queue, keeping
// it (with the error) for inspection and Replay.
func (s *Store) DeadLetter(seq uint64, cause error) error {
	defer s.release(seq)
	var conn string
	err := s.update(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		e, err := queuedAt(q, seq)
		if err != nil {
			return err
		}
		conn = e.Connector
		e.Attempts++
		e.LastError = errText(cause)
		e.DeadAt = s.now().UTC()
		nv, err := queueValue(&e)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketDeadLetters).Put(seqKey(seq), nv); err != nil {
			return err
		}
		return q.Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("dead-lettering event %d: %w", seq, err)
	}
	s.queued.add(conn, -1)
	return nil
}

// DeadLetters lists dead-lettered events in their original Seq order.
func (s *Store) DeadLetters() ([]store.QueuedEvent, error) {
	var out []store.QueuedEvent
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketDeadLetters).ForEach(func(k, v []byte) error {
			e, err := decodeQueued(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letter seq back to the end of the queue, due now, with
// its attempts reset. It returns the event's new Seq.
func (s *Store) Replay(seq uint64) (uint64, error) {
	reserved, err := s.reserveSeq()
	if err != nil {
		return 0, fmt.Errorf("replaying event %d: %w", seq, err)
	}
	var next uint64
	var conn string
	err = s.update(func(tx *bbolt.Tx) error {
		dl := tx.Bucket(bucketDeadLetters)
		v := dl.Get(seqKey(seq))
		if v == nil {
			return store.ErrNotFound
		}
		e, err := decodeQueued(seqKey(seq), v)
		if err != nil {
			return err
		}
		e.Attempts, e.DeadAt, e.Due = 0, time.Time{}, s.now().UTC()
		conn = e.Connector
		nv, err := queueValue(&e)
		if err != nil {
			return err
		}
		q := tx.Bucket(bucketQueue)
		if next, err = queueSeq(q, reserved); err != nil {
			return err
		}
		if err := q.Put(seqKey(next), nv); err != nil {
			return err
		}
		return dl.Delete(seqKey(seq))
	})
	if err != nil {
		return 0, fmt.Errorf("replaying event %d: %w", seq, err)
	}
	s.queued.add(conn, 1)
	return next, nil
}

// QueueDepth is the number of queued events, in flight or not, and of dead
// letters.
func (s *Store) QueueDepth() (queued, dead int, err error) {
	if err := s.caughtUp(); err != nil {
		return 0, 0, err
	}
	err = s.view(func(tx *bbolt.Tx) error {
		queued = tx.Bucket(bucketQueue).Stats().KeyN
		dead = tx.Bucket(bucketDeadLetters).Stats().KeyN
		return nil
	})
	return queued, dead, err
}

// InFlight is the number of claimed, unfinished events.
func (s *Store) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

// SweepDedupe forgets event IDs whose dedupe window ended at or before now
// and returns how many it removed.
func (s *Store) SweepDedupe(now time.Time) (int, error) {
	if err := s.caughtUp(); err != nil {
		return 0, fmt.Errorf("sweeping dedupe IDs: %w", err)
	}
	n := 0
	limit := timeBits(now)
	err := s.update(func(tx *bbolt.Tx) error {
		n = 0
		dd, dx := tx.Bucket(bucketDedupe), tx.Bucket(bucketDedupeExpiry)
		c := dx.Cursor()
		for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) <= limit; k, _ = c.First() {
			dk := clone(k[8:])
			if err := c.Delete(); err != nil {
				return err
			}
			if cur := dd.Get(dk); cur != nil && binary.BigEndian.Uint64(cur) <= limit {
				if err := dd.Delete(dk); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweeping dedupe IDs: %w", err)
	}
	return n, nil
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
