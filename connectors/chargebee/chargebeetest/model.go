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
	Discounts               []Discount           `json:"discounts,omitempty"`
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

// Discount is one entry of subscription.discounts (docs: "Subscriptions >
// Subscription object > discounts"): a coupon or manual discount in force.
// ApplyOn is invoice_amount (the whole invoice) or specific_item_price (the
// item price ItemPriceID only). IncludedInMRR "indicates whether the
// discount is included in MRR calculations for your site. This field is
// only applicable when duration_type is one_time"; the fake sends it false
// for any other duration (see PutSubscription).
type Discount struct {
	ID            string  `json:"id"`
	InvoiceName   string  `json:"invoice_name,omitempty"`
	Type          string  `json:"type"` // fixed_amount, percentage, offer_quantity
	Percentage    float64 `json:"percentage,omitempty"`
	Amount        int64   `json:"amount,omitempty"` // minor units of CurrencyCode
	Quantity      int     `json:"quantity,omitempty"`
	CurrencyCode  string  `json:"currency_code,omitempty"`
	DurationType  string  `json:"duration_type"` // one_time, forever, limited_period
	Period        int     `json:"period,omitempty"`
	PeriodUnit    string  `json:"period_unit,omitempty"`
	IncludedInMRR bool    `json:"included_in_mrr"`
	ApplyOn       string  `json:"apply_on"` // invoice_amount, specific_item_price
	ItemPriceID   string  `json:"item_price_id,omitempty"`
	CreatedAt     int64   `json:"created_at"`
	ApplyTill     int64   `json:"apply_till,omitempty"`
	AppliedCount  int     `json:"applied_count,omitempty"`
	CouponID      string  `json:"coupon_id,omitempty"`
	Index         int     `json:"index"`
	Object        string  `json:"object"`
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
	// LineItemDiscounts itemise the discounts of each line (docs:
	// "Invoices > Invoice object > line_item_discounts"); when a line has
	// any, PutInvoice derives the line's discount totals from them.
	LineItemDiscounts []LineItemDiscount `json:"line_item_discounts,omitempty"`
	Deleted           bool               `json:"deleted"`
	Object            string             `json:"object"`
}

// LineItemDiscount is one entry of invoice.line_item_discounts.
// DiscountType is item_level_coupon, document_level_coupon,
// item_level_discount, document_level_discount, promotional_credits or
// prorated_credits.
type LineItemDiscount struct {
	LineItemID     string `json:"line_item_id"`
	DiscountType   string `json:"discount_type"`
	CouponID       string `json:"coupon_id,omitempty"`
	EntityID       string `json:"entity_id,omitempty"`
	DiscountAmount int64  `json:"discount_amount"`
	Object         string `json:"object"`
}

// LineItem is one entry of invoice.line_items. Docs ("Invoices > Invoice
// object > line_items"): discount_amount is "Total discounts for this
// line", item_level_discount_amount "Line item-level discounts for this
// line": the first includes the second, and the fake keeps
// DiscountAmount >= ItemLevelDiscountAmount (see PutInvoice).
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
	ItemFamilyID string          `json:"item_family_id,omitempty"`
	Status       string          `json:"status"` // active, archived, deleted
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
	// ApplyOn (docs: "Coupons > Coupon object > apply_on"): invoice_amount
	// discounts the invoice total; each_specified_item discounts each item
	// price ItemConstraints allow; each_unit_of_specified_items each unit of
	// them; specified_items_total their sum.
	ApplyOn string `json:"apply_on"`
	Status  string `json:"status"`
	// IncludedInMRR: only applicable to duration_type one_time (docs:
	// "Coupons > Coupon object > included_in_mrr"); sent false otherwise.
	IncludedInMRR          bool                     `json:"included_in_mrr"`
	ItemConstraints        []ItemConstraint         `json:"item_constraints,omitempty"`
	ItemConstraintCriteria []ItemConstraintCriteria `json:"item_constraint_criteria,omitempty"`
	CreatedAt              int64                    `json:"created_at,omitempty"`
	UpdatedAt              int64                    `json:"updated_at,omitempty"`
	Object                 string                   `json:"object"`
}

// ItemConstraint is one entry of coupon.item_constraints: for one item type
// (plan, addon, charge), which item prices the coupon applies to.
// Constraint is none, all, specific (ItemPriceIDs) or criteria (the
// coupon's ItemConstraintCriteria for that item type).
type ItemConstraint struct {
	ItemType     string   `json:"item_type"`
	Constraint   string   `json:"constraint"`
	ItemPriceIDs []string `json:"item_price_ids,omitempty"`
	Object       string   `json:"object,omitempty"`
}

// ItemConstraintCriteria is one entry of coupon.item_constraint_criteria:
// the coupon applies to item prices of ItemType in any of these currencies,
// item families and billing period units (day, week, month, year); an
// empty list does not restrict.
type ItemConstraintCriteria struct {
	ItemType         string   `json:"item_type"`
	Currencies       []string `json:"currencies,omitempty"`
	ItemFamilyIDs    []string `json:"item_family_ids,omitempty"`
	ItemPricePeriods []string `json:"item_price_periods,omitempty"`
	Object           string   `json:"object,omitempty"`
}
