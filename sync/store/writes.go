package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
)

// Write-back state per CRM connector: written/<connector> holds the last
// value healthsync wrote successfully to each field of each record, so a pass
// writes only what changed; pending/<connector> is the durable queue of
// planned field updates not yet confirmed, which survives restarts.

// WrittenValue is the last value written to one CRM field. Value comes back
// as decoded JSON (string, float64, bool, nil); compare with Matches.
type WrittenValue struct {
	Value any       `json:"value"`
	At    time.Time `json:"at"`
}

// Matches reports whether v encodes to the same JSON as the written value,
// so int64(5) matches a stored 5.0 and a time.Time its stored string.
func (w WrittenValue) Matches(v any) bool { return sameJSON(w.Value, v) }

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// WriteKey names one CRM record.
type WriteKey struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

func writeKey(object, id string) []byte { return joinKey(object, id) }

func parseWriteKey(k []byte) WriteKey {
	p := splitKey(k, 2)
	if len(p) < 2 {
		return WriteKey{Object: p[0]}
	}
	return WriteKey{Object: p[0], ID: p[1]}
}

func checkWriteKey(object, id string) error {
	if object == "" || id == "" || strings.IndexByte(object, sep) >= 0 {
		return fmt.Errorf("invalid CRM record %q/%q", object, id)
	}
	return nil
}

// LastWritten returns the last written value of each field of one record.
func (s *Store) LastWritten(connector, object, id string) (map[string]WrittenValue, error) {
	out := map[string]WrittenValue{}
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
func (s *Store) AllWritten(connector string) (map[WriteKey]map[string]WrittenValue, error) {
	out := map[WriteKey]map[string]WrittenValue{}
	err := s.view(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketWritten, connector)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			m := map[string]WrittenValue{}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
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
	for _, u := range updates {
		if err := checkWriteKey(u.Object, u.ID); err != nil {
			return err
		}
		k := writeKey(u.Object, u.ID)
		m := map[string]WrittenValue{}
		if v := b.Get(k); v != nil {
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("written values of %s %s: %w: %v", u.Object, u.ID, ErrCorrupt, err)
			}
		}
		for f, v := range u.Fields {
			m[f] = WrittenValue{Value: v, At: at.UTC()}
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

// PendingWrite is a planned update of one CRM record's fields, kept until it
// is written or fails permanently.
type PendingWrite struct {
	Connector string         `json:"connector"`
	Object    string         `json:"object"`
	ID        string         `json:"id"`
	Fields    map[string]any `json:"fields"`
	Planned   time.Time      `json:"planned"`
	Attempts  int            `json:"attempts"`
	RetryAt   time.Time      `json:"retry_at,omitzero"`
	LastError string         `json:"last_error,omitempty"`
	// Permanent is set when the CRM rejected the update in a way retrying
	// will not fix (validation rule, missing field); a new plan clears it.
	Permanent bool `json:"permanent,omitempty"`
	// Sent holds, by field, the values sent to the CRM whose success is
	// not recorded yet (MarkSent, before the call). After a crash between
	// the call and MarkWritten, a CRM value among them is healthsync's own
	// write, not a person's edit.
	Sent map[string][]any `json:"sent,omitempty"`
}

// WasSent reports whether v is among the values sent to field.
func (p PendingWrite) WasSent(field string, v any) bool {
	for _, s := range p.Sent[field] {
		if sameJSON(s, v) {
			return true
		}
	}
	return false
}

// maxSent bounds the unconfirmed values kept per field.
const maxSent = 4

// Due reports whether the write should be attempted at now.
func (p PendingWrite) Due(now time.Time) bool { return !p.Permanent && !p.RetryAt.After(now) }

// Update is the pending write as a record.FieldUpdate.
func (p PendingWrite) Update() record.FieldUpdate {
	return record.FieldUpdate{Object: p.Object, ID: p.ID, Fields: p.Fields}
}

// PutPending adds planned writes in one transaction. A plan for a record
// that already has a pending write merges into it (new field values win);
// its attempts and retry time are kept, unless it had failed permanently, in
// which case the new plan starts over.
func (s *Store) PutPending(ws []PendingWrite) error {
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
				var old PendingWrite
				if err := json.Unmarshal(v, &old); err != nil {
					return fmt.Errorf("pending write %s %s: %w: %v", w.Object, w.ID, ErrCorrupt, err)
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
func (s *Store) Pending(connector string) ([]PendingWrite, error) {
	var out []PendingWrite
	err := s.view(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var w PendingWrite
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("pending write %q: %w: %v", k, ErrCorrupt, err)
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
			err := changePending(b, u.Object, u.ID, func(w *PendingWrite) bool {
				for f, val := range u.Fields {
					if pv, ok := w.Fields[f]; ok && sameJSON(pv, val) {
						delete(w.Fields, f)
					}
					delete(w.Sent, f) // the CRM now holds a recorded value
				}
				return len(w.Fields) > 0
			})
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
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		for _, u := range updates {
			err := changePending(b, u.Object, u.ID, func(w *PendingWrite) bool {
				for f, v := range u.Fields {
					if w.WasSent(f, v) {
						continue
					}
					if w.Sent == nil {
						w.Sent = map[string][]any{}
					}
					sent := append(w.Sent[f], v)
					w.Sent[f] = sent[max(0, len(sent)-maxSent):]
				}
				return true
			})
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
func changePending(b *bbolt.Bucket, object, id string, change func(*PendingWrite) (keep bool)) error {
	k := writeKey(object, id)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var w PendingWrite
	if err := json.Unmarshal(v, &w); err != nil {
		return fmt.Errorf("pending write %s %s: %w: %v", object, id, ErrCorrupt, err)
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

// WriteFailure is one record's failed write.
type WriteFailure struct {
	Object    string
	ID        string
	RetryAt   time.Time // when to try again (ignored when Permanent)
	Err       string
	Permanent bool
}

// MarkFailed counts a failed attempt for each record, in one transaction.
// Other records' pending writes are untouched, so one bad record never
// blocks the rest.
func (s *Store) MarkFailed(connector string, fails []WriteFailure) error {
	err := s.update(func(tx *bbolt.Tx) error {
		b := lookupBucket(tx, bucketPending, connector)
		if b == nil {
			return nil
		}
		for _, f := range fails {
			err := changePending(b, f.Object, f.ID, func(w *PendingWrite) bool {
				w.Attempts++
				w.LastError = f.Err
				w.Permanent = f.Permanent
				w.RetryAt = f.RetryAt.UTC()
				return true
			})
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
