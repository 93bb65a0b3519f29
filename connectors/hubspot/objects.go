package hubspot

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Streams the connector pulls, in order.
const (
	StreamCompanies = "companies"
	StreamDeals     = "deals"
	StreamTasks     = "tasks"
)

// Standard properties always read, before the configured extras.
var standardProps = map[string][]string{
	StreamCompanies: {"name", "domain", "website", "hubspot_owner_id", "industry", "hs_lastmodifieddate"},
	StreamDeals: {"dealname", "dealstage", "amount", "closedate", "pipeline", "hubspot_owner_id", "dealtype",
		"hs_is_closed", "hs_is_closed_won", "hs_lastmodifieddate", "deal_currency_code"},
	StreamTasks: {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_timestamp",
		"hubspot_owner_id", "hs_lastmodifieddate"},
}

// properties lists the standard and configured properties of a stream.
func (c *Client) properties(stream string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append(append([]string(nil), standardProps[stream]...), c.objects[stream]...) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// object is the specs' SimplePublicObject. Property values are strings, or
// null when requested but unset. Associations are read with the v4 batch
// read (companiesOf), never from v3 answers.
type object struct {
	ID                 string             `json:"id"`
	Properties         map[string]*string `json:"properties"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
	Archived           bool               `json:"archived"`
	ArchivedAt         *time.Time         `json:"archivedAt"`
	ObjectWriteTraceID string             `json:"objectWriteTraceId"`
}

func (o *object) prop(name string) string {
	if v := o.Properties[name]; v != nil {
		return *v
	}
	return ""
}

// modified is hs_lastmodifieddate, falling back to updatedAt.
func (o *object) modified() time.Time {
	if t, ok := parseTime(o.prop("hs_lastmodifieddate")); ok {
		return t
	}
	return o.UpdatedAt.UTC()
}

// parseTime reads a HubSpot datetime: ISO 8601 or Unix milliseconds.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

func (c *Client) extras(stream string, o *object) map[string]any {
	if len(c.objects[stream]) == 0 {
		return nil
	}
	m := make(map[string]any, len(c.objects[stream]))
	for _, f := range c.objects[stream] {
		if v := o.Properties[f]; v != nil {
			m[f] = *v
		} else {
			m[f] = nil
		}
	}
	return m
}

func ref(o *object) record.Ref {
	return record.Ref{System: record.HubSpot, ID: o.ID, Modified: o.modified()}
}

func (c *Client) toAccount(o *object) record.Account {
	return record.Account{
		Ref:      ref(o),
		Name:     o.prop("name"),
		Website:  o.prop("website"),
		Domain:   o.prop("domain"),
		OwnerID:  o.prop("hubspot_owner_id"),
		Industry: o.prop("industry"),
		Fields:   c.extras(StreamCompanies, o),
		Deleted:  o.Archived,
	}
}

func (c *Client) toDeal(o *object, company string) record.Deal {
	d := record.Deal{
		Ref:       ref(o),
		AccountID: company,
		Name:      o.prop("dealname"),
		Stage:     o.prop("dealstage"),
		Type:      o.prop("dealtype"),
		Currency:  strings.ToUpper(o.prop("deal_currency_code")),
		IsClosed:  o.prop("hs_is_closed") == "true",
		IsWon:     o.prop("hs_is_closed_won") == "true",
		OwnerID:   o.prop("hubspot_owner_id"),
		Fields:    c.extras(StreamDeals, o),
		Deleted:   o.Archived,
	}
	if a, err := strconv.ParseFloat(o.prop("amount"), 64); err == nil {
		d.Amount = a
	}
	if t, ok := parseTime(o.prop("closedate")); ok {
		d.CloseDate = t
	}
	return d
}

// keyLine is the last line of the body of a task healthsync created:
// "[healthsync:KEY]".
var keyLine = regexp.MustCompile(`\n*\[healthsync:([^\]\s]+)\]\s*$`)

// taskKey returns the dedupe key in a task body and the body without it.
func taskKey(body string) (key, rest string) {
	m := keyLine.FindStringSubmatchIndex(body)
	if m == nil {
		return "", body
	}
	return body[m[2]:m[3]], body[:m[0]]
}

func withKey(body, key string) string {
	if key == "" {
		return body
	}
	if body == "" {
		return "[healthsync:" + key + "]"
	}
	return strings.TrimRight(body, "\n") + "\n\n[healthsync:" + key + "]"
}

// Task priorities: healthsync high/normal/low <-> HubSpot HIGH/MEDIUM/LOW.
func toPriority(p string) string {
	switch strings.ToLower(p) {
	case "high":
		return "HIGH"
	case "low":
		return "LOW"
	}
	return "MEDIUM"
}

func fromPriority(p string) string {
	switch p {
	case "HIGH":
		return "high"
	case "LOW":
		return "low"
	}
	return "normal"
}

func (c *Client) toTask(o *object, company string) (record.Task, bool) {
	key, body := taskKey(o.prop("hs_task_body"))
	if key == "" {
		return record.Task{}, false
	}
	t := record.Task{
		Ref:       ref(o),
		AccountID: company,
		OwnerID:   o.prop("hubspot_owner_id"),
		Subject:   o.prop("hs_task_subject"),
		Body:      body,
		Priority:  fromPriority(o.prop("hs_task_priority")),
		Status:    record.TaskOpen,
		DedupeKey: key,
	}
	if o.prop("hs_task_status") == "COMPLETED" {
		t.Status = record.TaskCompleted
	}
	if d, ok := parseTime(o.prop("hs_timestamp")); ok {
		t.Due = d
	}
	return t, true
}
