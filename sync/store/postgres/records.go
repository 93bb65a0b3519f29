package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Records: one row per (connector, type, source ID) holding the record's
// JSON as committed, its modified time (NULL when zero) and a tombstone
// flag. Every transaction that reads records to decide what to write takes
// the advisory lock "records/<connector>" first, so two replicas committing
// pages of one connector take turns.

// row is one record of a batch, or a stored one.
type row struct {
	typ      store.RecordType
	id       string
	modified time.Time
	deleted  bool
	doc      []byte
}

type rowKey struct {
	typ store.RecordType
	id  string
}

// appendRows marshals recs as rows of typ; ref reads a record's Ref and
// whether the vendor flagged it deleted.
func appendRows[T any](rows []row, typ store.RecordType, recs []T, ref func(*T) (record.Ref, bool)) ([]row, error) {
	for i := range recs {
		r, del := ref(&recs[i])
		if r.ID == "" {
			return nil, fmt.Errorf("%s %d of the batch has an empty source ID", typ, i)
		}
		doc, err := json.Marshal(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", typ, r.ID, err)
		}
		rows = append(rows, row{typ: typ, id: r.ID, modified: r.Modified, deleted: del, doc: doc})
	}
	return rows, nil
}

// batchRows is every record of b as rows, in the order the store applies them.
func batchRows(b *record.Batch) (out []row, err error) {
	out = make([]row, 0, b.Len())
	if out, err = appendRows(out, store.TypeAccount, b.Accounts, func(r *record.Account) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = appendRows(out, store.TypeDeal, b.Deals, func(r *record.Deal) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = appendRows(out, store.TypeCustomer, b.Customers, func(r *record.Customer) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = appendRows(out, store.TypeSubscription, b.Subscriptions, func(r *record.Subscription) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	if out, err = appendRows(out, store.TypeInvoice, b.Invoices, func(r *record.Invoice) (record.Ref, bool) { return r.Ref, r.Deleted }); err != nil {
		return nil, err
	}
	return appendRows(out, store.TypeTask, b.Tasks, func(r *record.Task) (record.Ref, bool) { return r.Ref, false })
}

// CommitBatch stores one pulled page of connector, with its cursor and
// full-enumeration marks, in one transaction (see store.RecordStore).
func (s *Store) CommitBatch(connector string, b *record.Batch) (store.CommitStats, error) {
	if connector == "" {
		return store.CommitStats{}, errors.New("committing batch: empty connector name")
	}
	if b.Stream == "" && (b.Cursor != nil || b.Full) {
		return store.CommitStats{}, errors.New("committing batch: a cursor or full enumeration needs a stream name")
	}
	rows, err := batchRows(b)
	if err != nil {
		return store.CommitStats{}, fmt.Errorf("committing batch: %w", err)
	}
	var st store.CommitStats
	err = s.tx(func(ctx context.Context, tx pgx.Tx) error {
		st = store.CommitStats{}
		if err := lockKey(ctx, tx, "records/"+connector); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO connectors (connector) VALUES ($1) ON CONFLICT DO NOTHING`, connector); err != nil {
			return err
		}
		types, err := upsertRows(ctx, tx, connector, rows, &st)
		if err != nil {
			return err
		}
		for _, ref := range b.Deleted {
			if err := deleteRef(ctx, tx, connector, ref, &st); err != nil {
				return err
			}
		}
		if b.Cursor != nil {
			if err := putCursor(ctx, tx, connector, b.Stream, b.Cursor); err != nil {
				return err
			}
		}
		if b.Stream != "" && (b.Full || len(types) > 0) {
			return trackStream(ctx, tx, connector, b, rows, types, &st)
		}
		return nil
	})
	if err != nil {
		return store.CommitStats{}, fmt.Errorf("committing %s batch of %s: %w", b.Stream, connector, err)
	}
	return st, nil
}

// upsertRows applies rows in order: it reads the stored copies, decides
// each row against the copy (or the row before it in the batch), counts it
// in st and writes what changed. It returns the types the rows hold.
func upsertRows(ctx context.Context, tx pgx.Tx, connector string, rows []row, st *store.CommitStats) (map[store.RecordType]bool, error) {
	types := map[store.RecordType]bool{}
	if len(rows) == 0 {
		return types, nil
	}
	typs, ids := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		typs[i], ids[i] = string(r.typ), r.id
		types[r.typ] = true
	}
	stored, err := pgx.CollectRows(rowsOf(tx.Query(ctx, `
		SELECT r.type, r.id, r.modified, r.deleted, r.doc FROM records r
		JOIN unnest($2::text[], $3::text[]) AS b(type, id) ON r.type = b.type AND r.id = b.id
		WHERE r.connector = $1`, connector, typs, ids)), scanRow)
	if err != nil {
		return nil, fmt.Errorf("reading stored records: %w", err)
	}
	cur := make(map[rowKey]row, len(stored))
	for _, r := range stored {
		cur[rowKey{r.typ, r.id}] = r
	}
	var writes []rowKey
	for _, r := range rows {
		k := rowKey{r.typ, r.id}
		old, ok := cur[k]
		switch {
		case !ok:
			if r.deleted {
				st.Deleted++
			} else {
				st.Inserted++
			}
		case !r.modified.IsZero() && r.modified.Before(old.modified):
			st.Stale++
			continue
		case old.deleted == r.deleted && bytes.Equal(old.doc, r.doc):
			st.Unchanged++
			continue
		default:
			if r.modified.IsZero() {
				r.modified = old.modified
			}
			if r.deleted && !old.deleted {
				st.Deleted++
			} else {
				st.Updated++
			}
		}
		cur[k] = r
		writes = append(writes, k)
	}
	var batch pgx.Batch
	for _, k := range writes {
		queuePut(&batch, connector, cur[k])
	}
	return types, tx.SendBatch(ctx, &batch).Close()
}

// queuePut queues the upsert of one record row.
func queuePut(b *pgx.Batch, connector string, r row) {
	b.Queue(`INSERT INTO records (connector, type, id, modified, deleted, doc) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (connector, type, id) DO UPDATE SET modified = EXCLUDED.modified, deleted = EXCLUDED.deleted, doc = EXCLUDED.doc`,
		connector, string(r.typ), r.id, ts(r.modified), r.deleted, r.doc)
}

func scanRow(r pgx.CollectableRow) (row, error) {
	var out row
	var typ string
	var mod pgtype.Timestamptz
	err := r.Scan(&typ, &out.id, &mod, &out.deleted, &out.doc)
	out.typ, out.modified = store.RecordType(typ), fromTS(mod)
	return out, err
}

// recordTypes are the type names in the order a deletion looks in.
var recordTypes = func() []string {
	out := make([]string, len(store.RecordTypes))
	for i, t := range store.RecordTypes {
		out[i] = string(t)
	}
	return out
}()

// deleteRef makes the record ref names a tombstone, in whichever type
// holds its ID; a deletion older than the stored copy is stale, one of a
// tombstone unchanged, one of an unknown ID not counted.
func deleteRef(ctx context.Context, tx pgx.Tx, connector string, ref record.Ref, st *store.CommitStats) error {
	old, err := pgx.CollectRows(rowsOf(tx.Query(ctx, `
		SELECT type, id, modified, deleted, doc FROM records WHERE connector = $1 AND id = $2
		ORDER BY array_position($3::text[], type::text) LIMIT 1`, connector, ref.ID, recordTypes)), scanRow)
	if err != nil || len(old) == 0 {
		return err
	}
	r := old[0]
	switch {
	case r.deleted:
		st.Unchanged++
		return nil
	case !ref.Modified.IsZero() && ref.Modified.Before(r.modified):
		st.Stale++
		return nil
	}
	if !ref.Modified.IsZero() {
		r.modified = ref.Modified
	}
	if r.doc, err = tombstoneDoc(r.doc, ref.Modified); err != nil {
		return fmt.Errorf("deleting %s %s: %w", r.typ, r.id, err)
	}
	r.deleted = true
	st.Deleted++
	var b pgx.Batch
	queuePut(&b, connector, r)
	return tx.SendBatch(ctx, &b).Close()
}

// tombstoneDoc sets "deleted": true in a record's JSON and, unless
// modified is zero, "modified".
func tombstoneDoc(doc []byte, modified time.Time) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &fields); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	fields["deleted"] = json.RawMessage("true")
	if !modified.IsZero() {
		m, err := modified.MarshalJSON()
		if err != nil {
			return nil, err
		}
		fields["modified"] = m
	}
	return json.Marshal(fields)
}

// ApplyDeletions makes tombstones of the records of gone still live with
// exactly the modified time reported (see store.RecordStore).
func (s *Store) ApplyDeletions(connector string, gone []store.Gone) (int, error) {
	n := 0
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		n = 0
		if err := lockKey(ctx, tx, "records/"+connector); err != nil {
			return err
		}
		var b pgx.Batch
		for _, g := range gone {
			old, err := pgx.CollectRows(rowsOf(tx.Query(ctx, `
				SELECT type, id, modified, deleted, doc FROM records WHERE connector = $1 AND type = $2 AND id = $3`,
				connector, string(g.Type), g.ID)), scanRow)
			if err != nil {
				return err
			}
			if len(old) == 0 || old[0].deleted || !old[0].modified.Equal(g.Modified) {
				continue
			}
			r := old[0]
			if r.doc, err = tombstoneDoc(r.doc, time.Time{}); err != nil {
				return fmt.Errorf("deleting %s %s: %w", g.Type, g.ID, err)
			}
			r.deleted = true
			queuePut(&b, connector, r)
			n++
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("applying deletions of %s: %w", connector, err)
	}
	return n, nil
}

// trackStream remembers the batch's types for its stream and, for a full
// enumeration, marks its records seen and (when Done) reports the live
// records of the stream's types that no batch marked, then clears the marks.
func trackStream(ctx context.Context, tx pgx.Tx, connector string, b *record.Batch, rows []row, types map[store.RecordType]bool, st *store.CommitStats) error {
	var batch pgx.Batch
	for typ := range types {
		batch.Queue(`INSERT INTO stream_types (connector, stream, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			connector, b.Stream, string(typ))
	}
	if b.Full {
		for _, r := range rows {
			batch.Queue(`INSERT INTO stream_seen (connector, stream, type, id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				connector, b.Stream, string(r.typ), r.id)
		}
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return err
	}
	if !b.Full || !b.Done {
		return nil
	}
	unseen, err := pgx.CollectRows(rowsOf(tx.Query(ctx, `
		SELECT r.type, r.id, r.modified FROM records r
		JOIN stream_types t ON t.connector = r.connector AND t.type = r.type AND t.stream = $2
		WHERE r.connector = $1 AND NOT r.deleted AND NOT EXISTS (
			SELECT 1 FROM stream_seen m
			WHERE m.connector = r.connector AND m.stream = $2 AND m.type = r.type AND m.id = r.id)
		ORDER BY r.type, r.id`, connector, b.Stream)), func(r pgx.CollectableRow) (store.Gone, error) {
		var g store.Gone
		var typ string
		var mod pgtype.Timestamptz
		err := r.Scan(&typ, &g.ID, &mod)
		g.Type, g.Modified = store.RecordType(typ), fromTS(mod)
		return g, err
	})
	if err != nil {
		return fmt.Errorf("finding unseen records: %w", err)
	}
	st.Unseen = append(st.Unseen, unseen...)
	_, err = tx.Exec(ctx, `DELETE FROM stream_seen WHERE connector = $1 AND stream = $2`, connector, b.Stream)
	return err
}

// ResetFull forgets the seen marks of an unfinished full enumeration.
func (s *Store) ResetFull(connector, stream string) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		if err := lockKey(ctx, tx, "records/"+connector); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM stream_seen WHERE connector = $1 AND stream = $2`, connector, stream)
		return err
	})
	if err != nil {
		return fmt.Errorf("resetting full enumeration %s of %s: %w", stream, connector, err)
	}
	return nil
}

// Counts returns the number of live records of each type connector has
// stored.
func (s *Store) Counts(connector string) (map[store.RecordType]int, error) {
	out := map[store.RecordType]int{}
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT type, count(*) FILTER (WHERE NOT deleted) FROM records WHERE connector = $1 GROUP BY type`, connector)
		if err != nil {
			return err
		}
		var typ string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&typ, &n}, func() error {
			out[store.RecordType(typ)] = n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("counting records of %s: %w", connector, err)
	}
	return out, nil
}

// Connectors lists, in order, the connectors that have committed a batch.
func (s *Store) Connectors() ([]string, error) {
	var out []string
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx, `SELECT connector FROM connectors ORDER BY connector`)), pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing connectors: %w", err)
	}
	return out, nil
}

// NewestModified returns the latest Ref.Modified of connector's stored
// records, tombstones included; zero when it has none.
func (s *Store) NewestModified(connector string) (time.Time, error) {
	var newest *time.Time
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT max(modified) FROM records WHERE connector = $1`, connector).Scan(&newest)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the newest record of %s: %w", connector, err)
	}
	if newest == nil {
		return time.Time{}, nil
	}
	return newest.UTC(), nil
}
