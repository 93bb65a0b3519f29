package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// PutTasks stores created tasks (insert or replace by dedupe key) in one
// transaction.
func (s *Store) PutTasks(tasks []store.CreatedTask) error {
	for _, t := range tasks {
		if t.DedupeKey == "" {
			return fmt.Errorf("putting tasks: task %s has no dedupe key", t.TaskID)
		}
	}
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTasks)
		for _, t := range tasks {
			js, err := json.Marshal(t)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(t.DedupeKey), js); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("putting tasks: %w", err)
	}
	return nil
}

// PutTask stores one created task.
func (s *Store) PutTask(t store.CreatedTask) error { return s.PutTasks([]store.CreatedTask{t}) }

// TaskByKey returns the task created for a dedupe key.
func (s *Store) TaskByKey(key string) (store.CreatedTask, bool, error) {
	var js []byte
	err := s.view(func(tx *bbolt.Tx) error {
		js = clone(tx.Bucket(bucketTasks).Get([]byte(key)))
		return nil
	})
	if err != nil || js == nil {
		return store.CreatedTask{}, false, err
	}
	var t store.CreatedTask
	if err := json.Unmarshal(js, &t); err != nil {
		return store.CreatedTask{}, false, fmt.Errorf("task %s: %w: %v", key, store.ErrCorrupt, err)
	}
	return t, true, nil
}

// OpenTasksByPrefix returns the open tasks whose dedupe key starts with
// one of prefixes, ordered by dedupe key, in one transaction.
func (s *Store) OpenTasksByPrefix(prefixes []string) ([]store.CreatedTask, error) {
	byKey := map[string]store.CreatedTask{}
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketTasks).Cursor()
		for _, p := range prefixes {
			pb := []byte(p)
			for k, v := c.Seek(pb); k != nil && bytes.HasPrefix(k, pb); k, v = c.Next() {
				var t store.CreatedTask
				if err := json.Unmarshal(v, &t); err != nil {
					return fmt.Errorf("task %s: %w: %v", k, store.ErrCorrupt, err)
				}
				if t.Status == record.TaskOpen {
					byKey[t.DedupeKey] = t
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading open tasks by key prefix: %w", err)
	}
	out := make([]store.CreatedTask, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out, nil
}

// OpenTasks returns the created tasks still open, by dedupe key.
func (s *Store) OpenTasks() ([]store.CreatedTask, error) {
	var out []store.CreatedTask
	err := s.scan(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			var t store.CreatedTask
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("task %s: %w: %v", k, store.ErrCorrupt, err)
			}
			if t.Status == record.TaskOpen {
				out = append(out, t)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading open tasks: %w", err)
	}
	return out, nil
}
