package hubspottest

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestPagesSeeChanges pins that the list order and the remembered search
// (kept so that the next pages of a query cost O(limit)) follow every kind
// of change between pages: a record added, updated out of the filter,
// archived, and written by a batch update.
func TestPagesSeeChanges(t *testing.T) {
	s := NewServer(Options{AccessToken: "tok"})
	defer s.Close()
	s.SeedProperty("companies", Property{Name: "tier", Label: "Tier", Type: "string", FieldType: "text", GroupName: "companyinformation"})
	for i := range 5 {
		s.Seed("companies", Object{ID: fmt.Sprint(101 + i), Properties: map[string]string{"name": fmt.Sprint("acme ", i), "tier": "gold"}})
	}
	search := func() []any {
		t.Helper()
		_, out := call(t, s, "POST", "/crm/v3/objects/companies/search",
			`{"filterGroups":[{"filters":[{"propertyName":"tier","operator":"EQ","value":"gold"}]}],"sorts":[{"propertyName":"name","direction":"DESCENDING"}],"properties":["name"],"limit":2,"after":"1"}`)
		var ids []any
		for _, r := range out["results"].([]any) {
			ids = append(ids, r.(map[string]any)["id"])
		}
		return append(ids, out["total"])
	}
	list := func() []any {
		t.Helper()
		_, out := call(t, s, "GET", "/crm/v3/objects/companies?limit=2&after=103", "")
		var ids []any
		for _, r := range out["results"].([]any) {
			ids = append(ids, r.(map[string]any)["id"])
		}
		return ids
	}
	steps := []struct {
		name   string
		change func()
		search []any // the ids of the second and third match by name descending, then total
		list   []any // the ids of the page after 103
	}{
		{"as seeded", func() {}, []any{"104", "103", 5.0}, []any{"103", "104"}},
		{"added", func() {
			s.Seed("companies", Object{ID: "99", Properties: map[string]string{"name": "acme 9", "tier": "gold"}})
			s.Seed("companies", Object{ID: "1035", Properties: map[string]string{"name": "acme 35", "tier": "gold"}})
		}, []any{"105", "1035", 7.0}, []any{"103", "104"}},
		{"updated out of the filter", func() { s.Update("companies", "105", map[string]string{"tier": "silver"}, time.Time{}) },
			[]any{"1035", "104", 6.0}, []any{"103", "104"}},
		{"archived", func() { s.Archive("companies", "104", time.Time{}) }, []any{"1035", "103", 5.0}, []any{"103", "105"}},
		{"batch update", func() {
			if status, out := call(t, s, "POST", "/crm/v3/objects/companies/batch/update", `{"inputs":[{"id":"103","properties":{"tier":"bronze"}}]}`); status != 200 {
				t.Fatalf("batch update: %d %v", status, out)
			}
		}, []any{"1035", "102", 4.0}, []any{"103", "105"}},
	}
	for _, st := range steps {
		st.change()
		if got := search(); !reflect.DeepEqual(got, st.search) {
			t.Errorf("%s: search page = %v, want %v", st.name, got, st.search)
		}
		if got := list(); !reflect.DeepEqual(got, st.list) {
			t.Errorf("%s: list page = %v, want %v", st.name, got, st.list)
		}
	}
}
