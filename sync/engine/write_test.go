package engine_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// writeOutcome is the accounting part of a WriteReport.
type writeOutcome struct {
	Planned, Retried, Written, Failed, Skipped     int
	SkipReasons                                    map[string]int
	TasksPlanned, TasksCreated, TasksFailed, TSkip int
	TaskSkipReasons                                map[string]int
}

func outcomeOf(w *engine.WriteReport) writeOutcome {
	return writeOutcome{Planned: w.Planned, Retried: w.Retried, Written: w.Written, Failed: w.Failed, Skipped: w.Skipped,
		SkipReasons: w.SkipReasons, TasksPlanned: w.TasksPlanned, TasksCreated: w.TasksCreated, TasksFailed: w.TasksFailed,
		TSkip: w.TasksSkipped, TaskSkipReasons: w.TaskSkipReasons}
}

func checkBalanced(t *testing.T, step string, w *engine.WriteReport) {
	t.Helper()
	if w.Written+w.Failed+w.Skipped != w.Planned {
		t.Errorf("%s: %d written + %d failed + %d skipped != %d planned", step, w.Written, w.Failed, w.Skipped, w.Planned)
	}
	if w.TasksCreated+w.TasksFailed+w.TasksSkipped != w.TasksPlanned {
		t.Errorf("%s: %d tasks created + %d failed + %d skipped != %d planned", step, w.TasksCreated, w.TasksFailed, w.TasksSkipped, w.TasksPlanned)
	}
}

// TestWriteAccountsForEveryPlannedWrite plans writes through the engine
// against the Salesforce fake and checks that each one is written, failed,
// or skipped with a counted reason: a failed call, a back-off that is not
// over, and a webhook pass that wrote an account (and created its tasks)
// between the sync's plan and its write pass.
func TestWriteAccountsForEveryPlannedWrite(t *testing.T) {
	e := newSFStripe(t)
	ctx := context.Background()

	// 1. The update call fails on both attempts: 3 planned, 3 failed; the
	// task call (a default rule, one task per account) works.
	e.sf.InjectFault(salesforcetest.Fault{Path: "/composite/sobjects", Times: 2, Status: 503})
	rep, err := e.eng.Sync(ctx, engine.SyncOptions{})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got, want := outcomeOf(rep.Write), (writeOutcome{Planned: 3, Failed: 3, TasksPlanned: 3, TasksCreated: 3}); !reflect.DeepEqual(got, want) {
		t.Errorf("failed call: %+v, want %+v", got, want)
	}
	checkBalanced(t, "failed call", rep.Write)

	// 2. The same plan again before the back-off is over: nothing is
	// attempted, and each planned write says why.
	rep = e.sync(t)
	if got, want := outcomeOf(rep.Write), (writeOutcome{Planned: 3, Skipped: 3, SkipReasons: map[string]int{engine.SkipBackoff: 3}}); !reflect.DeepEqual(got, want) {
		t.Errorf("in back-off: %+v, want %+v", got, want)
	}
	if len(rep.Plan.Writes) != 3 {
		t.Errorf("in back-off: %d writes planned, want 3", len(rep.Plan.Writes))
	}

	// 3. After the back-off, a usage signal re-scores account 0 between the
	// sync's plan and its write pass: the webhook pass writes it and creates
	// its tasks; the sync's pass counts them as skipped, with the reason.
	e.now = e.now.Add(time.Hour)
	e.stripe.SetNow(e.now)
	e.extraYAML = `
tasks:
  - {name: check_in, when: "mrr > 0", subject: "Check in: {{.account.name}}", period: once}
`
	e.st.Close()
	e.connect(t)
	if _, err := e.eng.Sync(ctx, engine.SyncOptions{DryRun: true}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	plan, err := e.eng.SavedPlan()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Enqueue(plan); err != nil {
		t.Fatal(err)
	}
	acct0 := "salesforce/" + e.accts[0]
	wrote, err := e.eng.Process(ctx, store.QueuedEvent{Connector: record.Signals,
		Event: record.Event{ID: "sig-1", Type: "signal", ObjectType: "account", ObjectID: acct0}})
	if err != nil || !wrote {
		t.Fatalf("webhook pass: wrote %v, %v", wrote, err)
	}
	wr, err := e.eng.Write(ctx, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := writeOutcome{Planned: 3, Written: 2, Skipped: 1, SkipReasons: map[string]int{engine.SkipWrittenElsewhere: 1},
		TasksPlanned: 3, TasksCreated: 2, TSkip: 1, TaskSkipReasons: map[string]int{engine.SkipTaskElsewhere: 1}}
	if got := outcomeOf(wr); !reflect.DeepEqual(got, want) {
		t.Errorf("after a concurrent pass: %+v, want %+v", got, want)
	}
	checkBalanced(t, "after a concurrent pass", wr)
	if pend, _ := e.st.Pending("sf"); len(pend) != 0 {
		t.Errorf("%d writes still pending", len(pend))
	}
}
