package sqlsource

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// cursor is the stream's persisted position: the time of the last stored
// row, and whether that run stopped at row_limit.
type cursor struct {
	Time    time.Time `json:"time"`
	Limited bool      `json:"limited,omitempty"`
}

// since is the :since of a run. After a run cut short by row_limit the
// next one starts just before the cursor, without the overlap: rows at the
// cursor's exact time are read again, and a window holding more rows than
// row_limit cannot make runs re-read it forever. Otherwise the overlap is
// subtracted, so rows committed late with an earlier time are read.
func (c *Client) since(req record.PullRequest) (time.Time, error) {
	raw, ok := req.Cursors[StreamSignals]
	if req.Full || !ok || len(raw) == 0 {
		return c.cfg.Start, nil
	}
	var cur cursor
	if err := json.Unmarshal(raw, &cur); err != nil {
		return time.Time{}, fmt.Errorf("decoding cursor: %w", err)
	}
	if cur.Limited {
		return cur.Time.Add(-time.Microsecond), nil
	}
	return cur.Time.Add(-c.cfg.Overlap), nil
}

// Pull runs the query once and yields its rows as batches of up to
// BatchSize signals on the stream "signals". Each batch's cursor is the
// time of the last row stored so far (nil while none is): rows are read
// ordered by time, so every row before the cursor has been read, and a
// refused row never moves it (a row dated in the future would otherwise
// skip everything before its date). A failed query, a column mismatch
// (ErrColumns) or a lost connection ends the run with an error; the batches
// already yielded stand, and the next run resumes from their cursor.
func (c *Client) Pull(ctx context.Context, req record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(yield func(*record.Batch, error) bool) {
		since, err := c.since(req)
		if err != nil {
			yield(nil, fmt.Errorf("sql connector %q: %w", c.cfg.Name, err))
			return
		}
		if err := c.run(ctx, since, req.Now, yield); err != nil {
			yield(nil, fmt.Errorf("sql connector %q: %w", c.cfg.Name, err))
		}
	}
}

// run is one pull; it returns an error to yield, or nil when done or the
// consumer stopped.
func (c *Client) run(ctx context.Context, since, now time.Time, yield func(*record.Batch, error) bool) error {
	if now.IsZero() {
		now = c.now()
	}
	tx, err := c.dialect.Begin(ctx, c.db, c.cfg.StatementTimeout)
	if err != nil {
		return fmt.Errorf("starting read-only transaction: %w", c.redact(err))
	}
	// Read-only: rolling back ends it whatever happened.
	defer tx.Rollback()

	args := make([]any, c.nargs)
	for i := range args {
		args[i] = since.UTC()
	}
	if err := c.checkColumns(ctx, tx, args); err != nil {
		return err
	}
	q := c.dialect.Quote
	ordered := fmt.Sprintf("SELECT %s, %s, %s, %s FROM (\n%s\n) AS healthsync_source ORDER BY %s LIMIT %d",
		q("account"), q("metric"), q("value"), q("time"), c.query, q("time"), c.cfg.RowLimit+1)
	rows, err := tx.QueryContext(ctx, ordered, args...)
	if err != nil {
		return fmt.Errorf("running query: %w", c.redact(err))
	}
	defer rows.Close()

	var (
		p       Progress
		last    time.Time // time of the last stored row
		b       = &record.Batch{Stream: StreamSignals}
		vals    = make([]any, 4)
		dest    = []any{&vals[0], &vals[1], &vals[2], &vals[3]}
		horizon = now.Add(c.cfg.FutureSkew)
	)
	flush := func(done bool) bool {
		if len(b.Signals) > 0 || done {
			if !last.IsZero() {
				b.Cursor, _ = json.Marshal(cursor{Time: last, Limited: p.Limited})
			}
			p.Done = done
			c.report(p)
			if len(b.Signals) > 0 || b.Cursor != nil {
				if !yield(b, nil) {
					return false
				}
			}
			b = &record.Batch{Stream: StreamSignals}
		}
		return true
	}
	for rows.Next() {
		if p.Rows == c.cfg.RowLimit {
			p.Limited = true
			break
		}
		p.Rows++
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reading row %d: %w", p.Rows, c.redact(err))
		}
		sg, rerr := c.signal(vals, horizon)
		if rerr != nil {
			rerr.Row = p.Rows
			p.Failed++
			if len(p.Errors) < MaxRowErrors {
				p.Errors = append(p.Errors, *rerr)
			}
			continue
		}
		p.Stored++
		last = sg.Time
		b.Signals = append(b.Signals, sg)
		if len(b.Signals) == c.cfg.BatchSize && !flush(false) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading rows after row %d: %w", p.Rows, c.redact(err))
	}
	flush(true)
	return nil
}

// report logs p and passes it to the Progress callback.
func (c *Client) report(p Progress) {
	ev := c.log.Info()
	if !p.Done {
		ev = c.log.Debug()
	}
	ev.Int("rows", p.Rows).Int("stored", p.Stored).Int("failed", p.Failed).Bool("limited", p.Limited).Bool("done", p.Done).Msg("sql pull progress")
	if p.Done {
		c.last = p
		c.last.Errors = append([]RowError(nil), p.Errors...)
	}
	if c.progress != nil {
		p.Errors = append([]RowError(nil), p.Errors...)
		c.progress(p)
	}
}

// checkColumns runs the query with LIMIT 0 and checks its result has
// exactly the columns account, metric, value and time with usable types.
func (c *Client) checkColumns(ctx context.Context, tx *sql.Tx, args []any) error {
	probe := fmt.Sprintf("SELECT * FROM (\n%s\n) AS healthsync_source LIMIT 0", c.query)
	rows, err := tx.QueryContext(ctx, probe, args...)
	if err != nil {
		return fmt.Errorf("running query: %w", c.redact(err))
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return fmt.Errorf("reading query columns: %w", c.redact(err))
	}
	return checkTypes(types, c.dialect)
}
