package bolt

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// PutScores records snapshots in one transaction: each is appended to its
// account's history (keyed by account and time, so re-putting the same
// snapshot is idempotent) and becomes the current score unless the stored
// current one is later.
func (s *Store) PutScores(snaps []store.ScoreSnapshot) error {
	for i, sn := range snaps {
		if sn.AccountKey == "" || strings.IndexByte(sn.AccountKey, sep) >= 0 {
			return fmt.Errorf("putting scores: snapshot %d has an invalid account key", i)
		}
	}
	err := s.update(func(tx *bbolt.Tx) error {
		cur, hist := tx.Bucket(bucketScores), tx.Bucket(bucketScoreHistory)
		curKeys, histKeys := make([][]byte, len(snaps)), make([][]byte, len(snaps))
		for i, sn := range snaps {
			curKeys[i], histKeys[i] = []byte(sn.AccountKey), appendTime(prefixKey(sn.AccountKey), sn.At.UTC())
		}
		fillForAppend(cur, curKeys)
		fillForAppend(hist, histKeys)
		for i, sn := range snaps {
			sn.At = sn.At.UTC()
			js, err := json.Marshal(sn)
			if err != nil {
				return err
			}
			if err := hist.Put(histKeys[i], js); err != nil {
				return err
			}
			if old := cur.Get([]byte(sn.AccountKey)); old != nil {
				var o store.ScoreSnapshot
				if err := json.Unmarshal(old, &o); err == nil && o.At.After(sn.At) {
					continue
				}
			}
			if err := cur.Put([]byte(sn.AccountKey), js); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("putting scores: %w", err)
	}
	return nil
}

// Score returns an account's current score.
func (s *Store) Score(accountKey string) (store.ScoreSnapshot, bool, error) {
	var js []byte
	err := s.view(func(tx *bbolt.Tx) error {
		js = clone(tx.Bucket(bucketScores).Get([]byte(accountKey)))
		return nil
	})
	if err != nil || js == nil {
		return store.ScoreSnapshot{}, false, err
	}
	var sn store.ScoreSnapshot
	if err := json.Unmarshal(js, &sn); err != nil {
		return store.ScoreSnapshot{}, false, fmt.Errorf("score of %s: %w: %v", accountKey, store.ErrCorrupt, err)
	}
	return sn, true, nil
}

// Scores returns every account's current score, ordered by account key.
func (s *Store) Scores() ([]store.ScoreSnapshot, error) {
	var out []store.ScoreSnapshot
	err := s.scan(func(tx *bbolt.Tx) error {
		w := walked{tx: tx}
		return tx.Bucket(bucketScores).ForEach(func(k, v []byte) error {
			w.add(k, v)
			var sn store.ScoreSnapshot
			if err := json.Unmarshal(v, &sn); err != nil {
				return fmt.Errorf("score of %s: %w: %v", k, store.ErrCorrupt, err)
			}
			out = append(out, sn)
			return nil
		})
	})
	return out, err
}

// ScoreHistory returns an account's snapshots at or after since, oldest first.
func (s *Store) ScoreHistory(accountKey string, since time.Time) ([]store.ScoreSnapshot, error) {
	var out []store.ScoreSnapshot
	prefix := prefixKey(accountKey)
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketScoreHistory).Cursor()
		for k, v := c.Seek(appendTime(clone(prefix), since)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var sn store.ScoreSnapshot
			if err := json.Unmarshal(v, &sn); err != nil {
				return fmt.Errorf("score history of %s: %w: %v", accountKey, store.ErrCorrupt, err)
			}
			out = append(out, sn)
		}
		return nil
	})
	return out, err
}

// ScoreHistories returns ScoreHistory of each account in one
// transaction, by account key.
func (s *Store) ScoreHistories(accountKeys []string, since time.Time) (map[string][]store.ScoreSnapshot, error) {
	out := map[string][]store.ScoreSnapshot{}
	err := s.scan(func(tx *bbolt.Tx) error {
		c, w := tx.Bucket(bucketScoreHistory).Cursor(), walked{tx: tx}
		for _, key := range accountKeys {
			prefix := prefixKey(key)
			for k, v := c.Seek(appendTime(clone(prefix), since)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
				w.add(k, v)
				var sn store.ScoreSnapshot
				if err := json.Unmarshal(v, &sn); err != nil {
					return fmt.Errorf("score history of %s: %w: %v", key, store.ErrCorrupt, err)
				}
				out[key] = append(out[key], sn)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading score histories: %w", err)
	}
	return out, nil
}

// ScoresAt returns, for each account with history, its latest snapshot at
// or before t, ordered by account key: the scores as they stood at t.
func (s *Store) ScoresAt(t time.Time) ([]store.ScoreSnapshot, error) {
	var out []store.ScoreSnapshot
	limit := timeKey(t)
	err := s.scan(func(tx *bbolt.Tx) error {
		var best []byte
		var bestAcct string
		flush := func() error {
			if best == nil {
				return nil
			}
			var sn store.ScoreSnapshot
			if err := json.Unmarshal(best, &sn); err != nil {
				return fmt.Errorf("score history of %s: %w: %v", bestAcct, store.ErrCorrupt, err)
			}
			out = append(out, sn)
			best = nil
			return nil
		}
		c, w := tx.Bucket(bucketScoreHistory).Cursor(), walked{tx: tx}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			w.add(k, v)
			if len(k) < 9 {
				continue
			}
			acct, at := string(k[:len(k)-9]), k[len(k)-8:]
			if acct != bestAcct {
				if err := flush(); err != nil {
					return err
				}
				bestAcct = acct
			}
			if string(at) <= string(limit) {
				best = v
			}
		}
		return flush()
	})
	return out, err
}
