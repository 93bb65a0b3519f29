package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Process handles one queued webhook event (it implements the webhook
// package's Processor): it fetches the current object from the vendor
// instead of trusting the payload, commits it, re-scores only the affected
// accounts, writes back only what changed, and evaluates task rules. The
// vendor calls (fetch, write-back) run outside the state lock.
func (e *Engine) Process(ctx context.Context, ev store.QueuedEvent) (wrote bool, err error) {
	fetched, paymentFailed, err := e.fetchEvent(ctx, ev)
	if err != nil {
		return false, err
	}
	plan, ids, err := e.stageEvent(ctx, ev, fetched, paymentFailed)
	if err != nil || plan == nil {
		return false, err
	}
	if len(ids) == 0 && plan.Empty() {
		if e.pub != nil && len(plan.Notices) > 0 {
			if err := e.pub.Publish(plan.Notices); err != nil {
				return false, fmt.Errorf("queueing notifications: %w", err)
			}
		}
		return false, nil
	}
	wr, err := e.execute(ctx, plan, ids)
	if err != nil {
		return false, err
	}
	if wr.Failed > 0 && wr.Written == 0 {
		return false, fmt.Errorf("write-back failed for %d records (kept pending): %s", wr.Failed, strings.Join(wr.Errors, "; "))
	}
	return wr.Written > 0 || wr.TasksCreated > 0, nil
}

// fetchEvent re-reads a vendor event's object (a network call: no lock is
// held) and commits it to the store. paymentFailed reports a fetched
// invoice whose payment failed. A signal event fetches nothing.
func (e *Engine) fetchEvent(ctx context.Context, ev store.QueuedEvent) (fetched *record.Batch, paymentFailed bool, err error) {
	if ev.Connector == record.Signals {
		return nil, false, nil
	}
	c, ok := e.byName[ev.Connector]
	if !ok {
		return nil, false, fmt.Errorf("event for unknown connector %q", ev.Connector)
	}
	b, err := e.fetch(ctx, c, ev.Event)
	if err != nil || b == nil {
		return nil, false, err
	}
	b.Stream, b.Cursor, b.Full, b.Done = "", nil, false, false
	if _, err := e.st.CommitBatch(c.Name(), b); err != nil {
		return nil, false, fmt.Errorf("committing fetched object: %w", err)
	}
	for _, in := range b.Invoices {
		if in.PaymentFailed && !in.Paid {
			paymentFailed = true
		}
	}
	return b, paymentFailed, nil
}

// stageEvent is Process's step under the state lock: it finds the accounts
// the event affects, re-scores them, plans their writes with the
// payment-failure notices, and makes the writes durable. It returns a nil
// plan when no account is affected, and the account IDs whose writes the
// pass drains.
func (e *Engine) stageEvent(ctx context.Context, ev store.QueuedEvent, fetched *record.Batch, paymentFailed bool) (*Plan, map[string]bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	affected, err := e.affectedLocked(ev, fetched)
	if err != nil || len(affected) == 0 {
		return nil, nil, err
	}
	e.index().add(fetched)
	rec, err := e.reconcileTargetedLocked(ctx, e.now(), affected, true, false)
	if err != nil {
		return nil, nil, fmt.Errorf("re-scoring: %w", err)
	}
	plan, err := e.makePlanLocked(rec, planTargeted)
	if err != nil {
		return nil, nil, fmt.Errorf("planning: %w", err)
	}
	if paymentFailed || e.isPaymentFailure(ev) {
		for _, s := range rec.Accounts {
			plan.Notices = append(plan.Notices, Notice{Type: config.EventPaymentFailed, Account: s.Account.Key(),
				Name: s.Account.Name, Time: rec.AsOf, Data: map[string]any{"event": ev.Event.ID, "event_type": ev.Event.Type,
					"object": ev.Event.ObjectType + "/" + ev.Event.ObjectID}})
		}
	}
	ids := map[string]bool{}
	for _, w := range plan.Writes {
		ids[w.ID] = true
	}
	if len(ids) == 0 && plan.Empty() {
		return plan, ids, nil
	}
	if err := e.enqueueLocked(plan); err != nil {
		return nil, nil, fmt.Errorf("queueing writes: %w", err)
	}
	return plan, ids, nil
}

// affectedLocked returns the keys of the accounts an event can re-score: a
// signal's account, or a signal's billing customer's accounts, and the
// accounts of the fetched or named object. The caller holds mu (the index).
func (e *Engine) affectedLocked(ev store.QueuedEvent, fetched *record.Batch) (map[string]bool, error) {
	affected := map[string]bool{}
	if ev.Connector == record.Signals {
		// Signals name a CRM account or a billing customer; a customer is
		// re-scored through the accounts it is linked to.
		key := ev.Event.ObjectID
		if sys, _, _ := strings.Cut(key, "/"); e.isBillingSystem(sys) {
			for _, a := range e.accountsOfCustomer(key) {
				affected[a] = true
			}
		} else {
			affected[key] = true
		}
	}
	if c, ok := e.byName[ev.Connector]; ok {
		keys, err := e.affectedAccounts(c, ev.Event, fetched)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			affected[k] = true
		}
	}
	return affected, nil
}

// isPaymentFailure reports whether the event's connector classifies its
// type as a failed payment.
func (e *Engine) isPaymentFailure(ev store.QueuedEvent) bool {
	c := e.byName[ev.Connector]
	return c != nil && c.Caps.PaymentFailed(ev.Event.Type)
}

// isBillingSystem reports whether sys is the record system of a billing
// connector.
func (e *Engine) isBillingSystem(sys string) bool {
	for _, c := range e.conns {
		if c.Caps.Role == record.RoleBilling && c.Caps.System == sys {
			return true
		}
	}
	return false
}

// fetch re-reads the event's object. Without a Fetcher, the payload's
// changed fields are all there is and a targeted re-score still runs.
func (e *Engine) fetch(ctx context.Context, c *Connector, ev record.Event) (*record.Batch, error) {
	if c.Fetcher == nil || ev.ObjectID == "" {
		return nil, nil
	}
	b, err := c.Fetcher.Fetch(ctx, ev.ObjectType, ev.ObjectID)
	if err != nil {
		return nil, fmt.Errorf("fetching %s %s from %s: %w", ev.ObjectType, ev.ObjectID, c.Name(), err)
	}
	return b, nil
}

// affectedAccounts maps an event's object to the CRM account keys whose
// score it can change.
func (e *Engine) affectedAccounts(c *Connector, ev record.Event, b *record.Batch) ([]string, error) {
	if c.Caps.Role == record.RoleSignals {
		return e.signalAccounts(c, ev, b)
	}
	if c.IsCRM() {
		if b != nil {
			var out []string
			for _, a := range b.Accounts {
				out = append(out, a.Key())
			}
			for _, d := range b.Deals {
				if d.AccountID != "" {
					out = append(out, record.Ref{System: d.System, ID: d.AccountID}.Key())
				}
			}
			if len(out) > 0 {
				return out, nil
			}
		}
		return []string{record.Ref{System: c.Config.Kind, ID: ev.ObjectID}.Key()}, nil
	}
	customers := map[string]bool{}
	if b != nil {
		for _, cu := range b.Customers {
			customers[cu.Key()] = true
		}
		for _, s := range b.Subscriptions {
			customers[record.Ref{System: s.System, ID: s.CustomerID}.Key()] = true
		}
		for _, in := range b.Invoices {
			customers[record.Ref{System: in.System, ID: in.CustomerID}.Key()] = true
		}
	}
	if len(customers) == 0 && ev.ObjectType == "customer" {
		customers[record.Ref{System: c.Config.Kind, ID: ev.ObjectID}.Key()] = true
	}
	var out []string
	for ck := range customers {
		out = append(out, e.accountsOfCustomer(ck)...)
	}
	return out, nil
}

// accountsOfCustomer returns the accounts a billing customer is linked to,
// from the index or, before the first full reconcile, the stored links.
func (e *Engine) accountsOfCustomer(key string) []string {
	if ix := e.index(); ix != nil {
		return ix.accountsOf[key]
	}
	links, err := e.st.Links()
	if err != nil {
		e.log.Error().Err(err).Msg("reading identity links failed")
		return nil
	}
	var out []string
	for _, l := range links {
		if l.CustomerKey == key {
			out = append(out, l.AccountKey)
		}
	}
	return out
}
