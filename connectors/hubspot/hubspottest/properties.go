package hubspottest

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Property is a property definition as the CRM properties API v3 returns it
// (developers.hubspot.com "CRM API | Properties": name, label, type,
// fieldType, groupName, options, modificationMetadata, ...). No OpenAPI
// document for this API is among the specs in ../testdata/specs; the shape
// follows the reference pages.
type Property struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Type        string   `json:"type"`      // string, number, enumeration, datetime, date, bool
	FieldType   string   `json:"fieldType"` // text, textarea, number, select, radio, checkbox, booleancheckbox, date
	Description string   `json:"description"`
	GroupName   string   `json:"groupName"`
	Options     []Option `json:"options"`
	// ReadOnly mirrors modificationMetadata.readOnlyValue (e.g.
	// hs_lastmodifieddate, calculated properties).
	ReadOnly       bool `json:"-"`
	Calculated     bool `json:"calculated"`
	HubSpotDefined bool `json:"hubspotDefined"`
}

// Option is an enumeration choice.
type Option struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

// PropertyGroup is a property group (name, label, displayOrder).
type PropertyGroup struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	DisplayOrder int    `json:"displayOrder"`
}

func (s *Server) seedStandardProperties() {
	std := map[string][]Property{
		"companies": {
			{Name: "name", Label: "Company name", Type: "string", FieldType: "text", GroupName: "companyinformation"},
			{Name: "domain", Label: "Company Domain Name", Type: "string", FieldType: "text", GroupName: "companyinformation"},
			{Name: "website", Label: "Website URL", Type: "string", FieldType: "text", GroupName: "companyinformation"},
			{Name: "industry", Label: "Industry", Type: "enumeration", FieldType: "select", GroupName: "companyinformation"},
			{Name: "hubspot_owner_id", Label: "Company owner", Type: "enumeration", FieldType: "select", GroupName: "companyinformation"},
			{Name: "annualrevenue", Label: "Annual Revenue", Type: "number", FieldType: "number", GroupName: "companyinformation"},
			{Name: "createdate", Label: "Create Date", Type: "datetime", FieldType: "date", GroupName: "companyinformation", ReadOnly: true},
			{Name: "hs_lastmodifieddate", Label: "Last Modified Date", Type: "datetime", FieldType: "date", GroupName: "companyinformation", ReadOnly: true},
			{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "companyinformation", ReadOnly: true},
			{Name: "num_associated_deals", Label: "Number of Associated Deals", Type: "number", FieldType: "number", GroupName: "companyinformation", ReadOnly: true, Calculated: true},
		},
		"deals": {
			{Name: "dealname", Label: "Deal Name", Type: "string", FieldType: "text", GroupName: "dealinformation"},
			{Name: "dealstage", Label: "Deal Stage", Type: "enumeration", FieldType: "radio", GroupName: "dealinformation"},
			{Name: "amount", Label: "Amount", Type: "number", FieldType: "number", GroupName: "dealinformation"},
			{Name: "closedate", Label: "Close Date", Type: "datetime", FieldType: "date", GroupName: "dealinformation"},
			{Name: "pipeline", Label: "Pipeline", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
			{Name: "dealtype", Label: "Deal Type", Type: "enumeration", FieldType: "radio", GroupName: "dealinformation"},
			{Name: "hubspot_owner_id", Label: "Deal owner", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
			{Name: "deal_currency_code", Label: "Currency", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
			{Name: "hs_is_closed", Label: "Is Deal Closed?", Type: "bool", FieldType: "booleancheckbox", GroupName: "dealinformation", ReadOnly: true, Calculated: true},
			{Name: "hs_is_closed_won", Label: "Is Closed Won", Type: "bool", FieldType: "booleancheckbox", GroupName: "dealinformation", ReadOnly: true, Calculated: true},
			{Name: "createdate", Label: "Create Date", Type: "datetime", FieldType: "date", GroupName: "dealinformation", ReadOnly: true},
			{Name: "hs_lastmodifieddate", Label: "Last Modified Date", Type: "datetime", FieldType: "date", GroupName: "dealinformation", ReadOnly: true},
			{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "dealinformation", ReadOnly: true},
		},
		"tasks": {
			{Name: "hs_task_subject", Label: "Task Title", Type: "string", FieldType: "text", GroupName: "taskinformation"},
			{Name: "hs_task_body", Label: "Notes", Type: "string", FieldType: "html", GroupName: "taskinformation"},
			{Name: "hs_task_status", Label: "Task Status", Type: "enumeration", FieldType: "select", GroupName: "taskinformation",
				Options: opts("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")},
			{Name: "hs_task_priority", Label: "Priority", Type: "enumeration", FieldType: "select", GroupName: "taskinformation",
				Options: opts("NONE", "LOW", "MEDIUM", "HIGH")},
			{Name: "hs_task_type", Label: "Task Type", Type: "enumeration", FieldType: "select", GroupName: "taskinformation",
				Options: opts("CALL", "EMAIL", "TODO")},
			{Name: "hs_timestamp", Label: "Due date", Type: "datetime", FieldType: "date", GroupName: "taskinformation"},
			{Name: "hubspot_owner_id", Label: "Assigned to", Type: "enumeration", FieldType: "select", GroupName: "taskinformation"},
			{Name: "hs_createdate", Label: "Create date", Type: "datetime", FieldType: "date", GroupName: "taskinformation", ReadOnly: true},
			{Name: "hs_lastmodifieddate", Label: "Last Modified Date", Type: "datetime", FieldType: "date", GroupName: "taskinformation", ReadOnly: true},
			{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "taskinformation", ReadOnly: true},
		},
	}
	for typ, ps := range std {
		s.props[typ] = map[string]*Property{}
		s.groups[typ] = map[string]*PropertyGroup{}
		for _, p := range ps {
			p.HubSpotDefined = true
			s.props[typ][p.Name] = &p
			if s.groups[typ][p.GroupName] == nil {
				s.groups[typ][p.GroupName] = &PropertyGroup{Name: p.GroupName, Label: p.GroupName}
			}
		}
	}
}

func opts(values ...string) []Option {
	var out []Option
	for i, v := range values {
		out = append(out, Option{Label: v, Value: v, DisplayOrder: i})
	}
	return out
}

// SeedProperty adds or replaces a property definition (and its group).
func (s *Server) SeedProperty(objectType string, p Property) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := normType(objectType)
	if s.props[typ] == nil {
		s.props[typ] = map[string]*Property{}
		s.groups[typ] = map[string]*PropertyGroup{}
	}
	s.props[typ][p.Name] = &p
	if p.GroupName != "" && s.groups[typ][p.GroupName] == nil {
		s.groups[typ][p.GroupName] = &PropertyGroup{Name: p.GroupName, Label: p.GroupName}
	}
}

// PropertyDef returns a property definition as stored.
func (s *Server) PropertyDef(objectType, name string) (Property, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.props[normType(objectType)][name]
	if p == nil {
		return Property{}, false
	}
	return *p, true
}

// Group returns a property group as stored.
func (s *Server) Group(objectType, name string) (PropertyGroup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[normType(objectType)][name]
	if g == nil {
		return PropertyGroup{}, false
	}
	return *g, true
}

// checkValuesLocked validates one input's properties in name order and
// returns the message of the first invalid one ("" when all are valid).
func (s *Server) checkValuesLocked(typ string, props map[string]string) string {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if msg := s.checkValueLocked(typ, k, props[k]); msg != "" {
			return msg
		}
	}
	return ""
}

// checkValueLocked validates a value written to a property: the property
// must exist and be writable, numbers must parse, enumeration values must
// be options (when options are defined), datetimes must be epoch
// milliseconds or ISO 8601. "" clears a value and is always accepted.
// Numbers are plain decimals: no thousands commas, one period, no Infinity
// or NaN; enumeration values (";"-separated) must match an option exactly
// (developer changelog "Upcoming - Increased validation for contact updates
// made through APIs", which says the rules were already in place for the
// other CRM objects). The messages follow HubSpot's "Property values were
// not valid: [{isValid, message, error, name}]" form.
func (s *Server) checkValueLocked(typ, name, v string) string {
	p := s.props[typ][name]
	if p == nil {
		return fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"%s\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"%s\"}]", name, name)
	}
	if p.ReadOnly {
		return fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"%s is a read only property; its value cannot be set.\",\"error\":\"READ_ONLY_VALUE\",\"name\":\"%s\"}]", name, name)
	}
	if v == "" {
		return ""
	}
	bad := func(why string) string {
		return fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"%s was not a valid %s.\",\"error\":\"%s\",\"name\":\"%s\"}]", strconv.Quote(v), p.Type, why, name)
	}
	switch p.Type {
	case "number":
		if !plainNumber.MatchString(v) {
			return bad("INVALID_NUMBER")
		}
	case "bool":
		if v != "true" && v != "false" {
			return bad("INVALID_BOOLEAN")
		}
	case "datetime", "date":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				if _, err := time.Parse("2006-01-02", v); err != nil {
					return bad("INVALID_DATE")
				}
			}
		}
	case "enumeration":
		if len(p.Options) == 0 {
			return ""
		}
		for _, part := range strings.Split(v, ";") {
			ok := false
			for _, o := range p.Options {
				if o.Value == part {
					ok = true
				}
			}
			if !ok {
				return bad("INVALID_OPTION")
			}
		}
	}
	return ""
}

// plainNumber is a number property's value: an optional sign, digits with
// at most one period, an optional exponent.
var plainNumber = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

func propertyJSON(p *Property) map[string]any {
	options := p.Options
	if options == nil {
		options = []Option{}
	}
	return map[string]any{
		"name": p.Name, "label": p.Label, "type": p.Type, "fieldType": p.FieldType,
		"description": p.Description, "groupName": p.GroupName, "options": options,
		"calculated": p.Calculated, "hubspotDefined": p.HubSpotDefined, "hasUniqueValue": false,
		"hidden": false, "formField": !p.ReadOnly, "archived": false,
		"modificationMetadata": map[string]bool{
			"archivable": !p.HubSpotDefined, "readOnlyDefinition": p.HubSpotDefined, "readOnlyValue": p.ReadOnly,
		},
	}
}

var validFieldTypes = map[string][]string{
	"string":      {"text", "textarea", "html", "phonenumber", "file"},
	"number":      {"number", "calculation_equation"},
	"enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
	"datetime":    {"date"},
	"date":        {"date"},
	"bool":        {"booleancheckbox"},
}

// routeProperties serves the properties API v3:
// GET /crm/v3/properties/{objectType} ({results: [Property]}),
// GET /crm/v3/properties/{objectType}/{propertyName},
// POST /crm/v3/properties/{objectType} (201; 409 OBJECT_ALREADY_EXISTS),
// GET /crm/v3/properties/{objectType}/groups/{groupName},
// POST /crm/v3/properties/{objectType}/groups (201; 409 when it exists).
func (s *Server) routeProperties(w http.ResponseWriter, r *http.Request, typ string, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		s.mu.Lock()
		var names []string
		for n := range s.props[typ] {
			names = append(names, n)
		}
		sort.Strings(names)
		res := []map[string]any{}
		for _, n := range names {
			res = append(res, propertyJSON(s.props[typ][n]))
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"results": res})
	case len(rest) == 0 && r.Method == http.MethodPost:
		var p Property
		if !decodeBody(w, r, &p) {
			return
		}
		if p.Name == "" || p.Label == "" || p.Type == "" || p.FieldType == "" || p.GroupName == "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "name, label, type, fieldType and groupName are required", nil)
			return
		}
		okField := false
		for _, ft := range validFieldTypes[p.Type] {
			okField = okField || ft == p.FieldType
		}
		if !okField {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("fieldType %s is not valid for type %s", p.FieldType, p.Type), nil)
			return
		}
		if p.Type == "enumeration" && len(p.Options) == 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "enumeration properties require options", nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.props[typ] == nil {
			s.props[typ] = map[string]*Property{}
			s.groups[typ] = map[string]*PropertyGroup{}
		}
		if s.props[typ][p.Name] != nil {
			writeError(w, http.StatusConflict, "OBJECT_ALREADY_EXISTS", "Property named '"+p.Name+"' already exists.", nil)
			return
		}
		if s.groups[typ][p.GroupName] == nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "group "+p.GroupName+" does not exist", nil)
			return
		}
		s.props[typ][p.Name] = &p
		writeJSON(w, http.StatusCreated, propertyJSON(&p))
	case len(rest) == 1 && rest[0] == "groups" && r.Method == http.MethodPost:
		var g PropertyGroup
		if !decodeBody(w, r, &g) {
			return
		}
		if g.Name == "" || g.Label == "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "name and label are required", nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.groups[typ] == nil {
			s.groups[typ] = map[string]*PropertyGroup{}
		}
		if s.groups[typ][g.Name] != nil {
			writeError(w, http.StatusConflict, "OBJECT_ALREADY_EXISTS", "Group named '"+g.Name+"' already exists.", nil)
			return
		}
		s.groups[typ][g.Name] = &g
		writeJSON(w, http.StatusCreated, map[string]any{"name": g.Name, "label": g.Label, "displayOrder": g.DisplayOrder, "archived": false})
	case len(rest) == 2 && rest[0] == "groups" && r.Method == http.MethodGet:
		s.mu.Lock()
		g := s.groups[typ][rest[1]]
		s.mu.Unlock()
		if g == nil {
			writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to find property group "+rest[1], nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": g.Name, "label": g.Label, "displayOrder": g.DisplayOrder, "archived": false})
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.mu.Lock()
		p := s.props[typ][rest[0]]
		var v map[string]any
		if p != nil {
			v = propertyJSON(p)
		}
		s.mu.Unlock()
		if v == nil {
			writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to find property "+rest[0], nil)
			return
		}
		writeJSON(w, http.StatusOK, v)
	default:
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
	}
}
