package scoring

import (
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// The playbook KPIs beyond retention and onboarding, as target metrics.
// Rates are fractions; each is unknown (null in the report, never 0) when
// its denominator is empty.
const (
	// KPIUpsellRate: customers at the start of the period with an
	// expansion of a product they already had (its MRR higher at the end of
	// the period than at the start), over customers at the start. Worked
	// example: 50 customers on 2025-10-31; 9 of them pay more for a product
	// they had on 2026-09-30 (more seats, a higher tier): 9 / 50 = 0.18.
	KPIUpsellRate = "upsell_rate"
	// KPICrossSellRate: customers at the start of the period who have a
	// product at its end that they did not have at its start, over
	// customers at the start. Worked example: 4 of the same 50 added a
	// second product: 4 / 50 = 0.08.
	KPICrossSellRate = "cross_sell_rate"
	// KPIFirstLoginRate: customers whose first subscription started in the
	// period (at least 7 days before today) with a "logins" signal above 0
	// within 7 days of the start, over those customers. Worked example: 20
	// new customers, 19 logged in within their first week: 0.95.
	KPIFirstLoginRate = "first_login_rate"
	// KPIHealthScore: the mean health score of the paying customers today
	// (0-100). Worked example: scores 90, 80 and 55: 75.
	KPIHealthScore = "health_score"
	// KPIHealthyShare: the share of paying customers in the healthy band
	// today. Worked example: the same three with healthy at 80: 2 / 3.
	KPIHealthyShare = "healthy_share"
	// KPIChurnSignalDetection is the share of churners flagged at risk
	// between the horizon and the lead time before their churn, from the
	// latest `healthsync backtest` (live or replayed); see scoring/backtest.
	// Worked example: 20 churners in the period, 17 flagged 30 to 180 days
	// before they left: 0.85.
	KPIChurnSignalDetection = "churn_signal_detection"
)

// firstLoginDays is the window of KPIFirstLoginRate.
const firstLoginDays = 7

// PlaybookKPIs are the playbook's KPIs of a period; a value is meaningful
// only when its count is above zero.
type PlaybookKPIs struct {
	CustomersAtStart int     `json:"customers_at_start"`
	UpsellRate       float64 `json:"upsell_rate"`
	CrossSellRate    float64 `json:"cross_sell_rate"`
	NewCustomers     int     `json:"new_customers"`
	FirstLoginRate   float64 `json:"first_login_rate"`
	Paying           int     `json:"paying"`
	HealthScore      float64 `json:"health_score"`
	HealthyShare     float64 `json:"healthy_share"`
}

func (k *PlaybookKPIs) value(metric string) (float64, bool) {
	switch metric {
	case KPIUpsellRate:
		return k.UpsellRate, k.CustomersAtStart > 0
	case KPICrossSellRate:
		return k.CrossSellRate, k.CustomersAtStart > 0
	case KPIFirstLoginRate:
		return k.FirstLoginRate, k.NewCustomers > 0
	case KPIHealthScore:
		return k.HealthScore, k.Paying > 0
	case KPIHealthyShare:
		return k.HealthyShare, k.Paying > 0
	}
	return 0, false
}

// playbookKPIs computes the KPIs over months fi..ti of the accounts' series.
func playbookKPIs(accounts []AccountResult, fi, ti int, from, to Month) PlaybookKPIs {
	var k PlaybookKPIs
	var upsell, cross, logged int
	var scores float64
	var healthy int
	for ai := range accounts {
		ar := &accounts[ai]
		if len(ar.Months) <= ti {
			continue
		}
		if ar.MRR > 0 {
			k.Paying++
			scores += ar.Health.Score
			if ar.Health.Band == BandHealthy {
				healthy++
			}
		}
		start := ar.PrevMRR
		if fi > 0 {
			start = ar.Months[fi-1].MRR
		}
		if start > 0 {
			k.CustomersAtStart++
			up, add := false, false
			if len(ar.Products) == 0 {
				up = ar.Months[ti].MRR > start
			}
			for _, p := range ar.Products {
				s, e := p.MRR[fi], p.MRR[ti+1] // MRR[i+1] is Months[i]
				if s > 0 && e > s {
					up = true
				}
				if s == 0 && e > 0 {
					add = true
				}
			}
			if up {
				upsell++
			}
			if add {
				cross++
			}
		}
		if !ar.Start.IsZero() && !ar.Start.Before(from.Start()) && ar.Start.Before(to.End()) &&
			!ar.Start.After(ar.AsOf.Add(-firstLoginDays*day)) {
			k.NewCustomers++
			if !ar.FirstLogin.IsZero() && !ar.FirstLogin.After(ar.Start.Add(firstLoginDays*day)) {
				logged++
			}
		}
	}
	if k.CustomersAtStart > 0 {
		k.UpsellRate = float64(upsell) / float64(k.CustomersAtStart)
		k.CrossSellRate = float64(cross) / float64(k.CustomersAtStart)
	}
	if k.NewCustomers > 0 {
		k.FirstLoginRate = float64(logged) / float64(k.NewCustomers)
	}
	if k.Paying > 0 {
		k.HealthScore = scores / float64(k.Paying)
		k.HealthyShare = float64(healthy) / float64(k.Paying)
	}
	return k
}

// ProductMRR is one product's MRR (reporting minor units) at the instants
// of the account's MRR series: MRR[0] is the month before Months[0], then
// one value per month.
type ProductMRR struct {
	Product string  `json:"product"`
	MRR     []int64 `json:"mrr"`
}

// productSeries splits the MRR series by product (the item's product, else
// its price) for accounts with more than one product; nil otherwise (the
// account's own series is its one product's). At each instant a
// subscription counts from its invoice lines while invoice history applies
// (before its current period), else from its current items — the rule of
// the MRR history, less discounts and prorations, which do not change what
// a customer buys.
func productSeries(in *AccountInput, instants []time.Time, m *MetricsSettings, conv *converter) []ProductMRR {
	if !severalProducts(in) {
		return nil // the common case, without allocating
	}
	itemProduct := map[string]string{}
	products := map[string]int{}
	var names []string
	add := func(p string) {
		if _, ok := products[p]; !ok {
			products[p] = len(names)
			names = append(names, p)
		}
	}
	for i := range in.Subscriptions {
		for _, it := range in.Subscriptions[i].Items {
			p := it.ProductID
			if p == "" {
				p = it.PriceID
			}
			if p == "" {
				continue
			}
			itemProduct[it.ID] = p
			if it.PriceID != "" {
				itemProduct["price:"+it.PriceID] = p
			}
			add(p)
		}
	}
	lineProduct := func(l *record.InvoiceLine) string {
		if p, ok := itemProduct[l.SubscriptionItemID]; ok {
			return p
		}
		if p, ok := itemProduct["price:"+l.PriceID]; ok {
			return p
		}
		return l.PriceID
	}
	for i := range in.Invoices {
		for j := range in.Invoices[i].Lines {
			if p := lineProduct(&in.Invoices[i].Lines[j]); p != "" {
				add(p)
			}
		}
	}
	if len(names) < 2 {
		return nil
	}
	out := make([]ProductMRR, len(names))
	for i, n := range names {
		out[i] = ProductMRR{Product: n, MRR: make([]int64, len(instants))}
	}
	vals := make([]float64, len(names))
	for k, t := range instants {
		clear(vals)
		for i := range in.Subscriptions {
			sub := &in.Subscriptions[i]
			fromLines := false
			if !sub.CurrentPeriodStart.IsZero() && t.Before(sub.CurrentPeriodStart) {
				for ii := range in.Invoices {
					inv := &in.Invoices[ii]
					if inv.Deleted || inv.Status == record.InvoiceVoid || inv.Status == record.InvoiceDraft {
						continue
					}
					for j := range inv.Lines {
						l := &inv.Lines[j]
						sid := l.SubscriptionID
						if sid == "" {
							sid = inv.SubscriptionID
						}
						if sid != sub.ID || l.Proration || (!l.Recurring && l.Interval == "") {
							continue
						}
						fromLines = true
						if t.Before(l.PeriodStart) || !t.Before(l.PeriodEnd) {
							continue
						}
						cur := l.Currency
						if cur == "" {
							cur = inv.Currency
						}
						mult, ok := conv.multiplier(cur)
						p, known := products[lineProduct(l)]
						if !ok || !known {
							continue
						}
						num, den := monthlyFactor(l.Interval, l.IntervalCount)
						vals[p] += float64(l.Amount) * num / den * mult
					}
				}
			}
			if fromLines || excludedAt(sub, t, m) != counts {
				continue
			}
			for _, it := range sub.Items {
				p, known := products[itemProduct[it.ID]]
				if !known || (!it.Recurring && it.Interval == "") {
					continue
				}
				cur := it.Currency
				if cur == "" {
					cur = sub.Currency
				}
				mult, ok := conv.multiplier(cur)
				if !ok {
					continue
				}
				q := it.Quantity
				if it.UsageType == record.UsageMetered {
					q = it.LastPeriodUsage
				}
				num, den := monthlyFactor(it.Interval, it.IntervalCount)
				vals[p] += float64(ItemAmount(&it, q)) * num / den * mult
			}
		}
		for p := range names {
			out[p].MRR[k] = roundInt(vals[p])
		}
	}
	return out
}

// severalProducts reports whether the subscriptions' items name more than
// one product (or price, when the product is not given).
func severalProducts(in *AccountInput) bool {
	first := ""
	for i := range in.Subscriptions {
		for j := range in.Subscriptions[i].Items {
			it := &in.Subscriptions[i].Items[j]
			p := it.ProductID
			if p == "" {
				p = it.PriceID
			}
			switch {
			case p == "":
			case first == "":
				first = p
			case p != first:
				return true
			}
		}
	}
	return false
}

// firstLogin is the time of the first "logins" signal above 0 at or after
// start (zero: none, or no start).
func (x *signalIndex) firstLogin(start time.Time) time.Time {
	m := x.lookup("logins")
	if m < 0 || start.IsZero() || !x.seen[m] {
		return time.Time{}
	}
	from := start.UnixNano()
	best := int64(0)
	for _, p := range x.pts[x.off[m]:x.off[m+1]] {
		if p.v > 0 && p.t >= from && (best == 0 || p.t < best) {
			best = p.t
		}
	}
	if best == 0 {
		return time.Time{}
	}
	return time.Unix(0, best).UTC()
}
