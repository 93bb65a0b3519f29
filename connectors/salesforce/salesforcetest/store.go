package salesforcetest

import (
	"fmt"
	"maps"
	"time"
)

// base62 in ASCII order, so that IDs of one object sort in creation order as
// Salesforce's do.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns the next 18-character ID for a key prefix: prefix (3), pod
// (2), reserved (1), counter (9), then the 3-character case-safe suffix.
func (s *Server) newID(prefix string) string {
	s.seq[prefix]++
	n := s.seq[prefix]
	var c [9]byte
	for i := 8; i >= 0; i-- {
		c[i] = base62[n%62]
		n /= 62
	}
	return To18(prefix + "5g0" + string(c[:]))
}

// To18 converts a 15-character case-sensitive ID to its 18-character
// case-insensitive form (the suffix encodes which characters are upper case);
// an 18-character ID is returned unchanged.
func To18(id string) string {
	if len(id) != 15 {
		return id
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for chunk := range 3 {
		bits := 0
		for i := range 5 {
			c := id[chunk*5+i]
			if 'A' <= c && c <= 'Z' {
				bits |= 1 << i
			}
		}
		suffix[chunk] = alpha[bits]
	}
	return id + string(suffix)
}

// stamp is how the fake keeps times: UTC, whole seconds. Salesforce drops
// the milliseconds when it stores a datetime (the REST API writes them as
// .000; Salesforce Stack Exchange, "Using SystemModstamp and a timestamp to
// implement incremental data fetch", and "Valid Date and DateTime Formats"
// in the REST API Developer Guide for the written form).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// Insert seeds a record and returns its new 18-character ID. Values are Go
// values: string, float64/int, bool, nil, time.Time (datetime fields) and
// "YYYY-MM-DD" strings or time.Time for date fields. CreatedDate,
// LastModifiedDate and SystemModstamp come from the clock unless given.
// Seeding bypasses validation rules and does not count as an API call.
func (s *Server) Insert(object string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		return "", fmt.Errorf("salesforcetest: unknown object %q", object)
	}
	rec, err := s.normalize(o, fields)
	if err != nil {
		return "", err
	}
	return s.insertLocked(o, rec), nil
}

func (s *Server) insertLocked(o *sobject, rec map[string]any) string {
	now := stamp(s.now())
	id := s.newID(o.prefix)
	rec["Id"] = id
	rec["IsDeleted"] = false
	for _, k := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		if _, ok := rec[k]; !ok {
			rec[k] = now
		}
	}
	for _, k := range []string{"CreatedById", "LastModifiedById"} {
		if _, ok := rec[k]; !ok {
			rec[k] = s.integrationUser
		}
	}
	if o.field("OwnerId") != nil && rec["OwnerId"] == nil {
		rec["OwnerId"] = s.integrationUser
	}
	derive(o, rec)
	for _, f := range o.fields {
		if _, ok := rec[f.Name]; !ok {
			rec[f.Name] = zero(f)
		}
	}
	o.recs[id] = rec
	o.ids = append(o.ids, id)
	return id
}

func zero(f *Field) any {
	if f.Type == TypeBoolean {
		return false
	}
	return nil
}

// derive sets the fields Salesforce computes: Opportunity IsClosed/IsWon
// from the stage, Task IsClosed from the status.
func derive(o *sobject, rec map[string]any) {
	switch o.name {
	case "Opportunity":
		st, _ := rec["StageName"].(string)
		rec["IsClosed"] = st == "Closed Won" || st == "Closed Lost"
		rec["IsWon"] = st == "Closed Won"
	case "Task":
		st, _ := rec["Status"].(string)
		rec["IsClosed"] = st == "Completed"
	}
}

// normalize converts seeding values to the stored representation, checking
// field names.
func (s *Server) normalize(o *sobject, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		f := o.field(k)
		if f == nil {
			return nil, fmt.Errorf("salesforcetest: no field %s on %s", k, o.name)
		}
		switch x := v.(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case time.Time:
			if f.Type == TypeDate {
				v = x.UTC().Format("2006-01-02")
			} else {
				v = stamp(x)
			}
		}
		out[f.Name] = v
	}
	return out, nil
}

// Update changes fields of a record as a user would in the UI: it bumps
// LastModifiedDate and SystemModstamp to the clock (unless given), so many
// Updates at one clock reading share one SystemModstamp like a bulk update.
func (s *Server) Update(object, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		return fmt.Errorf("salesforcetest: unknown object %q", object)
	}
	rec := o.recs[To18(id)]
	if rec == nil {
		return fmt.Errorf("salesforcetest: no %s %s", object, id)
	}
	vals, err := s.normalize(o, fields)
	if err != nil {
		return err
	}
	now := stamp(s.now())
	rec["LastModifiedDate"], rec["SystemModstamp"] = now, now
	maps.Copy(rec, vals)
	derive(o, rec)
	return nil
}

// BulkUpdate applies the same change to many records with one
// SystemModstamp, as a data loader or mass update does.
func (s *Server) BulkUpdate(object string, ids []string, fields map[string]any) error {
	s.mu.Lock()
	now := stamp(s.now())
	s.mu.Unlock()
	for _, id := range ids {
		f := maps.Clone(fields)
		f["SystemModstamp"], f["LastModifiedDate"] = now, now
		if err := s.Update(object, id, f); err != nil {
			return err
		}
	}
	return nil
}

// SetCalculated changes a formula or roll-up value without touching
// SystemModstamp, as Salesforce does.
func (s *Server) SetCalculated(object, id, field string, value any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil || o.recs[To18(id)] == nil || o.field(field) == nil {
		return fmt.Errorf("salesforcetest: no %s.%s on %s", object, field, id)
	}
	if n, ok := value.(int); ok {
		value = float64(n)
	}
	o.recs[To18(id)][o.field(field).Name] = value
	return nil
}

// Delete moves a record to the recycle bin: IsDeleted becomes true and
// SystemModstamp moves, so queryAll still returns it.
func (s *Server) Delete(object, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil || o.recs[To18(id)] == nil {
		return fmt.Errorf("salesforcetest: no %s %s", object, id)
	}
	rec := o.recs[To18(id)]
	rec["IsDeleted"] = true
	rec["SystemModstamp"] = stamp(s.now())
	return nil
}

// Get returns a copy of a record as stored (deleted ones included), or nil.
func (s *Server) Get(object, id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil || o.recs[To18(id)] == nil {
		return nil
	}
	return maps.Clone(o.recs[To18(id)])
}

// All returns copies of an object's records that are not deleted, in ID
// order.
func (s *Server) All(object string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	if o == nil {
		return nil
	}
	var out []map[string]any
	for _, id := range o.ids {
		if r := o.recs[id]; r["IsDeleted"] != true {
			out = append(out, maps.Clone(r))
		}
	}
	return out
}

// AddUser creates an active User and returns its ID (005...).
func (s *Server) AddUser(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertLocked(s.objects["user"], map[string]any{"Name": name, "Username": name, "IsActive": true})
}

// AddQueue creates a queue (a Group of type Queue) and returns its ID
// (00G...).
func (s *Server) AddQueue(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertLocked(s.objects["group"], map[string]any{"Name": name, "Type": "Queue"})
}

// IntegrationUser is the ID of the user the connected app runs as; it owns
// records seeded without an OwnerId.
func (s *Server) IntegrationUser() string { return s.integrationUser }

type validationRule struct {
	message string
	field   string
	invalid func(rec map[string]any) bool
}

// AddValidationRule makes writes to object fail with
// FIELD_CUSTOM_VALIDATION_EXCEPTION when invalid returns true for the record
// as it would be after the write (a rule's formula evaluating true, as in
// Salesforce). field names the error's field, or "" for the top of the page.
func (s *Server) AddValidationRule(object, field, message string, invalid func(rec map[string]any) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[lower(object)]
	o.rules = append(o.rules, validationRule{message: message, field: field, invalid: invalid})
}

// FailRecord makes the next times writes of record id fail with the given
// errorCode (for example UNABLE_TO_LOCK_ROW) in composite results.
func (s *Server) FailRecord(id, code, message string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordFaults[To18(id)] = &recordFault{code: code, message: message, left: times}
}

type recordFault struct {
	code, message string
	left          int
}
