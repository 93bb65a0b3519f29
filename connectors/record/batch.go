package record

import (
	"errors"
	"time"
)

// Batch is one page of pulled records, all of one Stream, plus the cursor the
// engine persists once the page is committed to the store. A connector never
// persists cursors itself: resuming after a crash starts from the cursor of
// the last committed Batch.
type Batch struct {
	// Stream names what is being pulled and keys its cursor in the store, e.g.
	// "Account", "Opportunity", "companies", "subscriptions", "events".
	Stream string

	Accounts      []Account
	Deals         []Deal
	Customers     []Customer
	Subscriptions []Subscription
	Invoices      []Invoice
	Tasks         []Task
	// Signals are usage observations (SQL and Segment sources); the store
	// keeps one per account, metric and time, so re-reading is harmless.
	Signals []Signal
	// Deleted lists records the vendor reported deleted or archived.
	Deleted []Ref

	// Cursor is the opaque position to resume Stream after this batch; nil
	// leaves the stored cursor unchanged.
	Cursor []byte

	// Full is true when Stream is a complete enumeration (a first load or a
	// periodic full re-read), and Done on its last batch: only then may the
	// engine treat records it did not see as gone.
	Full bool
	Done bool

	// Usage reports API consumption seen while producing the batch (for
	// example Salesforce's Sforce-Limit-Info), for run reports and metrics.
	Usage *APIUsage
}

// Len is the number of records and deletions in the batch.
func (b *Batch) Len() int {
	return len(b.Accounts) + len(b.Deals) + len(b.Customers) + len(b.Subscriptions) +
		len(b.Invoices) + len(b.Tasks) + len(b.Signals) + len(b.Deleted)
}

// APIUsage is a vendor's report of API allocation use.
type APIUsage struct {
	Used  int64 `json:"used"`
	Limit int64 `json:"limit"`
}

// PullRequest tells a connector where to resume.
type PullRequest struct {
	// Cursors holds the stored cursor of each Stream; a missing stream
	// starts with a full load.
	Cursors map[string][]byte
	// Full forces a complete enumeration of every stream (periodic full
	// re-read, reconcile) regardless of cursors.
	Full bool
	// Now is the engine's clock, for windows and expiry decisions.
	Now time.Time
}

// FieldUpdate is a change of fields on one CRM record.
type FieldUpdate struct {
	Object string         `json:"object"` // "Account" (Salesforce), "companies" (HubSpot)
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"` // field name -> value (string, float64, int64, bool, time.Time, nil)
}

// WriteResult is the outcome of one record in a batch write.
type WriteResult struct {
	ID    string      `json:"id"`              // the record's ID (for creates, the new ID)
	Key   string      `json:"key,omitempty"`   // for creates: the caller's key (a task's DedupeKey)
	Error *WriteError `json:"error,omitempty"` // nil on success
}

// WriteError is a per-record write failure reported by the vendor.
type WriteError struct {
	Code      string   `json:"code"` // vendor code: FIELD_CUSTOM_VALIDATION_EXCEPTION, UNABLE_TO_LOCK_ROW, ...
	Message   string   `json:"message"`
	Fields    []string `json:"fields,omitempty"`
	Transient bool     `json:"transient"` // retry on a later pass
}

func (e *WriteError) Error() string { return e.Code + ": " + e.Message }

// FieldProblem is a mapped field a CRM preflight found unusable.
type FieldProblem struct {
	Object  string `json:"object"`
	Field   string `json:"field"`
	Problem string `json:"problem"` // "does not exist", "is not writable", "has type X, want Y"
}

// Errors a webhook Verifier wraps, so the receiver answers 401 or 400
// without telling an attacker more.
var (
	ErrUnauthenticated = errors.New("webhook authentication failed") // bad or missing signature, stale timestamp, wrong credentials
	ErrMalformed       = errors.New("malformed webhook payload")
)
