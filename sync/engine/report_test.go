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
	"github.com/healthsync/healthsync/sync/store"
)

// emptyEngine is an engine over a store nothing was synced into.
func emptyEngine(t *testing.T) *engine.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.db")
	cfg, err := config.Parse("empty.yaml", []byte(fmt.Sprintf(e2eConfig, path, "http://127.0.0.1:1", "http://127.0.0.1:1")),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }
	st, err := store.Open(path, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Now: now, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestReportOnEmptyStore pins issue 19 item 3 through the engine: an
// empty store says to sync first and reports unknown rates as null; a
// reversed period is an options error before the store is read.
func TestReportOnEmptyStore(t *testing.T) {
	eng := emptyEngine(t)
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
	p, _, err := emptyEngine(t).PlanOnly(context.Background())
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
