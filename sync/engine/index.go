package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// recordIndex holds the identity links both ways and the open tasks, so the
// webhook path and a targeted sync re-score one account by reading only its
// records (the store reads an account's deals and a customer's
// subscriptions and invoices by owner). It is rebuilt by every full
// reconcile or re-match, or from the stored links (restoreIndexLocked). Its
// maps are guarded by Engine.mu, its task times by tasksMu (see the
// Engine's concurrency contract).
type recordIndex struct {
	// The links of the last full reconcile, both ways.
	accountsOf  map[string][]string // customer key -> account keys
	customersOf map[string][]string // account key -> customer keys
	// taskTimes: account key -> rule -> when its last open task was
	// created (cooldowns). Guarded by tasksMu, not Engine.mu, because task
	// creation runs under the write lock; inner maps are copy-on-write.
	tasksMu   sync.Mutex
	taskTimes map[string]map[string]time.Time
	// crmTasks are the open CRM tasks carrying healthsync's marker, by
	// dedupe key, and crmTaskKey their keys by task ID: a targeted plan
	// looks its intents up here instead of reading every task. Guarded
	// by tasksMu (pulls update them without Engine.mu).
	crmTasks   map[string]record.Task
	crmTaskKey map[string]string
}

// setCRMTasks records pulled or fetched CRM tasks: an open one with a
// marker is indexed, a completed or deleted one removed.
func (ix *recordIndex) setCRMTasks(tasks []record.Task, deleted []record.Ref) {
	if ix == nil || (len(tasks) == 0 && len(deleted) == 0) {
		return
	}
	ix.tasksMu.Lock()
	defer ix.tasksMu.Unlock()
	if ix.crmTasks == nil {
		ix.crmTasks, ix.crmTaskKey = map[string]record.Task{}, map[string]string{}
	}
	for _, t := range tasks {
		if old, ok := ix.crmTaskKey[t.ID]; ok {
			delete(ix.crmTasks, old)
			delete(ix.crmTaskKey, t.ID)
		}
		if t.DedupeKey != "" && t.Status != record.TaskCompleted {
			ix.crmTasks[t.DedupeKey] = t
			ix.crmTaskKey[t.ID] = t.DedupeKey
		}
	}
	for _, r := range deleted {
		if old, ok := ix.crmTaskKey[r.ID]; ok {
			delete(ix.crmTasks, old)
			delete(ix.crmTaskKey, r.ID)
		}
	}
}

// crmTask returns the open CRM task with dedupe key key.
func (ix *recordIndex) crmTask(key string) (record.Task, bool) {
	ix.tasksMu.Lock()
	defer ix.tasksMu.Unlock()
	t, ok := ix.crmTasks[key]
	return t, ok
}

// lastTasks returns an account's rule -> last task time (do not modify).
func (ix *recordIndex) lastTasks(account string) map[string]time.Time {
	if ix == nil {
		return nil
	}
	ix.tasksMu.Lock()
	defer ix.tasksMu.Unlock()
	return ix.taskTimes[account]
}

func (ix *recordIndex) setTaskTimes(t map[string]map[string]time.Time) {
	ix.tasksMu.Lock()
	defer ix.tasksMu.Unlock()
	ix.taskTimes = t
}

// setLinks indexes the links of a full reconcile.
func (ix *recordIndex) setLinks(links []store.Link) {
	ix.accountsOf, ix.customersOf = map[string][]string{}, map[string][]string{}
	for _, l := range links {
		ix.accountsOf[l.CustomerKey] = append(ix.accountsOf[l.CustomerKey], l.AccountKey)
		ix.customersOf[l.AccountKey] = append(ix.customersOf[l.AccountKey], l.CustomerKey)
	}
}

// taskCreated records a new task for cooldowns.
func (ix *recordIndex) taskCreated(account, rule string, at time.Time) {
	if ix == nil {
		return
	}
	ix.tasksMu.Lock()
	defer ix.tasksMu.Unlock()
	if ix.taskTimes == nil {
		ix.taskTimes = map[string]map[string]time.Time{}
	}
	m := make(map[string]time.Time, len(ix.taskTimes[account])+1)
	for k, v := range ix.taskTimes[account] {
		m[k] = v
	}
	m[rule] = at
	ix.taskTimes[account] = m
}

// add records a fetched batch's CRM tasks.
func (ix *recordIndex) add(b *record.Batch) {
	if ix == nil || b == nil {
		return
	}
	ix.setCRMTasks(b.Tasks, nil)
}

// connectorFor returns the first connector whose kind is the record system.
func (e *Engine) connectorFor(system string) string {
	for _, c := range e.conns {
		if c.Config.Kind == system {
			return c.Name()
		}
	}
	return ""
}

// loadTargeted reads only what re-scoring the given accounts needs: the
// accounts, their stored links, the linked customers and their signals;
// scoreLocked reads the records they own one chunk at a time.
func (e *Engine) loadTargeted(only map[string]bool, asOf time.Time) (*world, map[string][]string, error) {
	w := &world{accounts: map[string][]record.Account{}, customers: map[string]record.Customer{}, custConn: map[string]string{},
		byConnCus: map[string][]record.Customer{}, signals: map[string][]record.Signal{}, chunked: true}
	since := asOf.AddDate(-1, 0, 0)
	linked := map[string][]string{}
	for key := range only {
		if cs := e.index().customersOf[key]; len(cs) > 0 {
			linked[key] = cs
		}
	}
	signals := func(key string) error {
		sg, err := e.st.Signals(key, since)
		if err != nil {
			return fmt.Errorf("reading signals of %s: %w", key, err)
		}
		if len(sg) > 0 {
			w.signals[key] = sg
		}
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(only)) {
		sys, id, _ := strings.Cut(key, "/")
		conn := e.connectorFor(sys)
		if conn == "" {
			continue
		}
		a, ok, err := e.st.Account(conn, id)
		if err != nil {
			return nil, nil, fmt.Errorf("reading account %s: %w", key, err)
		}
		if !ok || a.Deleted {
			continue
		}
		w.accounts[conn] = append(w.accounts[conn], a)
		if err := signals(key); err != nil {
			return nil, nil, err
		}
		for _, ck := range linked[key] {
			if _, seen := w.custConn[ck]; seen {
				continue
			}
			csys, cid, _ := strings.Cut(ck, "/")
			bconn := e.connectorFor(csys)
			if bconn == "" {
				continue
			}
			cu, ok, err := e.st.Customer(bconn, cid)
			if err != nil {
				return nil, nil, fmt.Errorf("reading customer %s: %w", ck, err)
			}
			if !ok || cu.Deleted {
				continue
			}
			w.customers[ck], w.custConn[ck] = cu, bconn
			if err := signals(ck); err != nil {
				return nil, nil, err
			}
		}
	}
	return w, linked, nil
}

// restoreIndexLocked builds the record index of a new process from the
// links the last sync stored, when a sync has completed (the dirty state
// has its environment): the dirty marks say what changed since, so an
// idle sync needs neither to load every record nor to match again. Before
// the first sync it does nothing. The caller holds mu; it takes dmu.
func (e *Engine) restoreIndexLocked() error {
	if e.index() != nil {
		return nil
	}
	e.dmu.Lock()
	d, err := e.dirtyLocked()
	synced := err == nil && d.Env != ""
	e.dmu.Unlock()
	if err != nil || !synced {
		return err
	}
	links, err := e.st.Links()
	if err != nil {
		return fmt.Errorf("reading identity links: %w", err)
	}
	return e.indexLocked(links)
}
