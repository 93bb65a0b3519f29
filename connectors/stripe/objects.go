package stripe

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// The types below decode the fields healthsync uses from both API shapes:
// spec3.json (2020-08-27) and the basil/clover changelog entries. Optional
// fields are pointers so "absent" differs from zero.

// expandable is a field that is an ID or, when expanded, an object with an id.
type expandable json.RawMessage

func (e *expandable) UnmarshalJSON(b []byte) error { *e = append((*e)[:0], b...); return nil }

// ID returns the ID whether the field holds a string or an object.
func (e expandable) ID() string {
	if len(e) == 0 || string(e) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(e, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(e, &o)
	return o.ID
}

type apiList[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

type apiCustomer struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Deleted  bool              `json:"deleted"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Currency string            `json:"currency"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
}

type apiTier struct {
	UpTo              *int64 `json:"up_to"` // null: infinity
	UnitAmount        *int64 `json:"unit_amount"`
	UnitAmountDecimal string `json:"unit_amount_decimal"`
	FlatAmount        *int64 `json:"flat_amount"`
}

type apiPrice struct {
	ID                string     `json:"id"`
	Currency          string     `json:"currency"`
	Product           expandable `json:"product"`
	UnitAmount        *int64     `json:"unit_amount"`
	UnitAmountDecimal string     `json:"unit_amount_decimal"`
	BillingScheme     string     `json:"billing_scheme"`
	TiersMode         string     `json:"tiers_mode"`
	Tiers             []apiTier  `json:"tiers"`
	Recurring         *struct {
		Interval      string `json:"interval"`
		IntervalCount int    `json:"interval_count"`
		UsageType     string `json:"usage_type"`
	} `json:"recurring"`
}

type apiCoupon struct {
	ID               string   `json:"id"`
	PercentOff       *float64 `json:"percent_off"`
	AmountOff        *int64   `json:"amount_off"`
	Currency         string   `json:"currency"`
	Duration         string   `json:"duration"`
	DurationInMonths *int     `json:"duration_in_months"`
}

type apiDiscount struct {
	ID     string     `json:"id"`
	Coupon *apiCoupon `json:"coupon"` // until 2025-09-30.clover
	Source *struct {
		Type   string          `json:"type"`
		Coupon json.RawMessage `json:"coupon"` // clover: ID or expanded coupon
	} `json:"source"`
	Start int64  `json:"start"`
	End   *int64 `json:"end"`
}

// sourceCouponID is the coupon ID of a clover discount whose
// source.coupon was not expanded.
func (d *apiDiscount) sourceCouponID() string {
	if d.Source == nil || len(d.Source.Coupon) == 0 {
		return ""
	}
	var id string
	if json.Unmarshal(d.Source.Coupon, &id) != nil {
		return ""
	}
	return id
}

// discountRef is an element of a discounts array: a discount ID, or the
// discount when expanded.
type discountRef struct {
	ID string
	D  *apiDiscount
}

func (r *discountRef) UnmarshalJSON(b []byte) error {
	if json.Unmarshal(b, &r.ID) == nil {
		return nil
	}
	var d apiDiscount
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	r.ID, r.D = d.ID, &d
	return nil
}

type apiItem struct {
	ID                 string        `json:"id"`
	Price              *apiPrice     `json:"price"`
	Quantity           *int64        `json:"quantity"`
	CurrentPeriodStart int64         `json:"current_period_start"` // basil
	CurrentPeriodEnd   int64         `json:"current_period_end"`
	Discounts          []discountRef `json:"discounts"`
}

type apiSubscription struct {
	ID                 string            `json:"id"`
	Customer           expandable        `json:"customer"`
	Status             string            `json:"status"`
	Currency           string            `json:"currency"`
	Items              apiList[apiItem]  `json:"items"`
	Discount           *apiDiscount      `json:"discount"`  // before basil
	Discounts          []discountRef     `json:"discounts"` // IDs, or objects when expanded
	Created            int64             `json:"created"`
	StartDate          int64             `json:"start_date"`
	TrialStart         *int64            `json:"trial_start"`
	TrialEnd           *int64            `json:"trial_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CancelAt           *int64            `json:"cancel_at"`
	CanceledAt         *int64            `json:"canceled_at"`
	EndedAt            *int64            `json:"ended_at"`
	CurrentPeriodStart *int64            `json:"current_period_start"` // before basil
	CurrentPeriodEnd   *int64            `json:"current_period_end"`
	Metadata           map[string]string `json:"metadata"`
}

type apiLine struct {
	ID               string     `json:"id"`
	Amount           int64      `json:"amount"`
	Currency         string     `json:"currency"`
	Description      string     `json:"description"`
	Quantity         *int64     `json:"quantity"`
	Subscription     expandable `json:"subscription"`      // before basil
	SubscriptionItem expandable `json:"subscription_item"` // before basil
	Proration        bool       `json:"proration"`         // before basil
	Price            *apiPrice  `json:"price"`             // before basil
	Period           struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"period"`
	DiscountAmounts []struct {
		Amount int64 `json:"amount"`
	} `json:"discount_amounts"`
	Parent *struct { // basil
		Type                    string `json:"type"`
		SubscriptionItemDetails *struct {
			Subscription     string `json:"subscription"`
			SubscriptionItem string `json:"subscription_item"`
			Proration        bool   `json:"proration"`
		} `json:"subscription_item_details"`
		InvoiceItemDetails *struct {
			Subscription string `json:"subscription"`
			Proration    bool   `json:"proration"`
		} `json:"invoice_item_details"`
	} `json:"parent"`
	Pricing *struct { // basil
		PriceDetails *struct {
			Price expandable `json:"price"`
		} `json:"price_details"`
	} `json:"pricing"`
}

type apiInvoice struct {
	ID           string     `json:"id"`
	Customer     expandable `json:"customer"`
	Subscription expandable `json:"subscription"` // before basil
	Parent       *struct {  // basil
		SubscriptionDetails *struct {
			Subscription expandable `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"`
	Number            string                   `json:"number"`
	Status            string                   `json:"status"`
	Paid              *bool                    `json:"paid"` // removed in basil
	Attempted         bool                     `json:"attempted"`
	AttemptCount      int                      `json:"attempt_count"`
	Currency          string                   `json:"currency"`
	Subtotal          int64                    `json:"subtotal"`
	Tax               *int64                   `json:"tax"` // before basil
	TotalTaxes        []struct{ Amount int64 } `json:"total_taxes"`
	Total             int64                    `json:"total"`
	AmountDue         int64                    `json:"amount_due"`
	AmountPaid        int64                    `json:"amount_paid"`
	Created           int64                    `json:"created"`
	DueDate           *int64                   `json:"due_date"`
	PeriodStart       int64                    `json:"period_start"`
	PeriodEnd         int64                    `json:"period_end"`
	StatusTransitions struct {
		PaidAt *int64 `json:"paid_at"`
	} `json:"status_transitions"`
	Lines apiList[apiLine] `json:"lines"`
}

type apiEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

func ts(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

func tsp(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return ts(*v)
}

func upper(c string) string { return strings.ToUpper(c) }

func (a apiCustomer) record(observed time.Time) record.Customer {
	return record.Customer{
		Ref:  record.Ref{System: record.Stripe, ID: a.ID, Modified: observed},
		Name: a.Name, Email: a.Email, Currency: upper(a.Currency), Created: ts(a.Created),
		Metadata: a.Metadata, Deleted: a.Deleted,
	}
}

func (p *apiPrice) fill(it *record.Item) {
	if p == nil {
		return
	}
	it.PriceID = p.ID
	it.ProductID = p.Product.ID()
	it.Currency = upper(p.Currency)
	it.UnitAmount = minor(p.Currency, p.UnitAmount, p.UnitAmountDecimal)
	it.BillingScheme = p.BillingScheme
	if it.BillingScheme == "" {
		it.BillingScheme = record.SchemePerUnit
	}
	it.TiersMode = p.TiersMode
	for _, t := range p.Tiers {
		var up int64
		if t.UpTo != nil {
			up = *t.UpTo
		}
		it.Tiers = append(it.Tiers, record.Tier{UpTo: up, UnitAmount: minor(p.Currency, t.UnitAmount, t.UnitAmountDecimal), FlatAmount: minor(p.Currency, t.FlatAmount, "")})
	}
	if r := p.Recurring; r != nil {
		it.Recurring = true
		it.Interval, it.IntervalCount, it.UsageType = r.Interval, r.IntervalCount, r.UsageType
		if it.IntervalCount == 0 {
			it.IntervalCount = 1
		}
		if it.UsageType == "" {
			it.UsageType = record.UsageLicensed
		}
	}
}

func (d apiDiscount) record() record.Discount {
	out := record.Discount{ID: d.ID, Start: ts(d.Start), End: tsp(d.End)}
	c := d.Coupon
	if c == nil && d.Source != nil && len(d.Source.Coupon) > 0 {
		var cc apiCoupon
		if json.Unmarshal(d.Source.Coupon, &cc) == nil {
			c = &cc
		} else {
			c = &apiCoupon{ID: d.sourceCouponID()}
		}
	}
	if c != nil {
		out.CouponID, out.Duration, out.Currency = c.ID, c.Duration, upper(c.Currency)
		if c.PercentOff != nil {
			out.PercentOff = *c.PercentOff
		}
		if c.AmountOff != nil {
			out.AmountOff = amount(c.Currency, *c.AmountOff)
		}
		if c.DurationInMonths != nil {
			out.DurationInMonths = *c.DurationInMonths
		}
	}
	return out
}

// discounts maps an array of discount IDs or expanded objects; bare IDs
// (not expanded) keep only the ID.
func discounts(refs []discountRef) []record.Discount {
	var out []record.Discount
	for _, r := range refs {
		if r.D != nil {
			out = append(out, r.D.record())
		} else {
			out = append(out, record.Discount{ID: r.ID})
		}
	}
	return out
}

func (a apiSubscription) record(observed time.Time) record.Subscription {
	s := record.Subscription{
		Ref:        record.Ref{System: record.Stripe, ID: a.ID, Modified: observed},
		CustomerID: a.Customer.ID(), Status: a.Status, Currency: upper(a.Currency),
		Created: ts(a.Created), StartDate: ts(a.StartDate), TrialStart: tsp(a.TrialStart), TrialEnd: tsp(a.TrialEnd),
		CancelAtPeriodEnd: a.CancelAtPeriodEnd, CancelAt: tsp(a.CancelAt), CanceledAt: tsp(a.CanceledAt),
		EndedAt: tsp(a.EndedAt), CurrentPeriodStart: tsp(a.CurrentPeriodStart), CurrentPeriodEnd: tsp(a.CurrentPeriodEnd),
		Metadata: a.Metadata,
	}
	if a.Discount != nil {
		s.Discounts = append(s.Discounts, a.Discount.record())
	}
	if a.Discount == nil || len(a.Discounts) > 1 {
		for _, d := range discounts(a.Discounts) {
			if a.Discount == nil || d.ID != a.Discount.ID {
				s.Discounts = append(s.Discounts, d)
			}
		}
	}
	for _, ai := range a.Items.Data {
		it := record.Item{ID: ai.ID, Quantity: 1,
			CurrentPeriodStart: ts(ai.CurrentPeriodStart), CurrentPeriodEnd: ts(ai.CurrentPeriodEnd),
			Discounts: discounts(ai.Discounts)}
		if ai.Quantity != nil {
			it.Quantity = *ai.Quantity
		}
		ai.Price.fill(&it)
		s.Items = append(s.Items, it)
		// basil and later: no period on the subscription; use the item
		// period that started first.
		if a.CurrentPeriodStart == nil && !it.CurrentPeriodStart.IsZero() &&
			(s.CurrentPeriodStart.IsZero() || it.CurrentPeriodStart.Before(s.CurrentPeriodStart)) {
			s.CurrentPeriodStart, s.CurrentPeriodEnd = it.CurrentPeriodStart, it.CurrentPeriodEnd
		}
		if s.Currency == "" {
			s.Currency = it.Currency
		}
	}
	return s
}

func (l apiLine) record(currency string) record.InvoiceLine {
	out := record.InvoiceLine{
		ID: l.ID, SubscriptionID: l.Subscription.ID(), SubscriptionItemID: l.SubscriptionItem.ID(),
		Description: l.Description, Currency: upper(l.Currency),
		PeriodStart: ts(l.Period.Start), PeriodEnd: ts(l.Period.End), Proration: l.Proration,
	}
	if out.Currency == "" {
		out.Currency = currency
	}
	out.Amount = amount(out.Currency, l.Amount)
	if l.Quantity != nil {
		out.Quantity = *l.Quantity
	}
	for _, d := range l.DiscountAmounts {
		out.DiscountAmount += amount(out.Currency, d.Amount)
	}
	if l.Price != nil {
		var it record.Item
		l.Price.fill(&it)
		out.PriceID, out.Recurring, out.Interval, out.IntervalCount, out.UsageType =
			it.PriceID, it.Recurring, it.Interval, it.IntervalCount, it.UsageType
	}
	if p := l.Parent; p != nil {
		if d := p.SubscriptionItemDetails; d != nil {
			out.SubscriptionID, out.SubscriptionItemID, out.Proration = d.Subscription, d.SubscriptionItem, d.Proration
			// A subscription item line is recurring; its interval comes
			// from the price completeInvoice read (the basil line names
			// the price only by ID).
			out.Recurring = true
		} else if d := p.InvoiceItemDetails; d != nil {
			out.SubscriptionID, out.Proration = d.Subscription, d.Proration
		}
	}
	if p := l.Pricing; p != nil && p.PriceDetails != nil && out.PriceID == "" {
		out.PriceID = p.PriceDetails.Price.ID()
	}
	return out
}

func (a apiInvoice) record(observed time.Time, lines []apiLine) record.Invoice {
	in := record.Invoice{
		Ref:        record.Ref{System: record.Stripe, ID: a.ID, Modified: observed},
		CustomerID: a.Customer.ID(), SubscriptionID: a.Subscription.ID(), Number: a.Number, Status: a.Status,
		AttemptCount: a.AttemptCount, Currency: upper(a.Currency),
		Subtotal: amount(a.Currency, a.Subtotal), Total: amount(a.Currency, a.Total),
		AmountDue: amount(a.Currency, a.AmountDue), AmountPaid: amount(a.Currency, a.AmountPaid), Created: ts(a.Created), DueDate: tsp(a.DueDate),
		PaidAt: tsp(a.StatusTransitions.PaidAt), PeriodStart: ts(a.PeriodStart), PeriodEnd: ts(a.PeriodEnd),
	}
	if p := a.Parent; p != nil && p.SubscriptionDetails != nil && in.SubscriptionID == "" {
		in.SubscriptionID = p.SubscriptionDetails.Subscription.ID()
	}
	if a.Paid != nil {
		in.Paid = *a.Paid
	} else {
		in.Paid = a.Status == record.InvoicePaid
	}
	if a.Tax != nil {
		in.Tax = amount(a.Currency, *a.Tax)
	} else {
		for _, t := range a.TotalTaxes {
			in.Tax += amount(a.Currency, t.Amount)
		}
	}
	// A payment failed when Stripe attempted to collect and the invoice is
	// still unpaid (open or written off as uncollectible): what
	// invoice.payment_failed reports.
	in.PaymentFailed = a.Attempted && !in.Paid && a.AttemptCount > 0 &&
		(a.Status == record.InvoiceOpen || a.Status == record.InvoiceUncollectible)
	for _, l := range lines {
		in.Lines = append(in.Lines, l.record(in.Currency))
	}
	return in
}
