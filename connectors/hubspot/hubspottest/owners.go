package hubspottest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// ScopeOwnersRead is the scope GET /crm/v3/owners needs ("Retrieve all
// owners", scope requirements; crm-owners-v3.json security).
const ScopeOwnersRead = "crm.objects.owners.read"

// Owner is a HubSpot owner: a user records can be assigned to through
// hubspot_owner_id (the owners v3 document's PublicOwner).
type Owner struct {
	ID        string // assigned when empty
	Email     string
	FirstName string
	LastName  string
	UserID    int
	// Type is PERSON (default) or QUEUE.
	Type string
	// Archived owners (deactivated users) are listed only with
	// archived=true.
	Archived  bool
	CreatedAt time.Time // zero: the clock
	UpdatedAt time.Time // zero: CreatedAt
}

// ownerBook holds the owners and the scopes the token lacks; s.mu guards it.
type ownerBook struct {
	byID   map[string]*Owner
	nextID int64
	denied map[string]bool // scopes the app was not granted
}

// SeedOwner adds an owner (or replaces the one with its ID) and returns its
// ID.
func (s *Server) SeedOwner(o Owner) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.owners
	if b.byID == nil {
		b.byID, b.nextID = map[string]*Owner{}, 41629779
	}
	if o.ID == "" {
		b.nextID++
		o.ID = strconv.FormatInt(b.nextID, 10)
	}
	if o.Type == "" {
		o.Type = "PERSON"
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	b.byID[o.ID] = &o
	return o.ID
}

// DenyScope makes the calls that need scope answer 403 MISSING_SCOPES, as
// for an app that was not granted it. Only the owners endpoint checks
// scopes.
func (s *Server) DenyScope(scope string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owners.denied == nil {
		s.owners.denied = map[string]bool{}
	}
	s.owners.denied[scope] = true
}

// handleOwners serves GET /crm/v3/owners (developers.hubspot.com "Retrieve
// all owners", the owners v3 document crm-owners-v3.json): limit (default
// 100; the document gives no maximum), after (the paging token of the
// previous page), email (exact match) and archived (only archived owners
// when true, only active ones otherwise), in ID order; the answer is
// CollectionResponsePublicOwnerForwardPaging. Without the scope it answers
// 403 with category MISSING_SCOPES and the required scope in
// errors[].context.requiredGranularScopes, the body HubSpot sends to an app
// that lacks one (as reported on the HubSpot Community, "403 Forbidden
// MISSING_SCOPES").
func (s *Server) handleOwners(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be a positive integer", nil)
			return
		}
		limit = n
	}
	archived := q.Get("archived") == "true"
	after, email := q.Get("after"), q.Get("email")
	s.mu.Lock()
	if s.owners.denied[ScopeOwnersRead] {
		s.mu.Unlock()
		writeJSON(w, http.StatusForbidden, map[string]any{
			"status":        "error",
			"message":       "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
			"correlationId": correlationID(),
			"errors": []map[string]any{{"message": "One or more of the following scopes are required.",
				"context": map[string][]string{"requiredGranularScopes": {ScopeOwnersRead}}}},
			"links":    map[string]string{"scopes": "https://developers.hubspot.com/scopes"},
			"category": "MISSING_SCOPES",
		})
		return
	}
	var all []*Owner
	for _, o := range s.owners.byID {
		if o.Archived == archived && (email == "" || o.Email == email) {
			all = append(all, o)
		}
	}
	sort.Slice(all, func(i, j int) bool { return idLess(all[i].ID, all[j].ID) })
	results := []map[string]any{}
	next := ""
	for _, o := range all {
		if after != "" && idLess(o.ID, after) {
			continue
		}
		if len(results) == limit {
			next = o.ID
			break
		}
		results = append(results, ownerView(o))
	}
	s.mu.Unlock()
	body := map[string]any{"results": results}
	if next != "" {
		body["paging"] = map[string]any{"next": map[string]string{
			"after": next,
			"link":  fmt.Sprintf("%s/crm/v3/owners?after=%s", s.URL, next),
		}}
	}
	writeJSON(w, http.StatusOK, body)
}

// ownerView renders a PublicOwner; email, names and user IDs are left out
// when unset, as the document marks them optional.
func ownerView(o *Owner) map[string]any {
	v := map[string]any{
		"id": o.ID, "type": o.Type, "archived": o.Archived,
		"createdAt": o.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"updatedAt": o.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"teams":     []any{},
	}
	for k, s := range map[string]string{"email": o.Email, "firstName": o.FirstName, "lastName": o.LastName} {
		if s != "" {
			v[k] = s
		}
	}
	if o.UserID != 0 && !o.Archived {
		v["userId"] = o.UserID
	}
	if o.UserID != 0 {
		v["userIdIncludingInactive"] = o.UserID
	}
	return v
}
