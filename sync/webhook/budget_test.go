package webhook

import (
	"testing"
	"time"
)

// TestBudget: the events admitted in any minute never exceed the budget; a
// refusal says when the request would fit.
func TestBudget(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	type take struct {
		at       time.Duration
		n        int
		wantOK   bool
		wantWait time.Duration
	}
	tests := []struct {
		name  string
		per   int
		takes []take
	}{
		{name: "fills then refuses until the oldest leaves", per: 100, takes: []take{
			{0, 60, true, 0}, {10 * time.Second, 40, true, 0}, {20 * time.Second, 1, false, 40 * time.Second},
			{60 * time.Second, 60, true, 0}, {61 * time.Second, 1, false, 9 * time.Second}, {70 * time.Second, 40, true, 0},
		}},
		{name: "larger than the whole budget", per: 100, takes: []take{{0, 101, false, time.Minute}, {0, 100, true, 0}}},
		{name: "a refused request takes nothing", per: 10, takes: []take{{0, 8, true, 0}, {time.Second, 5, false, 59 * time.Second}, {2 * time.Second, 2, true, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.per)
			for i, tk := range tc.takes {
				ok, wait := b.Take(t0.Add(tk.at), tk.n)
				if ok != tk.wantOK || wait != tk.wantWait {
					t.Errorf("take %d (%d at %s) = %v, %s; want %v, %s", i, tk.n, tk.at, ok, wait, tk.wantOK, tk.wantWait)
				}
			}
		})
	}
}
