package salesforce_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

// TestPullOwnerNames pins issue 19 item 4 for Salesforce: the pull and the
// webhook fetch read Owner.Name through the relationship and carry it as
// OwnerName; an owner without a name leaves it empty (the report then shows
// the ID); a relationship field listed under objects lands in Fields under
// its dotted name.
func TestPullOwnerNames(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	e.cfg.Objects = []config.Object{{Name: "Account", Fields: []string{"Owner.Username"}}}
	olivia := e.fake.AddUser("Olivia Owner")
	nameless := e.mustInsert("User", map[string]any{"Username": "nameless@example.com", "IsActive": true})
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme", "OwnerId": olivia})
	globex := e.mustInsert("Account", map[string]any{"Name": "Globex", "OwnerId": nameless})
	c := e.client(salesforce.Options{})

	type owner struct {
		ID, Name string
		Fields   map[string]any
	}
	want := map[string]owner{
		acme:   {olivia, "Olivia Owner", map[string]any{"Owner.Username": "Olivia Owner"}},
		globex: {nameless, "", map[string]any{"Owner.Username": "nameless@example.com"}},
	}
	batches, err := pull(t, c, map[string][]byte{}, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]owner{}
	for _, b := range batches {
		for _, a := range b.Accounts {
			got[a.ID] = owner{a.OwnerID, a.OwnerName, a.Fields}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pull: owners = %+v, want %+v", got, want)
	}

	b, err := c.Fetch(context.Background(), "Account", acme)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Accounts) != 1 {
		t.Fatalf("fetch: %d accounts, want 1", len(b.Accounts))
	}
	if a := b.Accounts[0]; !reflect.DeepEqual(owner{a.OwnerID, a.OwnerName, a.Fields}, want[acme]) {
		t.Errorf("fetch: owner = %+v, want %+v", owner{a.OwnerID, a.OwnerName, a.Fields}, want[acme])
	}
}
