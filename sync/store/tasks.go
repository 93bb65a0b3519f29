package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
)

// CreatedTask is a CRM task healthsync created, by the dedupe key of the
// rule that raised it, so the same condition never opens a second task.
type CreatedTask struct {
	DedupeKey  string    `json:"dedupe_key"`
	Connector  string    `json:"connector"`
	TaskID     string    `json:"task_id"`     // the CRM's task ID
	AccountKey string    `json:"account_key"` // record.Ref.Key() of the account
	Rule       string    `json:"rule,omitempty"`
	Status     string    `json:"status"` // record.TaskOpen or record.TaskCompleted
	Created    time.Time `json:"created"`
	Completed  time.Time `json:"completed,omitzero"`
}

// PutTasks stores created tasks (insert or replace by dedupe key) in one
// transaction.
func (s *Store) PutTasks(tasks []CreatedTask) error {
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
func (s *Store) PutTask(t CreatedTask) error { return s.PutTasks([]CreatedTask{t}) }

// TaskByKey returns the task created for a dedupe key.
func (s *Store) TaskByKey(key string) (CreatedTask, bool, error) {
	var js []byte
	err := s.view(func(tx *bbolt.Tx) error {
		js = clone(tx.Bucket(bucketTasks).Get([]byte(key)))
		return nil
	})
	if err != nil || js == nil {
		return CreatedTask{}, false, err
	}
	var t CreatedTask
	if err := json.Unmarshal(js, &t); err != nil {
		return CreatedTask{}, false, fmt.Errorf("task %s: %w: %v", key, ErrCorrupt, err)
	}
	return t, true, nil
}

// OpenTasks returns the created tasks still open, by dedupe key.
func (s *Store) OpenTasks() ([]CreatedTask, error) {
	var out []CreatedTask
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			var t CreatedTask
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("task %s: %w: %v", k, ErrCorrupt, err)
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
