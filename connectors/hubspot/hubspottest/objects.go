package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Object is a CRM record as the fake stores it: property values are strings,
// as HubSpot stores and returns them.
type Object struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time // also hs_lastmodifieddate
	Archived   bool
	ArchivedAt time.Time
	// Associations maps a target object type (companies, deals, tasks) to
	// associated record IDs with their association type IDs.
	Associations map[string][]Association
}

// Association is one association to another record. A pair of records
// linked with several types (a deal and its primary company: unlabeled and
// primary) has one Association per type.
type Association struct {
	ID     string
	TypeID int    // HubSpot-defined type ID, e.g. 5 deal->company primary, 341 deal->company, 192 task->company
	Label  string // v3 association type name, e.g. deal_to_company, deal_to_company_unlabeled
}

// HubSpot-defined association type IDs used here (developers.hubspot.com
// "Associations v4", "Association type ID values": Deal to company 341, Deal
// to company primary 5, Company to deal 342, Company to deal primary 6,
// Task to company 192, Company to task 191).
const (
	DealToCompany         = 341
	DealToCompanyPrimary  = 5
	CompanyToDeal         = 342
	CompanyToDealPrimary  = 6
	TaskToCompany         = 192
	CompanyToTask         = 191
	associationHubSpotCat = "HUBSPOT_DEFINED"
)

// assocType is one HubSpot-defined association type: its direction, its ID,
// the name v3 answers embed as "type", and its v4 label ("" answers null).
// HubSpot's v3 object answers list a deal's primary company twice, once as
// deal_to_company (type 5) and once as deal_to_company_unlabeled (341), and
// say "primary" nowhere; v4 answers carry the type IDs. The labels follow
// the developer changelog "Changes to primary labels for HubSpot-defined
// association labels" ("Deal with Primary Company"; "labels should not be
// relied on for integrations, ... only the typeId should be used").
type assocType struct {
	from, to    string
	id, inverse int
	name, label string
	primary     bool
}

var assocTypeTable = []assocType{
	{"deals", "companies", DealToCompanyPrimary, CompanyToDealPrimary, "deal_to_company", "Deal with Primary Company", true},
	{"deals", "companies", DealToCompany, CompanyToDeal, "deal_to_company_unlabeled", "", false},
	{"companies", "deals", CompanyToDealPrimary, DealToCompanyPrimary, "company_to_deal", "Deal with Primary Company", true},
	{"companies", "deals", CompanyToDeal, DealToCompany, "company_to_deal_unlabeled", "", false},
	{"tasks", "companies", TaskToCompany, CompanyToTask, "task_to_company", "", false},
	{"companies", "tasks", CompanyToTask, TaskToCompany, "company_to_task", "", false},
}

// lookupAssocType finds a type by direction and ID (ok false: HubSpot does
// not define it for the pair).
func lookupAssocType(from, to string, id int) (assocType, bool) {
	for _, t := range assocTypeTable {
		if t.from == from && t.to == to && t.id == id {
			return t, true
		}
	}
	return assocType{}, false
}

// defaultAssocType is the unlabeled type HubSpot's default association
// (PUT .../associations/default/...) creates between two object types.
func defaultAssocType(from, to string) (assocType, bool) {
	for _, t := range assocTypeTable {
		if t.from == from && t.to == to && !t.primary {
			return t, true
		}
	}
	return assocType{}, false
}

const isoMillis = "2006-01-02T15:04:05.000Z"

func (o *Object) clone() Object {
	c := *o
	c.Properties = make(map[string]string, len(o.Properties))
	for k, v := range o.Properties {
		c.Properties[k] = v
	}
	c.Associations = make(map[string][]Association, len(o.Associations))
	for k, v := range o.Associations {
		c.Associations[k] = append([]Association(nil), v...)
	}
	return c
}

// Seed stores a record of objectType (companies, deals, tasks) and returns
// its ID. An empty ID is assigned; zero CreatedAt/UpdatedAt take the clock.
// hs_object_id, createdate (hs_createdate for tasks) and hs_lastmodifieddate
// are maintained from the fields.
func (s *Server) Seed(objectType string, o Object) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seedLocked(normType(objectType), o)
}

func (s *Server) seedLocked(typ string, o Object) string {
	if o.ID == "" {
		s.nextID++
		o.ID = strconv.FormatInt(s.nextID, 10)
	} else if n, err := strconv.ParseInt(o.ID, 10, 64); err == nil && n > s.nextID {
		s.nextID = n
	}
	now := s.now()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	props := make(map[string]string, len(o.Properties)+3)
	for k, v := range o.Properties {
		props[k] = v
	}
	o.Properties = props
	if o.Associations == nil {
		o.Associations = map[string][]Association{}
	}
	stamp(typ, &o)
	if s.objects[typ] == nil {
		s.objects[typ] = map[string]*Object{}
	}
	s.objects[typ][o.ID] = &o
	s.changedLocked(typ)
	return o.ID
}

func stamp(typ string, o *Object) {
	o.Properties["hs_object_id"] = o.ID
	o.Properties["hs_lastmodifieddate"] = o.UpdatedAt.Format(isoMillis)
	if typ == "tasks" {
		o.Properties["hs_createdate"] = o.CreatedAt.Format(isoMillis)
	} else {
		o.Properties["createdate"] = o.CreatedAt.Format(isoMillis)
	}
}

// Update changes properties of a record as of time at (zero: the clock),
// as a user editing it in HubSpot would. It reports whether it exists.
func (s *Server) Update(objectType, id string, props map[string]string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[normType(objectType)][id]
	if o == nil {
		return false
	}
	for k, v := range props {
		o.Properties[k] = v
	}
	if at.IsZero() {
		at = s.now()
	}
	o.UpdatedAt = at.UTC()
	stamp(normType(objectType), o)
	s.changedLocked(normType(objectType))
	return true
}

// Archive archives (soft-deletes) a record at time at (zero: the clock).
func (s *Server) Archive(objectType, id string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[normType(objectType)][id]
	if o == nil {
		return false
	}
	if at.IsZero() {
		at = s.now()
	}
	o.Archived, o.ArchivedAt = true, at.UTC()
	s.changedLocked(normType(objectType))
	return true
}

// Associate links two records both ways with HubSpot's default
// (unlabeled) association type, as the v4 default association does. It
// reports whether both records exist and HubSpot defines the pair.
func (s *Server) Associate(fromType, fromID, toType, toID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ft, tt := normType(fromType), normType(toType)
	t, ok := defaultAssocType(ft, tt)
	if !ok || s.objects[ft][fromID] == nil || s.objects[tt][toID] == nil {
		return false
	}
	s.linkLocked(t, fromID, toID)
	return true
}

// AssociatePrimary makes company the deal's primary company (type 5, with
// the unlabeled 341 it implies), as choosing "Set as primary" in HubSpot
// does; the deal's previous primary company stays associated, unlabeled.
// It reports whether both records exist.
func (s *Server) AssociatePrimary(dealID, companyID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	deal, co := s.objects["deals"][dealID], s.objects["companies"][companyID]
	if deal == nil || co == nil {
		return false
	}
	for _, a := range deal.Associations["companies"] {
		if a.TypeID == DealToCompanyPrimary && a.ID != companyID {
			s.unlinkLocked("deals", dealID, "companies", a.ID, DealToCompanyPrimary)
		}
	}
	unl, _ := lookupAssocType("deals", "companies", DealToCompany)
	pri, _ := lookupAssocType("deals", "companies", DealToCompanyPrimary)
	s.linkLocked(unl, dealID, companyID)
	s.linkLocked(pri, dealID, companyID)
	return true
}

// linkLocked adds an association of type t and its inverse, once.
func (s *Server) linkLocked(t assocType, fromID, toID string) {
	back, _ := lookupAssocType(t.to, t.from, t.inverse)
	add := func(o *Object, typ string, a Association) {
		for _, x := range o.Associations[typ] {
			if x.ID == a.ID && x.TypeID == a.TypeID {
				return
			}
		}
		o.Associations[typ] = append(o.Associations[typ], a)
		sort.SliceStable(o.Associations[typ], func(i, j int) bool {
			x, y := o.Associations[typ][i], o.Associations[typ][j]
			if x.ID != y.ID {
				return idLess(x.ID, y.ID)
			}
			return x.TypeID < y.TypeID
		})
	}
	add(s.objects[t.from][fromID], t.to, Association{ID: toID, TypeID: t.id, Label: t.name})
	add(s.objects[t.to][toID], t.from, Association{ID: fromID, TypeID: back.id, Label: back.name})
}

// unlinkLocked removes an association of one type and its inverse.
func (s *Server) unlinkLocked(from, fromID, to, toID string, typeID int) {
	t, ok := lookupAssocType(from, to, typeID)
	if !ok {
		return
	}
	drop := func(o *Object, typ, id string, tid int) {
		if o == nil {
			return
		}
		o.Associations[typ] = slices.DeleteFunc(o.Associations[typ], func(a Association) bool { return a.ID == id && a.TypeID == tid })
	}
	drop(s.objects[from][fromID], to, toID, typeID)
	drop(s.objects[to][toID], from, fromID, t.inverse)
}

func singular(t string) string {
	switch t {
	case "companies":
		return "company"
	case "deals":
		return "deal"
	case "tasks":
		return "task"
	case "contacts":
		return "contact"
	}
	return t
}

// Get returns a copy of a record as stored (archived ones included).
func (s *Server) Get(objectType, id string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[normType(objectType)][id]
	if o == nil {
		return Object{}, false
	}
	return o.clone(), true
}

// Objects returns copies of all records of a type, by ascending ID.
func (s *Server) Objects(objectType string) []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Object
	for _, o := range s.sorted(normType(objectType)) {
		out = append(out, o.clone())
	}
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// changedLocked forgets what was derived from the records of typ (the ID
// order and the last search) after a record is added, changed or
// archived. The caller holds s.mu.
func (s *Server) changedLocked(typ string) {
	delete(s.order, typ)
	delete(s.lastSearch, typ)
}

// sorted returns the records of a type by ascending ID, sorted once after
// a record is added (changedLocked forgets the order); the caller holds
// s.mu and must not change the slice.
func (s *Server) sorted(typ string) []*Object {
	if out, ok := s.order[typ]; ok {
		return out
	}
	out := make([]*Object, 0, len(s.objects[typ]))
	for _, o := range s.objects[typ] {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	if s.order == nil {
		s.order = map[string][]*Object{}
	}
	s.order[typ] = out
	return out
}

// view renders a record as the specs' SimplePublicObject(WithAssociations):
// id, properties (the requested ones, null when unset, plus createdate,
// hs_lastmodifieddate and hs_object_id, as HubSpot always returns them),
// createdAt, updatedAt, archived (archivedAt when archived).
func view(typ string, o *Object, want []string, assoc []string) map[string]any {
	props := map[string]any{}
	for _, k := range []string{"hs_object_id", "hs_lastmodifieddate", "createdate"} {
		if typ == "tasks" && k == "createdate" {
			k = "hs_createdate"
		}
		props[k] = o.Properties[k]
	}
	for _, k := range want {
		if v, ok := o.Properties[k]; ok {
			props[k] = v
		} else {
			props[k] = nil
		}
	}
	m := map[string]any{
		"id":         o.ID,
		"properties": props,
		"createdAt":  o.CreatedAt.Format(isoMillis),
		"updatedAt":  o.UpdatedAt.Format(isoMillis),
		"archived":   o.Archived,
	}
	if o.Archived {
		m["archivedAt"] = o.ArchivedAt.Format(isoMillis)
	}
	if len(assoc) > 0 {
		as := map[string]any{}
		for _, t := range assoc {
			t = normType(t)
			var res []map[string]string
			for _, a := range o.Associations[t] {
				res = append(res, map[string]string{"id": a.ID, "type": a.Label})
			}
			if len(res) > 0 {
				as[t] = map[string]any{"results": res}
			}
		}
		if len(as) > 0 {
			m["associations"] = as
		}
	}
	return m
}

// splitList reads an array query parameter given either exploded
// (properties=a&properties=b, the specs' style form explode true) or comma
// separated (as HubSpot's reference also documents).
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// handleList serves GET /crm/v3/objects/{type} (crm-companies-v3.json
// getPage: limit default 10 max 100, after, properties, associations,
// archived; CollectionResponseSimplePublicObjectWithAssociationsForwardPaging).
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, typ string, stuck bool) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be a positive integer", nil)
			return
		}
		limit = n
	}
	if limit > 100 {
		limit = 100
	}
	archived := q.Get("archived") == "true"
	after := q.Get("after")
	props := splitList(q["properties"])
	assoc := splitList(q["associations"])

	s.mu.Lock()
	var results []map[string]any
	var next string
	all := s.sorted(typ)
	// Start at after by binary search: a page costs O(limit), not a pass
	// over every record.
	start := sort.Search(len(all), func(i int) bool { return !idLess(all[i].ID, after) })
	for _, o := range all[start:] {
		if o.Archived != archived {
			continue
		}
		if len(results) == limit {
			next = o.ID
			break
		}
		results = append(results, view(typ, o, props, assoc))
	}
	s.mu.Unlock()
	if results == nil {
		results = []map[string]any{}
	}
	body := map[string]any{"results": results}
	if stuck {
		// The specs' examples carry one constant token: a fake that
		// replays it tests a paginator's loop guard.
		next = "NTI1Cg%3D%3D"
	}
	if next != "" {
		body["paging"] = map[string]any{"next": map[string]string{
			"after": next,
			"link":  "?after=" + next,
		}}
	}
	writeJSON(w, http.StatusOK, body)
}

// handleGet serves GET /crm/v3/objects/{type}/{id} (getById): 404 with
// category OBJECT_NOT_FOUND for unknown or archived records.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, typ, id string) {
	q := r.URL.Query()
	s.mu.Lock()
	o := s.objects[typ][id]
	var v map[string]any
	if o != nil && (!o.Archived || q.Get("archived") == "true") {
		v = view(typ, o, splitList(q["properties"]), splitList(q["associations"]))
	}
	s.mu.Unlock()
	if v == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", nil)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "VALIDATION_ERROR", "Content-Type must be application/json", nil)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return false
	}
	return true
}

// batchEnvelope is the specs' BatchResponse... shape: status COMPLETE,
// results, startedAt, completedAt, and for 207 errors and numErrors.
func (s *Server) batchEnvelope(results []map[string]any, errs []map[string]any) (int, map[string]any) {
	now := s.now().Format(isoMillis)
	if results == nil {
		results = []map[string]any{}
	}
	body := map[string]any{
		"status":      "COMPLETE",
		"results":     results,
		"startedAt":   now,
		"completedAt": now,
	}
	if len(errs) > 0 {
		body["errors"] = errs
		body["numErrors"] = len(errs)
		return http.StatusMultiStatus, body
	}
	return http.StatusOK, body
}

// standardError is the specs' StandardError: status, category, message,
// context (ids), errors, links.
func standardError(category, message string, ids ...string) map[string]any {
	return map[string]any{
		"status":   "error",
		"category": category,
		"message":  message,
		"context":  map[string][]string{"ids": ids},
		"errors":   []any{},
		"links":    map[string]string{},
	}
}

// handleBatchRead serves POST /crm/v3/objects/{type}/batch/read
// (BatchReadInputSimplePublicObjectId; 207 OBJECT_NOT_FOUND for unknown IDs).
func (s *Server) handleBatchRead(w http.ResponseWriter, r *http.Request, typ string) {
	var in struct {
		Inputs     []struct{ ID string } `json:"inputs"`
		Properties []string              `json:"properties"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input limit exceeded: at most 100 inputs", nil)
		return
	}
	s.mu.Lock()
	var results []map[string]any
	var missing []string
	for _, i := range in.Inputs {
		o := s.objects[typ][i.ID]
		if o == nil || o.Archived {
			missing = append(missing, i.ID)
			continue
		}
		results = append(results, view(typ, o, in.Properties, nil))
	}
	s.mu.Unlock()
	var errs []map[string]any
	if len(missing) > 0 {
		errs = append(errs, standardError("OBJECT_NOT_FOUND", "Could not get some "+strings.ToUpper(singular(typ))+" objects, they may be deleted or not exist. Check that ids are valid.", missing...))
	}
	status, body := s.batchEnvelope(results, errs)
	writeJSON(w, status, body)
}

// handleBatchUpdate serves POST /crm/v3/objects/{type}/batch/update
// (BatchInputSimplePublicObjectBatchInput). As HubSpot documents: at most
// 100 inputs; a duplicate ID or one invalid property value in any input
// rejects the whole batch, nothing applied, with 400 VALIDATION_ERROR and
// HubSpot's error body (status, message "Property values were not valid:
// [...]", correlationId, category), which names the property but not the
// record (checkValuesLocked); unknown IDs and per-record failures come back
// in a 207 multi-status with the rest applied.
func (s *Server) handleBatchUpdate(w http.ResponseWriter, r *http.Request, typ string) {
	var in struct {
		Inputs []struct {
			ID                 string            `json:"id"`
			Properties         map[string]string `json:"properties"`
			ObjectWriteTraceID string            `json:"objectWriteTraceId"`
		} `json:"inputs"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input limit exceeded: at most 100 inputs", nil)
		return
	}
	seen := map[string]bool{}
	for _, i := range in.Inputs {
		if seen[i.ID] {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Duplicate IDs found in batch input: ["+i.ID+"]. IDs must be unique", nil)
			return
		}
		seen[i.ID] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range in.Inputs {
		if msg := s.checkValuesLocked(typ, i.Properties); msg != "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, nil)
			return
		}
	}
	now := s.now()
	var results, errs []map[string]any
	var missing []string
	for _, i := range in.Inputs {
		o := s.objects[typ][i.ID]
		if o == nil || o.Archived {
			missing = append(missing, i.ID)
			continue
		}
		if f, ok := s.recFail[typ+"/"+i.ID]; ok {
			errs = append(errs, standardError(f.Category, f.Message, i.ID))
			continue
		}
		for k, v := range i.Properties {
			o.Properties[k] = v
		}
		o.UpdatedAt = now
		stamp(typ, o)
		s.changedLocked(typ)
		v := view(typ, o, nil, nil)
		if i.ObjectWriteTraceID != "" {
			v["objectWriteTraceId"] = i.ObjectWriteTraceID
		}
		results = append(results, v)
	}
	if len(missing) > 0 {
		errs = append(errs, standardError("OBJECT_NOT_FOUND", "Could not get some "+strings.ToUpper(singular(typ))+" objects, they may be deleted or not exist. Check that ids are valid.", missing...))
	}
	status, body := s.batchEnvelope(results, errs)
	writeJSON(w, status, body)
}

// handleBatchCreate serves POST /crm/v3/objects/{type}/batch/create
// (BatchInputSimplePublicObjectBatchInputForCreate: properties and
// associations {to:{id}, types:[{associationCategory, associationTypeId}]}).
// An association to a missing record or with a type ID HubSpot does not
// define for the pair rejects the batch with 400.
func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request, typ string) {
	var in struct {
		Inputs []struct {
			Properties   map[string]string `json:"properties"`
			Associations []struct {
				To struct {
					ID string `json:"id"`
				} `json:"to"`
				Types []struct {
					Category string `json:"associationCategory"`
					TypeID   int    `json:"associationTypeId"`
				} `json:"types"`
			} `json:"associations"`
			ObjectWriteTraceID string `json:"objectWriteTraceId"`
		} `json:"inputs"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input limit exceeded: at most 100 inputs", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range in.Inputs {
		if msg := s.checkValuesLocked(typ, i.Properties); msg != "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, nil)
			return
		}
		// "Activities | Tasks": hs_timestamp (the due date) is required to
		// create a task. (The message text is the fake's.)
		if typ == "tasks" && i.Properties["hs_timestamp"] == "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
				`Property values were not valid: [{"isValid":false,"message":"hs_timestamp is required to create a task","error":"REQUIRED_PROPERTY","name":"hs_timestamp"}]`, nil)
			return
		}
		for _, a := range i.Associations {
			if len(a.Types) == 0 {
				writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "association types must not be empty", nil)
				return
			}
			for _, t := range a.Types {
				toType := ""
				for cand := range s.objects {
					if _, ok := lookupAssocType(typ, cand, t.TypeID); ok && t.Category == associationHubSpotCat {
						toType = cand
					}
				}
				if toType == "" {
					writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
						fmt.Sprintf("%d is not a valid association type id for %s with category %s", t.TypeID, singular(typ), t.Category), nil)
					return
				}
				if o := s.objects[toType][a.To.ID]; o == nil || o.Archived {
					writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
						fmt.Sprintf("No %s with ID %s exists", singular(toType), a.To.ID), nil)
					return
				}
			}
		}
	}
	var results []map[string]any
	for _, i := range in.Inputs {
		id := s.seedLocked(typ, Object{Properties: i.Properties})
		o := s.objects[typ][id]
		for _, a := range i.Associations {
			for _, t := range a.Types {
				for cand := range s.objects {
					if at, ok := lookupAssocType(typ, cand, t.TypeID); ok && s.objects[cand][a.To.ID] != nil {
						s.linkLocked(at, id, a.To.ID)
					}
				}
			}
		}
		keys := make([]string, 0, len(i.Properties))
		for k := range i.Properties {
			keys = append(keys, k)
		}
		v := view(typ, o, keys, nil)
		if i.ObjectWriteTraceID != "" {
			v["objectWriteTraceId"] = i.ObjectWriteTraceID
		}
		results = append(results, v)
	}
	status, body := s.batchEnvelope(results, nil)
	if status == http.StatusOK {
		status = http.StatusCreated
	}
	writeJSON(w, status, body)
}

// handleAssocRead serves POST /crm/v4/associations/{from}/{to}/batch/read
// (crm-associations-v4.json: BatchInputPublicFetchAssociationsBatchRequest ->
// BatchResponsePublicAssociationMultiWithLabel; toObjectId as the spec's
// string). Records without associations are left out of results. At most
// 1,000 inputs (developer changelog "Bug Fix: Batch Read Limit for HubSpot
// Associations API", from 2025-02-10). Per-record paging of more than one
// page of associations is not modelled.
func (s *Server) handleAssocRead(w http.ResponseWriter, r *http.Request, from, to string) {
	var in struct {
		Inputs []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Inputs) > 1000 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input limit exceeded: at most 1000 inputs", nil)
		return
	}
	s.mu.Lock()
	var results []map[string]any
	for _, i := range in.Inputs {
		o := s.objects[from][i.ID]
		if o == nil || len(o.Associations[to]) == 0 {
			continue
		}
		// One entry per associated record, with every type linking the two
		// (a primary company: 5 and 341).
		var tos []map[string]any
		at := map[string]int{}
		for _, a := range o.Associations[to] {
			n, ok := at[a.ID]
			if !ok {
				n = len(tos)
				at[a.ID] = n
				tos = append(tos, map[string]any{"toObjectId": a.ID, "associationTypes": []map[string]any{}})
			}
			var label any
			if t, ok := lookupAssocType(from, to, a.TypeID); ok && t.label != "" {
				label = t.label
			}
			tos[n]["associationTypes"] = append(tos[n]["associationTypes"].([]map[string]any),
				map[string]any{"category": associationHubSpotCat, "typeId": a.TypeID, "label": label})
		}
		results = append(results, map[string]any{"from": map[string]string{"id": i.ID}, "to": tos})
	}
	s.mu.Unlock()
	status, body := s.batchEnvelope(results, nil)
	writeJSON(w, status, body)
}
