package hubspot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
)

// TestOfficialNodeSDKAgainstTheFake drives hubspottest with HubSpot's
// official client, @hubspot/api-client (hubspottest/sdkcheck): list paging,
// search, a 207 batch update and an auth error must decode as the SDK
// expects, and a v3 signature the SDK computes must verify with our
// Verifier. .ci/run installs the SDK (npm ci); elsewhere the test is skipped
// when Node or the package is missing.
func TestOfficialNodeSDKAgainstTheFake(t *testing.T) {
	dir := filepath.Join("hubspottest", "sdkcheck")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "@hubspot", "api-client")); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must install the HubSpot SDK (npm ci --prefix %s): node %v, package %v", dir, err, statErr)
		}
		t.Skip("node or @hubspot/api-client not installed (npm ci --prefix " + dir + ")")
	}
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: "pat-sdk-token"})
	defer srv.Close()
	for i := 0; i < 230; i++ {
		srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": fmt.Sprintf("Company %d", i),
			"domain": fmt.Sprintf("c%d.example.com", i)}})
	}
	const secret = "hs-app-secret-sdk"
	body := `[{"eventId":1,"subscriptionType":"company.propertyChange","objectId":42,"propertyName":"name","propertyValue":"Acme","occurredAt":1764000000000}]`
	hookURL := "https://hooks.example.com/webhooks/hubspot?portal=62515"
	ts := time.Now()
	cmd := exec.Command(node, "check.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HS_URL="+srv.URL, "HS_TOKEN=pat-sdk-token", "SIGN_SECRET="+secret, "SIGN_URL="+hookURL,
		"SIGN_BODY="+body, fmt.Sprintf("SIGN_TS=%d", ts.UnixMilli()))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("the SDK failed against the fake: %v\n%s", err, errb.String())
	}
	var got struct {
		Listed         int    `json:"listed"`
		FirstName      string `json:"firstName"`
		SearchTotal    int    `json:"searchTotal"`
		SearchName     string `json:"searchName"`
		BatchStatus    string `json:"batchStatus"`
		BatchUpdated   int    `json:"batchUpdated"`
		BatchErrors    int    `json:"batchErrors"`
		Signature      string `json:"signature"`
		BadTokenStatus int    `json:"badTokenStatus"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("SDK output %q: %v", out.String(), err)
	}
	if got.Listed != 230 || got.FirstName == "" {
		t.Errorf("getAll paged %d companies (first %q), want 230", got.Listed, got.FirstName)
	}
	if got.SearchTotal != 1 || got.SearchName != "Company 7" {
		t.Errorf("search total %d name %q", got.SearchTotal, got.SearchName)
	}
	if got.BatchStatus != "COMPLETE" || got.BatchUpdated != 1 || got.BatchErrors != 1 {
		t.Errorf("batch update: status %q, %d updated, %d errors; want COMPLETE, 1, 1", got.BatchStatus, got.BatchUpdated, got.BatchErrors)
	}
	if got.BadTokenStatus != 401 {
		t.Errorf("wrong token gave status %d, want 401", got.BadTokenStatus)
	}
	// The SDK's v3 signature verifies with our Verifier (and matches the
	// fake's signing helper).
	if want := hubspottest.SignV3(secret, "POST", hookURL, []byte(body), ts); got.Signature != want {
		t.Errorf("SDK signature %s, fake's %s", got.Signature, want)
	}
	v, err := hubspot.NewVerifier(config.Webhook{ClientSecret: config.NewSecret(secret)}, "")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", hookURL, strings.NewReader(body)) // as the receiver sees it, over TLS
	req.Header.Set("X-HubSpot-Signature-v3", got.Signature)
	req.Header.Set("X-HubSpot-Request-Timestamp", fmt.Sprint(ts.UnixMilli()))
	if _, err := v.Verify(req, []byte(body), time.Now()); err != nil {
		t.Errorf("our verifier rejects the SDK's signature: %v", err)
	}
}
