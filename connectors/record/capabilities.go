package record

import "slices"

// Roles a connector kind plays.
const (
	// RoleCRM holds accounts and deals and receives write-back and tasks.
	RoleCRM = "crm"
	// RoleBilling holds customers, subscriptions and invoices.
	RoleBilling = "billing"
	// RoleSignals holds usage signals only (product analytics, support
	// tickets).
	RoleSignals = "signals"
)

// Capabilities describe a connector kind to everything downstream, so that
// the engine and the webhook receiver decide by what a connector does, not
// by its vendor's name. Each vendor package declares its own (a
// Capabilities function); cmd/healthsync's wire table hands them to the
// engine. The zero value is a billing-less, write-less connector.
type Capabilities struct {
	// System is the Ref.System of the records the connector produces.
	System string
	// Role is RoleCRM, RoleBilling or RoleSignals.
	Role string
	// WriteBatch is the most records one write call may carry (CRM only);
	// 0 leaves the engine's default.
	WriteBatch int
	// MetadataPrefixes are the beginnings of billing-metadata keys that hold
	// this CRM's account IDs ("salesforce_account_id"): a matching rule on
	// such a key applies to this CRM only.
	MetadataPrefixes []string
	// PaymentFailureEvents are the event types by which the vendor reports
	// a failed (or blocked) payment.
	PaymentFailureEvents []string
}

// IsCRM reports whether the connector holds accounts and receives
// write-back.
func (c Capabilities) IsCRM() bool { return c.Role == RoleCRM }

// PaymentFailed reports whether an event of type t reports a failed payment.
func (c Capabilities) PaymentFailed(t string) bool {
	return slices.Contains(c.PaymentFailureEvents, t)
}

// CustomerOrderKey is the Event.OrderKey of an event about a billing
// customer's object (its subscription, invoice or the customer itself).
func CustomerOrderKey(customerID string) string { return "customer/" + customerID }
