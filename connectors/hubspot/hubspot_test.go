package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

const testToken = "pat-na1-test-token"

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testConfig(url string) config.Connector {
	return config.Connector{
		Name:    "hs",
		Kind:    config.KindHubSpot,
		BaseURL: url,
		Auth:    config.Auth{AccessToken: config.NewSecret(testToken)},
		// Generous budgets so tests are not slowed by the client-side limit.
		RateLimit:       config.RateLimit{Requests: 100000, Per: config.Duration(time.Second)},
		SearchRateLimit: config.RateLimit{Requests: 100000, Per: config.Duration(time.Second)},
		HTTP:            config.HTTP{RetryWaitMin: config.Duration(time.Millisecond), RetryWaitMax: config.Duration(2 * time.Millisecond), RetryMax: 3},
		Objects:         []config.Object{{Name: "companies", Fields: []string{"annualrevenue"}}},
	}
}

func newClient(t testing.TB, cfg config.Connector, now func() time.Time) (*Client, *validatingTransport) {
	t.Helper()
	vt := newValidatingTransport(t)
	c, err := New(cfg, Options{Now: now, Transport: vt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vt.check(t) })
	return c, vt
}

func collect(t *testing.T, c *Client, req record.PullRequest) ([]*record.Batch, error) {
	t.Helper()
	var out []*record.Batch
	for b, err := range c.Pull(context.Background(), req) {
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

type streamSummary struct {
	accounts, deals, tasks, deleted []string
	full, done                      bool
	cursor                          []byte
}

func summarize(bs []*record.Batch) map[string]*streamSummary {
	m := map[string]*streamSummary{}
	for _, b := range bs {
		s := m[b.Stream]
		if s == nil {
			s = &streamSummary{full: true}
			m[b.Stream] = s
		}
		for _, a := range b.Accounts {
			s.accounts = append(s.accounts, a.ID)
		}
		for _, d := range b.Deals {
			s.deals = append(s.deals, d.ID+">"+d.AccountID)
		}
		for _, x := range b.Tasks {
			s.tasks = append(s.tasks, x.DedupeKey)
		}
		for _, d := range b.Deleted {
			s.deleted = append(s.deleted, d.ID)
		}
		s.full = s.full && b.Full
		if b.Cursor != nil {
			s.cursor = b.Cursor
		}
		s.done = b.Done
	}
	for _, s := range m {
		slices.Sort(s.accounts)
		slices.Sort(s.deals)
		slices.Sort(s.deleted)
	}
	return m
}

func TestFullThenIncrementalPull(t *testing.T) {
	now := t0
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken, Now: func() time.Time { return now }})
	defer srv.Close()
	var companies []string
	for i := range 150 {
		companies = append(companies, srv.Seed("companies", hubspottest.Object{
			Properties: map[string]string{"name": fmt.Sprintf("Co %d", i), "domain": fmt.Sprintf("co%d.example", i), "annualrevenue": "1000"},
			CreatedAt:  t0.Add(-48 * time.Hour), UpdatedAt: t0.Add(-24 * time.Hour),
		}))
	}
	gone := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "Gone"}, UpdatedAt: t0.Add(-30 * time.Hour)})
	srv.Archive("companies", gone, t0.Add(-time.Hour))
	deal := srv.Seed("deals", hubspottest.Object{Properties: map[string]string{
		"dealname": "Renewal", "amount": "1200.50", "dealstage": "closedwon", "hs_is_closed": "true", "hs_is_closed_won": "true", "closedate": "2025-02-01T00:00:00.000Z",
	}, UpdatedAt: t0.Add(-24 * time.Hour)})
	srv.Associate("deals", deal, "companies", companies[7])
	loose := srv.Seed("deals", hubspottest.Object{Properties: map[string]string{"dealname": "No company"}, UpdatedAt: t0.Add(-24 * time.Hour)})

	c, _ := newClient(t, testConfig(srv.URL), func() time.Time { return now })
	bs, err := collect(t, c, record.PullRequest{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sum := summarize(bs)
	co := sum["companies"]
	if len(co.accounts) != 150 || !co.full || !co.done {
		t.Fatalf("companies: %d accounts full=%v done=%v", len(co.accounts), co.full, co.done)
	}
	if !slices.Equal(co.deleted, []string{gone}) {
		t.Errorf("deleted = %v, want [%s]", co.deleted, gone)
	}
	if want := []string{deal + ">" + companies[7], loose + ">"}; !slices.Equal(sum["deals"].deals, want) {
		t.Errorf("deals = %v, want %v", sum["deals"].deals, want)
	}
	if sum["tasks"] == nil || !sum["tasks"].done {
		t.Errorf("tasks stream must end with a Done batch even when empty")
	}
	var first record.Account
	for _, b := range bs {
		for _, a := range b.Accounts {
			if a.ID == companies[0] {
				first = a
			}
		}
	}
	want := record.Account{Ref: record.Ref{System: record.HubSpot, ID: companies[0], Modified: t0.Add(-24 * time.Hour)},
		Name: "Co 0", Domain: "co0.example", Fields: map[string]any{"annualrevenue": "1000"}}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Errorf("account = %+v, want %+v", first, want)
	}

	// Incremental: two companies and the deal change after the full pull.
	now = t0.Add(time.Hour)
	srv.Update("companies", companies[3], map[string]string{"name": "Renamed"}, t0.Add(30*time.Minute))
	srv.Update("companies", companies[9], map[string]string{"industry": "SOFTWARE"}, t0.Add(40*time.Minute))
	srv.Update("deals", deal, map[string]string{"amount": "99"}, t0.Add(50*time.Minute))
	srv.ResetCounts()
	cursors := map[string][]byte{"companies": co.cursor, "deals": sum["deals"].cursor}
	bs, err = collect(t, c, record.PullRequest{Now: now, Cursors: cursors})
	if err != nil {
		t.Fatal(err)
	}
	sum = summarize(bs)
	if want := []string{companies[3], companies[9]}; !slices.Equal(sum["companies"].accounts, want) || sum["companies"].full {
		t.Errorf("incremental companies = %v full=%v, want %v", sum["companies"].accounts, sum["companies"].full, want)
	}
	if want := []string{deal + ">" + companies[7]}; !slices.Equal(sum["deals"].deals, want) {
		t.Errorf("incremental deals = %v, want %v (association via v4 batch read)", sum["deals"].deals, want)
	}
	var cur cursor
	_ = json.Unmarshal(sum["companies"].cursor, &cur)
	if got := time.UnixMilli(cur.Since).UTC(); !got.Equal(t0.Add(40 * time.Minute)) {
		t.Errorf("companies cursor = %v, want last modification %v", got, t0.Add(40*time.Minute))
	}
	if n := srv.Count("POST /crm/v3/objects/companies/search"); n != 1 {
		t.Errorf("company searches = %d, want 1", n)
	}
	if n := srv.Count("POST /crm/v4/associations/deals/companies/batch/read"); n != 1 {
		t.Errorf("association reads = %d, want 1", n)
	}
}

func TestIncrementalAboveSearchCap(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	want := map[string]bool{}
	// 10,100 records modified in the same millisecond (more than one query
	// can page through), then 300 spread over the following minutes.
	burst := t0.Add(time.Minute)
	for range 10100 {
		want[srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "b"}, UpdatedAt: burst})] = true
	}
	for i := range 300 {
		want[srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "s"}, UpdatedAt: burst.Add(time.Duration(i+1) * time.Second)})] = true
	}
	// An old record outside the window.
	srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "old"}, UpdatedAt: t0.Add(-time.Hour)})

	c, _ := newClient(t, testConfig(srv.URL), func() time.Time { return t0.Add(2 * time.Hour) })
	var cur []byte
	got := map[string]bool{}
	for b, err := range c.Pull(context.Background(), record.PullRequest{Cursors: map[string][]byte{"companies": encodeCursor(t0)}}) {
		if err != nil {
			t.Fatal(err)
		}
		if b.Stream != "companies" {
			break
		}
		for _, a := range b.Accounts {
			got[a.ID] = true
		}
		cur = b.Cursor
	}
	missing := 0
	for id := range want {
		if !got[id] {
			missing++
		}
	}
	if missing > 0 || len(got) != len(want) {
		t.Fatalf("read %d distinct companies, %d of %d missing", len(got), missing, len(want))
	}
	var cc cursor
	_ = json.Unmarshal(cur, &cc)
	if last := burst.Add(300 * time.Second); cc.Since != last.UnixMilli() {
		t.Errorf("cursor = %v, want %v", time.UnixMilli(cc.Since).UTC(), last)
	}
}

func TestRepeatedListCursorStops(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	for range 5 {
		srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "x"}})
	}
	srv.InjectFault(hubspottest.Fault{Path: "/crm/v3/objects/companies", Kind: hubspottest.FaultStuck, Times: 10})
	c, _ := newClient(t, testConfig(srv.URL), nil)
	_, err := collect(t, c, record.PullRequest{})
	if !errors.Is(err, ErrRepeatedCursor) {
		t.Fatalf("err = %v, want ErrRepeatedCursor", err)
	}
	if n := srv.Count("GET /crm/v3/objects/companies"); n != 2 {
		t.Errorf("list calls = %d, want 2 (stop at the first repeat)", n)
	}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		n         int
		wantQuota bool
		wantCalls int64
	}{
		{name: "ten-secondly 429 then recovery", policy: "TEN_SECONDLY_ROLLING", n: 2, wantCalls: 3},
		{name: "daily limit stops the run", policy: "DAILY", n: 1, wantQuota: true, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
			defer srv.Close()
			id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "x"}})
			srv.InjectFault(hubspottest.Fault{Status: http.StatusTooManyRequests, Code: tc.policy, Times: tc.n})
			c, _ := newClient(t, testConfig(srv.URL), nil)
			b, err := c.Fetch(context.Background(), "company", id)
			if tc.wantQuota {
				if !errors.Is(err, httpclient.ErrQuota) {
					t.Fatalf("err = %v, want ErrQuota", err)
				}
			} else if err != nil || len(b.Accounts) != 1 {
				t.Fatalf("fetch = %v, %v", b, err)
			}
			if got := srv.Count("GET /crm/v3/objects/companies/{id}"); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if got := c.Stats().Throttled; got != int64(tc.n) {
				t.Errorf("throttled = %d, want %d", got, tc.n)
			}
		})
	}
}

func TestFakeRateLimitHeadersAndBody(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken, TenSecondlyLimit: 2, Now: func() time.Time { return t0 }})
	defer srv.Close()
	id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "x"}})
	cfg := testConfig(srv.URL)
	cfg.HTTP.RetryMax = -1 // no retries: see the 429
	c, _ := newClient(t, cfg, nil)
	for range 2 {
		if _, err := c.Fetch(context.Background(), "companies", id); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Fetch(context.Background(), "companies", id)
	var he *httpclient.Error
	if !errors.As(err, &he) || he.Status != 429 || he.Policy != "TEN_SECONDLY_ROLLING" || he.Code != "RATE_LIMIT" {
		t.Fatalf("err = %#v, want 429 TEN_SECONDLY_ROLLING", err)
	}
	if u := c.usage(); u == nil || u.Limit != 250000 || u.Used != 2 {
		t.Errorf("usage = %+v, want 2 of 250000", u)
	}
}

func TestFetchDeletedCompany(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "x"}})
	srv.Archive("companies", id, time.Time{})
	c, _ := newClient(t, testConfig(srv.URL), func() time.Time { return t0 })
	b, err := c.Fetch(context.Background(), "company", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Deleted) != 1 || b.Deleted[0].ID != id || len(b.Accounts) != 0 {
		t.Errorf("batch = %+v, want a deletion of %s", b, id)
	}
}

func TestAuthErrorsAreNotRetried(t *testing.T) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: "other"})
	defer srv.Close()
	c, _ := newClient(t, testConfig(srv.URL), nil)
	_, err := collect(t, c, record.PullRequest{})
	var he *httpclient.Error
	if !errors.As(err, &he) || he.Status != 401 || he.Code != "INVALID_AUTHENTICATION" {
		t.Fatalf("err = %v, want 401 INVALID_AUTHENTICATION", err)
	}
	if srv.Count("GET /crm/v3/objects/companies") != 1 {
		t.Errorf("a private-app 401 must not be retried")
	}
}

func TestNewValidatesAuth(t *testing.T) {
	tests := []struct {
		name string
		auth config.Auth
		ok   bool
	}{
		{"private app", config.Auth{AccessToken: config.NewSecret("x")}, true},
		{"oauth", config.Auth{ClientID: "id", ClientSecret: config.NewSecret("s"), RefreshToken: config.NewSecret("r")}, true},
		{"nothing", config.Auth{}, false},
		{"both", config.Auth{AccessToken: config.NewSecret("x"), ClientID: "id", ClientSecret: config.NewSecret("s"), RefreshToken: config.NewSecret("r")}, false},
		{"oauth without secret", config.Auth{ClientID: "id", RefreshToken: config.NewSecret("r")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(config.Connector{Kind: "hubspot", Auth: tc.auth}, Options{})
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
