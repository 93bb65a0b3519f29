package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Created tasks: one row per dedupe key, the task as JSON and its status
// for OpenTasks.

// PutTasks inserts or replaces tasks by dedupe key in one transaction.
func (s *Store) PutTasks(tasks []store.CreatedTask) error {
	var b pgx.Batch
	for _, t := range tasks {
		if t.DedupeKey == "" {
			return fmt.Errorf("putting tasks: task %s: %w", t.TaskID, errNoKey)
		}
		doc, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("putting tasks: encoding %s: %w", t.DedupeKey, err)
		}
		b.Queue(`INSERT INTO tasks (dedupe_key, status, doc) VALUES ($1, $2, $3)
			ON CONFLICT (dedupe_key) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc`, t.DedupeKey, t.Status, doc)
	}
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error { return tx.SendBatch(ctx, &b).Close() })
	if err != nil {
		return fmt.Errorf("putting tasks: %w", err)
	}
	return nil
}

// PutTask is PutTasks of one task.
func (s *Store) PutTask(t store.CreatedTask) error { return s.PutTasks([]store.CreatedTask{t}) }

// TaskByKey returns the task stored under a dedupe key.
func (s *Store) TaskByKey(key string) (store.CreatedTask, bool, error) {
	got, err := s.tasks(`SELECT doc FROM tasks WHERE dedupe_key = $1`, key)
	if err != nil || len(got) == 0 {
		return store.CreatedTask{}, false, err
	}
	return got[0], true, nil
}

// OpenTasks returns the open tasks, ordered by dedupe key.
func (s *Store) OpenTasks() ([]store.CreatedTask, error) {
	return s.tasks(`SELECT doc FROM tasks WHERE status = $1 ORDER BY dedupe_key`, record.TaskOpen)
}

// OpenTasksByPrefix returns the open tasks whose dedupe key starts with
// one of prefixes, ordered by dedupe key.
func (s *Store) OpenTasksByPrefix(prefixes []string) ([]store.CreatedTask, error) {
	if len(prefixes) == 0 {
		return []store.CreatedTask{}, nil
	}
	return s.tasks(`SELECT doc FROM tasks t WHERE status = $1
		AND EXISTS (SELECT 1 FROM unnest($2::text[]) p WHERE starts_with(t.dedupe_key, p)) ORDER BY dedupe_key`, record.TaskOpen, prefixes)
}

func (s *Store) tasks(sql string, args ...any) ([]store.CreatedTask, error) {
	return queryDocs[store.CreatedTask](s, "reading tasks", sql, args...)
}

// errNoKey is the error of a task without a dedupe key.
var errNoKey = errors.New("a task needs a dedupe key")
