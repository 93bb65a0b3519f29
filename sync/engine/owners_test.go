package engine_test

import (
	"context"
	"maps"
	"testing"

	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/sync/engine"
)

// TestReportOwnerSegmentShowsNames pins issue 19 item 4 end to end: after
// a sync through each CRM's fake, `report --segment owner` names each
// owner where the CRM gives a name and shows the owner ID where it does
// not.
func TestReportOwnerSegmentShowsNames(t *testing.T) {
	segments := func(t *testing.T, eng *engine.Engine) map[string]int {
		t.Helper()
		r, _, err := eng.Report(context.Background(), engine.ReportOptions{Segment: "owner"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, s := range r.Segments {
			if s.Dimension == "owner" {
				got[s.Value] = s.Customers
			}
		}
		return got
	}
	t.Run("salesforce", func(t *testing.T) {
		e := newSFStripe(t)
		ana := e.sf.AddUser("Ana Owner")
		nameless, err := e.sf.Insert("User", map[string]any{"Username": "nameless@example.com", "IsActive": true})
		if err != nil {
			t.Fatal(err)
		}
		for i, owner := range []string{ana, nameless} {
			if err := e.sf.Update("Account", e.accts[i], map[string]any{"OwnerId": owner}); err != nil {
				t.Fatal(err)
			}
		}
		e.sync(t)
		want := map[string]int{"Ana Owner": 1, nameless: 1, "Integration User": 1}
		if got := segments(t, e.eng); !maps.Equal(got, want) {
			t.Errorf("owner segments = %v, want %v", got, want)
		}
	})
	t.Run("hubspot", func(t *testing.T) {
		e := newHSChargebee(t, hubspot.DefaultProperties())
		hana := e.hs.SeedOwner(hubspottest.Owner{Email: "hana@example.com", FirstName: "Hana", LastName: "Owner"})
		nameless := e.hs.SeedOwner(hubspottest.Owner{Email: "queue@example.com"})
		for i, owner := range []string{hana, nameless} {
			e.hs.Update("companies", e.companies[i], map[string]string{"hubspot_owner_id": owner}, e.now)
		}
		if rep, err := e.eng.Sync(context.Background(), engine.SyncOptions{}); err != nil || len(rep.Errors) > 0 {
			t.Fatalf("sync: %v %v", err, rep.Errors)
		}
		want := map[string]int{"Hana Owner": 1, nameless: 1}
		if got := segments(t, e.eng); !maps.Equal(got, want) {
			t.Errorf("owner segments = %v, want %v", got, want)
		}
	})
}
