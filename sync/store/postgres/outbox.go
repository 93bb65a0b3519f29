package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/sync/store"
)

// PutOutbox adds notifications in one transaction and returns their IDs,
// increasing in slice order (an identity column).
func (s *Store) PutOutbox(ns []store.Notification) ([]uint64, error) {
	now := s.now()
	var ids []uint64
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		ids = make([]uint64, len(ns))
		var b pgx.Batch
		for i, n := range ns {
			created, due := n.Created, n.Due
			if created.IsZero() {
				created = now
			}
			if due.IsZero() {
				due = now
			}
			b.Queue(`INSERT INTO outbox (subscriber, event_id, type, payload, created, due, attempts, last_error)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				n.Subscriber, n.EventID, n.Type, n.Payload, created.UTC(), due.UTC(), n.Attempts, n.LastError).
				QueryRow(func(r pgx.Row) error { return r.Scan(&ids[i]) })
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("putting outbox: %w", err)
	}
	return ids, nil
}

// The outbox across replicas. Every replica's notifier reads the same
// outbox, so DueOutbox leases what it returns: a due notification that no
// other store value holds a live lease on is locked FOR UPDATE SKIP LOCKED
// (concurrent readers pass over each other's rows) and leased to this store
// value (claimed_by) until a Lease from the store's clock. Other replicas do
// not see it until the lease passes; this store value sees it again (one
// process reads the outbox as it did with bbolt). A live store renews its
// leases with its queue claims, every Lease/3; OutboxRetry and Close clear
// them; OutboxDelivered deletes the row. So each notification is sent by
// one replica, and those of a replica that died are sent by another once
// their lease has passed (at least once: receivers dedupe by EventID, the
// webhook-id header).

// DueOutbox returns up to n notifications due at now, in ID order, and
// leases them to this store value (see above).
func (s *Store) DueOutbox(now time.Time, n int) ([]store.Notification, error) {
	var out []store.Notification
	err := s.call(func(ctx context.Context) error {
		var err error
		clock := s.now()
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx, `
			WITH cand AS (
				SELECT id FROM outbox
				WHERE due <= $1 AND (claimed_by IS NULL OR claimed_by = $3 OR lease_until <= $4)
				ORDER BY id LIMIT $2
				FOR UPDATE SKIP LOCKED
			)
			UPDATE outbox o SET claimed_by = $3, lease_until = $5 FROM cand WHERE o.id = cand.id
			RETURNING o.id, o.subscriber, o.event_id, o.type, o.payload, o.created, o.due, o.attempts, o.last_error`,
			now.UTC(), max(n, 0), s.id, clock, clock.Add(s.opts.Lease))),
			func(r pgx.CollectableRow) (store.Notification, error) {
				var nt store.Notification
				var created, due pgtype.Timestamptz
				err := r.Scan(&nt.ID, &nt.Subscriber, &nt.EventID, &nt.Type, &nt.Payload, &created, &due, &nt.Attempts, &nt.LastError)
				nt.Created, nt.Due = fromTS(created), fromTS(due)
				return nt, err
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	// UPDATE ... RETURNING keeps no order.
	slices.SortFunc(out, func(a, b store.Notification) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// OutboxDelivered deletes a notification, whoever holds its lease: it was
// delivered.
func (s *Store) OutboxDelivered(id uint64) error {
	err := s.call(func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id))
	})
	if err != nil {
		return fmt.Errorf("marking notification %d delivered: %w", id, err)
	}
	return nil
}

// OutboxRetry counts a failed delivery, makes the notification due at at
// and clears its lease. It fails with ErrClaimLost, changing nothing, when
// another store value holds a live lease on it (this one's lease passed and
// the other took it over).
func (s *Store) OutboxRetry(id uint64, at time.Time, cause error) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		var by pgtype.Text
		var until pgtype.Timestamptz
		err := tx.QueryRow(ctx, `SELECT claimed_by, lease_until FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&by, &until)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if by.Valid && by.String != s.id && fromTS(until).After(s.now()) {
			return ErrClaimLost
		}
		_, err = tx.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, due = $3, claimed_by = NULL, lease_until = NULL
			WHERE id = $1`, id, errText(cause), at.UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("retrying notification %d: %w", id, err)
	}
	return nil
}

// releaseOutbox clears this store value's outbox leases (Close).
func (s *Store) releaseOutbox(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1`, s.id)
	return err
}

// renewOutbox extends this store value's outbox leases to until.
func (s *Store) renewOutbox(ctx context.Context, until time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE outbox SET lease_until = $1 WHERE claimed_by = $2`, until, s.id)
	return err
}

// OutboxLen is the number of notifications in the outbox.
func (s *Store) OutboxLen() (int, error) {
	n := 0
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("counting outbox: %w", err)
	}
	return n, nil
}

// oneRow turns a statement that touched no row into store.ErrNotFound.
func oneRow(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
