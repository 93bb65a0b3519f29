package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/sync/store"
)

// Scores: scores holds each account's current snapshot, score_history
// every snapshot by (account key, At); both as JSON.

// PutScores stores snapshots in one transaction: each replaces the history
// entry with its At and becomes current unless the current one is later.
func (s *Store) PutScores(snaps []store.ScoreSnapshot) error {
	var b pgx.Batch
	for i, sn := range snaps {
		if sn.AccountKey == "" {
			return fmt.Errorf("putting scores: snapshot %d has no account key", i)
		}
		sn.At = sn.At.UTC()
		doc, err := json.Marshal(sn)
		if err != nil {
			return fmt.Errorf("putting scores: encoding %s: %w", sn.AccountKey, err)
		}
		b.Queue(`INSERT INTO score_history (account_key, at, doc) VALUES ($1, $2, $3)
			ON CONFLICT (account_key, at) DO UPDATE SET doc = EXCLUDED.doc`, sn.AccountKey, sn.At, doc)
		b.Queue(`INSERT INTO scores (account_key, at, doc) VALUES ($1, $2, $3)
			ON CONFLICT (account_key) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc WHERE scores.at <= EXCLUDED.at`,
			sn.AccountKey, sn.At, doc)
	}
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error { return tx.SendBatch(ctx, &b).Close() })
	if err != nil {
		return fmt.Errorf("putting scores: %w", err)
	}
	return nil
}

// Score returns an account's current score; ok false when it has none.
func (s *Store) Score(accountKey string) (store.ScoreSnapshot, bool, error) {
	got, err := s.snapshots("reading score of "+accountKey, `SELECT doc FROM scores WHERE account_key = $1`, accountKey)
	if err != nil || len(got) == 0 {
		return store.ScoreSnapshot{}, false, err
	}
	return got[0], true, nil
}

// Scores returns every current score, ordered by account key.
func (s *Store) Scores() ([]store.ScoreSnapshot, error) {
	return s.snapshots("reading scores", `SELECT doc FROM scores ORDER BY account_key`)
}

// ScoreHistory returns an account's snapshots at or after since, oldest
// first.
func (s *Store) ScoreHistory(accountKey string, since time.Time) ([]store.ScoreSnapshot, error) {
	return s.snapshots("reading score history of "+accountKey,
		`SELECT doc FROM score_history WHERE account_key = $1 AND at >= $2 ORDER BY at`, accountKey, since.UTC())
}

// ScoreHistories returns ScoreHistory of each account in one query.
func (s *Store) ScoreHistories(accountKeys []string, since time.Time) (map[string][]store.ScoreSnapshot, error) {
	snaps, err := s.snapshots("reading score histories", `SELECT doc FROM score_history
		WHERE account_key = ANY($1) AND at >= $2 ORDER BY account_key, at`, accountKeys, since.UTC())
	if err != nil {
		return nil, err
	}
	out := map[string][]store.ScoreSnapshot{}
	for _, sn := range snaps {
		out[sn.AccountKey] = append(out[sn.AccountKey], sn)
	}
	return out, nil
}

// ScoresAt returns each account's latest snapshot at or before t, ordered
// by account key.
func (s *Store) ScoresAt(t time.Time) ([]store.ScoreSnapshot, error) {
	return s.snapshots("reading scores at a time", `SELECT DISTINCT ON (account_key) doc FROM score_history
		WHERE at <= $1 ORDER BY account_key, at DESC`, t.UTC())
}

// snapshots runs a query of one JSON snapshot column.
func (s *Store) snapshots(step, sql string, args ...any) ([]store.ScoreSnapshot, error) {
	return queryDocs[store.ScoreSnapshot](s, step, sql, args...)
}
