package sqlsource

import (
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// columns are the result columns, in the order rows are read.
var columns = [4]string{"account", "metric", "value", "time"}

// allowed lists the kinds each column accepts.
var allowed = [4][]kind{
	{kindText, kindInt},
	{kindText},
	{kindInt, kindNumber, kindText},
	{kindTime},
}

// typeNames describes allowed for errors.
var typeNames = [4]string{
	"text or an integer",
	"text",
	"a number (or text holding one)",
	"a timestamp or date",
}

// checkTypes checks the query's columns by name and type: exactly account,
// metric, value and time, in any order, each of a type it accepts.
func checkTypes(types []*sql.ColumnType, d Dialect) error {
	at := map[string]int{}
	for i, t := range types {
		name := t.Name()
		want := -1
		for j, c := range columns {
			if name == c {
				want = j
			}
		}
		if want < 0 {
			return fmt.Errorf("column %d %q: unexpected; the query must return exactly account, metric, value, time: %w", i+1, name, ErrColumns)
		}
		if _, dup := at[name]; dup {
			return fmt.Errorf("column %d %q: returned twice: %w", i+1, name, ErrColumns)
		}
		at[name] = i
		k, ok := d.Types[t.DatabaseTypeName()]
		if !ok || !has(allowed[want], k) {
			return fmt.Errorf("column %q: type %s, want %s: %w", name, t.DatabaseTypeName(), typeNames[want], ErrColumns)
		}
	}
	for _, c := range columns {
		if _, ok := at[c]; !ok {
			return fmt.Errorf("column %q: missing; the query must return account, metric, value, time: %w", c, ErrColumns)
		}
	}
	return nil
}

func has(ks []kind, k kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// signal converts one scanned row (account, metric, value, time as the
// driver returned them) into a signal, or says which column is at fault.
// The caller sets RowError.Row.
func (c *Client) signal(v []any, horizon time.Time) (record.Signal, *RowError) {
	var sg record.Signal
	fail := func(col int, format string, a ...any) (record.Signal, *RowError) {
		return record.Signal{}, &RowError{Column: columns[col], Message: fmt.Sprintf(format, a...)}
	}
	acct, ok := text(v[0])
	switch {
	case v[0] == nil:
		return fail(0, "NULL")
	case !ok || acct == "":
		return fail(0, "empty")
	case c.cfg.AccountSystem != "":
		sg.Account = record.Ref{System: c.cfg.AccountSystem, ID: acct}
	default:
		sys, id, found := strings.Cut(acct, "/")
		if !found || id == "" || !systems[sys] {
			return fail(0, "%q is not a system/id key (salesforce, hubspot, stripe, chargebee or external); set account_system for plain IDs", acct)
		}
		sg.Account = record.Ref{System: sys, ID: id}
	}
	metric, _ := text(v[1])
	switch {
	case v[1] == nil:
		return fail(1, "NULL")
	case metric == "":
		return fail(1, "empty")
	}
	sg.Metric = metric
	switch x := v[2].(type) {
	case nil:
		return fail(2, "NULL")
	case int64:
		sg.Value = float64(x)
	case float64:
		sg.Value = x
	case float32:
		sg.Value = float64(x)
	case string, []byte:
		s, _ := text(x)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fail(2, "%q is not a number", truncate(s))
		}
		sg.Value = f
	default:
		return fail(2, "%T is not a number", x)
	}
	if math.IsNaN(sg.Value) || math.IsInf(sg.Value, 0) {
		return fail(2, "%v is not a finite number", sg.Value)
	}
	switch x := v[3].(type) {
	case nil:
		return fail(3, "NULL")
	case time.Time:
		sg.Time = x.UTC()
	default:
		return fail(3, "%v is not a finite time", x) // PostgreSQL's 'infinity'
	}
	if sg.Time.After(horizon) {
		return fail(3, "%s is in the future", sg.Time.Format(time.RFC3339Nano))
	}
	return sg, nil
}

// text is a text or integer column's value as a string.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// truncate shortens a value quoted in an error.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
