package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/healthsync/healthsync/connectors/httpclient"
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
	err := c.rowsWhereIn(ctx, object, fields, "Id", ids, func(r row) {
		id := r.str("Id")
		out[id] = r
		out[id[:15]] = r
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rowsWhereIn reads fields of the records whose field in is one of ids
// (valid, distinct Salesforce IDs; others are left out), idsPerQuery IDs
// per query, and hands each row to each.
func (c *Client) rowsWhereIn(ctx context.Context, object string, fields []string, in string, ids []string, each func(row)) error {
	var clean []string
	for _, id := range ids {
		if idRe.MatchString(id) && !slices.Contains(clean, id) {
			clean = append(clean, id)
		}
	}
	for chunk := range slices.Chunk(clean, idsPerQuery) {
		soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + object + " WHERE " + in + " IN ('" + strings.Join(chunk, "', '") + "')"
		for qr, err := range c.pages(ctx, soql, false) {
			if err != nil {
				return err
			}
			for _, raw := range qr.Records {
				r, err := decodeRow(raw)
				if err != nil {
					return err
				}
				each(r)
			}
		}
	}
	return nil
}

// CreateTasks inserts tasks through sObject Collections POST: WhatId the
// account, OwnerId the task's owner, else the configured TaskOwnerID, else
// the account's owner; Description ends with the [healthsync:KEY] marker line.
// A key already created by this client (or twice in the call) is not created
// again: its result carries the existing ID.
//
// The POST creates, so it is never repeated blindly: after an unknown
// outcome (a timeout, a lost answer, a 5xx; httpclient.ErrUnknownOutcome)
// the tasks are read back by their marker, those found are reported with
// their IDs and only the others are sent again, at most createRounds times.
// Keys still in doubt when the call gives up are read back first by the
// next call.
func (c *Client) CreateTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error) {
	results := make([]record.WriteResult, 0, len(tasks))
	if err := c.settleDoubts(ctx, tasks); err != nil {
		return nil, err
	}
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
	var queue []taskCreate
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
		queue = append(queue, taskCreate{key: t.DedupeKey, account: t.AccountID, rec: rec})
	}
	for chunk := range slices.Chunk(queue, MaxBatch) {
		res, err := c.createChunk(ctx, chunk)
		results = append(results, res...)
		if err != nil {
			return results, fmt.Errorf("creating tasks: %w", err)
		}
	}
	return results, nil
}

// taskCreate is one task to insert: its dedupe key, account and record.
type taskCreate struct {
	key, account string
	rec          map[string]any
}

// createRounds bounds the POSTs of one chunk when outcomes stay unknown.
const createRounds = 3

// inDoubt is the task ID recorded for a key whose create had an unknown
// outcome: the task may exist, and is read back before any new create.
const inDoubt = ""

// createChunk inserts up to MaxBatch tasks, reading back by marker after an
// unknown outcome before sending the tasks not found again.
func (c *Client) createChunk(ctx context.Context, chunk []taskCreate) ([]record.WriteResult, error) {
	var results []record.WriteResult
	for round := 1; len(chunk) > 0; round++ {
		recs := make([]map[string]any, len(chunk))
		for i, p := range chunk {
			recs[i] = p.rec
		}
		out, err := c.collection(httpclient.Creating(ctx), http.MethodPost, recs)
		if err == nil {
			for i, r := range out {
				res := record.WriteResult{ID: r.ID, Key: chunk[i].key, Error: r.writeError()}
				switch {
				case res.Error == nil:
					c.rememberTask(res.Key, r.ID)
				case res.Key != "":
					c.forgetDoubt(res.Key)
				}
				results = append(results, res)
			}
			return results, nil
		}
		if !errors.Is(err, httpclient.ErrUnknownOutcome) {
			return results, err
		}
		for _, p := range chunk {
			c.rememberTask(p.key, inDoubt)
		}
		if round == createRounds {
			return results, err
		}
		found, rerr := c.tasksByMarker(ctx, chunk)
		if rerr != nil {
			return results, fmt.Errorf("reading back tasks after an unknown outcome: %w (after %w)", rerr, err)
		}
		var rest []taskCreate
		for _, p := range chunk {
			if id, ok := found[p.key]; ok {
				c.rememberTask(p.key, id)
				results = append(results, record.WriteResult{ID: id, Key: p.key})
			} else {
				rest = append(rest, p)
			}
		}
		chunk = rest
	}
	return results, nil
}

// settleDoubts reads back, by marker, the keys of tasks whose create had an
// unknown outcome in an earlier call: found ones are remembered with their
// IDs, the others forgotten so they are created.
func (c *Client) settleDoubts(ctx context.Context, tasks []record.Task) error {
	var doubt []taskCreate
	c.taskMu.Lock()
	for _, t := range tasks {
		if id, ok := c.taskIDs[t.DedupeKey]; ok && id == inDoubt && t.DedupeKey != "" {
			doubt = append(doubt, taskCreate{key: t.DedupeKey, account: t.AccountID})
		}
	}
	c.taskMu.Unlock()
	if len(doubt) == 0 {
		return nil
	}
	found, err := c.tasksByMarker(ctx, doubt)
	if err != nil {
		return fmt.Errorf("creating tasks: reading back tasks in doubt: %w", err)
	}
	for _, p := range doubt {
		if id, ok := found[p.key]; ok {
			c.rememberTask(p.key, id)
		} else {
			c.forgetDoubt(p.key)
		}
	}
	return nil
}

// Doubt marks keys whose create an earlier process may have sent without
// recording the outcome (it stopped in between): the next CreateTasks of
// those keys reads them back by marker before creating any. A key this
// client already knows keeps its ID.
func (c *Client) Doubt(keys []string) {
	c.taskMu.Lock()
	defer c.taskMu.Unlock()
	for _, k := range keys {
		if _, known := c.taskIDs[k]; !known && k != "" {
			c.taskIDs[k] = inDoubt
		}
	}
}

func (c *Client) rememberTask(key, id string) {
	if key == "" {
		return
	}
	c.taskMu.Lock()
	c.taskIDs[key] = id
	c.taskMu.Unlock()
}

// forgetDoubt removes a key recorded as in doubt.
func (c *Client) forgetDoubt(key string) {
	c.taskMu.Lock()
	if id, ok := c.taskIDs[key]; ok && id == inDoubt {
		delete(c.taskIDs, key)
	}
	c.taskMu.Unlock()
}

// tasksByMarker reads the tasks on the chunk's accounts and returns the ID
// of the one carrying each key's [healthsync:KEY] marker. Description is a
// long text area, which SOQL cannot filter on (SOQL and SOSL Reference,
// "Comparison Operators": long text area fields are not supported in
// WHERE), so the accounts' tasks are read and the markers matched here.
func (c *Client) tasksByMarker(ctx context.Context, chunk []taskCreate) (map[string]string, error) {
	want := map[string]bool{}
	accounts := make([]string, 0, len(chunk))
	for _, p := range chunk {
		want[p.key] = true
		accounts = append(accounts, p.account)
	}
	found := map[string]string{}
	err := c.rowsWhereIn(ctx, "Task", []string{"Id", "Description"}, "WhatId", accounts, func(r row) {
		for _, m := range markerRe.FindAllStringSubmatch(r.str("Description"), -1) {
			if key := m[1]; want[key] && found[key] == "" {
				found[key] = r.str("Id")
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return found, nil
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
