package bolt

import (
	"encoding/json"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// The owner index: the records that belong to a billing customer
// (subscriptions, invoices) or to a CRM account (deals), so the engine reads
// one chunk of accounts' records without decoding every record of a type.
//
//	by_owner
//	└── <connector>
//	    └── <type>        owner ID 0x00 source ID -> ""
//
// An entry is added (through the log of ownerlog.go) by every CommitBatch
// that stores a record with an owner and is never removed: a tombstone or a record that moved to another owner
// leaves a stale entry, which the readers skip (they check the stored
// record's owner and Deleted flag), so deletions, ApplyDeletions and
// ResetFull need no index upkeep. Key order is (owner ID, source ID).
var bucketByOwner = []byte("by_owner")

// ownedTypes are the record types the owner index covers, with the owner
// each record names.
var ownedTypes = []store.RecordType{store.TypeDeal, store.TypeSubscription, store.TypeInvoice}

// ownerOf returns the owner ID a record's JSON names: a deal's account_id,
// a subscription's or invoice's customer_id.
func ownerOf(typ store.RecordType, js []byte) (string, error) {
	var v struct {
		AccountID  string `json:"account_id"`
		CustomerID string `json:"customer_id"`
	}
	if err := json.Unmarshal(js, &v); err != nil {
		return "", fmt.Errorf("decoding %s: %w: %v", typ, store.ErrCorrupt, err)
	}
	if typ == store.TypeDeal {
		return v.AccountID, nil
	}
	return v.CustomerID, nil
}

// indexBatch keeps the indexes of a committed batch (rb is connector's
// records bucket, live the records' states before it): the owner index,
// the newest modified time (newest.go) and the live counts (counts.go).
// It runs in CommitBatch's transaction.
func indexBatch(tx *bbolt.Tx, connector string, rb *bbolt.Bucket, b *record.Batch, live liveSnap) error {
	if err := indexOwners(tx, connector, b); err != nil {
		return err
	}
	if err := raiseNewest(tx, connector, rb, b); err != nil {
		return err
	}
	return live.apply(tx, connector)
}

// indexOwners logs the owner index entries of a committed batch's records
// (ownerlog.go).
func indexOwners(tx *bbolt.Tx, connector string, b *record.Batch) error {
	var entries []byte
	add := func(typ store.RecordType, owner, id string) {
		if owner != "" {
			entries = appendOwnerEntry(entries, typ, owner, id)
		}
	}
	for _, d := range b.Deals {
		add(store.TypeDeal, d.AccountID, d.ID)
	}
	for _, s := range b.Subscriptions {
		add(store.TypeSubscription, s.CustomerID, s.ID)
	}
	for _, in := range b.Invoices {
		add(store.TypeInvoice, in.CustomerID, in.ID)
	}
	return logOwners(tx, connector, entries)
}

// rebuildIndexes rebuilds the owner index, the newest modified times and
// the live counts from the stored records: the schema migration that
// introduced them (2), and Import.
func rebuildIndexes(tx *bbolt.Tx) error {
	if err := rebuildOwners(tx); err != nil {
		return err
	}
	if err := rebuildNewest(tx); err != nil {
		return err
	}
	return rebuildCounts(tx)
}

// rebuildOwners rebuilds the owner index from the stored records.
func rebuildOwners(tx *bbolt.Tx) error {
	if err := tx.DeleteBucket(bucketByOwner); err != nil && tx.Bucket(bucketByOwner) != nil {
		return fmt.Errorf("clearing the owner index: %w", err)
	}
	if _, err := tx.CreateBucket(bucketByOwner); err != nil {
		return fmt.Errorf("creating the owner index: %w", err)
	}
	if err := tx.DeleteBucket(bucketOwnerLog); err != nil && tx.Bucket(bucketOwnerLog) != nil {
		return fmt.Errorf("clearing the owner log: %w", err)
	}
	if _, err := tx.CreateBucketIfNotExists(bucketOwnerLog); err != nil {
		return fmt.Errorf("creating the owner log: %w", err)
	}
	return tx.Bucket(bucketRecords).ForEachBucket(func(conn []byte) error {
		for _, typ := range ownedTypes {
			tb := lookupBucket(tx, bucketRecords, string(conn), string(typ))
			if tb == nil {
				continue
			}
			ob, err := nestedBucket(tx, bucketByOwner, string(conn), string(typ))
			if err != nil {
				return err
			}
			err = tb.ForEach(func(k, v []byte) error {
				_, _, body := recordMeta(v)
				js, err := body.JSON()
				if err != nil {
					return err
				}
				owner, err := ownerOf(typ, js)
				if err != nil || owner == "" {
					return err
				}
				return ob.Put(joinKey(owner, string(k)), []byte{})
			})
			if err != nil {
				return fmt.Errorf("indexing %ss of %s: %w", typ, conn, err)
			}
		}
		return nil
	})
}

// DealsOf returns connector's live deals on the given accounts (source IDs),
// ordered by account ID then source ID, in one read.
func (s *Store) DealsOf(connector string, accountIDs []string) ([]record.Deal, error) {
	return readOwned(s, connector, store.TypeDeal, accountIDs, func(d *record.Deal) (string, bool) { return d.AccountID, d.Deleted })
}

// SubscriptionsOf returns connector's live subscriptions of the given
// customers (source IDs), ordered by customer ID then source ID, in one read.
func (s *Store) SubscriptionsOf(connector string, customerIDs []string) ([]record.Subscription, error) {
	return readOwned(s, connector, store.TypeSubscription, customerIDs,
		func(r *record.Subscription) (string, bool) { return r.CustomerID, r.Deleted })
}

// InvoicesOf returns connector's live invoices of the given customers
// (source IDs), ordered by customer ID then source ID, in one read.
func (s *Store) InvoicesOf(connector string, customerIDs []string) ([]record.Invoice, error) {
	return readOwned(s, connector, store.TypeInvoice, customerIDs,
		func(r *record.Invoice) (string, bool) { return r.CustomerID, r.Deleted })
}

// ownedReleaseGets is how many point reads readOwned makes between
// releases of the mapped pages (mapped.go): at most 16 MiB mapped, each
// read mapping faultAround.
const ownedReleaseGets = 256

// readOwned copies out, in one transaction, the records of typ the owner
// index lists under each of owners, then decodes them and keeps the live
// ones that still name that owner.
func readOwned[T any](s *Store, connector string, typ store.RecordType, owners []string, owner func(*T) (string, bool)) ([]T, error) {
	owners = slices.Compact(slices.Sorted(slices.Values(owners)))
	type raw struct {
		owner string
		js    []byte
	}
	var raws []raw
	collect := func(tx *bbolt.Tx) error {
		raws = raws[:0]
		ob := lookupBucket(tx, bucketByOwner, connector, string(typ))
		tb := lookupBucket(tx, bucketRecords, connector, string(typ))
		if ob == nil || tb == nil {
			return nil
		}
		c := ob.Cursor()
		gets, w := 0, walked{tx: tx, every: ownedReleaseGets * faultAround}
		for _, o := range owners {
			if o == "" {
				continue
			}
			prefix := prefixKey(o)
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				v := tb.Get(k[len(prefix):])
				// Records are keyed by their own ID, so one owner's are
				// spread over the bucket: each Get maps another page. The
				// invoices of a 1,000-account chunk touched 240 MB of a
				// 304 MB file (20,000 accounts), all of it resident until
				// released.
				gets++
				w.point()
				if v == nil {
					continue
				}
				if _, del, body := recordMeta(v); !del {
					js, err := body.appendJSON(nil) // a copy, usable past the transaction
					if err != nil {
						return err
					}
					raws = append(raws, raw{o, js})
				}
			}
		}
		if gets >= releaseMinRecords {
			releaseMapped(tx)
		}
		return nil
	}
	// A read transaction, unless commits logged owner entries since the
	// last read: then write transactions merge the log, a bounded step
	// each, the last of them reading too.
	pending := false
	err := s.view(func(tx *bbolt.Tx) error {
		if pending = ownerLogPending(tx, connector); pending {
			return nil
		}
		return collect(tx)
	})
	for err == nil && pending {
		err = s.update(func(tx *bbolt.Tx) error {
			more, err := mergeOwnerLog(tx, connector)
			releaseMapped(tx)
			if pending = more; err != nil || more {
				return err
			}
			return collect(tx)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("reading %ss of %s by owner: %w", typ, connector, err)
	}
	// Decoded on all CPUs for large reads, as readAll does.
	vals := make([]T, len(raws))
	keep := make([]bool, len(raws))
	decode := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			if err := json.Unmarshal(raws[i].js, &vals[i]); err != nil {
				return fmt.Errorf("decoding %s of %s: %w: %v", typ, connector, store.ErrCorrupt, err)
			}
			o, del := owner(&vals[i])
			keep[i] = o == raws[i].owner && !del
		}
		return nil
	}
	if err := decodeParallel(len(raws), decode); err != nil {
		return nil, err
	}
	out := vals[:0]
	for i := range vals {
		if keep[i] {
			out = append(out, vals[i])
		}
	}
	return out, nil
}
