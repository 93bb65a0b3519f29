package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/connectors/record"
)

// Signals: one row per (account key, metric, time).

// AddSignals stores signals in one transaction and returns how many were
// not stored before; a signal with the account, metric and time of a
// stored one replaces its value.
func (s *Store) AddSignals(sigs []record.Signal) (added int, err error) {
	for i, sg := range sigs {
		if sg.Account.System == "" || sg.Account.ID == "" || sg.Metric == "" {
			return 0, fmt.Errorf("adding signals: signal %d needs an account system, account ID and metric", i)
		}
	}
	err = s.tx(func(ctx context.Context, tx pgx.Tx) error {
		added = 0
		var b pgx.Batch
		for _, sg := range sigs {
			// xmax is 0 on a row this statement inserted, not on one it
			// updated.
			b.Queue(`INSERT INTO signals (account_key, metric, at, value) VALUES ($1, $2, $3, $4)
				ON CONFLICT (account_key, metric, at) DO UPDATE SET value = EXCLUDED.value
				RETURNING xmax = 0`, sg.Account.Key(), sg.Metric, sg.Time.UTC(), sg.Value).
				QueryRow(func(r pgx.Row) error {
					var inserted bool
					if err := r.Scan(&inserted); err != nil {
						return err
					}
					if inserted {
						added++
					}
					return nil
				})
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("adding signals: %w", err)
	}
	return added, nil
}

// Signals returns one account's signals at or after since, ordered by
// metric then time.
func (s *Store) Signals(accountKey string, since time.Time) ([]record.Signal, error) {
	var out []record.Signal
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT account_key, metric, at, value FROM signals
			WHERE account_key = $1 AND at >= $2 ORDER BY metric, at`, accountKey, since.UTC())
		if err != nil {
			return err
		}
		return eachSignal(rows, func(_ string, sg record.Signal) { out = append(out, sg) })
	})
	if err != nil {
		return nil, fmt.Errorf("reading signals of %s: %w", accountKey, err)
	}
	return out, nil
}

// AllSignals returns every account's signals at or after since, by
// account key.
func (s *Store) AllSignals(since time.Time) (map[string][]record.Signal, error) {
	out := map[string][]record.Signal{}
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT account_key, metric, at, value FROM signals
			WHERE at >= $1 ORDER BY account_key, metric, at`, since.UTC())
		if err != nil {
			return err
		}
		return eachSignal(rows, func(key string, sg record.Signal) { out[key] = append(out[key], sg) })
	})
	if err != nil {
		return nil, fmt.Errorf("reading signals: %w", err)
	}
	return out, nil
}

func eachSignal(rows pgx.Rows, fn func(string, record.Signal)) error {
	var key string
	var sg record.Signal
	var at pgtype.Timestamptz
	_, err := pgx.ForEachRow(rows, []any{&key, &sg.Metric, &at, &sg.Value}, func() error {
		system, id, _ := strings.Cut(key, "/")
		sg.Account, sg.Time = record.Ref{System: system, ID: id}, fromTS(at)
		fn(key, sg)
		return nil
	})
	return err
}

// PruneSignals deletes the signals strictly before before.
func (s *Store) PruneSignals(before time.Time) (int, error) {
	n := 0
	err := s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM signals WHERE at < $1`, before.UTC())
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning signals: %w", err)
	}
	return n, nil
}
