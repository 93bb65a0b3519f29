package chargebeetest

import (
	"encoding/json"
	"maps"
)

// The types below are the resources as Chargebee API v2 (product catalog
// 2.0) returns them: field names, units and omissions follow
// https://apidocs.chargebee.com/docs/api/ (Subscriptions, Customers,
// Invoices, Transactions, Item Prices, Coupons). Timestamps are Unix seconds
// (UTC), amounts are in the currency's minor unit. A zero timestamp or
// amount is omitted from the JSON, as Chargebee omits attributes without a
// value; in particular a zero UpdatedAt is sent as no updated_at at all
// (old records on some sites have none).

// Subscription is a Chargebee subscription (docs: "Subscriptions > Subscription
// object", product catalog 2.0 attributes).
type Subscription struct {
	ID                      string               `json:"id"`
	CustomerID              string               `json:"customer_id"`
	Status                  string               `json:"status"` // future, in_trial, active, non_renewing, paused, cancelled, transferred
	CurrencyCode            string               `json:"currency_code"`
	BillingPeriod           int                  `json:"billing_period,omitempty"`
	BillingPeriodUnit       string               `json:"billing_period_unit,omitempty"` // day, week, month, year
	StartDate               int64                `json:"start_date,omitempty"`
	TrialStart              int64                `json:"trial_start,omitempty"`
	TrialEnd                int64                `json:"trial_end,omitempty"`
	CurrentTermStart        int64                `json:"current_term_start,omitempty"`
	CurrentTermEnd          int64                `json:"current_term_end,omitempty"`
	NextBillingAt           int64                `json:"next_billing_at,omitempty"`
	CreatedAt               int64                `json:"created_at,omitempty"`
	StartedAt               int64                `json:"started_at,omitempty"`
	ActivatedAt             int64                `json:"activated_at,omitempty"`
	PauseDate               int64                `json:"pause_date,omitempty"`
	ResumeDate              int64                `json:"resume_date,omitempty"`
	CancelledAt             int64                `json:"cancelled_at,omitempty"`
	CancelScheduleCreatedAt int64                `json:"cancel_schedule_created_at,omitempty"`
	CancelReason            string               `json:"cancel_reason,omitempty"`
	UpdatedAt               int64                `json:"updated_at,omitempty"`
	ResourceVersion         int64                `json:"resource_version,omitempty"`
	HasScheduledChanges     bool                 `json:"has_scheduled_changes"`
	DueInvoicesCount        int                  `json:"due_invoices_count,omitempty"`
	TotalDues               int64                `json:"total_dues,omitempty"`
	MRR                     *int64               `json:"mrr,omitempty"` // minor units; absent when not computed
	SubscriptionItems       []SubscriptionItem   `json:"subscription_items,omitempty"`
	ItemTiers               []ItemTier           `json:"item_tiers,omitempty"`
	Coupons                 []SubscriptionCoupon `json:"coupons,omitempty"`
	MetaData                map[string]any       `json:"meta_data,omitempty"`
	Deleted                 bool                 `json:"deleted"`
	Object                  string               `json:"object"`
}

// SubscriptionItem is one entry of subscription.subscription_items.
type SubscriptionItem struct {
	ItemPriceID       string `json:"item_price_id"`
	ItemType          string `json:"item_type"` // plan, addon, charge
	Quantity          int64  `json:"quantity,omitempty"`
	UnitPrice         int64  `json:"unit_price,omitempty"`
	Amount            int64  `json:"amount,omitempty"`
	FreeQuantity      int64  `json:"free_quantity,omitempty"`
	BillingPeriod     int    `json:"billing_period,omitempty"`
	BillingPeriodUnit string `json:"billing_period_unit,omitempty"`
	CurrentTermStart  int64  `json:"current_term_start,omitempty"`
	CurrentTermEnd    int64  `json:"current_term_end,omitempty"`
	TrialEnd          int64  `json:"trial_end,omitempty"`
	BillingCycles     int    `json:"billing_cycles,omitempty"`
	ChargeOnce        bool   `json:"charge_once,omitempty"`
	Object            string `json:"object"`
}

// ItemTier is one entry of subscription.item_tiers: the tiers in force for
// one item price of this subscription.
type ItemTier struct {
	ItemPriceID  string `json:"item_price_id"`
	StartingUnit int64  `json:"starting_unit"`
	EndingUnit   int64  `json:"ending_unit,omitempty"` // omitted on the last tier
	Price        int64  `json:"price"`
	Index        int    `json:"index"`
	Object       string `json:"object"`
}

// SubscriptionCoupon is one entry of subscription.coupons.
type SubscriptionCoupon struct {
	CouponID     string `json:"coupon_id"`
	ApplyTill    int64  `json:"apply_till,omitempty"`
	AppliedCount int    `json:"applied_count"`
	CouponCode   string `json:"coupon_code,omitempty"`
	Object       string `json:"object"`
}

// Customer is a Chargebee customer. CustomFields are the site's custom
// fields, sent as top-level "cf_*" attributes.
type Customer struct {
	ID                    string         `json:"id"`
	FirstName             string         `json:"first_name,omitempty"`
	LastName              string         `json:"last_name,omitempty"`
	Email                 string         `json:"email,omitempty"`
	Company               string         `json:"company,omitempty"`
	PreferredCurrencyCode string         `json:"preferred_currency_code,omitempty"`
	AutoCollection        string         `json:"auto_collection,omitempty"`
	NetTermDays           int            `json:"net_term_days"`
	CreatedAt             int64          `json:"created_at,omitempty"`
	UpdatedAt             int64          `json:"updated_at,omitempty"`
	ResourceVersion       int64          `json:"resource_version,omitempty"`
	MetaData              map[string]any `json:"meta_data,omitempty"`
	Deleted               bool           `json:"deleted"`
	Object                string         `json:"object"`
	CustomFields          map[string]any `json:"-"` // keys include the cf_ prefix
}

// MarshalJSON writes the customer with its custom fields at the top level.
func (c Customer) MarshalJSON() ([]byte, error) {
	type plain Customer
	b, err := json.Marshal(plain(c))
	if err != nil || len(c.CustomFields) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, c.CustomFields)
	return json.Marshal(m)
}

// Invoice is a Chargebee invoice.
type Invoice struct {
	ID              string           `json:"id"`
	CustomerID      string           `json:"customer_id"`
	SubscriptionID  string           `json:"subscription_id,omitempty"`
	Recurring       bool             `json:"recurring"`
	Status          string           `json:"status"` // paid, posted, payment_due, not_paid, voided, pending
	Date            int64            `json:"date,omitempty"`
	DueDate         int64            `json:"due_date,omitempty"`
	PaidAt          int64            `json:"paid_at,omitempty"`
	NetTermDays     int              `json:"net_term_days"`
	CurrencyCode    string           `json:"currency_code"`
	SubTotal        int64            `json:"sub_total"`
	Tax             int64            `json:"tax"`
	Total           int64            `json:"total"`
	AmountPaid      int64            `json:"amount_paid"`
	AmountAdjusted  int64            `json:"amount_adjusted"`
	CreditsApplied  int64            `json:"credits_applied"`
	AmountDue       int64            `json:"amount_due"`
	DunningStatus   string           `json:"dunning_status,omitempty"` // in_progress, exhausted, stopped, success
	FirstInvoice    bool             `json:"first_invoice"`
	UpdatedAt       int64            `json:"updated_at,omitempty"`
	ResourceVersion int64            `json:"resource_version,omitempty"`
	LineItems       []LineItem       `json:"line_items,omitempty"`
	LinkedPayments  []LinkedPayment  `json:"linked_payments,omitempty"`
	DunningAttempts []DunningAttempt `json:"dunning_attempts,omitempty"`
	Deleted         bool             `json:"deleted"`
	Object          string           `json:"object"`
}

// LineItem is one entry of invoice.line_items.
type LineItem struct {
	ID                      string `json:"id"`
	DateFrom                int64  `json:"date_from"`
	DateTo                  int64  `json:"date_to"`
	UnitAmount              int64  `json:"unit_amount"`
	Quantity                int64  `json:"quantity"`
	Amount                  int64  `json:"amount"`
	PricingModel            string `json:"pricing_model,omitempty"`
	IsTaxed                 bool   `json:"is_taxed"`
	TaxAmount               int64  `json:"tax_amount"`
	DiscountAmount          int64  `json:"discount_amount"`
	ItemLevelDiscountAmount int64  `json:"item_level_discount_amount"`
	Description             string `json:"description"`
	EntityType              string `json:"entity_type"` // plan_item_price, addon_item_price, charge_item_price, adhoc
	EntityID                string `json:"entity_id,omitempty"`
	SubscriptionID          string `json:"subscription_id,omitempty"`
	CustomerID              string `json:"customer_id,omitempty"`
	Object                  string `json:"object"`
}

// LinkedPayment is one entry of invoice.linked_payments.
type LinkedPayment struct {
	TxnID         string `json:"txn_id"`
	AppliedAmount int64  `json:"applied_amount"`
	AppliedAt     int64  `json:"applied_at"`
	TxnStatus     string `json:"txn_status,omitempty"` // in_progress, success, voided, failure, timeout, needs_attention
	TxnDate       int64  `json:"txn_date,omitempty"`
	TxnAmount     int64  `json:"txn_amount,omitempty"`
}

// DunningAttempt is one entry of invoice.dunning_attempts.
type DunningAttempt struct {
	Attempt       int    `json:"attempt"`
	TransactionID string `json:"transaction_id,omitempty"`
	DunningType   string `json:"dunning_type"` // auto_collect, offline, direct_debit
	CreatedAt     int64  `json:"created_at,omitempty"`
	TxnStatus     string `json:"txn_status,omitempty"`
	TxnAmount     int64  `json:"txn_amount,omitempty"`
}

// Transaction is a Chargebee transaction (payment attempt).
type Transaction struct {
	ID              string          `json:"id"`
	CustomerID      string          `json:"customer_id,omitempty"`
	SubscriptionID  string          `json:"subscription_id,omitempty"`
	Type            string          `json:"type"`   // authorization, payment, refund, payment_reversal
	Status          string          `json:"status"` // in_progress, success, voided, failure, timeout, needs_attention, late_failure
	Amount          int64           `json:"amount"`
	CurrencyCode    string          `json:"currency_code"`
	Date            int64           `json:"date,omitempty"`
	ErrorCode       string          `json:"error_code,omitempty"`
	ErrorText       string          `json:"error_text,omitempty"`
	UpdatedAt       int64           `json:"updated_at,omitempty"`
	ResourceVersion int64           `json:"resource_version,omitempty"`
	LinkedInvoices  []LinkedInvoice `json:"linked_invoices,omitempty"`
	Deleted         bool            `json:"deleted"`
	Object          string          `json:"object"`
}

// LinkedInvoice is one entry of transaction.linked_invoices.
type LinkedInvoice struct {
	InvoiceID     string `json:"invoice_id"`
	AppliedAmount int64  `json:"applied_amount"`
	AppliedAt     int64  `json:"applied_at"`
	InvoiceDate   int64  `json:"invoice_date,omitempty"`
	InvoiceTotal  int64  `json:"invoice_total,omitempty"`
	InvoiceStatus string `json:"invoice_status"`
}

// ItemPrice is a product catalog 2.0 item price.
type ItemPrice struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	ItemID       string          `json:"item_id"`
	ItemType     string          `json:"item_type"` // plan, addon, charge
	Status       string          `json:"status"`    // active, archived, deleted
	PricingModel string          `json:"pricing_model"`
	Price        int64           `json:"price,omitempty"`
	Period       int             `json:"period,omitempty"`      // absent for charges
	PeriodUnit   string          `json:"period_unit,omitempty"` // day, week, month, year
	CurrencyCode string          `json:"currency_code"`
	FreeQuantity int64           `json:"free_quantity"`
	Tiers        []ItemPriceTier `json:"tiers,omitempty"`
	CreatedAt    int64           `json:"created_at,omitempty"`
	UpdatedAt    int64           `json:"updated_at,omitempty"`
	Object       string          `json:"object"`
}

// ItemPriceTier is one entry of item_price.tiers.
type ItemPriceTier struct {
	StartingUnit int64  `json:"starting_unit"`
	EndingUnit   int64  `json:"ending_unit,omitempty"` // omitted on the last tier
	Price        int64  `json:"price"`
	Object       string `json:"object,omitempty"`
}

// Coupon is a Chargebee coupon.
type Coupon struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	DiscountType       string  `json:"discount_type"` // fixed_amount, percentage, offer_quantity
	DiscountPercentage float64 `json:"discount_percentage,omitempty"`
	DiscountAmount     int64   `json:"discount_amount,omitempty"`
	CurrencyCode       string  `json:"currency_code,omitempty"`
	DurationType       string  `json:"duration_type"` // one_time, forever, limited_period
	Period             int     `json:"period,omitempty"`
	PeriodUnit         string  `json:"period_unit,omitempty"` // day, week, month, year
	ApplyOn            string  `json:"apply_on"`              // invoice_amount, each_specified_item
	Status             string  `json:"status"`
	CreatedAt          int64   `json:"created_at,omitempty"`
	UpdatedAt          int64   `json:"updated_at,omitempty"`
	Object             string  `json:"object"`
}
