package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthsync/healthsync/connectors/record"
)

// transientCodes are per-record errors worth retrying on a later pass.
var transientCodes = map[string]bool{
	"UNABLE_TO_LOCK_ROW":                true,
	"REQUEST_RUNNING_TOO_LONG":          true,
	"SERVER_UNAVAILABLE":                true,
	"UNKNOWN_EXCEPTION":                 true,
	"QUERY_TIMEOUT":                     true,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true,
}

// saveResult is one SaveResult of sObject Collections (REST API Developer
// Guide, "Update Records Using sObject Collections"), in request order.
type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (r saveResult) writeError() *record.WriteError {
	if r.Success {
		return nil
	}
	if len(r.Errors) == 0 {
		return &record.WriteError{Code: "UNKNOWN_EXCEPTION", Message: "record failed without an error", Transient: true}
	}
	e := r.Errors[0]
	return &record.WriteError{Code: e.StatusCode, Message: e.Message, Fields: e.Fields, Transient: transientCodes[e.StatusCode]}
}

// collection sends up to 200 records to /composite/sobjects with
// allOrNone=false: PATCH updates, POST creates.
func (c *Client) collection(ctx context.Context, method string, recs []map[string]any) ([]saveResult, error) {
	body, err := json.Marshal(map[string]any{"allOrNone": false, "records": recs})
	if err != nil {
		return nil, fmt.Errorf("encoding records: %w", err)
	}
	var out []saveResult
	if err := c.call(ctx, method, c.dataPath("/composite/sobjects"), body, nil, &out); err != nil {
		return nil, err
	}
	if len(out) != len(recs) {
		return nil, fmt.Errorf("composite/sobjects: %d results for %d records", len(out), len(recs))
	}
	return out, nil
}

// Update writes field changes through sObject Collections PATCH in batches
// of at most 200, typing each value from the object's describe. Values that
// cannot be typed, unknown or read-only fields fail their record locally
// (never sent); vendor per-record errors come back as WriteErrors, transient
// ones (UNABLE_TO_LOCK_ROW, ...) marked for retry.
func (c *Client) Update(ctx context.Context, updates []record.FieldUpdate) ([]record.WriteResult, error) {
	results := make([]record.WriteResult, 0, len(updates))
	type pending struct {
		id  string
		rec map[string]any
	}
	var queue []pending
	for _, u := range updates {
		d, err := c.describe(ctx, u.Object)
		if err != nil {
			return results, fmt.Errorf("updating %s: %w", u.Object, err)
		}
		rec := map[string]any{"attributes": map[string]string{"type": d.Name}, "id": u.ID}
		if werr := typeFields(d, u.Fields, rec, false); werr != nil {
			results = append(results, record.WriteResult{ID: u.ID, Error: werr})
			continue
		}
		queue = append(queue, pending{u.ID, rec})
	}
	for chunk := range slices.Chunk(queue, MaxBatch) {
		recs := make([]map[string]any, len(chunk))
		for i, p := range chunk {
			recs[i] = p.rec
		}
		out, err := c.collection(ctx, http.MethodPatch, recs)
		if err != nil {
			return results, fmt.Errorf("updating records: %w", err)
		}
		for i, r := range out {
			results = append(results, record.WriteResult{ID: chunk[i].id, Error: r.writeError()})
		}
	}
	return results, nil
}

// typeFields converts values to the JSON Salesforce expects for each field's
// type (number, percent, currency, picklist, date, datetime, text with its
// length) and adds them to rec.
func typeFields(d *describeResult, fields map[string]any, rec map[string]any, create bool) *record.WriteError {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := d.field(n)
		if f == nil {
			return &record.WriteError{Code: "INVALID_FIELD", Message: fmt.Sprintf("no field %s on %s", n, d.Name), Fields: []string{n}}
		}
		if create && !f.Createable || !create && !f.Updateable {
			return &record.WriteError{Code: "INVALID_FIELD_FOR_INSERT_UPDATE", Message: fmt.Sprintf("field %s of %s is not writable", f.Name, d.Name), Fields: []string{f.Name}}
		}
		v, err := typeValue(f, fields[n])
		if err != nil {
			return &record.WriteError{Code: "INVALID_VALUE", Message: fmt.Sprintf("%s: %v", f.Name, err), Fields: []string{f.Name}}
		}
		rec[f.Name] = v
	}
	return nil
}

func typeValue(f *describeField, v any) (any, error) {
	if v == nil {
		if !f.Nillable {
			return nil, fmt.Errorf("cannot be null")
		}
		return nil, nil
	}
	switch f.Type {
	case "double", "currency", "percent", "int":
		n, err := toFloat(v)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("%v is not a finite number", n)
		}
		// A number field holds precision-scale digits before the point;
		// Salesforce refuses more with NUMBER_OUTSIDE_VALID_RANGE (Object
		// Reference, "Field Types").
		if f.Type != "int" && f.Precision > 0 && math.Abs(n) >= math.Pow10(f.Precision-f.Scale) {
			return nil, fmt.Errorf("%v does not fit the field's %d digits, %d of them decimals", n, f.Precision, f.Scale)
		}
		if f.Type == "int" {
			if n != math.Trunc(n) {
				return nil, fmt.Errorf("%v is not an integer", n)
			}
			return int64(n), nil
		}
		return n, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return strconv.ParseBool(x)
		}
		return nil, fmt.Errorf("%T is not a boolean", v)
	case "date":
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format("2006-01-02"), nil
		case string:
			if _, err := time.Parse("2006-01-02", x); err != nil {
				return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", x)
			}
			return x, nil
		}
		return nil, fmt.Errorf("%T is not a date", v)
	case "datetime":
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format("2006-01-02T15:04:05.000Z"), nil
		case string:
			t, ok := parseTime(x)
			if !ok {
				return nil, fmt.Errorf("%q is not a datetime", x)
			}
			return t.Format("2006-01-02T15:04:05.000Z"), nil
		}
		return nil, fmt.Errorf("%T is not a datetime", v)
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int, int64, bool:
		s = fmt.Sprint(x)
	case time.Time:
		s = x.UTC().Format(time.RFC3339)
	default:
		return nil, fmt.Errorf("%T is not text", v)
	}
	if f.Type == "picklist" && f.RestrictedPicklist && !slices.ContainsFunc(f.PicklistValues, func(p struct {
		Value  string `json:"value"`
		Active bool   `json:"active"`
	}) bool {
		return p.Active && p.Value == s
	}) {
		return nil, fmt.Errorf("%q is not a value of the restricted picklist", s)
	}
	if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
		return nil, fmt.Errorf("%d characters, longer than the field's %d", utf8.RuneCountInString(s), f.Length)
	}
	return s, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case json.Number:
		return x.Float64()
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("%T is not a number", v)
}
