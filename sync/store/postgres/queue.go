package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/sync/store"
)

// The webhook queue across replicas.
//
//   - Enqueue inserts each event's dedupe key (connector, event ID) under the
//     primary key of dedupe in the transaction that queues it: a redelivery
//     conflicts and is reported a duplicate, not queued. The receiver
//     answers 2xx after Enqueue returns, so after the commit.
//   - A key's head is its queued event with the lowest seq. Claim takes, in
//     seq order, due heads whose key has no live claim, locking them FOR
//     UPDATE SKIP LOCKED (concurrent claimers pass over each other's rows)
//     and inserting one row per key into claims, whose primary key is the
//     ordering key: at most one event per key is in flight across every
//     replica, whatever the timing.
//   - A claim carries claimed_by (this store value) and lease_until. A live
//     store renews its leases every Lease/3; when a store dies its claims
//     expire and the next Claim of any replica takes them over (ON CONFLICT
//     ... WHERE lease_until <= now). Close releases its claims at once.
//   - Ack, Retry and DeadLetter lock the event's row and then its claim (the
//     order Claim takes them, so they never deadlock with it), and refuse
//     with ErrClaimLost when another store value has taken the claim over.
//
// Covered copies (see store.Queue) are found by Claim in SQL, from the
// columns event_type, object_type and object_id of the key's following rows,
// and kept in memory by the store value that claimed; a replica that takes
// a claim over finds them again.

// maxCovers bounds how many queued copies one claim acknowledges.
const maxCovers = 1000

// Enqueue durably queues events in one transaction, reporting duplicates
// (see store.Queue).
func (s *Store) Enqueue(events []store.QueuedEvent) (dup []bool, err error) {
	now := s.now()
	docs := make([][]byte, len(events))
	for i := range events {
		e := &events[i]
		if e.Enqueued.IsZero() {
			e.Enqueued = now
		}
		if e.Due.IsZero() {
			e.Due = now
		}
		if e.Key == "" {
			e.Key = e.Connector + "/" + e.Event.ObjectType + "/" + e.Event.ObjectID
		}
		if docs[i], err = json.Marshal(e.Event); err != nil {
			return nil, fmt.Errorf("enqueueing events: encoding event %s: %w", e.Event.ID, err)
		}
	}
	seqs := make([]uint64, len(events))
	err = s.tx(func(ctx context.Context, tx pgx.Tx) error {
		dup = make([]bool, len(events))
		var b pgx.Batch
		for i := range events {
			e := &events[i]
			args := []any{e.Connector, e.Key, docs[i], e.Event.Type, e.Event.ObjectType, e.Event.ObjectID,
				e.Attempts, e.Due.UTC(), e.Enqueued.UTC(), e.LastError}
			q := `INSERT INTO queue (` + queueCols + `)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq`
			if e.Event.ID != "" {
				q = `WITH d AS (
					INSERT INTO dedupe (connector, event_id, expires) VALUES ($1, $11, $12)
					ON CONFLICT (connector, event_id) DO UPDATE SET expires = EXCLUDED.expires WHERE dedupe.expires <= $13
					RETURNING 1)
				INSERT INTO queue (` + queueCols + `)
				SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM d) RETURNING seq`
				args = append(args, e.Event.ID, now.Add(s.opts.DedupeTTL), now)
			}
			b.Queue(q, args...).QueryRow(func(r pgx.Row) error {
				err := r.Scan(&seqs[i])
				if errors.Is(err, pgx.ErrNoRows) {
					dup[i] = true
					return nil
				}
				return err
			})
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("enqueueing events: %w", err)
	}
	for i := range events {
		if !dup[i] {
			events[i].Seq = seqs[i]
		}
	}
	return dup, nil
}

// claimSQL claims up to $2 due heads ($1 is Claim's now) of keys without a
// live claim ($3 is the store's clock), for claimer $5 until $4.
const claimSQL = `
WITH cand AS (
	SELECT q.seq, q.okey FROM queue q
	WHERE q.due <= $1
		AND NOT EXISTS (SELECT 1 FROM queue p WHERE p.okey = q.okey AND p.seq < q.seq)
		AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.okey = q.okey AND c.lease_until > $3)
	ORDER BY q.seq
	LIMIT $2
	FOR UPDATE OF q SKIP LOCKED
)
INSERT INTO claims (okey, seq, claimed_by, lease_until)
SELECT okey, seq, $5, $4 FROM cand
ON CONFLICT (okey) DO UPDATE SET seq = EXCLUDED.seq, claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until
	WHERE claims.lease_until <= $3
RETURNING seq`

// queueCols are the columns of a queued event but its seq.
const queueCols = `connector, okey, event, event_type, object_type, object_id, attempts, due, enqueued, last_error`

// coversSQL lists, for each claimed head ($1), the following events of its
// key that are due at $2 and copies of it, up to the first that is not,
// looking at most $3 events ahead.
const coversSQL = `
SELECT h.seq, c.seq FROM queue h
CROSS JOIN LATERAL (
	SELECT f.seq FROM (
		SELECT l.seq, bool_and(l.copy) OVER (ORDER BY l.seq) AS run FROM (
			SELECT q.seq, q.connector = h.connector AND q.event_type = h.event_type AND q.object_type = h.object_type
				AND q.object_id = h.object_id AND q.due <= $2 AS copy
			FROM queue q WHERE q.okey = h.okey AND q.seq > h.seq ORDER BY q.seq LIMIT $3
		) l
	) f WHERE f.run
) c
WHERE h.seq = ANY($1)
ORDER BY h.seq, c.seq`

// scanQueued reads the columns seq, connector, okey, event, attempts, due,
// enqueued, last_error and then into extra.
func scanQueued(r pgx.Row, extra ...any) (store.QueuedEvent, error) {
	var e store.QueuedEvent
	var doc []byte
	var due, enq pgtype.Timestamptz
	err := r.Scan(append([]any{&e.Seq, &e.Connector, &e.Key, &doc, &e.Attempts, &due, &enq, &e.LastError}, extra...)...)
	if err != nil {
		return e, err
	}
	e.Due, e.Enqueued = fromTS(due), fromTS(enq)
	if err := json.Unmarshal(doc, &e.Event); err != nil {
		return e, fmt.Errorf("queued event %d: %w: %v", e.Seq, store.ErrCorrupt, err)
	}
	return e, nil
}

// Claim returns up to n events due at now, in Seq order, following the
// claim policy of store.Queue across every store sharing the database.
func (s *Store) Claim(n int, now time.Time) ([]store.QueuedEvent, error) {
	var out []store.QueuedEvent
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		if n <= 0 {
			return nil
		}
		clock := s.now()
		heads, err := pgx.CollectRows(rowsOf(tx.Query(ctx, claimSQL, now.UTC(), n, clock, clock.Add(s.opts.Lease), s.id)),
			pgx.RowTo[int64])
		if err != nil || len(heads) == 0 {
			return err
		}
		out, err = pgx.CollectRows(rowsOf(tx.Query(ctx, `
			SELECT seq, connector, okey, event, attempts, due, enqueued, last_error FROM queue
			WHERE seq = ANY($1) ORDER BY seq`, heads)), func(r pgx.CollectableRow) (store.QueuedEvent, error) { return scanQueued(r) })
		if err != nil {
			return err
		}
		at := make(map[uint64]*store.QueuedEvent, len(out))
		for i := range out {
			at[out[i].Seq] = &out[i]
		}
		rows, err := tx.Query(ctx, coversSQL, heads, now.UTC(), maxCovers)
		if err != nil {
			return err
		}
		var head, covered uint64
		_, err = pgx.ForEachRow(rows, []any{&head, &covered}, func() error {
			at[head].Covers = append(at[head].Covers, covered)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range out {
		s.inflight[e.Seq] = e.Covers
	}
	return out, nil
}

// settle runs fn on a queued event after locking its row and ending its
// claim, failing with store.ErrNotFound when seq is not queued and with
// ErrClaimLost when another store value holds the claim. This store
// value's own claim of seq is released either way.
func (s *Store) settle(seq uint64, fn func(ctx context.Context, tx pgx.Tx) error) error {
	defer s.release(seq)
	return s.tx(func(ctx context.Context, tx pgx.Tx) error {
		var okey string
		err := tx.QueryRow(ctx, `SELECT okey FROM queue WHERE seq = $1 FOR UPDATE`, seq).Scan(&okey)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		var owner string
		err = tx.QueryRow(ctx, `DELETE FROM claims WHERE okey = $1 AND seq = $2 RETURNING claimed_by`, okey, seq).Scan(&owner)
		switch {
		case errors.Is(err, pgx.ErrNoRows): // not claimed: settling is allowed
		case err != nil:
			return err
		case owner != s.id:
			return ErrClaimLost
		}
		return fn(ctx, tx)
	})
}

// release forgets this store value's claim of seq.
func (s *Store) release(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, seq)
}

// Ack removes a processed event and the copies it covers.
func (s *Store) Ack(seq uint64) error {
	s.mu.Lock()
	gone := append([]uint64{seq}, s.inflight[seq]...)
	s.mu.Unlock()
	err := s.settle(seq, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM queue WHERE seq = ANY($1)`, gone)
		return err
	})
	if err != nil {
		return fmt.Errorf("acknowledging event %d: %w", seq, err)
	}
	return nil
}

// Retry counts a failed attempt and makes the event due again at at.
func (s *Store) Retry(seq uint64, at time.Time, cause error) error {
	err := s.settle(seq, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE queue SET attempts = attempts + 1, last_error = $2, due = $3 WHERE seq = $1`,
			seq, errText(cause), at.UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("retrying event %d: %w", seq, err)
	}
	return nil
}

// DeadLetter moves an event into the dead letters.
func (s *Store) DeadLetter(seq uint64, cause error) error {
	err := s.settle(seq, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH d AS (DELETE FROM queue WHERE seq = $1 RETURNING *)
			INSERT INTO dead_letters (seq, `+queueCols+`, dead_at)
			SELECT seq, connector, okey, event, event_type, object_type, object_id, attempts + 1, due, enqueued, $2, $3 FROM d`, seq, errText(cause), s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("dead-lettering event %d: %w", seq, err)
	}
	return nil
}

// DeadLetters returns the dead-lettered events in Seq order.
func (s *Store) DeadLetters() ([]store.QueuedEvent, error) {
	var out []store.QueuedEvent
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx, `
			SELECT seq, connector, okey, event, attempts, due, enqueued, last_error, dead_at FROM dead_letters ORDER BY seq`)),
			func(r pgx.CollectableRow) (store.QueuedEvent, error) {
				var dead pgtype.Timestamptz
				e, err := scanQueued(r, &dead)
				e.DeadAt = fromTS(dead)
				return e, err
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letter seq to the end of the queue under a new Seq.
func (s *Store) Replay(seq uint64) (uint64, error) {
	var next uint64
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM dead_letters WHERE seq = $1 RETURNING *)
			INSERT INTO queue (`+queueCols+`)
			SELECT connector, okey, event, event_type, object_type, object_id, 0, $2, enqueued, last_error FROM d RETURNING seq`, seq, s.now()).Scan(&next)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replaying event %d: %w", seq, err)
	}
	return next, nil
}

// QueueDepth returns the number of queued events and of dead letters.
func (s *Store) QueueDepth() (queued, dead int, err error) {
	err = s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM queue), (SELECT count(*) FROM dead_letters)`).Scan(&queued, &dead)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("reading queue depth: %w", err)
	}
	return queued, dead, nil
}

// QueueDepthOf is the number of queued events of connector, in flight and
// covered copies included: one count over the queue, which holds only
// what the workers have not settled.
func (s *Store) QueueDepthOf(connector string) (int, error) {
	var n int
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM queue WHERE connector = $1`, connector).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("reading queue depth of %s: %w", connector, err)
	}
	return n, nil
}

// SweepDedupe forgets the event IDs whose dedupe window ended at or before
// now.
func (s *Store) SweepDedupe(now time.Time) (int, error) {
	n := 0
	err := s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM dedupe WHERE expires <= $1`, now.UTC())
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweeping dedupe IDs: %w", err)
	}
	return n, nil
}

// renewLoop extends this store value's leases every Lease/3 until Close.
func (s *Store) renewLoop() {
	defer s.renewer.Done()
	t := time.NewTicker(s.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failed renewal is retried on the next tick; the lease
			// outlives two of them.
			_ = s.renewLeases()
		}
	}
}

// renewLeases extends every claim and outbox lease this store value holds
// to a Lease from the store's clock.
func (s *Store) renewLeases() error {
	return s.call(func(ctx context.Context) error {
		until := s.now().Add(s.opts.Lease)
		if _, err := s.pool.Exec(ctx, `UPDATE claims SET lease_until = $1 WHERE claimed_by = $2`, until, s.id); err != nil {
			return err
		}
		return s.renewOutbox(ctx, until)
	})
}
