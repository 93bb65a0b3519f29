package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// ScoreSnapshot is an account's health as computed at one time.
type ScoreSnapshot struct {
	AccountKey string    `json:"account_key"` // record.Ref.Key() of the CRM account
	At         time.Time `json:"at"`          // the "as of" time of the computation, UTC
	Score      float64   `json:"score"`       // 0-100
	Band       string    `json:"band,omitempty"`
	Lifecycle  string    `json:"lifecycle,omitempty"`
	// MRR in the reporting currency's minor units.
	MRR int64 `json:"mrr"`
	// Components holds each metric's contribution or value by name.
	Components map[string]float64 `json:"components,omitempty"`
	Reasons    []string           `json:"reasons,omitempty"`
	// Detail is anything else the scorer wants kept, as JSON.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// PutScores records snapshots in one transaction: each is appended to its
// account's history (keyed by account and time, so re-putting the same
// snapshot is idempotent) and becomes the current score unless the stored
// current one is later.
func (s *Store) PutScores(snaps []ScoreSnapshot) error {
	for i, sn := range snaps {
		if sn.AccountKey == "" || strings.IndexByte(sn.AccountKey, sep) >= 0 {
			return fmt.Errorf("putting scores: snapshot %d has an invalid account key", i)
		}
	}
	err := s.update(func(tx *bbolt.Tx) error {
		cur, hist := tx.Bucket(bucketScores), tx.Bucket(bucketScoreHistory)
		for _, sn := range snaps {
			sn.At = sn.At.UTC()
			js, err := json.Marshal(sn)
			if err != nil {
				return err
			}
			if err := hist.Put(appendTime(prefixKey(sn.AccountKey), sn.At), js); err != nil {
				return err
			}
			if old := cur.Get([]byte(sn.AccountKey)); old != nil {
				var o ScoreSnapshot
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
func (s *Store) Score(accountKey string) (ScoreSnapshot, bool, error) {
	var js []byte
	err := s.view(func(tx *bbolt.Tx) error {
		js = clone(tx.Bucket(bucketScores).Get([]byte(accountKey)))
		return nil
	})
	if err != nil || js == nil {
		return ScoreSnapshot{}, false, err
	}
	var sn ScoreSnapshot
	if err := json.Unmarshal(js, &sn); err != nil {
		return ScoreSnapshot{}, false, fmt.Errorf("score of %s: %w: %v", accountKey, ErrCorrupt, err)
	}
	return sn, true, nil
}

// Scores returns every account's current score, ordered by account key.
func (s *Store) Scores() ([]ScoreSnapshot, error) {
	var out []ScoreSnapshot
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketScores).ForEach(func(k, v []byte) error {
			var sn ScoreSnapshot
			if err := json.Unmarshal(v, &sn); err != nil {
				return fmt.Errorf("score of %s: %w: %v", k, ErrCorrupt, err)
			}
			out = append(out, sn)
			return nil
		})
	})
	return out, err
}

// ScoreHistory returns an account's snapshots at or after since, oldest first.
func (s *Store) ScoreHistory(accountKey string, since time.Time) ([]ScoreSnapshot, error) {
	var out []ScoreSnapshot
	prefix := prefixKey(accountKey)
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketScoreHistory).Cursor()
		for k, v := c.Seek(appendTime(clone(prefix), since)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var sn ScoreSnapshot
			if err := json.Unmarshal(v, &sn); err != nil {
				return fmt.Errorf("score history of %s: %w: %v", accountKey, ErrCorrupt, err)
			}
			out = append(out, sn)
		}
		return nil
	})
	return out, err
}

// ScoresAt returns, for each account with history, its latest snapshot at
// or before t, ordered by account key: the scores as they stood at t.
func (s *Store) ScoresAt(t time.Time) ([]ScoreSnapshot, error) {
	var out []ScoreSnapshot
	limit := timeKey(t)
	err := s.view(func(tx *bbolt.Tx) error {
		var best []byte
		var bestAcct string
		flush := func() error {
			if best == nil {
				return nil
			}
			var sn ScoreSnapshot
			if err := json.Unmarshal(best, &sn); err != nil {
				return fmt.Errorf("score history of %s: %w: %v", bestAcct, ErrCorrupt, err)
			}
			out = append(out, sn)
			best = nil
			return nil
		}
		c := tx.Bucket(bucketScoreHistory).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
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
