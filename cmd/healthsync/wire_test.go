package main

import (
	"reflect"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestWireTable pins what the rest of the program relies on in each row:
// the kind is the system of its records (the engine keys accounts by the
// connector's kind), config knows the kind, a CRM declares its write batch,
// and the signals endpoint accepts exactly the table's systems.
func TestWireTable(t *testing.T) {
	kinds := connectorKinds()
	for _, k := range kinds {
		if k.caps.System != k.name {
			t.Errorf("%s: capabilities name system %q", k.name, k.caps.System)
		}
		if !slices.Contains(config.Kinds(), k.name) {
			t.Errorf("%s: config does not know the kind", k.name)
		}
		if !slices.Contains([]string{record.RoleCRM, record.RoleBilling, record.RoleSignals}, k.caps.Role) {
			t.Errorf("%s: role %q", k.name, k.caps.Role)
		}
		if k.caps.IsCRM() && (k.caps.WriteBatch <= 0 || len(k.caps.MetadataPrefixes) == 0) {
			t.Errorf("%s: a CRM declares its write batch and metadata prefixes: %+v", k.name, k.caps)
		}
	}
	w, err := wireKinds(&config.Config{}, zerolog.Nop(), kinds)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"salesforce", "hubspot", "stripe", "chargebee", "external"}; !reflect.DeepEqual(w.systems, want) {
		t.Errorf("signal systems = %v, want %v", w.systems, want)
	}
}
