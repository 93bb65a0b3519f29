package hubspot

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// TaskToCompany is HubSpot's HUBSPOT_DEFINED association type ID from a
// task to a company (developers.hubspot.com, Associations v4 default type
// IDs: task to company 192).
const TaskToCompany = 192

// taskInput is the specs' SimplePublicObjectBatchInputForCreate.
type taskInput struct {
	Properties         map[string]string `json:"properties"`
	Associations       []assocInput      `json:"associations"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

// assocInput is PublicAssociationsForObject.
type assocInput struct {
	To struct {
		ID string `json:"id"`
	} `json:"to"`
	Types []assocSpec `json:"types"`
}

// assocSpec is AssociationSpec.
type assocSpec struct {
	AssociationCategory string `json:"associationCategory"`
	AssociationTypeID   int    `json:"associationTypeId"`
}

func (c *Client) rememberTask(key, id string) {
	if key == "" || id == "" {
		return
	}
	c.taskMu.Lock()
	c.taskKeys[key] = id
	c.taskMu.Unlock()
}

// loadTasks reads open healthsync tasks once so CreateTasks never creates a
// task whose key already exists in HubSpot (for example after a crash
// between creating tasks and storing their IDs).
func (c *Client) loadTasks(ctx context.Context) error {
	c.taskMu.Lock()
	loaded := c.tasksSet
	c.taskMu.Unlock()
	if loaded {
		return nil
	}
	after := ""
	seen := map[string]bool{}
	for {
		p, err := c.list(ctx, StreamTasks, after, false)
		if err != nil {
			return fmt.Errorf("hubspot: reading existing tasks: %w", err)
		}
		b := &record.Batch{Stream: StreamTasks}
		c.fill(b, p.Results, nil)
		next := p.next()
		if next == "" {
			break
		}
		if seen[next] {
			return fmt.Errorf("hubspot: reading existing tasks: %w", ErrRepeatedCursor)
		}
		seen[next] = true
		after = next
	}
	c.taskMu.Lock()
	c.tasksSet = true
	c.taskMu.Unlock()
	return nil
}

// CreateTasks creates tasks on companies through the tasks object
// (POST /crm/v3/objects/tasks/batch/create): subject, body ending with the
// line "[healthsync:KEY]", status NOT_STARTED, priority, due timestamp and
// owner, associated with the company (type 192). A task whose DedupeKey
// already exists (created earlier, or seen by a pull) is not created again:
// its existing ID is returned. After an unknown outcome the tasks are read
// back before any is sent again (createChunk).
func (c *Client) CreateTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error) {
	if err := c.loadTasks(ctx); err != nil {
		return nil, err
	}
	if err := c.settleDoubts(ctx, tasks); err != nil {
		return nil, err
	}
	var results []record.WriteResult
	var pending []record.Task
	queued := map[string]bool{}
	for _, t := range tasks {
		c.taskMu.Lock()
		id, exists := c.taskKeys[t.DedupeKey]
		c.taskMu.Unlock()
		switch {
		case t.DedupeKey == "":
			results = append(results, record.WriteResult{Error: &record.WriteError{Code: "MISSING_KEY", Message: "task has no dedupe key"}})
		case exists:
			results = append(results, record.WriteResult{ID: id, Key: t.DedupeKey})
		case t.AccountID == "":
			results = append(results, record.WriteResult{Key: t.DedupeKey, Error: &record.WriteError{Code: "MISSING_COMPANY", Message: "task has no company"}})
		case queued[t.DedupeKey]:
			// The same key twice in one call: created once, reported once.
		default:
			queued[t.DedupeKey] = true
			pending = append(pending, t)
		}
	}
	for start := 0; start < len(pending); start += batchSize {
		res, err := c.createChunk(ctx, pending[start:min(start+batchSize, len(pending))])
		results = append(results, res...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// createRounds bounds the batch creates of one chunk when outcomes stay
// unknown.
const createRounds = 3

// inDoubt is the task ID recorded for a key whose create had an unknown
// outcome: the task may exist, and is read back before any new create.
const inDoubt = ""

// createChunk creates up to batchSize tasks. The call creates, so it is
// never repeated blindly: after an unknown outcome (a timeout, a lost
// answer, a 5xx; httpclient.ErrUnknownOutcome) the tasks are read back by
// their key line, and only those not found are sent again.
func (c *Client) createChunk(ctx context.Context, chunk []record.Task) ([]record.WriteResult, error) {
	var results []record.WriteResult
	for round := 1; len(chunk) > 0; round++ {
		inputs, keys := c.taskInputs(chunk)
		res, err := writeBatch(httpclient.Creating(ctx), c, "/crm/v3/objects/tasks/batch/create", inputs, keys, func(o *object) (string, string) {
			key := o.ObjectWriteTraceID
			if key == "" {
				key, _ = taskKey(o.prop("hs_task_body"))
			}
			return o.ID, key
		})
		if err == nil {
			for _, r := range res {
				if r.Error == nil {
					c.rememberTask(r.Key, r.ID)
				} else {
					c.forgetDoubt(r.Key)
				}
			}
			return append(results, res...), nil
		}
		if !errors.Is(err, httpclient.ErrUnknownOutcome) {
			return results, err
		}
		c.markInDoubt(keys)
		if round == createRounds {
			return results, err
		}
		found, rerr := c.readBackTasks(ctx, keys)
		if rerr != nil {
			return results, fmt.Errorf("hubspot: reading back tasks after an unknown outcome: %w (after %w)", rerr, err)
		}
		var rest []record.Task
		for _, t := range chunk {
			if id := found[t.DedupeKey]; id != "" {
				results = append(results, record.WriteResult{ID: id, Key: t.DedupeKey})
			} else {
				rest = append(rest, t)
			}
		}
		chunk = rest
	}
	return results, nil
}

// taskInputs are the batch create inputs of tasks, and their keys.
func (c *Client) taskInputs(tasks []record.Task) ([]taskInput, []string) {
	var inputs []taskInput
	var keys []string
	for _, t := range tasks {
		props := map[string]string{
			"hs_task_subject":  t.Subject,
			"hs_task_body":     withKey(t.Body, t.DedupeKey),
			"hs_task_status":   "NOT_STARTED",
			"hs_task_priority": toPriority(t.Priority),
			"hs_task_type":     "TODO",
		}
		due := t.Due
		if due.IsZero() {
			due = c.opts.Now()
		}
		props["hs_timestamp"] = strconv.FormatInt(due.UnixMilli(), 10)
		if t.OwnerID != "" {
			props["hubspot_owner_id"] = t.OwnerID
		}
		a := assocInput{Types: []assocSpec{{AssociationCategory: "HUBSPOT_DEFINED", AssociationTypeID: TaskToCompany}}}
		a.To.ID = t.AccountID
		inputs = append(inputs, taskInput{Properties: props, Associations: []assocInput{a}, ObjectWriteTraceID: t.DedupeKey})
		keys = append(keys, t.DedupeKey)
	}
	return inputs, keys
}

// Doubt marks keys whose create an earlier process may have sent without
// recording the outcome (it stopped in between): the next CreateTasks of
// those keys reads them back first. A key this client already knows keeps
// its ID.
func (c *Client) Doubt(keys []string) {
	c.taskMu.Lock()
	var unknown []string
	for _, k := range keys {
		if _, known := c.taskKeys[k]; !known {
			unknown = append(unknown, k)
		}
	}
	c.taskMu.Unlock()
	c.markInDoubt(unknown)
}

func (c *Client) markInDoubt(keys []string) {
	c.taskMu.Lock()
	for _, k := range keys {
		if k != "" {
			c.taskKeys[k] = inDoubt
		}
	}
	c.taskMu.Unlock()
}

// forgetDoubt removes a key recorded as in doubt.
func (c *Client) forgetDoubt(key string) {
	c.taskMu.Lock()
	if id, ok := c.taskKeys[key]; ok && id == inDoubt {
		delete(c.taskKeys, key)
	}
	c.taskMu.Unlock()
}

// readBackTasks re-reads the portal's tasks (the list endpoint, as
// loadTasks) and returns the ID of each key found; keys not found are no
// longer in doubt.
func (c *Client) readBackTasks(ctx context.Context, keys []string) (map[string]string, error) {
	c.taskMu.Lock()
	c.tasksSet = false
	c.taskMu.Unlock()
	if err := c.loadTasks(ctx); err != nil {
		return nil, err
	}
	found := map[string]string{}
	c.taskMu.Lock()
	defer c.taskMu.Unlock()
	for _, k := range keys {
		switch id := c.taskKeys[k]; id {
		case inDoubt:
			delete(c.taskKeys, k)
		default:
			found[k] = id
		}
	}
	return found, nil
}

// settleDoubts reads back the keys of tasks whose create had an unknown
// outcome in an earlier call, before anything is created again.
func (c *Client) settleDoubts(ctx context.Context, tasks []record.Task) error {
	var doubt []string
	c.taskMu.Lock()
	for _, t := range tasks {
		if id, ok := c.taskKeys[t.DedupeKey]; ok && id == inDoubt && t.DedupeKey != "" {
			doubt = append(doubt, t.DedupeKey)
		}
	}
	c.taskMu.Unlock()
	if len(doubt) == 0 {
		return nil
	}
	if _, err := c.readBackTasks(ctx, doubt); err != nil {
		return fmt.Errorf("hubspot: reading back tasks in doubt: %w", err)
	}
	return nil
}

// CompleteTasks marks tasks COMPLETED (POST /crm/v3/objects/tasks/batch/update),
// adding the task's Note to its body above the key line.
func (c *Client) CompleteTasks(ctx context.Context, tasks []record.Task) ([]record.WriteResult, error) {
	var results []record.WriteResult
	var inputs []batchInput
	seen := map[string]bool{}
	for _, t := range tasks {
		if t.ID == "" {
			results = append(results, record.WriteResult{Key: t.DedupeKey, Error: &record.WriteError{Code: "MISSING_ID", Message: "task has no ID"}})
			continue
		}
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		props := map[string]string{"hs_task_status": "COMPLETED"}
		body := t.Body
		if t.Note != "" {
			if body != "" {
				body += "\n\n"
			}
			body += t.Note
		}
		if body != "" || t.DedupeKey != "" {
			props["hs_task_body"] = withKey(body, t.DedupeKey)
		}
		inputs = append(inputs, batchInput{ID: t.ID, Properties: props})
	}
	for start := 0; start < len(inputs); start += batchSize {
		chunk := inputs[start:min(start+batchSize, len(inputs))]
		var ids []string
		for _, in := range chunk {
			ids = append(ids, in.ID)
		}
		res, err := writeBatch(ctx, c, "/crm/v3/objects/tasks/batch/update", chunk, ids, nil)
		if err != nil {
			return results, err
		}
		results = append(results, res...)
	}
	c.taskMu.Lock()
	for _, t := range tasks {
		if c.taskKeys[t.DedupeKey] == t.ID {
			delete(c.taskKeys, t.DedupeKey)
		}
	}
	c.taskMu.Unlock()
	return results, nil
}
