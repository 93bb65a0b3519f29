package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestRunServesAndStopsGracefully starts the daemon, checks readiness,
// metrics and the API guard, then cancels (as SIGTERM does) and expects a
// clean return within the shutdown timeout.
func TestRunServesAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf("store: {path: %q}\nserver: {listen: \"127.0.0.1:0\", api_token: tok-1234567890abcdef, shutdown_timeout: 5s}\n"+
		"connectors:\n  - {name: billing, kind: stripe, base_url: \"http://127.0.0.1:1\", auth: {api_key: sk_test_x}, schedule: \"@every 1h\"}\n",
		filepath.Join(dir, "d.db"))
	cfg, err := config.Parse("d.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 1)
	d := New(Options{Config: cfg, Store: st, Engine: eng, Logger: zerolog.Nop(), Listener: ln, NoSchedule: true, Started: func(a string) { started <- a }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	addr := <-started

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if code, _ := get("/api/runs", ""); code != 401 {
		t.Fatalf("/api/runs without token: %d", code)
	}
	if code, body := get("/api/runs", "tok-1234567890abcdef"); code != 200 || !strings.Contains(body, `"runs"`) {
		t.Fatalf("/api/runs: %d %s", code, body)
	}
	if code, body := get("/metrics", "tok-1234567890abcdef"); code != 200 || !strings.Contains(body, "healthsync_webhook_queue_depth") {
		t.Fatalf("/metrics: %d", code)
	}
	if code, body := get("/report", "tok-1234567890abcdef"); code != 200 || !strings.Contains(body, "<svg") {
		t.Fatalf("/report: %d", code)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
