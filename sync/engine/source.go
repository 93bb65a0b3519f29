// Package engine turns connectors and scoring into the product: pull into the
// store, match billing customers to CRM accounts, score, plan the difference
// against what was last written, write it back in batches and create tasks.
package engine

import (
	"context"
	"iter"

	"github.com/healthsync/healthsync/connectors/record"
)

// Source pulls one vendor's records. Pull yields batches in order; the engine
// commits each batch (records and cursor in one transaction) before asking for
// the next, so a crash resumes from the last committed cursor. An error ends
// the sequence; batches already yielded stay committed.
type Source interface {
	Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error]
}

// Fetcher re-reads the current state of one object named by an event
// (objectType as in record.Event.ObjectType), instead of trusting a payload.
type Fetcher interface {
	Fetch(ctx context.Context, objectType, id string) (*record.Batch, error)
}

// Writer updates fields on CRM records, batching as its vendor allows. It
// returns one result per update (in any order, matched by ID); the error is
// for a failure of the whole call.
type Writer interface {
	Update(ctx context.Context, updates []record.FieldUpdate) ([]record.WriteResult, error)
}

// TaskWriter creates and completes CRM tasks. CreateTasks returns results
// with Key set to the task's DedupeKey and ID to the new task's ID.
type TaskWriter interface {
	CreateTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error)
	CompleteTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error)
}

// Preflighter checks that mapped CRM fields exist and are writable;
// fields maps object name to field names. All problems come back at once.
type Preflighter interface {
	Preflight(ctx context.Context, fields map[string][]string) ([]record.FieldProblem, error)
}
