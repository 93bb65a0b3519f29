package bolt

import (
	"errors"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Full enumerations. Each stream remembers which record types it has
// produced (fullsync/<connector>/<stream>/types). While a full enumeration
// runs, the IDs it yields are marked in .../seen; the seen set survives a
// crash, so a resumed enumeration keeps its marks. On the last batch the
// stream's live records of those types that are not marked are reported as
// unseen and the seen set is dropped, ready for the next enumeration.
//
// A seen set left over from an abandoned enumeration only hides deletions
// (never causes one); ResetFull drops it explicitly.

// trackStream records the batch's types for its stream and, for a full
// enumeration, its seen IDs and (when Done) the unseen records.
func trackStream(tx *bbolt.Tx, connector string, b *record.Batch, entries []encoded, types map[store.RecordType]bool, st *store.CommitStats) error {
	fb, err := nestedBucket(tx, bucketFullSync, connector, b.Stream)
	if err != nil {
		return err
	}
	tyb, err := fb.CreateBucketIfNotExists(bucketFullTypes)
	if err != nil {
		return err
	}
	for typ := range types {
		if err := tyb.Put([]byte(typ), []byte{}); err != nil {
			return err
		}
	}
	if !b.Full {
		return nil
	}
	seen, err := fb.CreateBucketIfNotExists(bucketFullSeen)
	if err != nil {
		return err
	}
	for i := range entries {
		if err := seen.Put(joinKey(string(entries[i].typ), entries[i].id), []byte{}); err != nil {
			return err
		}
	}
	if !b.Done {
		return nil
	}
	err = tyb.ForEach(func(typ, _ []byte) error {
		tb := lookupBucket(tx, bucketRecords, connector, string(typ))
		if tb == nil {
			return nil
		}
		c, w := tb.Cursor(), walked{tx: tx}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			w.add(k, v)
			mod, del, _ := recordMeta(v)
			if del || seen.Get(joinKey(string(typ), string(k))) != nil {
				continue
			}
			st.Unseen = append(st.Unseen, store.Gone{Type: store.RecordType(typ), ID: string(k), Modified: mod})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fb.DeleteBucket(bucketFullSeen)
}

// ResetFull drops the seen marks of an unfinished full enumeration of
// stream, so the next full batch starts a fresh one.
func (s *Store) ResetFull(connector, stream string) error {
	return s.update(func(tx *bbolt.Tx) error {
		fb := lookupBucket(tx, bucketFullSync, connector, stream)
		if fb == nil {
			return nil
		}
		err := fb.DeleteBucket(bucketFullSeen)
		if errors.Is(err, bberrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}
