package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

func TestPullFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     stripetest.Fault
		wantErr   string
		status    int
		throttled int64
	}{
		{"429 rate_limit twice then success", stripetest.Fault{Path: "/v1/customers", Times: 2, Status: http.StatusTooManyRequests}, "", 0, 2},
		{"500 once then success", stripetest.Fault{Path: "/v1/subscriptions", Status: http.StatusInternalServerError}, "", 0, 0},
		{"malformed body", stripetest.Fault{Path: "/v1/invoices", Malformed: true}, "decoding /v1/invoices", 0, 0},
		{"409 once then success", stripetest.Fault{Path: "/v1/subscriptions", Status: http.StatusConflict}, "", 0, 0},
		{"429 lock_timeout once then success", stripetest.Fault{Path: "/v1/invoices", Status: http.StatusTooManyRequests, Code: stripetest.CodeLockTimeout}, "", 0, 1},
		{"400 is not retried", stripetest.Fault{Path: "/v1/events", Status: http.StatusBadRequest, Times: 1}, "Injected failure", 400, 0},
		{"429 beyond the retry budget", stripetest.Fault{Path: "/v1/customers", Times: 10, Status: http.StatusTooManyRequests}, "rate_limit", 429, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2025-03-31.basil", 100)
			seedWorld(h.srv)
			h.srv.InjectFault(tc.fault)
			var err error
			n := 0
			for b, e := range h.c.Pull(context.Background(), record.PullRequest{Now: h.srv.Now()}) {
				if e != nil {
					err = e
					break
				}
				n += b.Len()
			}
			if tc.wantErr == "" {
				if err != nil || n == 0 {
					t.Fatalf("pull: %v (%d records)", err, n)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.status != 0 {
				var he *httpclient.Error
				if !errors.As(err, &he) || he.Status != tc.status || he.RequestID == "" || he.Vendor != record.Stripe {
					t.Errorf("err = %#v, want *httpclient.Error status %d with a request ID", err, tc.status)
				}
			}
			if got := h.c.Stats().Throttled; got != tc.throttled {
				t.Errorf("throttled = %d, want %d", got, tc.throttled)
			}
		})
	}
}

func TestWrongKeyIsTypedAndRedacted(t *testing.T) {
	srv := stripetest.NewServer(stripetest.Options{APIKey: testKey})
	defer srv.Close()
	const bad = "sk_test_wrongwrongwrong1234"
	c, err := New(config.Connector{Kind: config.KindStripe, BaseURL: srv.URL, Auth: config.Auth{APIKey: config.NewSecret(bad)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(context.Background(), "customer", "cus_1")
	var he *httpclient.Error
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 *httpclient.Error", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Errorf("error leaks the key: %v", err)
	}
}

func TestRepeatedCursorIsAnError(t *testing.T) {
	// A broken server answering the same page forever.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"object":"list","url":"/v1/customers","has_more":true,"data":[{"id":"cus_same","object":"customer","created":1}]}`)
	}))
	defer srv.Close()
	c, err := New(config.Connector{Kind: config.KindStripe, BaseURL: srv.URL, Auth: config.Auth{APIKey: config.NewSecret(testKey)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, err := range c.Pull(context.Background(), record.PullRequest{Full: true, Now: time.Now()}) {
		calls++
		if err != nil {
			if !errors.Is(err, ErrRepeatedCursor) {
				t.Fatalf("err = %v, want ErrRepeatedCursor", err)
			}
			return
		}
		if calls > 10 {
			break
		}
	}
	t.Fatal("pull did not stop on a repeated cursor")
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Connector
		ok   bool
	}{
		{"ok", config.Connector{Kind: config.KindStripe, Auth: config.Auth{APIKey: config.NewSecret("sk_test_1")}}, true},
		{"no key", config.Connector{Kind: config.KindStripe}, false},
		{"wrong kind", config.Connector{Kind: config.KindChargebee, Auth: config.Auth{APIKey: config.NewSecret("sk_test_1")}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg, Options{})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if c != nil && (c.base != DefaultBaseURL || c.version != DefaultAPIVersion) {
				t.Errorf("defaults: %s %s", c.base, c.version)
			}
		})
	}
}

// TestPageSizeCappedAt100: a configured page size above Stripe's maximum
// of 100 ("Pagination") is sent as 100, which the fake accepts.
func TestPageSizeCappedAt100(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 1000)
	seedWorld(h.srv)
	h.pull(t, record.PullRequest{Now: h.srv.Now()})
	h.spec.check(t)
	for _, r := range h.spec.requests {
		if strings.Contains(r, "limit=") && !strings.Contains(r, "limit=100") && !strings.Contains(r, "limit=1&") {
			t.Errorf("request %s: page size not capped at 100", r)
		}
	}
}
