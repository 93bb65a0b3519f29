package demoworld

import (
	"math"
	"math/rand/v2"
	"time"
)

// Churn styles of the accounts that churn.
const (
	churnFades  = "fades"  // usage declines from 150 to 60 days before the end
	churnSudden = "sudden" // usage stays normal until the end: no warning
)

// dailyDays is how far back the daily signals go (signals in activity.go).
const dailyDays = 35

// history plans a year of weekly usage before the daily window, so
// `healthsync backtest` has something to replay: one signal per metric a
// week (logins as the week's sum), NPS every quarter, while a subscription
// runs. Accounts keep their profile's level all year, except churners:
// before the end they either fade (churnFades, three in four: logins,
// users and features shrink from 150 days before the end to nothing 60
// days before, while open tickets rise and NPS falls) or carry on as healthy or caution accounts until the day they
// leave (churnSudden). It draws from its own generator seeded from
// Options.Seed, so the rest of the world is the same with or without it.
func (w *World) history() {
	g := &gen{r: rand.New(rand.NewPCG(uint64(w.opts.Seed), 0x6261636b74657374)), w: w}
	day := 24 * time.Hour
	for _, a := range w.accounts {
		subs := a.Customer.Subs
		last := subs[len(subs)-1]
		ended := !last.EndedAt.IsZero() && !last.EndedAt.After(w.now)
		prof := a.Profile
		var end time.Time // the churn this history leads to (zero: none)
		if prof == profChurned {
			a.Churn = churnSudden
			if g.chance(0.75) {
				a.Churn = churnFades
			}
			prof = profHealthy
			if g.chance(0.5) {
				prof = profCaution
			}
			if ended {
				end = last.EndedAt
			}
		}
		until := w.now.Add(-dailyDays * day)
		if ended {
			until = last.EndedAt
		} else if w.now.Sub(last.Start) < 100*day {
			until = last.Start // young accounts: the daily signals cover them
		}
		from := w.now.AddDate(-1, 0, 0).Add(-dailyDays * day)
		for t := from.Truncate(day).Add(10 * time.Hour); t.Before(until); t = t.Add(7 * day) {
			at := t.Add(time.Duration(g.intn(6*3600)) * time.Second)
			if !running(subs, at) || !at.Before(until) {
				continue
			}
			f := 1.0
			if a.Churn == churnFades && !end.IsZero() {
				if left := end.Sub(t); left < 150*day {
					// 1 at 150 days before the end, 0 from 60 days before
					f = math.Max(0, float64(left-60*day)/float64(90*day))
				}
			}
			lvl := weekly(g, prof)
			scale := func(v float64) float64 { return math.Round(v * f) }
			a.Signals = append(a.Signals,
				signal{"logins", at, scale(lvl.logins)},
				signal{"active_users", at, math.Max(1, scale(lvl.users))},
				signal{"features_used", at, math.Max(1, scale(lvl.features))},
				signal{"tickets_open", at, math.Round(lvl.tickets + 6*(1-f))})
			if g.intn(13) == 0 {
				a.Signals = append(a.Signals, signal{"nps", at, math.Round(lvl.nps - 80*(1-f))})
			}
		}
	}
}

// usage is one week of an account's usage.
type usage struct{ logins, users, features, tickets, nps float64 }

// weekly draws a week at a profile's level (the daily levels of signals,
// summed over the week for logins).
func weekly(g *gen, prof string) usage {
	switch prof {
	case profHealthy, profOnboarding:
		return usage{float64(g.between(10, 25)), float64(g.between(10, 40)), float64(g.between(4, 9)), float64(g.between(0, 1)), float64(g.between(45, 90))}
	case profCaution:
		return usage{float64(g.between(1, 5)), float64(g.between(3, 9)), float64(g.between(2, 4)), float64(g.between(1, 3)), float64(g.between(0, 40))}
	default: // at risk
		return usage{float64(g.between(0, 1)), float64(g.between(1, 2)), float64(g.between(1, 2)), float64(g.between(4, 9)), float64(g.between(-70, -10))}
	}
}

// running reports whether one of the subscriptions runs at t.
func running(subs []*sub, t time.Time) bool {
	for _, s := range subs {
		if !t.Before(s.Start) && (s.EndedAt.IsZero() || t.Before(s.EndedAt)) {
			return true
		}
	}
	return false
}
