package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/sync/store"
)

// PutRun inserts or replaces a run identified by (Start, ID).
func (s *Store) PutRun(r store.Run) error {
	if r.ID == "" || r.Start.IsZero() {
		return errors.New("putting run: a run needs an ID and a start time")
	}
	r.Start, r.End = r.Start.UTC(), r.End.UTC()
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("putting run %s: %w", r.ID, err)
	}
	err = s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO runs (start, id, doc) VALUES ($1, $2, $3)
			ON CONFLICT (start, id) DO UPDATE SET doc = EXCLUDED.doc`, r.Start, r.ID, doc)
		return err
	})
	if err != nil {
		return fmt.Errorf("putting run %s: %w", r.ID, err)
	}
	return nil
}

// Runs returns up to limit runs, newest Start first (ties: greater ID first).
func (s *Store) Runs(limit int) ([]store.Run, error) {
	return queryDocs[store.Run](s, "reading runs", `SELECT doc FROM runs ORDER BY start DESC, id DESC LIMIT $1`, max(limit, 0))
}

// PruneRuns keeps the keep newest runs and deletes the others.
func (s *Store) PruneRuns(keep int) (int, error) {
	n := 0
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM runs WHERE (start, id) NOT IN (
			SELECT start, id FROM runs ORDER BY start DESC, id DESC LIMIT $1)`, max(keep, 0))
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning runs: %w", err)
	}
	return n, nil
}

// InterruptRuns marks every run still "running" as interrupted, in one
// transaction, and returns how many.
func (s *Store) InterruptRuns() (int, error) {
	n := 0
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT doc FROM runs WHERE doc->>'status' = 'running' FOR UPDATE`)
		if err != nil {
			return err
		}
		runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Run, error) {
			var doc []byte
			var r store.Run
			if err := row.Scan(&doc); err != nil {
				return r, err
			}
			if err := json.Unmarshal(doc, &r); err != nil {
				return r, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
			}
			return r, nil
		})
		if err != nil {
			return err
		}
		for _, r := range runs {
			r.Status = store.RunInterrupted
			r.Notes = append(r.Notes, "the process stopped before the run ended")
			doc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE runs SET doc = $3 WHERE start = $1 AND id = $2`, r.Start.UTC(), r.ID, doc); err != nil {
				return err
			}
		}
		n = len(runs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("marking open runs interrupted: %w", err)
	}
	return n, nil
}
