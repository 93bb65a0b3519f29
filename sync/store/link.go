package store

import (
	"time"
)

// Link joins a CRM account to a billing customer.
type Link struct {
	AccountKey  string    `json:"account_key"`  // record.Ref.Key() of the account, e.g. "salesforce/001..."
	CustomerKey string    `json:"customer_key"` // e.g. "stripe/cus_..."
	Rule        string    `json:"rule"`         // the matching rule that made it, e.g. "metadata", "domain", "manual"
	Created     time.Time `json:"created"`      // when the link was first made
}
