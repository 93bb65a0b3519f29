package sqlsource

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthsync/healthsync/connectors/record"
)

var testNow = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func cursorOf(t time.Time, limited bool) []byte {
	b, _ := json.Marshal(cursor{Time: t, Limited: limited})
	return b
}

// pull runs one pull and returns its batches, its progress reports and
// its error.
func pull(t *testing.T, c *Client, progress *[]Progress, cur []byte) ([]record.Batch, error) {
	t.Helper()
	*progress = nil
	req := record.PullRequest{Now: testNow, Cursors: map[string][]byte{}}
	if cur != nil {
		req.Cursors[StreamSignals] = cur
	}
	var out []record.Batch
	for b, err := range c.Pull(context.Background(), req) {
		if err != nil {
			return out, err
		}
		out = append(out, *b)
	}
	return out, nil
}

// productSchema is a product database: accounts with their Salesforce ID,
// logins and feature events.
var productSchema = []string{
	`CREATE TABLE {s}.accounts (id int PRIMARY KEY, salesforce_id text NOT NULL)`,
	`CREATE TABLE {s}.logins (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES {s}.accounts, user_id text NOT NULL, at timestamptz NOT NULL)`,
	`CREATE TABLE {s}.feature_events (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES {s}.accounts, feature text NOT NULL, at timestamptz NOT NULL)`,
	`INSERT INTO {s}.accounts VALUES (1, '001ACME'), (2, '001GLOBEX')`,
}

// productQuery: one signal per login, and distinct features per UTC day,
// recomputed for whole days from the day :since falls in.
const productQuery = `
SELECT 'salesforce/' || a.salesforce_id AS account, 'logins' AS metric, 1 AS value, l.at AS time
  FROM {s}.logins l JOIN {s}.accounts a ON a.id = l.account_id
 WHERE l.at > :since
UNION ALL
SELECT 'salesforce/' || a.salesforce_id, 'features_used', count(DISTINCT f.feature), date_trunc('day', f.at, 'UTC')
  FROM {s}.feature_events f JOIN {s}.accounts a ON a.id = f.account_id
 WHERE f.at >= date_trunc('day', :since::timestamptz, 'UTC')
 GROUP BY 1, 2, 4;`

func TestPullIncrementalWithLateRow(t *testing.T) {
	db, dsn, s := testSchema(t)
	exec(t, db, s, productSchema...)
	exec(t, db, s,
		`INSERT INTO {s}.logins (account_id, user_id, at) VALUES
		 (1, 'u1', '2026-12-05T08:00:00Z'), (1, 'u2', '2026-12-05T09:00:00Z'),
		 (2, 'u3', '2026-12-05T10:00:00Z'), (1, 'u1', '2026-12-06T08:00:00Z')`,
		`INSERT INTO {s}.feature_events (account_id, feature, at) VALUES
		 (1, 'dashboards', '2026-12-05T08:10:00Z'), (1, 'exports', '2026-12-05T08:20:00Z'),
		 (1, 'dashboards', '2026-12-05T09:30:00Z'), (2, 'exports', '2026-12-06T07:00:00Z')`)
	var progress []Progress
	c := newClient(t, dsn, s, Config{Query: productQuery, Overlap: 10 * time.Minute},
		Options{Progress: func(p Progress) { progress = append(progress, p) }})
	acme := record.Ref{System: record.Salesforce, ID: "001ACME"}
	globex := record.Ref{System: record.Salesforce, ID: "001GLOBEX"}

	first, err := pull(t, c, &progress, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Batch{{Stream: StreamSignals, Cursor: cursorOf(at("2026-12-06T08:00:00Z"), false), Signals: []record.Signal{
		{Account: acme, Metric: "features_used", Time: at("2026-12-05T00:00:00Z"), Value: 2},
		{Account: acme, Metric: "logins", Time: at("2026-12-05T08:00:00Z"), Value: 1},
		{Account: acme, Metric: "logins", Time: at("2026-12-05T09:00:00Z"), Value: 1},
		{Account: globex, Metric: "logins", Time: at("2026-12-05T10:00:00Z"), Value: 1},
		{Account: globex, Metric: "features_used", Time: at("2026-12-06T00:00:00Z"), Value: 1},
		{Account: acme, Metric: "logins", Time: at("2026-12-06T08:00:00Z"), Value: 1},
	}}}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("first run:\n got %+v\nwant %+v", first, want)
	}
	if want := []Progress{{Rows: 6, Stored: 6, Done: true}}; !reflect.DeepEqual(progress, want) {
		t.Fatalf("first run progress %+v, want %+v", progress, want)
	}

	// After the first run: a new login, a new feature, a login committed
	// late with a time inside the overlap (07:55 > 08:00 - 10m), and one
	// older than the overlap, which no incremental run reads (the overlap
	// bounds how late a row may arrive).
	exec(t, db, s,
		`INSERT INTO {s}.logins (account_id, user_id, at) VALUES
		 (2, 'u4', '2026-12-06T08:30:00Z'), (1, 'u2', '2026-12-06T07:55:00Z'), (1, 'u5', '2026-12-06T07:00:00Z')`,
		`INSERT INTO {s}.feature_events (account_id, feature, at) VALUES (1, 'alerts', '2026-12-06T08:40:00Z')`)
	second, err := pull(t, c, &progress, first[len(first)-1].Cursor)
	if err != nil {
		t.Fatal(err)
	}
	want = []record.Batch{{Stream: StreamSignals, Cursor: cursorOf(at("2026-12-06T08:30:00Z"), false), Signals: []record.Signal{
		{Account: acme, Metric: "features_used", Time: at("2026-12-06T00:00:00Z"), Value: 1},
		{Account: globex, Metric: "features_used", Time: at("2026-12-06T00:00:00Z"), Value: 1},
		{Account: acme, Metric: "logins", Time: at("2026-12-06T07:55:00Z"), Value: 1}, // late, inside the overlap
		{Account: acme, Metric: "logins", Time: at("2026-12-06T08:00:00Z"), Value: 1}, // read again: the store keeps one
		{Account: globex, Metric: "logins", Time: at("2026-12-06T08:30:00Z"), Value: 1},
	}}}
	if !reflect.DeepEqual(second, want) {
		t.Fatalf("incremental run:\n got %+v\nwant %+v", second, want)
	}
}

func TestPullRowErrors(t *testing.T) {
	db, dsn, s := testSchema(t)
	exec(t, db, s,
		`CREATE TABLE {s}.events (account text, metric text, value text, at timestamptz)`,
		`INSERT INTO {s}.events VALUES
		 ('salesforce/001A', 'logins', '1',    '2026-12-05T01:00:00Z'),
		 (NULL,              'logins', '1',    '2026-12-05T02:00:00Z'),
		 ('salesforce/001A', 'logins', 'many', '2026-12-05T03:00:00Z'),
		 ('salesforce/001A', NULL,     '2',    '2026-12-05T04:00:00Z'),
		 ('001A',            'logins', '1',    '2026-12-05T05:00:00Z'),
		 ('salesforce/001A', 'logins', '2.5',  '2026-12-05T06:00:00Z'),
		 ('salesforce/001A', 'logins', 'NaN',  '2026-12-05T07:00:00Z'),
		 ('salesforce/001A', 'logins', NULL,   '2026-12-05T07:30:00Z'),
		 ('',                'logins', '1',    '2026-12-05T07:40:00Z'),
		 ('salesforce/001A', '',       '1',    '2026-12-05T07:50:00Z'),
		 ('salesforce/001A', 'logins', '1',    '2026-12-06T09:04:59Z'),
		 ('salesforce/001A', 'logins', '1',    '2027-01-01T00:00:00Z'),
		 ('salesforce/001A', 'logins', '1',    'infinity'),
		 ('salesforce/001A', 'logins', '1',    NULL)`)
	var progress []Progress
	c := newClient(t, dsn, s, Config{Query: `SELECT account, metric, value, at AS time FROM {s}.events WHERE at > :since OR at IS NULL`},
		Options{Progress: func(p Progress) { progress = append(progress, p) }})
	got, err := pull(t, c, &progress, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := record.Ref{System: record.Salesforce, ID: "001A"}
	want := []record.Batch{{Stream: StreamSignals, Cursor: cursorOf(at("2026-12-06T09:04:59Z"), false), Signals: []record.Signal{
		{Account: a, Metric: "logins", Time: at("2026-12-05T01:00:00Z"), Value: 1},
		{Account: a, Metric: "logins", Time: at("2026-12-05T06:00:00Z"), Value: 2.5},
		{Account: a, Metric: "logins", Time: at("2026-12-06T09:04:59Z"), Value: 1}, // within future_skew
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batches:\n got %+v\nwant %+v", got, want)
	}
	wantP := []Progress{{Rows: 14, Stored: 3, Failed: 11, Done: true, Errors: []RowError{
		{Row: 2, Column: "account", Message: "NULL"},
		{Row: 3, Column: "value", Message: `"many" is not a number`},
		{Row: 4, Column: "metric", Message: "NULL"},
		{Row: 5, Column: "account", Message: `"001A" is not a system/id key (salesforce, hubspot, stripe, chargebee or external); set account_system for plain IDs`},
		{Row: 7, Column: "value", Message: "NaN is not a finite number"},
		{Row: 8, Column: "value", Message: "NULL"},
		{Row: 9, Column: "account", Message: "empty"},
		{Row: 10, Column: "metric", Message: "empty"},
		{Row: 12, Column: "time", Message: "2027-01-01T00:00:00Z is in the future"},
		{Row: 13, Column: "time", Message: "infinity is not a finite time"},
		// row 14 (time NULL) is counted, beyond MaxRowErrors
	}}}
	if !reflect.DeepEqual(progress, wantP) {
		t.Fatalf("progress:\n got %+v\nwant %+v", progress, wantP)
	}
	if got := wantP[0].Errors[0].Error(); got != "row 2: column account: NULL" {
		t.Fatalf("RowError text %q", got)
	}
}

func TestPullRowLimitAndBatches(t *testing.T) {
	db, dsn, s := testSchema(t)
	exec(t, db, s,
		`CREATE TABLE {s}.usage (account text, seats bigint, at timestamp)`,
		`INSERT INTO {s}.usage VALUES ('001A', 1, '2026-12-01 01:00'), ('001A', 2, '2026-12-01 02:00'),
		 ('001A', 3, '2026-12-01 03:00'), ('001B', 4, '2026-12-01 03:00'), ('001A', 5, '2026-12-01 05:00'),
		 ('001A', 6, '2026-12-01 06:00'), ('001A', 7, '2026-12-01 07:00')`)
	var progress []Progress
	c := newClient(t, dsn, s, Config{Query: `SELECT account, 'seats' AS metric, seats AS value, at AS time FROM {s}.usage WHERE at > :since`,
		AccountSystem: record.Salesforce, RowLimit: 3, BatchSize: 2, Overlap: 3 * time.Hour},
		Options{Progress: func(p Progress) { progress = append(progress, p) }})
	sig := func(acct string, v float64, h int) record.Signal {
		return record.Signal{Account: record.Ref{System: record.Salesforce, ID: acct}, Metric: "seats", Value: v,
			Time: time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC)}
	}
	hour := func(h int) time.Time { return time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC) }
	runs := []struct {
		batches  []record.Batch
		progress []Progress
	}{
		{[]record.Batch{
			{Stream: StreamSignals, Cursor: cursorOf(hour(2), false), Signals: []record.Signal{sig("001A", 1, 1), sig("001A", 2, 2)}},
			{Stream: StreamSignals, Cursor: cursorOf(hour(3), true), Signals: []record.Signal{sig("001A", 3, 3)}},
		}, []Progress{{Rows: 2, Stored: 2}, {Rows: 3, Stored: 3, Limited: true, Done: true}}},
		// Cut at 03:00 by the limit: the next run starts just before it,
		// without the overlap (3h here, which holds more rows than the
		// limit: with it every run would read 01:00-03:00 again), and
		// reads 03:00 again.
		{[]record.Batch{
			{Stream: StreamSignals, Cursor: cursorOf(hour(3), false), Signals: []record.Signal{sig("001A", 3, 3), sig("001B", 4, 3)}},
			{Stream: StreamSignals, Cursor: cursorOf(hour(5), true), Signals: []record.Signal{sig("001A", 5, 5)}},
		}, []Progress{{Rows: 2, Stored: 2}, {Rows: 3, Stored: 3, Limited: true, Done: true}}},
		{[]record.Batch{
			{Stream: StreamSignals, Cursor: cursorOf(hour(6), false), Signals: []record.Signal{sig("001A", 5, 5), sig("001A", 6, 6)}},
			{Stream: StreamSignals, Cursor: cursorOf(hour(7), false), Signals: []record.Signal{sig("001A", 7, 7)}},
		}, []Progress{{Rows: 2, Stored: 2}, {Rows: 3, Stored: 3, Done: true}}},
		// Not cut: the overlap applies again (since 04:00); nothing new.
		{[]record.Batch{
			{Stream: StreamSignals, Cursor: cursorOf(hour(6), false), Signals: []record.Signal{sig("001A", 5, 5), sig("001A", 6, 6)}},
			{Stream: StreamSignals, Cursor: cursorOf(hour(7), false), Signals: []record.Signal{sig("001A", 7, 7)}},
		}, []Progress{{Rows: 2, Stored: 2}, {Rows: 3, Stored: 3, Done: true}}},
	}
	var cur []byte
	for i, r := range runs {
		got, err := pull(t, c, &progress, cur)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r.batches) || !reflect.DeepEqual(progress, r.progress) {
			t.Fatalf("run %d:\n got %+v\n     %+v\nwant %+v\n     %+v", i+1, got, progress, r.batches, r.progress)
		}
		cur = got[len(got)-1].Cursor
	}
}

func TestPullColumnErrors(t *testing.T) {
	db, dsn, s := testSchema(t)
	exec(t, db, s, `CREATE TABLE {s}.events (account text, metric text, value numeric, at timestamptz, n int)`,
		`INSERT INTO {s}.events VALUES ('salesforce/001A', 'logins', 1, '2026-12-05T01:00:00Z', 7)`)
	const prefix = `sql connector "product-db": `
	const suffix = ": " + "query columns do not match account, metric, value, time"
	tests := []struct{ name, query, want string }{
		{"wrong name", `SELECT account AS acct, metric, value, at AS time FROM {s}.events WHERE at > :since`,
			`column 1 "acct": unexpected; the query must return exactly account, metric, value, time`},
		{"missing column", `SELECT account, metric, value FROM {s}.events WHERE at > :since`,
			`column "time": missing; the query must return account, metric, value, time`},
		{"extra column", `SELECT account, metric, value, at AS time, n FROM {s}.events WHERE at > :since`,
			`column 5 "n": unexpected; the query must return exactly account, metric, value, time`},
		{"column twice", `SELECT account, metric, value, at AS time, at AS time FROM {s}.events WHERE at > :since`,
			`column 5 "time": returned twice`},
		{"metric not text", `SELECT account, n AS metric, value, at AS time FROM {s}.events WHERE at > :since`,
			`column "metric": type INT4, want text`},
		{"value boolean", `SELECT account, metric, value > 0 AS value, at AS time FROM {s}.events WHERE at > :since`,
			`column "value": type BOOL, want a number (or text holding one)`},
		{"time as text", `SELECT account, metric, value, at::text AS time FROM {s}.events WHERE at > :since`,
			`column "time": type TEXT, want a timestamp or date`},
		{"account as timestamp", `SELECT at AS account, metric, value, at AS time FROM {s}.events WHERE at > :since`,
			`column "account": type TIMESTAMPTZ, want text or an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var progress []Progress
			c := newClient(t, dsn, s, Config{Query: tc.query}, Options{Progress: func(p Progress) { progress = append(progress, p) }})
			got, err := pull(t, c, &progress, nil)
			if !errors.Is(err, ErrColumns) || err.Error() != prefix+tc.want+suffix || got != nil || progress != nil {
				t.Fatalf("batches %v, progress %v, err %v; want %q", got, progress, err, prefix+tc.want+suffix)
			}
		})
	}
}

func TestPullQueryErrors(t *testing.T) {
	db, dsn, s := testSchema(t)
	exec(t, db, s, productSchema...)
	exec(t, db, s, `INSERT INTO {s}.logins (account_id, user_id, at) VALUES (1, 'u1', '2026-12-05T08:00:00Z')`)
	tests := []struct {
		name, query string
		timeout     time.Duration
		code        string // SQLSTATE
	}{
		{"unknown table", `SELECT account, metric, value, time FROM {s}.missing WHERE time > :since`, 0, "42P01"},
		{"syntax", `SELECT account, metric, value, time FRM {s}.logins WHERE time > :since`, 0, "42601"},
		{"statement timeout", `SELECT 'salesforce/001A' AS account, 'logins' AS metric, 1 AS value, at AS time
		   FROM {s}.logins WHERE at > :since AND pg_sleep(2) IS NOT NULL`, 100 * time.Millisecond, "57014"},
		{"writing is refused (read-only transaction)", `SELECT 'salesforce/001A' AS account, 'logins' AS metric, 1 AS value, at AS time
		   FROM {s}.logins WHERE at > :since AND nextval('{s}.logins_id_seq') > 0`, 0, "25006"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var progress []Progress
			c := newClient(t, dsn, s, Config{Query: tc.query, StatementTimeout: tc.timeout}, Options{Progress: func(p Progress) { progress = append(progress, p) }})
			got, err := pull(t, c, &progress, nil)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != tc.code || got != nil || progress != nil {
				t.Fatalf("batches %v, progress %v, err %v; want SQLSTATE %s", got, progress, err, tc.code)
			}
		})
	}
	var last int
	if err := db.QueryRow(`SELECT last_value FROM ` + s + `.logins_id_seq`).Scan(&last); err != nil || last != 1 {
		t.Fatalf("sequence at %d, %v; want 1 (untouched by the read-only run)", last, err)
	}
}
