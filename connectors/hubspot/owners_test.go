package hubspot

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

// companyOwners maps the pulled companies to their owner ID and name.
func companyOwners(bs []*record.Batch) map[string][2]string {
	out := map[string][2]string{}
	for _, b := range bs {
		for _, a := range b.Accounts {
			out[a.ID] = [2]string{a.OwnerID, a.OwnerName}
		}
	}
	return out
}

// TestPullOwnerNames pins issue 19 item 4 for HubSpot: companies carry
// their owner's name from GET /crm/v3/owners, read through every page,
// archived owners included, once per run (the full and the incremental
// paths and a webhook fetch share the run's cache); an owner without a name
// or an ID HubSpot does not list leaves OwnerName empty; a token without
// crm.objects.owners.read still pulls, without names.
func TestPullOwnerNames(t *testing.T) {
	now := t0
	fake := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken, Now: func() time.Time { return now }})
	defer fake.Close()
	var named string
	for i := range 230 { // three pages of 100
		id := fake.SeedOwner(hubspottest.Owner{Email: fmt.Sprintf("rep%d@example.com", i), FirstName: "Rep", LastName: fmt.Sprint(i)})
		if i == 150 {
			named = id
		}
	}
	nameless := fake.SeedOwner(hubspottest.Owner{Email: "queue@example.com"})
	gone := fake.SeedOwner(hubspottest.Owner{Email: "gone@example.com", FirstName: "Gone", LastName: "Rep", Archived: true})
	seed := func(owner string) string {
		return fake.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "Co " + owner, "hubspot_owner_id": owner},
			CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour)})
	}
	a, b, c, d, e := seed(named), seed(nameless), seed(gone), seed("999999"), seed("")
	cl, _ := newClient(t, testConfig(fake.URL), func() time.Time { return now })

	bs, err := collect(t, cl, record.PullRequest{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{a: {named, "Rep 150"}, b: {nameless, ""}, c: {gone, "Gone Rep"}, d: {"999999", ""}, e: {"", ""}}
	if got := companyOwners(bs); !maps.Equal(got, want) {
		t.Errorf("full pull: owners = %v, want %v", got, want)
	}
	if n := fake.Count("GET /crm/v3/owners"); n != 4 {
		t.Errorf("full pull: %d owners calls, want 4 (three pages, one archived)", n)
	}

	// The next run reads the owners again: a renamed owner shows.
	fake.SeedOwner(hubspottest.Owner{ID: named, Email: "rep150@example.com", FirstName: "Renamed", LastName: "Rep"})
	now = now.Add(time.Hour)
	fake.Update("companies", a, map[string]string{"name": "Co renamed"}, now)
	cursors := map[string][]byte{}
	for _, x := range bs {
		if x.Cursor != nil {
			cursors[x.Stream] = x.Cursor
		}
	}
	now = now.Add(time.Minute)
	bs, err = collect(t, cl, record.PullRequest{Now: now, Cursors: cursors})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := companyOwners(bs), map[string][2]string{a: {named, "Renamed Rep"}}; !maps.Equal(got, want) {
		t.Errorf("incremental pull: owners = %v, want %v", got, want)
	}
	if n := fake.Count("GET /crm/v3/owners"); n != 8 {
		t.Errorf("after two runs: %d owners calls, want 8", n)
	}
	fb, err := cl.Fetch(context.Background(), "companies", c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := companyOwners([]*record.Batch{fb}), map[string][2]string{c: {gone, "Gone Rep"}}; !maps.Equal(got, want) {
		t.Errorf("fetch: owners = %v, want %v", got, want)
	}
	if n := fake.Count("GET /crm/v3/owners"); n != 8 {
		t.Errorf("fetch read the owners again: %d calls, want 8", n)
	}

	fake.DenyScope(hubspottest.ScopeOwnersRead)
	bs, err = collect(t, cl, record.PullRequest{Now: now, Full: true})
	if err != nil {
		t.Fatalf("pull without the owners scope: %v", err)
	}
	want = map[string][2]string{a: {named, ""}, b: {nameless, ""}, c: {gone, ""}, d: {"999999", ""}, e: {"", ""}}
	if got := companyOwners(bs); !maps.Equal(got, want) {
		t.Errorf("without the owners scope: owners = %v, want %v", got, want)
	}
}
