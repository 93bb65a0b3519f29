package store

import (
	"time"
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
