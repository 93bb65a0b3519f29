package notify

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestSlackTextIsInert: mentions, links and entities in account names, task
// subjects and reasons reach Slack escaped, as delivered.
func TestSlackTextIsInert(t *testing.T) {
	tests := []struct {
		name   string
		notice engine.Notice
		want   string
	}{
		{"channel mention in the name", engine.Notice{Type: config.EventPaymentFailed, Name: "<!channel> Acme & Co"},
			"*payment failed*: &lt;!channel&gt; Acme &amp; Co"},
		{"fake link in the name", engine.Notice{Type: config.EventBandChanged, Name: "<https://evil.example|Reset your password>",
			Data: map[string]any{"from": "healthy", "to": "<@U123>"}},
			"*band changed*: &lt;https://evil.example|Reset your password&gt; moved from healthy to &lt;@U123&gt;"},
		{"mention in a task subject", engine.Notice{Type: config.EventTaskCreated, Name: "Acme",
			Data: map[string]any{"subject": "Call <!here> now"}},
			`*task created*: Acme: task "Call &lt;!here&gt; now"`},
		{"entity in reasons", engine.Notice{Type: config.EventScoreDropped, Name: "Acme",
			Data: map[string]any{"from": 80, "to": 40, "reasons": []string{"logins &lt; 3", "<!everyone>"}}},
			"*score dropped*: Acme health score fell from 80 to 40 (logins &amp;lt; 3; &lt;!everyone&gt;)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, rcv := slackNotifier(t)
			tt.notice.Time = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			if err := n.Publish([]engine.Notice{tt.notice}); err != nil {
				t.Fatal(err)
			}
			n.DeliverDue(context.Background())
			if len(rcv.bodies) != 1 {
				t.Fatalf("delivered %d messages, want 1", len(rcv.bodies))
			}
			var body map[string]string
			if err := json.Unmarshal(rcv.bodies[0], &body); err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"text": tt.want}; body["text"] != want["text"] || len(body) != 1 {
				t.Fatalf("slack body %q, want %q", body, want)
			}
		})
	}
}

// slackNotifier is a Notifier with one Slack subscriber, a receiver that
// records what it gets, and a store; all closed when the test ends.
func slackNotifier(t *testing.T) (*Notifier, *receiver) {
	t.Helper()
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "n.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Options{Config: config.Notify{Subscribers: []config.Subscriber{{Name: "slack", URL: srv.URL, Format: "slack"}}}, Outbox: st}), rcv
}
