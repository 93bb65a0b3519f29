package demoworld

import (
	"github.com/healthsync/healthsync/connectors/record"
)

// Signals returns the planned product usage keyed by CRM account: System
// "salesforce" or "hubspot" and the ID the CRM fake assigned, so
// LoadSalesforce and LoadHubSpot must run first (accounts not loaded yet are
// left out). Healthy accounts log in most days with many active users and
// features; caution ones less; at-risk ones barely, with open tickets and a
// low NPS; onboarding ones from their start, half of them stalled. The
// order is by account, then time.
func (w *World) Signals() []record.Signal {
	var out []record.Signal
	for _, a := range w.accounts {
		if a.crmID == "" {
			continue
		}
		ref := record.Ref{System: a.CRM, ID: a.crmID}
		for _, s := range a.Signals {
			out = append(out, record.Signal{Account: ref, Metric: s.Metric, Time: s.Time, Value: s.Value})
		}
	}
	return out
}

// Summary is what the demo prints about the world. Counts are numbers; ID
// lists and scenario IDs are strings (CRM IDs are empty until loaded).
type Summary struct {
	SalesforceAccounts int `json:"salesforce_accounts"`
	HubSpotCompanies   int `json:"hubspot_companies"`
	StripeCustomers    int `json:"stripe_customers"`
	ChargebeeCustomers int `json:"chargebee_customers"`
	Subscriptions      int `json:"subscriptions"`
	Invoices           int `json:"invoices"`
	// FailedPayments counts invoices with at least one failed payment
	// attempt; PastDue those still unpaid.
	FailedPayments int `json:"failed_payments"`
	PastDue        int `json:"past_due"`
	// Churned counts customers whose every subscription has ended.
	Churned           int `json:"churned"`
	Reactivations     int `json:"reactivations"`
	Upgrades          int `json:"upgrades"`
	Downgrades        int `json:"downgrades"`
	Trials            int `json:"trials"`
	CancelAtPeriodEnd int `json:"cancel_at_period_end"`
	Signals           int `json:"signals"`
	// Accounts per planned touch tier (ARR at FX 150 JPY/USD).
	TierHigh int `json:"tier_high"`
	TierLow  int `json:"tier_low"`
	TierTech int `json:"tier_tech"`
	// Unmatched and Conflicting are billing customer keys ("stripe/cus_...").
	UnmatchedCustomers   int       `json:"unmatched_customers"`
	ConflictingCustomers int       `json:"conflicting_customers"`
	Unmatched            []string  `json:"unmatched_ids"`
	Conflicting          []string  `json:"conflicting_ids"`
	Scenarios            Scenarios `json:"scenarios"`
}

// Scenarios are the objects the demo's webhook scenarios mutate, all on
// Stripe customers linked by metadata to Salesforce accounts.
type Scenarios struct {
	// A customer, its subscription and its open, unattempted invoice to
	// fail a payment on (stripetest FailInvoicePayment).
	FailedPaymentAccount      string `json:"failed_payment_account"`
	FailedPaymentCustomer     string `json:"failed_payment_customer"`
	FailedPaymentSubscription string `json:"failed_payment_subscription"`
	FailedPaymentInvoice      string `json:"failed_payment_invoice"`
	// An active subscription with at least 4 seats to downgrade.
	DowngradeAccount      string `json:"downgrade_account"`
	DowngradeCustomer     string `json:"downgrade_customer"`
	DowngradeSubscription string `json:"downgrade_subscription"`
	// An active subscription to cancel.
	CancelAccount      string `json:"cancel_account"`
	CancelCustomer     string `json:"cancel_customer"`
	CancelSubscription string `json:"cancel_subscription"`
}

// Summary counts the world. Counts are known after Generate; CRM account
// IDs in Scenarios after LoadSalesforce.
func (w *World) Summary() Summary {
	var s Summary
	for _, a := range w.accounts {
		if a.CRM == sysSalesforce {
			s.SalesforceAccounts++
		} else {
			s.HubSpotCompanies++
		}
		switch a.Tier {
		case tierHigh:
			s.TierHigh++
		case tierLow:
			s.TierLow++
		default:
			s.TierTech++
		}
		s.Signals += len(a.Signals)
	}
	for _, c := range w.customers {
		if c.System == sysStripe {
			s.StripeCustomers++
		} else {
			s.ChargebeeCustomers++
		}
		switch c.Kind {
		case kindUnmatched:
			s.Unmatched = append(s.Unmatched, c.System+"/"+c.ID)
		case kindConflict:
			s.Conflicting = append(s.Conflicting, c.System+"/"+c.ID)
		}
		ended := true
		for _, sb := range c.Subs {
			s.Subscriptions++
			s.Invoices += len(sb.Invoices)
			running := sb.EndedAt.IsZero() || sb.EndedAt.After(w.now)
			ended = ended && !running
			if sb.Reactivation {
				s.Reactivations++
			}
			if sb.TrialEnd.After(w.now) {
				s.Trials++
			}
			if running && !sb.CanceledAt.IsZero() {
				s.CancelAtPeriodEnd++
			}
			for i := 1; i < len(sb.Phases); i++ {
				if w.phaseARR(sb.Phases[i]) > w.phaseARR(sb.Phases[i-1]) {
					s.Upgrades++
				} else {
					s.Downgrades++
				}
			}
			for _, in := range sb.Invoices {
				if len(in.Failures) > 0 {
					s.FailedPayments++
					if in.PaidAt.IsZero() {
						s.PastDue++
					}
				}
			}
		}
		if ended {
			s.Churned++
		}
	}
	s.UnmatchedCustomers, s.ConflictingCustomers = len(s.Unmatched), len(s.Conflicting)
	sc := w.scenarios
	if in := sc.failed; in != nil {
		s.Scenarios.FailedPaymentAccount = in.Sub.Customer.Account.crmID
		s.Scenarios.FailedPaymentCustomer = in.Sub.Customer.ID
		s.Scenarios.FailedPaymentSubscription = in.Sub.ID
		s.Scenarios.FailedPaymentInvoice = in.ID
	}
	if sb := sc.downgrade; sb != nil {
		s.Scenarios.DowngradeAccount, s.Scenarios.DowngradeCustomer, s.Scenarios.DowngradeSubscription = sb.Customer.Account.crmID, sb.Customer.ID, sb.ID
	}
	if sb := sc.cancel; sb != nil {
		s.Scenarios.CancelAccount, s.Scenarios.CancelCustomer, s.Scenarios.CancelSubscription = sb.Customer.Account.crmID, sb.Customer.ID, sb.ID
	}
	return s
}

func (w *World) phaseARR(ph phase) float64 { return arrJPY(ph.Price, ph.Qty) }
