package salesforcetest

import (
	"testing"
	"time"
)

// TestRelationshipQuery pins the child-to-parent fields the fake accepts in
// a SELECT list (SOQL and SOSL Reference, "Relationship Queries") and the
// nested shape it answers ("Understanding Query Results").
func TestRelationshipQuery(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewServer(Options{Now: func() time.Time { return now }})
	defer s.Close()
	ana := s.AddUser("Ana Owner")
	nameless, _ := s.Insert("User", map[string]any{"Username": "nameless@example.com", "IsActive": true})
	queue := s.AddQueue("Renewals")
	a, _ := s.Insert("Account", map[string]any{"Name": "Acme", "OwnerId": ana})
	b, _ := s.Insert("Account", map[string]any{"Name": "Beta", "OwnerId": nameless})
	task, _ := s.Insert("Task", map[string]any{"Subject": "Call", "OwnerId": queue, "Status": "Not Started", "Priority": "Normal"})
	c := login(t, s)
	url := func(obj, id string) string {
		return `{"type":"` + obj + `","url":"/services/data/v62.0/sobjects/` + obj + `/` + id + `"}`
	}
	tests := []struct {
		name, soql string
		status     int
		want       string // the whole body
	}{
		{"parent name nested in SELECT order", "SELECT Id, Owner.Name, Name FROM Account WHERE Id = '" + a + "'", 200,
			`{"totalSize":1,"done":true,"records":[{"attributes":` + url("Account", a) + `,"Id":"` + a + `","Owner":{"attributes":` + url("User", ana) + `,"Name":"Ana Owner"},"Name":"Acme"}]}`},
		{"two fields of one parent share one object", "SELECT owner.name, Owner.Username FROM Account WHERE Id = '" + a + "'", 200,
			`{"totalSize":1,"done":true,"records":[{"attributes":` + url("Account", a) + `,"Owner":{"attributes":` + url("User", ana) + `,"Name":"Ana Owner","Username":"Ana Owner"}}]}`},
		{"a parent without a name", "SELECT Id, Owner.Name FROM Account WHERE Id = '" + b + "'", 200,
			`{"totalSize":1,"done":true,"records":[{"attributes":` + url("Account", b) + `,"Id":"` + b + `","Owner":{"attributes":` + url("User", nameless) + `,"Name":null}}]}`},
		{"a polymorphic owner (queue)", "SELECT Owner.Name, What.Name FROM Task WHERE Id = '" + task + "'", 200,
			`{"totalSize":1,"done":true,"records":[{"attributes":` + url("Task", task) + `,"Owner":{"attributes":` + url("Group", queue) + `,"Name":"Renewals"},"What":null}]}`},
		{"unknown relationship", "SELECT Parent.Name FROM Account", 400,
			`[{"errorCode":"INVALID_FIELD","message":"Didn't understand relationship 'Parent' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."}]`},
		{"unknown parent field", "SELECT Owner.Nope FROM Account", 400,
			`[{"errorCode":"INVALID_FIELD","message":"No such column 'Nope' on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := c.do("GET", q(tc.soql), "")
			if status != tc.status || body != tc.want {
				t.Errorf("%d %s\nwant %d %s", status, body, tc.status, tc.want)
			}
		})
	}
}
