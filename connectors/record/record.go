// Package record defines the canonical records every connector produces and
// everything downstream (store, scoring, engine) consumes: accounts and deals
// from CRMs, customers, subscriptions and invoices from billing systems, usage
// signals, tasks and change events.
//
// Money is always an int64 in the currency's minor unit (cents for USD, yen
// for JPY: zero-decimal currencies are not multiplied by 100), with an ISO
// 4217 currency code in upper case. Times are UTC.
package record

import "time"

// Systems a record can come from.
const (
	Salesforce = "salesforce"
	HubSpot    = "hubspot"
	Stripe     = "stripe"
	Chargebee  = "chargebee"
	Signals    = "signals" // product usage posted to /v1/signals
)

// Ref identifies a record in its source system.
type Ref struct {
	System   string    `json:"system"`   // Salesforce, HubSpot, Stripe, Chargebee, Signals
	ID       string    `json:"id"`       // the vendor's ID (001..., cus_..., company ID)
	Modified time.Time `json:"modified"` // the vendor's last-modified time, UTC; zero when unknown
}

// Key is "system/id", unique across systems.
func (r Ref) Key() string { return r.System + "/" + r.ID }

// Account is a CRM account: a Salesforce Account or a HubSpot company.
type Account struct {
	Ref
	Name    string `json:"name"`
	Website string `json:"website,omitempty"`  // as typed in the CRM; the engine derives the domain
	Domain  string `json:"domain,omitempty"`   // HubSpot's domain property, when the CRM has one
	OwnerID string `json:"owner_id,omitempty"` // Salesforce OwnerId / HubSpot hubspot_owner_id
	// OwnerName is the owner's name where the CRM gives it (Salesforce
	// Owner.Name, a HubSpot owner's first and last name); empty otherwise.
	OwnerName string `json:"owner_name,omitempty"`
	Industry  string `json:"industry,omitempty"`
	// Fields holds the raw values of the fields the config asked for, by the
	// CRM's field name (e.g. "Stripe_Customer_Id__c", "NPS__c"). Values are as
	// decoded from JSON: string, float64, bool or nil.
	Fields  map[string]any `json:"fields,omitempty"`
	Deleted bool           `json:"deleted,omitempty"`
}

// Deal is a Salesforce Opportunity or a HubSpot deal.
type Deal struct {
	Ref
	AccountID string         `json:"account_id,omitempty"` // CRM account ID (AccountId / associated company)
	Name      string         `json:"name"`
	Stage     string         `json:"stage,omitempty"`
	Type      string         `json:"type,omitempty"` // e.g. "New Business", "Upsell", "Renewal"
	Amount    float64        `json:"amount"`         // major units as the CRM stores it
	Currency  string         `json:"currency,omitempty"`
	CloseDate time.Time      `json:"close_date,omitempty"`
	IsClosed  bool           `json:"is_closed"`
	IsWon     bool           `json:"is_won"`
	OwnerID   string         `json:"owner_id,omitempty"`
	Fields    map[string]any `json:"fields,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
}

// Customer is a billing customer (Stripe customer, Chargebee customer).
type Customer struct {
	Ref
	Name     string            `json:"name,omitempty"`
	Email    string            `json:"email,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Created  time.Time         `json:"created,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"` // e.g. salesforce_account_id, hubspot_company_id
	Deleted  bool              `json:"deleted,omitempty"`
}

// Subscription statuses, normalised across vendors.
const (
	StatusTrialing          = "trialing"     // Stripe trialing, Chargebee in_trial
	StatusActive            = "active"       // Stripe active, Chargebee active
	StatusNonRenewing       = "non_renewing" // Chargebee non_renewing (cancels at term end)
	StatusPastDue           = "past_due"
	StatusUnpaid            = "unpaid"
	StatusPaused            = "paused"
	StatusCanceled          = "canceled" // Stripe canceled, Chargebee cancelled
	StatusIncomplete        = "incomplete"
	StatusIncompleteExpired = "incomplete_expired"
	StatusFuture            = "future" // Chargebee future: starts later
)

// Subscription is a billing subscription with its recurring items.
type Subscription struct {
	Ref
	CustomerID        string     `json:"customer_id"`
	Status            string     `json:"status"` // one of the Status constants
	Currency          string     `json:"currency"`
	Items             []Item     `json:"items"`
	Discounts         []Discount `json:"discounts,omitempty"` // subscription-level discounts
	Created           time.Time  `json:"created,omitempty"`
	StartDate         time.Time  `json:"start_date,omitempty"`
	TrialStart        time.Time  `json:"trial_start,omitempty"`
	TrialEnd          time.Time  `json:"trial_end,omitempty"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end,omitempty"`
	CancelAt          time.Time  `json:"cancel_at,omitempty"`
	CanceledAt        time.Time  `json:"canceled_at,omitempty"` // when the cancellation was requested
	EndedAt           time.Time  `json:"ended_at,omitempty"`    // when it stopped
	// CurrentPeriodStart/End: from the subscription (API versions before
	// 2025-03-31.basil) or, when absent there, the earliest item period.
	CurrentPeriodStart time.Time `json:"current_period_start,omitempty"`
	CurrentPeriodEnd   time.Time `json:"current_period_end,omitempty"`
	// VendorMRR is the vendor's own MRR figure in minor units when it
	// publishes one (Chargebee's subscription.mrr), for data-quality checks.
	VendorMRR *int64            `json:"vendor_mrr,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Deleted   bool              `json:"deleted,omitempty"`
}

// Usage types and billing schemes of an item's price.
const (
	UsageLicensed = "licensed"
	UsageMetered  = "metered"

	SchemePerUnit = "per_unit"
	SchemeTiered  = "tiered"

	TiersVolume    = "volume"
	TiersGraduated = "graduated"
)

// Item is one priced line of a subscription.
type Item struct {
	ID            string `json:"id"`
	PriceID       string `json:"price_id,omitempty"`
	ProductID     string `json:"product_id,omitempty"`
	Currency      string `json:"currency"`
	UnitAmount    int64  `json:"unit_amount"`    // minor units per unit per interval (per_unit scheme)
	Interval      string `json:"interval"`       // day, week, month, year
	IntervalCount int    `json:"interval_count"` // >= 1
	Quantity      int64  `json:"quantity"`
	UsageType     string `json:"usage_type,omitempty"`     // UsageLicensed (default) or UsageMetered
	BillingScheme string `json:"billing_scheme,omitempty"` // SchemePerUnit (default) or SchemeTiered
	TiersMode     string `json:"tiers_mode,omitempty"`     // TiersVolume or TiersGraduated
	Tiers         []Tier `json:"tiers,omitempty"`
	// Recurring is false for one-time charges, which never count towards MRR.
	Recurring bool `json:"recurring"`
	// LastPeriodUsage is the quantity billed for the last closed period of a
	// metered price, when known (from the last invoice line).
	LastPeriodUsage    int64      `json:"last_period_usage,omitempty"`
	Discounts          []Discount `json:"discounts,omitempty"`            // item-level discounts
	CurrentPeriodStart time.Time  `json:"current_period_start,omitempty"` // basil and later
	CurrentPeriodEnd   time.Time  `json:"current_period_end,omitempty"`
	PlanLimit          int64      `json:"plan_limit,omitempty"` // seats or units included, when the plan says
	// FreeQuantity units of Quantity are not charged (Chargebee
	// free_quantity): the price applies to Quantity - FreeQuantity.
	FreeQuantity int64 `json:"free_quantity,omitempty"`
}

// Tier is one tier of a tiered price. UpTo 0 means infinity.
type Tier struct {
	UpTo       int64 `json:"up_to"`
	UnitAmount int64 `json:"unit_amount"` // minor units per unit
	FlatAmount int64 `json:"flat_amount"` // minor units per tier
}

// Discount durations.
const (
	DurationOnce      = "once"
	DurationRepeating = "repeating"
	DurationForever   = "forever"
)

// Discount is a coupon applied to a subscription or an item.
type Discount struct {
	ID               string    `json:"id,omitempty"`
	CouponID         string    `json:"coupon_id,omitempty"`
	PercentOff       float64   `json:"percent_off,omitempty"` // 20 means 20%
	AmountOff        int64     `json:"amount_off,omitempty"`  // minor units per billing period
	Currency         string    `json:"currency,omitempty"`    // of AmountOff
	Duration         string    `json:"duration"`              // once, repeating, forever
	DurationInMonths int       `json:"duration_in_months,omitempty"`
	Start            time.Time `json:"start,omitempty"`
	End              time.Time `json:"end,omitempty"` // zero: open-ended (forever) or computed from duration
	// ExcludedFromMRR is set when the vendor says the discount does not
	// reduce MRR (Chargebee: a one_time discount with included_in_mrr
	// false); it still reduces the invoice it applies to.
	ExcludedFromMRR bool `json:"excluded_from_mrr,omitempty"`
}

// Invoice statuses.
const (
	InvoiceDraft         = "draft"
	InvoiceOpen          = "open"
	InvoicePaid          = "paid"
	InvoiceUncollectible = "uncollectible"
	InvoiceVoid          = "void"
)

// Invoice is a billing invoice with its line items.
type Invoice struct {
	Ref
	CustomerID     string `json:"customer_id"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	Number         string `json:"number,omitempty"`
	Status         string `json:"status"` // Invoice constants
	Paid           bool   `json:"paid"`
	// PaymentFailed is true when a payment attempt failed (Stripe
	// invoice.payment_failed / attempted and unpaid; Chargebee payment_due or
	// not_paid, or a failed transaction).
	PaymentFailed bool          `json:"payment_failed,omitempty"`
	AttemptCount  int           `json:"attempt_count,omitempty"`
	Currency      string        `json:"currency"`
	Subtotal      int64         `json:"subtotal"`    // minor units, before tax
	Tax           int64         `json:"tax"`         // minor units
	Total         int64         `json:"total"`       // minor units
	AmountDue     int64         `json:"amount_due"`  // minor units
	AmountPaid    int64         `json:"amount_paid"` // minor units
	Created       time.Time     `json:"created"`
	DueDate       time.Time     `json:"due_date,omitempty"`
	PaidAt        time.Time     `json:"paid_at,omitempty"`
	PeriodStart   time.Time     `json:"period_start,omitempty"`
	PeriodEnd     time.Time     `json:"period_end,omitempty"`
	Lines         []InvoiceLine `json:"lines,omitempty"`
	Deleted       bool          `json:"deleted,omitempty"`
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	ID                 string    `json:"id"`
	SubscriptionID     string    `json:"subscription_id,omitempty"`
	SubscriptionItemID string    `json:"subscription_item_id,omitempty"`
	PriceID            string    `json:"price_id,omitempty"`
	Description        string    `json:"description,omitempty"`
	Quantity           int64     `json:"quantity"`
	Amount             int64     `json:"amount"`          // minor units, before discounts and tax
	DiscountAmount     int64     `json:"discount_amount"` // minor units of discounts on this line
	Currency           string    `json:"currency"`
	PeriodStart        time.Time `json:"period_start"` // service period
	PeriodEnd          time.Time `json:"period_end"`
	Proration          bool      `json:"proration,omitempty"`
	Recurring          bool      `json:"recurring"` // false for one-time items
	Interval           string    `json:"interval,omitempty"`
	IntervalCount      int       `json:"interval_count,omitempty"`
	UsageType          string    `json:"usage_type,omitempty"`
}

// Signal is one product-usage observation for an account: logins, active
// users, features used, open tickets, NPS. Account is a reference the engine
// resolves: a CRM ref, a billing customer ref, or an external key.
type Signal struct {
	Account Ref       `json:"account"` // System may be Salesforce/HubSpot/Stripe/Chargebee or "external"
	Metric  string    `json:"metric"`
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
}

// Task statuses, normalised.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
)

// Task is a follow-up task on a CRM account (Salesforce Task, HubSpot task).
type Task struct {
	Ref                 // zero ID until created
	AccountID string    `json:"account_id"` // CRM account the task is on (WhatId / associated company)
	OwnerID   string    `json:"owner_id,omitempty"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body,omitempty"`
	Due       time.Time `json:"due,omitempty"`      // date (UTC midnight) for Salesforce ActivityDate
	Priority  string    `json:"priority,omitempty"` // high, normal, low
	Status    string    `json:"status"`             // TaskOpen or TaskCompleted
	DedupeKey string    `json:"dedupe_key,omitempty"`
	Note      string    `json:"note,omitempty"` // appended when healthsync closes the task
}

// Event is a change notice from a vendor: a verified webhook event or an
// entry of a vendor's event feed. It names the object that changed; the
// engine fetches the current object instead of trusting the payload.
type Event struct {
	System     string    `json:"system"`
	ID         string    `json:"id"`          // the vendor's event or notification ID, for dedupe
	Type       string    `json:"type"`        // e.g. invoice.payment_failed, company.propertyChange
	ObjectType string    `json:"object_type"` // customer, subscription, invoice, Account, company, ...
	ObjectID   string    `json:"object_id"`
	Occurred   time.Time `json:"occurred"`
	// Object is the payload's snapshot of the object, as raw JSON, when the
	// vendor sends one. It may follow another API version than the client's.
	Object []byte `json:"object,omitempty"`
	// Fields carries changed fields when the vendor sends them (HubSpot
	// propertyName/propertyValue, Salesforce Outbound Message sObject fields).
	Fields map[string]string `json:"fields,omitempty"`
	// OrderKey is what the connector's events are serialised on, set by
	// the verifier that parsed the payload: "customer/<id>" when the
	// payload names its billing customer (so a customer's invoice and
	// subscription events keep their order); empty orders the event by
	// its object.
	OrderKey string `json:"order_key,omitempty"`
}
