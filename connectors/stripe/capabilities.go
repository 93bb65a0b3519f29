package stripe

import "github.com/healthsync/healthsync/connectors/record"

// Capabilities describe the Stripe connector to the engine: a billing
// system whose invoice.payment_failed and invoice.payment_action_required
// events report a payment that did not go through (Stripe API reference,
// "Types of events").
func Capabilities() record.Capabilities {
	return record.Capabilities{
		System:               record.Stripe,
		Role:                 record.RoleBilling,
		PaymentFailureEvents: []string{"invoice.payment_failed", "invoice.payment_action_required"},
	}
}
