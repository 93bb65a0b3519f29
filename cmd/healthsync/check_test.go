package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCheck runs `healthsync check` against the demo's fakes with Stripe
// pointed at a server that refuses the key (Stripe's 401 body) and
// Chargebee at a host that does not resolve: one line per connector, the
// failures with what to do, exit 1, one request to the refusing server (no
// retry) and an answer in seconds.
func TestCheck(t *testing.T) {
	stack := testStack(t, 10, 5)
	var calls atomic.Int32
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_check1")
		w.WriteHeader(http.StatusUnauthorized)
		// SOURCE: Stripe API reference, "Errors" (an invalid API key).
		w.Write([]byte(`{"error":{"message":"Invalid API Key provided: sk_test_****demo","type":"invalid_request_error"}}`))
	}))
	defer refuse.Close()
	text, err := os.ReadFile(stack.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text = bytes.Replace(text, []byte(stack.st.URL), []byte(refuse.URL), 1)
	text = bytes.Replace(text, []byte(stack.cb.URL), []byte("http://healthsync-check.invalid"), 1)
	os.WriteFile(stack.cfgPath, text, 0o600)

	start := time.Now()
	code, out, errs := runCLI(t, "check", "--config", stack.cfgPath)
	took := time.Since(start)
	if code != 1 || errs != "healthsync check: 2 of 6 connectors failed the check\n" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	got := regexp.MustCompile(`\d+(\.\d+)?(ms|s|µs)\b`).ReplaceAllString(out, "T")
	got = regexp.MustCompile(` +`).ReplaceAllString(got, " ")
	want := []string{
		"salesforce salesforce ok T authenticated, first page read (5 records), 9 mapped fields writable",
		"hubspot hubspot ok T authenticated, first page read (5 records), 9 mapped fields writable",
		"stripe stripe FAILED T reading the first page: ",
		" -> the credentials were refused: check connectors.stripe.auth (wrong, expired or revoked; for a ${VAR}, the variable's value)",
		"chargebee chargebee FAILED T reading the first page: ",
		" -> cannot resolve healthsync-check.invalid: check the connector's base_url/login_url/site and this host's DNS",
		"helpdesk zendesk ok T authenticated, first page read (10 records)",
		"product segment ok T authenticated, first page read (0 records)",
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d:\n got %q\nwant prefix %q", i+1, lines[i], want[i])
		}
	}
	if !strings.Contains(lines[2], "HTTP 401") {
		t.Errorf("the stripe line does not name the 401: %q", lines[2])
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the refusing server saw %d requests, want 1 (no retry on a 401)", n)
	}
	if took > 5*time.Second {
		t.Errorf("check took %s", took)
	}
	if strings.Contains(out, "sk_test_demo") {
		t.Error("a key reached the output")
	}
}

func TestShortenURLs(t *testing.T) {
	long := "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id%2CName%2CWebsite%2COwnerId%2CIndustry%2CHealth_Score__c+FROM+Account+WHERE+SystemModstamp+%3E+2026-01-01T00%3A00%3A00Z"
	tests := []struct{ in, want string }{
		{"short https://api.stripe.com/v1/customers?limit=100 stays", "short https://api.stripe.com/v1/customers?limit=100 stays"},
		{`Get "` + long + `": dial tcp: lookup acme.my.salesforce.com: no such host`,
			`Get "/services/data/v62.0/query?…": dial tcp: lookup acme.my.salesforce.com: no such host`},
		{"GET https://api.stripe.com/v1/subscriptions?status=all&expand%5B%5D=data.customer&expand%5B%5D=data.items.data.price&limit=100&starting_after=sub_1NxYZabcdefghijklmnopqrstu: EOF",
			"GET /v1/subscriptions?limit=100&starting_after=sub_1NxYZabcdefghijklmno…: EOF"},
	}
	for _, tt := range tests {
		if got := shortenURLs(tt.in); got != tt.want {
			t.Errorf("shortenURLs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestSyncDryRunHeader: a dry run pulled from the vendors, so its plan does
// not claim that no API call was made.
func TestSyncDryRunHeader(t *testing.T) {
	stack := testStack(t, 10, 5)
	code, out, errs := runCLI(t, "sync", "--config", stack.cfgPath, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !regexp.MustCompile(`(?m)^Plan as of \S+ \(dry run: computed after pulling from the vendors; nothing written\)$`).MatchString(out) ||
		strings.Contains(out, "no API call made") {
		t.Fatalf("dry-run plan header:\n%s", out)
	}
}
