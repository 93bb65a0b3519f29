package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

type receiver struct {
	mu       sync.Mutex
	failNext int
	got      []http.Header
	bodies   [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		w.WriteHeader(503)
		return
	}
	r.got = append(r.got, req.Header.Clone())
	r.bodies = append(r.bodies, b)
}

func TestPublishDeliverVerifyAndRestart(t *testing.T) {
	rcv := &receiver{failNext: 1}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "n.db")
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cfg := config.Notify{Subscribers: []config.Subscriber{
		{Name: "revops", URL: srv.URL, Secret: config.NewSecret(vecSecret), Events: []string{"band_changed", "payment_failed"}},
		{Name: "slack", URL: srv.URL, Format: "slack", Events: []string{"payment_failed"}},
	}, Backoff: config.Backoff{Min: config.Duration(time.Second), Max: config.Duration(time.Minute)}}

	st, err := bolt.Open(path, bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	n := New(Options{Config: cfg, Outbox: st, Now: clock})
	err = n.Publish([]engine.Notice{
		{Type: "band_changed", Account: "salesforce/001A", Name: "Acme", Time: now, Data: map[string]any{"from": "healthy", "to": "at_risk"}},
		{Type: "mrr_changed", Account: "salesforce/001A", Name: "Acme", Time: now, Data: map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// First attempt fails (503); the notification stays in the outbox.
	if d, f := n.DeliverDue(context.Background()); d != 0 || f != 1 {
		t.Fatalf("delivered %d failed %d, want 0 and 1", d, f)
	}
	st.Close()

	// Restart: a new process finds the notification and delivers it once due.
	st, err = bolt.Open(path, bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n = New(Options{Config: cfg, Outbox: st, Now: clock})
	if d, _ := n.DeliverDue(context.Background()); d != 0 {
		t.Fatalf("delivered %d before the back-off elapsed", d)
	}
	now = now.Add(2 * time.Minute)
	if d, f := n.DeliverDue(context.Background()); d != 1 || f != 0 {
		t.Fatalf("after restart: delivered %d failed %d, want 1 and 0", d, f)
	}
	if l, _ := st.OutboxLen(); l != 0 {
		t.Fatalf("outbox still holds %d", l)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != 1 {
		t.Fatalf("received %d notifications, want 1 (mrr_changed is filtered out)", len(rcv.got))
	}
	// The receiver verifies with the Standard Webhooks reference algorithm.
	if err := Verify(vecSecret, rcv.got[0], rcv.bodies[0], now, 5*time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	var m Message
	if err := json.Unmarshal(rcv.bodies[0], &m); err != nil || m.Type != "band_changed" || m.Data["to"] != "at_risk" {
		t.Fatalf("body = %s (%v)", rcv.bodies[0], err)
	}
}

func TestSlackFormat(t *testing.T) {
	n, rcv := slackNotifier(t)
	n.Publish([]engine.Notice{{Type: "payment_failed", Name: "Acme", Time: time.Now(), Data: map[string]any{}}})
	n.DeliverDue(context.Background())
	var body map[string]string
	if len(rcv.bodies) != 1 || json.Unmarshal(rcv.bodies[0], &body) != nil || body["text"] == "" {
		t.Fatalf("slack body %q", rcv.bodies)
	}
	if rcv.got[0].Get(HeaderSignature) != "" {
		t.Error("slack messages are not signed")
	}
}

// TestDeadSubscriberDoesNotBlockOthers: a failing endpoint's backlog is
// rescheduled as a whole, the healthy subscriber gets everything, and the
// failing one keeps its notifications (nothing is dropped).
func TestDeadSubscriberDoesNotBlockOthers(t *testing.T) {
	good := &receiver{}
	gsrv := httptest.NewServer(good)
	defer gsrv.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer bad.Close()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "n.db"), bolt.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := New(Options{Outbox: st, Now: func() time.Time { return now }, Config: config.Notify{MaxAttempts: 1,
		Subscribers: []config.Subscriber{{Name: "dead", URL: bad.URL, Secret: config.NewSecret(vecSecret)},
			{Name: "alive", URL: gsrv.URL, Secret: config.NewSecret(vecSecret)}}}})
	var notices []engine.Notice
	for i := 0; i < 80; i++ {
		notices = append(notices, engine.Notice{Type: "mrr_changed", Account: fmt.Sprint(i), Time: now, Data: map[string]any{}})
	}
	if err := n.Publish(notices); err != nil {
		t.Fatal(err)
	}
	delivered, _ := n.DeliverDue(context.Background())
	if delivered != 80 {
		t.Fatalf("delivered %d to the healthy subscriber, want 80", delivered)
	}
	if l, _ := st.OutboxLen(); l != 80 {
		t.Fatalf("outbox holds %d, want the dead subscriber's 80 (never dropped)", l)
	}
}
