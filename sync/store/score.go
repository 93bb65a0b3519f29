package store

import (
	"encoding/json"
	"time"
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
