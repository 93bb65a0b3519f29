package hubspot

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestUpdateBatchWithBadValues: HubSpot rejects a whole batch update with
// 400 VALIDATION_ERROR when any input has an invalid property value, naming
// no record. Only the bad records may be reported failed; the others are
// written. A cause every record shares is reported on all of them without
// splitting down to single records.
func TestUpdateBatchWithBadValues(t *testing.T) {
	tests := []struct {
		name      string
		bad       map[int]map[string]any // update index -> fields replacing the good ones
		wantCalls int64                  // 1, then two per halving of each rejected part
	}{
		{"number property given text", map[int]map[string]any{37: {"healthsync_health_score": "n/a"}}, 13},
		{"unknown enumeration option", map[int]map[string]any{0: {"healthsync_band": "excellent"}}, 13},
		{"number with a thousands comma", map[int]map[string]any{99: {"healthsync_mrr": "5,333"}}, 15},
		{"two bad records", map[int]map[string]any{3: {"healthsync_band": "great"}, 90: {"healthsync_trend": "up"}}, 23},
		{"every record bad alike", everyRecord(100, map[string]any{"healthsync_nope": "1"}), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
			defer srv.Close()
			seedHealthProps(srv)
			var updates []record.FieldUpdate
			for i := range 100 {
				id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
				f := map[string]any{"healthsync_health_score": float64(i), "healthsync_band": "healthy"}
				for k, v := range tc.bad[i] {
					f[k] = v
				}
				updates = append(updates, record.FieldUpdate{Object: "companies", ID: id, Fields: f})
			}
			c, _ := newClient(t, testConfig(srv.URL), nil)
			res, err := c.Update(context.Background(), updates)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range res {
				if r.Error == nil {
					got[r.ID] = "ok"
				} else {
					got[r.ID] = fmt.Sprintf("%s transient=%v", r.Error.Code, r.Error.Transient)
				}
			}
			want := map[string]string{}
			for i, u := range updates {
				want[u.ID] = "ok"
				if tc.bad[i] != nil {
					want[u.ID] = "VALIDATION_ERROR transient=false"
				}
			}
			if len(res) != len(updates) || !reflect.DeepEqual(got, want) {
				t.Errorf("%d results: %v\nwant %v", len(res), got, want)
			}
			for i, u := range updates {
				stored, _ := srv.Get("companies", u.ID)
				wantScore := strconv.Itoa(i)
				if tc.bad[i] != nil {
					wantScore = ""
				}
				if stored.Properties["healthsync_health_score"] != wantScore {
					t.Errorf("record %d: score %q, want %q", i, stored.Properties["healthsync_health_score"], wantScore)
				}
			}
			if n := srv.Count("POST /crm/v3/objects/companies/batch/update"); n != tc.wantCalls {
				t.Errorf("batch calls = %d, want %d", n, tc.wantCalls)
			}
		})
	}
}

func everyRecord(n int, f map[string]any) map[int]map[string]any {
	m := map[int]map[string]any{}
	for i := range n {
		m[i] = f
	}
	return m
}
