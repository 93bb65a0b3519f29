package demoworld

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

var testNow = time.Date(2025, 7, 15, 3, 4, 5, 0, time.UTC)

// fakes is one set of the four vendor fakes loaded with a world.
type fakes struct {
	sf *salesforcetest.Server
	hs *hubspottest.Server
	st *stripetest.Server
	cb *chargebeetest.Server
}

const (
	sfID, sfSecret = "demo-id", "demo-secret"
	hsToken        = "pat-test"
	stKey          = "sk_test_world"
	cbKey          = "test_world_key"
)

func load(t testing.TB, w *World) *fakes {
	t.Helper()
	f := &fakes{
		sf: salesforcetest.NewServer(salesforcetest.Options{ClientID: sfID, ClientSecret: sfSecret}),
		hs: hubspottest.NewServer(hubspottest.Options{AccessToken: hsToken}),
		st: stripetest.NewServer(stripetest.Options{APIKey: stKey}),
		cb: chargebeetest.NewServer(chargebeetest.Options{APIKey: cbKey}),
	}
	t.Cleanup(func() { f.sf.Close(); f.hs.Close(); f.st.Close(); f.cb.Close() })
	steps := []struct {
		name string
		fn   func() error
	}{
		{"salesforce", func() error { return w.LoadSalesforce(f.sf) }},
		{"hubspot", func() error { return w.LoadHubSpot(f.hs) }},
		{"stripe", func() error { return w.LoadStripe(f.st) }},
		{"chargebee", func() error { return w.LoadChargebee(f.cb) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			t.Fatalf("loading %s: %v", s.name, err)
		}
	}
	return f
}

func TestGenerateIsDeterministic(t *testing.T) {
	tests := []struct {
		name string
		a, b Options
		same bool
	}{
		{"same options", Options{Accounts: 80, Seed: 7, Now: testNow}, Options{Accounts: 80, Seed: 7, Now: testNow}, true},
		{"defaults", Options{}, Options{Accounts: 300, Seed: 1, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"other seed", Options{Accounts: 80, Seed: 7, Now: testNow}, Options{Accounts: 80, Seed: 8, Now: testNow}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Generate(tc.a), Generate(tc.b)
			if got := reflect.DeepEqual(a, b); got != tc.same {
				t.Fatalf("DeepEqual = %v, want %v", got, tc.same)
			}
		})
	}
}

// TestLoadIsByteIdentical loads two generations of the same options into
// two sets of fakes and compares what the fakes hold and serve.
func TestLoadIsByteIdentical(t *testing.T) {
	o := Options{Accounts: 60, Seed: 3, Now: testNow}
	w1, w2 := Generate(o), Generate(o)
	f1, f2 := load(t, w1), load(t, w2)
	if !reflect.DeepEqual(f1.sf.All("Account"), f2.sf.All("Account")) || !reflect.DeepEqual(f1.sf.All("Opportunity"), f2.sf.All("Opportunity")) {
		t.Error("salesforce records differ")
	}
	if !reflect.DeepEqual(f1.hs.Objects("companies"), f2.hs.Objects("companies")) || !reflect.DeepEqual(f1.hs.Objects("deals"), f2.hs.Objects("deals")) {
		t.Error("hubspot records differ")
	}
	if !reflect.DeepEqual(f1.st.Events(), f2.st.Events()) {
		t.Error("stripe events differ")
	}
	for _, path := range []string{"/api/v2/customers?limit=100", "/api/v2/subscriptions?limit=100", "/api/v2/invoices?limit=100"} {
		if a, b := string(getRaw(t, f1.cb.URL+path, cbAuth)), string(getRaw(t, f2.cb.URL+path, cbAuth)); a != b {
			t.Errorf("chargebee %s differs", path)
		}
	}
	for _, path := range []string{"/v1/customers?limit=100", "/v1/subscriptions?limit=100&status=all", "/v1/invoices?limit=100"} {
		if a, b := string(getRaw(t, f1.st.URL+path, stAuth)), string(getRaw(t, f2.st.URL+path, stAuth)); a != b {
			t.Errorf("stripe %s differs", path)
		}
	}
	if !reflect.DeepEqual(w1.Signals(), w2.Signals()) || !reflect.DeepEqual(w1.Summary(), w2.Summary()) {
		t.Error("signals or summary differ")
	}
}

func stAuth(r *http.Request) { r.Header.Set("Authorization", "Bearer "+stKey) }
func cbAuth(r *http.Request) { r.SetBasicAuth(cbKey, "") }
func hsAuth(r *http.Request) { r.Header.Set("Authorization", "Bearer "+hsToken) }

func getRaw(t testing.TB, u string, auth func(*http.Request)) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d %s", u, resp.StatusCode, raw)
	}
	return raw
}

func getJSON(t testing.TB, u string, auth func(*http.Request), v any) {
	t.Helper()
	if err := json.Unmarshal(getRaw(t, u, auth), v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// sfToken runs the client credentials flow against the fake.
func sfToken(t testing.TB, f *fakes) func(*http.Request) {
	t.Helper()
	resp, err := http.PostForm(f.sf.URL+"/services/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {sfID}, "client_secret": {sfSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("salesforce token: %v (HTTP %d)", err, resp.StatusCode)
	}
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) }
}
