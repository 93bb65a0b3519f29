package store

import (
	"time"
)

// Run is the record of one job run: a scheduled sync, a webhook batch, a
// scoring pass.
type Run struct {
	ID        string           `json:"id"`
	Connector string           `json:"connector,omitempty"`
	Kind      string           `json:"kind"` // e.g. "sync", "full", "score", "write_back"
	Start     time.Time        `json:"start"`
	End       time.Time        `json:"end,omitzero"`
	Status    string           `json:"status"` // e.g. "running", "ok", "failed", "partial"
	Counters  map[string]int64 `json:"counters,omitempty"`
	// Errors holds the first errors of the run, already redacted.
	Errors []string `json:"errors,omitempty"`
	// Notes are data-quality lines of the run (gates, vendor checks).
	Notes []string `json:"notes,omitempty"`
}

// RunInterrupted is the status of a run found still "running" when a
// process starts: the process that ran it stopped before it ended.
const RunInterrupted = "interrupted"
