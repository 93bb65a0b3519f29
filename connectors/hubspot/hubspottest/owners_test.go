package hubspottest

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestOwners pins GET /crm/v3/owners: the documented PublicOwner shape,
// paging by after in ID order, archived owners only with archived=true,
// the email filter, and 403 MISSING_SCOPES without crm.objects.owners.read.
func TestOwners(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewServer(Options{AccessToken: "tok", Now: func() time.Time { return at }})
	defer s.Close()
	ana := s.SeedOwner(Owner{Email: "ana@example.com", FirstName: "Ana", LastName: "Owner", UserID: 9586504})
	bob := s.SeedOwner(Owner{Email: "bob@example.com", FirstName: "Bob", LastName: "Seller", UserID: 9586505})
	nameless := s.SeedOwner(Owner{Email: "queue@example.com"})
	gone := s.SeedOwner(Owner{ID: "900", Email: "gone@example.com", FirstName: "Gone", LastName: "User", UserID: 7, Archived: true})
	stamp := "2026-01-02T03:04:05.000Z"
	view := func(id, email, first, last string, user float64, archived bool) map[string]any {
		v := map[string]any{"id": id, "type": "PERSON", "archived": archived, "createdAt": stamp, "updatedAt": stamp, "teams": []any{}}
		if email != "" {
			v["email"] = email
		}
		if first != "" {
			v["firstName"], v["lastName"] = first, last
		}
		if user != 0 {
			v["userIdIncludingInactive"] = user
			if !archived {
				v["userId"] = user
			}
		}
		return v
	}
	next := func(after string) map[string]any {
		return map[string]any{"next": map[string]any{"after": after, "link": s.URL + "/crm/v3/owners?after=" + after}}
	}
	tests := []struct {
		name, path string
		status     int
		want       map[string]any
	}{
		{"first page", "/crm/v3/owners?limit=2", 200, map[string]any{
			"results": []any{view(ana, "ana@example.com", "Ana", "Owner", 9586504, false), view(bob, "bob@example.com", "Bob", "Seller", 9586505, false)},
			"paging":  next(nameless)}},
		{"last page", "/crm/v3/owners?limit=2&after=" + nameless, 200, map[string]any{
			"results": []any{view(nameless, "queue@example.com", "", "", 0, false)}}},
		{"default limit", "/crm/v3/owners", 200, map[string]any{
			"results": []any{view(ana, "ana@example.com", "Ana", "Owner", 9586504, false), view(bob, "bob@example.com", "Bob", "Seller", 9586505, false),
				view(nameless, "queue@example.com", "", "", 0, false)}}},
		{"archived only", "/crm/v3/owners?archived=true", 200, map[string]any{
			"results": []any{view(gone, "gone@example.com", "Gone", "User", 7, true)}}},
		{"by email", "/crm/v3/owners?email=bob@example.com", 200, map[string]any{
			"results": []any{view(bob, "bob@example.com", "Bob", "Seller", 9586505, false)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := call(t, s, http.MethodGet, tc.path, "")
			if status != tc.status || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%d %v\nwant %d %v", status, got, tc.status, tc.want)
			}
		})
	}

	s.DenyScope(ScopeOwnersRead)
	status, got := call(t, s, http.MethodGet, "/crm/v3/owners", "")
	delete(got, "correlationId")
	want := map[string]any{
		"status":  "error",
		"message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
		"errors": []any{map[string]any{"message": "One or more of the following scopes are required.",
			"context": map[string]any{"requiredGranularScopes": []any{"crm.objects.owners.read"}}}},
		"links":    map[string]any{"scopes": "https://developers.hubspot.com/scopes"},
		"category": "MISSING_SCOPES",
	}
	if status != http.StatusForbidden || !reflect.DeepEqual(got, want) {
		t.Errorf("without the scope: %d %v\nwant 403 %v", status, got, want)
	}
}
