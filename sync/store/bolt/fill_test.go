package bolt

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// TestFillForAppend: two syncs of 2,000 accounts write their scores and
// written values in batches of 200. In account order (how the engine
// writes), the first sync appends, and the pages it fills stay full:
// scores and written values over 90% full, where bbolt's default split
// left them at 48% and 47% (38% at 10,000 accounts). In random order nothing is an append, the
// default fill applies, and pages stay over 60% full (always filling pages
// to 100% would leave the scores at 31%: each insert splits a full page).
func TestFillForAppend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shuffled bool
		minFill  float64
	}{
		{"account order", false, 0.9},
		{"random order", true, 0.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			s, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, 2000)
			for i := range ids {
				ids[i] = fmt.Sprintf("0015g%010dAAA", i)
			}
			if tc.shuffled {
				r := rand.New(rand.NewPCG(1, 2))
				r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			}
			for round := range 2 {
				at := time.Date(2026, 12, 1+round, 0, 0, 0, 0, time.UTC)
				for lo := 0; lo < len(ids); lo += 200 {
					var ups []record.FieldUpdate
					var snaps []store.ScoreSnapshot
					for _, id := range ids[lo : lo+200] {
						ups = append(ups, record.FieldUpdate{Object: "Account", ID: id, Fields: map[string]any{
							"Health_Score__c": 80 + round, "Health_Band__c": "healthy", "MRR__c": 2320000, "ARR__c": 27840000,
							"Health_Reasons__c":  "MRR trend over 3 months: 0% (good 5% or more), -11 pts; days to renewal: 57",
							"Lifecycle_Phase__c": "renewal", "Touch_Model__c": "high", "Healthsync_Updated_At__c": at.Format(time.RFC3339)}})
						snaps = append(snaps, store.ScoreSnapshot{AccountKey: "salesforce:" + id, At: at, Score: float64(80 + round)})
					}
					must(t, s.MarkWritten("salesforce", ups, at))
					must(t, s.PutScores(snaps))
				}
			}
			must(t, s.Close())
			u, err := Usage(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range u.Buckets {
				if b.Name != "written" && b.Name != "scores" {
					continue
				}
				if fill := float64(b.Used) / float64(b.Bytes); fill < tc.minFill {
					t.Errorf("%s: %d bytes used of %d (%.0f%%), want at least %.0f%%", b.Name, b.Used, b.Bytes, 100*fill, 100*tc.minFill)
				}
			}
		})
	}
}
