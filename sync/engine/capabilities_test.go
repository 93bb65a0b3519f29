package engine

import (
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Connectors with the capabilities of two CRMs and a billing system, named
// neutrally: the engine decides by capabilities only.
var capsConnectors = []*Connector{
	{Config: config.Connector{Name: "a"}, Caps: record.Capabilities{System: "crma", Role: record.RoleCRM, WriteBatch: 200, MetadataPrefixes: []string{"crma", "ca_"}}},
	{Config: config.Connector{Name: "b"}, Caps: record.Capabilities{System: "crmb", Role: record.RoleCRM, WriteBatch: 100, MetadataPrefixes: []string{"crmb", "cb_"}}},
	{Config: config.Connector{Name: "bill"}, Caps: record.Capabilities{System: "bill", Role: record.RoleBilling, MetadataPrefixes: []string{"bill"},
		PaymentFailureEvents: []string{"bill.failed"}}},
}

func TestMetadataSystem(t *testing.T) {
	for key, want := range map[string]string{
		"crma_account_id": "crma",
		"ca_id":           "crma",
		"crmb_company_id": "crmb",
		"cb_company":      "crmb",
		"custom_id":       "",
		"billing_owner":   "", // a billing connector's prefix scopes nothing
	} {
		if got := metadataSystem(key, capsConnectors); got != want {
			t.Errorf("metadataSystem(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestCapabilityDecisions(t *testing.T) {
	e := &Engine{conns: capsConnectors, byName: map[string]*Connector{}}
	for _, c := range capsConnectors {
		e.byName[c.Name()] = c
	}
	type decision struct {
		crm, billingSystem, paymentFailed bool
		batch                             int
	}
	tests := []struct {
		conn, eventType string
		want            decision
	}{
		{"a", "bill.failed", decision{crm: true, batch: 200}},
		{"b", "bill.failed", decision{crm: true, batch: 100}},
		{"bill", "bill.failed", decision{billingSystem: true, paymentFailed: true, batch: 200}},
		{"bill", "bill.paid", decision{billingSystem: true, batch: 200}},
	}
	for _, tt := range tests {
		c := e.byName[tt.conn]
		got := decision{crm: c.IsCRM(), billingSystem: e.isBillingSystem(c.Caps.System),
			paymentFailed: e.isPaymentFailure(queued(tt.conn, tt.eventType)), batch: batchSize(c)}
		if got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.conn, tt.eventType, got, tt.want)
		}
	}
	if batchSize(nil) != 200 || e.isPaymentFailure(queued("nosuch", "bill.failed")) {
		t.Error("an unknown connector must get the defaults")
	}
}

func queued(connector, eventType string) store.QueuedEvent {
	return store.QueuedEvent{Connector: connector, Event: record.Event{Type: eventType}}
}
