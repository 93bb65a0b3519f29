package storetest

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

func sub(id, customer string, mod time.Time) record.Subscription {
	return record.Subscription{Ref: record.Ref{System: record.Stripe, ID: id, Modified: mod}, CustomerID: customer,
		Status: record.StatusActive, Currency: "USD"}
}

func inv(id, customer string, mod time.Time) record.Invoice {
	return record.Invoice{Ref: record.Ref{System: record.Stripe, ID: id, Modified: mod}, CustomerID: customer,
		Status: record.InvoicePaid, Paid: true, Total: 100, Currency: "USD", Created: t0}
}

func deal(id, account string, mod time.Time) record.Deal {
	return record.Deal{Ref: record.Ref{System: record.Salesforce, ID: id, Modified: mod}, AccountID: account, Name: id}
}

// recordsByOwner: DealsOf, SubscriptionsOf and InvoicesOf return the live
// records of the owners asked for, ordered by owner then source ID, after
// deletions (in a batch, flagged by the vendor, and ApplyDeletions), a
// record moving to another owner, a stale copy naming an old owner and a
// deleted record coming back; Counts follows each.
func recordsByOwner(t *testing.T, s store.Store) {
	ok(t, errOf(s.CommitBatch("bill", &record.Batch{
		Subscriptions: []record.Subscription{sub("sub_b", "cus_1", t0), sub("sub_a", "cus_1", t0), sub("sub_c", "cus_10", t0),
			sub("sub_d", "cus_2", t0), sub("sub_e", "cus_2", t0), sub("sub_f", "cus_3", t0), sub("sub_g", "", t0)},
		Invoices: []record.Invoice{inv("in_1", "cus_1", t0), inv("in_2", "cus_2", t0), inv("in_3", "cus_3", t0)},
	})))
	ok(t, errOf(s.CommitBatch("crm", &record.Batch{
		Deals: []record.Deal{deal("006B", "001A", t0), deal("006A", "001A", t0), deal("006C", "001B", t0), deal("006D", "", t0)},
	})))
	// sub_d moves to cus_3; an older copy still naming cus_2 is stale.
	moved := sub("sub_d", "cus_3", at(time.Hour))
	ok(t, errOf(s.CommitBatch("bill", &record.Batch{Subscriptions: []record.Subscription{moved}})))
	ok(t, errOf(s.CommitBatch("bill", &record.Batch{Subscriptions: []record.Subscription{sub("sub_d", "cus_2", t0)}})))
	// sub_b is deleted by ID, sub_e flagged deleted, in_3 deleted by
	// ApplyDeletions.
	gone := sub("sub_e", "cus_2", at(time.Hour))
	gone.Deleted = true
	ok(t, errOf(s.CommitBatch("bill", &record.Batch{Subscriptions: []record.Subscription{gone},
		Deleted: []record.Ref{{System: record.Stripe, ID: "sub_b"}}})))
	n := must(s.ApplyDeletions("bill", []store.Gone{{Type: store.TypeInvoice, ID: "in_3", Modified: t0}}))(t)
	equal(t, "applied deletions", n, 1)

	all := []string{"cus_3", "cus_1", "", "cus_2", "cus_10", "cus_1", "cus_none"}
	equal(t, "subscriptions of all", must(s.SubscriptionsOf("bill", all))(t),
		[]record.Subscription{sub("sub_a", "cus_1", t0), sub("sub_c", "cus_10", t0), moved, sub("sub_f", "cus_3", t0)})
	equal(t, "subscriptions of cus_2", len(must(s.SubscriptionsOf("bill", []string{"cus_2"}))(t)), 0)
	equal(t, "invoices of all", must(s.InvoicesOf("bill", all))(t), []record.Invoice{inv("in_1", "cus_1", t0), inv("in_2", "cus_2", t0)})
	equal(t, "deals", must(s.DealsOf("crm", []string{"001B", "001A"}))(t),
		[]record.Deal{deal("006A", "001A", t0), deal("006B", "001A", t0), deal("006C", "001B", t0)})
	equal(t, "none asked", len(must(s.DealsOf("crm", nil))(t)), 0)
	equal(t, "unknown connector", len(must(s.InvoicesOf("nobody", all))(t)), 0)
	equal(t, "other connector's type", len(must(s.SubscriptionsOf("crm", all))(t)), 0)
	equal(t, "counts", must(s.Counts("bill"))(t), map[store.RecordType]int{store.TypeSubscription: 5, store.TypeInvoice: 2})

	// A deleted subscription comes back; a deletion already applied and
	// one of an unknown ID change nothing.
	back := sub("sub_b", "cus_2", at(2*time.Hour))
	ok(t, errOf(s.CommitBatch("bill", &record.Batch{Subscriptions: []record.Subscription{back, back},
		Deleted: []record.Ref{{System: record.Stripe, ID: "sub_e"}, {System: record.Stripe, ID: "sub_zzz"}}})))
	equal(t, "subscriptions of cus_2 after", must(s.SubscriptionsOf("bill", []string{"cus_2"}))(t), []record.Subscription{back})
	equal(t, "counts after", must(s.Counts("bill"))(t), map[store.RecordType]int{store.TypeSubscription: 6, store.TypeInvoice: 2})
}

// errOf keeps the error of a two-value call.
func errOf[T any](_ T, err error) error { return err }
