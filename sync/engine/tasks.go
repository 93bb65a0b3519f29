package engine

import (
	"fmt"
	"strings"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// adoptTasks records the open CRM tasks (of tasks, pulled from connector)
// carrying healthsync's marker that the store does not know, for example
// created by a run killed before it recorded them: from then on they count
// for dedupe and cooldown and close when their rule's condition clears. It
// returns how many it adopted.
func (e *Engine) adoptTasks(connector string, tasks []record.Task) (int, error) {
	now := e.now()
	var adopt []store.CreatedTask
	seen := map[string]bool{}
	own := e.takeRecordedTasks(tasks)
	for _, t := range tasks {
		if t.DedupeKey == "" || t.Status != record.TaskOpen || t.ID == "" || t.AccountID == "" || seen[t.DedupeKey] || own[t.DedupeKey] {
			continue
		}
		seen[t.DedupeKey] = true
		if _, known, err := e.st.TaskByKey(t.DedupeKey); err != nil {
			return 0, fmt.Errorf("reading task %s: %w", t.DedupeKey, err)
		} else if known {
			continue
		}
		created := t.Modified
		if created.IsZero() {
			created = now
		}
		adopt = append(adopt, store.CreatedTask{DedupeKey: t.DedupeKey, Connector: connector, TaskID: t.ID,
			AccountKey: record.Ref{System: t.System, ID: t.AccountID}.Key(), Rule: ruleOfKey(t.DedupeKey),
			Status: record.TaskOpen, Created: created.UTC()})
	}
	if len(adopt) == 0 {
		return 0, nil
	}
	if err := e.st.PutTasks(adopt); err != nil {
		return 0, fmt.Errorf("adopting tasks found in %s: %w", connector, err)
	}
	return len(adopt), nil
}

// ruleOfKey is the rule name of a dedupe key "rule/account key/period"
// (scoring.TaskIntent.DedupeKey).
func ruleOfKey(key string) string {
	rule, _, _ := strings.Cut(key, "/")
	return rule
}
