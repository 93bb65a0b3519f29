package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

func TestPullFullThenIncremental(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	e.fake.AddFields("Account",
		salesforcetest.Field{Name: "Stripe_Customer_Id__c", Type: salesforcetest.TypeString, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true},
		salesforcetest.Field{Name: "NPS__c", Type: salesforcetest.TypeDouble, Updateable: true, Createable: true, Custom: true, Nillable: true},
	)
	e.cfg.Objects = []config.Object{{Name: "Account", Fields: []string{"Stripe_Customer_Id__c", "NPS__c"}}}
	owner := e.fake.AddUser("Olivia Owner")
	acme := e.mustInsert("Account", map[string]any{"Name": "Acme", "Website": "acme.example", "OwnerId": owner, "Industry": "Technology",
		"Stripe_Customer_Id__c": "cus_123", "NPS__c": 42})
	globex := e.mustInsert("Account", map[string]any{"Name": "Globex"})
	e.clock.Advance(time.Second)
	opp := e.mustInsert("Opportunity", map[string]any{"Name": "Acme renewal", "AccountId": acme, "StageName": "Closed Won",
		"Type": "Renewal", "Amount": 12000, "CloseDate": "2025-02-28"})
	c := e.client(salesforce.Options{})

	cursors := map[string][]byte{}
	got, err := pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	streams := []string{}
	for _, b := range got {
		streams = append(streams, b.Stream)
	}
	if want := []string{"Account", "Account/deleted", "Opportunity", "Opportunity/deleted", "Task"}; !slices.Equal(streams, want) {
		t.Fatalf("streams = %v, want %v", streams, want)
	}
	acc := got[0]
	if !acc.Full || !acc.Done || acc.Usage == nil || acc.Usage.Limit != 100000 {
		t.Errorf("account batch Full=%v Done=%v Usage=%v", acc.Full, acc.Done, acc.Usage)
	}
	stamp := e.fake.Get("Account", acme)["SystemModstamp"].(time.Time)
	wantAcme := record.Account{
		Ref:  record.Ref{System: record.Salesforce, ID: acme, Modified: stamp},
		Name: "Acme", Website: "acme.example", OwnerID: owner, OwnerName: "Olivia Owner", Industry: "Technology",
		Fields: map[string]any{"Stripe_Customer_Id__c": "cus_123", "NPS__c": 42.0},
	}
	if len(acc.Accounts) != 2 || !equalJSON(acc.Accounts[0], wantAcme) {
		t.Errorf("accounts = %+v\nwant first %+v", acc.Accounts, wantAcme)
	}
	deals := got[2].Deals
	wantDeal := record.Deal{Ref: record.Ref{System: record.Salesforce, ID: opp, Modified: e.fake.Get("Opportunity", opp)["SystemModstamp"].(time.Time)},
		AccountID: acme, Name: "Acme renewal", Stage: "Closed Won", Type: "Renewal", Amount: 12000,
		CloseDate: time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC), IsClosed: true, IsWon: true, OwnerID: e.fake.IntegrationUser()}
	if len(deals) != 1 || !equalJSON(deals[0], wantDeal) {
		t.Errorf("deals = %+v\nwant %+v", deals, wantDeal)
	}

	// Nothing changed: incremental pull returns empty, done batches and
	// leaves cursors alone.
	before := string(cursors["Account"])
	got, err = pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(accountIDs(got)); n != 0 || got[0].Full || !got[0].Done || got[0].Cursor != nil || string(cursors["Account"]) != before {
		t.Fatalf("idle incremental: %d accounts, batch %+v", n, got[0])
	}

	// A change and an insert show up incrementally, nothing else.
	e.clock.Advance(time.Minute)
	if err := e.fake.Update("Account", globex, map[string]any{"Industry": "Retail"}); err != nil {
		t.Fatal(err)
	}
	initech := e.mustInsert("Account", map[string]any{"Name": "Initech"})
	got, err = pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := accountIDs(got); !slices.Equal(ids, []string{globex, initech}) {
		t.Errorf("incremental accounts = %v, want [%s %s]", ids, globex, initech)
	}
	if got[0].Full {
		t.Error("incremental batch marked Full")
	}

	// A forced full read returns everything again.
	got, err = pull(t, c, cursors, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(accountIDs(got)); n != 3 || !got[0].Full {
		t.Errorf("full re-read: %d accounts, Full=%v", n, got[0].Full)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Many records share one SystemModstamp after a bulk update; a crash after
// the first page must resume without loss or duplicates.
func TestPullCrashBetweenPagesResumes(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{BatchSize: 200})
	all := e.seedAccounts(150)
	e.clock.Advance(time.Second)
	all = append(all, e.seedAccounts(300)...) // 300 share one SystemModstamp
	e.clock.Advance(time.Second)
	all = append(all, e.seedAccounts(50)...)
	c := e.client(salesforce.Options{})

	cursors := map[string][]byte{}
	first, err := pull(t, c, cursors, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(first[0].Accounts) != 200 || first[0].Done {
		t.Fatalf("first page: %d batches, %d accounts", len(first), len(first[0].Accounts))
	}
	var cur salesforce.Cursor
	if err := json.Unmarshal(cursors["Account"], &cur); err != nil || cur.ID != all[199] {
		t.Fatalf("cursor after page 1 = %s (%v), want id %s", cursors["Account"], err, all[199])
	}

	// Resume: the rest, each exactly once, across the shared timestamp.
	rest, err := pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	accs := byStream(rest, "Account")
	if len(accs) != 2 || accs[0].Full {
		t.Fatalf("resume: %d account batches, Full=%v", len(accs), accs[0].Full)
	}
	got := append(accountIDs(first), accountIDs(accs)...)
	if !slices.Equal(got, all) {
		t.Fatalf("resumed pull returned %d ids (want %d), order or content differs", len(got), len(all))
	}
}

func TestPullDeletions(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	ids := e.seedAccounts(3)
	c := e.client(salesforce.Options{})
	cursors := map[string][]byte{}
	if _, err := pull(t, c, cursors, false, 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.fake.Delete("Account", ids[1]); err != nil {
		t.Fatal(err)
	}
	got, err := pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	del := byStream(got, "Account"+salesforce.DeletedSuffix)
	want := []record.Ref{{System: record.Salesforce, ID: ids[1], Modified: e.clock.Now()}}
	if len(del) != 1 || !equalJSON(del[0].Deleted, want) || del[0].Full || !del[0].Done {
		t.Fatalf("deleted batches = %+v, want one with %v", del, want)
	}
	if n := len(accountIDs(got)); n != 0 {
		t.Errorf("deleted record came back as an account (%d)", n)
	}
	// Reported once.
	got, err = pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := byStream(got, "Account"+salesforce.DeletedSuffix); len(d[0].Deleted) != 0 {
		t.Errorf("deletion reported twice: %v", d[0].Deleted)
	}
	// Fetch of a deleted account is a deletion too; of a live one, the account.
	b, err := c.Fetch(context.Background(), "Account", ids[1])
	if err != nil || len(b.Deleted) != 1 || len(b.Accounts) != 0 {
		t.Errorf("Fetch deleted = %+v, %v", b, err)
	}
	b, err = c.Fetch(context.Background(), "Account", ids[0])
	if err != nil || len(b.Accounts) != 1 || b.Accounts[0].Name != "Acme 0" {
		t.Errorf("Fetch live = %+v, %v", b, err)
	}
	if _, err := c.Fetch(context.Background(), "Account", "x' OR Name != '"); err == nil {
		t.Error("Fetch accepted an injected id")
	}
}

func TestPullFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   salesforcetest.Fault
		wantErr bool
		check   func(t *testing.T, err error)
	}{
		{name: "503 once is retried", fault: salesforcetest.Fault{Path: "/query", Status: 503}},
		{name: "500 until retries run out", fault: salesforcetest.Fault{Path: "/query", Status: 500, Times: 3}, wantErr: true,
			check: func(t *testing.T, err error) {
				var he *httpclient.Error
				if !errors.As(err, &he) || he.Status != 500 || he.Code != "SERVER_UNAVAILABLE" || !he.Temporary() {
					t.Errorf("err = %v, want temporary *httpclient.Error 500", err)
				}
			}},
		{name: "malformed body", fault: salesforcetest.Fault{Path: "/query", Malformed: true}, wantErr: true,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "decoding response") {
					t.Errorf("err = %v", err)
				}
			}},
		{name: "400 is not retried", fault: salesforcetest.Fault{Path: "/query", Status: 400, Code: "MALFORMED_QUERY"}, wantErr: true,
			check: func(t *testing.T, err error) {
				var he *httpclient.Error
				if !errors.As(err, &he) || he.Code != "MALFORMED_QUERY" {
					t.Errorf("err = %v", err)
				}
			}},
		{name: "timeout", fault: salesforcetest.Fault{Path: "/query", Delay: fakeapi.Forever, Times: 3}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, salesforcetest.Options{})
			e.cfg.HTTP.Timeout = config.Duration(100 * time.Millisecond)
			e.seedAccounts(2)
			c := e.client(salesforce.Options{})
			e.fake.InjectFault(tc.fault)
			got, err := pull(t, c, map[string][]byte{}, false, 0)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			if !tc.wantErr && len(accountIDs(got)) != 2 {
				t.Errorf("got %d accounts", len(accountIDs(got)))
			}
		})
	}
}

// A vendor that hands back the same nextRecordsUrl twice must produce an
// error, not a loop.
func TestPullRepeatedNextRecordsURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			w.Write([]byte(`{"access_token":"tok","instance_url":"http://` + r.Host + `","token_type":"Bearer"}`))
			return
		}
		w.Write([]byte(`{"totalSize":5000,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gX-2000","records":[]}`))
	}))
	defer srv.Close()
	cfg := config.Connector{Name: "sf", LoginURL: srv.URL, Auth: config.Auth{ClientID: "a", ClientSecret: config.NewSecret("b")}}
	c, err := salesforce.New(cfg, salesforce.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var last error
	for _, err := range c.Pull(context.Background(), record.PullRequest{}) {
		n++
		if err != nil {
			last = err
			break
		}
		if n > 10 {
			t.Fatal("pagination loops")
		}
	}
	if last == nil || !strings.Contains(last.Error(), "twice") {
		t.Fatalf("err = %v", last)
	}
}

// Formula and roll-up fields change without touching SystemModstamp: an
// incremental pull misses them, the periodic full re-read catches them.
func TestFormulaChangeNeedsFullRead(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{BatchSize: 200})
	e.fake.AddFields("Account", salesforcetest.Field{Name: "Open_Pipeline__c", Type: salesforcetest.TypeCurrency, Custom: true, Nillable: true, Calculated: true})
	e.cfg.Objects = []config.Object{{Name: "Account", Fields: []string{"Open_Pipeline__c"}}}
	ids := e.seedAccounts(250)
	c := e.client(salesforce.Options{})
	cursors := map[string][]byte{}
	if _, err := pull(t, c, cursors, false, 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if err := e.fake.SetCalculated("Account", ids[7], "Open_Pipeline__c", 5000); err != nil {
		t.Fatal(err)
	}
	// A mass update gives 240 records one SystemModstamp.
	if err := e.fake.BulkUpdate("Account", ids[10:], map[string]any{"Industry": "Retail"}); err != nil {
		t.Fatal(err)
	}
	got, err := pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(accountIDs(got)); n != 240 {
		t.Fatalf("incremental after mass update: %d accounts, want 240", n)
	}
	if slices.Contains(accountIDs(got), ids[7]) {
		t.Fatal("incremental pull saw a formula change (it should not)")
	}
	got, err = pull(t, c, cursors, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range byStream(got, "Account") {
		for _, a := range b.Accounts {
			if a.ID == ids[7] {
				found = a.Fields["Open_Pipeline__c"] == 5000.0
			}
		}
	}
	if !found {
		t.Error("full re-read did not carry the new formula value")
	}
}

// TestPullSameSecondEditIsNotSkipped: after a read ends at (T, id2), a
// record with a lower Id saved within the same second T must still be read
// by the next incremental pull (the settle window), and nothing is lost when
// the clock has moved on.
func TestPullSameSecondEditIsNotSkipped(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{})
	first := e.mustInsert("Account", map[string]any{"Name": "First"})
	e.mustInsert("Account", map[string]any{"Name": "Second"})
	c := e.client(salesforce.Options{Now: e.clock.Now})
	cursors := map[string][]byte{}
	if _, err := pull(t, c, cursors, false, 0); err != nil {
		t.Fatal(err)
	}
	// Same instant, lower Id than the last record read.
	if err := e.fake.Update("Account", first, map[string]any{"Name": "First, renamed"}); err != nil {
		t.Fatal(err)
	}
	got, err := pull(t, c, cursors, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range byStream(got, "Account") {
		for _, a := range b.Accounts {
			if a.ID == first && a.Name == "First, renamed" {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("an edit in the cursor's own second was skipped")
	}
	// Once the clock is past the settle window, an idle pull reads nothing
	// (the re-read window has moved on).
	e.clock.Advance(10 * time.Minute)
	pull(t, c, cursors, false, 0)
	got, _ = pull(t, c, cursors, false, 0)
	for _, b := range byStream(got, "Account") {
		if len(b.Accounts) != 0 {
			t.Fatalf("idle pull after the window read %d accounts", len(b.Accounts))
		}
	}
}

// TestPullReadsTheNextPageAhead: while the caller handles a page (the
// engine commits it) the client already reads the next one, so the
// vendor's answer time and the commit overlap; a caller that stops after
// the first page gets no more pages, and the read ahead is waited for.
func TestPullReadsTheNextPageAhead(t *testing.T) {
	e := newEnv(t, salesforcetest.Options{BatchSize: 200})
	e.seedAccounts(450)
	c := e.client(salesforce.Options{})
	pages := 0
	for b, err := range c.Pull(context.Background(), record.PullRequest{Cursors: map[string][]byte{}, Full: true}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if b.Stream != "Account" || pages > 1 {
			t.Fatalf("page %d of stream %s after the caller stopped", pages, b.Stream)
		}
		// The second page's query is under way before the first is
		// handed back.
		deadline := time.Now().Add(10 * time.Second)
		for e.fake.Count("queryMore") < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("no read ahead while the first page was handled (counts %v)", e.fake.Counts())
			}
			time.Sleep(time.Millisecond)
		}
		break
	}
	if n := e.fake.Count("queryMore"); n != 1 {
		t.Errorf("%d pages read ahead, want 1", n)
	}
}
