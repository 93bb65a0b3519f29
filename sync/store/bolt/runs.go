package bolt

import (
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

func runKey(r store.Run) []byte { return append(timeKey(r.Start), r.ID...) }

// PutRun inserts or replaces a run, keyed by its start time and ID, so a run
// can be put when it starts and again when it ends.
func (s *Store) PutRun(r store.Run) error {
	if r.ID == "" || r.Start.IsZero() {
		return fmt.Errorf("putting run: a run needs an ID and a start time")
	}
	r.Start, r.End = r.Start.UTC(), r.End.UTC()
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("putting run %s: %w", r.ID, err)
	}
	return s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRuns).Put(runKey(r), js)
	})
}

// Runs returns up to limit runs, newest first.
func (s *Store) Runs(limit int) ([]store.Run, error) {
	var out []store.Run
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketRuns).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r store.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %q: %w: %v", k, store.ErrCorrupt, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading runs: %w", err)
	}
	return out, nil
}

// PruneRuns keeps the newest keep runs and deletes the rest, returning how
// many it deleted.
func (s *Store) PruneRuns(keep int) (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		var del [][]byte
		c := b.Cursor()
		i := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if i++; i > keep {
				del = append(del, clone(k))
			}
		}
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(del)
		return nil
	})
	return n, err
}

// InterruptRuns marks every run still "running" as interrupted, in one
// transaction, and returns how many. Call it when a process starts, before
// it begins runs of its own (one process per store file).
func (s *Store) InterruptRuns() (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		type put struct{ k, v []byte }
		var puts []put
		err := b.ForEach(func(k, v []byte) error {
			var r store.Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %q: %w: %v", k, store.ErrCorrupt, err)
			}
			if r.Status != "running" {
				return nil
			}
			r.Status = store.RunInterrupted
			r.Notes = append(r.Notes, "the process stopped before the run ended")
			js, err := json.Marshal(r)
			if err != nil {
				return err
			}
			puts = append(puts, put{clone(k), js})
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range puts {
			if err := b.Put(p.k, p.v); err != nil {
				return err
			}
		}
		n = len(puts)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("marking interrupted runs: %w", err)
	}
	return n, nil
}
