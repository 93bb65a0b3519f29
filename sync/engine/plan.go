package engine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/store"
)

// FieldChange is one field healthsync will write.
type FieldChange struct {
	Key   string `json:"key"`   // value key: health_score, band, ...
	Field string `json:"field"` // CRM field API name
	Old   any    `json:"old"`   // last written (or read from the CRM), nil when none
	New   any    `json:"new"`
}

// RecordWrite is the planned update of one CRM record.
type RecordWrite struct {
	Connector string        `json:"connector"`
	Object    string        `json:"object"`
	ID        string        `json:"id"`
	Account   string        `json:"account"` // account key
	Name      string        `json:"name"`
	Changes   []FieldChange `json:"changes"`
}

// Update is the record.FieldUpdate of the write.
func (w RecordWrite) Update() record.FieldUpdate {
	f := make(map[string]any, len(w.Changes))
	for _, c := range w.Changes {
		f[c.Field] = c.New
	}
	return record.FieldUpdate{Object: w.Object, ID: w.ID, Fields: f}
}

// TaskCreate is a task to create.
type TaskCreate struct {
	Connector string             `json:"connector"`
	Account   string             `json:"account"`
	Name      string             `json:"name"`
	Intent    scoring.TaskIntent `json:"intent"`
}

// TaskClose is an open task whose condition cleared.
type TaskClose struct {
	Connector string `json:"connector"`
	Account   string `json:"account"`
	TaskID    string `json:"task_id"`
	DedupeKey string `json:"dedupe_key"`
	Rule      string `json:"rule"`
	// Reason is why it closes when not because its rule's condition
	// cleared (the account churned, or is a prospect).
	Reason string `json:"reason,omitempty"`
}

// Note is the text the CRM task is closed with.
func (t TaskClose) Note() string {
	if t.Reason != "" {
		return "Closed by healthsync: " + t.Reason + "."
	}
	return "Closed by healthsync: the condition of rule " + t.Rule + " no longer holds."
}

// Skip is a field or account not written, with the reason.
type Skip struct {
	Connector string `json:"connector"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Field     string `json:"field,omitempty"`
	Reason    string `json:"reason"`
}

// Plan is the write plan: what healthsync would change in the CRMs.
type Plan struct {
	AsOf    time.Time     `json:"as_of"`
	Writes  []RecordWrite `json:"writes"`
	Creates []TaskCreate  `json:"task_creates"`
	Closes  []TaskClose   `json:"task_closes"`
	Skips   []Skip        `json:"skips,omitempty"`
	// BandChanges counts accounts whose band would change, out of
	// BandBase accounts with a band written before.
	BandChanges int `json:"band_changes"`
	BandBase    int `json:"band_base"`
	// NeedsConfirm is set when the band-change ceiling is exceeded: the plan
	// is not executed without `healthsync apply --confirm`.
	NeedsConfirm  bool   `json:"needs_confirm"`
	ConfirmReason string `json:"confirm_reason,omitempty"`
	// Calls estimates the API calls per connector.
	Calls map[string]int `json:"estimated_calls"`
	// Notices are the outbound events the plan's changes produce.
	Notices []Notice `json:"notices,omitempty"`
	// Drops are pending writes (from earlier failed passes) that must not
	// be sent any more: fields a person has since edited, accounts a gate
	// now blocks. Enqueue removes them.
	Drops []PendingDrop `json:"pending_drops,omitempty"`
}

// PendingDrop removes fields (all when Fields is empty) from a record's
// pending write.
type PendingDrop struct {
	Connector string   `json:"connector"`
	Object    string   `json:"object"`
	ID        string   `json:"id"`
	Fields    []string `json:"fields,omitempty"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Writes) == 0 && len(p.Creates) == 0 && len(p.Closes) == 0 }

// desired returns the values healthsync wants on the account, by value key.
func (e *Engine) desired(s *Scored, asOf time.Time) map[string]any {
	r := &s.Result
	major := func(minor int64) float64 {
		return math.Round(float64(minor)/math.Pow10(scoring.MinorUnitExponent(r.Currency))*100) / 100
	}
	reasons := strings.Join(r.Health.Reasons, "; ")
	if len(reasons) > 255 {
		reasons = reasons[:252] + "..."
	}
	want := map[string]any{
		config.FieldHealthScore: math.Round(r.Health.Score),
		config.FieldBand:        r.Health.Band,
		config.FieldTrend:       math.Round(r.Health.Trend),
		config.FieldReasons:     reasons,
		config.FieldTouchModel:  r.Touch,
		config.FieldPhase:       r.Phase,
		config.FieldMRR:         major(r.MRR),
		config.FieldARR:         major(r.ARR),
		config.FieldUpdatedAt:   asOf.UTC().Truncate(time.Second),
	}
	// A churned account or a prospect: under freeze its health fields keep
	// what the CRM has (not written), under clear they are emptied.
	if r.Health.Inactive != "" {
		for _, k := range healthKeys {
			if e.score.Health.Treatment(r.Health.Inactive) == scoring.InactiveClear {
				want[k] = nil
			} else {
				delete(want, k)
			}
		}
	}
	return want
}

// healthKeys are the value keys of the health score.
var healthKeys = []string{config.FieldHealthScore, config.FieldBand, config.FieldTrend, config.FieldReasons}

// planMode says how many accounts a plan covers, which decides how it
// reads the values last written.
type planMode int

const (
	// planAll plans a full reconcile: each CRM connector's written values
	// are read one chunk of accounts at a time.
	planAll planMode = iota
	// planTargeted plans the few accounts of a targeted re-score (the
	// webhook path): only their written values are read.
	planTargeted
)

// planState is what a plan compares the scores with, read from the store.
type planState struct {
	// written is the values healthsync last wrote: connector -> record ->
	// field -> value.
	written map[string]map[store.WriteKey]map[string]store.WrittenValue
	// pending holds the pending writes: the fields they would still send,
	// and values sent to the CRM whose success was never recorded (a crash
	// between the call and recording). Connector -> record -> write.
	pending map[string]map[store.WriteKey]store.PendingWrite
	// crmTasks are the open CRM tasks carrying healthsync's marker, by
	// dedupe key.
	crmTasks map[string]record.Task
	// recorded holds the dedupe keys of the planned tasks the store
	// already knows.
	recorded map[string]bool
	// openByAccount are the open tasks the store knows, by account key.
	openByAccount map[string][]store.CreatedTask
}

// makePlanLocked computes the write plan from a reconcile, the values last
// written and the values read back from the CRM. It makes no API call. The
// caller holds mu (unusable).
func (e *Engine) makePlanLocked(rec *Reconciled, mode planMode) (*Plan, error) {
	ps, err := e.readPlanState(rec, mode)
	if err != nil {
		return nil, err
	}
	return e.buildPlan(rec, ps, e.unusable), nil
}

// readPlanState reads what a plan of rec compares with.
func (e *Engine) readPlanState(rec *Reconciled, mode planMode) (*planState, error) {
	ps := &planState{written: map[string]map[store.WriteKey]map[string]store.WrittenValue{},
		pending: map[string]map[store.WriteKey]store.PendingWrite{}, crmTasks: map[string]record.Task{},
		recorded: map[string]bool{}, openByAccount: map[string][]store.CreatedTask{}}
	if len(rec.Accounts) == 0 {
		return ps, nil // nothing re-scored: nothing to compare
	}
	ix := e.index()
	var err error
	for _, c := range e.conns {
		if !c.IsCRM() {
			continue
		}
		wv, err := e.writtenValues(c, rec, mode)
		if err != nil {
			return nil, fmt.Errorf("reading written values: %w", err)
		}
		ps.written[c.Name()] = wv
		pend, err := e.st.Pending(c.Name())
		if err != nil {
			return nil, fmt.Errorf("reading pending writes: %w", err)
		}
		ps.pending[c.Name()] = map[store.WriteKey]store.PendingWrite{}
		for _, w := range pend {
			ps.pending[c.Name()][store.WriteKey{Object: w.Object, ID: w.ID}] = w
		}
		if mode == planTargeted && ix != nil {
			continue // looked up by key below
		}
		tasks, err := e.st.Tasks(c.Name())
		if err != nil {
			return nil, fmt.Errorf("reading CRM tasks: %w", err)
		}
		for _, t := range tasks {
			if t.DedupeKey != "" && t.Status != record.TaskCompleted {
				ps.crmTasks[t.DedupeKey] = t
			}
		}
	}
	var openTasks []store.CreatedTask
	if mode == planTargeted && ix != nil {
		// Only the accounts' tasks: their CRM tasks from the index, their
		// open tasks of the rules that cleared by key prefix.
		var prefixes []string
		for _, s := range rec.Accounts {
			for _, in := range s.Result.Tasks {
				if t, ok := ix.crmTask(in.DedupeKey); ok {
					ps.crmTasks[in.DedupeKey] = t
				}
			}
			for _, rule := range s.Result.ClearedRules {
				prefixes = append(prefixes, rule+"/"+s.Account.Key()+"/")
			}
		}
		openTasks, err = e.st.OpenTasksByPrefix(prefixes)
	} else {
		openTasks, err = e.st.OpenTasks()
	}
	if err != nil {
		return nil, fmt.Errorf("reading open tasks: %w", err)
	}
	for _, t := range openTasks {
		ps.openByAccount[t.AccountKey] = append(ps.openByAccount[t.AccountKey], t)
	}
	for _, s := range rec.Accounts {
		for _, in := range s.Result.Tasks {
			_, ok, err := e.st.TaskByKey(in.DedupeKey)
			if err != nil {
				return nil, fmt.Errorf("reading task %s: %w", in.DedupeKey, err)
			}
			ps.recorded[in.DedupeKey] = ok
		}
	}
	return ps, nil
}

// writtenValues reads the values last written to rec's accounts of c: one
// read for a targeted plan, one per chunk of accounts for a full one (never
// the whole ledger, which also holds accounts no longer in the CRM).
func (e *Engine) writtenValues(c *Connector, rec *Reconciled, mode planMode) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	var ids []string
	for _, s := range rec.Accounts {
		if s.Connector == c.Name() {
			ids = append(ids, s.Account.ID)
		}
	}
	out := map[store.WriteKey]map[string]store.WrittenValue{}
	step := len(ids)
	if mode == planAll {
		step = e.chunkSize()
	}
	object := e.cfg.WriteBack.Mapping(c.Config.Kind).Object
	for lo := 0; lo < len(ids); lo += step {
		wv, err := e.st.WrittenOf(c.Name(), object, ids[lo:min(lo+step, len(ids))])
		if err != nil {
			return nil, err
		}
		maps.Copy(out, wv)
	}
	return out, nil
}

// buildPlan plans rec against ps, leaving out the unusable fields. It reads
// nothing: the same inputs give the same plan.
func (e *Engine) buildPlan(rec *Reconciled, ps *planState, unusable unusableFields) *Plan {
	p := &Plan{AsOf: rec.AsOf, Calls: map[string]int{}, Writes: []RecordWrite{}, Creates: []TaskCreate{}, Closes: []TaskClose{}}
	// Fields the preflight found unusable: reported once per connector and
	// field, never written, and removed from earlier pending writes.
	for _, name := range slices.Sorted(maps.Keys(unusable)) {
		for _, f := range slices.Sorted(maps.Keys(unusable[name])) {
			p.Skips = append(p.Skips, Skip{Connector: name, Field: f,
				Reason: "mapped field " + unusable[name][f] + " in the CRM (preflight): not written to any record"})
		}
	}
	for _, s := range rec.Accounts {
		e.planAccount(p, rec, s, ps, unusable[s.Connector])
	}
	e.checkCeiling(p)
	e.estimateCalls(p)
	sort.Slice(p.Writes, func(i, j int) bool { return p.Writes[i].Account < p.Writes[j].Account })
	return p
}

// planAccount adds one account's write, tasks and notices to p; bad are
// its connector's unusable fields. A gated account gets a skip and its
// pending write dropped instead.
func (e *Engine) planAccount(p *Plan, rec *Reconciled, s *Scored, ps *planState, bad map[string]string) {
	m := e.cfg.WriteBack.Mapping(s.Kind)
	if len(bad) > 0 {
		p.Drops = append(p.Drops, PendingDrop{Connector: s.Connector, Object: m.Object, ID: s.Account.ID, Fields: slices.Sorted(maps.Keys(bad))})
	}
	if g, ok := accountGate(rec, s); ok {
		p.Skips = append(p.Skips, Skip{s.Connector, s.Account.ID, s.Account.Name, "", "blocked: " + g})
		p.Drops = append(p.Drops, PendingDrop{Connector: s.Connector, Object: m.Object, ID: s.Account.ID})
		return
	}
	k := store.WriteKey{Object: m.Object, ID: s.Account.ID}
	if w, ok := e.planWrite(p, s, m, ps.written[s.Connector][k], ps.pending[s.Connector][k], bad, rec.AsOf); ok {
		p.Writes = append(p.Writes, w)
	}
	p.Creates = append(p.Creates, planCreates(s, ps)...)
	p.Closes = append(p.Closes, planCloses(s, ps)...)
	p.Notices = append(p.Notices, e.notices(s, rec.AsOf)...)
}

// accountGate returns why write-back is blocked for s's account, if it is:
// for every account, for its CRM connector, or for the account alone.
func accountGate(rec *Reconciled, s *Scored) (string, bool) {
	if g, ok := rec.Gates["*"]; ok {
		return g, true
	}
	if g, ok := rec.Gates[s.Connector]; ok {
		return g, true
	}
	g, ok := rec.AccountGates[s.Account.Key()]
	return g, ok
}

// planWrite plans the update of one account's record from the values
// healthsync last wrote (last) and its pending write (pw); it counts a band
// change in p and adds skips and drops for fields a person edited.
func (e *Engine) planWrite(p *Plan, s *Scored, m config.CRMMapping, last map[string]store.WrittenValue, pw store.PendingWrite, bad map[string]string, asOf time.Time) (RecordWrite, bool) {
	want := e.desired(s, asOf)
	w := RecordWrite{Connector: s.Connector, Object: m.Object, ID: s.Account.ID, Account: s.Account.Key(), Name: s.Account.Name}
	scoreMoved := e.countBand(p, m, last, want)
	for _, key := range config.WriteBackKeys {
		field := m.Fields[key]
		if _, unusable := bad[field]; field == "" || unusable || key == config.FieldUpdatedAt {
			continue
		}
		nv, writes := want[key]
		writes = writes && !((key == config.FieldHealthScore || key == config.FieldTrend) && !scoreMoved)
		if ch, ok := planField(p, s, m, key, field, nv, writes, last, pw, e.cfg.WriteBack.Owns(key)); ok {
			w.Changes = append(w.Changes, ch)
		}
	}
	if len(w.Changes) == 0 {
		return w, false
	}
	if f := m.Fields[config.FieldUpdatedAt]; f != "" && bad[f] == "" {
		w.Changes = append(w.Changes, FieldChange{Key: config.FieldUpdatedAt, Field: f, Old: last[f].Value, New: want[config.FieldUpdatedAt]})
	}
	return w, true
}

// countBand counts a band change (and a band written before) in p and
// reports whether the score may be written: it moves only past the
// threshold or with a band change.
func (e *Engine) countBand(p *Plan, m config.CRMMapping, last map[string]store.WrittenValue, want map[string]any) (scoreMoved bool) {
	bandField, scoreField := m.Fields[config.FieldBand], m.Fields[config.FieldHealthScore]
	lastBand, hadBand := last[bandField]
	wantBand, writesBand := want[config.FieldBand]
	bandChanged := writesBand && (!hadBand || !sameValue(lastBand.Value, wantBand))
	if hadBand && bandChanged {
		p.BandChanges++
	}
	if hadBand {
		p.BandBase++
	}
	scoreMoved = true
	if lw, ok := last[scoreField]; ok && !bandChanged {
		if old, ok := toFloat(lw.Value); ok {
			nw, _ := toFloat(want[config.FieldHealthScore])
			scoreMoved = math.Abs(nw-old) >= e.cfg.WriteBack.MinScoreChange
		}
	}
	return scoreMoved
}

// planField decides one field of an account's write: nv is the desired
// value, writes whether this plan writes it, owned whether healthsync owns
// it (overwrites a person's edit). A person's edit adds a skip and a drop
// to p.
func planField(p *Plan, s *Scored, m config.CRMMapping, key, field string, nv any, writes bool, last map[string]store.WrittenValue, pw store.PendingWrite, owned bool) (FieldChange, bool) {
	if _, isPending := pw.Fields[field]; !writes && !isPending {
		return FieldChange{}, false
	}
	lw, hasLW := last[field]
	cur, hasCur := s.Account.Fields[field]
	// The CRM holds a value healthsync sent but never recorded as
	// written: it is healthsync's own, the last written value.
	if hasCur && cur != nil && sentValue(pw, field, cur) {
		lw, hasLW = store.WrittenValue{Value: cur, At: s.Account.Modified}, true
	}
	// A person's edit: the CRM holds another value than healthsync last
	// wrote, and the record changed after that write (an older copy of the
	// record is just not pulled again yet). It is never overwritten, neither
	// by this plan nor by an earlier pending write of the field.
	if hasLW && hasCur && cur != nil && !sameValue(cur, lw.Value) && s.Account.Modified.After(lw.At) && !owned {
		p.Skips = append(p.Skips, Skip{s.Connector, s.Account.ID, s.Account.Name, field,
			fmt.Sprintf("edited in the CRM since healthsync wrote it (%v -> %v); not overwritten", lw.Value, cur)})
		p.Drops = append(p.Drops, PendingDrop{Connector: s.Connector, Object: m.Object, ID: s.Account.ID, Fields: []string{field}})
		return FieldChange{}, false
	}
	if !writes || (nv == nil && !hasLW && cur == nil) {
		return FieldChange{}, false // not written by this plan; nothing to clear
	}
	switch {
	case hasLW && sameValue(lw.Value, nv):
		return FieldChange{}, false
	case !hasLW && hasCur && sameValue(cur, nv):
		return FieldChange{}, false
	}
	var old any
	if hasLW {
		old = lw.Value
	} else if hasCur {
		old = cur
	}
	return FieldChange{Key: key, Field: field, Old: old, New: nv}, true
}

// planCreates are the tasks s's rules ask for that neither the store nor
// the CRM holds yet.
func planCreates(s *Scored, ps *planState) []TaskCreate {
	var out []TaskCreate
	for _, in := range s.Result.Tasks {
		if ps.recorded[in.DedupeKey] {
			continue
		}
		if _, ok := ps.crmTasks[in.DedupeKey]; ok {
			continue
		}
		if in.OwnerID == "" {
			in.OwnerID = s.Account.OwnerID
		}
		out = append(out, TaskCreate{Connector: s.Connector, Account: s.Account.Key(), Name: s.Account.Name, Intent: in})
	}
	return out
}

// planCloses are s's open tasks whose rule cleared.
func planCloses(s *Scored, ps *planState) []TaskClose {
	var out []TaskClose
	for _, t := range ps.openByAccount[s.Account.Key()] {
		if t.Connector != s.Connector {
			continue
		}
		for _, rule := range s.Result.ClearedRules {
			if t.Rule == rule {
				out = append(out, TaskClose{Connector: s.Connector, Account: t.AccountKey, TaskID: t.TaskID, DedupeKey: t.DedupeKey, Rule: rule,
					Reason: inactiveReason[s.Result.Health.Inactive]})
			}
		}
	}
	return out
}

// checkCeiling sets NeedsConfirm when more accounts would change band than
// write_back.max_band_change_share allows.
func (e *Engine) checkCeiling(p *Plan) {
	max := e.cfg.WriteBack.MaxBandChangeShare
	if max <= 0 || max >= 1 || p.BandBase == 0 {
		return
	}
	if share := float64(p.BandChanges) / float64(p.BandBase); share > max {
		p.NeedsConfirm = true
		p.ConfirmReason = fmt.Sprintf("%d of %d accounts (%.0f%%) would change band, above the %.0f%% ceiling: review with `healthsync plan`, then run `healthsync apply --confirm`",
			p.BandChanges, p.BandBase, share*100, max*100)
	}
}

// estimateCalls sets p.Calls: per connector, the batched write calls plus
// the batched task calls.
func (e *Engine) estimateCalls(p *Plan) {
	perConn := map[string]int{}
	for _, w := range p.Writes {
		perConn[w.Connector]++
	}
	for name, n := range perConn {
		p.Calls[name] = (n + batchSize(e.byName[name]) - 1) / batchSize(e.byName[name])
	}
	tasksPer := map[string]int{}
	for _, t := range p.Creates {
		tasksPer[t.Connector]++
	}
	for _, t := range p.Closes {
		tasksPer[t.Connector]++
	}
	for name, n := range tasksPer {
		p.Calls[name] += (n + batchSize(e.byName[name]) - 1) / batchSize(e.byName[name])
	}
}

// inactiveReason is the note of a task closed because its account is not a
// live customer.
var inactiveReason = map[string]string{
	scoring.InactiveChurned:  "the account churned",
	scoring.InactiveProspect: "the account is a prospect (no billing subscription)",
}

// batchSize is the vendor's records-per-call for writes: the connector's
// declared WriteBatch, else 200.
func batchSize(c *Connector) int {
	if c != nil && c.Caps.WriteBatch > 0 {
		return c.Caps.WriteBatch
	}
	return 200
}

// notices are the outbound events an account's new state produces.
func (e *Engine) notices(s *Scored, asOf time.Time) []Notice {
	prev := s.Previous
	if prev == nil {
		return nil
	}
	r := &s.Result
	base := func(typ string, data map[string]any) Notice {
		data["crm"] = map[string]string{"connector": s.Connector, "id": s.Account.ID}
		return Notice{Type: typ, Account: s.Account.Key(), Name: s.Account.Name, Time: asOf, Data: data}
	}
	var out []Notice
	if r.Health.Inactive != "" {
		prev = &store.ScoreSnapshot{Band: r.Health.Band, Score: r.Health.Score, MRR: prev.MRR} // no health notices
	}
	if prev.Band != "" && prev.Band != r.Health.Band {
		out = append(out, base(config.EventBandChanged, map[string]any{"from": prev.Band, "to": r.Health.Band,
			"score": r.Health.Score, "reasons": r.Health.Reasons}))
	}
	if prev.Score-r.Health.Score >= 15 {
		out = append(out, base(config.EventScoreDropped, map[string]any{"from": prev.Score, "to": r.Health.Score,
			"reasons": r.Health.Reasons}))
	}
	if prev.MRR != r.MRR {
		out = append(out, base(config.EventMRRChanged, map[string]any{"from": prev.MRR, "to": r.MRR,
			"currency": r.Currency, "unit": "minor"}))
		if prev.MRR > 0 && r.MRR == 0 {
			out = append(out, base(config.EventChurned, map[string]any{"mrr_lost": prev.MRR, "currency": r.Currency, "unit": "minor"}))
		}
	}
	return out
}

// sentValue reports whether v is among the values w sent to field whose
// success was not recorded.
func sentValue(w store.PendingWrite, field string, v any) bool {
	for _, sv := range w.Sent[field] {
		if sameValue(sv, v) {
			return true
		}
	}
	return false
}

// sameValue compares a stored or CRM value with a desired one: numbers by
// value (to 2 decimals), times by instant, everything else by its text.
// Values of the same type are compared as that type first, without
// parsing: equal texts are the same value, two numbers or two times are
// compared directly.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return math.Abs(x-y) < 0.005
		}
	case string:
		if y, ok := b.(string); ok && x == y {
			return true
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Equal(y)
		}
	case nil:
		if b == nil {
			return true
		}
	}
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return math.Abs(fa-fb) < 0.005
		}
	}
	ta, okA := toTime(a)
	tb, okB := toTime(b)
	if okA && okB {
		return ta.Equal(tb)
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, true
		}
	}
	return 0, false
}

func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05.000Z0700"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
		if ms, err := parseMillis(x); err == nil {
			return ms, true
		}
	}
	return time.Time{}, false
}

func parseMillis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || len(s) < 12 {
		return time.Time{}, fmt.Errorf("not epoch milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}
