package demoworld

import (
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
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

// TestScaleWorldLoads: the scale world seeds the Salesforce and Stripe
// fakes; every customer exists before its subscriptions (a second
// subscription may start before the main one), and Stripe holds every
// subscription the world has.
func TestScaleWorldLoads(t *testing.T) {
	w := Generate(Options{Accounts: 30, Seed: 3, Now: testNow, SalesforceOnly: true, SubsPerAccount: 2})
	sf := salesforcetest.NewServer(salesforcetest.Options{ClientID: sfID, ClientSecret: sfSecret})
	defer sf.Close()
	st := stripetest.NewServer(stripetest.Options{APIKey: stKey})
	defer st.Close()
	if err := w.LoadSalesforce(sf); err != nil {
		t.Fatal(err)
	}
	if err := w.LoadStripe(st); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, c := range w.customers {
		for _, s := range c.Subs {
			if _, ok := st.Subscription(s.ID); !ok && c.System == sysStripe {
				missing = append(missing, s.ID)
			}
			if s.Created.Before(c.Created) {
				t.Errorf("customer %s created %v after its subscription %s (%v)", c.ID, c.Created, s.ID, s.Created)
			}
		}
	}
	if len(missing) != 0 {
		t.Errorf("subscriptions missing from stripe: %v", missing)
	}
}
