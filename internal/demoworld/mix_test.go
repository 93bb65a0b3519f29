package demoworld

import (
	"testing"
	"time"
)

// tierOf is the touch tier of an annual amount in yen (the scoring
// defaults: high >= 10,000,000, low >= 1,000,000).
func tierOf(arr float64) string {
	switch {
	case arr >= 10_000_000:
		return tierHigh
	case arr >= 1_000_000:
		return tierLow
	}
	return tierTech
}

// runningARR is the yen ARR of an account's running subscriptions at now,
// after the discounts in force (a forever amount-off per period).
func runningARR(w *World, a *account) (float64, bool) {
	var arr float64
	running := false
	for _, s := range a.Customer.Subs {
		if !s.EndedAt.IsZero() && !s.EndedAt.After(w.now) {
			continue
		}
		running = true
		arr += arrJPY(s.phaseAt(w.now).Price, s.phaseAt(w.now).Qty)
	}
	return arr, running
}

func TestMixCoversEveryCase(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"smallest full cast", Options{Accounts: 24, Seed: 1, Now: testNow}},
		{"default size", Options{Accounts: 300, Seed: 1, Now: testNow}},
		{"default size, other seed and day", Options{Accounts: 300, Seed: 42, Now: time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)}},
		{"large", Options{Accounts: 1000, Seed: 9, Now: testNow}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := Generate(tc.opts)
			seen := map[string]int{}
			for _, a := range w.accounts {
				arr, running := runningARR(w, a)
				if running {
					seen["tier "+tierOf(arr)]++
					seen["currency "+a.Currency]++
					if tierOf(arr) != a.Tier {
						t.Errorf("%s: ARR %.0f is tier %s, planned %s", a.Name, arr, tierOf(arr), a.Tier)
					}
				}
				seen["crm "+a.CRM]++
			}
			for _, c := range w.customers {
				seen["kind "+c.Kind]++
				for _, s := range c.Subs {
					seen["interval "+s.Interval]++
					if s.Coupon != nil && s.Coupon.Months > 0 {
						seen["coupon repeating"]++
					} else if s.Coupon != nil {
						seen["coupon forever"]++
					}
					for _, ph := range s.Phases {
						if len(ph.Price.Tiers) > 0 {
							seen["tiered price"]++
						}
					}
					if len(s.Phases) > 1 && s.Phases[1].Price != s.Phases[0].Price {
						seen["price upgrade"]++
					}
					checkInvoices(t, w, s)
				}
			}
			sum := w.Summary()
			for k, v := range map[string]int{"churned": sum.Churned, "reactivation": sum.Reactivations, "downgrade": sum.Downgrades,
				"upgrade": sum.Upgrades, "failed payment": sum.FailedPayments, "past due": sum.PastDue, "trial": sum.Trials,
				"cancel at period end": sum.CancelAtPeriodEnd, "unmatched": sum.UnmatchedCustomers, "conflict": sum.ConflictingCustomers} {
				seen[k] = v
			}
			for _, want := range []string{"tier high", "tier low", "tier tech", "currency JPY", "currency USD", "crm salesforce", "crm hubspot",
				"kind linked", "kind unmatched", "kind conflict", "interval month", "interval year", "coupon repeating", "coupon forever",
				"tiered price", "price upgrade", "churned", "reactivation", "downgrade", "upgrade", "failed payment", "past due", "trial",
				"cancel at period end", "unmatched", "conflict"} {
				if seen[want] == 0 {
					t.Errorf("no %s in the world", want)
				}
			}
			if tc.opts.Accounts == 300 {
				if s := sum.Invoices; s < 1500 || s > 6000 {
					t.Errorf("%d invoices, want a sane 1,500..6,000", s)
				}
				if s := sum.Subscriptions; s < 300 || s > 400 {
					t.Errorf("%d subscriptions, want 300..400", s)
				}
			}
		})
	}
}

// checkInvoices asserts a subscription's history is consistent: one
// invoice per period, periods back to back, nothing after its end or now,
// payments after the failures.
func checkInvoices(t *testing.T, w *World, s *sub) {
	t.Helper()
	if len(s.Invoices) != len(s.Periods) {
		t.Errorf("%s: %d invoices for %d periods", s.ID, len(s.Invoices), len(s.Periods))
		return
	}
	for i, in := range s.Invoices {
		p := s.Periods[i]
		if in.Period != *p || in.Created != p.Start || p.Start.After(w.now) || in.Total() < 0 {
			t.Errorf("%s invoice %d: %+v for period %+v", s.ID, i, in, *p)
		}
		if i > 0 && !s.Periods[i-1].End.Equal(p.Start) {
			t.Errorf("%s: gap between periods %d and %d", s.ID, i-1, i)
		}
		if !s.EndedAt.IsZero() && !p.Start.Before(s.EndedAt) {
			t.Errorf("%s: period %d starts after the end %v", s.ID, i, s.EndedAt)
		}
		for _, f := range in.Failures {
			if f.After(w.now) || !in.PaidAt.IsZero() && !in.PaidAt.After(f) {
				t.Errorf("%s invoice %d: failure %v, paid %v, now %v", s.ID, i, f, in.PaidAt, w.now)
			}
		}
		if in.PaidAt.After(w.now) {
			t.Errorf("%s invoice %d: paid in the future", s.ID, i)
		}
	}
}

func TestSignalsFollowTheProfiles(t *testing.T) {
	w := Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
	load(t, w)
	sigs := w.Signals()
	byKey := map[string]*account{}
	for _, a := range w.accounts {
		byKey[a.CRM+"/"+a.crmID] = a
	}
	logins := map[string][]float64{} // profile -> 28-day login sums
	perAccount := map[*account]float64{}
	for _, s := range sigs {
		a := byKey[s.Account.Key()]
		if a == nil {
			t.Fatalf("signal for unknown account %s", s.Account.Key())
		}
		if s.Time.After(w.now) {
			t.Fatalf("signal in the future: %+v", s)
		}
		if s.Metric == "logins" && w.now.Sub(s.Time) <= 28*24*time.Hour {
			perAccount[a] += s.Value
		}
	}
	for _, a := range w.accounts {
		arr, running := runningARR(w, a)
		_ = arr
		if running && a.Profile != profOnboarding {
			logins[a.Profile] = append(logins[a.Profile], perAccount[a])
		}
	}
	mean := func(xs []float64) float64 {
		var t float64
		for _, x := range xs {
			t += x
		}
		return t / float64(max(1, len(xs)))
	}
	h, c, r := mean(logins[profHealthy]), mean(logins[profCaution]), mean(logins[profAtRisk])
	if !(h >= 12 && h > c && c > r && r < 3) {
		t.Errorf("mean 28-day logins healthy %.1f, caution %.1f, at risk %.1f: want healthy >= 12 > caution > at risk < 3", h, c, r)
	}
	if n := len(sigs); n < 30*len(w.accounts)/2 {
		t.Errorf("only %d signals for %d accounts", n, len(w.accounts))
	}
}
