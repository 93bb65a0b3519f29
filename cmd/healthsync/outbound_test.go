package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/daemon"
)

// TestOutboundMessageGuards sends Outbound Messages to the daemon as wire()
// builds it (issue 13 item 8): a 3,000-notification POST, wrong or missing
// path token and credentials cause no Salesforce call; notifications on one
// record are coalesced; the fetches the endpoint causes stay within
// webhook.max_fetches_per_minute, later messages getting 429 with
// Retry-After (Salesforce resends them).
func TestOutboundMessageGuards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	const token, user, pass, budget = "path-token-0123456789abcdef", "sfhooks", "outbound-pass-42", 200
	stack, err := newDemoStack(12, 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	for i := range stack.cfg.Connectors {
		if c := &stack.cfg.Connectors[i]; c.Kind == config.KindSalesforce {
			c.Webhook.PathToken = config.NewSecret(token)
			c.Webhook.Username, c.Webhook.Password = user, config.NewSecret(pass)
			c.Webhook.MaxFetchesPerMinute = budget
		}
	}
	// A body size the 3,000-notification message fits in: the
	// notification cap, not the size limit, must refuse it.
	stack.cfg.Webhooks.MaxBodyBytes = 8 << 20
	var ids []string
	for i := range 250 {
		id, err := stack.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Outbound %03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	repeat := func(n int, from []string) []string {
		var out []string
		for i := range n {
			out = append(out, from[i%len(from)])
		}
		return out
	}
	type step struct {
		name       string
		path       string
		user, pass string
		body       []byte
		wantStatus int
		wantEvents int // queued events after the step, in total
	}
	huge := stack.sf.OutboundMessage("Account", repeat(3000, ids)...)
	t.Logf("3,000-notification message: %d bytes", len(huge))
	steps := []step{
		{name: "3,000 notifications", path: "/" + token, user: user, pass: pass, body: huge, wantStatus: 400},
		{name: "no path token", path: "", user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[0]), wantStatus: 401},
		{name: "wrong path token", path: "/path-token-0123456789abcdeX", user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[0]), wantStatus: 401},
		{name: "token with an extra segment", path: "/" + token + "/x", user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[0]), wantStatus: 401},
		{name: "no credentials", path: "/" + token, body: stack.sf.OutboundMessage("Account", ids[0]), wantStatus: 401},
		{name: "wrong password", path: "/" + token, user: user, pass: "outbound-pass-43", body: stack.sf.OutboundMessage("Account", ids[0]), wantStatus: 401},
		{name: "100 notifications on 10 records coalesced", path: "/" + token, user: user, pass: pass, body: stack.sf.OutboundMessage("Account", repeat(100, ids[:10])...), wantStatus: 200, wantEvents: 10},
		{name: "100 records", path: "/" + token, user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[10:110]...), wantStatus: 200, wantEvents: 110},
		{name: "100 more records exceed the budget", path: "/" + token, user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[110:210]...), wantStatus: 429, wantEvents: 110},
		{name: "90 more records fit", path: "/" + token, user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[110:200]...), wantStatus: 200, wantEvents: 200},
		{name: "one more does not", path: "/" + token, user: user, pass: pass, body: stack.sf.OutboundMessage("Account", ids[200]), wantStatus: 429, wantEvents: 200},
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var testErr error
	started := func(d *daemon.Daemon, a *app, done chan<- struct{}) {
		go func() {
			defer close(done)
			defer cancel()
			testErr = func() error {
				d.PauseWorkers(true) // count queued events before any fetch
				stack.sf.ResetCounts()
				for _, s := range steps {
					req, _ := http.NewRequest("POST", "http://"+d.Addr+"/webhooks/salesforce"+s.path, bytes.NewReader(s.body))
					req.Header.Set("Content-Type", "text/xml; charset=utf-8")
					if s.user != "" {
						req.SetBasicAuth(s.user, s.pass)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return fmt.Errorf("%s: %w", s.name, err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != s.wantStatus {
						return fmt.Errorf("%s: status %d, want %d", s.name, resp.StatusCode, s.wantStatus)
					}
					if s.wantStatus == 429 && resp.Header.Get("Retry-After") == "" {
						return fmt.Errorf("%s: 429 without Retry-After", s.name)
					}
					depth, _, err := a.st.QueueDepth()
					if err != nil {
						return err
					}
					if depth != s.wantEvents {
						return fmt.Errorf("%s: %d events queued, want %d", s.name, depth, s.wantEvents)
					}
					if n := stack.sf.Count("query") + stack.sf.Count("queryAll"); n != 0 {
						return fmt.Errorf("%s: %d Salesforce queries before processing, want 0: %v", s.name, n, stack.sf.Counts())
					}
				}
				d.PauseWorkers(false)
				if err := waitQueue(ctx, a, 60*time.Second); err != nil {
					return err
				}
				fetches := stack.sf.Count("query") + stack.sf.Count("queryAll")
				if fetches != budget {
					return fmt.Errorf("Salesforce fetches = %d, want %d (one per admitted record; calls %v)", fetches, budget, stack.sf.Counts())
				}
				return nil
			}()
		}()
	}
	if err := runDaemon(&env{ctx: ctx, stdout: io.Discard, stderr: io.Discard}, stack.cfg, "", started); err != nil {
		t.Fatal(err)
	}
	if testErr != nil {
		t.Fatal(testErr)
	}
}
