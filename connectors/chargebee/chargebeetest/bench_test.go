package chargebeetest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// BenchmarkListPage50000 measures one list page (limit=100) at 50,000
// subscriptions (and customers), from the offset of the middle record, in
// the default order (created_at descending) and by updated_at ascending as
// an incremental pull reads. A fake whose page cost grows with the record
// count makes a full pull quadratic.
func BenchmarkListPage50000(b *testing.B) {
	const n, t0 = 50000, 1_700_000_000
	s := NewServer(Options{APIKey: "k"})
	defer s.Close()
	for i := range n {
		id := fmt.Sprintf("sub_%06d", i)
		s.PutCustomer(Customer{ID: "cus_" + id, CreatedAt: t0 + int64(i)})
		s.PutSubscription(Subscription{ID: id, CustomerID: "cus_" + id, Status: "active", CurrencyCode: "USD",
			CreatedAt: t0 + int64(i), UpdatedAt: t0 + int64(n-i)})
	}
	mid := fmt.Sprintf("sub_%06d", n/2)
	for _, bc := range []struct{ name, query string }{
		{"subscriptions", "limit=100&offset=" + url.QueryEscape(fmt.Sprintf(`["%d000","%s"]`, t0+n/2, mid))},
		{"subscriptions_by_updated_at", "limit=100&sort_by[asc]=updated_at&updated_at[after]=1&offset=" +
			url.QueryEscape(fmt.Sprintf(`["%d000","%s"]`, t0+n-n/2, mid))},
		{"customers", "limit=100&offset=" + url.QueryEscape(fmt.Sprintf(`["%d000","cus_%s"]`, t0+n/2, mid))},
	} {
		coll := bc.name
		if coll != "customers" {
			coll = "subscriptions"
		}
		b.Run(bc.name, func(b *testing.B) {
			fakeapi.BenchmarkRequest(b, http.MethodGet, s.URL+"/api/v2/"+coll+"?"+bc.query, nil,
				"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("k:")))
		})
	}
}
