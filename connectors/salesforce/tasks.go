package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/healthsync/healthsync/connectors/record"
)

// Marker is the Description line that identifies a task healthsync created:
// "[healthsync:KEY]".
func Marker(key string) string { return "[healthsync:" + key + "]" }

var priorities = map[string]string{"high": "High", "normal": "Normal", "low": "Low"}

// idsPerQuery is how many IDs one byIDs query names: 200 IDs make about
// 5.6 KB of URL-encoded SOQL, well inside the 16,384 bytes a REST call's
// URI and headers may hold (Salesforce Help, "Maximum number of rows
// returned by SOQL queries over the REST API").
const idsPerQuery = 200

// byIDs reads fields of records by ID, idsPerQuery IDs per query.
func (c *Client) byIDs(ctx context.Context, object string, fields []string, ids []string) (map[string]row, error) {
	out := map[string]row{}
	var clean []string
	for _, id := range ids {
		if idRe.MatchString(id) && !slices.Contains(clean, id) {
			clean = append(clean, id)
		}
	}
	for chunk := range slices.Chunk(clean, idsPerQuery) {
		soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + object + " WHERE Id IN ('" + strings.Join(chunk, "', '") + "')"
		for qr, err := range c.pages(ctx, soql, false) {
			if err != nil {
				return nil, err
			}
			for _, raw := range qr.Records {
				r, err := decodeRow(raw)
				if err != nil {
					return nil, err
				}
				id := r.str("Id")
				out[id] = r
				out[id[:15]] = r
			}
		}
	}
	return out, nil
}

// CreateTasks inserts tasks through sObject Collections POST: WhatId the
// account, OwnerId the task's owner, else the configured TaskOwnerID, else
// the account's owner; Description ends with the [healthsync:KEY] marker line.
// A key already created by this client (or twice in the call) is not created
// again: its result carries the existing ID.
func (c *Client) CreateTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error) {
	results := make([]record.WriteResult, 0, len(tasks))
	var need []string
	for _, t := range tasks {
		if t.OwnerID == "" && c.opts.TaskOwnerID == "" {
			need = append(need, t.AccountID)
		}
	}
	owners := map[string]row{}
	if len(need) > 0 {
		var err error
		if owners, err = c.byIDs(ctx, "Account", []string{"Id", "OwnerId"}, need); err != nil {
			return nil, fmt.Errorf("creating tasks: reading account owners: %w", err)
		}
	}
	type pending struct {
		key string
		rec map[string]any
	}
	var queue []pending
	inCall := map[string]bool{}
	for _, t := range tasks {
		c.taskMu.Lock()
		id, dup := c.taskIDs[t.DedupeKey]
		c.taskMu.Unlock()
		if t.DedupeKey != "" && (dup || inCall[t.DedupeKey]) {
			if dup {
				results = append(results, record.WriteResult{ID: id, Key: t.DedupeKey})
			}
			continue
		}
		inCall[t.DedupeKey] = true
		owner := t.OwnerID
		if owner == "" {
			owner = c.opts.TaskOwnerID
		}
		if owner == "" {
			if r := owners[t.AccountID]; r != nil {
				owner = r.str("OwnerId")
			}
		}
		if owner == "" {
			results = append(results, record.WriteResult{Key: t.DedupeKey, Error: &record.WriteError{Code: "INVALID_CROSS_REFERENCE_KEY", Message: "account " + t.AccountID + " not found for the task's owner", Fields: []string{"WhatId"}}})
			continue
		}
		desc := taskDescription(t.Body, t.DedupeKey)
		status := "Not Started"
		if t.Status == record.TaskCompleted {
			status = "Completed"
		}
		rec := map[string]any{
			"attributes":  map[string]string{"type": "Task"},
			"WhatId":      t.AccountID,
			"OwnerId":     owner,
			"Subject":     truncate(t.Subject, 255),
			"Description": desc,
			"Status":      status,
		}
		if p := priorities[strings.ToLower(t.Priority)]; p != "" {
			rec["Priority"] = p
		} else {
			rec["Priority"] = "Normal"
		}
		if !t.Due.IsZero() {
			rec["ActivityDate"] = t.Due.UTC().Format("2006-01-02")
		}
		queue = append(queue, pending{t.DedupeKey, rec})
	}
	for chunk := range slices.Chunk(queue, MaxBatch) {
		recs := make([]map[string]any, len(chunk))
		for i, p := range chunk {
			recs[i] = p.rec
		}
		out, err := c.collection(ctx, http.MethodPost, recs)
		if err != nil {
			return results, fmt.Errorf("creating tasks: %w", err)
		}
		for i, r := range out {
			res := record.WriteResult{ID: r.ID, Key: chunk[i].key, Error: r.writeError()}
			if res.Error == nil && res.Key != "" {
				c.taskMu.Lock()
				c.taskIDs[res.Key] = r.ID
				c.taskMu.Unlock()
			}
			results = append(results, res)
		}
	}
	return results, nil
}

// maxTaskDescription is the length of Task.Description, a long text area
// of 32,000 characters (Object Reference for the Salesforce Platform,
// "Task"); a longer value fails the record with STRING_TOO_LONG.
const maxTaskDescription = 32000

// taskDescription is the body followed by the marker line, the body cut
// (ending in "…") so that the whole fits the field and the marker survives.
func taskDescription(body, key string) string {
	marker := Marker(key)
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return marker
	}
	room := maxTaskDescription - utf8.RuneCountInString(marker) - len("\n\n")
	if utf8.RuneCountInString(body) > room {
		body = truncate(body, max(room-1, 0)) + "…"
	}
	return body + "\n\n" + marker
}

// appendNote adds a line to a Description, cut to what the field still
// holds; a full Description is left as it is.
func appendNote(desc, note string) string {
	desc = strings.TrimRight(desc, "\n")
	room := maxTaskDescription - utf8.RuneCountInString(desc) - 1
	switch {
	case room <= 0:
		return desc
	case utf8.RuneCountInString(note) > room:
		note = truncate(note, room-1) + "…"
	}
	return desc + "\n" + note
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// CompleteTasks sets Status to Completed and appends each task's Note to its
// current Description.
func (c *Client) CompleteTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error) {
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	cur, err := c.byIDs(ctx, "Task", []string{"Id", "Description"}, ids)
	if err != nil {
		return nil, fmt.Errorf("completing tasks: reading descriptions: %w", err)
	}
	results := make([]record.WriteResult, 0, len(tasks))
	type pending struct {
		t   record.Task
		rec map[string]any
	}
	var queue []pending
	for _, t := range tasks {
		r := cur[t.ID]
		if r == nil {
			results = append(results, record.WriteResult{ID: t.ID, Key: t.DedupeKey, Error: &record.WriteError{Code: "ENTITY_IS_DELETED", Message: "task not found"}})
			continue
		}
		rec := map[string]any{"attributes": map[string]string{"type": "Task"}, "id": t.ID, "Status": "Completed"}
		if t.Note != "" {
			rec["Description"] = appendNote(r.str("Description"), t.Note)
		}
		queue = append(queue, pending{t, rec})
	}
	for chunk := range slices.Chunk(queue, MaxBatch) {
		recs := make([]map[string]any, len(chunk))
		for i, p := range chunk {
			recs[i] = p.rec
		}
		out, err := c.collection(ctx, http.MethodPatch, recs)
		if err != nil {
			return results, fmt.Errorf("completing tasks: %w", err)
		}
		for i, r := range out {
			results = append(results, record.WriteResult{ID: chunk[i].t.ID, Key: chunk[i].t.DedupeKey, Error: r.writeError()})
		}
	}
	return results, nil
}
