package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// GroupName is the company property group healthsync's properties live in.
const GroupName = "healthsync"

// PropertySpec is a custom company property healthsync writes.
type PropertySpec struct {
	Name        string
	Label       string
	Type        string   // number, string, enumeration, datetime
	FieldType   string   // number, text, textarea, select, date (default from Type)
	Options     []string // enumeration values
	Description string
}

// SetupReport is what Setup found and did.
type SetupReport struct {
	GroupCreated bool
	Created      []string // properties created
	Existing     []string // already present with the right type
	Conflicts    []record.FieldProblem
}

// DefaultProperties are the company properties healthsync writes by default.
func DefaultProperties() []PropertySpec {
	return []PropertySpec{
		{Name: "healthsync_health_score", Label: "Health score", Type: "number", Description: "healthsync health score, 0-100"},
		{Name: "healthsync_band", Label: "Health band", Type: "enumeration", Options: []string{"healthy", "caution", "at_risk"}},
		{Name: "healthsync_trend", Label: "Health trend", Type: "number", Description: "change of the health score over the trend window, in points"},
		{Name: "healthsync_reasons", Label: "Health reasons", Type: "string", FieldType: "textarea"},
		{Name: "healthsync_touch_model", Label: "Touch model", Type: "enumeration", Options: []string{"high", "low", "tech"}},
		{Name: "healthsync_phase", Label: "Lifecycle phase", Type: "enumeration", Options: []string{"onboarding", "adoption", "expansion", "renewal", "churned"}},
		{Name: "healthsync_mrr", Label: "MRR", Type: "number", Description: "monthly recurring revenue in major units"},
		{Name: "healthsync_arr", Label: "ARR", Type: "number", Description: "annual recurring revenue in major units"},
		{Name: "healthsync_updated_at", Label: "Health updated at", Type: "datetime"},
	}
}

func defaultFieldType(typ string) string {
	switch typ {
	case "number":
		return "number"
	case "enumeration":
		return "select"
	case "datetime", "date":
		return "date"
	case "bool":
		return "booleancheckbox"
	}
	return "text"
}

// propertyDef is a property as the CRM properties API v3 reads and writes
// it (developers.hubspot.com "CRM API | Properties"; no OpenAPI document
// for it is among the specs).
type propertyDef struct {
	Name                 string      `json:"name"`
	Label                string      `json:"label"`
	Type                 string      `json:"type"`
	FieldType            string      `json:"fieldType"`
	GroupName            string      `json:"groupName"`
	Description          string      `json:"description,omitempty"`
	Options              []optionDef `json:"options,omitempty"`
	Calculated           bool        `json:"calculated,omitempty"`
	ModificationMetadata *struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata,omitempty"`
}

type optionDef struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

func (c *Client) readProperties(ctx context.Context, object string) (map[string]propertyDef, error) {
	var out struct {
		Results []propertyDef `json:"results"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/crm/v3/properties/"+url.PathEscape(object), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("reading %s properties: %w", object, err)
	}
	m := make(map[string]propertyDef, len(out.Results))
	for _, p := range out.Results {
		m[p.Name] = p
	}
	return m, nil
}

// Setup creates the healthsync property group and the missing properties on
// companies, and reports properties that exist with another type (it never
// changes an existing property).
func (c *Client) Setup(ctx context.Context, specs []PropertySpec) (SetupReport, error) {
	var rep SetupReport
	_, err := c.call(ctx, http.MethodGet, "/crm/v3/properties/companies/groups/"+GroupName, nil, nil, nil)
	if err != nil {
		var he *httpclient.Error
		if !errors.As(err, &he) || he.Status != http.StatusNotFound {
			return rep, fmt.Errorf("hubspot: setup: reading property group: %w", err)
		}
		group := map[string]any{"name": GroupName, "label": "healthsync", "displayOrder": -1}
		if _, err := c.call(ctx, http.MethodPost, "/crm/v3/properties/companies/groups", nil, group, nil); err != nil {
			return rep, fmt.Errorf("hubspot: setup: creating property group: %w", err)
		}
		rep.GroupCreated = true
	}
	have, err := c.readProperties(ctx, StreamCompanies)
	if err != nil {
		return rep, fmt.Errorf("hubspot: setup: %w", err)
	}
	for _, s := range specs {
		ft := s.FieldType
		if ft == "" {
			ft = defaultFieldType(s.Type)
		}
		if p, ok := have[s.Name]; ok {
			if p.Type != s.Type {
				rep.Conflicts = append(rep.Conflicts, record.FieldProblem{Object: StreamCompanies, Field: s.Name,
					Problem: fmt.Sprintf("has type %s, want %s", p.Type, s.Type)})
			} else {
				rep.Existing = append(rep.Existing, s.Name)
			}
			continue
		}
		def := propertyDef{Name: s.Name, Label: s.Label, Type: s.Type, FieldType: ft, GroupName: GroupName, Description: s.Description}
		if def.Label == "" {
			def.Label = s.Name
		}
		for i, o := range s.Options {
			def.Options = append(def.Options, optionDef{Label: o, Value: o, DisplayOrder: i})
		}
		if _, err := c.call(ctx, http.MethodPost, "/crm/v3/properties/companies", nil, def, nil); err != nil {
			return rep, fmt.Errorf("hubspot: setup: creating property %s: %w", s.Name, err)
		}
		rep.Created = append(rep.Created, s.Name)
	}
	return rep, nil
}

// Preflight checks that mapped properties exist and are writable; fields
// maps an object (companies, tasks) to property names.
func (c *Client) Preflight(ctx context.Context, fields map[string][]string) ([]record.FieldProblem, error) {
	objects := make([]string, 0, len(fields))
	for o := range fields {
		objects = append(objects, o)
	}
	sort.Strings(objects)
	var problems []record.FieldProblem
	for _, o := range objects {
		have, err := c.readProperties(ctx, normObject(o))
		if err != nil {
			return nil, fmt.Errorf("hubspot: preflight: %w", err)
		}
		for _, f := range fields[o] {
			p, ok := have[f]
			switch {
			case !ok:
				problems = append(problems, record.FieldProblem{Object: o, Field: f, Problem: "does not exist"})
			case p.Calculated || (p.ModificationMetadata != nil && p.ModificationMetadata.ReadOnlyValue):
				problems = append(problems, record.FieldProblem{Object: o, Field: f, Problem: "is not writable"})
			}
		}
	}
	return problems, nil
}
