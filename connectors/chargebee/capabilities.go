package chargebee

import "github.com/healthsync/healthsync/connectors/record"

// Capabilities describe the Chargebee connector to the engine: a billing
// system whose payment_failed event reports a failed payment (Chargebee API
// v2, "Events": event types).
func Capabilities() record.Capabilities {
	return record.Capabilities{
		System:               record.Chargebee,
		Role:                 record.RoleBilling,
		PaymentFailureEvents: []string{"payment_failed"},
	}
}
