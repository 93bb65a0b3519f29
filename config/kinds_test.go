package config

import (
	"fmt"
	"reflect"
	"testing"
)

// TestKindTable pins the registry's contract on a private table (the
// process-wide one is left alone so that other tests' kind lists hold):
// built-ins first, registration order kept, a second registration of a name
// and an empty name refused.
func TestKindTable(t *testing.T) {
	tab := newKindTable()
	tab.register("zendesk", Kind{})
	tab.register("segment", Kind{})
	if got, want := tab.list(), []string{KindSalesforce, KindHubSpot, KindStripe, KindChargebee, "zendesk", "segment"}; !reflect.DeepEqual(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	if _, ok := tab.lookup("segment"); !ok {
		t.Error("a registered kind is not found")
	}
	if _, ok := tab.lookup("nosuch"); ok {
		t.Error("an unregistered kind is found")
	}
	for _, name := range []string{"zendesk", KindStripe, ""} {
		t.Run(fmt.Sprintf("register %q", name), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("register(%q) did not panic", name)
				}
			}()
			tab.register(name, Kind{})
		})
	}
}

// TestBuiltinKindsAreRegistered pins that the process-wide table starts
// with the four kinds whose settings this package's schema holds.
func TestBuiltinKindsAreRegistered(t *testing.T) {
	got := Kinds()
	if len(got) < 4 || !reflect.DeepEqual(got[:4], []string{KindSalesforce, KindHubSpot, KindStripe, KindChargebee}) {
		t.Errorf("Kinds() = %v, want the built-ins first", got)
	}
}
