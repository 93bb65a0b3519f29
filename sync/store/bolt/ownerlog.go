package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// The owner index's log. Owner IDs arrive in no order (a Stripe page of
// invoices names a hundred customers), so putting each batch's entries
// into by_owner directly rewrote about one leaf page per record on every
// commit: a 10,000-account full pull took 65% longer. CommitBatch instead
// appends its entries as one value under the next sequence number, which
// writes one page; the first owner read after it (or Import) merges the
// whole log into by_owner in key order, touching each leaf once, and
// clears it:
//
//	by_owner_log
//	└── <connector>       8B seq -> entries: type byte, uvarint-prefixed owner ID and source ID, repeated
var bucketOwnerLog = []byte("by_owner_log")

// ownedTypeByte numbers the owned types in log entries.
func ownedTypeByte(typ store.RecordType) byte { return byte(slices.Index(ownedTypes, typ)) }

// logOwners appends entries (type, owner, ID) of connector to the log.
func logOwners(tx *bbolt.Tx, connector string, entries []byte) error {
	if len(entries) == 0 {
		return nil
	}
	lb, err := nestedBucket(tx, bucketOwnerLog, connector)
	if err != nil {
		return err
	}
	seq, err := lb.NextSequence()
	if err != nil {
		return err
	}
	return lb.Put(seqKey(seq), entries)
}

// appendOwnerEntry appends one log entry to b.
func appendOwnerEntry(b []byte, typ store.RecordType, owner, id string) []byte {
	b = append(b, ownedTypeByte(typ))
	b = binary.AppendUvarint(b, uint64(len(owner)))
	b = append(b, owner...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

// ownerMergeMax bounds the log entries one merge step moves (one write
// transaction): merged whole, the log of a 100,000-account full pull (2.7
// million entries) held its keys and every dirty page of by_owner in
// memory at once, about 1.2 GB of heap, the peak of that sync. Each step
// touches by_owner's leaves again, so the steps are large.
var ownerMergeMax = 250_000

// mergeReleaseKeys is how many keys, in order, a merge step puts between
// releases of the mapped pages (mapped.go). A step's keys are spread over
// the whole index, so each may map another leaf and, by the kernel's
// fault-around, 64 KiB around it: every 16,384 keys left 354 MB of the file
// resident at 100,000 accounts; every 1,024 bounds it near 64 MiB.
const mergeReleaseKeys = 1024

// mergeOwnerLog moves the oldest of connector's logged values into
// by_owner, in key order, up to about ownerMergeMax entries, and deletes
// them from the log, in tx; more reports whether values remain. Steps in
// their own transactions merge a log of any size in bounded memory, and a
// crash between them loses nothing: what was merged left the log in the
// same transaction, and a merge puts only keys by_owner lacks.
func mergeOwnerLog(tx *bbolt.Tx, connector string) (more bool, err error) {
	lb := lookupBucket(tx, bucketOwnerLog, connector)
	if lb == nil {
		return false, nil
	}
	keys := make([][][]byte, len(ownedTypes))
	var done [][]byte // the log keys merged
	n := 0
	c := lb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n >= ownerMergeMax {
			more = true
			break
		}
		done = append(done, k)
		for len(v) > 0 {
			t := int(v[0])
			owner, rest, ok := cutUvarint(v[1:])
			if !ok || t >= len(ownedTypes) {
				return false, fmt.Errorf("reading the owner log of %s: %w", connector, store.ErrCorrupt)
			}
			id, rest, ok := cutUvarint(rest)
			if !ok {
				return false, fmt.Errorf("reading the owner log of %s: %w", connector, store.ErrCorrupt)
			}
			keys[t] = append(keys[t], joinKey(string(owner), string(id)))
			n++
			v = rest
		}
	}
	w := walked{tx: tx, every: mergeReleaseKeys * faultAround} // the leaves walked (mapped.go)
	for t, ks := range keys {
		if len(ks) == 0 {
			continue
		}
		ob, err := nestedBucket(tx, bucketByOwner, connector, string(ownedTypes[t]))
		if err != nil {
			return false, err
		}
		slices.SortFunc(ks, bytes.Compare)
		for _, k := range slices.CompactFunc(ks, bytes.Equal) {
			w.point()
			if ob.Get(k) == nil {
				if err := ob.Put(k, []byte{}); err != nil {
					return false, err
				}
			}
		}
	}
	if !more {
		return false, tx.Bucket(bucketOwnerLog).DeleteBucket([]byte(connector))
	}
	for _, k := range done {
		if err := lb.Delete(k); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ownerLogPending reports whether connector's owner log holds entries.
func ownerLogPending(tx *bbolt.Tx, connector string) bool {
	lb := lookupBucket(tx, bucketOwnerLog, connector)
	if lb == nil {
		return false
	}
	k, _ := lb.Cursor().First()
	return k != nil
}

// cutUvarint reads a uvarint-prefixed byte string from the front of b.
func cutUvarint(b []byte) (s, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
