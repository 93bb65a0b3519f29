package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// emptyEngine is an engine over a store nothing was synced into, at
// 2026-12-06 09:00 UTC unless now is given.
func emptyEngine(t *testing.T, edit func(*config.Config), now ...time.Time) *engine.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.db")
	cfg, err := config.Parse("empty.yaml", []byte(fmt.Sprintf(e2eConfig, path, "http://127.0.0.1:1", "http://127.0.0.1:1")),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	clock := append(now, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))[0]
	nowFn := func() time.Time { return clock }
	st, err := bolt.Open(path, bolt.Options{Now: nowFn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Now: nowFn, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestReportOnEmptyStore pins issue 19 item 3 through the engine: an
// empty store says to sync first and reports unknown rates as null; a
// reversed period is an options error before the store is read.
func TestReportOnEmptyStore(t *testing.T) {
	eng := emptyEngine(t, nil)
	r, _, err := eng.Report(context.Background(), engine.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "the store holds no accounts or billing customers yet: run `healthsync sync` first"; r.Notice != want {
		t.Errorf("notice = %q, want %q", r.Notice, want)
	}
	if r.Portfolio.NRR != nil || r.Portfolio.LTV != nil || r.Portfolio.Unknown["nrr"] == "" {
		t.Errorf("portfolio = %+v, want unknown rates", r.Portfolio)
	}
	_, _, err = eng.Report(context.Background(), engine.ReportOptions{From: scoring.MonthFor(2026, 6), To: scoring.MonthFor(2026, 1)})
	if !errors.Is(err, report.ErrOptions) {
		t.Errorf("reversed period: err = %v, want report.ErrOptions", err)
	}
	_, _, err = eng.Report(context.Background(), engine.ReportOptions{Segment: "phaze"})
	if !errors.Is(err, report.ErrOptions) {
		t.Errorf("unknown segment: err = %v, want report.ErrOptions", err)
	}
}

// TestPlanListsAreEmptyNotNull pins issue 19 item 3: GET /api/plan (the
// plan's JSON) has [] for a plan with nothing to do, not null.
func TestPlanListsAreEmptyNotNull(t *testing.T) {
	p, _, err := emptyEngine(t, nil).PlanOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"writes": string(m["writes"]), "task_creates": string(m["task_creates"]), "task_closes": string(m["task_closes"])}
	want := map[string]string{"writes": "[]", "task_creates": "[]", "task_closes": "[]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan lists = %v, want %v", got, want)
	}
}

// TestReportTimezone pins issue 19 item 5 through the engine: with
// reporting.timezone Asia/Tokyo, 16:00 UTC on 30 November is 1 December,
// so the report's as-of day and default period follow Tokyo.
func TestReportTimezone(t *testing.T) {
	cases := []struct {
		zone, asOf, to string
	}{
		{"UTC", "2026-11-30", "2026-10"},
		{"Asia/Tokyo", "2026-12-01", "2026-11"},
	}
	for _, c := range cases {
		eng := emptyEngine(t, func(cfg *config.Config) { cfg.Reporting.Timezone = c.zone }, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC))
		r, _, err := eng.Report(context.Background(), engine.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.AsOf != c.asOf || r.Period.To != c.to || r.Timezone != c.zone {
			t.Errorf("%s: as_of %s, period to %s, timezone %s; want %s, %s", c.zone, r.AsOf, r.Period.To, r.Timezone, c.asOf, c.to)
		}
	}
}
