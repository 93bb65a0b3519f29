package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// The write ledger: written holds one row per CRM field written (its value
// as JSON), pending one row per CRM record with a planned write (the
// store.PendingWrite as JSON). Pending writes are read, changed and written
// back under the advisory lock "pending/<connector>".

// LastWritten returns the last written value of each field of one record.
func (s *Store) LastWritten(connector, object, id string) (map[string]store.WrittenValue, error) {
	out := map[string]store.WrittenValue{}
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT object, id, field, value, at FROM written WHERE connector = $1 AND object = $2 AND id = $3`,
			connector, object, id)
		if err != nil {
			return err
		}
		return eachWritten(rows, func(_ store.WriteKey, field string, v store.WrittenValue) { out[field] = v })
	})
	if err != nil {
		return nil, fmt.Errorf("reading written values of %s %s: %w", object, id, err)
	}
	return out, nil
}

// WrittenOf returns LastWritten of each of ids in one query.
func (s *Store) WrittenOf(connector, object string, ids []string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	out, err := s.writtenByRecord(`SELECT object, id, field, value, at FROM written WHERE connector = $1 AND object = $2 AND id = ANY($3)`,
		connector, object, ids)
	if err != nil {
		return nil, fmt.Errorf("reading written values of %d %s records: %w", len(ids), object, err)
	}
	return out, nil
}

// AllWritten returns LastWritten of every record of connector.
func (s *Store) AllWritten(connector string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	out, err := s.writtenByRecord(`SELECT object, id, field, value, at FROM written WHERE connector = $1`, connector)
	if err != nil {
		return nil, fmt.Errorf("reading written values of %s: %w", connector, err)
	}
	return out, nil
}

// writtenByRecord runs a query of written rows and groups them by record.
func (s *Store) writtenByRecord(sql string, args ...any) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	out := map[store.WriteKey]map[string]store.WrittenValue{}
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		return eachWritten(rows, func(k store.WriteKey, field string, v store.WrittenValue) {
			if out[k] == nil {
				out[k] = map[string]store.WrittenValue{}
			}
			out[k][field] = v
		})
	})
	return out, err
}

// eachWritten decodes rows of (object, id, field, value, at).
func eachWritten(rows pgx.Rows, fn func(store.WriteKey, string, store.WrittenValue)) error {
	var k store.WriteKey
	var field string
	var value []byte
	var at pgtype.Timestamptz
	_, err := pgx.ForEachRow(rows, []any{&k.Object, &k.ID, &field, &value, &at}, func() error {
		var v any
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("written value of %s %s %s: %w: %v", k.Object, k.ID, field, store.ErrCorrupt, err)
		}
		fn(k, field, store.WrittenValue{Value: v, At: fromTS(at)})
		return nil
	})
	return err
}

// PutWritten records that updates were written at at.
func (s *Store) PutWritten(connector string, updates []record.FieldUpdate, at time.Time) error {
	b, err := writtenBatch(connector, updates, at)
	if err == nil {
		err = s.tx(func(ctx context.Context, tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	}
	if err != nil {
		return fmt.Errorf("recording written values: %w", err)
	}
	return nil
}

// writtenBatch is the upserts that record updates as written at at.
func writtenBatch(connector string, updates []record.FieldUpdate, at time.Time) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	for _, u := range updates {
		if err := checkRecord(u.Object, u.ID); err != nil {
			return nil, err
		}
		for field, v := range u.Fields {
			js, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encoding %s of %s %s: %w", field, u.Object, u.ID, err)
			}
			b.Queue(`INSERT INTO written (connector, object, id, field, value, at) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (connector, object, id, field) DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at`,
				connector, u.Object, u.ID, field, js, ts(at))
		}
	}
	return b, nil
}

func checkRecord(object, id string) error {
	if object == "" || id == "" {
		return fmt.Errorf("invalid CRM record %q/%q", object, id)
	}
	return nil
}

// PutPending stores planned writes in one transaction, merging into the
// pending write of the same record (see store.WriteLedger).
func (s *Store) PutPending(ws []store.PendingWrite) error {
	for _, w := range ws {
		if err := checkRecord(w.Object, w.ID); err != nil {
			return fmt.Errorf("putting pending writes: %w", err)
		}
		if w.Connector == "" {
			return fmt.Errorf("putting pending writes: %s %s has no connector", w.Object, w.ID)
		}
	}
	now := s.now()
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		locked := map[string]bool{}
		for _, w := range ws {
			if !locked[w.Connector] {
				if err := lockKey(ctx, tx, "pending/"+w.Connector); err != nil {
					return err
				}
				locked[w.Connector] = true
			}
			old, found, err := readPending(ctx, tx, w.Connector, w.Object, w.ID)
			if err != nil {
				return err
			}
			if found {
				fields := old.Fields
				if fields == nil {
					fields = map[string]any{}
				}
				for f, v := range w.Fields {
					fields[f] = v
				}
				w.Fields = fields
				if w.Sent == nil {
					w.Sent = old.Sent
				}
				if old.Permanent {
					w.Attempts, w.RetryAt, w.LastError = 0, time.Time{}, ""
				} else {
					w.Attempts, w.RetryAt, w.LastError = old.Attempts, old.RetryAt, old.LastError
				}
			}
			w.Permanent = false
			if w.Planned.IsZero() {
				w.Planned = now
			}
			if err := writePending(ctx, tx, w); err != nil {
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

func readPending(ctx context.Context, tx pgx.Tx, connector, object, id string) (store.PendingWrite, bool, error) {
	ws, err := pgx.CollectRows(rowsOf(tx.Query(ctx, `SELECT doc FROM pending WHERE connector = $1 AND object = $2 AND id = $3`,
		connector, object, id)), decodeDoc[store.PendingWrite])
	if err != nil || len(ws) == 0 {
		return store.PendingWrite{}, false, err
	}
	return ws[0], true, nil
}

func writePending(ctx context.Context, tx pgx.Tx, w store.PendingWrite) error {
	doc, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encoding pending write %s %s: %w", w.Object, w.ID, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO pending (connector, object, id, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (connector, object, id) DO UPDATE SET doc = EXCLUDED.doc`, w.Connector, w.Object, w.ID, doc)
	return err
}

// changePending applies change to the pending write of (object, id), if
// there is one, and stores it, or deletes it when change returns false.
func changePending(ctx context.Context, tx pgx.Tx, connector, object, id string, change func(*store.PendingWrite) (keep bool)) error {
	w, found, err := readPending(ctx, tx, connector, object, id)
	if err != nil || !found {
		return err
	}
	if change(&w) {
		return writePending(ctx, tx, w)
	}
	_, err = tx.Exec(ctx, `DELETE FROM pending WHERE connector = $1 AND object = $2 AND id = $3`, connector, object, id)
	return err
}

// Pending returns connector's pending writes ordered by object then ID.
func (s *Store) Pending(connector string) ([]store.PendingWrite, error) {
	return queryDocs[store.PendingWrite](s, "reading pending writes of "+connector,
		`SELECT doc FROM pending WHERE connector = $1 ORDER BY object, id`, connector)
}

// MarkWritten does PutWritten and, in the same transaction, removes from
// each record's pending write the fields whose pending value was written.
func (s *Store) MarkWritten(connector string, updates []record.FieldUpdate, at time.Time) error {
	b, err := writtenBatch(connector, updates, at)
	if err == nil {
		err = s.tx(func(ctx context.Context, tx pgx.Tx) error {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if err := lockKey(ctx, tx, "pending/"+connector); err != nil {
				return err
			}
			for _, u := range updates {
				err := changePending(ctx, tx, connector, u.Object, u.ID, func(w *store.PendingWrite) bool { return w.Recorded(u) })
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("marking writes done: %w", err)
	}
	return nil
}

// MarkFailed counts one failed attempt on each named record's pending
// write; records without one are skipped.
func (s *Store) MarkFailed(connector string, fails []store.WriteFailure) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		if err := lockKey(ctx, tx, "pending/"+connector); err != nil {
			return err
		}
		for _, f := range fails {
			err := changePending(ctx, tx, connector, f.Object, f.ID, func(w *store.PendingWrite) bool { w.Failed(f); return true })
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

// DropPending deletes one record's pending write.
func (s *Store) DropPending(connector, object, id string) error {
	err := s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM pending WHERE connector = $1 AND object = $2 AND id = $3`, connector, object, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("dropping pending write %s %s: %w", object, id, err)
	}
	return nil
}

// MarkSent records, in one transaction and before the call that sends them,
// the values of updates as sent on their pending writes.
func (s *Store) MarkSent(connector string, updates []record.FieldUpdate) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		if err := lockKey(ctx, tx, "pending/"+connector); err != nil {
			return err
		}
		for _, u := range updates {
			err := changePending(ctx, tx, connector, u.Object, u.ID, func(w *store.PendingWrite) bool { w.AddSent(u); return true })
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
