// Package demoworld generates the deterministic demo world of `healthsync
// demo`: CRM accounts, deals and owners, billing customers with 18 months of
// subscription and invoice history, and product-usage signals, and loads
// them into the four vendor fakes (salesforcetest, hubspottest, stripetest,
// chargebeetest).
//
// Generate draws every random choice up front from a PCG seeded with
// Options.Seed, so a World is a plan fully determined by its Options; the
// Load methods only copy the plan into a fake (with timestamps from the plan,
// never from the wall clock) and remember the IDs a fake assigns. Half the
// accounts live in Salesforce and are billed through Stripe, half live in
// HubSpot and are billed through Chargebee. Money is in the currency's minor
// unit (yen for JPY, cents for USD); times are UTC.
package demoworld

import (
	"math/rand/v2"
	"time"
)

// Options choose the world. Zero values take the defaults noted.
type Options struct {
	Accounts int       // CRM accounts in total (default 300)
	Seed     int64     // seed of the generator (default 1)
	Now      time.Time // the demo's "today", UTC (default 2025-06-01); history goes back 18 months
	// SalesforceOnly puts every account in Salesforce, billed in Stripe,
	// instead of alternating Salesforce and HubSpot (the scale curve's
	// world: two fakes).
	SalesforceOnly bool
	// SubsPerAccount is the running subscriptions each account's customer
	// has (default 1); those beyond the first are plain subscriptions to
	// the main one's price, started and billed on their own.
	SubsPerAccount int
	// NoSignals leaves out the product-usage signals (the daily ones of
	// activity.go and the year of weekly history of history.go) for a
	// world whose signals nobody reads: the scale curve's fakes, where
	// they are a third of the plan's memory. They are drawn last, so
	// everything else is the same world.
	NoSignals bool
}

// HistoryMonths is how far back the billing history goes from Options.Now.
const HistoryMonths = 18

// FX is the reporting rate the demo config uses: yen per US dollar. Touch
// tiers are planned with it (high >= 10,000,000 JPY ARR, low >= 1,000,000).
const FX = 150.0

// CRM and billing system names, as record uses them.
const (
	sysSalesforce = "salesforce"
	sysHubSpot    = "hubspot"
	sysStripe     = "stripe"
	sysChargebee  = "chargebee"
)

// Touch tiers and health profiles the generator aims for.
const (
	tierHigh = "high"
	tierLow  = "low"
	tierTech = "tech"

	profHealthy    = "healthy"
	profCaution    = "caution"
	profAtRisk     = "at_risk"
	profOnboarding = "onboarding"
	profChurned    = "churned"
)

// World is the generated plan, fully determined by Options. Load it into the
// fakes with the Load methods (LoadSalesforce and LoadHubSpot before
// LoadStripe and LoadChargebee, which reference the CRM IDs), then read
// Signals and Summary. A World is not safe for concurrent Loads.
type World struct {
	opts  Options
	now   time.Time
	start time.Time // now - HistoryMonths

	owners    []*owner
	accounts  []*account
	customers []*customer // every billing customer, Stripe ones first
	prices    []*price
	coupons   []*coupon
	scenarios scenarioPlan

	cbInvoices int // Chargebee invoice numbers handed out
}

// owner is a sales/CS rep who owns accounts in both CRMs.
type owner struct {
	Name, Email string
	HubSpotID   string // hubspot_owner_id (generated; LoadHubSpot seeds the owner under it)
	sfID        string // assigned by LoadSalesforce
}

// account is one CRM account (Salesforce Account or HubSpot company).
type account struct {
	idx       int
	CRM       string // sysSalesforce or sysHubSpot
	Name      string
	Domain    string
	Industry  string
	Employees int
	Owner     *owner
	Currency  string // JPY or USD
	Tier      string // the touch tier its ARR is planned for
	Profile   string // health profile the signals aim for
	Created   time.Time
	Modified  time.Time
	// StripeField is the value of Stripe_Customer_Id__c (Salesforce only;
	// empty: not set).
	StripeField string
	Customer    *customer // its billing customer (nil never)
	Deals       []*deal
	Signals     []signal
	// Churn is how a churned account's usage led up to its churn:
	// churnFades or churnSudden (history.go); empty for the others.
	Churn string
	crmID string // assigned by Load*
}

// deal is an Opportunity or a HubSpot deal.
type deal struct {
	Name        string
	Type        string // New Business, Upsell, Renewal
	Stage       string // Salesforce stage name; mapped for HubSpot
	Amount      float64
	Currency    string
	Close       time.Time
	Created     time.Time
	Closed      bool
	Won         bool
	Probability float64
}

// signal is one planned usage observation.
type signal struct {
	Metric string
	Time   time.Time
	Value  float64
}

// Customer kinds.
const (
	kindLinked    = "linked"    // matched to its account (metadata, field or domain)
	kindUnmatched = "unmatched" // no metadata, free-mail e-mail, no CRM field
	kindConflict  = "conflict"  // two explicit claims disagree
)

// customer is a Stripe or Chargebee customer.
type customer struct {
	ID        string
	System    string // sysStripe or sysChargebee
	Kind      string
	Name      string
	First     string
	Last      string
	Email     string
	Currency  string
	Created   time.Time
	Account   *account // the account it belongs to (nil for unmatched)
	MetaOf    *account // the account its metadata names (nil: no metadata)
	InvPrefix string   // Stripe invoice number prefix
	Subs      []*sub
}

// price is a Stripe price or a Chargebee item price.
type price struct {
	ID       string
	System   string
	Product  string // Stripe product ID / Chargebee item ID
	Name     string // plan name
	Plan     string // starter, business, enterprise, volume
	Currency string
	Interval string // month or year
	Unit     int64  // minor units per seat per interval (per_unit)
	Tiers    []tier // volume tiers when non-empty
}

// tier is one volume tier: every unit costs Unit when the quantity is at
// most UpTo (0: infinity).
type tier struct{ UpTo, Unit int64 }

// Amount is the charge for qty seats for one interval, in minor units.
// Worked example: volume tiers {10: 3000, 50: 2500, inf: 2000} and qty 12
// give 12 * 2500 = 30000.
func (p *price) Amount(qty int64) int64 {
	if len(p.Tiers) == 0 {
		return p.Unit * qty
	}
	for _, t := range p.Tiers {
		if t.UpTo == 0 || qty <= t.UpTo {
			return t.Unit * qty
		}
	}
	return 0
}

// unitFor is the per-seat amount the quantity pays.
func (p *price) unitFor(qty int64) int64 {
	if qty == 0 {
		return p.Unit
	}
	return p.Amount(qty) / qty
}

// coupon is a percent coupon (3 months repeating) or an amount-off coupon
// (forever).
type coupon struct {
	ID       string
	System   string
	Name     string
	Percent  float64
	Amount   int64
	Currency string
	Months   int // repeating months; 0: forever
}

// sub is a subscription with its whole history.
type sub struct {
	ID, ItemID   string
	DiscountID   string
	Customer     *customer
	Currency     string
	Interval     string // month or year
	Created      time.Time
	Start        time.Time // service start (trial start when trialing)
	TrialEnd     time.Time // zero: no trial
	Phases       []phase
	Coupon       *coupon
	CanceledAt   time.Time // when the cancellation was requested (zero: never)
	EndedAt      time.Time // when it stopped or will stop (zero: running)
	Reactivation bool      // a customer's second subscription after churning
	Periods      []*period
	Invoices     []*invoice
}

// phase is the plan a subscription is on from From.
type phase struct {
	From  time.Time
	Price *price
	Qty   int64
}

// period is one billing period [Start, End).
type period struct{ Start, End time.Time }

// invoice is one invoice of a subscription period.
type invoice struct {
	ID, Number string
	Sub        *sub
	Created    time.Time
	Period     period
	Price      *price
	Qty        int64
	Amount     int64 // before discounts
	Discount   int64
	LineID     string
	Failures   []time.Time // failed payment attempts
	PaidAt     time.Time   // zero: unpaid
	TxnID      string      // Chargebee payment transaction
	FailTxnIDs []string    // Chargebee failed transactions
	Scenario   bool        // left open and unattempted for the demo to fail
}

// Total is the amount due after discounts, in minor units.
func (in *invoice) Total() int64 { return in.Amount - in.Discount }

// scenarioPlan names the objects the demo's webhook scenarios mutate.
type scenarioPlan struct {
	failed    *invoice
	downgrade *sub
	cancel    *sub
}

func (o Options) withDefaults() Options {
	if o.Accounts <= 0 {
		o.Accounts = 300
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.SubsPerAccount <= 0 {
		o.SubsPerAccount = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	o.Now = o.Now.UTC()
	return o
}

// gen holds the generator's random source while Generate runs.
type gen struct {
	r *rand.Rand
	w *World
}

func (g *gen) intn(n int) int { return g.r.IntN(n) }

// between returns an int in [lo, hi].
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// timeIn returns a time in [lo, hi), truncated to the second.
func (g *gen) timeIn(lo, hi time.Time) time.Time {
	d := hi.Sub(lo)
	if d <= time.Second {
		return lo.Truncate(time.Second)
	}
	return lo.Add(time.Duration(g.r.Int64N(int64(d)))).Truncate(time.Second)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// id returns prefix + n random base62 characters, as Stripe-style IDs look.
func (g *gen) id(prefix string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[g.r.IntN(len(base62))]
	}
	return prefix + string(b)
}
