package hubspottest

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// BenchmarkPage50000 measures one page at 50,000 companies: a list page
// (limit=100) after the middle company, and a search page (limit=200, the
// connector's incremental query: modified since a time, ascending by
// hs_lastmodifieddate) at offset 5,000. A fake whose page cost grows with
// the record count makes a full pull quadratic; a search page cannot be
// cheaper than one pass over the records, since total counts every match.
func BenchmarkPage50000(b *testing.B) {
	const n = 50000
	s := NewServer(Options{AccessToken: "bench"})
	defer s.Close()
	var ids []string
	for i := range n {
		ids = append(ids, s.Seed("companies", Object{Properties: map[string]string{"name": "c" + strconv.Itoa(i), "domain": "c.example"}}))
	}
	search := `{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"0"}]}],` +
		`"sorts":[{"propertyName":"hs_lastmodifieddate","direction":"ASCENDING"}],"properties":["name"],"limit":200,"after":"5000"}`
	for _, bc := range []struct{ name, method, uri, body string }{
		{"list", http.MethodGet, "/crm/v3/objects/companies?limit=100&properties=name,domain&after=" + ids[n/2], ""},
		{"search", http.MethodPost, "/crm/v3/objects/companies/search", search},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fakeapi.BenchmarkRequest(b, bc.method, s.URL+bc.uri, []byte(bc.body),
				"Authorization", "Bearer bench", "Content-Type", "application/json")
		})
	}
}
