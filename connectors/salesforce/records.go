package salesforce

import (
	"fmt"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// row is one decoded query record: field name -> value as decoded from JSON
// (string, float64, bool, nil, or a map for attributes).
type row map[string]any

func decodeRow(raw map[string]any) (row, error) {
	if _, ok := raw["Id"].(string); !ok {
		return nil, fmt.Errorf("record without Id")
	}
	delete(raw, "attributes")
	return row(raw), nil
}

func (r row) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r row) bool(k string) bool {
	b, _ := r[k].(bool)
	return b
}

func (r row) num(k string) float64 {
	n, _ := r[k].(float64)
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
	v, ok := r[name]
	if ok {
		return v
	}
	rel, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		return nil
	}
	parent, _ := r[rel].(map[string]any)
	if parent == nil {
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
	desc := r.str("Description")
	m := markerRe.FindAllStringSubmatch(desc, -1)
	if m == nil {
		return record.Task{}, false
	}
	key := m[len(m)-1][1]
	body := strings.TrimRight(markerRe.ReplaceAllString(desc, ""), "\r\n ")
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
