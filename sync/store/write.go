package store

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// WrittenValue is the last value written to one CRM field. Value comes back
// as decoded JSON (string, float64, bool, nil); compare with Matches.
type WrittenValue struct {
	Value any       `json:"value"`
	At    time.Time `json:"at"`
}

// Matches reports whether v encodes to the same JSON as the written value,
// so int64(5) matches a stored 5.0 and a time.Time its stored string.
func (w WrittenValue) Matches(v any) bool { return sameJSON(w.Value, v) }

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// WriteKey names one CRM record.
type WriteKey struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

// PendingWrite is a planned update of one CRM record's fields, kept until it
// is written or fails permanently.
type PendingWrite struct {
	Connector string         `json:"connector"`
	Object    string         `json:"object"`
	ID        string         `json:"id"`
	Fields    map[string]any `json:"fields"`
	Planned   time.Time      `json:"planned"`
	Attempts  int            `json:"attempts"`
	RetryAt   time.Time      `json:"retry_at,omitzero"`
	LastError string         `json:"last_error,omitempty"`
	// Permanent is set when the CRM rejected the update in a way retrying
	// will not fix (validation rule, missing field); a new plan clears it.
	Permanent bool `json:"permanent,omitempty"`
	// Sent holds, by field, the values sent to the CRM whose success is
	// not recorded yet (MarkSent, before the call). After a crash between
	// the call and MarkWritten, a CRM value among them is healthsync's own
	// write, not a person's edit.
	Sent map[string][]any `json:"sent,omitempty"`
}

// WasSent reports whether v is among the values sent to field.
func (p PendingWrite) WasSent(field string, v any) bool {
	for _, s := range p.Sent[field] {
		if sameJSON(s, v) {
			return true
		}
	}
	return false
}

// MaxSent bounds the unconfirmed values kept per field.
const MaxSent = 4

// AddSent records the values of u as sent (MarkSent's rule, for every
// backend): a value already there is not repeated, and the oldest beyond
// the last MaxSent are dropped.
func (p *PendingWrite) AddSent(u record.FieldUpdate) {
	for f, v := range u.Fields {
		if p.WasSent(f, v) {
			continue
		}
		if p.Sent == nil {
			p.Sent = map[string][]any{}
		}
		sent := append(p.Sent[f], v)
		p.Sent[f] = sent[max(0, len(sent)-MaxSent):]
	}
}

// Recorded applies a recorded write of u (MarkWritten's rule, for every
// backend): each field whose pending value is the one written leaves the
// pending write, and every field of u forgets its sent values. It reports
// whether any field is left pending.
func (p *PendingWrite) Recorded(u record.FieldUpdate) bool {
	for f, v := range u.Fields {
		if pv, ok := p.Fields[f]; ok && (WrittenValue{Value: pv}).Matches(v) {
			delete(p.Fields, f)
		}
		delete(p.Sent, f) // the CRM now holds a recorded value
	}
	return len(p.Fields) > 0
}

// Failed counts one failed attempt of f on the pending write (MarkFailed's
// rule, for every backend).
func (p *PendingWrite) Failed(f WriteFailure) {
	p.Attempts++
	p.LastError = f.Err
	p.Permanent = f.Permanent
	p.RetryAt = f.RetryAt.UTC()
}

// Due reports whether the write should be attempted at now.
func (p PendingWrite) Due(now time.Time) bool { return !p.Permanent && !p.RetryAt.After(now) }

// Update is the pending write as a record.FieldUpdate.
func (p PendingWrite) Update() record.FieldUpdate {
	return record.FieldUpdate{Object: p.Object, ID: p.ID, Fields: p.Fields}
}

// WriteFailure is one record's failed write.
type WriteFailure struct {
	Object    string
	ID        string
	RetryAt   time.Time // when to try again (ignored when Permanent)
	Err       string
	Permanent bool
}
