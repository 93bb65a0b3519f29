package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Process handles one queued webhook event (it implements the webhook
// package's Processor): it fetches the current object from the vendor
// instead of trusting the payload, commits it, re-scores only the affected
// accounts, writes back only what changed, and evaluates task rules. It is
// ProcessBatch of one event.
func (e *Engine) Process(ctx context.Context, ev store.QueuedEvent) (wrote bool, err error) {
	r := e.processBatch(ctx, []store.QueuedEvent{ev})[0]
	return r.Wrote, r.Err
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
