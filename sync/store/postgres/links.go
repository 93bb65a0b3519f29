package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/sync/store"
)

// SetLinks replaces the whole set of identity links in one transaction; a
// link already stored keeps its Created (see store.LinkStore).
func (s *Store) SetLinks(links []store.Link) error {
	now := s.now()
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		if err := lockKey(ctx, tx, "links"); err != nil {
			return err
		}
		accounts, customers := make([]string, len(links)), make([]string, len(links))
		for i, l := range links {
			accounts[i], customers[i] = l.AccountKey, l.CustomerKey
		}
		if _, err := tx.Exec(ctx, `DELETE FROM links WHERE (account_key, customer_key) NOT IN (
			SELECT a, c FROM unnest($1::text[], $2::text[]) AS k(a, c))`, accounts, customers); err != nil {
			return err
		}
		var b pgx.Batch
		for _, l := range links {
			created := l.Created
			if created.IsZero() {
				created = now
			}
			b.Queue(`INSERT INTO links (account_key, customer_key, rule, created) VALUES ($1, $2, $3, $4)
				ON CONFLICT (account_key, customer_key) DO UPDATE SET rule = EXCLUDED.rule`,
				l.AccountKey, l.CustomerKey, l.Rule, created.UTC())
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("setting links: %w", err)
	}
	return nil
}

// Links returns every link, ordered by account key then customer key.
func (s *Store) Links() ([]store.Link, error) {
	var out []store.Link
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx,
			`SELECT account_key, customer_key, rule, created FROM links ORDER BY account_key, customer_key`)),
			func(r pgx.CollectableRow) (store.Link, error) {
				var l store.Link
				var created pgtype.Timestamptz
				err := r.Scan(&l.AccountKey, &l.CustomerKey, &l.Rule, &created)
				l.Created = fromTS(created)
				return l, err
			})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading links: %w", err)
	}
	return out, nil
}
