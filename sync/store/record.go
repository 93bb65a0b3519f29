package store

import (
	"time"
)

// RecordType names a kind of canonical record; it is the name of the bucket
// records/<connector>/<type>.
type RecordType string

// Record types.
const (
	TypeAccount      RecordType = "account"
	TypeDeal         RecordType = "deal"
	TypeCustomer     RecordType = "customer"
	TypeSubscription RecordType = "subscription"
	TypeInvoice      RecordType = "invoice"
	TypeTask         RecordType = "task"
)

// RecordTypes lists every record type.
var RecordTypes = []RecordType{TypeAccount, TypeDeal, TypeCustomer, TypeSubscription, TypeInvoice, TypeTask}

// CommitStats counts what CommitBatch did.
type CommitStats struct {
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Stale counts records older (by Ref.Modified) than the stored copy,
	// which were ignored.
	Stale int `json:"stale"`
	// Deleted counts records that became tombstones: Batch.Deleted entries
	// and records the vendor flagged deleted.
	Deleted int `json:"deleted"`
	// Unseen is set on the last batch of a full enumeration (Full && Done):
	// live records of the stream's types that the enumeration did not
	// contain. They are not deleted; pass them to ApplyDeletions once the
	// engine's gates allow it.
	Unseen []Gone `json:"unseen,omitempty"`
}

// Add accumulates o into c.
func (c *CommitStats) Add(o CommitStats) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Stale += o.Stale
	c.Deleted += o.Deleted
	c.Unseen = append(c.Unseen, o.Unseen...)
}

// Gone is a stored record a full enumeration did not see. Modified is the
// stored copy's modified time when it was reported, so ApplyDeletions skips
// a record that changed in between.
type Gone struct {
	Type     RecordType `json:"type"`
	ID       string     `json:"id"`
	Modified time.Time  `json:"modified"`
}
