package salesforcetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// BenchmarkQueryPage50000 measures, at 50,000 accounts, the query that
// opens a cursor (one pass over the records, rendering every row once, as
// a real query locator holds its results) and one queryMore page (2,000
// rows, the default batch) from the middle of that cursor: the call a full
// pull repeats, which must cost O(page) for the pull to stay linear.
func BenchmarkQueryPage50000(b *testing.B) {
	const n = 50000
	s := NewServer(Options{})
	defer s.Close()
	for i := range n {
		if _, err := s.Insert("Account", map[string]any{"Name": fmt.Sprint("Account ", i)}); err != nil {
			b.Fatal(err)
		}
	}
	resp, err := http.PostForm(s.URL+"/services/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"fake-client-id"}, "client_secret": {"fake-client-secret"}})
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + tok.AccessToken}
	query := s.URL + "/services/data/v62.0/query?q=" + url.QueryEscape("SELECT Id, Name, SystemModstamp FROM Account")
	req, _ := http.NewRequest(http.MethodGet, query, nil)
	req.Header.Set(auth[0], auth[1])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var first struct {
		NextRecordsURL string `json:"nextRecordsUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&first)
	resp.Body.Close()
	loc, _, ok := strings.Cut(first.NextRecordsURL, "-")
	if err != nil || !ok {
		b.Fatalf("first page: %v, nextRecordsUrl %q", err, first.NextRecordsURL)
	}
	b.Run("query", func(b *testing.B) { fakeapi.BenchmarkRequest(b, http.MethodGet, query, nil, auth...) })
	b.Run("queryMore", func(b *testing.B) {
		fakeapi.BenchmarkRequest(b, http.MethodGet, s.URL+loc+fmt.Sprint("-", n/2), nil, auth...)
	})
}
