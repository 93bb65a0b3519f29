package demoworld

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Features of an account's billing history.
const (
	featNone         = ""
	featUpgrade      = "upgrade"       // more seats at a renewal
	featPriceUpgrade = "price_upgrade" // business -> enterprise at an annual renewal
	featDowngrade    = "downgrade"     // fewer seats at a renewal
	featFailedOpen   = "failed_open"   // latest invoice unpaid after failed attempts (past due)
	featFailedPaid   = "failed_paid"   // a recent invoice paid after failed attempts
	featChurn        = "churn"         // subscription ended
	featReactivated  = "reactivated"   // churned, then subscribed again
	featTrial        = "trial"         // trialing now
	featCancelEnd    = "cancel_end"    // cancels at the end of the current period
	featScnFailed    = "scn_failed"    // demo scenario: open invoice to fail
	featScnDowngrade = "scn_downgrade" // demo scenario: subscription to downgrade
	featScnCancel    = "scn_cancel"    // demo scenario: subscription to cancel
)

// role is the plan for one account before its objects are built.
type role struct {
	tier, profile, interval, currency, feature string
	tiered                                     bool
	coupon                                     string // "": drawn, "percent", "forever"
}

// cast are the first accounts of each CRM, fixed so even a small world shows
// every case the demo talks about; the rest are drawn at random.
var cast = []role{
	{tierHigh, profHealthy, "year", "JPY", featPriceUpgrade, false, ""},
	{tierLow, profHealthy, "month", "USD", featScnDowngrade, true, ""},
	{tierTech, profAtRisk, "month", "JPY", featFailedOpen, false, ""},
	{tierLow, profChurned, "month", "JPY", featChurn, false, ""},
	{tierLow, profHealthy, "month", "USD", featReactivated, false, ""},
	{tierTech, profOnboarding, "month", "JPY", featTrial, false, ""},
	{tierLow, profCaution, "month", "JPY", featDowngrade, false, "forever"},
	{tierLow, profCaution, "year", "JPY", featCancelEnd, false, ""},
	{tierTech, profHealthy, "month", "JPY", featScnFailed, false, ""},
	{tierLow, profHealthy, "month", "JPY", featScnCancel, false, ""},
	{tierHigh, profAtRisk, "year", "USD", featFailedPaid, false, ""},
	{tierHigh, profCaution, "month", "JPY", featUpgrade, false, "percent"},
}

// Generate builds the world for o. The same Options always give the same
// World, and loading it gives byte-identical fake contents.
func Generate(o Options) *World {
	o = o.withDefaults()
	w := &World{opts: o, now: o.Now.Truncate(time.Second)}
	w.start = w.now.AddDate(0, -HistoryMonths, 0)
	g := &gen{r: rand.New(rand.NewPCG(uint64(o.Seed), 0x6865616c746873)), w: w}
	g.catalog()
	for i, n := range ownerNames {
		w.owners = append(w.owners, &owner{Name: n, Email: strings.ToLower(strings.ReplaceAll(n, " ", ".")) + "@healthsync-demo.example",
			HubSpotID: fmt.Sprint(71000000 + 1000*i + g.intn(1000))})
	}
	taken := map[string]bool{}
	nth := map[string]int{}
	for i := range o.Accounts {
		crm := sysSalesforce
		if i%2 == 1 && !o.SalesforceOnly {
			crm = sysHubSpot
		}
		k := nth[crm]
		nth[crm]++
		rl := g.drawRole()
		if k < len(cast) {
			rl = cast[k]
			if crm == sysHubSpot {
				switch rl.feature { // scenarios are Stripe's; HubSpot gets the plain case
				case featScnFailed, featScnCancel:
					rl.feature = featNone
				case featScnDowngrade:
					rl.feature, rl.tiered = featUpgrade, false
				}
			}
		}
		if crm == sysHubSpot {
			rl.tiered = false // the tiered price is a Stripe price
		}
		if rl.feature == featChurn || rl.feature == featReactivated {
			rl.interval, rl.tiered = "month", false // churn after a few monthly renewals
		}
		w.accounts = append(w.accounts, g.account(i, crm, rl, taken))
	}
	g.unmatched()
	g.conflicts()
	if o.NoSignals {
		return w
	}
	for _, a := range w.accounts {
		g.signals(a)
	}
	w.history()
	return w
}

// catalog creates the prices and coupons of both billing systems.
func (g *gen) catalog() {
	w := g.w
	monthly := map[string]map[string]int64{
		"JPY": {"starter": 3000, "business": 6000, "enterprise": 12000},
		"USD": {"starter": 2000, "business": 4000, "enterprise": 8000},
	}
	for _, system := range []string{sysStripe, sysChargebee} {
		for _, plan := range []string{"starter", "business", "enterprise"} {
			prod := "prod_" + g.id("", 14)
			if system == sysChargebee {
				prod = plan
			}
			for _, cur := range []string{"JPY", "USD"} {
				for _, iv := range []string{"month", "year"} {
					p := &price{System: system, Product: prod, Name: strings.ToUpper(plan[:1]) + plan[1:], Plan: plan,
						Currency: cur, Interval: iv, Unit: monthly[cur][plan]}
					if iv == "year" {
						p.Unit *= 10 // two months free
					}
					if system == sysStripe {
						p.ID = "price_" + g.id("", 24)
					} else {
						p.ID = fmt.Sprintf("%s-%s-%s", p.Name, cur, map[string]string{"month": "Monthly", "year": "Yearly"}[iv])
					}
					w.prices = append(w.prices, p)
				}
			}
		}
	}
	w.prices = append(w.prices, &price{ID: "price_" + g.id("", 24), System: sysStripe, Product: "prod_" + g.id("", 14),
		Name: "Business (volume)", Plan: "volume", Currency: "USD", Interval: "month",
		Tiers: []tier{{10, 4500}, {50, 4000}, {0, 3500}}})
	for _, system := range []string{sysStripe, sysChargebee} {
		w.coupons = append(w.coupons,
			&coupon{ID: "WELCOME20", System: system, Name: "Welcome 20% off for 3 months", Percent: 20, Months: 3},
			&coupon{ID: "LOYAL5000JPY", System: system, Name: "Loyalty ¥5,000 off", Amount: 5000, Currency: "JPY"},
			&coupon{ID: "LOYAL50USD", System: system, Name: "Loyalty $50 off", Amount: 5000, Currency: "USD"})
	}
}

func (w *World) priceFor(system, plan, cur, interval string) *price {
	for _, p := range w.prices {
		if p.System == system && p.Plan == plan && p.Currency == cur && p.Interval == interval {
			return p
		}
	}
	panic("demoworld: no price " + system + "/" + plan + "/" + cur + "/" + interval)
}

func (w *World) couponFor(system string, percent bool, cur string) *coupon {
	for _, c := range w.coupons {
		if c.System == system && (percent && c.Percent > 0 || !percent && c.Currency == cur) {
			return c
		}
	}
	return nil
}

// drawRole draws a random account plan.
func (g *gen) drawRole() role {
	var rl role
	switch x := g.r.Float64(); {
	case x < 0.12:
		rl.tier = tierHigh
	case x < 0.55:
		rl.tier = tierLow
	default:
		rl.tier = tierTech
	}
	switch x := g.r.Float64(); {
	case x < 0.48:
		rl.profile = profHealthy
	case x < 0.70:
		rl.profile = profCaution
	case x < 0.82:
		rl.profile = profAtRisk
	case x < 0.94:
		rl.profile = profOnboarding
	default:
		rl.profile = profChurned
	}
	rl.currency = "JPY"
	if g.chance(0.4) {
		rl.currency = "USD"
	}
	yearly := map[string]float64{tierHigh: 0.7, tierLow: 0.45, tierTech: 0.15}[rl.tier]
	rl.interval = "month"
	if g.chance(yearly) {
		rl.interval = "year"
	}
	rl.tiered = rl.tier == tierLow && rl.currency == "USD" && rl.interval == "month" && g.chance(0.3)
	switch rl.profile {
	case profChurned:
		rl.feature = featChurn
	case profAtRisk:
		switch x := g.r.Float64(); {
		case x < 0.4:
			rl.feature = featFailedOpen
		case x < 0.65:
			rl.feature = featFailedPaid
		}
	case profOnboarding:
		if g.chance(0.35) {
			rl.feature = featTrial
		}
	default:
		switch x := g.r.Float64(); {
		case x < 0.05:
			rl.feature = featReactivated
		case x < 0.3:
			rl.feature = featUpgrade
		case rl.profile == profCaution && x < 0.45:
			rl.feature = featDowngrade
		case rl.profile == profCaution && x < 0.55:
			rl.feature = featCancelEnd
		case x < 0.33:
			rl.feature = featFailedPaid
		}
	}
	return rl
}

// arrRange is the planned ARR range of a tier, in yen.
var arrRange = map[string][2]float64{
	tierHigh: {13_000_000, 40_000_000},
	tierLow:  {1_400_000, 8_000_000},
	tierTech: {150_000, 750_000},
}

// planOf is the plan a tier buys.
var planOf = map[string]string{tierHigh: "enterprise", tierLow: "business", tierTech: "starter"}

// arrJPY is the annual amount of qty seats of p in yen at FX.
// Worked example: Business JPY monthly ¥6,000 x 20 seats = ¥1,440,000.
func arrJPY(p *price, qty int64) float64 {
	a := float64(p.Amount(qty))
	if p.Interval == "month" {
		a *= 12
	}
	if p.Currency == "USD" {
		a = a / 100 * FX
	}
	return a
}

// seatsFor returns the seats of p whose ARR is nearest target (yen) while
// staying inside the tier's range.
func seatsFor(p *price, target float64, rng [2]float64) int64 {
	per := arrJPY(p, 1)
	q := max(1, int64(math.Round(target/per)))
	for q > 1 && arrJPY(p, q) >= rng[1] {
		q--
	}
	for arrJPY(p, q) < rng[0] {
		q++
	}
	return q
}

// account builds an account, its customer, subscriptions, invoices and deals.
func (g *gen) account(i int, crm string, rl role, taken map[string]bool) *account {
	w := g.w
	a := &account{idx: i, CRM: crm, Currency: rl.currency, Tier: rl.tier, Profile: rl.profile}
	a.Name = g.companyName(taken)
	a.Domain = domainOf(a.Name, a.Currency)
	a.Industry = industries[g.intn(len(industries))]
	a.Owner = w.owners[g.intn(len(w.owners))]
	a.Employees = map[string]int{tierHigh: g.between(500, 5000), tierLow: g.between(50, 600), tierTech: g.between(5, 80)}[rl.tier]

	system := sysStripe
	if crm == sysHubSpot {
		system = sysChargebee
	}
	c := &customer{System: system, Kind: kindLinked, Account: a, Name: a.Name, Currency: a.Currency}
	c.First, c.Last = firstNames[g.intn(len(firstNames))], lastNames[g.intn(len(lastNames))]
	switch g.intn(3) {
	case 0:
		c.Email = "billing@" + a.Domain
	case 1:
		c.Email = "accounting@" + a.Domain
	default:
		c.Email = strings.ToLower(c.First+"."+c.Last) + "@" + a.Domain
	}
	if system == sysStripe {
		c.ID = g.id("cus_", 14)
		c.InvPrefix = strings.ToUpper(g.id("", 8))
	} else {
		c.ID = g.id("", 16)
	}
	a.Customer = c
	w.customers = append(w.customers, c)

	// Link mode: metadata (most), the CRM field, or only the e-mail domain.
	scenario := rl.feature == featScnFailed || rl.feature == featScnCancel || rl.feature == featScnDowngrade
	switch x := g.r.Float64(); {
	case scenario || crm == sysHubSpot && x < 0.85 || crm == sysSalesforce && x < 0.75:
		c.MetaOf = a
		if crm == sysSalesforce && g.chance(0.3) {
			a.StripeField = c.ID
		}
	case crm == sysSalesforce && x < 0.87:
		a.StripeField = c.ID
	}

	// The main subscription.
	p := w.priceFor(system, planOf[rl.tier], rl.currency, rl.interval)
	if rl.tiered {
		p = w.priceFor(sysStripe, "volume", "USD", "month")
	}
	if rl.feature == featPriceUpgrade {
		p = w.priceFor(system, "enterprise", rl.currency, rl.interval)
	}
	rng := arrRange[rl.tier]
	qty := seatsFor(p, rng[0]+g.r.Float64()*(rng[1]-rng[0])*0.8, rng)
	if rl.feature == featScnDowngrade && qty < 4 {
		qty = 4
	}
	s := g.subscription(c, p, qty, rl)
	c.Subs = append(c.Subs, s)
	if rl.feature == featReactivated {
		back := s.EndedAt.AddDate(0, 0, g.between(30, 90))
		s2 := g.newSub(c, p, qty, back, time.Time{})
		s2.Reactivation = true
		g.bill(s2)
		c.Subs = append(c.Subs, s2)
	}
	for range w.opts.SubsPerAccount - 1 {
		extra := role{tier: rl.tier, profile: rl.profile, interval: rl.interval, currency: rl.currency}
		c.Subs = append(c.Subs, g.subscription(c, p, max(1, qty/2), extra))
	}
	first := c.Subs[0].Created // the earliest: a second subscription may start before the main one
	for _, s := range c.Subs {
		if s.Created.Before(first) {
			first = s.Created
		}
	}
	c.Created = first.Add(-time.Duration(g.between(1, 72)) * time.Hour)
	a.Created = c.Subs[0].Start.AddDate(0, 0, -g.between(20, 120))
	if a.Created.Before(w.start.AddDate(0, -3, 0)) {
		a.Created = w.start.AddDate(0, -3, 0)
	}
	a.Modified = g.timeIn(a.Created, w.now)
	g.deals(a)
	return a
}

// newSub creates a running subscription starting at start (trial until
// trialEnd when non-zero).
func (g *gen) newSub(c *customer, p *price, qty int64, start, trialEnd time.Time) *sub {
	s := &sub{Customer: c, Currency: p.Currency, Interval: p.Interval, Start: start, Created: start, TrialEnd: trialEnd,
		Phases: []phase{{From: start, Price: p, Qty: qty}}}
	if c.System == sysStripe {
		s.ID, s.ItemID, s.DiscountID = g.id("sub_", 24), g.id("si_", 14), g.id("di_", 24)
	} else {
		s.ID, s.ItemID, s.DiscountID = g.id("", 16), "", ""
	}
	switch x := g.r.Float64(); {
	case x < 0.15:
		s.Coupon = g.w.couponFor(c.System, true, "")
	case x < 0.2:
		s.Coupon = g.w.couponFor(c.System, false, p.Currency)
	}
	return s
}

// subscription plans the main subscription of an account by its role.
func (g *gen) subscription(c *customer, p *price, qty int64, rl role) *sub {
	w := g.w
	now, hist := w.now, w.start
	day := 24 * time.Hour
	var start, trialEnd time.Time
	switch rl.feature {
	case featTrial:
		start = g.timeIn(now.Add(-12*day), now.Add(-day))
		trialEnd = start.Add(14 * day)
	case featChurn:
		start = g.timeIn(hist.Add(day), now.AddDate(0, -9, 0))
	case featReactivated:
		start = g.timeIn(hist.Add(day), now.AddDate(0, -12, 0))
	case featPriceUpgrade:
		start = g.timeIn(hist.Add(day), now.AddDate(0, -12, 0).Add(-day))
	case featScnFailed:
		base := now.Add(-2 * time.Hour)
		for base.Day() > 28 {
			base = base.Add(-day)
		}
		start = base.AddDate(0, -g.between(4, 12), 0)
	default:
		if rl.profile == profOnboarding {
			start = g.timeIn(now.Add(-75*day), now.Add(-5*day))
			if g.chance(0.3) { // a trial that converted
				trialEnd = start.Add(14 * day)
				if !trialEnd.Before(now) {
					trialEnd = time.Time{}
				}
			}
		} else {
			start = g.timeIn(hist.Add(day), now.Add(-100*day))
		}
	}
	s := g.newSub(c, p, qty, start, trialEnd)
	switch {
	case rl.coupon == "percent":
		s.Coupon = w.couponFor(c.System, true, "")
	case rl.coupon == "forever":
		s.Coupon = w.couponFor(c.System, false, p.Currency)
	case rl.feature == featTrial || rl.feature == featScnFailed || rl.feature == featScnDowngrade || rl.feature == featScnCancel:
		s.Coupon = nil
	}
	bounds := periods(s.anchor(), s.Interval, now)
	n := len(bounds)
	switch rl.feature {
	case featUpgrade, featScnDowngrade, featDowngrade:
		if n >= 3 {
			at := bounds[g.between(1, n-2)].Start
			if s.Interval == "year" {
				at = bounds[1].Start
			}
			q0 := max(1, int64(float64(qty)*(0.55+0.25*g.r.Float64())))
			if rl.feature == featDowngrade {
				q0 = int64(float64(qty)*(1.3+0.3*g.r.Float64())) + 1
			}
			s.Phases = []phase{{From: start, Price: p, Qty: q0}, {From: at, Price: p, Qty: qty}}
		} else if n >= 2 && s.Interval == "year" {
			s.Phases = []phase{{From: start, Price: p, Qty: max(1, qty*2/3)}, {From: bounds[1].Start, Price: p, Qty: qty}}
		}
	case featPriceUpgrade:
		if n >= 2 {
			p0 := w.priceFor(c.System, "business", p.Currency, p.Interval)
			s.Phases = []phase{{From: start, Price: p0, Qty: qty}, {From: bounds[1].Start, Price: p, Qty: qty}}
		}
	case featChurn, featReactivated:
		// Ends at a renewal at least 3 periods in and 20 days before now,
		// or (a third of the time) immediately mid-period.
		cutoff := now.Add(-20 * day)
		if rl.feature == featReactivated {
			cutoff = now.Add(-150 * day) // room to come back
		}
		last := 3
		for i := 3; i < n; i++ {
			if bounds[i].Start.Before(cutoff) {
				last = i
			}
		}
		if last >= n {
			last = n - 1
		}
		k := g.between(min(3, last), last)
		if g.chance(0.33) && k > 1 {
			s.EndedAt = g.timeIn(bounds[k-1].Start.Add(day), bounds[k-1].End.Add(-day))
			s.CanceledAt = s.EndedAt
		} else {
			s.EndedAt = bounds[k].Start
			s.CanceledAt = s.EndedAt.Add(-time.Duration(g.between(2, 20)) * day)
		}
	case featCancelEnd:
		cur := bounds[n-1]
		s.EndedAt = cur.End
		s.CanceledAt = g.timeIn(maxTime(cur.Start, now.Add(-10*day)), now)
	}
	g.bill(s)
	g.payments(s, rl)
	return s
}

// anchor is when billing starts: the trial end, or the start.
func (s *sub) anchor() time.Time {
	if !s.TrialEnd.IsZero() {
		return s.TrialEnd
	}
	return s.Start
}

// periods lists the billing periods from anchor whose start is not after
// until. Months keep the anchor's day, clamped to the month's end, as
// Stripe's billing cycle anchor does.
func periods(anchor time.Time, interval string, until time.Time) []period {
	var out []period
	for i := 0; ; i++ {
		ps := addPeriods(anchor, interval, i)
		if ps.After(until) {
			return out
		}
		out = append(out, period{ps, addPeriods(anchor, interval, i+1)})
	}
}

func addPeriods(anchor time.Time, interval string, n int) time.Time {
	months := n
	if interval == "year" {
		months = 12 * n
	}
	y, m, d := anchor.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), anchor.Hour(), anchor.Minute(), anchor.Second(), 0, time.UTC)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// phaseAt is the phase in force at t.
func (s *sub) phaseAt(t time.Time) phase {
	ph := s.Phases[0]
	for _, p := range s.Phases[1:] {
		if !p.From.After(t) {
			ph = p
		}
	}
	return ph
}

// bill creates the periods and one paid invoice per period.
func (g *gen) bill(s *sub) {
	until := g.w.now
	for _, p := range periods(s.anchor(), s.Interval, until) {
		if !s.EndedAt.IsZero() && !p.Start.Before(s.EndedAt) {
			break
		}
		s.Periods = append(s.Periods, &period{p.Start, p.End})
		ph := s.phaseAt(p.Start)
		in := &invoice{Sub: s, Created: p.Start, Period: p, Price: ph.Price, Qty: ph.Qty, Amount: ph.Price.Amount(ph.Qty)}
		if c := s.Coupon; c != nil {
			if c.Percent > 0 && p.Start.Before(s.Start.AddDate(0, c.Months, 0)) {
				in.Discount = int64(math.Round(float64(in.Amount) * c.Percent / 100))
			} else if c.Amount > 0 {
				in.Discount = min(c.Amount, in.Amount)
			}
		}
		in.PaidAt = p.Start.Add(time.Duration(g.between(5, 90)) * time.Minute)
		if in.PaidAt.After(until) {
			in.PaidAt = until
		}
		cus := s.Customer
		if cus.System == sysStripe {
			in.ID, in.LineID = g.id("in_", 24), g.id("il_", 24)
			in.Number = fmt.Sprintf("%s-%04d", cus.InvPrefix, g.w.invoiceCount(cus)+1)
		} else {
			g.w.cbInvoices++
			in.ID, in.Number = fmt.Sprint(10000+g.w.cbInvoices), fmt.Sprint(10000+g.w.cbInvoices)
			in.LineID, in.TxnID = g.id("li_", 16), g.id("txn_", 16)
		}
		s.Invoices = append(s.Invoices, in)
	}
}

func (w *World) invoiceCount(c *customer) int {
	n := 0
	for _, s := range c.Subs {
		n += len(s.Invoices)
	}
	return n
}

// payments adds failed attempts by role: a past-due latest invoice, a
// recovered recent failure, an occasional old failure, or the demo's open
// invoice.
func (g *gen) payments(s *sub, rl role) {
	now := g.w.now
	day := 24 * time.Hour
	n := len(s.Invoices)
	if n == 0 {
		return
	}
	fail := func(in *invoice, attempts int, recover bool) {
		in.Failures = nil
		for k := range attempts {
			at := in.Created.Add(time.Hour + time.Duration(k)*3*day)
			if at.After(now) {
				break
			}
			in.Failures = append(in.Failures, at)
		}
		in.PaidAt = time.Time{}
		if recover {
			in.PaidAt = in.Created.Add(time.Duration(3*attempts)*day + 2*time.Hour)
		}
		if s.Customer.System == sysChargebee {
			for range in.Failures {
				in.FailTxnIDs = append(in.FailTxnIDs, g.id("txn_", 16))
			}
		}
	}
	switch rl.feature {
	case featScnFailed:
		in := s.Invoices[n-1]
		in.PaidAt, in.Scenario = time.Time{}, true
		g.w.scenarios.failed = in
	case featFailedOpen:
		in := s.Invoices[n-1]
		if in.Created.After(now.Add(-2*time.Hour)) && n > 1 {
			in = s.Invoices[n-2]
		}
		fail(in, g.between(2, 3), false)
	case featFailedPaid:
		for i := n - 1; i >= 0; i-- {
			in := s.Invoices[i]
			if in.Created.Before(now.Add(-8*day)) && in.Created.After(now.Add(-80*day)) {
				fail(in, g.between(1, 2), true)
				break
			}
		}
	default:
		for _, in := range s.Invoices[:max(0, n-3)] {
			if g.chance(0.02) {
				fail(in, 1, true)
			}
		}
	}
	switch rl.feature {
	case featScnDowngrade:
		g.w.scenarios.downgrade = s
	case featScnCancel:
		g.w.scenarios.cancel = s
	}
}

// unmatched adds customers no rule can match: no metadata, no CRM field,
// a free-mail address. Each has a small monthly subscription.
func (g *gen) unmatched() {
	w := g.w
	n := max(2, len(w.accounts)/60)
	for i := range n {
		system := sysStripe
		if i%2 == 1 {
			system = sysChargebee
		}
		first, last := firstNames[g.intn(len(firstNames))], lastNames[g.intn(len(lastNames))]
		c := &customer{System: system, Kind: kindUnmatched, Name: first + " " + last, First: first, Last: last,
			Email: strings.ToLower(first+last) + fmt.Sprint(g.between(1, 99)) + "@" + freeMail[g.intn(len(freeMail))], Currency: "JPY"}
		if system == sysStripe {
			c.ID, c.InvPrefix = g.id("cus_", 14), strings.ToUpper(g.id("", 8))
		} else {
			c.ID = g.id("", 16)
		}
		p := w.priceFor(system, "starter", "JPY", "month")
		s := g.newSub(c, p, int64(g.between(1, 5)), g.timeIn(w.start.Add(24*time.Hour), w.now.AddDate(0, -2, 0)), time.Time{})
		s.Coupon = nil
		g.bill(s)
		c.Subs = []*sub{s}
		c.Created = s.Created.Add(-time.Hour)
		w.customers = append(w.customers, c)
	}
}

// conflicts adds two Stripe customers that matching must report rather
// than guess: a duplicate customer whose metadata names account X while
// account Y's Stripe_Customer_Id__c names it too, and a customer without
// metadata that two accounts name in Stripe_Customer_Id__c (a copy-paste
// error). The accounts keep their own customers, linked by metadata (a
// field naming their own customer is overwritten).
func (g *gen) conflicts() {
	w := g.w
	var free []*account
	for _, a := range w.accounts {
		scenario := false
		for _, s := range []*sub{w.scenarios.downgrade, w.scenarios.cancel} {
			scenario = scenario || s != nil && s.Customer.Account == a
		}
		if f := w.scenarios.failed; f != nil && f.Sub.Customer.Account == a {
			scenario = true
		}
		if a.CRM == sysSalesforce && a.Customer.MetaOf == a && !scenario {
			free = append(free, a)
		}
	}
	if len(free) < 4 {
		return
	}
	g.r.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	for i, pair := range [][2]*account{{free[0], free[1]}, {free[2], free[3]}} {
		x, y := pair[0], pair[1]
		c := &customer{ID: g.id("cus_", 14), System: sysStripe, Kind: kindConflict, Name: x.Name, Currency: x.Currency,
			InvPrefix: strings.ToUpper(g.id("", 8)), Email: "finance@" + x.Domain}
		if i == 0 {
			c.MetaOf = x // metadata says X, Y's field says this customer
		} else {
			x.StripeField = c.ID // two fields name the same customer
			c.Email = "it-billing@" + x.Domain
		}
		y.StripeField = c.ID
		p := w.priceFor(sysStripe, "starter", x.Currency, "month")
		s := g.newSub(c, p, int64(g.between(2, 6)), g.timeIn(w.now.AddDate(0, -6, 0), w.now.AddDate(0, -1, 0)), time.Time{})
		s.Coupon = nil
		g.bill(s)
		c.Subs = []*sub{s}
		c.Created = s.Created.Add(-time.Hour)
		w.customers = append(w.customers, c)
	}
}
