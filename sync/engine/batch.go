package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// eventResult is the outcome of one event of a batch: Err nil means the
// event may be acknowledged (its writes are done or pending durably); Wrote
// reports a CRM write for one of its accounts (the latency histogram).
type eventResult struct {
	Wrote bool
	Err   error
}

// fetchParallel bounds the vendor fetches one batch runs at once; the
// connector's rate limiter (httpclient) still paces them.
const fetchParallel = 16

// ProcessBatch handles a batch of queued webhook events (it implements the
// webhook package's BatchProcessor). wrote[i] and errs[i] are event i's
// outcome: errs[i] nil means the event may be acknowledged, its writes done
// or pending durably; wrote[i] reports a CRM write for one of its accounts.
func (e *Engine) ProcessBatch(ctx context.Context, evs []store.QueuedEvent) (wrote []bool, errs []error) {
	res := e.processBatch(ctx, evs)
	wrote, errs = make([]bool, len(res)), make([]error, len(res))
	for i, r := range res {
		wrote[i], errs[i] = r.Wrote, r.Err
	}
	return wrote, errs
}

// processBatch is ProcessBatch, one result per event in order:
//
//  0. CRM events that only echo healthsync's own writes (a property now
//     holding the value healthsync wrote) are done without a fetch, a
//     re-score or a write (ownEchoes);
//  1. the events' objects are fetched concurrently (one fetch per object,
//     at most fetchParallel at once) with no lock held, or, when a billing
//     connector with uncovered events in the batch has more events queued
//     than webhooks.pull_threshold (burst.go), that connector's
//     incremental pull runs once instead and its events read the pulled
//     objects from the store;
//  2. the fetched objects are committed, one transaction per connector;
//  3. under the state lock, the union of the affected accounts is
//     re-scored once, planned, and its writes made durable (stageBatch);
//  4. the writes go out through the normal batch writer (200 records per
//     Salesforce composite call, 100 per HubSpot batch).
//
// A failed fetch fails only its event. An event whose accounts' writes all
// failed reports an error (it is retried; the writes stay pending too); the
// batch's other events succeed.
func (e *Engine) processBatch(ctx context.Context, evs []store.QueuedEvent) []eventResult {
	// Events that only echo healthsync's own CRM writes are done as they
	// are (ownwrites.go); the others are processed.
	echo, err := e.ownEchoes(evs)
	if err != nil {
		return failAll(make([]eventResult, len(evs)), fmt.Errorf("comparing events with written values: %w", err))
	}
	var live []int
	for i := range evs {
		if !echo[i] {
			live = append(live, i)
		}
	}
	if len(live) == len(evs) {
		return e.processLive(ctx, evs)
	}
	e.log.Debug().Int("events", len(evs)-len(live)).Msg("events echoing healthsync's writes skipped")
	res := make([]eventResult, len(evs))
	if len(live) == 0 {
		return res
	}
	sub := make([]store.QueuedEvent, len(live))
	for j, i := range live {
		sub[j] = evs[i]
	}
	for j, r := range e.processLive(ctx, sub) {
		res[live[j]] = r
	}
	return res
}

// processLive is processBatch of the events that are not echoes.
func (e *Engine) processLive(ctx context.Context, evs []store.QueuedEvent) []eventResult {
	res := make([]eventResult, len(evs))
	fetched, payFailed := e.fetchBatch(ctx, evs, res)
	st, err := e.stageBatch(ctx, evs, fetched, payFailed, res)
	if err != nil {
		return failAll(res, err)
	}
	if st == nil {
		return res
	}
	if len(st.ids) == 0 && st.plan.Empty() {
		if e.pub != nil && len(st.plan.Notices) > 0 {
			if err := e.pub.Publish(st.plan.Notices); err != nil {
				return failAll(res, fmt.Errorf("queueing notifications: %w", err))
			}
		}
		return res
	}
	wr, err := e.execute(ctx, st.plan, st.ids)
	if err != nil {
		return failAll(res, err)
	}
	failed := map[string]bool{}
	for _, id := range wr.FailedIDs {
		failed[id] = true
	}
	written := map[string]bool{}
	for _, id := range wr.WrittenIDs {
		written[id] = true
	}
	for i := range evs {
		if res[i].Err != nil {
			continue
		}
		ids := st.byEvent[i]
		nFailed := 0
		for id := range ids {
			if failed[id] {
				nFailed++
			}
			if written[id] {
				res[i].Wrote = true
			}
		}
		if nFailed > 0 && nFailed == len(ids) {
			res[i].Err = fmt.Errorf("write-back failed for %d records (kept pending): %s", nFailed, strings.Join(wr.Errors, "; "))
		}
		if st.tasks[i] && wr.TasksCreated > 0 {
			res[i].Wrote = true
		}
	}
	return res
}

func failAll(res []eventResult, err error) []eventResult {
	for i := range res {
		if res[i].Err == nil {
			res[i].Err = err
		}
	}
	return res
}

// fetchBatch fetches (or, after a burst pull, reads from the store) each
// event's object and commits what it fetched. fetched[i] is event i's
// object (nil for signals and objects without a Fetcher); a failure is set
// in res[i].
func (e *Engine) fetchBatch(ctx context.Context, evs []store.QueuedEvent, res []eventResult) (fetched []*record.Batch, payFailed []bool) {
	fetched = make([]*record.Batch, len(evs))
	payFailed = make([]bool, len(evs))
	covered := e.pullBursts(ctx, evs)
	// One fetch per object: events of one object share its result.
	type job struct {
		idx []int
		b   *record.Batch
		err error
	}
	jobs := map[string]*job{}
	var order []*job
	for i, ev := range evs {
		if ev.Connector == record.Signals {
			continue
		}
		if _, ok := e.byName[ev.Connector]; !ok {
			res[i].Err = fmt.Errorf("event for unknown connector %q", ev.Connector)
			continue
		}
		k := ev.Connector + "/" + ev.Event.ObjectType + "/" + ev.Event.ObjectID
		j := jobs[k]
		if j == nil {
			j = &job{}
			jobs[k] = j
			order = append(order, j)
		}
		j.idx = append(j.idx, i)
	}
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for _, j := range order {
		ev := evs[j.idx[0]]
		c := e.byName[ev.Connector]
		if covered[ev.Connector] {
			j.b, j.err = e.storedObject(c, ev.Event)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.b, j.err = e.fetch(ctx, c, ev.Event)
		}()
	}
	wg.Wait()
	// One commit per connector, in event order.
	merged := map[string]*record.Batch{}
	var conns []string
	for _, j := range order {
		for _, i := range j.idx {
			res[i].Err = j.err
		}
		if j.err != nil || j.b == nil {
			continue
		}
		name := evs[j.idx[0]].Connector
		m := merged[name]
		if m == nil {
			m = &record.Batch{}
			merged[name] = m
			conns = append(conns, name)
		}
		if !covered[name] {
			appendBatch(m, j.b)
		}
		pf := false
		for _, in := range j.b.Invoices {
			if in.PaymentFailed && !in.Paid {
				pf = true
			}
		}
		for _, i := range j.idx {
			fetched[i], payFailed[i] = j.b, pf
		}
	}
	for _, name := range conns {
		if _, err := e.st.CommitBatch(name, merged[name]); err != nil {
			err = fmt.Errorf("committing fetched objects: %w", err)
			for i, ev := range evs {
				if ev.Connector == name && res[i].Err == nil {
					res[i].Err = err
				}
			}
		}
	}
	return fetched, payFailed
}

// appendBatch adds b's records to m (stream, cursor and flags stay unset:
// a fetched object moves no cursor).
func appendBatch(m, b *record.Batch) {
	m.Accounts = append(m.Accounts, b.Accounts...)
	m.Deals = append(m.Deals, b.Deals...)
	m.Customers = append(m.Customers, b.Customers...)
	m.Subscriptions = append(m.Subscriptions, b.Subscriptions...)
	m.Invoices = append(m.Invoices, b.Invoices...)
	m.Tasks = append(m.Tasks, b.Tasks...)
	m.Signals = append(m.Signals, b.Signals...)
	m.Deleted = append(m.Deleted, b.Deleted...)
}

// pullBursts runs the incremental pull of each billing connector with
// events in evs that a completed pull does not already cover, when the
// connector's queue is a burst (pullBurst), and returns the connectors
// whose events in evs are all covered by a completed pull: their objects
// are read from the store. An event is covered when it was queued before a
// complete pull of its connector started, since that pull read every
// change up to its start (Stripe: the events list, 100 changes per call).
func (e *Engine) pullBursts(ctx context.Context, evs []store.QueuedEvent) map[string]bool {
	uncovered := map[string]int{}
	total := map[string]int{}
	for _, ev := range evs {
		c := e.byName[ev.Connector]
		if c == nil || c.Caps.Role != record.RoleBilling || c.Fetcher == nil {
			continue
		}
		total[ev.Connector]++
		if !ev.Enqueued.Before(e.pulledAt(ev.Connector)) {
			uncovered[ev.Connector]++
		}
	}
	for name, n := range uncovered {
		if n > 0 && e.pullBurst(ctx, name, evs) {
			uncovered[name] = 0
		}
	}
	out := map[string]bool{}
	for name, n := range total {
		if n > 0 && uncovered[name] == 0 {
			out[name] = true
		}
	}
	return out
}

// pulledAt is the start of the last complete burst pull of connector.
func (e *Engine) pulledAt(connector string) time.Time {
	e.pullsMu.Lock()
	defer e.pullsMu.Unlock()
	return e.burstPulled[connector]
}

func (e *Engine) setPulledAt(connector string, t time.Time) {
	e.pullsMu.Lock()
	defer e.pullsMu.Unlock()
	if e.burstPulled == nil {
		e.burstPulled = map[string]time.Time{}
	}
	if t.After(e.burstPulled[connector]) {
		e.burstPulled[connector] = t
	}
}

// storedObject reads the event's object from the store (after a burst
// pull committed it); an object the store does not hold yields nil, like
// a source without a Fetcher.
func (e *Engine) storedObject(c *Connector, ev record.Event) (*record.Batch, error) {
	b := &record.Batch{}
	var ok bool
	var err error
	switch ev.ObjectType {
	case "customer":
		var cu record.Customer
		cu, ok, err = e.st.Customer(c.Name(), ev.ObjectID)
		b.Customers = []record.Customer{cu}
	case "subscription":
		var s record.Subscription
		s, ok, err = e.st.Subscription(c.Name(), ev.ObjectID)
		b.Subscriptions = []record.Subscription{s}
	case "invoice":
		var in record.Invoice
		in, ok, err = e.st.Invoice(c.Name(), ev.ObjectID)
		b.Invoices = []record.Invoice{in}
	}
	if err != nil {
		return nil, fmt.Errorf("reading pulled %s %s: %w", ev.ObjectType, ev.ObjectID, err)
	}
	if !ok {
		return nil, nil
	}
	return b, nil
}

// batchStage is what stageBatch leaves for the write step.
type batchStage struct {
	plan *Plan
	ids  map[string]bool // the CRM record IDs whose writes the pass drains
	// byEvent holds, per event, the CRM record IDs of its accounts' writes.
	byEvent []map[string]bool
	// tasks marks the events whose accounts have task creations planned.
	tasks []bool
}

// stageBatch is ProcessBatch's step under the state lock: the union of the
// accounts the events affect (events already failed excluded) is
// re-scored once, planned with the payment-failure notices, and its writes
// made durable. It returns nil when no account is affected.
func (e *Engine) stageBatch(ctx context.Context, evs []store.QueuedEvent, fetched []*record.Batch, payFailed []bool, res []eventResult) (*batchStage, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	union := map[string]bool{}
	perEvent := make([]map[string]bool, len(evs))
	for i, ev := range evs {
		if res[i].Err != nil {
			continue
		}
		affected, err := e.affectedLocked(ev, fetched[i])
		if err != nil {
			res[i].Err = err
			continue
		}
		perEvent[i] = affected
		for k := range affected {
			union[k] = true
		}
		if fetched[i] != nil {
			e.index().add(fetched[i])
		}
	}
	if len(union) == 0 {
		return nil, nil
	}
	rec, err := e.reconcileTargetedLocked(ctx, e.now(), union, true, false)
	if err != nil {
		return nil, fmt.Errorf("re-scoring: %w", err)
	}
	plan, err := e.makePlanLocked(rec, planTargeted)
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	for i, ev := range evs {
		if perEvent[i] == nil || !(payFailed[i] || e.isPaymentFailure(ev)) {
			continue
		}
		for _, s := range rec.Accounts {
			if !perEvent[i][s.Account.Key()] {
				continue
			}
			plan.Notices = append(plan.Notices, Notice{Type: config.EventPaymentFailed, Account: s.Account.Key(),
				Name: s.Account.Name, Time: rec.AsOf, Data: map[string]any{"event": ev.Event.ID, "event_type": ev.Event.Type,
					"object": ev.Event.ObjectType + "/" + ev.Event.ObjectID}})
		}
	}
	st := &batchStage{plan: plan, ids: map[string]bool{}, byEvent: make([]map[string]bool, len(evs)), tasks: make([]bool, len(evs))}
	eventsOf := map[string][]int{} // account key -> events affecting it
	for i := range evs {
		st.byEvent[i] = map[string]bool{}
		for k := range perEvent[i] {
			eventsOf[k] = append(eventsOf[k], i)
		}
	}
	for _, w := range plan.Writes {
		st.ids[w.ID] = true
		for _, i := range eventsOf[w.Account] {
			st.byEvent[i][w.ID] = true
		}
	}
	for _, t := range plan.Creates {
		for _, i := range eventsOf[t.Account] {
			st.tasks[i] = true
		}
	}
	if len(st.ids) == 0 && plan.Empty() {
		return st, nil
	}
	if err := e.enqueueLocked(plan); err != nil {
		return nil, fmt.Errorf("queueing writes: %w", err)
	}
	return st, nil
}
