package demoworld

import (
	"math"
	"time"
)

// Open Salesforce stages with their default probabilities, and the
// HubSpot default-pipeline stage each maps to.
var openStages = []struct {
	sf      string
	prob    float64
	hubspot string
}{
	{"Prospecting", 10, "appointmentscheduled"},
	{"Qualification", 20, "qualifiedtobuy"},
	{"Needs Analysis", 30, "presentationscheduled"},
	{"Proposal/Price Quote", 60, "decisionmakerboughtin"},
	{"Negotiation/Review", 80, "contractsent"},
}

// hubspotStage maps a Salesforce stage to the HubSpot default pipeline.
func hubspotStage(sf string) string {
	switch sf {
	case "Closed Won":
		return "closedwon"
	case "Closed Lost":
		return "closedlost"
	}
	for _, s := range openStages {
		if s.sf == sf {
			return s.hubspot
		}
	}
	return "appointmentscheduled"
}

// majorARR is the ARR of a phase in the currency's major unit.
func majorARR(ph phase) float64 {
	a := float64(ph.Price.Amount(ph.Qty))
	if ph.Price.Interval == "month" {
		a *= 12
	}
	if ph.Price.Currency == "USD" {
		a /= 100
	}
	return math.Round(a)
}

// deals plans an account's deals: a won New Business per subscription, won
// upgrades and annual renewals, a lost renewal on churn, and open Upsell and
// Renewal deals.
func (g *gen) deals(a *account) {
	now := g.w.now
	day := 24 * time.Hour
	add := func(name, typ, stage string, amount float64, closeAt time.Time, prob float64) {
		closed := stage == "Closed Won" || stage == "Closed Lost"
		created := closeAt.Add(-time.Duration(g.between(14, 75)) * day)
		if !closed {
			created = now.Add(-time.Duration(g.between(3, 40)) * day)
		}
		a.Deals = append(a.Deals, &deal{Name: a.Name + " - " + name, Type: typ, Stage: stage, Amount: amount, Currency: a.Currency,
			Close: closeAt, Created: created.Truncate(time.Second), Closed: closed, Won: stage == "Closed Won", Probability: prob})
	}
	running := false
	for i, s := range a.Customer.Subs {
		name := "New Business"
		if i > 0 {
			name = "Win-back"
		}
		add(name, "New Business", "Closed Won", majorARR(s.Phases[0]), s.Start, 100)
		for _, ph := range s.Phases[1:] {
			if ph.Qty > s.Phases[0].Qty || ph.Price != s.Phases[0].Price {
				add("Expansion", "Existing Customer - Upgrade", "Closed Won", majorARR(ph)-majorARR(s.Phases[0]), ph.From, 100)
			} else {
				add("Seat reduction", "Existing Customer - Downgrade", "Closed Won", majorARR(ph), ph.From, 100)
			}
		}
		if s.Interval == "year" && len(s.Periods) > 1 {
			for _, p := range s.Periods[1:] {
				add("Renewal "+p.Start.Format("2006"), "Renewal", "Closed Won", majorARR(s.phaseAt(p.Start)), p.Start, 100)
			}
		}
		if !s.EndedAt.IsZero() && !s.EndedAt.After(now) {
			add("Renewal "+s.EndedAt.Format("2006-01"), "Renewal", "Closed Lost", majorARR(s.phaseAt(s.EndedAt)), s.EndedAt, 0)
			continue
		}
		running = true
		if s.Interval == "year" && s.CanceledAt.IsZero() && len(s.Periods) > 0 {
			if end := s.Periods[len(s.Periods)-1].End; end.Sub(now) < 120*day {
				st := openStages[g.between(2, 4)]
				add("Renewal "+end.Format("2006"), "Renewal", st.sf, majorARR(s.phaseAt(now)), end, st.prob)
			}
		}
	}
	if running && (a.Profile == profHealthy || a.Tier == tierHigh) && g.chance(0.3) {
		st := openStages[g.intn(len(openStages))]
		s := a.Customer.Subs[len(a.Customer.Subs)-1]
		add("Upsell", "Upsell", st.sf, math.Round(majorARR(s.phaseAt(now))*(0.2+0.3*g.r.Float64())), now.Add(time.Duration(g.between(10, 90))*day), st.prob)
	}
}

// onboarding plans the first weeks of an account that started within the
// last 13 months, for the onboarding criteria (a login within 7 days, 5
// features within 30, setup_complete within 30): most complete them; a
// stalled one logs in once and never finishes setup.
func (g *gen) onboarding(a *account, stalled bool) {
	now := g.w.now
	start := a.Customer.Subs[0].Start
	if now.Sub(start) > 395*24*time.Hour {
		return
	}
	at := func(days float64) time.Time {
		return start.Add(time.Duration(days*24*float64(time.Hour)) + time.Duration(g.intn(3600))*time.Second)
	}
	plan := []signal{{"logins", at(float64(g.between(0, 4)) / 2), 1}, {"features_used", at(3), 2}}
	if stalled {
		plan = append(plan, signal{"features_used", at(12), float64(g.between(1, 3))})
	} else {
		ttv := float64(g.between(3, 25))
		plan = append(plan, signal{"features_used", at(ttv / 2), 4}, signal{"features_used", at(ttv), float64(g.between(5, 7))},
			signal{"setup_complete", at(ttv - 1), 1})
	}
	for _, s := range plan {
		if !s.Time.After(now) {
			a.Signals = append(a.Signals, s)
		}
	}
}

// signals plans an account's usage: daily logins and active users, weekly
// features used and open tickets, one NPS answer, and setup_complete for
// accounts that finished onboarding. The window is 35 days, or since the
// start for accounts younger than 100 days. Churned accounts send nothing.
func (g *gen) signals(a *account) {
	now := g.w.now
	day := 24 * time.Hour
	stalled := a.Profile == profOnboarding && g.chance(0.45) || a.Profile != profOnboarding && g.chance(0.08)
	g.onboarding(a, stalled)
	last := a.Customer.Subs[len(a.Customer.Subs)-1]
	if !last.EndedAt.IsZero() && !last.EndedAt.After(now) {
		return
	}
	from := now.Add(-35 * day)
	young := now.Sub(last.Start) < 100*day
	if young {
		from = last.Start
	}
	seats := last.phaseAt(now).Qty
	prof := a.Profile
	stalled = stalled && prof == profOnboarding
	var (
		logins     func() float64
		users      func() float64
		features   func(d int) float64
		tickets    func() float64
		nps        float64
		onboarding = prof == profOnboarding && !stalled
	)
	capUsers := func(v int) float64 { return float64(max(1, min(int64(v), seats))) }
	switch {
	case prof == profHealthy || onboarding:
		logins = func() float64 { return float64(g.between(0, 5)) }
		users = func() float64 { return capUsers(g.between(10, 60)) }
		features = func(d int) float64 { return float64(min(9, 3+d/4+g.between(0, 2))) }
		tickets = func() float64 { return float64(g.between(0, 1)) }
		nps = float64(g.between(45, 90))
	case prof == profCaution:
		logins = func() float64 { return float64(g.between(0, 1)) }
		users = func() float64 { return capUsers(g.between(3, 9)) }
		features = func(int) float64 { return float64(g.between(2, 4)) }
		tickets = func() float64 { return float64(g.between(1, 3)) }
		nps = float64(g.between(0, 40))
	case prof == profAtRisk:
		logins = func() float64 {
			if g.chance(0.08) {
				return 1
			}
			return 0
		}
		users = func() float64 { return capUsers(g.between(1, 2)) }
		features = func(int) float64 { return float64(g.between(1, 2)) }
		tickets = func() float64 { return float64(g.between(4, 9)) }
		nps = float64(g.between(-70, -10))
	default: // stalled onboarding
		logins = func() float64 { return float64(g.between(0, 1)) }
		users = func() float64 { return capUsers(g.between(1, 3)) }
		features = func(int) float64 { return float64(g.between(1, 2)) }
		tickets = func() float64 { return float64(g.between(0, 2)) }
		nps = math.NaN()
	}
	first := from.Truncate(day)
	d := 0
	for t := first; !t.After(now); t = t.Add(day) {
		at := t.Add(9*time.Hour + time.Duration(g.intn(8*3600))*time.Second)
		if at.Before(from) || at.After(now) {
			continue
		}
		if v := logins(); v > 0 || d == 0 && onboarding {
			a.Signals = append(a.Signals, signal{"logins", at, max(v, 1)})
		}
		a.Signals = append(a.Signals, signal{"active_users", at, users()})
		if d%7 == 0 {
			a.Signals = append(a.Signals, signal{"features_used", at, features(d)},
				signal{"tickets_open", at, tickets()})
		}
		d++
	}
	if !math.IsNaN(nps) {
		at := now.Add(-time.Duration(g.between(2, 150)) * day).Truncate(time.Second)
		if at.Before(last.Start) {
			at = now.Add(-time.Hour)
		}
		a.Signals = append(a.Signals, signal{"nps", at, nps})
	}
}
