package bolt

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// encoded is one record of a batch, marshalled and compressed before the
// transaction starts.
type encoded struct {
	typ      store.RecordType
	id       string
	modified time.Time
	deleted  bool
	js       []byte // the record's JSON
	body     []byte // js compressed, as stored (recordenc.go)
}

func encodeAll[T any](out []encoded, typ store.RecordType, recs []T, ref func(*T) (record.Ref, bool)) ([]encoded, error) {
	// On all CPUs for large batches (JSON then zstd, about 13 µs a record:
	// a pull's 2,000-record Salesforce page or a write-back's read-back),
	// as reads decode: decodeParallel.
	at := len(out)
	out = append(out, make([]encoded, len(recs))...)
	err := decodeParallel(len(recs), func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			r, del := ref(&recs[i])
			if r.ID == "" {
				return fmt.Errorf("%s %d of batch has an empty source ID", typ, i)
			}
			js, err := json.Marshal(&recs[i])
			if err != nil {
				return fmt.Errorf("encoding %s %s: %w", typ, r.ID, err)
			}
			body, err := compressBody(nil, js)
			if err != nil {
				return fmt.Errorf("encoding %s %s: %w", typ, r.ID, err)
			}
			out[at+i] = encoded{typ: typ, id: r.ID, modified: r.Modified, deleted: del, js: js, body: body}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func encodeBatch(b *record.Batch) ([]encoded, error) {
	out := make([]encoded, 0, b.Len())
	var err error
	if out, err = encodeAll(out, store.TypeAccount, b.Accounts, func(r *record.Account) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = encodeAll(out, store.TypeDeal, b.Deals, func(r *record.Deal) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = encodeAll(out, store.TypeCustomer, b.Customers, func(r *record.Customer) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = encodeAll(out, store.TypeSubscription, b.Subscriptions, func(r *record.Subscription) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = encodeAll(out, store.TypeInvoice, b.Invoices, func(r *record.Invoice) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = encodeAll(out, store.TypeTask, b.Tasks, func(r *record.Task) (record.Ref, bool) { return r.Ref, false }); err != nil {
		return nil, err
	}
	return out, nil
}

// CommitBatch stores one pulled batch of connector in one transaction:
//   - every record is upserted by (connector, type, source ID); a record whose
//     Ref.Modified is older than the stored copy's is ignored (stale never
//     overwrites newer), an identical one is left alone;
//   - Batch.Deleted refs become tombstones (kept, flagged deleted, hidden
//     from the list readers);
//   - a non-nil Cursor is saved under (connector, Stream);
//   - when Full, the batch's IDs are marked seen for the stream, and on the
//     last batch (Full && Done) the stream's live records that were not seen
//     are reported in CommitStats.Unseen. They are deleted only by a separate
//     ApplyDeletions call, so deletions follow a complete enumeration only.
//
// Committing the same batch twice changes nothing the second time.
func (s *Store) CommitBatch(connector string, b *record.Batch) (store.CommitStats, error) {
	if connector == "" {
		return store.CommitStats{}, errors.New("committing batch: empty connector name")
	}
	if b.Stream == "" && (b.Cursor != nil || b.Full) {
		return store.CommitStats{}, errors.New("committing batch: a cursor or full enumeration needs a stream name")
	}
	entries, err := encodeBatch(b)
	if err != nil {
		return store.CommitStats{}, fmt.Errorf("committing batch: %w", err)
	}
	var st store.CommitStats
	err = s.update(func(tx *bbolt.Tx) error {
		st = store.CommitStats{}
		live := snapBatch(tx, connector, b) // counts.go
		rb, err := nestedBucket(tx, bucketRecords, connector)
		if err != nil {
			return err
		}
		types := map[store.RecordType]bool{}
		for i := range entries {
			e := &entries[i]
			tb, err := rb.CreateBucketIfNotExists([]byte(e.typ))
			if err != nil {
				return err
			}
			types[e.typ] = true
			if err := upsert(tb, e, &st); err != nil {
				return err
			}
		}
		for _, ref := range b.Deleted {
			if err := tombstone(rb, ref, &st); err != nil {
				return err
			}
		}
		if err := indexBatch(tx, connector, rb, b, live); err != nil {
			return err
		}
		if b.Cursor != nil {
			cb, err := nestedBucket(tx, bucketCursors, connector)
			if err != nil {
				return err
			}
			if err := cb.Put([]byte(b.Stream), b.Cursor); err != nil {
				return err
			}
		}
		if b.Stream != "" && (b.Full || len(types) > 0) {
			if err := trackStream(tx, connector, b, entries, types, &st); err != nil {
				return err
			}
		}
		// A pull's batches together touch every page of the records
		// buckets, and the last batch of a full enumeration walks them all
		// (trackStream); release those pages as a bulk read does
		// (mapped.go). Before Commit, so bbolt has not remapped yet.
		if len(entries) >= releaseMinRecords || (b.Full && b.Done) {
			releaseMapped(tx)
		}
		return nil
	})
	if err != nil {
		return store.CommitStats{}, fmt.Errorf("committing %s batch of %s: %w", b.Stream, connector, err)
	}
	return st, nil
}

// upsert applies one record to its type bucket.
func upsert(tb *bbolt.Bucket, e *encoded, st *store.CommitStats) error {
	key := []byte(e.id)
	old := tb.Get(key)
	if old == nil {
		if e.deleted {
			st.Deleted++
		} else {
			st.Inserted++
		}
		return tb.Put(key, recordValue(e.modified, e.deleted, e.body, flagZstd1))
	}
	oldMod, oldDel, oldBody := recordMeta(old)
	if !e.modified.IsZero() && e.modified.Before(oldMod) {
		st.Stale++
		return nil
	}
	if oldDel == e.deleted {
		same, err := oldBody.sameJSON(e.js, e.body)
		if err != nil {
			return fmt.Errorf("comparing %s %s: %w", e.typ, e.id, err)
		}
		if same {
			st.Unchanged++
			return nil
		}
	}
	mod := e.modified
	if mod.IsZero() {
		mod = oldMod
	}
	if e.deleted && !oldDel {
		st.Deleted++
	} else {
		st.Updated++
	}
	return tb.Put(key, recordValue(mod, e.deleted, e.body, flagZstd1))
}

// tombstone flags the record ref names as deleted in whichever type bucket
// holds it. A deletion older than the stored copy is stale.
func tombstone(rb *bbolt.Bucket, ref record.Ref, st *store.CommitStats) error {
	for _, typ := range store.RecordTypes {
		tb := rb.Bucket([]byte(typ))
		if tb == nil {
			continue
		}
		old := tb.Get([]byte(ref.ID))
		if old == nil {
			continue
		}
		oldMod, oldDel, oldBody := recordMeta(old)
		if oldDel {
			st.Unchanged++
			return nil
		}
		if !ref.Modified.IsZero() && ref.Modified.Before(oldMod) {
			st.Stale++
			return nil
		}
		mod := ref.Modified
		if mod.IsZero() {
			mod = oldMod
		}
		body, err := markDeleted(oldBody, mod)
		if err != nil {
			return fmt.Errorf("deleting %s %s: %w", typ, ref.ID, err)
		}
		st.Deleted++
		return tb.Put([]byte(ref.ID), recordValue(mod, true, body, flagZstd1))
	}
	return nil
}

// markDeleted sets "deleted": true and "modified" in a record's JSON and
// returns the new body, compressed.
func markDeleted(old recordBody, modified time.Time) ([]byte, error) {
	js, err := old.JSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	m["deleted"] = json.RawMessage("true")
	if !modified.IsZero() {
		mj, _ := json.Marshal(modified)
		m["modified"] = mj
	}
	if js, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return compressBody(nil, js)
}

// ApplyDeletions tombstones the records a full enumeration reported unseen,
// skipping any that were deleted or modified since the report. It returns
// how many it deleted.
func (s *Store) ApplyDeletions(connector string, gone []store.Gone) (int, error) {
	n := 0
	err := s.update(func(tx *bbolt.Tx) (err error) {
		n = 0
		live := snapGone(tx, connector, gone) // counts.go
		defer func() {
			if err == nil {
				err = live.apply(tx, connector)
			}
		}()
		for _, g := range gone {
			tb := lookupBucket(tx, bucketRecords, connector, string(g.Type))
			if tb == nil {
				continue
			}
			old := tb.Get([]byte(g.ID))
			if old == nil {
				continue
			}
			mod, del, body := recordMeta(old)
			if del || !mod.Equal(g.Modified) {
				continue
			}
			nb, err := markDeleted(body, time.Time{})
			if err != nil {
				return fmt.Errorf("deleting %s %s: %w", g.Type, g.ID, err)
			}
			if err := tb.Put([]byte(g.ID), recordValue(mod, true, nb, flagZstd1)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("applying deletions of %s: %w", connector, err)
	}
	return n, nil
}

// Cursors returns the stored cursor of each stream of connector.
func (s *Store) Cursors(connector string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.view(func(tx *bbolt.Tx) error {
		cb := lookupBucket(tx, bucketCursors, connector)
		if cb == nil {
			return nil
		}
		return cb.ForEach(func(k, v []byte) error {
			out[string(k)] = clone(v)
			return nil
		})
	})
	return out, err
}

// SetCursor stores one stream's cursor outside a batch; nil deletes it.
func (s *Store) SetCursor(connector, stream string, cursor []byte) error {
	return s.update(func(tx *bbolt.Tx) error {
		cb, err := nestedBucket(tx, bucketCursors, connector)
		if err != nil {
			return err
		}
		if cursor == nil {
			return cb.Delete([]byte(stream))
		}
		return cb.Put([]byte(stream), cursor)
	})
}

// ResetCursors forgets every cursor of connector, so its next pull is a full load.
func (s *Store) ResetCursors(connector string) error {
	return s.update(func(tx *bbolt.Tx) error {
		err := tx.Bucket(bucketCursors).DeleteBucket([]byte(connector))
		if errors.Is(err, bberrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// Connectors lists the connectors that have stored records.
func (s *Store) Connectors() ([]string, error) {
	var out []string
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// Accounts returns connector's live accounts in source-ID order.
func (s *Store) Accounts(connector string) ([]record.Account, error) {
	return readAll[record.Account](s, connector, store.TypeAccount)
}

// Deals returns connector's live deals in source-ID order.
func (s *Store) Deals(connector string) ([]record.Deal, error) {
	return readAll[record.Deal](s, connector, store.TypeDeal)
}

// Customers returns connector's live customers in source-ID order.
func (s *Store) Customers(connector string) ([]record.Customer, error) {
	return readAll[record.Customer](s, connector, store.TypeCustomer)
}

// Subscriptions returns connector's live subscriptions in source-ID order.
func (s *Store) Subscriptions(connector string) ([]record.Subscription, error) {
	return readAll[record.Subscription](s, connector, store.TypeSubscription)
}

// Invoices returns connector's live invoices in source-ID order.
func (s *Store) Invoices(connector string) ([]record.Invoice, error) {
	return readAll[record.Invoice](s, connector, store.TypeInvoice)
}

// Tasks returns the CRM tasks pulled by connector, in source-ID order.
func (s *Store) Tasks(connector string) ([]record.Task, error) {
	return readAll[record.Task](s, connector, store.TypeTask)
}

// Account returns one stored account by source ID, including a tombstone
// (Deleted true); ok is false when none is stored.
func (s *Store) Account(connector, id string) (record.Account, bool, error) {
	return get[record.Account](s, connector, store.TypeAccount, id)
}

// Deal returns one stored deal by source ID (see Account).
func (s *Store) Deal(connector, id string) (record.Deal, bool, error) {
	return get[record.Deal](s, connector, store.TypeDeal, id)
}

// Customer returns one stored customer by source ID (see Account).
func (s *Store) Customer(connector, id string) (record.Customer, bool, error) {
	return get[record.Customer](s, connector, store.TypeCustomer, id)
}

// Subscription returns one stored subscription by source ID (see Account).
func (s *Store) Subscription(connector, id string) (record.Subscription, bool, error) {
	return get[record.Subscription](s, connector, store.TypeSubscription, id)
}

// Invoice returns one stored invoice by source ID (see Account).
func (s *Store) Invoice(connector, id string) (record.Invoice, bool, error) {
	return get[record.Invoice](s, connector, store.TypeInvoice, id)
}

func get[T any](s *Store, connector string, typ store.RecordType, id string) (T, bool, error) {
	var zero T
	var v []byte
	err := s.view(func(tx *bbolt.Tx) error {
		if tb := lookupBucket(tx, bucketRecords, connector, string(typ)); tb != nil {
			v = clone(tb.Get([]byte(id)))
		}
		return nil
	})
	if err != nil || v == nil {
		return zero, false, err
	}
	_, _, body := recordMeta(v)
	js, err := body.JSON()
	if err != nil {
		return zero, false, fmt.Errorf("decoding %s %s: %w", typ, id, err)
	}
	var out T
	if err := json.Unmarshal(js, &out); err != nil {
		return zero, false, fmt.Errorf("decoding %s %s: %w: %v", typ, id, store.ErrCorrupt, err)
	}
	return out, true, nil
}

// parallelMin is the record count from which records are encoded and
// decoded on all CPUs (decodeParallel).
const parallelMin = 512

// decodeParallel runs decode over [0, n) in one range per CPU when n is
// at least parallelMin, else in one call.
func decodeParallel(n int, decode func(lo, hi int) error) error {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers < 2 {
		return decode(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			break
		}
		wg.Go(func() { errs[w] = decode(lo, hi) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readAll copies the body of every live record, each after its flags
// byte, into one buffer inside a read transaction, then decompresses and
// decodes outside it, in parallel for large sets.
func readAll[T any](s *Store, connector string, typ store.RecordType) ([]T, error) {
	var buf []byte
	var ends []int
	err := s.scan(func(tx *bbolt.Tx) error {
		tb := lookupBucket(tx, bucketRecords, connector, string(typ))
		if tb == nil {
			return nil
		}
		// Size the buffer first so copying out is one pass without regrowth.
		size, n := 0, 0
		c, w := tb.Cursor(), walked{tx: tx}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			w.add(k, v)
			if _, del, body := recordMeta(v); !del {
				size += 1 + len(body.raw)
				n++
			}
		}
		buf, ends = make([]byte, 0, size), make([]int, 0, n)
		for k, v := c.First(); k != nil; k, v = c.Next() {
			w.add(k, v)
			_, del, body := recordMeta(v)
			if del {
				continue
			}
			buf = append(append(buf, body.flags), body.raw...)
			ends = append(ends, len(buf))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %ss of %s: %w", typ, connector, err)
	}
	out := make([]T, len(ends))
	decode := func(lo, hi int) error {
		var scratch []byte
		for i := lo; i < hi; i++ {
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			body := recordBody{flags: buf[start], raw: buf[start+1 : ends[i]]}
			js := body.raw
			if body.flags != 0 {
				var err error
				if scratch, err = body.appendJSON(scratch[:0]); err != nil {
					return fmt.Errorf("decoding %s %d of %s: %w", typ, i, connector, err)
				}
				js = scratch
			}
			if err := json.Unmarshal(js, &out[i]); err != nil {
				return fmt.Errorf("decoding %s %d of %s: %w: %v", typ, i, connector, store.ErrCorrupt, err)
			}
		}
		return nil
	}
	if err := decodeParallel(len(out), decode); err != nil {
		return nil, err
	}
	return out, nil
}
