package bolt

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// The live record count of each connector and type, kept so that Counts
// (read by every pull, for the record-count gates) does not scan every
// record, which paged the whole records tree into memory on each pull:
//
//	counts                connector 0x00 type -> 8B live records
//
// CommitBatch and ApplyDeletions note, before they change anything, which
// of the records they name are live (liveSnap), and afterwards add the
// difference.
var bucketCounts = []byte("counts")

// typeID names one stored record.
type typeID struct {
	typ store.RecordType
	id  string
}

// liveSnap is whether each record a write names was live before it.
type liveSnap map[typeID]bool

// isLive reports whether connector's record k is stored and not a
// tombstone.
func isLive(tx *bbolt.Tx, connector string, k typeID) bool {
	tb := lookupBucket(tx, bucketRecords, connector, string(k.typ))
	if tb == nil {
		return false
	}
	v := tb.Get([]byte(k.id))
	if v == nil {
		return false
	}
	_, del, _ := recordMeta(v)
	return !del
}

// snapBatch notes the live state of every record b names (a deletion by
// ID in each type, as CommitBatch looks in each).
func snapBatch(tx *bbolt.Tx, connector string, b *record.Batch) liveSnap {
	s := liveSnap{}
	note := func(typ store.RecordType, id string) {
		k := typeID{typ, id}
		if _, ok := s[k]; !ok {
			s[k] = isLive(tx, connector, k)
		}
	}
	noteAll(note, store.TypeAccount, b.Accounts, func(r *record.Account) string { return r.ID })
	noteAll(note, store.TypeDeal, b.Deals, func(r *record.Deal) string { return r.ID })
	noteAll(note, store.TypeCustomer, b.Customers, func(r *record.Customer) string { return r.ID })
	noteAll(note, store.TypeSubscription, b.Subscriptions, func(r *record.Subscription) string { return r.ID })
	noteAll(note, store.TypeInvoice, b.Invoices, func(r *record.Invoice) string { return r.ID })
	noteAll(note, store.TypeTask, b.Tasks, func(r *record.Task) string { return r.ID })
	for _, ref := range b.Deleted {
		for _, typ := range store.RecordTypes {
			note(typ, ref.ID)
		}
	}
	return s
}

// noteAll notes each of recs of type typ by its ID.
func noteAll[T any](note func(store.RecordType, string), typ store.RecordType, recs []T, id func(*T) string) {
	for i := range recs {
		note(typ, id(&recs[i]))
	}
}

// snapGone notes the live state of the records gone names.
func snapGone(tx *bbolt.Tx, connector string, gone []store.Gone) liveSnap {
	s := liveSnap{}
	for _, g := range gone {
		k := typeID{g.Type, g.ID}
		if _, ok := s[k]; !ok {
			s[k] = isLive(tx, connector, k)
		}
	}
	return s
}

// apply adds to connector's counts the change from the noted states to
// the current ones.
func (s liveSnap) apply(tx *bbolt.Tx, connector string) error {
	delta := map[store.RecordType]int64{}
	for k, was := range s {
		switch now := isLive(tx, connector, k); {
		case now && !was:
			delta[k.typ]++
		case was && !now:
			delta[k.typ]--
		}
	}
	cb := tx.Bucket(bucketCounts)
	for typ, d := range delta {
		if d == 0 {
			continue
		}
		key := joinKey(connector, string(typ))
		n := int64(0)
		if v := cb.Get(key); len(v) == 8 {
			n = int64(binary.BigEndian.Uint64(v))
		}
		if err := cb.Put(key, binary.BigEndian.AppendUint64(nil, uint64(n+d))); err != nil {
			return err
		}
	}
	return nil
}

// rebuildCounts recounts every connector's live records (the schema
// migration, and Import).
func rebuildCounts(tx *bbolt.Tx) error {
	cb := tx.Bucket(bucketCounts)
	return tx.Bucket(bucketRecords).ForEachBucket(func(conn []byte) error {
		for _, typ := range store.RecordTypes {
			tb := lookupBucket(tx, bucketRecords, string(conn), string(typ))
			if tb == nil {
				continue
			}
			n := uint64(0)
			c := tb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if _, del, _ := recordMeta(v); !del {
					n++
				}
			}
			if err := cb.Put(joinKey(string(conn), string(typ)), binary.BigEndian.AppendUint64(nil, n)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Counts returns the number of live (not deleted) records of each type of
// connector, for record-count-drop gates; a type has an entry once
// connector stored a record of it. It reads one value per type.
func (s *Store) Counts(connector string) (map[store.RecordType]int, error) {
	out := map[store.RecordType]int{}
	err := s.view(func(tx *bbolt.Tx) error {
		cb := tx.Bucket(bucketCounts)
		for _, typ := range store.RecordTypes {
			if lookupBucket(tx, bucketRecords, connector, string(typ)) == nil {
				continue
			}
			n := 0
			if v := cb.Get(joinKey(connector, string(typ))); len(v) == 8 {
				n = int(binary.BigEndian.Uint64(v))
			}
			out[typ] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting records of %s: %w", connector, err)
	}
	return out, nil
}
