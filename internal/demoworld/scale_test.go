package demoworld

import (
	"reflect"
	"testing"
)

// TestScaleWorld: SalesforceOnly puts every account in Salesforce with a
// Stripe customer, and SubsPerAccount 2 gives each customer a second
// subscription of its own (reactivated accounts keep their ended one
// too); the default world is the one without the options.
func TestScaleWorld(t *testing.T) {
	w := Generate(Options{Accounts: 40, Seed: 7, Now: testNow, SalesforceOnly: true, SubsPerAccount: 2})
	type shape struct{ crm, billing string }
	got, want := map[shape]int{}, map[shape]int{{sysSalesforce, sysStripe}: 40}
	for _, a := range w.accounts {
		got[shape{a.CRM, a.Customer.System}]++
		ids := map[string]bool{}
		for _, s := range a.Customer.Subs {
			ids[s.ID] = true
		}
		wantSubs := 2
		for _, s := range a.Customer.Subs {
			if s.Reactivation {
				wantSubs = 3 // the ended one, its successor, the second
			}
		}
		if len(ids) != wantSubs || len(a.Customer.Subs) != wantSubs {
			t.Errorf("account %s: %d subscriptions (%d distinct IDs), want %d", a.Name, len(a.Customer.Subs), len(ids), wantSubs)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts by CRM and billing system %v, want %v", got, want)
	}
	// The options default to the demo's world.
	a, b := Generate(Options{Accounts: 40, Seed: 7, Now: testNow}), Generate(Options{Accounts: 40, Seed: 7, Now: testNow, SubsPerAccount: 1})
	if !reflect.DeepEqual(a.Summary(), b.Summary()) {
		t.Errorf("SubsPerAccount 1 changed the world: %+v vs %+v", a.Summary(), b.Summary())
	}
}
