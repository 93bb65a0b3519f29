package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// saveResult and saveError are the SaveResult shape of sObject Collections
// (REST API Developer Guide, "Create Records Using sObject Collections" and
// "Update Records Using sObject Collections"): results in request order, id
// present on success, errors with statusCode, message and fields.
type saveResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

type parseError struct{ msg string }

func (e parseError) Error() string { return e.msg }

// composite serves POST (create) and PATCH (update) /composite/sobjects.
func (s *Server) composite(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character in request body: "+err.Error())
		return
	}
	// "Update Records Using sObject Collections": the list can contain up
	// to 200 objects; more fail the request as Salesforce answers it.
	if len(body.Records) > 200 {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	create := r.Method == http.MethodPost
	s.mu.Lock()
	defer s.mu.Unlock()

	type planned struct {
		o    *sobject
		id   string
		vals map[string]any
	}
	plans := make([]planned, len(body.Records))
	results := make([]saveResult, len(body.Records))
	fail := func(i int, code, msg string, fields ...string) {
		if fields == nil {
			fields = []string{}
		}
		results[i] = saveResult{Errors: []saveError{{StatusCode: code, Message: msg, Fields: fields}}}
	}
	ok := true
	for i, in := range body.Records {
		attrs, _ := in["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		o := s.objects[lower(typ)]
		if o == nil {
			fail(i, "INVALID_TYPE", "sObject type '"+typ+"' is not supported.")
			ok = false
			continue
		}
		rawID, hasID := in["id"]
		if !hasID {
			rawID, hasID = in["Id"]
		}
		id, _ := rawID.(string)
		var cur map[string]any
		if create {
			if hasID {
				fail(i, "INVALID_FIELD", "cannot specify Id in an insert call", "Id")
				ok = false
				continue
			}
		} else {
			if (len(id) != 15 && len(id) != 18) || !strings.HasPrefix(id, o.prefix) {
				fail(i, "MALFORMED_ID", o.label+" ID: id value of incorrect type: "+id, "Id")
				ok = false
				continue
			}
			id = To18(id)
			cur = o.recs[id]
			if cur == nil {
				fail(i, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
				ok = false
				continue
			}
			if cur["IsDeleted"] == true {
				fail(i, "ENTITY_IS_DELETED", "entity is deleted")
				ok = false
				continue
			}
			if rf := s.recordFaults[id]; rf != nil {
				rf.left--
				if rf.left <= 0 {
					delete(s.recordFaults, id)
				}
				fail(i, rf.code, rf.message)
				ok = false
				continue
			}
		}
		vals, code, msg, field, perr := s.checkFields(o, in, create)
		if perr != nil {
			writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", perr.Error())
			return
		}
		if code != "" {
			fail(i, code, msg, field)
			ok = false
			continue
		}
		after := maps.Clone(cur)
		if after == nil {
			after = map[string]any{}
		}
		maps.Copy(after, vals)
		if create {
			for _, f := range o.fields {
				if f.Createable && !f.Nillable && f.Type != TypeBoolean && after[f.Name] == nil && f.Name != "OwnerId" {
					code, msg, field = "REQUIRED_FIELD_MISSING", "Required fields are missing: ["+f.Name+"]", f.Name
					break
				}
			}
		}
		if code == "" {
			for _, rule := range o.rules {
				if rule.invalid(after) {
					code, msg, field = "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, rule.field
					break
				}
			}
		}
		if code != "" {
			var fs []string
			if field != "" {
				fs = []string{field}
			}
			fail(i, code, msg, fs...)
			ok = false
			continue
		}
		plans[i] = planned{o: o, id: id, vals: vals}
		results[i] = saveResult{ID: id, Success: true, Errors: []saveError{}}
	}
	if body.AllOrNone && !ok {
		for i := range results {
			if results[i].Success {
				fail(i, "ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")
			}
		}
		writeJSON(w, http.StatusOK, results)
		return
	}
	now := stamp(s.now())
	for i, p := range plans {
		if !results[i].Success {
			continue
		}
		if create {
			results[i].ID = s.insertLocked(p.o, p.vals)
			continue
		}
		rec := p.o.recs[p.id]
		maps.Copy(rec, p.vals)
		rec["LastModifiedDate"], rec["SystemModstamp"], rec["LastModifiedById"] = now, now, s.integrationUser
		derive(p.o, rec)
	}
	writeJSON(w, http.StatusOK, results)
}

// checkFields converts a record's JSON values to stored values. A value of
// the wrong JSON type fails the whole request (parse error), as Salesforce's
// deserializer does; other problems are per-record errors.
func (s *Server) checkFields(o *sobject, in map[string]any, create bool) (vals map[string]any, code, msg, field string, perr error) {
	vals = map[string]any{}
	for k, v := range in {
		if k == "attributes" || k == "id" || k == "Id" {
			continue
		}
		f := o.field(k)
		if f == nil {
			return nil, "INVALID_FIELD", "No such column '" + k + "' on sobject of type " + o.name, k, nil
		}
		if f.Calculated || (create && !f.Createable) || (!create && !f.Updateable) {
			return nil, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: " + f.Name +
				". Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name, nil
		}
		if v == nil {
			if !f.Nillable {
				return nil, "REQUIRED_FIELD_MISSING", "Required fields are missing: [" + f.Name + "]", f.Name, nil
			}
			vals[f.Name] = nil
			continue
		}
		cv, err := convert(f, v)
		if err != nil {
			return nil, "", "", "", err
		}
		switch f.Type {
		case TypeString, TypeTextArea, TypeURL, TypePicklist:
			sv := cv.(string)
			if f.Length > 0 && utf8.RuneCountInString(sv) > f.Length {
				return nil, "STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, sv, f.Length), f.Name, nil
			}
			if f.Type == TypePicklist && f.Restricted && !contains(f.Picklist, sv) {
				return nil, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f.Label + ": bad value for restricted picklist field: " + sv, f.Name, nil
			}
		case TypeDouble, TypeCurrency, TypePercent:
			// A number field holds precision-scale digits before the point
			// (Object Reference, "Field Types": Number, Currency, Percent);
			// more fail the record (SOAP API Developer Guide, "StatusCode":
			// NUMBER_OUTSIDE_VALID_RANGE).
			p, sc := f.digits()
			if x := cv.(float64); math.Abs(x) >= math.Pow10(p-sc) {
				return nil, "NUMBER_OUTSIDE_VALID_RANGE", f.Label + ": value outside of valid range on numeric field: " + strconv.FormatFloat(x, 'f', -1, 64), f.Name, nil
			}
		case TypeReference:
			if !s.exists(cv.(string)) {
				return nil, "INVALID_CROSS_REFERENCE_KEY", f.Label + ": id value of incorrect type: " + cv.(string), f.Name, nil
			}
			cv = To18(cv.(string))
		}
		vals[f.Name] = cv
	}
	return vals, "", "", "", nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) exists(id string) bool {
	id = To18(id)
	if len(id) != 18 {
		return false
	}
	for _, o := range s.objects {
		if o.prefix == id[:3] {
			r := o.recs[id]
			return r != nil && r["IsDeleted"] != true
		}
	}
	return false
}

func convert(f *Field, v any) (any, error) {
	bad := func() (any, error) {
		var b bytes.Buffer
		writeValue(&b, v)
		return nil, parseError{fmt.Sprintf("Cannot deserialize instance of %s from %s value %s or request may be missing a required field", f.Type, jsonKind(v), b.String())}
	}
	switch f.Type {
	case TypeDouble, TypeInt, TypeCurrency, TypePercent:
		// A number may also come as a JSON string holding one: the REST API
		// Developer Guide's own examples send "numberOfEmployees": "100"
		// ("Create Multiple Records"); "high" still fails the request.
		n, ok := v.(json.Number)
		if s, isString := v.(string); isString {
			n, ok = json.Number(strings.TrimSpace(s)), true
		}
		if !ok {
			return bad()
		}
		x, err := n.Float64()
		if err != nil {
			return bad()
		}
		if f.Type == TypeInt && x != float64(int64(x)) {
			return bad()
		}
		return x, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		return b, nil
	case TypeDate:
		sv, ok := v.(string)
		if !ok {
			return bad()
		}
		if _, err := time.Parse("2006-01-02", sv); err != nil {
			return bad()
		}
		return sv, nil
	case TypeDateTime:
		sv, ok := v.(string)
		if !ok {
			return bad()
		}
		for _, layout := range []string{time.RFC3339Nano, sfTime} {
			if t, err := time.Parse(layout, sv); err == nil {
				return stamp(t), nil
			}
		}
		return bad()
	}
	sv, ok := v.(string)
	if !ok {
		return bad()
	}
	return sv, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER_FLOAT"
	case bool:
		return "VALUE_TRUE"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE_NULL"
}
