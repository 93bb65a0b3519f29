package chargebee

import "encoding/json"

// Wire shapes of Chargebee API v2 (product catalog 2.0) resources, as
// documented at https://apidocs.chargebee.com/docs/api/: only the attributes
// the connector maps. Timestamps are Unix seconds; amounts are integers in
// Chargebee's units (two decimals unless zero-decimal), converted to ISO
// minor units when mapped (currency.go); absent attributes decode as zero.

// listPage is the list response: {"list":[{"subscription":{..},"customer":{..}}],"next_offset":"..."}.
type listPage struct {
	List       []map[string]json.RawMessage `json:"list"`
	NextOffset string                       `json:"next_offset"`
}

type wireSubscription struct {
	ID                      string                 `json:"id"`
	CustomerID              string                 `json:"customer_id"`
	Status                  string                 `json:"status"`
	CurrencyCode            string                 `json:"currency_code"`
	BillingPeriod           int                    `json:"billing_period"`
	BillingPeriodUnit       string                 `json:"billing_period_unit"`
	StartDate               int64                  `json:"start_date"`
	TrialStart              int64                  `json:"trial_start"`
	TrialEnd                int64                  `json:"trial_end"`
	CurrentTermStart        int64                  `json:"current_term_start"`
	CurrentTermEnd          int64                  `json:"current_term_end"`
	CreatedAt               int64                  `json:"created_at"`
	StartedAt               int64                  `json:"started_at"`
	CancelledAt             int64                  `json:"cancelled_at"`
	CancelScheduleCreatedAt int64                  `json:"cancel_schedule_created_at"`
	UpdatedAt               int64                  `json:"updated_at"`
	MRR                     *int64                 `json:"mrr"`
	SubscriptionItems       []wireSubscriptionItem `json:"subscription_items"`
	ItemTiers               []wireTier             `json:"item_tiers"`
	Coupons                 []wireSubCoupon        `json:"coupons"`
	Discounts               []wireDiscount         `json:"discounts"`
	MetaData                map[string]any         `json:"meta_data"`
	Deleted                 bool                   `json:"deleted"`
}

type wireSubscriptionItem struct {
	ItemPriceID       string `json:"item_price_id"`
	ItemType          string `json:"item_type"` // plan, addon, charge
	Quantity          int64  `json:"quantity"`
	UnitPrice         int64  `json:"unit_price"`
	Amount            int64  `json:"amount"`
	FreeQuantity      int64  `json:"free_quantity"`
	BillingPeriod     int    `json:"billing_period"`
	BillingPeriodUnit string `json:"billing_period_unit"`
	CurrentTermStart  int64  `json:"current_term_start"`
	CurrentTermEnd    int64  `json:"current_term_end"`
}

// wireTier is both subscription.item_tiers[] (with item_price_id) and
// item_price.tiers[]; ending_unit is absent on the last tier.
type wireTier struct {
	ItemPriceID  string `json:"item_price_id"`
	StartingUnit int64  `json:"starting_unit"`
	EndingUnit   int64  `json:"ending_unit"`
	Price        int64  `json:"price"`
}

type wireSubCoupon struct {
	CouponID     string `json:"coupon_id"`
	ApplyTill    int64  `json:"apply_till"`
	AppliedCount int    `json:"applied_count"`
}

// wireDiscount is subscription.discounts[] (sites using the newer discounts
// attribute).
type wireDiscount struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"` // fixed_amount, percentage, offer_quantity
	Percentage   float64 `json:"percentage"`
	Amount       int64   `json:"amount"`
	CurrencyCode string  `json:"currency_code"`
	DurationType string  `json:"duration_type"` // one_time, forever, limited_period
	Period       int     `json:"period"`
	PeriodUnit   string  `json:"period_unit"`
	ApplyOn      string  `json:"apply_on"` // invoice_amount, specific_item_price
	ItemPriceID  string  `json:"item_price_id"`
	// IncludedInMRR applies to one_time discounts only (docs: "Subscriptions
	// > Subscription object > discounts[].included_in_mrr").
	IncludedInMRR bool   `json:"included_in_mrr"`
	CreatedAt     int64  `json:"created_at"`
	ApplyTill     int64  `json:"apply_till"`
	CouponID      string `json:"coupon_id"`
}

type wireCustomer struct {
	ID                    string         `json:"id"`
	FirstName             string         `json:"first_name"`
	LastName              string         `json:"last_name"`
	Email                 string         `json:"email"`
	Company               string         `json:"company"`
	PreferredCurrencyCode string         `json:"preferred_currency_code"`
	CreatedAt             int64          `json:"created_at"`
	UpdatedAt             int64          `json:"updated_at"`
	MetaData              map[string]any `json:"meta_data"`
	Deleted               bool           `json:"deleted"`
}

type wireInvoice struct {
	ID              string               `json:"id"`
	CustomerID      string               `json:"customer_id"`
	SubscriptionID  string               `json:"subscription_id"`
	Status          string               `json:"status"` // paid, posted, payment_due, not_paid, voided, pending
	Date            int64                `json:"date"`
	DueDate         int64                `json:"due_date"`
	PaidAt          int64                `json:"paid_at"`
	CurrencyCode    string               `json:"currency_code"`
	SubTotal        int64                `json:"sub_total"`
	Tax             int64                `json:"tax"`
	Total           int64                `json:"total"`
	AmountPaid      int64                `json:"amount_paid"`
	AmountDue       int64                `json:"amount_due"`
	UpdatedAt       int64                `json:"updated_at"`
	LineItems       []wireLineItem       `json:"line_items"`
	LinkedPayments  []wireLinkedPayment  `json:"linked_payments"`
	DunningAttempts []wireDunningAttempt `json:"dunning_attempts"`
	Deleted         bool                 `json:"deleted"`
}

type wireLineItem struct {
	ID                      string `json:"id"`
	DateFrom                int64  `json:"date_from"`
	DateTo                  int64  `json:"date_to"`
	UnitAmount              int64  `json:"unit_amount"`
	Quantity                int64  `json:"quantity"`
	Amount                  int64  `json:"amount"`
	DiscountAmount          int64  `json:"discount_amount"`
	ItemLevelDiscountAmount int64  `json:"item_level_discount_amount"`
	Description             string `json:"description"`
	EntityType              string `json:"entity_type"` // plan_item_price, addon_item_price, charge_item_price, adhoc
	EntityID                string `json:"entity_id"`
	SubscriptionID          string `json:"subscription_id"`
}

type wireLinkedPayment struct {
	TxnID     string `json:"txn_id"`
	TxnStatus string `json:"txn_status"`
}

type wireDunningAttempt struct {
	Attempt       int    `json:"attempt"`
	TransactionID string `json:"transaction_id"`
	TxnStatus     string `json:"txn_status"`
}

type wireTransaction struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	LinkedInvoices []struct {
		InvoiceID string `json:"invoice_id"`
	} `json:"linked_invoices"`
}

type itemPrice struct {
	ID           string     `json:"id"`
	ItemID       string     `json:"item_id"`
	ItemType     string     `json:"item_type"`
	ItemFamilyID string     `json:"item_family_id"`
	PricingModel string     `json:"pricing_model"` // flat_fee, per_unit, tiered, volume, stairstep, package
	Price        int64      `json:"price"`
	Period       int        `json:"period"`
	PeriodUnit   string     `json:"period_unit"`
	CurrencyCode string     `json:"currency_code"`
	Tiers        []wireTier `json:"tiers"`
}

type coupon struct {
	ID                 string  `json:"id"`
	DiscountType       string  `json:"discount_type"` // fixed_amount, percentage, offer_quantity
	DiscountPercentage float64 `json:"discount_percentage"`
	DiscountAmount     int64   `json:"discount_amount"`
	CurrencyCode       string  `json:"currency_code"`
	DurationType       string  `json:"duration_type"` // one_time, forever, limited_period
	Period             int     `json:"period"`
	PeriodUnit         string  `json:"period_unit"`
	DurationMonth      int     `json:"duration_month"` // deprecated form of period in months
	// ApplyOn is invoice_amount, each_specified_item,
	// each_unit_of_specified_items or specified_items_total (docs: "Coupons
	// > Coupon object > apply_on"); the last three discount only the item
	// prices ItemConstraints allow.
	ApplyOn                string                       `json:"apply_on"`
	IncludedInMRR          bool                         `json:"included_in_mrr"` // one_time coupons only
	ItemConstraints        []wireItemConstraint         `json:"item_constraints"`
	ItemConstraintCriteria []wireItemConstraintCriteria `json:"item_constraint_criteria"`
}

// wireItemConstraint is coupon.item_constraints[]: constraint none, all,
// specific (item_price_ids) or criteria for one item type.
type wireItemConstraint struct {
	ItemType     string   `json:"item_type"` // plan, addon, charge
	Constraint   string   `json:"constraint"`
	ItemPriceIDs []string `json:"item_price_ids"`
}

// wireItemConstraintCriteria is coupon.item_constraint_criteria[]; an empty
// list does not restrict.
type wireItemConstraintCriteria struct {
	ItemType         string   `json:"item_type"`
	Currencies       []string `json:"currencies"`
	ItemFamilyIDs    []string `json:"item_family_ids"`
	ItemPricePeriods []string `json:"item_price_periods"` // period units: day, week, month, year
}
