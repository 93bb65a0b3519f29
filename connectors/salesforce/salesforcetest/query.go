package salesforcetest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cursor is a server-side query cursor (a query locator) holding the
// rendered rows of one query. A locator is 18 characters starting 0r8 and
// lives two days from the query; there is no limit on open cursors since
// API 56.0 (Salesforce Help, "'INVALID_QUERY_LOCATOR' Salesforce Error";
// Salesforce Developer Limits, "API Query Cursor Limits").
type cursor struct {
	rows    []json.RawMessage
	version string
	all     bool
	created time.Time
}

// cursorTTL is how long a query locator and its results stay available.
const cursorTTL = 48 * time.Hour

// sfTime is how the REST API writes datetimes: 2024-01-15T10:30:00.000+0000.
const sfTime = "2006-01-02T15:04:05.000-0700"

// render writes one record as the REST API returns it: an attributes object
// (type, url) followed by the selected fields in SELECT order. The fields of
// one parent come as a nested record under the relationship name, at the
// place of the first of them, or null when the reference is empty (REST API
// Developer Guide, "Execute a SOQL Query"; SOQL and SOSL Reference,
// "Understanding Query Results"). The caller holds s.mu.
func (s *Server) render(o *sobject, cols []column, rec map[string]any, version string) json.RawMessage {
	var b bytes.Buffer
	writeAttributes(&b, o, rec, version)
	done := map[*Field]bool{}
	for _, c := range cols {
		if c.ref == nil {
			b.WriteByte(',')
			writeString(&b, c.f.Name)
			b.WriteByte(':')
			writeValue(&b, rec[c.f.Name])
			continue
		}
		if done[c.ref] {
			continue
		}
		done[c.ref] = true
		b.WriteByte(',')
		writeString(&b, c.ref.RelationshipName)
		b.WriteByte(':')
		id, _ := rec[c.ref.Name].(string)
		po, prec := s.byID(id)
		if prec == nil {
			b.WriteString("null")
			continue
		}
		writeAttributes(&b, po, prec, version)
		for _, pc := range cols {
			if pc.ref == c.ref {
				b.WriteByte(',')
				writeString(&b, pc.f.Name)
				b.WriteByte(':')
				if po.field(pc.f.Name) != nil {
					writeValue(&b, prec[po.field(pc.f.Name).Name])
				} else {
					b.WriteString("null")
				}
			}
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeAttributes opens a record: {"attributes":{"type":...,"url":...}.
func writeAttributes(b *bytes.Buffer, o *sobject, rec map[string]any, version string) {
	b.WriteString(`{"attributes":{"type":`)
	writeString(b, o.name)
	b.WriteString(`,"url":`)
	writeString(b, "/services/data/v"+version+"/sobjects/"+o.name+"/"+rec["Id"].(string))
	b.WriteByte('}')
}

// byID finds a record by its ID's key prefix; the caller holds s.mu.
func (s *Server) byID(id string) (*sobject, map[string]any) {
	if len(id) < 3 {
		return nil, nil
	}
	for _, o := range s.objects {
		if o.prefix == id[:3] {
			if rec := o.recs[To18(id)]; rec != nil {
				return o, rec
			}
		}
	}
	return nil, nil
}

func writeString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s)
	b.Write(j)
}

func writeValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case time.Time:
		writeString(b, x.UTC().Format(sfTime))
	default:
		j, err := json.Marshal(x)
		if err != nil {
			j = []byte("null")
		}
		b.Write(j)
	}
}

func soqlFail(w http.ResponseWriter, err error) {
	var se *soqlError
	if errors.As(err, &se) {
		writeErrors(w, http.StatusBadRequest, se.code, se.msg)
		return
	}
	writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000; REST API
// Developer Guide, "Query Options Header"), capped by Options.BatchSize.
func (s *Server) batchSize(r *http.Request) int {
	n := s.opts.BatchSize
	for opt := range strings.SplitSeq(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(opt), "batchSize="); ok {
			if b, err := strconv.Atoi(v); err == nil {
				// Salesforce treats the size as a request, not a guarantee.
				n = min(max(b, 200), 2000, s.opts.BatchSize)
			}
		}
	}
	return n
}

// query serves /query and /queryAll: {"totalSize","done","nextRecordsUrl",
// "records"} (REST API Developer Guide, "Execute a SOQL Query" and
// "QueryAll").
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" {
		writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	all := strings.Contains(r.URL.Path, "/queryAll")
	version := strings.TrimPrefix(r.PathValue("version"), "v")
	s.mu.Lock()
	qq, err := s.parseSOQL(q)
	if err != nil {
		s.mu.Unlock()
		soqlFail(w, err)
		return
	}
	var recs []map[string]any
	for _, id := range qq.obj.ids {
		rec := qq.obj.recs[id]
		if rec["IsDeleted"] == true && !all {
			continue
		}
		if qq.where == nil || qq.where.eval(rec) {
			recs = append(recs, rec)
		}
	}
	if len(qq.order) > 0 {
		slices.SortStableFunc(recs, func(a, b map[string]any) int {
			for _, k := range qq.order {
				av, bv := a[k.f.Name], b[k.f.Name]
				if (av == nil) != (bv == nil) {
					if (av == nil) == k.nullsFirst {
						return -1
					}
					return 1
				}
				d := compareValues(k.f, av, bv)
				if k.desc {
					d = -d
				}
				if d != 0 {
					return d
				}
			}
			return 0
		})
	}
	if qq.limit > 0 && len(recs) > qq.limit {
		recs = recs[:qq.limit]
	}
	rows := make([]json.RawMessage, len(recs))
	for i, rec := range recs {
		rows[i] = s.render(qq.obj, qq.fields, rec, version)
	}
	c := &cursor{rows: rows, version: version, all: all, created: s.now()}
	loc := ""
	if len(rows) > s.batchSize(r) {
		loc = s.newLocator()
		s.cursors[loc] = c
	}
	s.mu.Unlock()
	s.writePage(w, c, loc, 0, s.batchSize(r))
}

func (s *Server) newLocator() string {
	b := make([]byte, 12)
	rand.Read(b)
	var id [12]byte
	for i := range id {
		id[i] = base62[int(b[i])%62]
	}
	return To18("0r8" + string(id[:12]))
}

func (s *Server) writePage(w http.ResponseWriter, c *cursor, loc string, off, size int) {
	end := min(off+size, len(c.rows))
	var b bytes.Buffer
	b.WriteString(`{"totalSize":` + strconv.Itoa(len(c.rows)) + `,"done":` + strconv.FormatBool(end >= len(c.rows)))
	if end < len(c.rows) {
		path := "query"
		if c.all {
			path = "queryAll"
		}
		b.WriteString(`,"nextRecordsUrl":`)
		writeString(&b, "/services/data/v"+c.version+"/"+path+"/"+loc+"-"+strconv.Itoa(end))
	}
	b.WriteString(`,"records":[`)
	for i, row := range c.rows[off:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(row)
	}
	b.WriteString("]}")
	if end >= len(c.rows) && loc != "" {
		s.mu.Lock()
		delete(s.cursors, loc)
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Write(b.Bytes())
}

// queryMore serves a nextRecordsUrl: /query/{locator}-{offset}.
func (s *Server) queryMore(w http.ResponseWriter, r *http.Request) {
	loc, offs, ok := strings.Cut(r.PathValue("locator"), "-")
	off, err := strconv.Atoi(offs)
	s.mu.Lock()
	c := s.cursors[loc]
	if c != nil && s.now().Sub(c.created) > cursorTTL {
		delete(s.cursors, loc)
		c = nil
	}
	s.mu.Unlock()
	if !ok || err != nil || c == nil || off < 0 || off > len(c.rows) {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.writePage(w, c, loc, off, s.batchSize(r))
}

// describe serves /sobjects/{object}/describe (REST API Developer Guide,
// "sObject Describe"; the field properties of DescribeSObjectResult).
func (s *Server) describe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o := s.objects[lower(r.PathValue("object"))]
	if o == nil {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	type pv struct {
		Active       bool    `json:"active"`
		DefaultValue bool    `json:"defaultValue"`
		Label        string  `json:"label"`
		ValidFor     *string `json:"validFor"`
		Value        string  `json:"value"`
	}
	type field struct {
		Name               string   `json:"name"`
		Label              string   `json:"label"`
		Type               string   `json:"type"`
		Length             int      `json:"length"`
		Precision          int      `json:"precision"`
		Scale              int      `json:"scale"`
		Updateable         bool     `json:"updateable"`
		Createable         bool     `json:"createable"`
		Custom             bool     `json:"custom"`
		Nillable           bool     `json:"nillable"`
		Calculated         bool     `json:"calculated"`
		Filterable         bool     `json:"filterable"`
		PicklistValues     []pv     `json:"picklistValues"`
		RestrictedPicklist bool     `json:"restrictedPicklist"`
		ReferenceTo        []string `json:"referenceTo"`
		RelationshipName   *string  `json:"relationshipName"`
	}
	fields := make([]field, 0, len(o.fields))
	for _, f := range o.fields {
		df := field{Name: f.Name, Label: f.Label, Type: f.Type, Length: f.Length, Updateable: f.Updateable && !f.Calculated,
			Createable: f.Createable && !f.Calculated, Custom: f.Custom, Nillable: f.Nillable, Calculated: f.Calculated,
			Filterable: !f.longText(), PicklistValues: []pv{}, RestrictedPicklist: f.Restricted, ReferenceTo: []string{}}
		if f.RelationshipName != "" {
			df.ReferenceTo, df.RelationshipName = f.ReferenceTo, &f.RelationshipName
		}
		switch f.Type {
		case TypeDouble, TypeCurrency, TypePercent:
			df.Precision, df.Scale = f.digits()
		}
		for _, v := range f.Picklist {
			df.PicklistValues = append(df.PicklistValues, pv{Active: true, Label: v, Value: v})
		}
		fields = append(fields, df)
	}
	v := "/services/data/" + r.PathValue("version") + "/sobjects/" + o.name
	body := map[string]any{
		"name": o.name, "label": o.label, "keyPrefix": o.prefix, "custom": strings.HasSuffix(o.name, "__c"),
		"createable": true, "updateable": true, "deletable": true, "queryable": true, "fields": fields,
		"urls": map[string]string{"sobject": v, "describe": v + "/describe", "rowTemplate": v + "/{ID}"},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// getRecord serves /sobjects/{object}/{id} (REST API Developer Guide,
// "sObject Rows"), with an optional fields= list.
func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o := s.objects[lower(r.PathValue("object"))]
	var rec map[string]any
	if o != nil {
		rec = o.recs[To18(r.PathValue("id"))]
	}
	if rec == nil || rec["IsDeleted"] == true {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var fields []column
	for _, f := range o.fields {
		fields = append(fields, column{f: f})
	}
	if fl := r.URL.Query().Get("fields"); fl != "" {
		fields = nil
		for n := range strings.SplitSeq(fl, ",") {
			f := o.field(strings.TrimSpace(n))
			if f == nil {
				s.mu.Unlock()
				writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", "No such column '"+n+"' on sobject of type "+o.name)
				return
			}
			fields = append(fields, column{f: f})
		}
	}
	row := s.render(o, fields, rec, strings.TrimPrefix(r.PathValue("version"), "v"))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Write(row)
}
