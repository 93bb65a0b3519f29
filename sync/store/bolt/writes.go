package bolt

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Write-back state per CRM connector: written/<connector> holds the last
// value healthsync wrote successfully to each field of each record, so a pass
// writes only what changed; pending/<connector> is the durable queue of
// planned field updates not yet confirmed, which survives restarts.

func writeKey(object, id string) []byte { return joinKey(object, id) }

func parseWriteKey(k []byte) store.WriteKey {
	p := splitKey(k, 2)
	if len(p) < 2 {
		return store.WriteKey{Object: p[0]}
	}
	return store.WriteKey{Object: p[0], ID: p[1]}
}

func checkWriteKey(object, id string) error {
	if object == "" || id == "" || strings.IndexByte(object, sep) >= 0 {
		return fmt.Errorf("invalid CRM record %q/%q", object, id)
	}
	return nil
}

// LastWritten returns the last written value of each field of one record.
func (s *Store) LastWritten(connector, object, id string) (map[string]store.WrittenValue, error) {
	out := map[string]store.WrittenValue{}
	err := s.view(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketWritten, connector)
		if b == nil {
			return nil
		}
		if v := b.Get(writeKey(object, id)); v != nil {
			return json.Unmarshal(v, &out)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading written values of %s %s: %w", object, id, err)
	}
	return out, nil
}

// AllWritten returns the last written values of every record of connector.
func (s *Store) AllWritten(connector string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	out := map[store.WriteKey]map[string]store.WrittenValue{}
	err := s.scan(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketWritten, connector)
		if b == nil {
			return nil
		}
		w := walked{tx: tx}
		return b.ForEach(func(k, v []byte) error {
			w.add(k, v)
			m := map[string]store.WrittenValue{}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: %v", store.ErrCorrupt, err)
			}
			out[parseWriteKey(k)] = m
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading written values of %s: %w", connector, err)
	}
	return out, nil
}

// WrittenOf returns the last written values of the records ids of object,
// in one transaction; records never written have no entry.
func (s *Store) WrittenOf(connector, object string, ids []string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	out := map[store.WriteKey]map[string]store.WrittenValue{}
	err := s.view(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketWritten, connector)
		if b == nil {
			return nil
		}
		// Decoded on all CPUs, inside the transaction (the values are its
		// pages), for the read-back of a large write-back: 10,000 entries
		// took 90 ms on one.
		vals := make([][]byte, len(ids))
		for i, id := range ids {
			vals[i] = b.Get(writeKey(object, id))
		}
		decoded := make([]map[string]store.WrittenValue, len(ids))
		err := decodeParallel(len(ids), func(lo, hi int) error {
			for i := lo; i < hi; i++ {
				if vals[i] == nil {
					continue
				}
				m := map[string]store.WrittenValue{}
				if err := json.Unmarshal(vals[i], &m); err != nil {
					return fmt.Errorf("%s %s: %w: %v", object, ids[i], store.ErrCorrupt, err)
				}
				decoded[i] = m
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, id := range ids {
			if decoded[i] != nil {
				out[store.WriteKey{Object: object, ID: id}] = decoded[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading written values of %d %s records: %w", len(ids), object, err)
	}
	return out, nil
}

// PutWritten records that updates were written successfully at at. Fields
// not named keep their previous record.
func (s *Store) PutWritten(connector string, updates []record.FieldUpdate, at time.Time) error {
	err := s.update(func(tx *bbolt.Tx) error {
		return putWritten(tx, connector, updates, at)
	})
	if err != nil {
		return fmt.Errorf("recording written values: %w", err)
	}
	return nil
}

func putWritten(tx *bbolt.Tx, connector string, updates []record.FieldUpdate, at time.Time) error {
	b, err := nestedBucket(tx, bucketWritten, connector)
	if err != nil {
		return err
	}
	keys := make([][]byte, len(updates))
	for i, u := range updates {
		if err := checkWriteKey(u.Object, u.ID); err != nil {
			return err
		}
		keys[i] = writeKey(u.Object, u.ID)
	}
	fillForAppend(b, keys)
	for i, u := range updates {
		k := keys[i]
		m := map[string]store.WrittenValue{}
		if v := b.Get(k); v != nil {
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("written values of %s %s: %w: %v", u.Object, u.ID, store.ErrCorrupt, err)
			}
		}
		for f, v := range u.Fields {
			m[f] = store.WrittenValue{Value: v, At: at.UTC()}
		}
		js, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encoding written values of %s %s: %w", u.Object, u.ID, err)
		}
		if err := b.Put(k, js); err != nil {
			return err
		}
	}
	return nil
}

// PutPending adds planned writes in one transaction. A plan for a record
// that already has a pending write merges into it (new field values win);
// its attempts and retry time are kept, unless it had failed permanently, in
// which case the new plan starts over.
func (s *Store) PutPending(ws []store.PendingWrite) error {
	for _, w := range ws {
		if err := checkWriteKey(w.Object, w.ID); err != nil {
			return fmt.Errorf("putting pending writes: %w", err)
		}
		if w.Connector == "" {
			return fmt.Errorf("putting pending writes: %s %s has no connector", w.Object, w.ID)
		}
	}
	now := s.now().UTC()
	err := s.update(func(tx *bbolt.Tx) error {
		for _, w := range ws {
			b, err := nestedBucket(tx, bucketPending, w.Connector)
			if err != nil {
				return err
			}
			k := writeKey(w.Object, w.ID)
			if v := b.Get(k); v != nil {
				var old store.PendingWrite
				if err := json.Unmarshal(v, &old); err != nil {
					return fmt.Errorf("pending write %s %s: %w: %v", w.Object, w.ID, store.ErrCorrupt, err)
				}
				fields := old.Fields
				if fields == nil {
					fields = map[string]any{}
				}
				for f, val := range w.Fields {
					fields[f] = val
				}
				if !old.Permanent {
					w.Attempts, w.RetryAt, w.LastError = old.Attempts, old.RetryAt, old.LastError
				} else {
					w.Attempts, w.RetryAt, w.LastError = 0, time.Time{}, ""
				}
				w.Fields = fields
				if w.Sent == nil {
					w.Sent = old.Sent
				}
			}
			w.Permanent = false
			if w.Planned.IsZero() {
				w.Planned = now
			}
			js, err := json.Marshal(w)
			if err != nil {
				return fmt.Errorf("encoding pending write %s %s: %w", w.Object, w.ID, err)
			}
			if err := b.Put(k, js); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("putting pending writes: %w", err)
	}
	return nil
}

// Pending returns connector's pending writes (due or not, including
// permanent failures), ordered by object and ID. Filter with Due.
func (s *Store) Pending(connector string) ([]store.PendingWrite, error) {
	var out []store.PendingWrite
	err := s.scan(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var w store.PendingWrite
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("pending write %q: %w: %v", k, store.ErrCorrupt, err)
			}
			out = append(out, w)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading pending writes of %s: %w", connector, err)
	}
	return out, nil
}

// MarkWritten records, in one transaction, that updates were written at
// at: their values become the last written ones, and each field whose
// pending value is the one written leaves the pending queue (a record's
// pending write goes when no field is left). A field re-planned with a
// different value meanwhile stays pending.
func (s *Store) MarkWritten(connector string, updates []record.FieldUpdate, at time.Time) error {
	err := s.update(func(tx *bbolt.Tx) error {
		if err := putWritten(tx, connector, updates, at); err != nil {
			return err
		}
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		for _, u := range updates {
			err := changePending(b, u.Object, u.ID, func(w *store.PendingWrite) bool { return w.Recorded(u) })
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("marking writes done: %w", err)
	}
	return nil
}

// MarkSent records durably, in one transaction and before the call that
// sends them, the values of updates as sent to the CRM: until MarkWritten
// records the outcome, a CRM value among them is known to be healthsync's.
// An update without a pending write records nothing.
func (s *Store) MarkSent(connector string, updates []record.FieldUpdate) error {
	err := s.update(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		for _, u := range updates {
			err := changePending(b, u.Object, u.ID, func(w *store.PendingWrite) bool { w.AddSent(u); return true })
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording values sent: %w", err)
	}
	return nil
}

// changePending applies change to the pending write of (object, id), if
// there is one, and stores it, or deletes it when change returns false.
func changePending(b *bbolt.Bucket, object, id string, change func(*store.PendingWrite) (keep bool)) error {
	k := writeKey(object, id)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var w store.PendingWrite
	if err := json.Unmarshal(v, &w); err != nil {
		return fmt.Errorf("pending write %s %s: %w: %v", object, id, store.ErrCorrupt, err)
	}
	if !change(&w) {
		return b.Delete(k)
	}
	js, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return b.Put(k, js)
}

// MarkFailed counts a failed attempt for each record, in one transaction.
// Other records' pending writes are untouched, so one bad record never
// blocks the rest.
func (s *Store) MarkFailed(connector string, fails []store.WriteFailure) error {
	err := s.update(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		for _, f := range fails {
			err := changePending(b, f.Object, f.ID, func(w *store.PendingWrite) bool { w.Failed(f); return true })
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("marking writes failed: %w", err)
	}
	return nil
}

// DropPending removes one record's pending write, for example when the
// record was deleted in the CRM.
func (s *Store) DropPending(connector, object, id string) error {
	return s.update(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		return b.Delete(writeKey(object, id))
	})
}
