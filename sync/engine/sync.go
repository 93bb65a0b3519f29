package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

// SyncOptions select what a sync pass does.
type SyncOptions struct {
	Connector string // only this connector's pull ("" = all)
	Full      bool   // force full enumerations
	DryRun    bool   // pull, then plan without writing
	NoPull    bool   // reconcile and write from the store only
	// KeepScores keeps every re-scored account in the report's Reconcile
	// (tests, tools that read the scores). A sync otherwise drops them once
	// the plan is made, before its write pass: at 100,000 accounts they are
	// about 200 MB that nothing after the plan reads.
	KeepScores bool
}

// SyncReport is the outcome of a sync pass.
type SyncReport struct {
	RunID     string        `json:"run_id"`
	Start     time.Time     `json:"start"`
	Duration  time.Duration `json:"duration"`
	Pulls     []*PullReport `json:"pulls"`
	Plan      *Plan         `json:"plan"`
	Write     *WriteReport  `json:"write,omitempty"`
	Reconcile *Reconciled   `json:"-"` // its Accounts only with SyncOptions.KeepScores
	// Rescored is how many accounts the reconcile scored, RescoreReason
	// why (everything on the first sync of a day or after a configuration
	// change, else the accounts whose inputs changed).
	Rescored      int    `json:"accounts_rescored"`
	RescoreReason string `json:"rescore_reason"`
	// DataQuality lines: gates that blocked write-back, vendor MRR checks.
	DataQuality []string `json:"data_quality,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// ErrNeedsConfirm is returned when a plan exceeds the band-change ceiling.
var ErrNeedsConfirm = errors.New("plan needs confirmation")

// Sync pulls every source (concurrently; one source's failure does not stop
// the others), reconciles, plans and writes.
func (e *Engine) Sync(ctx context.Context, o SyncOptions) (rep *SyncReport, err error) {
	start := e.now()
	rep = &SyncReport{RunID: newRunID(start, "sync", o.Connector), Start: start}
	var errs firstErrors
	status := "ok"
	// The run is recorded when it starts and completed when it ends: a
	// killed run stays "running" until the next process marks it
	// interrupted.
	e.putRun(store.Run{ID: rep.RunID, Kind: "sync", Start: start, Status: "running"})
	// Every outcome is recorded in run history, failures included.
	defer func() {
		if err != nil {
			if status == "ok" {
				status = "failed"
			}
			errs.add(err)
		}
		rep.Duration = e.now().Sub(start)
		rep.Errors = errs
		e.recordSync(rep, status)
	}()
	if !o.NoPull {
		var targets []*Connector
		for _, c := range e.conns {
			if o.Connector == "" || c.Name() == o.Connector {
				targets = append(targets, c)
			}
		}
		if o.Connector != "" && len(targets) == 0 {
			return rep, fmt.Errorf("%w: %q", ErrUnknownConnector, o.Connector)
		}
		rep.Pulls = e.pullAll(ctx, targets, o.Full)
		failed := 0
		for _, p := range rep.Pulls {
			if p.Err != "" {
				failed++
				errs.add(fmt.Errorf("%s: %s", p.Connector, p.Err))
			}
		}
		if failed > 0 && failed == len(rep.Pulls) {
			status = "failed" // nothing was pulled: not a partial run
		}
	}
	if err := waitCtx(ctx, "sync"); err != nil {
		return rep, err
	}
	// A mapped field the CRM lacks is left out of every write (reported
	// once below), instead of failing each record that carries it.
	found, known, checkErrs := e.checkFields(ctx)
	for _, err := range checkErrs {
		errs.add(err)
	}
	var rs syncRescore
	run, err := e.stageSync(ctx, o, rep, found, known, &rs)
	if rep.Reconcile != nil && !o.KeepScores {
		rep.Reconcile.Accounts, rep.Reconcile.byKey = nil, nil
	}
	if err != nil {
		return rep, err
	}
	if !run {
		// Saved for `healthsync apply`; nothing was executed.
		if o.DryRun {
			status = "dry_run"
			return rep, nil
		}
		status = "needs_confirm"
		return rep, fmt.Errorf("%w: %s", ErrNeedsConfirm, rep.Plan.ConfirmReason)
	}
	wr, err := e.execute(ctx, rep.Plan, nil)
	rep.Write = wr
	if err != nil {
		return rep, err
	}
	errs = append(errs, wr.Errors...)
	// The write pass ended: the dirty marks the reconcile consumed are
	// done, but for accounts whose tasks were not created or closed.
	if rs.consumed {
		if err := e.rescoreDone(rs.rp, rs.matchRate, rs.portfolio, rep.Plan.BandBase, newBands(rep.Plan), unfinished(rep.Plan, wr)); err != nil {
			return rep, err
		}
	}
	if len(errs) > 0 && status == "ok" {
		status = "partial"
	}
	return rep, nil
}

// stageSync is a sync pass's step under the state lock: it records the
// field check, reconciles, plans, and either saves the plan (a dry run, or
// over the band-change ceiling: run is false) or makes its writes durable
// for execute (run is true). It fills rep's Reconcile, Plan and
// DataQuality.
func (e *Engine) stageSync(ctx context.Context, o SyncOptions, rep *SyncReport, found unusableFields, known map[string]bool, rs *syncRescore) (run bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setUnusableLocked(found, known)
	rep.DataQuality = append(rep.DataQuality, e.unusable.lines()...)
	asOf := e.now()
	// A dry run re-scores everything and consumes no dirty marks; a sync
	// re-scores the accounts whose inputs changed (dirty.go).
	rp := rescorePlan{full: true, reason: rescoreDryRun}
	if !o.DryRun {
		if rp, err = e.planRescoreLocked(asOf); err != nil {
			return false, fmt.Errorf("reconciling: %w", err)
		}
	}
	var rec *Reconciled
	if o.DryRun {
		rec, err = e.reconcileFullLocked(ctx, asOf, false)
		if rec != nil {
			rec.Rescored, rec.RescoreReason = len(rec.Accounts), rp.reason
		}
	} else {
		rec, err = e.reconcileSyncLocked(ctx, asOf, rp)
	}
	if err != nil {
		return false, fmt.Errorf("reconciling: %w", err)
	}
	rep.Reconcile = rec
	rep.Rescored, rep.RescoreReason = rec.Rescored, rec.RescoreReason
	// Portfolio lines (vendor MRR check, identity) come from a full
	// reconcile; a targeted pass repeats the last ones.
	portfolio := append([]string(nil), rec.DataQuality...)
	if len(rec.Unmatched) > 0 || len(rec.Conflicts) > 0 {
		portfolio = append(portfolio, fmt.Sprintf("identity: match rate %.0f%%, %d unmatched billing customers, %d conflicts",
			rec.MatchRate*100, len(rec.Unmatched), len(rec.Conflicts)))
	}
	if !rp.full && !rp.rematch {
		portfolio = rp.dataQuality
	}
	rep.DataQuality = append(rep.DataQuality, portfolio...)
	for name, g := range rec.Gates {
		rep.DataQuality = append(rep.DataQuality, "write-back blocked for "+name+": "+g)
	}
	rep.DataQuality = append(rep.DataQuality, rescoreLine(rec.Rescored, rec.RescoreReason))
	// A plan of the re-scored accounts alone reads only their written
	// values.
	mode := planAll
	if !rp.full {
		mode = planTargeted
	}
	plan, err := e.makePlanLocked(rec, mode)
	if err != nil {
		return false, fmt.Errorf("planning: %w", err)
	}
	if !rp.full && rp.bandBase > plan.BandBase {
		// The band-change ceiling is a share of the portfolio (as of the
		// last full plan), not of the accounts re-scored.
		plan.BandBase, plan.NeedsConfirm, plan.ConfirmReason = rp.bandBase, false, ""
		e.checkCeiling(plan)
	}
	rep.Plan = plan
	if o.DryRun || plan.NeedsConfirm {
		return false, e.savePlan(plan)
	}
	// This plan executes now: no saved plan may run it a second time.
	if err := e.clearPlan(); err != nil {
		return false, err
	}
	if err := e.enqueueLocked(plan); err != nil {
		return false, fmt.Errorf("queueing writes: %w", err)
	}
	*rs = syncRescore{consumed: !o.DryRun, rp: rp, matchRate: rec.MatchRate, portfolio: portfolio}
	return true, nil
}

// syncRescore is what a sync's write pass completes of its reconcile: the
// dirty marks consumed and the portfolio figures to carry over.
type syncRescore struct {
	consumed  bool
	rp        rescorePlan
	matchRate float64
	portfolio []string
}

func (e *Engine) pullAll(ctx context.Context, targets []*Connector, full bool) []*PullReport {
	if first, last := signalsLast(targets); len(first) > 0 && len(last) > 0 {
		return append(e.pullAll(ctx, first, full), e.pullAll(ctx, last, full)...)
	}
	workers := e.cfg.Engine.Workers
	if workers <= 0 {
		workers = 4
	}
	out := make([]*PullReport, len(targets))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, c := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rep, err := e.Pull(ctx, c.Name(), full)
			if rep == nil {
				rep = &PullReport{Connector: c.Name()}
				if err != nil {
					rep.Err = err.Error()
				}
			}
			out[i] = rep
		}()
	}
	wg.Wait()
	return out
}

// execute drains the plan's (already durable) writes and its tasks, and
// publishes the plan's notices. Callers Enqueue the plan first.
func (e *Engine) execute(ctx context.Context, p *Plan, ids map[string]bool) (*WriteReport, error) {
	wr, err := e.Write(ctx, p, ids)
	if err != nil {
		return wr, err
	}
	if e.pub != nil {
		notices := append([]Notice(nil), p.Notices...)
		for _, t := range wr.Created {
			notices = append(notices, Notice{Type: "task_created", Account: t.Account, Name: t.Name, Time: p.AsOf,
				Data: map[string]any{"rule": t.Intent.Rule, "subject": t.Intent.Subject, "due": t.Intent.Due.Format("2006-01-02")}})
		}
		if len(notices) > 0 {
			if err := e.pub.Publish(notices); err != nil {
				e.log.Error().Err(err).Msg("queueing notifications failed")
			}
		}
	}
	return wr, nil
}

func (e *Engine) recordSync(rep *SyncReport, status string) {
	c := map[string]int64{}
	for _, p := range rep.Pulls {
		c["records_pulled"] += int64(p.Stats.Inserted + p.Stats.Updated + p.Stats.Unchanged)
		c["records_changed"] += int64(p.Stats.Inserted + p.Stats.Updated)
		c["records_deleted"] += int64(p.Stats.Deleted + p.Deleted)
		c["api_calls"] += p.API.Calls
		c["retries"] += p.API.Retries
		c["throttled"] += p.API.Throttled
	}
	if rep.Reconcile != nil {
		c["accounts_rescored"] = int64(rep.Rescored)
	}
	if rep.Plan != nil {
		c["writes_planned"] = int64(len(rep.Plan.Writes))
		c["tasks_planned"] = int64(len(rep.Plan.Creates))
	}
	if w := rep.Write; w != nil {
		c["writes_done"] = int64(w.Written)
		c["writes_failed"] = int64(w.Failed)
		c["writes_skipped"] = int64(w.Skipped)
		c["writes_retried"] = int64(w.Retried)
		c["tasks_created"] = int64(w.TasksCreated)
		c["tasks_failed"] = int64(w.TasksFailed)
		c["tasks_skipped"] = int64(w.TasksSkipped)
		c["tasks_closed"] = int64(w.TasksClosed)
		c["api_calls"] += int64(w.Calls)
	}
	notes := append([]string(nil), rep.DataQuality...)
	if rep.Write != nil {
		notes = append(notes, rep.Write.SkipLines()...)
	}
	e.putRun(store.Run{ID: rep.RunID, Kind: "sync", Start: rep.Start, End: rep.Start.Add(rep.Duration), Status: status,
		Counters: c, Errors: rep.Errors, Notes: notes})
}

const planKey = "engine/plan"

func (e *Engine) clearPlan() error {
	if err := e.st.SetMeta(planKey, nil); err != nil {
		return fmt.Errorf("clearing the saved plan: %w", err)
	}
	return nil
}

func (e *Engine) savePlan(p *Plan) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the plan: %w", err)
	}
	if err := e.st.SetMeta(planKey, b); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	return nil
}

// PlanOnly reconciles from the store alone (no API call), saves and returns
// the plan for `healthsync apply`.
func (e *Engine) PlanOnly(ctx context.Context) (*Plan, *Reconciled, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.reconcileFullLocked(ctx, e.now(), false)
	if err != nil {
		return nil, nil, fmt.Errorf("reconciling: %w", err)
	}
	p, err := e.makePlanLocked(rec, planAll)
	if err != nil {
		return nil, nil, fmt.Errorf("planning: %w", err)
	}
	return p, rec, e.savePlan(p)
}

// ErrNoPlan is returned by Apply when no plan was saved.
var ErrNoPlan = errors.New("no saved plan: run `healthsync plan` or `healthsync sync --dry-run` first")

// SavedPlan returns the last saved plan.
func (e *Engine) SavedPlan() (*Plan, error) {
	b, err := e.st.Meta(planKey)
	if err != nil {
		return nil, fmt.Errorf("reading saved plan: %w", err)
	}
	if len(b) == 0 {
		return nil, ErrNoPlan
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading saved plan: %w", err)
	}
	return &p, nil
}

// Apply executes exactly the saved plan. A plan over the band-change ceiling
// needs confirm.
func (e *Engine) Apply(ctx context.Context, confirm bool) (*WriteReport, *Plan, error) {
	p, err := e.stageApply(confirm)
	if err != nil {
		return nil, p, err
	}
	start := e.now()
	runID := newRunID(start, "apply", "")
	e.putRun(store.Run{ID: runID, Kind: "apply", Start: start, Status: "running"})
	wr, err := e.execute(ctx, p, nil)
	status := "ok"
	if err != nil {
		status = "failed"
	} else if wr.Failed > 0 || wr.TasksFailed > 0 {
		status = "partial"
	}
	var c map[string]int64
	if wr != nil {
		c = map[string]int64{"writes_planned": int64(len(p.Writes)), "writes_done": int64(wr.Written),
			"writes_failed": int64(wr.Failed), "writes_skipped": int64(wr.Skipped), "writes_retried": int64(wr.Retried),
			"tasks_planned": int64(wr.TasksPlanned), "tasks_created": int64(wr.TasksCreated), "tasks_failed": int64(wr.TasksFailed),
			"tasks_skipped": int64(wr.TasksSkipped), "api_calls": int64(wr.Calls)}
	}
	e.putRun(store.Run{ID: runID, Kind: "apply", Start: start, End: e.now(), Status: status, Counters: c})
	return wr, p, err
}

// stageApply is Apply's step under the state lock: it takes the saved plan,
// clears it (so it can never run twice) and makes its writes durable. It
// returns the plan when one was saved, also with ErrNeedsConfirm.
func (e *Engine) stageApply(confirm bool) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.SavedPlan()
	if err != nil {
		return nil, err
	}
	if p.NeedsConfirm && !confirm {
		return p, fmt.Errorf("%w: %s", ErrNeedsConfirm, p.ConfirmReason)
	}
	if err := e.clearPlan(); err != nil {
		return p, err
	}
	if err := e.enqueueLocked(p); err != nil {
		return p, fmt.Errorf("queueing writes: %w", err)
	}
	return p, nil
}
