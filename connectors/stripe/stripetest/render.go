package stripetest

import (
	"encoding/json"
	"strconv"
	"time"
)

// Renderers produce the JSON objects of Stripe's API reference. Shapes:
// spec3.json components.schemas customer, price, coupon, discount,
// subscription, subscription_item, invoice, line_item, event (2020-08-27);
// for versions from 2025-03-31.basil, the changelog entries
// "current_period_start/end moved to subscription items", "discounts
// replaces discount", "invoice parent" and "line item pricing and parent"
// (https://docs.stripe.com/changelog/basil).

func basil(version string) bool { return version >= Basil }

func clover(version string) bool { return version >= Clover }

func unix(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of plain values always marshal
	}
	return b
}

func meta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *Server) renderCustomer(c Customer) map[string]any {
	return map[string]any{
		"id": c.ID, "object": "customer", "address": nil, "balance": 0,
		"created": c.Created.Unix(), "currency": nullStr(c.Currency), "default_source": nil,
		"delinquent": false, "description": nil, "discount": nil, "email": nullStr(c.Email),
		"invoice_prefix": "FAKE", "invoice_settings": map[string]any{"custom_fields": nil, "default_payment_method": nil, "footer": nil},
		"livemode": false, "metadata": meta(c.Metadata), "name": nullStr(c.Name), "phone": nil,
		"preferred_locales": []string{}, "shipping": nil, "tax_exempt": "none",
	}
}

func (s *Server) renderPrice(p Price, tiers bool) map[string]any {
	m := map[string]any{
		"id": p.ID, "object": "price", "active": true, "billing_scheme": p.BillingScheme,
		"created": p.Created.Unix(), "currency": p.Currency, "livemode": false, "lookup_key": nil,
		"metadata": map[string]string{}, "nickname": nil, "product": p.Product,
		"recurring": nil, "tiers_mode": nullStr(p.TiersMode), "transform_quantity": nil,
		"type": "one_time", "unit_amount": nil, "unit_amount_decimal": nil,
	}
	if p.Interval != "" {
		m["type"] = "recurring"
		m["recurring"] = map[string]any{"aggregate_usage": nil, "interval": p.Interval,
			"interval_count": p.IntervalCount, "usage_type": p.UsageType}
	}
	if p.BillingScheme != "tiered" {
		m["unit_amount"] = p.UnitAmount
		m["unit_amount_decimal"] = strconv.FormatInt(p.UnitAmount, 10)
	}
	// tiers is an includable property: present only when expanded
	// (https://docs.stripe.com/api/prices/object#price_object-tiers).
	if tiers && p.BillingScheme == "tiered" {
		ts := make([]map[string]any, 0, len(p.Tiers))
		for _, t := range p.Tiers {
			var upTo any // null: the last tier, up to infinity
			if t.UpTo > 0 {
				upTo = t.UpTo
			}
			ts = append(ts, map[string]any{
				"flat_amount": t.FlatAmount, "flat_amount_decimal": strconv.FormatInt(t.FlatAmount, 10),
				"unit_amount": t.UnitAmount, "unit_amount_decimal": strconv.FormatInt(t.UnitAmount, 10),
				"up_to": upTo,
			})
		}
		m["tiers"] = ts
	}
	return m
}

func (s *Server) renderCoupon(c Coupon) map[string]any {
	m := map[string]any{
		"id": c.ID, "object": "coupon", "amount_off": nil, "created": c.Created.Unix(),
		"currency": nil, "duration": c.Duration, "duration_in_months": nil, "livemode": false,
		"max_redemptions": nil, "metadata": map[string]string{}, "name": nil, "percent_off": nil,
		"redeem_by": nil, "times_redeemed": 1, "valid": true,
	}
	if c.AmountOff != 0 {
		m["amount_off"], m["currency"] = c.AmountOff, c.Currency
	} else {
		m["percent_off"] = c.PercentOff
	}
	if c.Duration == "repeating" {
		m["duration_in_months"] = c.DurationInMonths
	}
	return m
}

func (s *Server) renderProduct(p Product) map[string]any {
	return map[string]any{"id": p.ID, "object": "product", "active": true, "created": p.Created.Unix(),
		"livemode": false, "metadata": map[string]string{}, "name": p.Name}
}

// renderDiscount renders a discount of sub (of one of its items when item
// is not empty) for version. Before 2025-09-30.clover the coupon is always
// embedded ("The Discount object": coupon); from clover it sits under
// source.coupon as an ID unless expandCoupon (changelog "Adds the Discount
// source property and removes the Discount coupon property").
func (s *Server) renderDiscount(d Discount, sub Subscription, item, version string, expandCoupon bool) map[string]any {
	m := map[string]any{
		"id": d.ID, "object": "discount", "checkout_session": nil, "customer": sub.Customer,
		"end": unix(d.End), "invoice": nil, "invoice_item": nil, "promotion_code": nil,
		"start": d.Start.Unix(), "subscription": sub.ID, "subscription_item": nullStr(item),
	}
	c, ok := s.coupons[d.Coupon]
	if !clover(version) {
		if ok {
			m["coupon"] = s.renderCoupon(c.v)
		}
		return m
	}
	var coupon any = d.Coupon
	if expandCoupon && ok {
		coupon = s.renderCoupon(c.v)
	}
	m["source"] = map[string]any{"type": "coupon", "coupon": coupon}
	return m
}

// renderDiscounts renders a discounts array: IDs, or the objects when
// expanded.
func (s *Server) renderDiscounts(ds []Discount, sub Subscription, item, version string, expand, expandCoupon bool) []any {
	out := make([]any, 0, len(ds))
	for _, d := range ds {
		if expand {
			out = append(out, s.renderDiscount(d, sub, item, version, expandCoupon))
		} else {
			out = append(out, d.ID)
		}
	}
	return out
}

// renderSubscription renders sub for version with the expansions in exp
// (paths relative to the subscription: items.data.price.tiers, discounts,
// customer).
func (s *Server) renderSubscription(sub Subscription, version string, exp map[string]bool) map[string]any {
	nb := basil(version)
	items := make([]map[string]any, 0, len(sub.Items))
	itemExp := subItemExpand(exp)
	for _, it := range sub.Items {
		items = append(items, s.renderItem(it, sub, version, itemExp))
	}
	itemList := items
	hasMore := false
	if len(itemList) > 10 {
		itemList, hasMore = itemList[:10], true
	}
	m := map[string]any{
		"id": sub.ID, "object": "subscription", "application_fee_percent": nil,
		"billing_cycle_anchor": sub.StartDate.Unix(), "billing_thresholds": nil,
		"cancel_at": unix(sub.CancelAt), "cancel_at_period_end": sub.CancelAtPeriodEnd,
		"canceled_at": unix(sub.CanceledAt), "collection_method": "charge_automatically",
		"created": sub.Created.Unix(), "currency": sub.Currency, "customer": sub.Customer,
		"days_until_due": nil, "default_payment_method": nil, "default_source": nil,
		"default_tax_rates": []any{}, "ended_at": unix(sub.EndedAt),
		"items": map[string]any{"object": "list", "data": itemList, "has_more": hasMore,
			"total_count": len(items), "url": "/v1/subscription_items?subscription=" + sub.ID},
		"latest_invoice": nil, "livemode": false, "metadata": meta(sub.Metadata),
		"pause_collection": nil, "pending_setup_intent": nil, "pending_update": nil, "schedule": nil,
		"start_date": sub.StartDate.Unix(), "status": sub.Status, "transfer_data": nil,
		"trial_end": unix(sub.TrialEnd), "trial_start": unix(sub.TrialStart),
	}
	if exp["customer"] {
		if c, ok := s.customers[sub.Customer]; ok {
			m["customer"] = s.renderCustomer(c.v)
		}
	}
	if nb {
		m["discounts"] = s.renderDiscounts(sub.Discounts, sub, "", version,
			exp["discounts"] || exp["discounts.source.coupon"], exp["discounts.source.coupon"])
	} else {
		m["current_period_start"] = sub.CurrentPeriodStart.Unix()
		m["current_period_end"] = sub.CurrentPeriodEnd.Unix()
		m["discount"] = nil
		if len(sub.Discounts) > 0 {
			m["discount"] = s.renderDiscount(sub.Discounts[0], sub, "", version, false)
		}
	}
	return m
}

// renderItem renders a subscription item with the expansions in exp
// (relative to the item: price.tiers, discounts, discounts.source.coupon).
// Item discounts are IDs unless expanded ("The Subscription Item object":
// discounts, expandable).
func (s *Server) renderItem(it SubscriptionItem, sub Subscription, version string, exp map[string]bool) map[string]any {
	m := map[string]any{
		"id": it.ID, "object": "subscription_item", "billing_thresholds": nil,
		"created": it.Created.Unix(), "metadata": map[string]string{}, "quantity": it.Quantity,
		"subscription": sub.ID, "tax_rates": []any{},
		"discounts": s.renderDiscounts(it.Discounts, sub, it.ID, version,
			exp["discounts"] || exp["discounts.source.coupon"], exp["discounts.source.coupon"]),
	}
	if p, ok := s.prices[it.Price]; ok {
		m["price"] = s.renderPrice(p.v, exp["price.tiers"])
	}
	if basil(version) {
		m["current_period_start"] = sub.CurrentPeriodStart.Unix()
		m["current_period_end"] = sub.CurrentPeriodEnd.Unix()
	}
	return m
}

// renderInvoice renders in for version; exp may hold "customer".
func (s *Server) renderInvoice(in Invoice, version string, exp map[string]bool) map[string]any {
	var cus *Customer
	if c, ok := s.customers[in.Customer]; ok {
		cus = &c.v
	}
	return s.renderInvoiceOf(in, cus, version, exp)
}

// renderInvoiceOf renders in with its customer cus (nil: unknown).
func (s *Server) renderInvoiceOf(in Invoice, cus *Customer, version string, exp map[string]bool) map[string]any {
	nb := basil(version)
	lines := make([]map[string]any, 0, len(in.Lines))
	for _, l := range in.Lines {
		lines = append(lines, s.renderLine(l, in, version))
	}
	first, hasMore := lines, false
	if len(first) > 10 {
		first, hasMore = first[:10], true
	}
	var next any
	if in.Status == "open" && in.Attempted {
		next = in.Created.Add(72 * time.Hour).Unix()
	}
	m := map[string]any{
		"id": in.ID, "object": "invoice", "account_country": "US", "account_name": "Fake",
		"amount_due": in.Total(), "amount_paid": in.AmountPaid, "amount_remaining": in.Total() - in.AmountPaid,
		"attempt_count": in.AttemptCount, "attempted": in.Attempted, "auto_advance": in.Status != "paid",
		"billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
		"created": in.Created.Unix(), "currency": in.Currency, "customer": in.Customer,
		"description": nil, "discounts": []any{}, "due_date": unix(in.DueDate), "ending_balance": 0,
		"lines": map[string]any{"object": "list", "data": first, "has_more": hasMore,
			"total_count": len(lines), "url": "/v1/invoices/" + in.ID + "/lines"},
		"livemode": false, "metadata": map[string]string{}, "next_payment_attempt": next,
		"number": nullStr(in.Number), "period_end": unix(in.PeriodEnd), "period_start": unix(in.PeriodStart),
		"starting_balance": 0, "status": in.Status,
		"status_transitions": map[string]any{"finalized_at": nil, "marked_uncollectible_at": nil,
			"paid_at": unix(in.PaidAt), "voided_at": nil},
		"subtotal": in.Subtotal(), "total": in.Total(),
	}
	if cus != nil {
		m["customer_email"] = nullStr(cus.Email)
		m["customer_name"] = nullStr(cus.Name)
		if exp["customer"] {
			m["customer"] = s.renderCustomer(*cus)
		}
	}
	if nb {
		m["parent"] = nil
		if in.Subscription != "" {
			m["parent"] = map[string]any{"type": "subscription_details", "quote_details": nil,
				"subscription_details": map[string]any{"metadata": map[string]string{}, "subscription": in.Subscription}}
		}
		m["total_taxes"] = []any{}
		if in.Tax != 0 {
			m["total_taxes"] = []any{map[string]any{"amount": in.Tax, "tax_behavior": "exclusive",
				"taxability_reason": "standard_rated", "taxable_amount": in.Subtotal(), "type": "tax_rate_details"}}
		}
	} else {
		m["subscription"] = nullStr(in.Subscription)
		m["paid"] = in.Status == "paid"
		m["tax"] = nil
		if in.Tax != 0 {
			m["tax"] = in.Tax
		}
	}
	return m
}

func (s *Server) renderLine(l InvoiceLine, in Invoice, version string) map[string]any {
	m := map[string]any{
		"id": l.ID, "object": "line_item", "amount": l.Amount, "currency": in.Currency,
		"description": nullStr(l.Description), "discountable": true, "discounts": []any{},
		"discount_amounts": []any{}, "livemode": false, "metadata": map[string]string{},
		"period":   map[string]any{"start": unix(l.PeriodStart), "end": unix(l.PeriodEnd)},
		"quantity": l.Quantity,
	}
	if l.DiscountAmount != 0 {
		m["discount_amounts"] = []any{map[string]any{"amount": l.DiscountAmount, "discount": "di_fake"}}
	}
	if basil(version) {
		m["invoice"] = in.ID
		m["parent"] = nil
		if l.SubscriptionItem != "" {
			m["parent"] = map[string]any{"type": "subscription_item_details", "invoice_item_details": nil,
				"subscription_item_details": map[string]any{"invoice_item": nil, "proration": l.Proration,
					"proration_details": map[string]any{"credited_items": nil},
					"subscription":      nullStr(l.Subscription), "subscription_item": l.SubscriptionItem}}
		} else {
			m["parent"] = map[string]any{"type": "invoice_item_details", "subscription_item_details": nil,
				"invoice_item_details": map[string]any{"invoice_item": "ii_" + l.ID, "proration": l.Proration,
					"proration_details": map[string]any{"credited_items": nil}, "subscription": nullStr(l.Subscription)}}
		}
		m["pricing"] = nil
		if l.Price != "" {
			p := s.prices[l.Price]
			var unit any
			if p != nil && p.v.BillingScheme != "tiered" {
				unit = strconv.FormatInt(p.v.UnitAmount, 10)
			}
			m["pricing"] = map[string]any{"type": "price_details", "unit_amount_decimal": unit,
				"price_details": map[string]any{"price": l.Price, "product": productOf(p)}}
		}
		return m
	}
	m["proration"] = l.Proration
	m["subscription"] = nullStr(l.Subscription)
	m["subscription_item"] = nullStr(l.SubscriptionItem)
	m["type"] = "invoiceitem"
	if l.SubscriptionItem != "" {
		m["type"] = "subscription"
	}
	m["price"] = nil
	if p, ok := s.prices[l.Price]; ok {
		m["price"] = s.renderPrice(p.v, false)
	}
	return m
}

func productOf(p *entry[Price]) string {
	if p == nil {
		return ""
	}
	return p.v.Product
}

func (s *Server) renderEvent(e event) map[string]any {
	var obj any // null once forgotten
	if e.object != nil {
		obj = e.object()
	}
	return map[string]any{
		"id": e.ID, "object": "event", "account": nil, "api_version": e.APIVersion,
		"created": e.Created.Unix(), "data": map[string]any{"object": obj},
		"livemode": false, "pending_webhooks": len(s.endpoints),
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "type": e.Type,
	}
}
