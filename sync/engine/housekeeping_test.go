package engine_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestHousekeepingKeepsSignalsForTheRetention: signals are pruned only
// past signals.retention (default 400 days, so a 12-month backtest has the
// year of signals before each date).
func TestHousekeepingKeepsSignalsForTheRetention(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ages := []int{10, 40, 390, 410} // days
	for _, tc := range []struct {
		name, retention string
		kept            []int
	}{
		{"default 400d", "", []int{10, 40, 390}},
		{"30d", "signals: {retention: 30d}", []int{10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := config.Parse("h.yaml", []byte(fmt.Sprintf(`store: {path: %q}
connectors:
  - {name: stripe, kind: stripe, base_url: "http://127.0.0.1:1", auth: {api_key: sk_test_x}, schedule: "@every 1h"}
%s
`, filepath.Join(dir, "h.db"), tc.retention)), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			acct := record.Ref{System: record.Salesforce, ID: "001A"}
			var sigs []record.Signal
			for _, d := range ages {
				sigs = append(sigs, record.Signal{Account: acct, Metric: "logins", Time: now.AddDate(0, 0, -d), Value: float64(d)})
			}
			if _, err := st.AddSignals(sigs); err != nil {
				t.Fatal(err)
			}
			e, err := engine.New(engine.Options{Config: cfg, Store: st, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Housekeeping(now); err != nil {
				t.Fatal(err)
			}
			left, err := st.Signals(acct.Key(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var kept []int
			for i := len(left) - 1; i >= 0; i-- {
				kept = append(kept, int(left[i].Value))
			}
			if !reflect.DeepEqual(kept, tc.kept) {
				t.Errorf("kept signals aged %v days, want %v", kept, tc.kept)
			}
		})
	}
}

// BenchmarkSignalStoreSize measures what signals.retention costs on disk:
// 1,000 accounts with five metrics a day for 400 days (2,000,000 signals)
// in the bbolt store, reported as MB per 1,000 accounts.
func BenchmarkSignalStoreSize(b *testing.B) {
	const accounts, days = 1000, 400
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		st, err := bolt.Open(filepath.Join(b.TempDir(), "s.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		base, _ := st.Size()
		for a := range accounts {
			acct := record.Ref{System: record.Salesforce, ID: fmt.Sprintf("0015g00000%05dAAA", a)}
			sigs := make([]record.Signal, 0, days*5)
			for d := range days {
				at := now.AddDate(0, 0, -d).Add(9 * time.Hour)
				for _, m := range []string{"logins", "active_users", "features_used", "tickets_open", "nps"} {
					sigs = append(sigs, record.Signal{Account: acct, Metric: m, Time: at, Value: float64(d % 17)})
				}
			}
			if _, err := st.AddSignals(sigs); err != nil {
				b.Fatal(err)
			}
		}
		size, _ := st.Size()
		b.ReportMetric(float64(size-base)/1e6, "MB/1000accounts")
		st.Close()
	}
}
