package postgres

import (
	"fmt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// ownedSQL reads the live records of one type whose owner (a deal's
// account_id, a subscription's or invoice's customer_id) is one of $3,
// ordered by owner then ID; migration 00003's records_by_owner serves it.
const ownedSQL = `SELECT doc FROM records
	WHERE connector = $1 AND type = $2 AND NOT deleted
	  AND type IN ('deal', 'subscription', 'invoice')
	  AND (coalesce(doc->>'customer_id', doc->>'account_id')) COLLATE "C" = ANY($3)
	ORDER BY (coalesce(doc->>'customer_id', doc->>'account_id')) COLLATE "C", id`

// owned decodes the live records of typ owned by one of owners.
func owned[T any](s *Store, connector string, typ store.RecordType, owners []string) ([]T, error) {
	ids := make([]string, 0, len(owners))
	for _, o := range owners {
		if o != "" {
			ids = append(ids, o)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return queryDocs[T](s, fmt.Sprintf("reading %ss of %s by owner", typ, connector), ownedSQL, connector, string(typ), ids)
}

// DealsOf returns connector's live deals on the given accounts, ordered by
// account ID then source ID.
func (s *Store) DealsOf(connector string, accountIDs []string) ([]record.Deal, error) {
	return owned[record.Deal](s, connector, store.TypeDeal, accountIDs)
}

// SubscriptionsOf returns connector's live subscriptions of the given
// customers, ordered by customer ID then source ID.
func (s *Store) SubscriptionsOf(connector string, customerIDs []string) ([]record.Subscription, error) {
	return owned[record.Subscription](s, connector, store.TypeSubscription, customerIDs)
}

// InvoicesOf returns connector's live invoices of the given customers,
// ordered by customer ID then source ID.
func (s *Store) InvoicesOf(connector string, customerIDs []string) ([]record.Invoice, error) {
	return owned[record.Invoice](s, connector, store.TypeInvoice, customerIDs)
}
