package hubspottest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// call sends one authenticated request to the fake and decodes its JSON
// answer.
func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	decode(t, resp, &out)
	return resp.StatusCode, out
}

// decode reads a JSON answer into v and closes it.
func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestDealAssociationsAsHubSpotAnswers pins the association shapes: a v3
// answer lists the primary company twice (deal_to_company and
// deal_to_company_unlabeled) and a secondary once, with no word "primary";
// the v4 batch read gives one entry per company with its type IDs (5 and
// 341 for the primary).
func TestDealAssociationsAsHubSpotAnswers(t *testing.T) {
	s := NewServer(Options{AccessToken: "tok"})
	defer s.Close()
	a := s.Seed("companies", Object{ID: "11"})
	b := s.Seed("companies", Object{ID: "12"})
	d := s.Seed("deals", Object{ID: "21"})
	s.Associate("deals", d, "companies", a)
	s.AssociatePrimary(d, b)

	_, got := call(t, s, "GET", "/crm/v3/objects/deals/21?associations=companies", "")
	want := map[string]any{"companies": map[string]any{"results": []any{
		map[string]any{"id": "11", "type": "deal_to_company_unlabeled"},
		map[string]any{"id": "12", "type": "deal_to_company"},
		map[string]any{"id": "12", "type": "deal_to_company_unlabeled"},
	}}}
	if !reflect.DeepEqual(got["associations"], want) {
		t.Errorf("v3 associations = %v, want %v", got["associations"], want)
	}

	_, got = call(t, s, "POST", "/crm/v4/associations/deals/companies/batch/read", `{"inputs":[{"id":"21"}]}`)
	wantV4 := []any{map[string]any{"from": map[string]any{"id": "21"}, "to": []any{
		map[string]any{"toObjectId": "11", "associationTypes": []any{
			map[string]any{"category": "HUBSPOT_DEFINED", "typeId": float64(DealToCompany), "label": nil}}},
		map[string]any{"toObjectId": "12", "associationTypes": []any{
			map[string]any{"category": "HUBSPOT_DEFINED", "typeId": float64(DealToCompanyPrimary), "label": "Deal with Primary Company"},
			map[string]any{"category": "HUBSPOT_DEFINED", "typeId": float64(DealToCompany), "label": nil}}},
	}}}
	if !reflect.DeepEqual(got["results"], wantV4) {
		t.Errorf("v4 results = %v, want %v", got["results"], wantV4)
	}

	// The company side mirrors it (6 primary, 342 unlabeled).
	co, _ := s.Get("companies", b)
	if want := []Association{{ID: "21", TypeID: CompanyToDealPrimary, Label: "company_to_deal"}, {ID: "21", TypeID: CompanyToDeal, Label: "company_to_deal_unlabeled"}}; !reflect.DeepEqual(co.Associations["deals"], want) {
		t.Errorf("company associations = %+v, want %+v", co.Associations["deals"], want)
	}
}
