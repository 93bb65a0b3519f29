package engine

import (
	"fmt"

	"github.com/healthsync/healthsync/connectors/record"
)

// defaultChunk is how many accounts a full reconcile scores per chunk (and
// how many customers the portfolio figures read per chunk): the records
// of one chunk are in memory at a time.
const defaultChunk = 1000

// chunkSize is the accounts per chunk (Engine.chunk, or defaultChunk).
func (e *Engine) chunkSize() int {
	if e.chunk > 0 {
		return e.chunk
	}
	return defaultChunk
}

// readRecords replaces w's deals, subscriptions and invoices with those of
// jobs' accounts and their linked customers that w knows (w.custConn), in
// one read per connector and record type.
func (e *Engine) readRecords(w *world, jobs []*Scored) error {
	w.deals, w.subs, w.invoices = map[string][]record.Deal{}, map[string][]record.Subscription{}, map[string][]record.Invoice{}
	accounts := map[string][]string{}  // CRM connector -> account IDs
	customers := map[string][]string{} // billing connector -> customer IDs
	for _, s := range jobs {
		accounts[s.Connector] = append(accounts[s.Connector], s.Account.ID)
		for _, ck := range s.Customers {
			conn, ok := w.custConn[ck]
			if !ok {
				continue
			}
			customers[conn] = append(customers[conn], w.customers[ck].ID)
		}
	}
	for _, c := range e.conns {
		name := c.Name()
		if ids := accounts[name]; len(ids) > 0 {
			ds, err := e.st.DealsOf(name, ids)
			if err != nil {
				return fmt.Errorf("reading deals of %s: %w", name, err)
			}
			addByOwner(w.deals, ds, func(d *record.Deal) record.Ref { return record.Ref{System: d.System, ID: d.AccountID} })
		}
		ids := customers[name]
		if len(ids) == 0 {
			continue
		}
		ss, err := e.st.SubscriptionsOf(name, ids)
		if err != nil {
			return fmt.Errorf("reading subscriptions of %s: %w", name, err)
		}
		addByOwner(w.subs, ss, subscriptionCustomer)
		is, err := e.st.InvoicesOf(name, ids)
		if err != nil {
			return fmt.Errorf("reading invoices of %s: %w", name, err)
		}
		addByOwner(w.invoices, is, func(in *record.Invoice) record.Ref { return record.Ref{System: in.System, ID: in.CustomerID} })
	}
	return nil
}

// subscriptionsOf reads the subscriptions of customers (of billing
// connector conn) by customer key, in one read.
func (e *Engine) subscriptionsOf(conn string, customers []record.Customer) (map[string][]record.Subscription, error) {
	ids := make([]string, len(customers))
	for i, cu := range customers {
		ids[i] = cu.ID
	}
	ss, err := e.st.SubscriptionsOf(conn, ids)
	if err != nil {
		return nil, fmt.Errorf("reading subscriptions of %s: %w", conn, err)
	}
	out := make(map[string][]record.Subscription, len(customers))
	addByOwner(out, ss, subscriptionCustomer)
	return out, nil
}

// addByOwner appends each of recs to dst under its owner's key (the
// account of a deal, the customer of a subscription or invoice).
func addByOwner[T any](dst map[string][]T, recs []T, owner func(*T) record.Ref) {
	for i := range recs {
		k := owner(&recs[i]).Key()
		dst[k] = append(dst[k], recs[i])
	}
}

func subscriptionCustomer(s *record.Subscription) record.Ref {
	return record.Ref{System: s.System, ID: s.CustomerID}
}
