package hubspot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// batchSize is HubSpot's limit of inputs per batch call.
const batchSize = 100

// batchInput is the specs' SimplePublicObjectBatchInput.
type batchInput struct {
	ID                 string            `json:"id"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

// batchResult is BatchResponseSimplePublicObject(WithErrors).
type batchResult struct {
	Status  string     `json:"status"`
	Results []object   `json:"results"`
	Errors  []stdError `json:"errors"`
}

// stdError is the specs' StandardError; context.ids names the records.
type stdError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context"`
	Errors   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// transientCategories are per-record failures worth retrying on a later pass.
var transientCategories = map[string]bool{
	"RATE_LIMITS": true, "RATE_LIMIT": true, "INTERNAL_ERROR": true, "SERVICE_UNAVAILABLE": true,
	"TIMEOUT": true, "LOCKED": true, "CONFLICT": true, "MISSING_RESULT": true,
}

// formatValue renders a value as HubSpot property text: numbers in plain
// decimal, booleans true/false, times as Unix milliseconds (accepted by
// datetime and date properties), nil as "" (clears the value).
func formatValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("not a finite number: %v", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case time.Time:
		return strconv.FormatInt(x.UnixMilli(), 10), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("unsupported value type %T", v)
}

// Update writes field updates to companies with
// POST /crm/v3/objects/companies/batch/update, at most 100 records a call.
// Several updates of one ID are merged (later fields win), since HubSpot
// rejects a batch that names an ID twice. A 207 multi-status answer gives
// per-record results; a whole-batch failure is reported on each of its
// records, except that a batch rejected for one bad value is split until
// only the bad records fail (see writeBatch). The error is for failures that stop the write (daily limit,
// authentication, cancellation).
func (c *Client) Update(ctx context.Context, updates []record.FieldUpdate) ([]record.WriteResult, error) {
	merged := map[string]map[string]string{}
	var order []string
	var results []record.WriteResult
	for _, u := range updates {
		if obj := normObject(u.Object); obj != StreamCompanies {
			results = append(results, record.WriteResult{ID: u.ID, Error: &record.WriteError{
				Code: "UNSUPPORTED_OBJECT", Message: fmt.Sprintf("hubspot writer updates companies, not %q", u.Object)}})
			continue
		}
		props := merged[u.ID]
		if props == nil {
			props = map[string]string{}
			merged[u.ID] = props
			order = append(order, u.ID)
		}
		var bad []string
		for k, v := range u.Fields {
			s, err := formatValue(v)
			if err != nil {
				bad = append(bad, k)
				continue
			}
			props[k] = s
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			delete(merged, u.ID)
			order = remove(order, u.ID)
			results = append(results, record.WriteResult{ID: u.ID, Error: &record.WriteError{
				Code: "INVALID_VALUE", Message: "values of unsupported type", Fields: bad}})
		}
	}
	for start := 0; start < len(order); start += batchSize {
		end := min(start+batchSize, len(order))
		var inputs []batchInput
		for _, id := range order[start:end] {
			inputs = append(inputs, batchInput{ID: id, Properties: merged[id]})
		}
		res, err := writeBatch(ctx, c, "/crm/v3/objects/companies/batch/update", inputs, order[start:end], nil)
		if err != nil {
			return results, err
		}
		results = append(results, res...)
	}
	return results, nil
}

func remove(s []string, v string) []string {
	for i, x := range s {
		if x == v {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// writeBatch sends inputs (at most batchSize) in one batch call to path and
// maps the answer to one result per ID (ids[i] names inputs[i]). keyOf maps
// a result to its input ID when results are not matched by ID (creates:
// objectWriteTraceId), returning the caller's key as well.
//
// HubSpot validates a whole batch before applying any of it: one input with
// an invalid property value (a number property given text, an unknown
// enumeration option) rejects every input with 400 VALIDATION_ERROR and
// names no record ("CRM API | Companies", batch update; the properties'
// "Property values were not valid" error). A rejected batch is therefore
// split in halves and each half sent again, down to single inputs, so only
// the bad records are reported failed: k bad inputs among n cost at most
// about 2k*log2(n) more calls (see splitRejected for errors every record
// shares). Nothing of a 400 batch was applied, so resending its creates
// cannot duplicate them.
func writeBatch[T any](ctx context.Context, c *Client, path string, inputs []T, ids []string, keyOf func(o *object) (id, key string)) ([]record.WriteResult, error) {
	res, rejected, err := sendInputs(ctx, c, path, inputs, ids, keyOf)
	if err != nil || rejected == nil {
		return res, err
	}
	return splitRejected(ctx, c, path, inputs, ids, keyOf, rejected)
}

// splitRejected resends the two halves of a batch HubSpot rejected as a
// whole (rejected). When both halves are rejected again with the same error,
// the cause is common to the records (a property that does not exist or is
// read-only), not one bad value: they are all reported with it, since
// splitting further would cost about two calls per record.
func splitRejected[T any](ctx context.Context, c *Client, path string, inputs []T, ids []string, keyOf func(o *object) (id, key string), rejected *httpclient.Error) ([]record.WriteResult, error) {
	if rejected.Status != http.StatusBadRequest || len(inputs) == 1 {
		return wholeBatchFailed(rejected, ids, keyOf), nil
	}
	mid := len(inputs) / 2
	parts := [2]struct {
		inputs   []T
		ids      []string
		res      []record.WriteResult
		rejected *httpclient.Error
	}{{inputs: inputs[:mid], ids: ids[:mid]}, {inputs: inputs[mid:], ids: ids[mid:]}}
	for i := range parts {
		p := &parts[i]
		var err error
		if p.res, p.rejected, err = sendInputs(ctx, c, path, p.inputs, p.ids, keyOf); err != nil {
			return nil, err
		}
	}
	if r0, r1 := parts[0].rejected, parts[1].rejected; r0 != nil && r1 != nil &&
		r0.Status == r1.Status && r0.Code == r1.Code && r0.Message == r1.Message {
		return wholeBatchFailed(r0, ids, keyOf), nil
	}
	var out []record.WriteResult
	for i := range parts {
		p := &parts[i]
		if p.rejected == nil {
			out = append(out, p.res...)
			continue
		}
		res, err := splitRejected(ctx, c, path, p.inputs, p.ids, keyOf, p.rejected)
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// sendInputs sends one batch call of inputs.
func sendInputs[T any](ctx context.Context, c *Client, path string, inputs []T, ids []string, keyOf func(o *object) (id, key string)) ([]record.WriteResult, *httpclient.Error, error) {
	return c.sendBatch(ctx, path, struct {
		Inputs []T `json:"inputs"`
	}{inputs}, ids, keyOf)
}

// wholeBatchFailed reports a batch-level failure on each of its records.
func wholeBatchFailed(he *httpclient.Error, ids []string, keyOf func(o *object) (id, key string)) []record.WriteResult {
	out := make([]record.WriteResult, 0, len(ids))
	for _, id := range ids {
		r := record.WriteResult{ID: id, Error: &record.WriteError{Code: he.Code, Message: he.Message, Transient: he.Temporary()}}
		if keyOf != nil {
			r.ID, r.Key = "", id
		}
		out = append(out, r)
	}
	return out
}

// sendBatch sends one batch call. A failure of the whole batch that is not
// the run's (daily limit, authentication, cancellation) comes back as
// rejected; the error is for failures that stop the write.
func (c *Client) sendBatch(ctx context.Context, path string, in any, ids []string, keyOf func(o *object) (id, key string)) (_ []record.WriteResult, rejected *httpclient.Error, _ error) {
	var br batchResult
	_, err := c.call(ctx, http.MethodPost, path, nil, in, &br)
	if err != nil {
		var he *httpclient.Error
		if errors.As(err, &he) && !errors.Is(err, httpclient.ErrQuota) && he.Status != http.StatusUnauthorized && he.Status != http.StatusForbidden {
			return nil, he, nil
		}
		return nil, nil, fmt.Errorf("hubspot: batch write: %w", err)
	}
	done := map[string]bool{}
	var out []record.WriteResult
	for i := range br.Results {
		o := &br.Results[i]
		r := record.WriteResult{ID: o.ID}
		key := o.ID
		if keyOf != nil {
			_, r.Key = keyOf(o)
			key = r.Key
		}
		done[key] = true
		out = append(out, r)
	}
	for _, e := range br.Errors {
		code := e.Category
		if code == "" && len(e.Errors) > 0 {
			code = e.Errors[0].Code
		}
		ids := append(append([]string(nil), e.Context["ids"]...), e.Context["objectWriteTraceId"]...)
		for _, id := range ids {
			if done[id] {
				continue
			}
			done[id] = true
			r := record.WriteResult{ID: id, Error: &record.WriteError{Code: code, Message: c.hc.Redact(e.Message), Transient: transientCategories[code]}}
			if keyOf != nil {
				r.ID, r.Key = "", id
			}
			out = append(out, r)
		}
	}
	for _, id := range ids {
		if !done[id] {
			r := record.WriteResult{ID: id, Error: &record.WriteError{Code: "MISSING_RESULT", Message: "hubspot reported neither a result nor an error for this record", Transient: true}}
			if keyOf != nil {
				r.ID, r.Key = "", id
			}
			out = append(out, r)
		}
	}
	return out, nil, nil
}
