package postgres

import (
	"context"
	"fmt"
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

// DueOutbox returns up to n notifications due at now, in ID order.
func (s *Store) DueOutbox(now time.Time, n int) ([]store.Notification, error) {
	var out []store.Notification
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx, `
			SELECT id, subscriber, event_id, type, payload, created, due, attempts, last_error FROM outbox
			WHERE due <= $1 ORDER BY id LIMIT $2`, now.UTC(), max(n, 0))),
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
	return out, nil
}

// OutboxDelivered deletes a notification.
func (s *Store) OutboxDelivered(id uint64) error {
	err := s.call(func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id))
	})
	if err != nil {
		return fmt.Errorf("marking notification %d delivered: %w", id, err)
	}
	return nil
}

// OutboxRetry counts a failed delivery and makes the notification due at at.
func (s *Store) OutboxRetry(id uint64, at time.Time, cause error) error {
	err := s.call(func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, due = $3 WHERE id = $1`,
			id, errText(cause), at.UTC()))
	})
	if err != nil {
		return fmt.Errorf("retrying notification %d: %w", id, err)
	}
	return nil
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
