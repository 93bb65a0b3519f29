package daemon

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestSignalsWithUnusedMetrics: signals whose metric nothing reads are
// stored but counted in the answer and in healthsync_signals_unused_total.
func TestSignalsWithUnusedMetrics(t *testing.T) {
	yaml := fmt.Sprintf("store: {path: %q}\nserver: {api_token: tok-1234567890abcdef}\nwebhooks: {signals_token: sig-1234567890abcdef}\n"+
		"connectors:\n  - {name: billing, kind: stripe, base_url: \"http://127.0.0.1:1\", auth: {api_key: sk_test_x}, schedule: \"@every 1h\"}\n",
		filepath.Join(t.TempDir(), "s.db"))
	cfg, err := config.Parse("s.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := "http://" + serve(t, cfg, st)

	do := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("POST", "/v1/signals", "sig-1234567890abcdef", `{"signals": [
		{"account": "salesforce/001A", "metric": "logins", "value": 3, "time": "2026-12-01T09:00:00Z"},
		{"account": "salesforce/001A", "metric": "page_views", "value": 30, "time": "2026-12-01T09:00:00Z"},
		{"account": "salesforce/001B", "metric": "page_views", "value": 7, "time": "2026-12-01T09:00:00Z"},
		{"account": "salesforce/001B", "metric": "nps", "value": 40, "time": "2026-12-01T09:00:00Z"}]}`)
	if want := `{"accepted":4,"unused_metrics":{"page_views":2}}` + "\n"; code != 202 || body != want {
		t.Fatalf("POST /v1/signals: %d %q, want 202 %q", code, body, want)
	}
	if sg, err := st.Signals("salesforce/001A", time.Time{}); err != nil || len(sg) != 2 {
		t.Fatalf("stored signals of 001A: %v %v, want both", sg, err)
	}
	_, metrics := do("GET", "/metrics", "tok-1234567890abcdef", "")
	if !strings.Contains(metrics, "\nhealthsync_signals_unused_total 2\n") {
		t.Fatalf("metrics lack healthsync_signals_unused_total 2")
	}
}
