package engine_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/sync/engine"
)

// TestMissingMappedFieldIsLeftOut: a mapped field the CRM lacks (preflight
// says "does not exist") is reported once per run and left out of every
// write; the other fields are written and nothing fails. Before, each
// record's write carried it and the CRM rejected all of them.
func TestMissingMappedFieldIsLeftOut(t *testing.T) {
	type crm struct {
		sync    func(t *testing.T) *engine.SyncReport
		get     func(i int) map[string]any
		n       int
		missing string
		written []string // fields every record must have after the sync
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) crm
	}{
		{"salesforce", func(t *testing.T) crm {
			e := newSFStripe(t)
			e.sf.RemoveField("Account", "Health_Trend__c")
			e.pulled = []string{"Health_Score__c", "Health_Band__c", "Health_Reasons__c", "Touch_Model__c", "Lifecycle_Phase__c",
				"MRR__c", "ARR__c", "Healthsync_Updated_At__c"}
			e.st.Close()
			e.connect(t)
			return crm{sync: e.sync, n: len(e.accts), missing: "Health_Trend__c",
				get:     func(i int) map[string]any { return e.sf.Get("Account", e.accts[i]) },
				written: []string{"Health_Score__c", "Health_Band__c", "Lifecycle_Phase__c", "MRR__c", "Healthsync_Updated_At__c"}}
		}},
		{"hubspot", func(t *testing.T) crm {
			props := slices.DeleteFunc(hubspot.DefaultProperties(), func(p hubspot.PropertySpec) bool { return p.Name == "healthsync_trend" })
			e := newHSChargebee(t, props)
			return crm{n: len(e.companies), missing: "healthsync_trend",
				sync: func(t *testing.T) *engine.SyncReport {
					t.Helper()
					rep, err := e.eng.Sync(t.Context(), engine.SyncOptions{})
					if err != nil {
						t.Fatalf("sync: %v", err)
					}
					return rep
				},
				get: func(i int) map[string]any {
					c, _ := e.hs.Get("companies", e.companies[i])
					out := map[string]any{}
					for k, v := range c.Properties {
						if v != "" {
							out[k] = v
						}
					}
					return out
				},
				written: []string{"healthsync_health_score", "healthsync_band", "healthsync_phase", "healthsync_mrr", "healthsync_updated_at"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			rep := c.sync(t)
			if rep.Write.Written != c.n || rep.Write.Failed != 0 || rep.Write.Planned != c.n {
				t.Errorf("write: %d planned, %d written, %d failed; want %d, %d, 0 (errors %v)", rep.Write.Planned, rep.Write.Written,
					rep.Write.Failed, c.n, c.n, rep.Write.Errors)
			}
			conn := rep.Plan.Writes[0].Connector
			want := []engine.Skip{{Connector: conn, Field: c.missing, Reason: "mapped field does not exist in the CRM (preflight): not written to any record"}}
			if !reflect.DeepEqual(rep.Plan.Skips, want) {
				t.Errorf("skips %+v, want %+v", rep.Plan.Skips, want)
			}
			if !slices.Contains(rep.DataQuality, "write-back to "+conn+": mapped field "+c.missing+" does not exist (preflight); the other fields are written") {
				t.Errorf("data quality lacks the missing field: %q", rep.DataQuality)
			}
			for i := range c.n {
				got := c.get(i)
				for _, f := range c.written {
					if got[f] == nil {
						t.Errorf("record %d: %s not written", i, f)
					}
				}
				if got[c.missing] != nil {
					t.Errorf("record %d has the missing field %s", i, c.missing)
				}
			}
			// The next run reports it again, once, and writes nothing.
			rep = c.sync(t)
			if len(rep.Plan.Writes) != 0 || len(rep.Plan.Skips) != 1 || rep.Write.Failed != 0 {
				t.Errorf("second run: %d writes, skips %+v, %d failed", len(rep.Plan.Writes), rep.Plan.Skips, rep.Write.Failed)
			}
		})
	}
}
