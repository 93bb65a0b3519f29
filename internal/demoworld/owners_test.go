package demoworld

import (
	"maps"
	"net/url"
	"strings"
	"testing"
)

// TestOwnersHaveNames pins issue 19 item 4 for the demo: each account's
// owner has the plan's name in both fakes, Salesforce through Owner.Name
// and HubSpot through GET /crm/v3/owners, so `report --segment owner`
// shows names.
func TestOwnersHaveNames(t *testing.T) {
	w := Generate(Options{Accounts: 60, Seed: 3, Now: testNow})
	f := load(t, w)
	want := map[string]string{}
	for _, a := range w.accounts {
		want[a.CRM+"/"+a.crmID] = a.Owner.Name
	}

	got := map[string]string{}
	var sf struct {
		Done    bool `json:"done"`
		Records []struct {
			ID    string `json:"Id"`
			Owner struct {
				Name string `json:"Name"`
			} `json:"Owner"`
		} `json:"records"`
	}
	getJSON(t, f.sf.URL+"/services/data/v62.0/query?"+url.Values{"q": {"SELECT Id, Owner.Name FROM Account"}}.Encode(), sfToken(t, f), &sf)
	if !sf.Done {
		t.Fatal("salesforce: more than one page")
	}
	for _, r := range sf.Records {
		got[sysSalesforce+"/"+r.ID] = r.Owner.Name
	}
	var hs struct {
		Results []struct {
			ID        string `json:"id"`
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"results"`
	}
	getJSON(t, f.hs.URL+"/crm/v3/owners", hsAuth, &hs)
	names := map[string]string{}
	for _, o := range hs.Results {
		names[o.ID] = strings.TrimSpace(o.FirstName + " " + o.LastName)
	}
	for _, c := range f.hs.Objects("companies") {
		got[sysHubSpot+"/"+c.ID] = names[c.Properties["hubspot_owner_id"]]
	}
	if !maps.Equal(got, want) {
		t.Errorf("owner names = %v\nwant %v", got, want)
	}
}
