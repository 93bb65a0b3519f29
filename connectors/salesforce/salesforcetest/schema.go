package salesforcetest

import "slices"

// Field types, as the describe call names them (DescribeSObjectResult
// fields[].type in the REST API Developer Guide, "sObject Describe").
const (
	TypeID        = "id"
	TypeString    = "string"
	TypeTextArea  = "textarea"
	TypeReference = "reference"
	TypePicklist  = "picklist"
	TypeDouble    = "double"
	TypeInt       = "int"
	TypeCurrency  = "currency"
	TypePercent   = "percent"
	TypeBoolean   = "boolean"
	TypeDate      = "date"
	TypeDateTime  = "datetime"
	TypeURL       = "url"
)

// Field defines one field of an sObject, as describe reports it.
type Field struct {
	Name   string
	Label  string
	Type   string
	Length int // text length; 0 for non-text types
	// Precision and Scale are the digits in all and after the point of a
	// double, currency or percent field (0: 18 and 2, Salesforce's largest).
	Precision, Scale int
	Updateable       bool
	Createable       bool
	Custom           bool
	Nillable         bool
	// Picklist holds the active values of a picklist field; Restricted makes
	// other values fail with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST.
	Picklist   []string
	Restricted bool
	// Calculated marks formula and roll-up fields: never writable, and they
	// change without touching SystemModstamp.
	Calculated bool
	// ReferenceTo names the objects a reference field can point to and
	// RelationshipName the name SOQL uses for the parent ("Owner" for
	// OwnerId; describe's referenceTo and relationshipName).
	ReferenceTo      []string
	RelationshipName string
}

type sobject struct {
	name   string
	label  string
	prefix string // 3-character key prefix: 001 Account, 006 Opportunity
	fields []*Field
	byName map[string]*Field // lower-case name -> field (SOQL names are case-insensitive)
	recs   map[string]map[string]any
	ids    []string // insertion order, which is also ID order
	rules  []validationRule
}

func (o *sobject) field(name string) *Field { return o.byName[lower(name)] }

// digits returns a number field's precision and scale, defaulted.
func (f *Field) digits() (precision, scale int) {
	if f.Precision <= 0 {
		return 18, 2
	}
	return f.Precision, f.Scale
}

// longText reports a long text area: a textarea longer than 255 characters,
// which SOQL can neither filter nor sort.
func (f *Field) longText() bool { return f.Type == TypeTextArea && f.Length > 255 }

func (o *sobject) addField(f Field) {
	if f.Label == "" {
		f.Label = f.Name
	}
	if old := o.field(f.Name); old != nil {
		*old = f
		return
	}
	p := &f
	o.fields = append(o.fields, p)
	o.byName[lower(f.Name)] = p
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func sys(name, typ string) Field {
	return Field{Name: name, Type: typ, Nillable: typ != TypeID && typ != TypeBoolean}
}

func rw(name, typ string, length int) Field {
	return Field{Name: name, Type: typ, Length: length, Updateable: true, Createable: true, Nillable: true}
}

// parent makes f a reference to the objects to, reached in SOQL through
// rel (Object Reference: Account.OwnerId refers to User, Task.OwnerId to
// Group or User, Task.WhatId to any object that allows activities).
func parent(f Field, rel string, to ...string) Field {
	f.RelationshipName, f.ReferenceTo = rel, to
	return f
}

func pick(name string, restricted bool, values ...string) Field {
	f := rw(name, TypePicklist, 255)
	f.Picklist, f.Restricted = values, restricted
	return f
}

// auditFields are present on every object (System Fields, SOAP API Developer
// Guide "System Fields").
func auditFields() []Field {
	return []Field{
		sys("Id", TypeID),
		sys("IsDeleted", TypeBoolean),
		sys("CreatedDate", TypeDateTime),
		parent(sys("CreatedById", TypeReference), "CreatedBy", "User"),
		sys("LastModifiedDate", TypeDateTime),
		parent(sys("LastModifiedById", TypeReference), "LastModifiedBy", "User"),
		sys("SystemModstamp", TypeDateTime),
	}
}

// standardObjects is the subset of the standard objects healthsync touches,
// with their standard key prefixes ("Standard Field Record ID Prefix
// Decoder", Salesforce Help) and fields from the Object Reference.
func standardObjects() []*sobject {
	mk := func(name, label, prefix string, fields ...Field) *sobject {
		o := &sobject{name: name, label: label, prefix: prefix, byName: map[string]*Field{}, recs: map[string]map[string]any{}}
		for _, f := range append(auditFields(), fields...) {
			o.addField(f)
		}
		return o
	}
	owner := parent(rw("OwnerId", TypeReference, 18), "Owner", "User")
	owner.Nillable = false
	name := rw("Name", TypeString, 255)
	name.Nillable = false
	return []*sobject{
		mk("Account", "Account", "001",
			name,
			rw("Website", TypeURL, 255),
			owner,
			pick("Industry", false, "Agriculture", "Banking", "Consulting", "Education", "Electronics",
				"Finance", "Healthcare", "Manufacturing", "Media", "Retail", "Technology", "Other"),
			pick("Type", false, "Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
			rw("Phone", TypeString, 40),
			rw("NumberOfEmployees", TypeInt, 0),
			rw("AnnualRevenue", TypeCurrency, 0),
			rw("Description", TypeTextArea, 32000),
		),
		mk("Opportunity", "Opportunity", "006",
			name,
			parent(rw("AccountId", TypeReference, 18), "Account", "Account"),
			func() Field {
				f := pick("StageName", false, "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
					"Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")
				f.Nillable = false
				return f
			}(),
			pick("Type", false, "New Business", "Existing Customer - Upgrade", "Existing Customer - Replacement",
				"Existing Customer - Downgrade", "Renewal", "Upsell"),
			rw("Amount", TypeCurrency, 0),
			func() Field { f := rw("CloseDate", TypeDate, 0); f.Nillable = false; return f }(),
			sys("IsClosed", TypeBoolean),
			sys("IsWon", TypeBoolean),
			owner,
			rw("Probability", TypePercent, 0),
		),
		mk("Task", "Task", "00T",
			parent(rw("WhatId", TypeReference, 18), "What", "Account", "Opportunity"),
			rw("WhoId", TypeReference, 18),
			parent(owner, "Owner", "Group", "User"),
			rw("Subject", TypeString, 255),
			rw("Description", TypeTextArea, 32000),
			rw("ActivityDate", TypeDate, 0),
			pick("Priority", true, "High", "Normal", "Low"),
			pick("Status", true, "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
			sys("IsClosed", TypeBoolean),
		),
		mk("User", "User", "005",
			rw("Username", TypeString, 80),
			rw("Name", TypeString, 121),
			rw("IsActive", TypeBoolean, 0),
		),
		mk("Group", "Group", "00G",
			rw("Name", TypeString, 40),
			rw("Type", TypeString, 40),
		),
	}
}

// HealthsyncFields are the custom Account fields healthsync writes back.
// The picklist values are healthsync's API values (what it writes); an org
// may give them any labels.
func HealthsyncFields() []Field {
	return []Field{
		{Name: "Health_Score__c", Label: "Health Score", Type: TypeDouble, Updateable: true, Createable: true, Custom: true, Nillable: true},
		{Name: "Health_Band__c", Label: "Health Band", Type: TypePicklist, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true,
			Picklist: []string{"healthy", "caution", "at_risk"}, Restricted: true},
		{Name: "Health_Trend__c", Label: "Health Trend", Type: TypeDouble, Updateable: true, Createable: true, Custom: true, Nillable: true},
		{Name: "Health_Reasons__c", Label: "Health Reasons", Type: TypeString, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true},
		{Name: "Touch_Model__c", Label: "Touch Model", Type: TypePicklist, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true,
			Picklist: []string{"high", "low", "tech"}, Restricted: true},
		{Name: "Lifecycle_Phase__c", Label: "Lifecycle Phase", Type: TypePicklist, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true,
			Picklist: []string{"onboarding", "adoption", "expansion", "renewal", "churned"}, Restricted: true},
		{Name: "MRR__c", Label: "MRR", Type: TypeCurrency, Updateable: true, Createable: true, Custom: true, Nillable: true},
		{Name: "ARR__c", Label: "ARR", Type: TypeCurrency, Updateable: true, Createable: true, Custom: true, Nillable: true},
		{Name: "Healthsync_Updated_At__c", Label: "Healthsync Updated At", Type: TypeDateTime, Updateable: true, Createable: true, Custom: true, Nillable: true},
	}
}

// AddHealthsyncFields defines on Account the custom fields healthsync writes
// (HealthsyncFields).
func (s *Server) AddHealthsyncFields() {
	s.AddFields("Account", HealthsyncFields()...)
}

// AddFields defines (or redefines) fields on an object; an unknown object is
// created as a custom object with key prefix a0X.
func (s *Server) AddFields(object string, fields ...Field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		o = &sobject{name: object, label: object, prefix: "a0" + string(rune('A'+len(s.objects)%26)), byName: map[string]*Field{}, recs: map[string]map[string]any{}}
		for _, f := range auditFields() {
			o.addField(f)
		}
		s.objects[lower(object)] = o
	}
	for _, f := range fields {
		o.addField(f)
	}
}

// RemoveField deletes a field definition (to test preflight).
func (s *Server) RemoveField(object, field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		return
	}
	delete(o.byName, lower(field))
	o.fields = slices.DeleteFunc(o.fields, func(f *Field) bool { return lower(f.Name) == lower(field) })
}

// Fields returns the field definitions of an object.
func (s *Server) Fields(object string) []Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		return nil
	}
	out := make([]Field, len(o.fields))
	for i, f := range o.fields {
		out[i] = *f
	}
	return out
}
