package chargebeetest

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// TestListSeesWrites pins that the list order kept between pages (so that
// a page costs O(limit)) follows every store write: a record put, updated
// (a new updated_at and status) and deleted, in both sort directions and
// from an offset.
func TestListSeesWrites(t *testing.T) {
	clk := &testClock{t: time.Unix(1_700_000_100, 0)}
	s := NewServer(Options{APIKey: "k", Now: clk.Now})
	defer s.Close()
	for i, id := range []string{"a", "b", "c", "d"} {
		s.PutSubscription(Subscription{ID: id, CustomerID: "cus", Status: "active", CurrencyCode: "USD",
			CreatedAt: 1_700_000_000 + int64(i), UpdatedAt: 1_700_000_010 + int64(i)})
	}
	ids := func(q url.Values) []string {
		t.Helper()
		status, body := get(t, s, "k", "/api/v2/subscriptions", q)
		if status != 200 {
			t.Fatalf("%v: status %d: %v", q, status, body)
		}
		var out []string
		for _, e := range body["list"].([]any) {
			out = append(out, e.(map[string]any)["subscription"].(map[string]any)["id"].(string))
		}
		return out
	}
	newest := url.Values{"limit": {"10"}}
	byUpdate := url.Values{"limit": {"2"}, "sort_by[asc]": {"updated_at"}, "status[is]": {"active"},
		"offset": {`["1700000010000","a"]`}}
	steps := []struct {
		name             string
		write            func() error
		newest, byUpdate []string
	}{
		{"as put", func() error { return nil }, []string{"d", "c", "b", "a"}, []string{"b", "c"}},
		{"put", func() error {
			s.PutSubscription(Subscription{ID: "e", CustomerID: "cus", Status: "active", CurrencyCode: "USD",
				CreatedAt: 1_700_000_002, UpdatedAt: 1_700_000_011})
			return nil
		}, []string{"d", "e", "c", "b", "a"}, []string{"b", "e"}},
		{"updated", func() error {
			return s.UpdateSubscription("b", func(v *Subscription) { v.Status = "cancelled" })
		}, []string{"d", "e", "c", "b", "a"}, []string{"e", "c"}},
		{"deleted", func() error { return s.DeleteSubscription("e") }, []string{"d", "c", "b", "a"}, []string{"c", "d"}},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatal(err)
		}
		if got := ids(newest); !reflect.DeepEqual(got, st.newest) {
			t.Errorf("%s: newest first = %v, want %v", st.name, got, st.newest)
		}
		if got := ids(byUpdate); !reflect.DeepEqual(got, st.byUpdate) {
			t.Errorf("%s: active by updated_at after a = %v, want %v", st.name, got, st.byUpdate)
		}
	}
}
