package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/store"
)

// Scored is one CRM account's computed state.
type Scored struct {
	Connector string // CRM connector name
	Kind      string // salesforce, hubspot
	Account   record.Account
	Result    scoring.AccountResult
	Customers []string // linked billing customer keys
	Previous  *store.ScoreSnapshot
}

// Unmatched is a billing customer linked to no account, with its MRR.
type Unmatched struct {
	Connector string
	Customer  record.Customer
	MRR       int64 // reporting minor units
}

// Reconciled is the outcome of a reconcile pass: matching and scoring over
// everything in the store.
type Reconciled struct {
	AsOf      time.Time
	Accounts  []*Scored
	byKey     map[string]*Scored
	Conflicts []Conflict
	Unmatched []Unmatched
	MatchRate float64
	// Gates maps a CRM connector (or "*" for all) to why write-back is
	// blocked for its accounts; AccountGates blocks single accounts fed by
	// a gated billing source.
	Gates        map[string]string
	AccountGates map[string]string
	Problems     []string
	// DataQuality are lines for the run report, e.g. how the vendor's own
	// MRR figures compare with healthsync's.
	DataQuality []string
	// Rescored is how many accounts were scored, RescoreReason why (a
	// sync scores only the accounts whose inputs changed; dirty.go).
	Rescored      int
	RescoreReason string
}

// Account returns the scored account with the given key.
func (r *Reconciled) Account(key string) (*Scored, bool) {
	s, ok := r.byKey[key]
	return s, ok
}

// world is what the reconciler reads from the store. A full reconcile
// loads every live account and customer (matching needs them) and the
// signals in the scoring window, then reads the deals, subscriptions and
// invoices of one chunk of accounts at a time (readRecords); a targeted one
// reads only its accounts' records (loadTargeted).
type world struct {
	accounts  map[string][]record.Account // CRM connector -> accounts
	deals     map[string][]record.Deal    // account key -> deals
	customers map[string]record.Customer  // customer key -> customer
	custConn  map[string]string           // customer key -> billing connector
	byConnCus map[string][]record.Customer
	subs      map[string][]record.Subscription // customer key -> subscriptions
	invoices  map[string][]record.Invoice      // customer key -> invoices
	signals   map[string][]record.Signal       // account or customer key -> signals
	// chunked is set when deals, subscriptions and invoices are read per
	// chunk of accounts by scoreLocked rather than held whole.
	chunked bool
}

// load reads every live account and customer and the signals of the year
// before asOf; the records of each chunk of accounts are read as it is
// scored.
func (e *Engine) load(asOf time.Time) (*world, error) {
	w := &world{accounts: map[string][]record.Account{}, customers: map[string]record.Customer{}, custConn: map[string]string{},
		byConnCus: map[string][]record.Customer{}, chunked: true}
	for _, c := range e.conns {
		name := c.Name()
		if c.IsCRM() {
			as, err := e.st.Accounts(name)
			if err != nil {
				return nil, fmt.Errorf("reading accounts of %s: %w", name, err)
			}
			live := as[:0]
			for _, a := range as {
				if !a.Deleted {
					live = append(live, a)
				}
			}
			w.accounts[name] = live
			continue
		}
		cs, err := e.st.Customers(name)
		if err != nil {
			return nil, fmt.Errorf("reading customers of %s: %w", name, err)
		}
		for _, cu := range cs {
			if cu.Deleted {
				continue
			}
			w.customers[cu.Key()] = cu
			w.custConn[cu.Key()] = name
			w.byConnCus[name] = append(w.byConnCus[name], cu)
		}
	}
	sig, err := e.st.AllSignals(asOf.AddDate(-1, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("reading signals: %w", err)
	}
	w.signals = sig
	return w, nil
}

func (e *Engine) matchRules(crm, billing string) []MatchRule {
	var out []MatchRule
	for _, r := range e.cfg.Matching.Rules {
		if r.Connector != "" && r.Connector != crm && r.Connector != billing {
			continue
		}
		mr := MatchRule{Kind: r.Kind, Key: r.Key, Field: r.Field}
		if r.Kind == RuleBillingMetadata {
			mr.System = metadataSystem(r.Key, e.conns)
		}
		out = append(out, mr)
	}
	return out
}

// reconcileFull takes the state lock for reconcileFullLocked, storing
// nothing (reports and backtests).
func (e *Engine) reconcileFull(ctx context.Context, asOf time.Time) (*Reconciled, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reconcileFullLocked(ctx, asOf, false)
}

// reconcileTargeted takes the state lock for reconcileTargetedLocked,
// storing nothing (Explain).
func (e *Engine) reconcileTargeted(ctx context.Context, asOf time.Time, only map[string]bool, explain bool) (*Reconciled, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reconcileTargetedLocked(ctx, asOf, only, false, explain)
}

// reconcileFullLocked matches billing customers to CRM accounts and scores
// every account as of asOf, with the portfolio figures (unmatched
// customers, match rate, the vendor MRR check). It rebuilds the record
// index. With recordState, the links and score snapshots are stored. The
// caller holds mu.
func (e *Engine) reconcileFullLocked(ctx context.Context, asOf time.Time, recordState bool) (*Reconciled, error) {
	rec := newReconciled(asOf)
	w, err := e.load(rec.AsOf)
	if err != nil {
		return nil, fmt.Errorf("reading the store: %w", err)
	}
	m := e.matchWorld(w, rec.AsOf)
	rec.Conflicts = m.conflicts
	if recordState {
		if err := e.st.SetLinks(m.links); err != nil {
			return nil, fmt.Errorf("storing identity links: %w", err)
		}
	}
	if err := e.indexLocked(m.links); err != nil {
		return nil, err
	}
	if err := e.scoreLocked(ctx, rec, w, m.linked, nil, false); err != nil {
		return nil, err
	}
	if err := e.portfolio(rec, w, m); err != nil {
		return nil, err
	}
	return rec, e.finish(rec, w, recordState, false)
}

// reconcileTargetedLocked re-scores only the accounts in only (the webhook
// path, Explain), reading only their records and the links the last sync
// stored; before the first sync it reads and matches everything, storing
// no links. It reports no portfolio figures. With
// recordState the accounts' score snapshots are stored; explain keeps the
// MRR ledger of every month. The caller holds mu.
func (e *Engine) reconcileTargetedLocked(ctx context.Context, asOf time.Time, only map[string]bool, recordState, explain bool) (*Reconciled, error) {
	rec := newReconciled(asOf)
	var w *world
	var linked map[string][]string
	// After a process start, the links the last sync stored.
	err := e.restoreIndexLocked()
	if err != nil {
		return nil, err
	}
	if e.index() != nil {
		if w, linked, err = e.loadTargeted(only, rec.AsOf); err != nil {
			return nil, fmt.Errorf("reading the store: %w", err)
		}
	} else {
		if w, err = e.load(rec.AsOf); err != nil {
			return nil, fmt.Errorf("reading the store: %w", err)
		}
		m := e.matchWorld(w, rec.AsOf)
		rec.Conflicts, linked = m.conflicts, m.linked
		if err := e.indexLocked(m.links); err != nil {
			return nil, err
		}
	}
	if err := e.scoreLocked(ctx, rec, w, linked, only, explain); err != nil {
		return nil, err
	}
	rec.MatchRate = 1 // a targeted re-score reports no portfolio figures
	return rec, e.finish(rec, w, recordState, true)
}

// reconcileSyncLocked is a sync's reconcile: it re-scores what rp says
// (everything, or the dirty accounts after matching again or not) and
// stores links and score snapshots. A targeted pass carries the portfolio
// figures over from the last full reconcile. The caller holds mu.
func (e *Engine) reconcileSyncLocked(ctx context.Context, asOf time.Time, rp rescorePlan) (*Reconciled, error) {
	if rp.full {
		rec, err := e.reconcileFullLocked(ctx, asOf, true)
		if err != nil {
			return nil, err
		}
		rec.Rescored, rec.RescoreReason = len(rec.Accounts), rp.reason
		return rec, nil
	}
	rec := newReconciled(asOf)
	rec.RescoreReason = rp.reason
	if rp.rematch {
		w, err := e.load(rec.AsOf)
		if err != nil {
			return nil, fmt.Errorf("reading the store: %w", err)
		}
		m := e.matchWorld(w, rec.AsOf)
		rec.Conflicts = m.conflicts
		if err := e.st.SetLinks(m.links); err != nil {
			return nil, fmt.Errorf("storing identity links: %w", err)
		}
		// The links before this match: the index's, or after a process
		// start the stored ones.
		before := e.index()
		if before == nil {
			links, err := e.st.Links()
			if err != nil {
				return nil, fmt.Errorf("reading identity links: %w", err)
			}
			before = &recordIndex{}
			before.setLinks(links)
		}
		only := linksChanged(before, m, w)
		if len(only) > 0 && rp.reason == rescoreChanged {
			rec.RescoreReason = rescoreRematch
		}
		for k := range rp.only {
			only[k] = true
		}
		if err := e.indexLocked(m.links); err != nil {
			return nil, err
		}
		// Changed customers' accounts, as linked before and now.
		resolveCustomers(only, before)
		resolveCustomers(only, e.index())
		if err := e.scoreLocked(ctx, rec, w, m.linked, only, false); err != nil {
			return nil, err
		}
		if err := e.portfolio(rec, w, m); err != nil {
			return nil, err
		}
		rec.Rescored = len(rec.Accounts)
		return rec, e.finish(rec, w, true, true)
	}
	rec.MatchRate = rp.matchRate
	w := &world{custConn: map[string]string{}}
	if len(rp.only) > 0 {
		var linked map[string][]string
		var err error
		if w, linked, err = e.loadTargeted(rp.only, rec.AsOf); err != nil {
			return nil, fmt.Errorf("reading the store: %w", err)
		}
		if err := e.scoreLocked(ctx, rec, w, linked, rp.only, false); err != nil {
			return nil, err
		}
	}
	rec.Rescored = len(rec.Accounts)
	return rec, e.finish(rec, w, true, true)
}

func newReconciled(asOf time.Time) *Reconciled {
	return &Reconciled{AsOf: asOf.UTC(), byKey: map[string]*Scored{}, Gates: map[string]string{}, AccountGates: map[string]string{}}
}

// matching is the outcome of identity matching over the whole store.
type matching struct {
	links      []store.Link
	linked     map[string][]string // account key -> customer keys
	custLinked map[string]bool     // customer key -> linked anywhere
	conflicts  []Conflict
	// unmatched counts, per customer key, the CRM connectors it matched
	// no account of; crmCount is the number of CRM connectors.
	unmatched map[string]int
	crmCount  int
}

// matchWorld matches every billing connector's customers to every CRM
// connector's accounts.
func (e *Engine) matchWorld(w *world, asOf time.Time) matching {
	m := matching{linked: map[string][]string{}, custLinked: map[string]bool{}, unmatched: map[string]int{}}
	for _, c := range e.conns {
		if !c.IsCRM() {
			continue
		}
		m.crmCount++
		for bill, custs := range w.byConnCus {
			res := Match(c.Config.Kind, w.accounts[c.Name()], custs, e.matchRules(c.Name(), bill), e.cfg.Matching.IgnoreDomains)
			for _, l := range res.Links {
				m.linked[l.Account] = append(m.linked[l.Account], l.Customer)
				m.custLinked[l.Customer] = true
				m.links = append(m.links, store.Link{AccountKey: l.Account, CustomerKey: l.Customer, Rule: l.Rule, Created: asOf})
			}
			m.conflicts = append(m.conflicts, res.Conflicts...)
			for _, u := range res.Unmatched {
				m.unmatched[u]++
			}
		}
	}
	return m
}

// indexLocked replaces the record index with one of the links, the open
// tasks' times and the open CRM tasks. The caller holds mu.
func (e *Engine) indexLocked(links []store.Link) error {
	ix := &recordIndex{}
	ix.setLinks(links)
	tt, err := e.lastTaskTimes()
	if err != nil {
		return err
	}
	ix.setTaskTimes(tt)
	for _, c := range e.conns {
		if !c.IsCRM() {
			continue
		}
		tasks, err := e.st.Tasks(c.Name())
		if err != nil {
			return fmt.Errorf("reading CRM tasks: %w", err)
		}
		ix.setCRMTasks(tasks, nil)
	}
	e.idxp.Store(ix)
	return nil
}

// scoreLocked is the scoring step both modes share: it scores the accounts
// of w (only those in only, when non-nil) from their records, linked
// customers, previous snapshot and score history, and adds them to rec,
// one chunk of accounts at a time: a chunked world's records are read per
// chunk and dropped after it, so memory follows the chunk size, not the
// portfolio. The caller holds mu (the index's task times).
func (e *Engine) scoreLocked(ctx context.Context, rec *Reconciled, w *world, linked map[string][]string, only map[string]bool, explain bool) error {
	var jobs []*Scored
	for _, c := range e.conns {
		if !c.IsCRM() {
			continue
		}
		for _, a := range w.accounts[c.Name()] {
			if only != nil && !only[a.Key()] {
				continue
			}
			jobs = append(jobs, &Scored{Connector: c.Name(), Kind: c.Config.Kind, Account: a, Customers: linked[a.Key()]})
		}
	}
	for lo := 0; lo < len(jobs); lo += e.chunkSize() {
		chunk := jobs[lo:min(lo+e.chunkSize(), len(jobs))]
		if w.chunked {
			if err := e.readRecords(w, chunk); err != nil {
				return err
			}
		}
		if err := e.scoreChunk(ctx, rec, w, chunk, explain); err != nil {
			return err
		}
	}
	if w.chunked {
		w.deals, w.subs, w.invoices = nil, nil, nil
	}
	return nil
}

// scoreChunk scores jobs from the records w holds for them and adds them
// to rec.
func (e *Engine) scoreChunk(ctx context.Context, rec *Reconciled, w *world, jobs []*Scored, explain bool) error {
	keys := make([]string, len(jobs))
	only := make(map[string]bool, len(jobs))
	for i, s := range jobs {
		keys[i] = s.Account.Key()
		only[keys[i]] = true
	}
	prevScores, err := e.previousScores(only)
	if err != nil {
		return err
	}
	// The score history of the chunk's accounts in one read.
	hists, err := e.st.ScoreHistories(keys, rec.AsOf.AddDate(0, 0, -e.score.Health.TrendDays-7))
	if err != nil {
		return fmt.Errorf("reading score history: %w", err)
	}
	inputs := make([]scoring.AccountInput, len(jobs))
	for i, s := range jobs {
		if inputs[i], err = e.scoringInput(s, w, prevScores, hists[keys[i]], rec.AsOf, explain); err != nil {
			return err
		}
	}
	if err := e.scoreAll(ctx, jobs, inputs, rec.AsOf); err != nil {
		return fmt.Errorf("scoring: %w", err)
	}
	for _, s := range jobs {
		rec.Accounts = append(rec.Accounts, s)
		rec.byKey[s.Account.Key()] = s
		for _, p := range s.Result.Problems {
			if len(rec.Problems) < 20 {
				rec.Problems = append(rec.Problems, s.Account.Name+": "+p)
			}
		}
	}
	return nil
}

// previousScores returns the latest score snapshot of each account in only
// (of every account when only is nil), by account key.
func (e *Engine) previousScores(only map[string]bool) (map[string]store.ScoreSnapshot, error) {
	prev := map[string]store.ScoreSnapshot{}
	if only == nil {
		snaps, err := e.st.Scores()
		if err != nil {
			return nil, fmt.Errorf("reading scores: %w", err)
		}
		for _, sn := range snaps {
			prev[sn.AccountKey] = sn
		}
		return prev, nil
	}
	for key := range only {
		sn, ok, err := e.st.Score(key)
		if err != nil {
			return nil, fmt.Errorf("reading the score of %s: %w", key, err)
		}
		if ok {
			prev[key] = sn
		}
	}
	return prev, nil
}

// scoringInput gathers one account's scoring input (hist is its score
// history in the trend window) and sets s.Previous.
func (e *Engine) scoringInput(s *Scored, w *world, prevScores map[string]store.ScoreSnapshot, hist []store.ScoreSnapshot, asOf time.Time, explain bool) (scoring.AccountInput, error) {
	key := s.Account.Key()
	in := scoring.AccountInput{Account: s.Account, Deals: w.deals[key], Currency: e.cfg.Reporting.Currency,
		FX: e.cfg.Reporting.FX, LastTasks: e.index().lastTasks(key), Signals: w.signals[key], Explain: explain}
	for _, ck := range s.Customers {
		in.Subscriptions = append(in.Subscriptions, w.subs[ck]...)
		in.Invoices = append(in.Invoices, w.invoices[ck]...)
		in.Signals = append(in.Signals, w.signals[ck]...)
	}
	if p, ok := prevScores[key]; ok {
		s.Previous = &p
		d, err := decodeDetail(p.Detail)
		if err != nil {
			return in, fmt.Errorf("reading the score snapshot of %s: %w", key, err)
		}
		in.LastHealth = &scoring.LastHealth{Score: p.Score, Band: p.Band, Reasons: p.Reasons}
		in.PreviousTouch = d.TouchBase
		in.OnboardedAt = d.OnboardedAt
		in.Recorded = recordedMonths(d.Months, scoring.MonthIn(asOf, e.score.Location))
	}
	for _, h := range hist {
		if h.At.Before(asOf) {
			in.ScoreHistory = append(in.ScoreHistory, scoring.ScorePoint{Time: h.At, Score: h.Score})
		}
	}
	return in, nil
}

// decodeDetail reads a snapshot's detail; an empty one is the zero detail.
func decodeDetail(b []byte) (snapshotDetail, error) {
	var d snapshotDetail
	if len(b) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decoding snapshot detail: %w", err)
	}
	return d, nil
}

// portfolio adds the figures of a full reconcile: the customers unmatched
// in every CRM with their MRR, the match rate over customers with revenue,
// and the vendor MRR check. It reads the customers' subscriptions one
// chunk at a time.
func (e *Engine) portfolio(rec *Reconciled, w *world, m matching) error {
	conflicted := map[string]bool{}
	for _, c := range rec.Conflicts {
		conflicted[c.Customer] = true
	}
	withRevenue, matched := 0, 0
	var vc vendorCheck
	for _, c := range e.conns {
		custs := w.byConnCus[c.Name()]
		if c.IsCRM() || len(custs) == 0 {
			continue
		}
		for lo := 0; lo < len(custs); lo += e.chunkSize() {
			chunk := custs[lo:min(lo+e.chunkSize(), len(custs))]
			subs, err := e.subscriptionsOf(c.Name(), chunk)
			if err != nil {
				return err
			}
			for _, cu := range chunk {
				key := cu.Key()
				mrr := e.customerMRR(subs[key], rec.AsOf)
				if mrr > 0 {
					withRevenue++
					if m.custLinked[key] {
						matched++
					}
				}
				if !m.custLinked[key] && !conflicted[key] && m.unmatched[key] >= m.crmCount && m.crmCount > 0 {
					rec.Unmatched = append(rec.Unmatched, Unmatched{Connector: c.Name(), Customer: cu, MRR: mrr})
				}
				vc.add(e, key, subs[key], mrr)
			}
		}
	}
	sort.Slice(rec.Unmatched, func(i, j int) bool {
		if rec.Unmatched[i].MRR != rec.Unmatched[j].MRR {
			return rec.Unmatched[i].MRR > rec.Unmatched[j].MRR
		}
		return rec.Unmatched[i].Customer.Key() < rec.Unmatched[j].Customer.Key()
	})
	if line := vc.line(e.cfg.Reporting.Currency); line != "" {
		rec.DataQuality = append(rec.DataQuality, line)
	}
	rec.MatchRate = 1
	if withRevenue > 0 {
		rec.MatchRate = float64(matched) / float64(withRevenue)
	}
	return nil
}

// finish applies the write-back gates and, with recordState, stores the
// score snapshots (partial: of the re-scored accounts only).
func (e *Engine) finish(rec *Reconciled, w *world, recordState, partial bool) error {
	e.applyGates(rec, w)
	if !recordState {
		return nil
	}
	if err := e.storeSnapshots(rec, partial); err != nil {
		return fmt.Errorf("storing scores: %w", err)
	}
	return nil
}

// customerMRR scores a lone customer's subscriptions (for the unmatched
// report and the vendor MRR check).
func (e *Engine) customerMRR(subs []record.Subscription, asOf time.Time) int64 {
	if len(subs) == 0 {
		return 0
	}
	s := e.score
	s.Metrics.HistoryMonths = 1
	r := scoring.ScoreAccount(scoring.AccountInput{Account: record.Account{Ref: record.Ref{System: "billing", ID: "customer"}},
		Subscriptions: subs, Currency: e.cfg.Reporting.Currency, FX: e.cfg.Reporting.FX}, asOf, s, nil)
	return r.MRR
}

func (e *Engine) scoreAll(ctx context.Context, jobs []*Scored, inputs []scoring.AccountInput, asOf time.Time) error {
	n := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				jobs[i].Result = scoring.ScoreAccount(inputs[i], asOf, e.score, e.rules)
			}
		}()
	}
	var err error
	for i := range jobs {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return err
}

// applyGates blocks write-back where the data cannot be trusted.
func (e *Engine) applyGates(rec *Reconciled, w *world) {
	for _, c := range e.conns {
		st := e.sourceState(c.Name())
		if st.Gate == "" && st.LastComplete.IsZero() {
			st.Gate = "no complete pull yet"
		}
		if st.Gate == "" {
			continue
		}
		if c.IsCRM() {
			rec.Gates[c.Name()] = c.Name() + ": " + st.Gate
			continue
		}
		for _, s := range rec.Accounts {
			for _, ck := range s.Customers {
				if w.custConn[ck] == c.Name() {
					rec.AccountGates[s.Account.Key()] = c.Name() + ": " + st.Gate
				}
			}
		}
	}
	if min := e.cfg.Matching.MinMatchRate; min > 0 && rec.MatchRate < min {
		rec.Gates["*"] = fmt.Sprintf("match rate %.0f%% is below %.0f%%", rec.MatchRate*100, min*100)
	}
}

// snapshotDetail is what a score snapshot keeps beyond the store's fields.
type snapshotDetail struct {
	// Months is the account's MRR as healthsync saw it at the end of each
	// month since its first sync (YYYY-MM -> reporting minor units): the
	// last value of a month is its month-end value. It replaces the history
	// rebuilt from invoices for those months.
	Months      map[string]int64 `json:"months,omitempty"`
	TouchBase   string           `json:"touch_base"`
	Touch       string           `json:"touch"`
	Trend       float64          `json:"trend"`
	OnboardedAt time.Time        `json:"onboarded_at,omitzero"`
	ARR         int64            `json:"arr"`
	Override    bool             `json:"override,omitempty"`
}

func (e *Engine) storeSnapshots(rec *Reconciled, partial bool) error {
	snaps := make([]store.ScoreSnapshot, 0, len(rec.Accounts))
	for _, s := range rec.Accounts {
		r := &s.Result
		d, _ := json.Marshal(snapshotDetail{TouchBase: r.TouchBase, Touch: r.Touch, Trend: r.Health.Trend,
			OnboardedAt: r.OnboardedAt, ARR: r.ARR, Override: r.Health.Override,
			Months: e.monthsWith(s.Previous, rec.AsOf, r.MRR)})
		comps := map[string]float64{}
		for _, m := range r.Health.Measures {
			comps[m.Name] = m.Points
		}
		if p := s.Previous; p != nil && rec.AsOf.Sub(p.At) < 24*time.Hour && p.Score == r.Health.Score &&
			p.Band == r.Health.Band && p.Lifecycle == r.Phase && p.MRR == r.MRR && string(p.Detail) == string(d) {
			continue // unchanged: history keeps one point a day, or a point per change
		}
		snaps = append(snaps, store.ScoreSnapshot{AccountKey: s.Account.Key(), At: rec.AsOf, Score: r.Health.Score,
			Band: r.Health.Band, Lifecycle: r.Phase, MRR: r.MRR, Components: comps, Reasons: r.Health.Reasons, Detail: d})
	}
	if len(snaps) == 0 {
		return nil
	}
	return e.st.PutScores(snaps)
}

func (e *Engine) lastTaskTimes() (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	tasks, err := e.st.OpenTasks()
	if err != nil {
		return nil, fmt.Errorf("reading open tasks: %w", err)
	}
	for _, t := range tasks {
		if out[t.AccountKey] == nil {
			out[t.AccountKey] = map[string]time.Time{}
		}
		if t.Created.After(out[t.AccountKey][t.Rule]) {
			out[t.AccountKey][t.Rule] = t.Created
		}
	}
	return out, nil
}

// monthsWith returns the previous snapshot's month-end MRR values with the
// current month set to mrr, trimmed to the configured history.
func (e *Engine) monthsWith(prev *store.ScoreSnapshot, asOf time.Time, mrr int64) map[string]int64 {
	months := map[string]int64{}
	if prev != nil {
		var d snapshotDetail
		if json.Unmarshal(prev.Detail, &d) == nil {
			for k, v := range d.Months {
				months[k] = v
			}
		}
	}
	cur := scoring.MonthIn(asOf, e.score.Location)
	months[cur.String()] = mrr
	oldest := cur - scoring.Month(e.score.Metrics.HistoryMonths)
	for k := range months {
		if m, err := time.Parse("2006-01", k); err != nil || scoring.MonthOf(m) <= oldest {
			delete(months, k)
		}
	}
	return months
}

// recordedMonths turns stored month-end values into scoring's Recorded
// months, the current month cur excluded (it is computed live).
func recordedMonths(months map[string]int64, cur scoring.Month) []scoring.RecordedMonth {
	var out []scoring.RecordedMonth
	for k, v := range months {
		t, err := time.Parse("2006-01", k)
		if err != nil {
			continue
		}
		if m := scoring.MonthOf(t); m < cur {
			out = append(out, scoring.RecordedMonth{Month: m, MRR: v})
		}
	}
	return out
}

// vendorCheck compares, per billing customer, the vendor's own MRR
// (Chargebee's subscription.mrr) with healthsync's, both converted to the
// reporting currency, one customer at a time. Differences are expected
// where the rules differ (discount or trial handling); the line says how
// many and by how much.
type vendorCheck struct {
	compared, differ       int
	vendorTotal, oursTotal float64
	worst                  string
	worstDiff              float64
}

// add compares one customer's subscriptions; ours is healthsync's MRR of
// them (reporting minor units).
func (vc *vendorCheck) add(e *Engine, key string, subs []record.Subscription, ours int64) {
	var vendor float64
	seen := false
	for _, s := range subs {
		if s.VendorMRR == nil {
			continue
		}
		seen = true
		rate := 1.0
		if cur := strings.ToUpper(s.Currency); cur != strings.ToUpper(e.cfg.Reporting.Currency) {
			if rate = e.cfg.Reporting.FX[cur]; rate == 0 {
				continue
			}
		}
		vendor += float64(*s.VendorMRR) / math.Pow10(scoring.MinorUnitExponent(s.Currency)) * rate
	}
	if !seen {
		return
	}
	o := float64(ours) / math.Pow10(scoring.MinorUnitExponent(e.cfg.Reporting.Currency))
	vc.compared++
	vc.vendorTotal += vendor
	vc.oursTotal += o
	// The largest difference wins; a tie goes to the smaller key, so the
	// line does not depend on the order customers are read in.
	if d := math.Abs(vendor - o); d > 0.01*math.Max(vendor, o) && d >= 1 {
		vc.differ++
		w := fmt.Sprintf("%s (vendor %.0f, healthsync %.0f)", key, vendor, o)
		if d > vc.worstDiff || (d == vc.worstDiff && w < vc.worst) {
			vc.worstDiff, vc.worst = d, w
		}
	}
}

// line is the run report's line; empty when no customer carried a vendor
// MRR.
func (vc *vendorCheck) line(currency string) string {
	if vc.compared == 0 {
		return ""
	}
	line := fmt.Sprintf("vendor MRR check: %d billing customers compared, %d differ by more than 1%%; vendor total %.0f, healthsync %.0f %s",
		vc.compared, vc.differ, vc.vendorTotal, vc.oursTotal, currency)
	if vc.worst != "" {
		line += "; largest difference " + vc.worst
	}
	return line
}
