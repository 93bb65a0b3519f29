package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// WriteReport is the outcome of a write pass. Every record update the pass
// owed is accounted for: Written + Failed + Skipped == Planned, and every
// task: TasksCreated + TasksFailed + TasksSkipped == TasksPlanned. A skip
// carries its reason in SkipReasons (TaskSkipReasons), counted.
type WriteReport struct {
	// Planned is the record updates this pass owed: the plan's writes plus
	// earlier failed writes now due for a retry (Retried of them).
	Planned     int            `json:"planned"`
	Retried     int            `json:"retried"`
	Written     int            `json:"written"`
	Failed      int            `json:"failed"`
	Permanent   int            `json:"permanent"`
	Skipped     int            `json:"skipped"`
	SkipReasons map[string]int `json:"skip_reasons,omitempty"`
	Calls       int            `json:"calls"` // write calls made
	// TasksPlanned is the plan's task creations.
	TasksPlanned    int            `json:"tasks_planned"`
	TasksCreated    int            `json:"tasks_created"`
	TasksFailed     int            `json:"tasks_failed"`
	TasksSkipped    int            `json:"tasks_skipped"`
	TaskSkipReasons map[string]int `json:"task_skip_reasons,omitempty"`
	TasksClosed     int            `json:"tasks_closed"`
	Created         []TaskCreate   `json:"created,omitempty"`
	Errors          []string       `json:"errors,omitempty"`
	// WrittenIDs and FailedIDs are the CRM record IDs written and failed
	// by this pass (ProcessBatch tells its events apart by them).
	WrittenIDs  []string       `json:"-"`
	FailedIDs   []string       `json:"-"`
	ByConnector map[string]int `json:"by_connector,omitempty"`
}

// Reasons a planned write or task is skipped by the write pass.
const (
	SkipWrittenElsewhere = "already written by a concurrent pass (webhook re-score)"
	SkipSuperseded       = "no longer pending: replaced or dropped by a later plan"
	SkipBackoff          = "waiting for the retry back-off of an earlier failed write"
	SkipPermanent        = "failed permanently on an earlier pass"
	SkipNoWriter         = "the connector cannot write"
	SkipCanceled         = "not attempted: the pass was canceled"
	SkipTaskElsewhere    = "already created by a concurrent pass"
	SkipTaskTwice        = "the plan holds the same task twice"
)

func (r *WriteReport) skip(reason string, n int) {
	if n <= 0 {
		return
	}
	if r.SkipReasons == nil {
		r.SkipReasons = map[string]int{}
	}
	r.Skipped += n
	r.SkipReasons[reason] += n
}

// SkipLines describes the skipped writes and tasks, one line per reason,
// in a stable order.
func (r *WriteReport) SkipLines() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.SkipReasons)) {
		out = append(out, fmt.Sprintf("%d record updates skipped: %s", r.SkipReasons[k], k))
	}
	for _, k := range slices.Sorted(maps.Keys(r.TaskSkipReasons)) {
		out = append(out, fmt.Sprintf("%d tasks skipped: %s", r.TaskSkipReasons[k], k))
	}
	return out
}

func (r *WriteReport) skipTask(reason string) {
	if r.TaskSkipReasons == nil {
		r.TaskSkipReasons = map[string]int{}
	}
	r.TasksSkipped++
	r.TaskSkipReasons[reason]++
}

// Enqueue makes the plan's record writes durable as pending writes, so a
// crash or a failed call loses nothing: the write pass drains them.
func (e *Engine) Enqueue(p *Plan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.enqueueLocked(p)
}

// enqueueLocked is Enqueue with mu held: pending writes are read, changed
// and written by one stage step at a time.
func (e *Engine) enqueueLocked(p *Plan) error {
	if err := e.applyDrops(p.Drops); err != nil {
		return err
	}
	if len(p.Writes) == 0 {
		return nil
	}
	ws := make([]store.PendingWrite, 0, len(p.Writes))
	for _, w := range p.Writes {
		u := w.Update()
		ws = append(ws, store.PendingWrite{Connector: w.Connector, Object: u.Object, ID: u.ID, Fields: u.Fields, Planned: p.AsOf})
	}
	if err := e.st.PutPending(ws); err != nil {
		return fmt.Errorf("storing pending writes: %w", err)
	}
	return nil
}

// applyDrops removes fields from pending writes that must no longer be sent.
func (e *Engine) applyDrops(drops []PendingDrop) error {
	byConn := map[string][]PendingDrop{}
	for _, d := range drops {
		byConn[d.Connector] = append(byConn[d.Connector], d)
	}
	for conn, ds := range byConn {
		pend, err := e.st.Pending(conn)
		if err != nil {
			return fmt.Errorf("reading pending writes: %w", err)
		}
		idx := map[store.WriteKey]store.PendingWrite{}
		for _, w := range pend {
			idx[store.WriteKey{Object: w.Object, ID: w.ID}] = w
		}
		// idx follows every change: several drops on one record (two fields a
		// person edited) each start from what the previous one left.
		for _, d := range ds {
			k := store.WriteKey{Object: d.Object, ID: d.ID}
			w, ok := idx[k]
			if !ok {
				continue
			}
			remaining := map[string]any{}
			if len(d.Fields) > 0 {
				for f, v := range w.Fields {
					remaining[f] = v
				}
				for _, f := range d.Fields {
					delete(remaining, f)
				}
			}
			if err := e.st.DropPending(conn, d.Object, d.ID); err != nil {
				return fmt.Errorf("dropping a pending write: %w", err)
			}
			delete(idx, k)
			if len(remaining) > 0 {
				w.Fields = remaining
				if err := e.st.PutPending([]store.PendingWrite{w}); err != nil {
					return fmt.Errorf("storing a pending write: %w", err)
				}
				idx[k] = w
			}
		}
	}
	return nil
}

// Write drains due pending writes of every CRM connector (or only those for
// the given account IDs when ids is non-nil), then creates and closes the
// plan's tasks. One bad record never blocks its batch; a failed call keeps
// its writes pending with back-off. Each of the plan's writes that is not
// attempted is counted as skipped with its reason (see WriteReport). Write
// makes vendor calls and so takes no state lock; each batch takes the
// writer lock.
func (e *Engine) Write(ctx context.Context, p *Plan, ids map[string]bool) (*WriteReport, error) {
	rep := &WriteReport{ByConnector: map[string]int{}}
	var errs firstErrors
	now := e.now()
	planned := map[string]map[store.WriteKey]RecordWrite{} // connector -> the plan's writes
	if p != nil {
		for _, w := range p.Writes {
			if ids != nil && !ids[w.ID] {
				continue
			}
			if planned[w.Connector] == nil {
				planned[w.Connector] = map[store.WriteKey]RecordWrite{}
			}
			planned[w.Connector][store.WriteKey{Object: w.Object, ID: w.ID}] = w
		}
	}
	for name, ws := range planned {
		if c := e.byName[name]; c == nil || !c.IsCRM() || c.Writer == nil {
			rep.Planned += len(ws)
			rep.skip(SkipNoWriter, len(ws))
		}
	}
	for _, c := range e.conns {
		if !c.IsCRM() || c.Writer == nil {
			continue
		}
		mine := planned[c.Name()]
		pend, err := e.st.Pending(c.Name())
		if err != nil {
			return nil, fmt.Errorf("reading pending writes: %w", err)
		}
		var due []store.PendingWrite
		waiting := map[store.WriteKey]store.PendingWrite{}
		retried := 0
		for _, w := range pend {
			k := store.WriteKey{Object: w.Object, ID: w.ID}
			if ids != nil && !ids[w.ID] {
				continue
			}
			if !w.Due(now) {
				waiting[k] = w
				continue
			}
			due = append(due, w)
			if _, ok := mine[k]; !ok {
				retried++
			}
		}
		rep.Retried += retried
		rep.Planned += len(mine) + retried
		if err := e.accountNotDue(c, mine, due, waiting, rep); err != nil {
			return nil, fmt.Errorf("accounting for writes not due: %w", err)
		}
		size := batchSize(c)
		for i := 0; i < len(due); i += size {
			if ctx.Err() != nil {
				rep.skip(SkipCanceled, len(due)-i)
				break
			}
			chunk := due[i:min(i+size, len(due))]
			n, err := e.writeBatch(ctx, c, chunk, rep, &errs)
			rep.ByConnector[c.Name()] += n
			if err != nil {
				errs.add(err)
			}
		}
	}
	if p != nil {
		e.createTasks(ctx, p, rep, &errs)
		e.closeTasks(ctx, p, rep, &errs)
	}
	rep.Errors = errs
	return rep, nil
}

// accountNotDue counts the plan's writes of c that are not among the due
// pending writes, each with the reason it is not: waiting for a back-off,
// failed permanently, or no longer pending because a concurrent pass wrote
// it (the CRM holds the planned values) or a later plan replaced it.
func (e *Engine) accountNotDue(c *Connector, mine map[store.WriteKey]RecordWrite, due []store.PendingWrite, waiting map[store.WriteKey]store.PendingWrite, rep *WriteReport) error {
	isDue := make(map[store.WriteKey]bool, len(due))
	for _, w := range due {
		isDue[store.WriteKey{Object: w.Object, ID: w.ID}] = true
	}
	for k, w := range mine {
		if isDue[k] {
			continue
		}
		if pw, ok := waiting[k]; ok {
			if pw.Permanent {
				rep.skip(SkipPermanent, 1)
			} else {
				rep.skip(SkipBackoff, 1)
			}
			continue
		}
		last, err := e.st.LastWritten(c.Name(), k.Object, k.ID)
		if err != nil {
			return fmt.Errorf("reading written values: %w", err)
		}
		reason := SkipWrittenElsewhere
		for f, v := range w.Update().Fields {
			if lw, ok := last[f]; !ok || !lw.Matches(v) {
				reason = SkipSuperseded
				break
			}
		}
		rep.skip(reason, 1)
	}
	return nil
}

// writeBatch sends one batch of due writes to c and records the outcome,
// under the writer lock wmu (never mu: the call is network I/O).
func (e *Engine) writeBatch(ctx context.Context, c *Connector, due []store.PendingWrite, rep *WriteReport, errs *firstErrors) (int, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	before := c.stats()
	updates := make([]record.FieldUpdate, len(due))
	attempts := map[string]int{}
	for i, w := range due {
		updates[i] = record.FieldUpdate{Object: w.Object, ID: w.ID, Fields: w.Fields}
		attempts[w.ID] = w.Attempts
	}
	// The values are durably recorded as sent before the call: after a
	// crash before MarkWritten, the next plan knows them as healthsync's.
	if err := e.st.MarkSent(c.Name(), updates); err != nil {
		return 0, fmt.Errorf("recording values as sent: %w", err)
	}
	results, err := c.Writer.Update(ctx, updates)
	rep.Calls += int(c.stats().Sub(before).Calls)
	if err == nil && e.hooks.afterCRMWrite != nil {
		if herr := e.hooks.afterCRMWrite(c.Name()); herr != nil {
			return 0, herr // a crash here: the CRM has the values, the store does not know
		}
	}
	now := e.now()
	if err != nil {
		// The whole call failed: everything stays pending, retried later.
		fails := make([]store.WriteFailure, len(due))
		for i, w := range due {
			fails[i] = store.WriteFailure{Object: w.Object, ID: w.ID, RetryAt: now.Add(e.retryDelay(w.Attempts)), Err: err.Error()}
		}
		rep.Failed += len(due)
		for _, w := range due {
			rep.FailedIDs = append(rep.FailedIDs, w.ID)
		}
		if mErr := e.st.MarkFailed(c.Name(), fails); mErr != nil {
			return 0, fmt.Errorf("recording failed writes: %w", mErr)
		}
		return 0, fmt.Errorf("writing to %s: %w", c.Name(), err)
	}
	byID := map[string]record.FieldUpdate{}
	for _, u := range updates {
		byID[u.ID] = u
	}
	var ok []record.FieldUpdate
	var fails []store.WriteFailure
	seen := map[string]bool{}
	for _, r := range results {
		u, known := byID[r.ID]
		if !known {
			continue
		}
		seen[r.ID] = true
		if r.Error == nil {
			ok = append(ok, u)
			continue
		}
		errs.add(fmt.Errorf("%s %s %s: %s", c.Name(), u.Object, u.ID, r.Error.Error()))
		f := store.WriteFailure{Object: u.Object, ID: u.ID, Err: r.Error.Error(), Permanent: !r.Error.Transient,
			RetryAt: now.Add(e.retryDelay(attempts[u.ID]))}
		if f.Permanent {
			rep.Permanent++
		}
		rep.Failed++
		fails = append(fails, f)
		rep.FailedIDs = append(rep.FailedIDs, u.ID)
	}
	for _, u := range updates {
		if !seen[u.ID] {
			rep.Failed++
			rep.FailedIDs = append(rep.FailedIDs, u.ID)
			fails = append(fails, store.WriteFailure{Object: u.Object, ID: u.ID, Err: "no result returned for this record",
				RetryAt: now.Add(e.retryDelay(attempts[u.ID]))})
		}
	}
	// The CRM accepted ok: they count as written even when recording
	// that fails (the next plan then writes the same values again).
	rep.Written += len(ok)
	for _, u := range ok {
		rep.WrittenIDs = append(rep.WrittenIDs, u.ID)
	}
	if len(ok) > 0 {
		err := e.st.MarkWritten(c.Name(), ok, now)
		e.noteWritten(c.Name(), ok, now, err == nil) // the ledger mirror (ownwrites.go)
		if err != nil {
			return len(ok), fmt.Errorf("recording written values: %w", err)
		}
	}
	if len(fails) > 0 {
		if err := e.st.MarkFailed(c.Name(), fails); err != nil {
			return len(ok), fmt.Errorf("recording failed writes: %w", err)
		}
	}
	return len(ok), nil
}

func (e *Engine) retryDelay(attempts int) time.Duration {
	min, max := e.cfg.Engine.WriteRetry.Min.D(), e.cfg.Engine.WriteRetry.Max.D()
	if min <= 0 {
		min = time.Minute
	}
	if max <= 0 {
		max = 6 * time.Hour
	}
	return httpclient.Backoff(min, max, attempts)
}

func (e *Engine) createTasks(ctx context.Context, p *Plan, rep *WriteReport, errs *firstErrors) {
	byConn := map[string][]TaskCreate{}
	for _, t := range p.Creates {
		byConn[t.Connector] = append(byConn[t.Connector], t)
	}
	rep.TasksPlanned += len(p.Creates)
	for _, name := range slices.Sorted(maps.Keys(byConn)) { // a stable order: reports and tests repeat
		creates := byConn[name]
		c := e.byName[name]
		if c == nil || c.Tasks == nil {
			for range creates {
				rep.skipTask(SkipNoWriter)
			}
			continue
		}
		e.createTaskBatch(ctx, c, name, creates, rep, errs)
	}
}

// createTaskBatch creates one connector's tasks under the writer lock wmu,
// so the dedupe check, the create (with its read-back by marker) and the
// record cannot race another pass.
func (e *Engine) createTaskBatch(ctx context.Context, c *Connector, name string, creates []TaskCreate, rep *WriteReport, errs *firstErrors) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	var tasks []record.Task
	byKey := map[string]TaskCreate{}
	for _, t := range creates {
		in := t.Intent
		if _, done, err := e.st.TaskByKey(in.DedupeKey); err != nil {
			rep.TasksFailed++
			errs.add(fmt.Errorf("reading task %s: %w", in.DedupeKey, err))
			continue
		} else if done {
			rep.skipTask(SkipTaskElsewhere) // created by another pass since the plan was made
			continue
		}
		if _, dup := byKey[in.DedupeKey]; dup {
			rep.skipTask(SkipTaskTwice)
			continue
		}
		tasks = append(tasks, record.Task{AccountID: in.AccountID, OwnerID: in.OwnerID, Subject: in.Subject, Body: in.Body,
			Due: in.Due, Priority: in.Priority, Status: record.TaskOpen, DedupeKey: in.DedupeKey})
		byKey[in.DedupeKey] = t
	}
	if len(tasks) == 0 {
		return
	}
	// The keys are durably in doubt from before the call until recorded:
	// a process stopped in between leaves them for the next, whose
	// connector reads them back by marker instead of creating them again.
	if err := e.doubtTasks(c, name, tasks); err != nil {
		rep.TasksFailed += len(tasks)
		errs.add(err)
		return
	}
	before := c.stats()
	// A failed call may still return the results it got (tasks created,
	// or found by marker after an unknown outcome): they are recorded.
	results, err := c.Tasks.CreateTasks(ctx, tasks)
	rep.Calls += int(c.stats().Sub(before).Calls)
	if err != nil {
		errs.add(fmt.Errorf("creating tasks in %s: %w", name, err))
	}
	if h := e.hooks.afterTaskCreate; h != nil {
		if herr := h(name); herr != nil {
			errs.add(herr) // a crash here: the CRM has the tasks, the store does not
			return
		}
	}
	now := e.now()
	var created []store.CreatedTask
	answered := map[string]bool{}
	for _, r := range results {
		t, ok := byKey[r.Key]
		if !ok || answered[r.Key] {
			continue
		}
		answered[r.Key] = true
		if r.Error != nil {
			rep.TasksFailed++
			errs.add(fmt.Errorf("task %s: %s", r.Key, r.Error.Error()))
			continue
		}
		created = append(created, store.CreatedTask{DedupeKey: r.Key, Connector: name, TaskID: r.ID,
			AccountKey: t.Account, Rule: t.Intent.Rule, Status: record.TaskOpen, Created: now})
		e.index().taskCreated(t.Account, t.Intent.Rule, now)
		rep.Created = append(rep.Created, t)
	}
	for key := range byKey {
		if !answered[key] {
			rep.TasksFailed++
			if err == nil {
				errs.add(fmt.Errorf("task %s: no result returned", key))
			}
		}
	}
	// The CRM created them: they count as created even when recording
	// that fails.
	rep.TasksCreated += len(created)
	if err := e.st.PutTasks(created); err != nil {
		errs.add(fmt.Errorf("recording created tasks: %w", err))
		return
	}
	e.noteTasksRecorded(created) // their pull-back needs no adoption check (ownwrites.go)
	if err := e.st.SetMeta(doubtKey(name), nil); err != nil {
		errs.add(fmt.Errorf("clearing tasks in doubt: %w", err))
	}
}

// doubter is a TaskWriter that can read back, by marker, tasks whose
// create an earlier process may have sent (Salesforce, HubSpot).
type doubter interface {
	Doubt(keys []string)
}

func doubtKey(connector string) string { return "engine/tasks/doubt/" + connector }

// doubtTasks hands the connector the keys a stopped process left in doubt
// and records tasks' keys as in doubt before they are created (under wmu).
func (e *Engine) doubtTasks(c *Connector, name string, tasks []record.Task) error {
	d, ok := c.Tasks.(doubter)
	if !ok {
		return nil
	}
	var keys []string
	if b, err := e.st.Meta(doubtKey(name)); err != nil {
		return fmt.Errorf("reading tasks in doubt: %w", err)
	} else if b != nil {
		if err := json.Unmarshal(b, &keys); err != nil {
			return fmt.Errorf("reading tasks in doubt: %w", err)
		}
		d.Doubt(keys)
	}
	for _, t := range tasks {
		keys = append(keys, t.DedupeKey)
	}
	b, _ := json.Marshal(keys)
	if err := e.st.SetMeta(doubtKey(name), b); err != nil {
		return fmt.Errorf("recording tasks in doubt: %w", err)
	}
	return nil
}

func (e *Engine) closeTasks(ctx context.Context, p *Plan, rep *WriteReport, errs *firstErrors) {
	byConn := map[string][]TaskClose{}
	for _, t := range p.Closes {
		byConn[t.Connector] = append(byConn[t.Connector], t)
	}
	for _, name := range slices.Sorted(maps.Keys(byConn)) {
		closes := byConn[name]
		c := e.byName[name]
		if c == nil || c.Tasks == nil {
			continue
		}
		tasks := make([]record.Task, len(closes))
		for i, t := range closes {
			tasks[i] = record.Task{Ref: record.Ref{ID: t.TaskID}, Status: record.TaskCompleted, DedupeKey: t.DedupeKey, Note: t.Note()}
		}
		results, err := c.Tasks.CompleteTasks(ctx, tasks)
		if err != nil {
			errs.add(fmt.Errorf("closing tasks in %s: %w", name, err))
			continue
		}
		now := e.now()
		ok := map[string]bool{}
		for _, r := range results {
			if r.Error == nil {
				ok[r.ID] = true
			} else {
				errs.add(fmt.Errorf("closing task %s: %s", r.ID, r.Error.Error()))
			}
		}
		var done []store.CreatedTask
		for _, t := range closes {
			if !ok[t.TaskID] {
				continue
			}
			ct, found, err := e.st.TaskByKey(t.DedupeKey)
			if err != nil || !found {
				continue
			}
			ct.Status, ct.Completed = record.TaskCompleted, now
			done = append(done, ct)
		}
		if err := e.st.PutTasks(done); err != nil {
			errs.add(fmt.Errorf("recording closed tasks: %w", err))
		}
		rep.TasksClosed += len(done)
	}
}
