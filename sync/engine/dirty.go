package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Dirty tracking: a scheduled sync re-scores only the accounts whose
// inputs changed since the last sync that enqueued its plan.
//
// Pulls mark accounts dirty: every pulled record is fingerprinted (its JSON
// with Ref.Modified cleared; an account field by field, prints.go) and
// compared with the fingerprint kept from the last pull; a record whose
// fingerprint moved marks the accounts it feeds. An account's write-back
// fields count only where the CRM holds another value than healthsync last
// wrote (a person's edit): healthsync's own writes move SystemModstamp and
// those fields, and are not changes. The written values come from the
// engine's mirror of the write ledger (ownwrites.go), so pulling back a
// whole write-back reads no ledger entry again.
// A changed customer or account marks a re-match; a deletion, a new as-of
// day (date-driven measures: tenure, trend windows, renewals, cooldowns),
// a changed configuration, write-back gate or unusable field re-score
// everything.
//
// Signals reach the store from the webhook receiver as well as from pulls:
// each sync reads the signals in the scoring window in one pass and
// compares them, per account or customer, with the last sync's
// fingerprints.
//
// What the fingerprints leave out is settled by the daily full re-score:
// tasks closed in the CRM, and the portfolio figures (match rate,
// unmatched customers), which a targeted pass carries over from the last
// full reconcile.

const dirtyKey = "engine/dirty"

// Why an account or the whole portfolio is re-scored (run report).
const (
	rescoreFirst    = "first sync"
	rescoreConfig   = "configuration or write-back gates changed"
	rescoreDay      = "new day"
	rescoreDeleted  = "records deleted"
	rescoreRestart  = "process start (records matched again)"
	rescoreChanged  = "records changed"
	rescoreRematch  = "identity links changed"
	rescoreNoChange = "nothing changed"
	rescoreDryRun   = "dry run (full)"
)

// dirtyState is the persisted dirty set (meta dirtyKey). Guarded by
// Engine.dmu.
type dirtyState struct {
	// Env is the hash of the configuration, write-back gates and unusable
	// fields the last full re-score ran with; Day its as-of day
	// (reporting time zone, YYYY-MM-DD).
	Env string `json:"env"`
	Day string `json:"day"`
	// Seq numbers the marks, so a sync clears only the marks it consumed.
	Seq int64 `json:"seq"`
	// Accounts are the dirty account keys -> the mark's Seq.
	Accounts map[string]int64 `json:"accounts,omitempty"`
	// Rematch is the Seq of the last changed customer or account record
	// (identity matching must run again); Full the Seq of the last mark
	// that needs everything re-scored, with its reason.
	Rematch    int64  `json:"rematch,omitempty"`
	Full       int64  `json:"full,omitempty"`
	FullReason string `json:"full_reason,omitempty"`
	// prints fingerprints every pulled record by connector: printKey of
	// "type/id" -> FNV-1a 64 of its JSON without the modified time. Keyed
	// by a 64-bit hash, not the string, so 3.8 million records (100,000
	// accounts with 18 months of invoices) take about 100 MB, not 330 MB; a
	// collision (about 4e-7 at that size) could only hide one record's
	// change until the daily full re-score. Kept apart, one meta value per
	// connector (printsKey), written when a pull changed them;
	// printsChanged names those connectors.
	prints        map[string]map[uint64]uint64
	printsChanged map[string]bool
	// written mirrors, by connector, the write ledger entries this process
	// read or wrote ("object\x00id" -> field -> value; ownwrites.go);
	// writtenGen counts the writes noted. Not persisted.
	written    map[string]map[string]map[string]store.WrittenValue
	writtenGen int64
	// tasksRecorded are the dedupe keys of the tasks this process created
	// and recorded, until a pull reads them back (ownwrites.go).
	tasksRecorded map[string]bool
	// Signals fingerprints each account's or customer's signals in the
	// scoring window as the last sync read them: signals reach the store
	// from the webhook receiver too, not only from pulls.
	Signals map[string]uint64 `json:"signals,omitempty"`
	// Portfolio figures of the last full reconcile, carried over by a
	// targeted pass.
	MatchRate   float64  `json:"match_rate"`
	DataQuality []string `json:"data_quality,omitempty"`
	// BandBase counts the accounts with a band written (the last full
	// plan's count, plus the bands written for the first time since): a
	// targeted plan's band-change ceiling is a share of the portfolio,
	// not of the few accounts it re-scored.
	BandBase int `json:"band_base,omitempty"`
}

// dirtyLocked returns the dirty state, read from the store on first use.
// The caller holds dmu.
func (e *Engine) dirtyLocked() (*dirtyState, error) {
	if e.dirty != nil {
		return e.dirty, nil
	}
	d := &dirtyState{}
	b, err := e.st.Meta(dirtyKey)
	if err != nil {
		return nil, fmt.Errorf("reading the dirty set: %w", err)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, d); err != nil {
			// A dirty set that cannot be read costs a full re-score only.
			d = &dirtyState{}
		}
	}
	if d.Accounts == nil {
		d.Accounts = map[string]int64{}
	}
	d.prints, d.printsChanged = map[string]map[uint64]uint64{}, map[string]bool{}
	d.written = map[string]map[string]map[string]store.WrittenValue{}
	d.tasksRecorded = map[string]bool{}
	e.dirty = d
	return d, nil
}

func printsKey(connector string) string { return "engine/prints/" + connector }

// printsLocked returns connector's record fingerprints, read from the
// store on first use. The caller holds dmu.
func (e *Engine) printsLocked(connector string) (map[uint64]uint64, error) {
	d, err := e.dirtyLocked()
	if err != nil {
		return nil, err
	}
	if p, ok := d.prints[connector]; ok {
		return p, nil
	}
	b, err := e.st.Meta(printsKey(connector))
	if err != nil {
		return nil, fmt.Errorf("reading record fingerprints: %w", err)
	}
	p := decodePrints(b) // unreadable: re-marks what it held, no more
	d.prints[connector] = p
	return p, nil
}

// printKey is the FNV-1a 64 hash of kind + "/" + id, the key of a
// record's fingerprint.
func printKey(kind, id string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(kind); i++ {
		h = (h ^ uint64(kind[i])) * prime
	}
	h = (h ^ '/') * prime
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * prime
	}
	return h
}

// printsMagic starts the stored fingerprints since they are keyed by
// printKey: then 16-byte entries (8-byte big-endian key, 8-byte
// fingerprint). The earlier format, (uvarint key length, "type/id",
// 8-byte fingerprint) entries, is read and re-keyed.
const printsMagic = "hsprints2\x00"

// encodePrints writes fingerprints in the printsMagic format.
func encodePrints(p map[uint64]uint64) []byte {
	b := make([]byte, 0, len(printsMagic)+len(p)*16)
	b = append(b, printsMagic...)
	for k, v := range p {
		b = binary.BigEndian.AppendUint64(b, k)
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// decodePrints reads encodePrints' output, or the earlier string-keyed
// format; a damaged tail is dropped.
func decodePrints(b []byte) map[uint64]uint64 {
	if rest, ok := strings.CutPrefix(string(b), printsMagic); ok {
		b = []byte(rest)
		p := make(map[uint64]uint64, len(b)/16)
		for ; len(b) >= 16; b = b[16:] {
			p[binary.BigEndian.Uint64(b)] = binary.BigEndian.Uint64(b[8:])
		}
		return p
	}
	p := map[uint64]uint64{}
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n+8 {
			break
		}
		kind, id, _ := strings.Cut(string(b[w:w+int(n)]), "/")
		p[printKey(kind, id)] = binary.BigEndian.Uint64(b[w+int(n):])
		b = b[w+int(n)+8:]
	}
	return p
}

// saveDirtyLocked persists the dirty state and the changed connectors'
// fingerprints. The caller holds dmu.
func (e *Engine) saveDirtyLocked() error {
	for conn := range e.dirty.printsChanged {
		if err := e.st.SetMeta(printsKey(conn), encodePrints(e.dirty.prints[conn])); err != nil {
			return fmt.Errorf("saving record fingerprints: %w", err)
		}
		delete(e.dirty.printsChanged, conn)
	}
	b, err := json.Marshal(e.dirty)
	if err != nil {
		return fmt.Errorf("encoding the dirty set: %w", err)
	}
	if err := e.st.SetMeta(dirtyKey, b); err != nil {
		return fmt.Errorf("saving the dirty set: %w", err)
	}
	return nil
}

// fingerprint hashes v's JSON (FNV-1a 64).
func fingerprint(v any) uint64 {
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(v)
	return h.Sum64()
}

// markBatch compares a committed batch's records with their fingerprints
// and marks the accounts they feed dirty. It returns the batch's CRM tasks
// that are new or changed since the last pull (the only ones to consider
// for adoption). A batch of accounts reads their written values (one
// read). The caller holds c's pull lock; markBatch takes dmu.
func (e *Engine) markBatch(c *Connector, b *record.Batch) ([]record.Task, error) {
	type mark struct {
		key     uint64 // printKey
		print   uint64
		account []string // account keys it feeds
		rematch bool
	}
	var marks []mark
	// A billing record marks its customer's key; the reconcile resolves
	// it to the linked accounts (the links may change before it runs, or
	// the index may not be built yet).
	linkedTo := func(customerKey string) []string { return []string{customerKey} }
	if len(b.Accounts) > 0 {
		m := e.cfg.WriteBack.Mapping(c.Config.Kind)
		ids := make([]string, len(b.Accounts))
		for i, a := range b.Accounts {
			ids[i] = a.ID
		}
		wv, err := e.writtenOf(c.Name(), m.Object, ids)
		if err != nil {
			return nil, err
		}
		mapped := slices.Collect(maps.Values(m.Fields))
		for _, a := range b.Accounts {
			marks = append(marks, mark{printKey("account", a.ID), accountPrint(a, mapped, wv[a.ID]),
				[]string{a.Key()}, true})
		}
	}
	for _, d := range b.Deals {
		var acc []string
		if d.AccountID != "" {
			acc = []string{record.Ref{System: d.System, ID: d.AccountID}.Key()}
		}
		d.Modified = time.Time{}
		marks = append(marks, mark{printKey("deal", d.ID), fingerprint(d), acc, false})
	}
	for _, cu := range b.Customers {
		k := cu.Key()
		cu.Modified = time.Time{}
		marks = append(marks, mark{printKey("customer", cu.ID), fingerprint(cu), linkedTo(k), true})
	}
	for _, s := range b.Subscriptions {
		k := record.Ref{System: s.System, ID: s.CustomerID}.Key()
		s.Modified = time.Time{}
		marks = append(marks, mark{printKey("subscription", s.ID), fingerprint(s), linkedTo(k), false})
	}
	for _, in := range b.Invoices {
		k := record.Ref{System: in.System, ID: in.CustomerID}.Key()
		in.Modified = time.Time{}
		marks = append(marks, mark{printKey("invoice", in.ID), fingerprint(in), linkedTo(k), false})
	}
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d, err := e.dirtyLocked()
	if err != nil {
		return nil, err
	}
	prints, err := e.printsLocked(c.Name())
	if err != nil {
		return nil, err
	}
	changed, printed := false, false
	var tasks []record.Task
	for _, t := range b.Tasks {
		k := printKey("task", t.ID)
		tm := t
		tm.Modified = time.Time{}
		p := fingerprint(tm)
		if old, ok := prints[k]; ok && old == p {
			continue
		}
		prints[k] = p
		printed = true
		tasks = append(tasks, t)
	}
	for _, m := range marks {
		if old, ok := prints[m.key]; ok && old == m.print {
			continue
		}
		prints[m.key] = m.print
		changed, printed = true, true
		d.Seq++
		for _, a := range m.account {
			d.Accounts[a] = d.Seq
		}
		if m.rematch {
			d.Rematch = d.Seq
		}
	}
	for _, s := range b.Signals {
		d.Seq++
		d.Accounts[s.Account.Key()] = d.Seq
		changed = true
	}
	if len(b.Deleted) > 0 {
		d.Seq++
		d.Full, d.FullReason = d.Seq, rescoreDeleted
		changed = true
	}
	if printed {
		d.printsChanged[c.Name()] = true
	}
	if changed {
		e.dirtyChanged = true
	}
	return tasks, nil
}

// forgetTasks drops the fingerprints of c's tasks, so the next pull
// considers them again (their adoption did not run).
func (e *Engine) forgetTasks(c *Connector, tasks []record.Task) {
	if len(tasks) == 0 {
		return
	}
	e.dmu.Lock()
	defer e.dmu.Unlock()
	if e.dirty == nil || e.dirty.prints[c.Name()] == nil {
		return
	}
	for _, t := range tasks {
		delete(e.dirty.prints[c.Name()], printKey("task", t.ID))
	}
	e.dirty.printsChanged[c.Name()] = true
}

// markFullLocked asks for a full re-score (deletions applied after a full
// enumeration). The caller holds dmu.
func (e *Engine) markFullLocked(reason string) error {
	d, err := e.dirtyLocked()
	if err != nil {
		return err
	}
	d.Seq++
	d.Full, d.FullReason = d.Seq, reason
	e.dirtyChanged = true
	return nil
}

// flushDirty persists the dirty state when a pull changed it.
func (e *Engine) flushDirty() error {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	if e.dirty == nil || (!e.dirtyChanged && len(e.dirty.printsChanged) == 0) {
		return nil
	}
	if err := e.saveDirtyLocked(); err != nil {
		return err
	}
	e.dirtyChanged = false
	return nil
}

// envHash hashes what re-scores every account when it changes: the
// configuration (scoring, tasks, write-back, matching, reporting), the
// sources' write-back gates and the unusable CRM fields. The caller holds
// mu (unusable).
func (e *Engine) envHash() string {
	var gates []string
	for _, c := range e.conns {
		st := e.sourceState(c.Name())
		gates = append(gates, fmt.Sprintf("%s=%s/%v", c.Name(), st.Gate, st.LastComplete.IsZero()))
	}
	b, err := json.Marshal(struct {
		Scoring, Tasks, WriteBack, Matching, Reporting any
		Gates                                          []string
		Unusable                                       unusableFields
	}{e.cfg.Scoring, e.cfg.Tasks, e.cfg.WriteBack, e.cfg.Matching, e.cfg.Reporting, gates, e.unusable})
	if err != nil {
		b = fmt.Appendf(nil, "%#v %v %v", *e.cfg, gates, e.unusable)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// rescorePlan is what a sync's reconcile re-scores: everything (full, with
// its reason), or the accounts in only after a re-match or not.
type rescorePlan struct {
	full    bool
	reason  string
	rematch bool
	only    map[string]bool
	seq     int64 // the marks consumed
	signals map[string]uint64
	env     string
	day     string
	// Portfolio figures carried over by a targeted pass.
	matchRate   float64
	dataQuality []string
	bandBase    int
}

// planRescoreLocked decides what a sync as of asOf re-scores. The caller
// holds mu; it takes dmu.
func (e *Engine) planRescoreLocked(asOf time.Time) (rescorePlan, error) {
	rp := rescorePlan{env: e.envHash(), day: asOf.In(e.Location()).Format(time.DateOnly)}
	if err := e.restoreIndexLocked(); err != nil {
		return rp, err
	}
	sig, err := e.st.AllSignals(asOf.AddDate(-1, 0, 0))
	if err != nil {
		return rp, fmt.Errorf("reading signals: %w", err)
	}
	rp.signals = make(map[string]uint64, len(sig))
	for k, ss := range sig {
		rp.signals[k] = fingerprint(ss)
	}
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d, err := e.dirtyLocked()
	if err != nil {
		return rp, err
	}
	rp.seq, rp.matchRate, rp.dataQuality, rp.bandBase = d.Seq, d.MatchRate, d.DataQuality, d.BandBase
	switch {
	case d.Env == "" || d.Day == "":
		rp.full, rp.reason = true, rescoreFirst
	case d.Env != rp.env:
		rp.full, rp.reason = true, rescoreConfig
	case d.Day != rp.day:
		rp.full, rp.reason = true, rescoreDay+" ("+rp.day+")"
	case d.Full > 0:
		rp.full, rp.reason = true, d.FullReason
	}
	if rp.full {
		return rp, nil
	}
	rp.only = make(map[string]bool, len(d.Accounts))
	for k := range d.Accounts {
		rp.only[k] = true
	}
	signalled := func(k string) { rp.only[k] = true }
	for k, p := range rp.signals {
		if old, ok := d.Signals[k]; !ok || old != p {
			signalled(k)
		}
	}
	for k := range d.Signals {
		if _, ok := rp.signals[k]; !ok {
			signalled(k)
		}
	}
	// A write still pending (failed, in back-off) is planned again.
	for _, c := range e.conns {
		if !c.IsCRM() {
			continue
		}
		pend, err := e.st.Pending(c.Name())
		if err != nil {
			return rp, fmt.Errorf("reading pending writes: %w", err)
		}
		for _, w := range pend {
			rp.only[record.Ref{System: c.Config.Kind, ID: w.ID}.Key()] = true
		}
	}
	rp.rematch = d.Rematch > 0 || e.index() == nil
	if !rp.rematch {
		resolveCustomers(rp.only, e.index())
	}
	switch {
	case e.index() == nil:
		rp.reason = rescoreRestart
	case len(rp.only) == 0 && !rp.rematch:
		rp.reason = rescoreNoChange
	default:
		rp.reason = rescoreChanged
	}
	return rp, nil
}

// rescoreDone clears the marks rp consumed and records the environment,
// day, signal fingerprints and portfolio figures (matchRate, dataQuality,
// and from a full plan bandBase; newBands were written for the first time),
// once the sync's write pass ended; the accounts in again (tasks not
// created or closed) stay dirty. It takes dmu.
func (e *Engine) rescoreDone(rp rescorePlan, matchRate float64, dataQuality []string, bandBase, newBands int, again map[string]bool) error {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	d, err := e.dirtyLocked()
	if err != nil {
		return err
	}
	// Nothing consumed and nothing new (an idle sync): nothing to save.
	changed := e.dirtyChanged || len(again) > 0 || !maps.Equal(d.Signals, rp.signals)
	for k, seq := range d.Accounts {
		if seq <= rp.seq {
			delete(d.Accounts, k)
			changed = true
		}
	}
	if d.Rematch > 0 && d.Rematch <= rp.seq {
		d.Rematch, changed = 0, true
	}
	if d.Full > 0 && d.Full <= rp.seq {
		d.Full, d.FullReason, changed = 0, "", true
	}
	if rp.full {
		d.Env, d.Day, d.BandBase, changed = rp.env, rp.day, bandBase, true
	}
	if newBands > 0 {
		d.BandBase, changed = d.BandBase+newBands, true
	}
	d.Signals = rp.signals
	if rp.full || rp.rematch {
		d.MatchRate, d.DataQuality, changed = matchRate, dataQuality, true
	}
	for k := range again {
		d.Seq++
		d.Accounts[k] = d.Seq
	}
	if !changed {
		return nil
	}
	e.dirtyChanged = false
	return e.saveDirtyLocked()
}

// newBands counts p's writes that give an account its first band.
func newBands(p *Plan) int {
	n := 0
	for _, w := range p.Writes {
		for _, c := range w.Changes {
			if c.Key == config.FieldBand && c.Old == nil && c.New != nil {
				n++
			}
		}
	}
	return n
}

// unfinished returns the accounts of p whose task creations or closes the
// write pass wr did not complete: the next sync plans them again.
func unfinished(p *Plan, wr *WriteReport) map[string]bool {
	out := map[string]bool{}
	created := map[string]bool{}
	for _, t := range wr.Created {
		created[t.Intent.DedupeKey] = true
	}
	for _, t := range p.Creates {
		if !created[t.Intent.DedupeKey] {
			out[t.Account] = true
		}
	}
	if wr.TasksClosed < len(p.Closes) {
		for _, t := range p.Closes {
			out[t.Account] = true
		}
	}
	return out
}

// resolveCustomers adds to keys the accounts ix links to each customer
// key in keys.
func resolveCustomers(keys map[string]bool, ix *recordIndex) {
	if ix == nil {
		return
	}
	for k := range keys {
		for _, a := range ix.accountsOf[k] {
			keys[a] = true
		}
	}
}

// linksChanged returns the accounts whose linked customers differ between
// the index ix (nil: every account) and the matching m.
func linksChanged(ix *recordIndex, m matching, w *world) map[string]bool {
	out := map[string]bool{}
	for _, as := range w.accounts {
		for _, a := range as {
			k := a.Key()
			if ix == nil {
				out[k] = true
				continue
			}
			old, cur := slices.Clone(ix.customersOf[k]), slices.Clone(m.linked[k])
			slices.Sort(old)
			slices.Sort(cur)
			if !slices.Equal(old, cur) {
				out[k] = true
			}
		}
	}
	return out
}

// rescoreLine is the run report's line on re-scoring.
func rescoreLine(n int, reason string) string {
	return fmt.Sprintf("re-scored %d accounts: %s", n, strings.TrimSpace(reason))
}
