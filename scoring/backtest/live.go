package backtest

import (
	"math"
	"sort"
	"time"
)

// Snapshot is a score healthsync wrote (the store's score history).
type Snapshot struct {
	At      time.Time
	Score   float64
	MRR     int64 // reporting minor units at At
	Reasons []string
}

// LiveTimeline builds a timeline from the scores healthsync actually wrote:
// on each date, the latest snapshot at or before it (NaN when there is
// none, or its MRR was zero). churn comes from ChurnDate.
func LiveTimeline(key, name string, snaps []Snapshot, dates []time.Time, churn time.Time) Timeline {
	s := append([]Snapshot(nil), snaps...)
	sort.SliceStable(s, func(a, b int) bool { return s[a].At.Before(s[b].At) })
	t := Timeline{Key: key, Name: name, Scores: make([]float64, len(dates)), Churn: churn}
	idx := make([]int, len(dates))
	for k, d := range dates {
		j := sort.Search(len(s), func(j int) bool { return s[j].At.After(d) }) - 1
		idx[k] = j
		t.Scores[k] = math.NaN()
		if j >= 0 && s[j].MRR > 0 {
			t.Scores[k] = s[j].Score
		}
	}
	t.reasons = func(k int) []string {
		if j := idx[k]; j >= 0 {
			return s[j].Reasons
		}
		return nil
	}
	return t
}
