package bolt

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// Export reads the whole file in one read transaction (store.Exporter).
// Buckets iterate in byte order, which is the order store.Dump names.
func (s *Store) Export() (*store.Dump, error) {
	if err := s.caughtUp(); err != nil {
		return nil, fmt.Errorf("exporting store: %w", err)
	}
	var d *store.Dump
	err := s.scan(func(tx *bbolt.Tx) error {
		d = &store.Dump{Meta: map[string][]byte{}}
		return exportTx(tx, d)
	})
	if err != nil {
		return nil, fmt.Errorf("exporting store: %w", err)
	}
	return d, nil
}

// eachNested calls fn with the name and bucket of every bucket nested in b.
func eachNested(b *bbolt.Bucket, fn func(name string, nb *bbolt.Bucket) error) error {
	return b.ForEachBucket(func(k []byte) error { return fn(string(k), b.Bucket(k)) })
}

// eachValue calls fn with every key/value pair of b (nested buckets skipped).
func eachValue(b *bbolt.Bucket, fn func(k, v []byte) error) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil
		}
		return fn(k, v)
	})
}

// decodeJSON decodes a stored JSON value into v, naming what on error.
func decodeJSON(what string, k, js []byte, v any) error {
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("%s %q: %w: %v", what, k, store.ErrCorrupt, err)
	}
	return nil
}

func exportTx(tx *bbolt.Tx, d *store.Dump) error {
	err := eachValue(tx.Bucket(bucketMeta), func(k, v []byte) error { d.Meta[string(k)] = clone(v); return nil })
	if err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketRecords), func(conn string, cb *bbolt.Bucket) error {
		d.Connectors = append(d.Connectors, conn)
		return eachNested(cb, func(typ string, tb *bbolt.Bucket) error {
			return eachValue(tb, func(k, v []byte) error {
				mod, del, body := recordMeta(v)
				js, err := body.appendJSON(nil)
				if err != nil {
					return fmt.Errorf("%s %s %q: %w", conn, typ, k, err)
				}
				d.Records = append(d.Records, store.StoredRecord{Connector: conn, Type: store.RecordType(typ), ID: string(k),
					Modified: mod, Deleted: del, Doc: js})
				return nil
			})
		})
	})
	if err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketCursors), func(conn string, cb *bbolt.Bucket) error {
		return eachValue(cb, func(k, v []byte) error {
			d.Cursors = append(d.Cursors, store.StoredCursor{Connector: conn, Stream: string(k), Cursor: clone(v)})
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketFullSync), func(conn string, cb *bbolt.Bucket) error {
		return eachNested(cb, func(stream string, sb *bbolt.Bucket) error {
			st := store.StreamState{Connector: conn, Stream: stream}
			if tb := sb.Bucket(bucketFullTypes); tb != nil {
				_ = eachValue(tb, func(k, _ []byte) error { st.Types = append(st.Types, store.RecordType(k)); return nil })
			}
			if seen := sb.Bucket(bucketFullSeen); seen != nil {
				_ = eachValue(seen, func(k, _ []byte) error {
					p := splitKey(k, 2)
					if len(p) == 2 {
						st.Seen = append(st.Seen, store.Gone{Type: store.RecordType(p[0]), ID: p[1]})
					}
					return nil
				})
			}
			// A stream bucket without types or marks (a stream that
			// yielded nothing yet) holds no state.
			if len(st.Types) > 0 || len(st.Seen) > 0 {
				d.Streams = append(d.Streams, st)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketSignals), func(acct string, ab *bbolt.Bucket) error {
		d.Signals = readSignals(ab, refFromKey(acct), time.Time{}, d.Signals)
		return nil
	})
	if err != nil {
		return err
	}
	if err := exportJSON(tx, bucketLinks, "link", &d.Links, nil); err != nil {
		return err
	}
	if err := exportJSON(tx, bucketScores, "score", &d.Scores, nil); err != nil {
		return err
	}
	if err := exportJSON(tx, bucketScoreHistory, "score history", &d.ScoreHistory, nil); err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketWritten), func(conn string, cb *bbolt.Bucket) error {
		return eachValue(cb, func(k, v []byte) error {
			var m map[string]store.WrittenValue
			if err := decodeJSON("written values", k, v, &m); err != nil {
				return err
			}
			wk := parseWriteKey(k)
			for _, f := range slices.Sorted(maps.Keys(m)) {
				d.Written = append(d.Written, store.StoredWritten{Connector: conn, Object: wk.Object, ID: wk.ID, Field: f, Value: m[f]})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = eachNested(tx.Bucket(bucketPending), func(conn string, cb *bbolt.Bucket) error {
		return eachValue(cb, func(k, v []byte) error {
			var w store.PendingWrite
			if err := decodeJSON("pending write", k, v, &w); err != nil {
				return err
			}
			d.Pending = append(d.Pending, w)
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := exportJSON(tx, bucketTasks, "task", &d.Tasks, nil); err != nil {
		return err
	}
	for _, q := range []struct {
		b   []byte
		out *[]store.QueuedEvent
	}{{bucketQueue, &d.Queue}, {bucketDeadLetters, &d.DeadLetters}} {
		err := eachValue(tx.Bucket(q.b), func(k, v []byte) error {
			e, err := decodeQueued(k, v)
			*q.out = append(*q.out, e)
			return err
		})
		if err != nil {
			return err
		}
	}
	err = eachValue(tx.Bucket(bucketDedupe), func(k, v []byte) error {
		p := splitKey(k, 2)
		if len(p) != 2 {
			return fmt.Errorf("dedupe key %q: %w", k, store.ErrCorrupt)
		}
		d.Dedupe = append(d.Dedupe, store.DedupeID{Connector: p[0], EventID: p[1], Expires: readTime(v)})
		return nil
	})
	if err != nil {
		return err
	}
	err = exportJSON(tx, bucketOutbox, "notification", &d.Outbox, func(k []byte, n *store.Notification) { n.ID = readSeq(k) })
	if err != nil {
		return err
	}
	if err := exportJSON(tx, bucketRuns, "run", &d.Runs, nil); err != nil {
		return err
	}
	d.QueueSeq = tx.Bucket(bucketQueue).Sequence()
	d.OutboxSeq = tx.Bucket(bucketOutbox).Sequence()
	return nil
}

// exportJSON appends every JSON value of top-level bucket b to out; set,
// when given, fills what the key holds.
func exportJSON[T any](tx *bbolt.Tx, b []byte, what string, out *[]T, set func(k []byte, v *T)) error {
	return eachValue(tx.Bucket(b), func(k, v []byte) error {
		var x T
		if err := decodeJSON(what, k, v, &x); err != nil {
			return err
		}
		if set != nil {
			set(k, &x)
		}
		*out = append(*out, x)
		return nil
	})
}

// Import writes d into this store, which must be empty, in one transaction
// (store.Importer), with the encodings of the rest of the package.
func (s *Store) Import(d *store.Dump) error {
	if err := s.caughtUp(); err != nil {
		return fmt.Errorf("importing store: %w", err)
	}
	err := s.update(func(tx *bbolt.Tx) error {
		for _, name := range topLevel {
			if string(name) == string(bucketSchema) {
				continue
			}
			if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
				return fmt.Errorf("bucket %s: %w", name, store.ErrNotEmpty)
			}
		}
		if err := importTx(tx, d); err != nil {
			return err
		}
		return rebuildIndexes(tx)
	})
	if err != nil {
		return fmt.Errorf("importing store: %w", err)
	}
	for _, e := range d.Queue {
		s.queued.add(e.Connector, 1)
	}
	s.afterImport(d.QueueSeq)
	return nil
}

// put stores v under the nested buckets names of top.
func put(tx *bbolt.Tx, top []byte, names []string, k, v []byte) error {
	b, err := nestedBucket(tx, top, names...)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// putJSON stores x's JSON under k in top-level bucket top.
func putJSON(tx *bbolt.Tx, top []byte, k []byte, x any) error {
	js, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("encoding %s %q: %w", top, k, err)
	}
	return tx.Bucket(top).Put(k, js)
}

func importTx(tx *bbolt.Tx, d *store.Dump) error {
	for k, v := range d.Meta {
		if err := tx.Bucket(bucketMeta).Put([]byte(k), v); err != nil {
			return err
		}
	}
	for _, c := range d.Connectors {
		if _, err := nestedBucket(tx, bucketRecords, c); err != nil {
			return err
		}
	}
	for _, r := range d.Records {
		body, err := compressBody(nil, r.Doc)
		if err != nil {
			return err
		}
		if err := put(tx, bucketRecords, []string{r.Connector, string(r.Type)}, []byte(r.ID), recordValue(r.Modified, r.Deleted, body, flagZstd1)); err != nil {
			return err
		}
	}
	for _, c := range d.Cursors {
		if err := put(tx, bucketCursors, []string{c.Connector}, []byte(c.Stream), append([]byte{}, c.Cursor...)); err != nil {
			return err
		}
	}
	for _, st := range d.Streams {
		for _, typ := range st.Types {
			if err := put(tx, bucketFullSync, []string{st.Connector, st.Stream, string(bucketFullTypes)}, []byte(typ), []byte{}); err != nil {
				return err
			}
		}
		for _, g := range st.Seen {
			if err := put(tx, bucketFullSync, []string{st.Connector, st.Stream, string(bucketFullSeen)}, joinKey(string(g.Type), g.ID), []byte{}); err != nil {
				return err
			}
		}
	}
	for _, sg := range d.Signals {
		if err := put(tx, bucketSignals, []string{sg.Account.Key()}, appendTime(append([]byte(sg.Metric), sep), sg.Time), floatBytes(sg.Value)); err != nil {
			return err
		}
	}
	for _, l := range d.Links {
		if err := putJSON(tx, bucketLinks, joinKey(l.AccountKey, l.CustomerKey), l); err != nil {
			return err
		}
	}
	for _, sn := range d.Scores {
		if err := putJSON(tx, bucketScores, []byte(sn.AccountKey), sn); err != nil {
			return err
		}
	}
	for _, sn := range d.ScoreHistory {
		if err := putJSON(tx, bucketScoreHistory, appendTime(prefixKey(sn.AccountKey), sn.At), sn); err != nil {
			return err
		}
	}
	written := map[string]map[string]map[string]store.WrittenValue{} // connector -> write key -> field
	for _, w := range d.Written {
		k := string(writeKey(w.Object, w.ID))
		if written[w.Connector] == nil {
			written[w.Connector] = map[string]map[string]store.WrittenValue{}
		}
		if written[w.Connector][k] == nil {
			written[w.Connector][k] = map[string]store.WrittenValue{}
		}
		written[w.Connector][k][w.Field] = w.Value
	}
	for conn, recs := range written {
		for k, m := range recs {
			js, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("encoding written values: %w", err)
			}
			if err := put(tx, bucketWritten, []string{conn}, []byte(k), js); err != nil {
				return err
			}
		}
	}
	for _, w := range d.Pending {
		js, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("encoding pending write: %w", err)
		}
		if err := put(tx, bucketPending, []string{w.Connector}, writeKey(w.Object, w.ID), js); err != nil {
			return err
		}
	}
	for _, t := range d.Tasks {
		if err := putJSON(tx, bucketTasks, []byte(t.DedupeKey), t); err != nil {
			return err
		}
	}
	for _, q := range []struct {
		b      []byte
		events []store.QueuedEvent
	}{{bucketQueue, d.Queue}, {bucketDeadLetters, d.DeadLetters}} {
		for i := range q.events {
			e := q.events[i]
			e.Covers = nil
			v, err := queueValue(&e)
			if err != nil {
				return err
			}
			if err := tx.Bucket(q.b).Put(seqKey(e.Seq), v); err != nil {
				return err
			}
		}
	}
	for _, dd := range d.Dedupe {
		dk, exp := joinKey(dd.Connector, dd.EventID), timeKey(dd.Expires)
		if err := tx.Bucket(bucketDedupe).Put(dk, exp); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDedupeExpiry).Put(append(exp, dk...), []byte{}); err != nil {
			return err
		}
	}
	for _, n := range d.Outbox {
		if err := putJSON(tx, bucketOutbox, seqKey(n.ID), n); err != nil {
			return err
		}
	}
	for _, r := range d.Runs {
		if err := putJSON(tx, bucketRuns, runKey(r), r); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketQueue).SetSequence(d.QueueSeq); err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).SetSequence(d.OutboxSeq)
}
