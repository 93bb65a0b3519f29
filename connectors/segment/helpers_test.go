package segment

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/healthsync/healthsync/config"
)

const testSecret = "whsec-segment-test"

// sign is the hex HMAC-SHA1 of msg, as Segment computes X-Signature.
func sign(secret string, msg []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// request builds a POST /webhooks/segment with the given X-Signature values.
func request(body []byte, sigs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/segment", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for _, s := range sigs {
		r.Header.Add(SignatureHeader, s)
	}
	return r
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstCallOf is JSON.stringify(body[0]) for an array body.
func firstCallOf(t testing.TB, body []byte) []byte {
	t.Helper()
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, elems[0]); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testConfig is the B2B table of the issue: Logged In -> logins, Feature
// Used -> features_used (distinct features), every call -> active_users
// (distinct users), Seats Added -> seats_added from properties.seats.
func testConfig() Config {
	return Config{
		Name:          "product",
		SharedSecrets: []config.Secret{config.NewSecret(testSecret)},
		Account:       AccountRule{By: ByTrait, Trait: "salesforce_id", System: "salesforce"},
		Events: []EventMetric{
			{Event: "Logged In", Metric: "logins"},
			{Event: "Feature Used", Metric: "features_used", DistinctProperty: "feature"},
			{Event: "Seats Added", Metric: "seats_added", Value: "seats"},
			{Event: "*", Metric: "active_users", DistinctUsers: true},
		},
	}
}
