package hubspot

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestDealCompanyIsTheSameOnEveryPath pins one rule for a deal's account on
// the full (list), incremental (search) and webhook (get) paths: the
// primary company (v4 type 5), else the lowest company ID. v3 answers list
// the primary twice (deal_to_company, deal_to_company_unlabeled) and say
// "primary" nowhere, so taking the first embedded company picked the other
// one on full pulls while incremental pulls took the primary.
func TestDealCompanyIsTheSameOnEveryPath(t *testing.T) {
	now := t0
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken, Now: func() time.Time { return now }})
	defer srv.Close()
	old := t0.Add(-24 * time.Hour)
	a := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "A"}, UpdatedAt: old})
	b := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "B"}, UpdatedAt: old})
	seedDeal := func(name string) string {
		return srv.Seed("deals", hubspottest.Object{Properties: map[string]string{"dealname": name}, UpdatedAt: old})
	}
	primarySecond := seedDeal("primary is the second company")
	srv.Associate("deals", primarySecond, "companies", a)
	srv.AssociatePrimary(primarySecond, b)
	primaryFirst := seedDeal("primary is the first company")
	srv.AssociatePrimary(primaryFirst, a)
	srv.Associate("deals", primaryFirst, "companies", b)
	noPrimary := seedDeal("two companies, no primary")
	srv.Associate("deals", noPrimary, "companies", b)
	srv.Associate("deals", noPrimary, "companies", a)
	moved := seedDeal("primary moved from A to B")
	srv.AssociatePrimary(moved, a)
	srv.AssociatePrimary(moved, b)
	want := []string{primarySecond + ">" + b, primaryFirst + ">" + a, noPrimary + ">" + a, moved + ">" + b}
	slices.Sort(want)

	c, _ := newClient(t, testConfig(srv.URL), func() time.Time { return now })
	bs, err := collect(t, c, record.PullRequest{Now: now, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	full := summarize(bs)
	if got := full["deals"].deals; !slices.Equal(got, want) {
		t.Errorf("full pull: deals = %v, want %v", got, want)
	}

	now = t0.Add(time.Hour)
	for _, d := range []string{primarySecond, primaryFirst, noPrimary, moved} {
		srv.Update("deals", d, map[string]string{"amount": "10"}, t0.Add(30*time.Minute))
	}
	bs, err = collect(t, c, record.PullRequest{Now: now, Cursors: map[string][]byte{
		StreamCompanies: full["companies"].cursor, StreamDeals: full["deals"].cursor}})
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(bs)["deals"].deals; !slices.Equal(got, want) {
		t.Errorf("incremental pull: deals = %v, want %v", got, want)
	}

	var fetched []string
	for _, d := range []string{primarySecond, primaryFirst, noPrimary, moved} {
		fb, err := c.Fetch(context.Background(), "deal", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range fb.Deals {
			fetched = append(fetched, x.ID+">"+x.AccountID)
		}
	}
	slices.Sort(fetched)
	if !slices.Equal(fetched, want) {
		t.Errorf("fetch: deals = %v, want %v", fetched, want)
	}
}
