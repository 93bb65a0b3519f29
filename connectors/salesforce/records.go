package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthsync/healthsync/connectors/record"
)

// row is one query record: its fields in the order Salesforce sent them,
// each with its raw JSON value, decoded only when read. A page of 2,000
// records is split into rows in one pass over the response, without a map
// or a boxed value per field (rows.UnmarshalJSON).
type row []field

// field is one name and raw JSON value of a row (slices of the page).
type field struct {
	name, raw []byte
}

// rows are a query page's records.
type rows []row

// UnmarshalJSON splits the records array into rows. encoding/json has
// checked that the whole response is valid JSON before it calls this; the
// scan still fails rather than reading past the end.
func (rs *rows) UnmarshalJSON(b []byte) error {
	out, err := parseRows(bytes.Clone(b)) // the rows keep slices of it
	*rs = out
	return err
}

// parseRows splits a JSON array of records (valid JSON) into rows that
// keep slices of b.
func parseRows(b []byte) (rows, error) {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == 'n' {
		return nil, nil
	}
	if i >= len(b) || b[i] != '[' {
		return nil, errors.New("records: not an array")
	}
	var out rows
	var fields []field // the rows' fields, one backing array per page
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != ']' {
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		n := len(fields)
		if fields, err = parseObject(fields, b[i:end]); err != nil {
			return nil, err
		}
		if out == nil {
			// Size both for the whole page from its first record.
			per := max(end-i, 1)
			out = make(rows, 0, len(b)/per+1)
			fields = append(make([]field, 0, (len(b)/per+1)*len(fields)), fields...)
		}
		out = append(out, row(fields[n:len(fields):len(fields)]))
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out, nil
}

// decodeJSON decodes a query response (REST API Developer Guide, "Execute
// a SOQL Query") into qr in one pass after a validity check, without
// encoding/json's reflection: qr keeps slices of b.
func (qr *queryResult) decodeJSON(b []byte) error {
	if !json.Valid(b) {
		return errors.New("query response is not valid JSON")
	}
	top, err := parseObject(nil, b)
	if err != nil {
		return err
	}
	*qr = queryResult{}
	for _, f := range top {
		switch string(f.name) {
		case "totalSize":
			n, _ := decodeValue(f.raw).(float64)
			qr.TotalSize = int(n)
		case "done":
			qr.Done, _ = decodeValue(f.raw).(bool)
		case "nextRecordsUrl":
			qr.NextRecordsURL, _ = decodeValue(f.raw).(string)
		case "records":
			if qr.Records, err = parseRows(f.raw); err != nil {
				return err
			}
		}
	}
	return nil
}

var errTruncated = errors.New("records: truncated JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errTruncated
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errTruncated
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i, nil
}

// skipString returns the end of the JSON string starting at b[i].
func skipString(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errTruncated
}

// parseObject appends the fields of the JSON object b to r.
func parseObject(r []field, b []byte) ([]field, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errors.New("records: a record is not an object")
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		end, err := skipString(b, i)
		if err != nil {
			return nil, err
		}
		name := b[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return nil, fmt.Errorf("records: field name: %w", err)
			}
			name = []byte(s)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errTruncated
		}
		i = skipSpace(b, i+1)
		if end, err = skipValue(b, i); err != nil {
			return nil, err
		}
		r = append(r, field{name: name, raw: b[i:end]})
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return r, nil
}

// decodeValue decodes a raw JSON value as encoding/json decodes into any:
// string, float64, bool, nil, map[string]any or []any.
func decodeValue(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	switch c := raw[0]; {
	case c == 'n':
		return nil
	case c == 't':
		return true
	case c == 'f':
		return false
	case c == '"':
		if s := raw[1 : len(raw)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return string(s)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

func decodeRow(r row) (row, error) {
	if _, ok := r.value("Id").(string); !ok {
		return nil, fmt.Errorf("record without Id")
	}
	return r, nil
}

// get returns field k's raw value.
func (r row) get(k string) ([]byte, bool) {
	for _, f := range r {
		if string(f.name) == k {
			return f.raw, true
		}
	}
	return nil, false
}

// value is field k decoded (decodeValue); nil when absent.
func (r row) value(k string) any {
	raw, _ := r.get(k)
	return decodeValue(raw)
}

func (r row) str(k string) string {
	s, _ := r.value(k).(string)
	return s
}

func (r row) bool(k string) bool {
	b, _ := r.value(k).(bool)
	return b
}

func (r row) num(k string) float64 {
	n, _ := r.value(k).(float64)
	return n
}

// parseTime reads the REST API's datetime (2024-01-15T10:30:00.000+0000) or
// RFC 3339, in UTC.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (r row) time(k string) time.Time {
	t, _ := parseTime(r.str(k))
	return t
}

// path reads a field by name, or a parent's field by relationship path
// (Owner.Name): Salesforce answers those as a nested record under the
// relationship name, or null when the reference is empty (SOQL and SOSL
// Reference, "Understanding Query Results").
func (r row) path(name string) any {
	if raw, ok := r.get(name); ok {
		return decodeValue(raw)
	}
	rel, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		return nil
	}
	raw, _ := r.get(rel)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	parent, err := parseObject(nil, raw)
	if err != nil {
		return nil
	}
	return row(parent).path(rest)
}

// extraFields copies the configured extra fields, as decoded; a
// relationship path (Owner.Name) is kept under its dotted name.
func (r row) extraFields(extra []string) map[string]any {
	if len(extra) == 0 {
		return nil
	}
	out := make(map[string]any, len(extra))
	for _, f := range extra {
		out[f] = r.path(f)
	}
	return out
}

func toAccount(r row, extra []string) record.Account {
	a := record.Account{
		Ref:      record.Ref{System: record.Salesforce, ID: r.str("Id"), Modified: r.time("SystemModstamp")},
		Name:     r.str("Name"),
		Website:  r.str("Website"),
		OwnerID:  r.str("OwnerId"),
		Industry: r.str("Industry"),
		Fields:   r.extraFields(extra),
		Deleted:  r.bool("IsDeleted"),
	}
	a.OwnerName, _ = r.path("Owner.Name").(string)
	return a
}

func toDeal(r row, extra []string) record.Deal {
	return record.Deal{
		Ref:       record.Ref{System: record.Salesforce, ID: r.str("Id"), Modified: r.time("SystemModstamp")},
		AccountID: r.str("AccountId"),
		Name:      r.str("Name"),
		Stage:     r.str("StageName"),
		Type:      r.str("Type"),
		Amount:    r.num("Amount"),
		Currency:  strings.ToUpper(r.str("CurrencyIsoCode")),
		CloseDate: r.time("CloseDate"),
		IsClosed:  r.bool("IsClosed"),
		IsWon:     r.bool("IsWon"),
		OwnerID:   r.str("OwnerId"),
		Fields:    r.extraFields(extra),
		Deleted:   r.bool("IsDeleted"),
	}
}

// toTask keeps tasks whose Description carries a [healthsync:KEY] line.
func toTask(r row) (record.Task, bool) {
	key, body, ok := parseMarkers(r.str("Description"))
	if !ok {
		return record.Task{}, false
	}
	status := record.TaskOpen
	if r.bool("IsClosed") {
		status = record.TaskCompleted
	}
	return record.Task{
		Ref:       record.Ref{System: record.Salesforce, ID: r.str("Id"), Modified: r.time("SystemModstamp")},
		AccountID: r.str("WhatId"),
		OwnerID:   r.str("OwnerId"),
		Subject:   r.str("Subject"),
		Body:      body,
		Due:       r.time("ActivityDate"),
		Priority:  strings.ToLower(r.str("Priority")),
		Status:    status,
		DedupeKey: key,
	}, true
}

// parseMarkers finds the [healthsync:KEY] lines of a task Description
// (markerRe, without a regular expression: a pull reads back every task
// healthsync created): the last line's key, and the description without
// those lines, trailing blank lines and spaces trimmed.
func parseMarkers(desc string) (key, body string, ok bool) {
	if !strings.Contains(desc, markerPrefix) {
		return "", "", false
	}
	lines := strings.Split(desc, "\n")
	for i, l := range lines {
		if k, m := markerKey(l); m {
			key, ok, lines[i] = k, true, ""
		}
	}
	if !ok {
		return "", "", false
	}
	return key, strings.TrimRight(strings.Join(lines, "\n"), "\r\n "), true
}

const markerPrefix = "[healthsync:"

// markerKey returns the key of a marker line: "[healthsync:KEY]" then only
// spaces or tabs and an optional carriage return (markerRe).
func markerKey(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, markerPrefix)
	if !ok {
		return "", false
	}
	end := strings.IndexAny(rest, "]\r")
	if end <= 0 || rest[end] != ']' {
		return "", false
	}
	if tail := strings.TrimSuffix(rest[end+1:], "\r"); strings.Trim(tail, " \t") != "" {
		return "", false
	}
	return rest[:end], true
}
