package daemon

import (
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestCollectorDashboardMetrics: the last successful pull per connector
// (a later failed pull does not move it), the last run of each kind with
// its duration, pending writes and records per connector.
func TestCollectorDashboardMetrics(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for _, r := range []store.Run{
		{ID: "r1", Connector: "sf", Kind: "pull", Start: t0, End: t0.Add(90 * time.Second), Status: "ok"},
		{ID: "r2", Connector: "billing", Kind: "pull_full", Start: t0.Add(time.Minute), End: t0.Add(3 * time.Minute), Status: "gated"},
		{ID: "r3", Connector: "sf", Kind: "pull", Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 5*time.Second), Status: "failed"},
		{ID: "r4", Kind: "sync", Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 20*time.Second), Status: "ok"},
		{ID: "r5", Kind: "sync", Start: t0.Add(2 * time.Hour), Status: "running"},
	} {
		if err := st.PutRun(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutPending([]store.PendingWrite{
		{Connector: "sf", Object: "Account", ID: "001A", Fields: map[string]any{"Health_Score__c": 40.0}, Planned: t0},
		{Connector: "sf", Object: "Account", ID: "001B", Fields: map[string]any{"Health_Score__c": 70.0}, Planned: t0},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CommitBatch("sf", &record.Batch{Stream: "Account", Accounts: []record.Account{
		{Ref: record.Ref{System: "salesforce", ID: "001A"}, Name: "A"}, {Ref: record.Ref{System: "salesforce", ID: "001B"}, Name: "B"},
	}}); err != nil {
		t.Fatal(err)
	}
	conns := []*engine.Connector{
		{Config: config.Connector{Name: "sf", Kind: config.KindSalesforce}, Caps: record.Capabilities{Role: record.RoleCRM}},
		{Config: config.Connector{Name: "billing", Kind: config.KindStripe}, Caps: record.Capabilities{Role: record.RoleBilling}},
	}
	eng, err := engine.New(engine.Options{Config: &config.Config{}, Store: st, Connectors: conns, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP healthsync_pending_writes CRM record writes waiting to be retried.
# TYPE healthsync_pending_writes gauge
healthsync_pending_writes{connector="sf"} 2
# HELP healthsync_pull_last_success_timestamp_seconds End of the connector's last pull that completed (status ok or gated), Unix seconds.
# TYPE healthsync_pull_last_success_timestamp_seconds gauge
healthsync_pull_last_success_timestamp_seconds{connector="billing"} 1.79654418e+09
healthsync_pull_last_success_timestamp_seconds{connector="sf"} 1.79654409e+09
# HELP healthsync_records Records held in the store.
# TYPE healthsync_records gauge
healthsync_records{connector="billing",type="account"} 0
healthsync_records{connector="billing",type="customer"} 0
healthsync_records{connector="billing",type="deal"} 0
healthsync_records{connector="billing",type="invoice"} 0
healthsync_records{connector="billing",type="subscription"} 0
healthsync_records{connector="billing",type="task"} 0
healthsync_records{connector="sf",type="account"} 2
healthsync_records{connector="sf",type="customer"} 0
healthsync_records{connector="sf",type="deal"} 0
healthsync_records{connector="sf",type="invoice"} 0
healthsync_records{connector="sf",type="subscription"} 0
healthsync_records{connector="sf",type="task"} 0
# HELP healthsync_run_last_duration_seconds Duration of the last run of a kind per connector (empty for whole passes).
# TYPE healthsync_run_last_duration_seconds gauge
healthsync_run_last_duration_seconds{connector="",kind="sync",status="ok"} 20
healthsync_run_last_duration_seconds{connector="billing",kind="pull_full",status="gated"} 120
healthsync_run_last_duration_seconds{connector="sf",kind="pull",status="failed"} 5
`
	if got := scrape(t, newConnectorCollector(eng, st), "healthsync_pending_writes", "healthsync_pull_last_success_timestamp_seconds",
		"healthsync_records", "healthsync_run_last_duration_seconds"); got != strings.TrimPrefix(want, "\n") {
		t.Fatalf("metrics\n got:\n%s\nwant:\n%s", got, want)
	}
}

// scrape registers c alone and returns the text exposition of the named
// metric families, as Prometheus reads it.
func scrape(t *testing.T, c prometheus.Collector, names ...string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	var out strings.Builder
	for _, line := range strings.SplitAfter(rec.Body.String(), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE "))
		if len(f) > 0 && slices.Contains(names, strings.SplitN(f[0], "{", 2)[0]) {
			out.WriteString(line)
		}
	}
	return out.String()
}
