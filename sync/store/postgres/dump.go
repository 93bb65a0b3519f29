package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Export reads every table in one REPEATABLE READ, read-only transaction,
// so the dump is one moment of the database even while replicas write
// (store.Exporter). Claims are not exported.
func (s *Store) Export() (*store.Dump, error) {
	var d *store.Dump
	err := s.call(func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			d = &store.Dump{Meta: map[string][]byte{}}
			return exportTx(ctx, tx, d)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("exporting store: %w", err)
	}
	return d, nil
}

// collect runs query in tx and scans every row with scan.
func collect[T any](ctx context.Context, tx pgx.Tx, query string, scan func(r pgx.CollectableRow) (T, error)) ([]T, error) {
	return pgx.CollectRows(rowsOf(tx.Query(ctx, query)), scan)
}

// unmarshalDoc decodes a json column into v.
func unmarshalDoc(what string, doc []byte, v any) error {
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("%s: %w: %v", what, store.ErrCorrupt, err)
	}
	return nil
}

// docOf scans one json column into a T.
func docOf[T any](what string) func(r pgx.CollectableRow) (T, error) {
	return func(r pgx.CollectableRow) (T, error) {
		var x T
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return x, err
		}
		return x, unmarshalDoc(what, doc, &x)
	}
}

func exportTx(ctx context.Context, tx pgx.Tx, d *store.Dump) (err error) {
	meta, err := collect(ctx, tx, `SELECT key, value FROM meta ORDER BY key`, func(r pgx.CollectableRow) ([2][]byte, error) {
		var k string
		var v []byte
		err := r.Scan(&k, &v)
		return [2][]byte{[]byte(k), v}, err
	})
	if err != nil {
		return fmt.Errorf("reading meta: %w", err)
	}
	for _, kv := range meta {
		d.Meta[string(kv[0])] = kv[1]
	}
	if d.Connectors, err = collect(ctx, tx, `SELECT connector FROM connectors ORDER BY connector`, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("reading connectors: %w", err)
	}
	d.Records, err = collect(ctx, tx, `SELECT connector, type, id, modified, deleted, doc FROM records ORDER BY connector, type, id`,
		func(r pgx.CollectableRow) (store.StoredRecord, error) {
			var x store.StoredRecord
			var mod pgtype.Timestamptz
			var doc []byte
			err := r.Scan(&x.Connector, &x.Type, &x.ID, &mod, &x.Deleted, &doc)
			x.Modified, x.Doc = fromTS(mod), doc
			return x, err
		})
	if err != nil {
		return fmt.Errorf("reading records: %w", err)
	}
	d.Cursors, err = collect(ctx, tx, `SELECT connector, stream, cursor FROM cursors ORDER BY connector, stream`,
		func(r pgx.CollectableRow) (store.StoredCursor, error) {
			var c store.StoredCursor
			err := r.Scan(&c.Connector, &c.Stream, &c.Cursor)
			return c, err
		})
	if err != nil {
		return fmt.Errorf("reading cursors: %w", err)
	}
	if err := exportStreams(ctx, tx, d); err != nil {
		return err
	}
	d.Signals, err = collect(ctx, tx, `SELECT account_key, metric, at, value FROM signals ORDER BY account_key, metric, at`,
		func(r pgx.CollectableRow) (record.Signal, error) {
			var sg record.Signal
			var key string
			err := r.Scan(&key, &sg.Metric, &sg.Time, &sg.Value)
			sys, id, _ := strings.Cut(key, "/")
			sg.Account, sg.Time = record.Ref{System: sys, ID: id}, sg.Time.UTC()
			return sg, err
		})
	if err != nil {
		return fmt.Errorf("reading signals: %w", err)
	}
	d.Links, err = collect(ctx, tx, `SELECT account_key, customer_key, rule, created FROM links ORDER BY account_key, customer_key`,
		func(r pgx.CollectableRow) (store.Link, error) {
			var l store.Link
			err := r.Scan(&l.AccountKey, &l.CustomerKey, &l.Rule, &l.Created)
			l.Created = l.Created.UTC()
			return l, err
		})
	if err != nil {
		return fmt.Errorf("reading links: %w", err)
	}
	if d.Scores, err = collect(ctx, tx, `SELECT doc FROM scores ORDER BY account_key`, docOf[store.ScoreSnapshot]("score")); err != nil {
		return fmt.Errorf("reading scores: %w", err)
	}
	if d.ScoreHistory, err = collect(ctx, tx, `SELECT doc FROM score_history ORDER BY account_key, at`, docOf[store.ScoreSnapshot]("score history")); err != nil {
		return fmt.Errorf("reading score history: %w", err)
	}
	rows := rowsOf(tx.Query(ctx, `SELECT connector, object, id, field, value, at FROM written ORDER BY connector, object, id, field`))
	var conn string
	var k store.WriteKey
	var field string
	var value []byte
	var at pgtype.Timestamptz
	_, err = pgx.ForEachRow(rows, []any{&conn, &k.Object, &k.ID, &field, &value, &at}, func() error {
		var v any
		if err := unmarshalDoc("written value", value, &v); err != nil {
			return err
		}
		d.Written = append(d.Written, store.StoredWritten{Connector: conn, Object: k.Object, ID: k.ID, Field: field,
			Value: store.WrittenValue{Value: v, At: fromTS(at)}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading written values: %w", err)
	}
	if d.Pending, err = collect(ctx, tx, `SELECT doc FROM pending ORDER BY connector, object, id`, docOf[store.PendingWrite]("pending write")); err != nil {
		return fmt.Errorf("reading pending writes: %w", err)
	}
	if d.Tasks, err = collect(ctx, tx, `SELECT doc FROM tasks ORDER BY dedupe_key`, docOf[store.CreatedTask]("task")); err != nil {
		return fmt.Errorf("reading tasks: %w", err)
	}
	d.Queue, err = collect(ctx, tx, `SELECT seq, connector, okey, event, attempts, due, enqueued, last_error FROM queue ORDER BY seq`,
		func(r pgx.CollectableRow) (store.QueuedEvent, error) { return scanQueued(r) })
	if err != nil {
		return fmt.Errorf("reading queue: %w", err)
	}
	d.DeadLetters, err = collect(ctx, tx, `SELECT seq, connector, okey, event, attempts, due, enqueued, last_error, dead_at FROM dead_letters ORDER BY seq`,
		func(r pgx.CollectableRow) (store.QueuedEvent, error) {
			var dead pgtype.Timestamptz
			e, err := scanQueued(r, &dead)
			e.DeadAt = fromTS(dead)
			return e, err
		})
	if err != nil {
		return fmt.Errorf("reading dead letters: %w", err)
	}
	d.Dedupe, err = collect(ctx, tx, `SELECT connector, event_id, expires FROM dedupe ORDER BY connector, event_id`,
		func(r pgx.CollectableRow) (store.DedupeID, error) {
			var x store.DedupeID
			err := r.Scan(&x.Connector, &x.EventID, &x.Expires)
			x.Expires = x.Expires.UTC()
			return x, err
		})
	if err != nil {
		return fmt.Errorf("reading dedupe IDs: %w", err)
	}
	d.Outbox, err = collect(ctx, tx, `SELECT id, subscriber, event_id, type, payload, created, due, attempts, last_error FROM outbox ORDER BY id`,
		func(r pgx.CollectableRow) (store.Notification, error) {
			var nt store.Notification
			var created, due pgtype.Timestamptz
			err := r.Scan(&nt.ID, &nt.Subscriber, &nt.EventID, &nt.Type, &nt.Payload, &created, &due, &nt.Attempts, &nt.LastError)
			nt.Created, nt.Due = fromTS(created), fromTS(due)
			return nt, err
		})
	if err != nil {
		return fmt.Errorf("reading outbox: %w", err)
	}
	if d.Runs, err = collect(ctx, tx, `SELECT doc FROM runs ORDER BY start, id`, docOf[store.Run]("run")); err != nil {
		return fmt.Errorf("reading runs: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('queue', 'seq')::regclass), 0),
		coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')::regclass), 0)`).Scan(&d.QueueSeq, &d.OutboxSeq)
	if err != nil {
		return fmt.Errorf("reading sequences: %w", err)
	}
	return nil
}

// exportStreams reads stream_types and stream_seen into d.Streams.
func exportStreams(ctx context.Context, tx pgx.Tx, d *store.Dump) error {
	type row struct {
		conn, stream, typ, id string
		seen                  bool
	}
	rows, err := collect(ctx, tx, `
		SELECT connector, stream, type, '' AS id, false AS seen FROM stream_types
		UNION ALL
		SELECT connector, stream, type, id, true FROM stream_seen
		ORDER BY 1, 2, 5, 3, 4`, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.conn, &x.stream, &x.typ, &x.id, &x.seen)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("reading streams: %w", err)
	}
	for _, x := range rows {
		n := len(d.Streams)
		if n == 0 || d.Streams[n-1].Connector != x.conn || d.Streams[n-1].Stream != x.stream {
			d.Streams = append(d.Streams, store.StreamState{Connector: x.conn, Stream: x.stream})
			n++
		}
		st := &d.Streams[n-1]
		if x.seen {
			st.Seen = append(st.Seen, store.Gone{Type: store.RecordType(x.typ), ID: x.id})
		} else {
			st.Types = append(st.Types, store.RecordType(x.typ))
		}
	}
	return nil
}

// dataTables are the tables Import requires empty (claims follow queue).
var dataTables = []string{"meta", "connectors", "records", "cursors", "stream_types", "stream_seen", "signals",
	"links", "scores", "score_history", "written", "pending", "tasks", "queue", "dedupe", "dead_letters",
	"outbox", "runs"}

// Import copies d into the empty schema in one transaction, with COPY
// (store.Importer). It takes the advisory locks of the families the other
// methods serialise on, so a replica started meanwhile waits.
func (s *Store) Import(d *store.Dump) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		var parts []string
		for _, t := range dataTables {
			parts = append(parts, `EXISTS (SELECT 1 FROM `+t+`)`)
		}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT `+strings.Join(parts, ` OR `)).Scan(&used); err != nil {
			return err
		}
		if used {
			return store.ErrNotEmpty
		}
		return importTx(ctx, tx, d)
	})
	if err != nil {
		return fmt.Errorf("importing store: %w", err)
	}
	return nil
}

// table is one COPY of rows into a table's columns.
type table struct {
	name string
	cols []string
	rows [][]any
}

func importTx(ctx context.Context, tx pgx.Tx, d *store.Dump) error {
	var tables []table
	add := func(name string, cols string, n int, row func(i int) ([]any, error)) error {
		t := table{name: name, cols: strings.Split(cols, ", ")}
		for i := range n {
			r, err := row(i)
			if err != nil {
				return err
			}
			t.rows = append(t.rows, r)
		}
		tables = append(tables, t)
		return nil
	}
	doc := func(v any) ([]byte, error) { return json.Marshal(v) }
	var errs []error
	must := func(err error) { errs = append(errs, err) }
	metaKeys := make([]string, 0, len(d.Meta))
	for k := range d.Meta {
		metaKeys = append(metaKeys, k)
	}
	must(add("meta", "key, value", len(metaKeys), func(i int) ([]any, error) {
		return []any{metaKeys[i], d.Meta[metaKeys[i]]}, nil
	}))
	must(add("connectors", "connector", len(d.Connectors), func(i int) ([]any, error) { return []any{d.Connectors[i]}, nil }))
	must(add("records", "connector, type, id, modified, deleted, doc", len(d.Records), func(i int) ([]any, error) {
		r := d.Records[i]
		return []any{r.Connector, string(r.Type), r.ID, ts(r.Modified), r.Deleted, []byte(r.Doc)}, nil
	}))
	must(add("cursors", "connector, stream, cursor", len(d.Cursors), func(i int) ([]any, error) {
		c := d.Cursors[i]
		cur := c.Cursor
		if cur == nil {
			cur = []byte{}
		}
		return []any{c.Connector, c.Stream, cur}, nil
	}))
	var types, seen [][]any
	for _, st := range d.Streams {
		for _, t := range st.Types {
			types = append(types, []any{st.Connector, st.Stream, string(t)})
		}
		for _, g := range st.Seen {
			seen = append(seen, []any{st.Connector, st.Stream, string(g.Type), g.ID})
		}
	}
	tables = append(tables, table{"stream_types", []string{"connector", "stream", "type"}, types},
		table{"stream_seen", []string{"connector", "stream", "type", "id"}, seen})
	must(add("signals", "account_key, metric, at, value", len(d.Signals), func(i int) ([]any, error) {
		sg := d.Signals[i]
		return []any{sg.Account.Key(), sg.Metric, sg.Time.UTC(), sg.Value}, nil
	}))
	must(add("links", "account_key, customer_key, rule, created", len(d.Links), func(i int) ([]any, error) {
		l := d.Links[i]
		return []any{l.AccountKey, l.CustomerKey, l.Rule, l.Created.UTC()}, nil
	}))
	for _, sc := range []struct {
		name  string
		snaps []store.ScoreSnapshot
	}{{"scores", d.Scores}, {"score_history", d.ScoreHistory}} {
		must(add(sc.name, "account_key, at, doc", len(sc.snaps), func(i int) ([]any, error) {
			js, err := doc(sc.snaps[i])
			return []any{sc.snaps[i].AccountKey, sc.snaps[i].At.UTC(), js}, err
		}))
	}
	must(add("written", "connector, object, id, field, value, at", len(d.Written), func(i int) ([]any, error) {
		w := d.Written[i]
		js, err := doc(w.Value.Value)
		return []any{w.Connector, w.Object, w.ID, w.Field, js, ts(w.Value.At)}, err
	}))
	must(add("pending", "connector, object, id, doc", len(d.Pending), func(i int) ([]any, error) {
		w := d.Pending[i]
		js, err := doc(w)
		return []any{w.Connector, w.Object, w.ID, js}, err
	}))
	must(add("tasks", "dedupe_key, status, doc", len(d.Tasks), func(i int) ([]any, error) {
		t := d.Tasks[i]
		js, err := doc(t)
		return []any{t.DedupeKey, t.Status, js}, err
	}))
	queueRow := func(e store.QueuedEvent) ([]any, error) {
		js, err := doc(e.Event)
		return []any{e.Seq, e.Connector, e.OrderKey(), js, e.Event.Type, e.Event.ObjectType, e.Event.ObjectID,
			e.Attempts, e.Due.UTC(), e.Enqueued.UTC(), e.LastError}, err
	}
	must(add("queue", "seq, "+queueCols, len(d.Queue), func(i int) ([]any, error) { return queueRow(d.Queue[i]) }))
	must(add("dead_letters", "seq, "+queueCols+", dead_at", len(d.DeadLetters), func(i int) ([]any, error) {
		r, err := queueRow(d.DeadLetters[i])
		return append(r, d.DeadLetters[i].DeadAt.UTC()), err
	}))
	must(add("dedupe", "connector, event_id, expires", len(d.Dedupe), func(i int) ([]any, error) {
		x := d.Dedupe[i]
		return []any{x.Connector, x.EventID, x.Expires.UTC()}, nil
	}))
	must(add("outbox", "id, subscriber, event_id, type, payload, created, due, attempts, last_error", len(d.Outbox), func(i int) ([]any, error) {
		n := d.Outbox[i]
		return []any{n.ID, n.Subscriber, n.EventID, n.Type, n.Payload, n.Created.UTC(), n.Due.UTC(), n.Attempts, n.LastError}, nil
	}))
	must(add("runs", "start, id, doc", len(d.Runs), func(i int) ([]any, error) {
		js, err := doc(d.Runs[i])
		return []any{d.Runs[i].Start.UTC(), d.Runs[i].ID, js}, err
	}))
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
	}
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		// COPY writes identity columns as given (like OVERRIDING SYSTEM
		// VALUE), so Seq and outbox IDs are kept.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copying %s: %w", t.name, err)
		}
	}
	for _, sq := range []struct {
		table, col string
		last       uint64
	}{{"queue", "seq", d.QueueSeq}, {"outbox", "id", d.OutboxSeq}} {
		if sq.last == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, sq.table, sq.col, int64(sq.last)); err != nil {
			return fmt.Errorf("continuing %s numbering: %w", sq.table, err)
		}
	}
	return nil
}
