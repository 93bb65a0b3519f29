package backtest

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// Timeline is one account's score on every evaluation date and, when it
// churned, when.
type Timeline struct {
	Key  string
	Name string
	// Scores holds the score on each evaluation date; NaN when the account
	// was not a paying customer (MRR zero) on that date or no score is known.
	Scores []float64
	// Points holds each measure's points (0-100, NaN when missing) on each
	// evaluation date: Points[date][measure]. Nil for live timelines.
	Points [][]float64
	// Churn is the churn date (zero: no churn in the period) and Start the
	// first evaluation date the account was a paying customer (zero: never).
	Churn time.Time
	// reasons returns the top reasons on evaluation date k.
	reasons func(k int) []string
}

// Dates returns the evaluation dates: from, then every step, up to to
// inclusive. Dates are UTC midnights when from is.
func Dates(from, to time.Time, every time.Duration) []time.Time {
	var out []time.Time
	if every <= 0 {
		every = 7 * 24 * time.Hour
	}
	for d := from; !d.After(to); d = d.Add(every) {
		out = append(out, d)
	}
	return out
}

// Replay recomputes every account's score on every date from what was
// known on that date (AsOf) with the model in s (after ApplyDefaults), and
// finds each account's churn date in (dates[0], end] from its full history
// (ChurnDate). It runs on workers goroutines (GOMAXPROCS when < 1).
func Replay(inputs []scoring.AccountInput, dates []time.Time, end time.Time, s scoring.Settings, revenueDrop float64, workers int) []Timeline {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	rs := replaySettings(s)
	windows := map[string]int{}
	for _, m := range rs.Health.Measures {
		if m.Signal != "" {
			windows[m.Signal] = max(windows[m.Signal], m.WindowDays)
		}
	}
	if u := rs.Lifecycle.Expansion.UsageSignal; u != "" {
		windows[u] = max(windows[u], 30) // plan usage: the latest value in 30 days
	}
	out := make([]Timeline, len(inputs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(inputs) {
					return
				}
				out[i] = replayOne(inputs[i], dates, end, &rs, &s, revenueDrop, windows)
			}
		}()
	}
	wg.Wait()
	return out
}

// replaySettings is s as the replay scores with it: four months of MRR
// history (all mrr_trend needs), no override field (its past values are
// unknown) and no task rules.
func replaySettings(s scoring.Settings) scoring.Settings {
	rs := s
	rs.Metrics.HistoryMonths = 4
	rs.Health.OverrideField = ""
	rs.Segments = nil
	return rs
}

func replayOne(in scoring.AccountInput, dates []time.Time, end time.Time, rs, s *scoring.Settings, drop float64, windows map[string]int) Timeline {
	h := newHistory(in, windows)
	t := Timeline{Key: in.Account.Key(), Name: in.Account.Name, Scores: make([]float64, len(dates)),
		Points: make([][]float64, len(dates))}
	nm := len(rs.Health.Measures)
	flat := make([]float64, len(dates)*nm)
	for k, d := range dates {
		r := scoring.ScoreAccount(h.at(d), d, *rs, nil)
		t.Points[k] = flat[k*nm : (k+1)*nm : (k+1)*nm]
		for j, mr := range r.Health.Measures {
			t.Points[k][j] = mr.Points
			if mr.Missing {
				t.Points[k][j] = math.NaN()
			}
		}
		t.Scores[k] = r.Health.Score
		if r.MRR <= 0 {
			t.Scores[k] = math.NaN()
		}
	}
	if len(dates) > 0 {
		t.Churn = ChurnDate(in, dates[0], end, *s, drop)
	}
	t.reasons = func(k int) []string {
		return scoring.ScoreAccount(h.at(dates[k]), dates[k], *rs, nil).Health.Reasons
	}
	return t
}

// ChurnDate returns the first churn of the account in (from, to] (zero:
// none), from its full history as known today: a logo churn is the MRR
// falling to zero; with drop > 0 a contraction to (1 - drop) of the previous
// month's MRR or less counts too. The month comes from the monthly MRR
// series (the movements); the day is the first day of that month from which
// the MRR stays at or below the churn level. Worked example: MRR 10,000 at
// the end of March and 0 at the end of April, with the subscription ended on
// 2026-04-12: churn on 2026-04-12.
func ChurnDate(in scoring.AccountInput, from, to time.Time, s scoring.Settings, drop float64) time.Time {
	first, last := scoring.MonthOf(from), scoring.MonthOf(to)
	s.Metrics.HistoryMonths = int(last-first) + 1
	s.Health.Measures = nil
	s.Segments = nil
	in.Explain = false
	r := scoring.ScoreAccount(in, to, s, nil)
	prev := r.PrevMRR
	for _, m := range r.Months {
		level, churned := churnLevel(prev, m.MRR, drop)
		if churned {
			// First day start in the month whose MRR is at or below the
			// level; the month end is, so bisection finds it.
			one := s
			one.Metrics.HistoryMonths = 1
			mrrAt := func(t time.Time) int64 {
				if t.After(to) {
					t = to
				}
				return scoring.ScoreAccount(in, t, one, nil).MRR
			}
			lo, hi := 0, int(m.Month.End().Sub(m.Month.Start())/(24*time.Hour)) // day index; hi: month end
			for lo < hi {
				mid := (lo + hi) / 2
				if mrrAt(m.Month.Start().AddDate(0, 0, mid)) <= level {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			c := m.Month.Start().AddDate(0, 0, lo)
			if c.After(to) {
				c = to
			}
			if c.After(from) {
				return c
			}
		}
		prev = m.MRR
	}
	return time.Time{}
}

// churnLevel: a move from prev to now is a churn when now is 0 (logo churn)
// or, with drop > 0, at most (1 - drop) x prev; level is that bound.
func churnLevel(prev, now int64, drop float64) (level int64, churned bool) {
	if prev <= 0 {
		return 0, false
	}
	if drop > 0 {
		level = int64(math.Floor(float64(prev) * (1 - drop)))
		return level, now <= level
	}
	return 0, now == 0
}
