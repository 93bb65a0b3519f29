package bolt

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// The newest modified time of each connector's records, kept so that
// NewestModified (read by every new engine) does not scan every record,
// which paged the whole records tree into a new process's memory:
//
//	newest                connector -> 8B time
//
// CommitBatch raises it to the latest Ref.Modified its batch carries (a
// stale record is older than the stored copy, so it never raises it past
// a stored time) and of its deletions of stored records; ApplyDeletions
// keeps modified times, so it needs no upkeep.
var bucketNewest = []byte("newest")

// raiseNewest raises connector's newest modified time to the latest of
// b's records and of its deletions of records stored in rb.
func raiseNewest(tx *bbolt.Tx, connector string, rb *bbolt.Bucket, b *record.Batch) error {
	newest := latest(time.Time{}, b.Accounts, func(r *record.Account) time.Time { return r.Modified })
	newest = latest(newest, b.Deals, func(r *record.Deal) time.Time { return r.Modified })
	newest = latest(newest, b.Customers, func(r *record.Customer) time.Time { return r.Modified })
	newest = latest(newest, b.Subscriptions, func(r *record.Subscription) time.Time { return r.Modified })
	newest = latest(newest, b.Invoices, func(r *record.Invoice) time.Time { return r.Modified })
	newest = latest(newest, b.Tasks, func(r *record.Task) time.Time { return r.Modified })
	raise := func(t time.Time) {
		if t.After(newest) {
			newest = t
		}
	}
	for _, ref := range b.Deleted {
		for _, typ := range store.RecordTypes {
			if tb := rb.Bucket([]byte(typ)); tb != nil && tb.Get([]byte(ref.ID)) != nil {
				raise(ref.Modified)
				break
			}
		}
	}
	return putNewest(tx, connector, newest)
}

// latest returns the later of t and the latest modified time of recs.
func latest[T any](t time.Time, recs []T, modified func(*T) time.Time) time.Time {
	for i := range recs {
		if m := modified(&recs[i]); m.After(t) {
			t = m
		}
	}
	return t
}

// putNewest stores t as connector's newest modified time when it is later.
func putNewest(tx *bbolt.Tx, connector string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	nb := tx.Bucket(bucketNewest)
	if old := nb.Get([]byte(connector)); old != nil && !t.After(readTime(old)) {
		return nil
	}
	return nb.Put([]byte(connector), timeKey(t))
}

// rebuildNewest recomputes every connector's newest modified time from the
// stored records (the schema migration, and Import).
func rebuildNewest(tx *bbolt.Tx) error {
	return tx.Bucket(bucketRecords).ForEachBucket(func(conn []byte) error {
		var newest time.Time
		for _, typ := range store.RecordTypes {
			tb := lookupBucket(tx, bucketRecords, string(conn), string(typ))
			if tb == nil {
				continue
			}
			c := tb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if mod, _, _ := recordMeta(v); mod.After(newest) {
					newest = mod
				}
			}
		}
		return putNewest(tx, string(conn), newest)
	})
}

// NewestModified returns the latest Modified time of connector's stored
// records, tombstones included (zero when none): a floor for a source whose
// versions are ordered by observation time, so they stay ordered across
// restarts. It reads one value.
func (s *Store) NewestModified(connector string) (time.Time, error) {
	var newest time.Time
	err := s.view(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketNewest).Get([]byte(connector)); v != nil {
			newest = readTime(v)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the newest record of %s: %w", connector, err)
	}
	return newest, nil
}
