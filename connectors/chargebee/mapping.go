package chargebee

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// ts converts Unix seconds to UTC; 0 (absent) is the zero time.
func ts(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func ref(id string, updated int64) record.Ref {
	return record.Ref{System: record.Chargebee, ID: id, Modified: ts(updated)}
}

// mapStatus normalises Chargebee subscription statuses.
func mapStatus(s string) string {
	switch s {
	case "future":
		return record.StatusFuture
	case "in_trial":
		return record.StatusTrialing
	case "active":
		return record.StatusActive
	case "non_renewing":
		return record.StatusNonRenewing
	case "paused":
		return record.StatusPaused
	case "cancelled", "transferred":
		return record.StatusCanceled
	}
	return s
}

// stringMap flattens a JSON object into strings (non-strings as JSON).
func stringMap(m map[string]any, into map[string]string) map[string]string {
	for k, v := range m {
		if into == nil {
			into = map[string]string{}
		}
		switch x := v.(type) {
		case string:
			into[k] = x
		case nil:
		default:
			b, _ := json.Marshal(x)
			into[k] = string(b)
		}
	}
	return into
}

// mapCustomer maps a customer; raw is the same object, read again for the
// site's custom fields (top-level cf_* attributes), kept in Metadata both as
// "cf_x" and, unless meta_data has the key, as "x" (so a custom field
// cf_salesforce_account_id matches like Stripe metadata does).
func mapCustomer(w wireCustomer, raw json.RawMessage) record.Customer {
	name := w.Company
	if name == "" {
		name = strings.TrimSpace(w.FirstName + " " + w.LastName)
	}
	md := stringMap(w.MetaData, nil)
	var all map[string]any
	if json.Unmarshal(raw, &all) == nil {
		cf := map[string]any{}
		for k, v := range all {
			if strings.HasPrefix(k, "cf_") {
				cf[k] = v
			}
		}
		md = stringMap(cf, md)
		for k, v := range cf {
			if s, ok := v.(string); ok {
				if _, taken := md[k[3:]]; !taken {
					md[k[3:]] = s
				}
			}
		}
	}
	return record.Customer{
		Ref:      ref(w.ID, w.UpdatedAt),
		Name:     name,
		Email:    w.Email,
		Currency: strings.ToUpper(w.PreferredCurrencyCode),
		Created:  ts(w.CreatedAt),
		Metadata: md,
		Deleted:  w.Deleted,
	}
}

// catalog resolves item prices and coupons by id.
type catalog interface {
	itemPrice(id string) (itemPrice, bool)
	coupon(id string) (coupon, bool)
}

func interval(unit string, count int) (string, int) {
	if count <= 0 {
		count = 1
	}
	return unit, count
}

// mapSubscription maps a product catalog 2.0 subscription.
func mapSubscription(w wireSubscription, cat catalog) record.Subscription {
	s := record.Subscription{
		Ref:                ref(w.ID, w.UpdatedAt),
		CustomerID:         w.CustomerID,
		Status:             mapStatus(w.Status),
		Currency:           strings.ToUpper(w.CurrencyCode),
		Created:            ts(w.CreatedAt),
		StartDate:          ts(w.StartedAt),
		TrialStart:         ts(w.TrialStart),
		TrialEnd:           ts(w.TrialEnd),
		CurrentPeriodStart: ts(w.CurrentTermStart),
		CurrentPeriodEnd:   ts(w.CurrentTermEnd),
		VendorMRR:          minorPtr(w.CurrencyCode, w.MRR),
		Metadata:           stringMap(w.MetaData, nil),
		Deleted:            w.Deleted,
	}
	if s.StartDate.IsZero() {
		s.StartDate = ts(w.StartDate) // future subscriptions: the scheduled start
	}
	switch w.Status {
	case "cancelled":
		s.EndedAt = ts(w.CancelledAt)
		s.CanceledAt = ts(w.CancelScheduleCreatedAt)
		if s.CanceledAt.IsZero() {
			s.CanceledAt = s.EndedAt
		}
	case "non_renewing":
		// Chargebee sets cancelled_at to the scheduled cancellation date,
		// the end of the current term unless a date was chosen.
		s.CancelAtPeriodEnd = w.CancelledAt == 0 || w.CancelledAt == w.CurrentTermEnd
		s.CancelAt = ts(w.CancelledAt)
		if s.CancelAt.IsZero() {
			s.CancelAt = s.CurrentPeriodEnd
		}
		s.CanceledAt = ts(w.CancelScheduleCreatedAt)
	default:
		s.CancelAt = ts(w.CancelledAt)
	}

	// Discounts by item price id, for those that apply to items only.
	itemDiscounts := map[string][]record.Discount{}
	if len(w.Discounts) > 0 {
		for _, d := range w.Discounts {
			rd, ok := discountFrom(d.Type, d.Percentage, d.Amount, cmp.Or(d.CurrencyCode, w.CurrencyCode), d.DurationType, d.Period, d.PeriodUnit, 0, d.IncludedInMRR)
			if !ok {
				continue
			}
			rd.ID, rd.CouponID = d.ID, d.CouponID
			rd.Start, rd.End = ts(d.CreatedAt), ts(d.ApplyTill)
			if d.ApplyOn == "specific_item_price" && d.ItemPriceID != "" {
				itemDiscounts[d.ItemPriceID] = append(itemDiscounts[d.ItemPriceID], rd)
			} else {
				s.Discounts = append(s.Discounts, rd)
			}
		}
	} else {
		for _, c := range w.Coupons {
			cp, ok := cat.coupon(c.CouponID)
			if !ok {
				continue
			}
			rd, ok := discountFrom(cp.DiscountType, cp.DiscountPercentage, cp.DiscountAmount, cmp.Or(cp.CurrencyCode, w.CurrencyCode), cp.DurationType, cp.Period, cp.PeriodUnit, cp.DurationMonth, cp.IncludedInMRR)
			if !ok {
				continue
			}
			rd.ID, rd.CouponID, rd.End = c.CouponID, c.CouponID, ts(c.ApplyTill)
			switch cp.ApplyOn {
			case "each_specified_item", "each_unit_of_specified_items", "specified_items_total":
				itemCoupon(w, cp, rd, cat, itemDiscounts)
			default: // invoice_amount
				s.Discounts = append(s.Discounts, rd)
			}
		}
	}

	for _, si := range w.SubscriptionItems {
		it := mapItem(w, si, cat)
		it.Discounts = itemDiscounts[si.ItemPriceID]
		s.Items = append(s.Items, it)
	}
	return s
}

// itemCoupon hands a coupon that applies to specified items (docs:
// "Coupons > Coupon object > apply_on") to the subscription items its item
// constraints allow, never to the whole subscription: each_specified_item
// discounts each of them by the coupon's terms; each_unit_of_specified_items
// multiplies a fixed amount by the item's charged quantity;
// specified_items_total takes a fixed amount once, from the first allowed
// item (a percentage discounts each allowed item alike).
func itemCoupon(w wireSubscription, cp coupon, rd record.Discount, cat catalog, into map[string][]record.Discount) {
	taken := false
	for _, si := range w.SubscriptionItems {
		if !couponAllows(cp, si, w.CurrencyCode, cat) {
			continue
		}
		d := rd
		if d.AmountOff > 0 {
			switch cp.ApplyOn {
			case "each_unit_of_specified_items":
				d.AmountOff *= max(si.Quantity-si.FreeQuantity, 1)
			case "specified_items_total":
				if taken {
					continue
				}
			}
		}
		taken = true
		into[si.ItemPriceID] = append(into[si.ItemPriceID], d)
	}
}

// couponAllows applies a coupon's item_constraints to one subscription
// item (docs: "Coupons > Coupon object > item_constraints",
// "item_constraint_criteria"): the entry for the item's type decides; all
// allows, specific allows the listed item prices, criteria allows item
// prices matching every non-empty list (currencies, item families, period
// units) of a criteria entry for that type; none, or no entry, refuses.
func couponAllows(cp coupon, si wireSubscriptionItem, currency string, cat catalog) bool {
	for _, ic := range cp.ItemConstraints {
		if ic.ItemType != si.ItemType {
			continue
		}
		switch ic.Constraint {
		case "all":
			return true
		case "specific":
			return slices.Contains(ic.ItemPriceIDs, si.ItemPriceID)
		case "criteria":
			ip, _ := cat.itemPrice(si.ItemPriceID)
			unit := cmp.Or(si.BillingPeriodUnit, ip.PeriodUnit)
			for _, cr := range cp.ItemConstraintCriteria {
				if cr.ItemType == si.ItemType && anyOrFold(cr.Currencies, currency) &&
					anyOrFold(cr.ItemFamilyIDs, ip.ItemFamilyID) && anyOrFold(cr.ItemPricePeriods, unit) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// anyOrFold reports whether list is empty or holds v, ignoring case.
func anyOrFold(list []string, v string) bool {
	return len(list) == 0 || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

// mapItem maps one subscription item. Period comes from the item, then its
// item price, then (plans and addons share it) the subscription; the
// pricing model and tiers from the subscription's item_tiers or the item
// price. Amounts are converted to ISO minor units of the subscription's
// currency (currency.go).
func mapItem(w wireSubscription, si wireSubscriptionItem, cat catalog) record.Item {
	ip, _ := cat.itemPrice(si.ItemPriceID)
	cur := w.CurrencyCode
	it := record.Item{
		ID:                 si.ItemPriceID,
		PriceID:            si.ItemPriceID,
		ProductID:          ip.ItemID,
		Currency:           strings.ToUpper(w.CurrencyCode),
		Quantity:           si.Quantity,
		UsageType:          record.UsageLicensed,
		BillingScheme:      record.SchemePerUnit,
		Recurring:          si.ItemType != "charge",
		CurrentPeriodStart: ts(si.CurrentTermStart),
		CurrentPeriodEnd:   ts(si.CurrentTermEnd),
	}
	switch {
	case !it.Recurring:
	case si.BillingPeriodUnit != "":
		it.Interval, it.IntervalCount = interval(si.BillingPeriodUnit, si.BillingPeriod)
	case ip.PeriodUnit != "":
		it.Interval, it.IntervalCount = interval(ip.PeriodUnit, ip.Period)
	default:
		it.Interval, it.IntervalCount = interval(w.BillingPeriodUnit, w.BillingPeriod)
	}
	var tiers []wireTier
	for _, t := range w.ItemTiers {
		if t.ItemPriceID == si.ItemPriceID {
			tiers = append(tiers, t)
		}
	}
	if len(tiers) == 0 {
		tiers = ip.Tiers
	}
	model := ip.PricingModel
	if model == "" {
		switch {
		case len(tiers) > 0:
			model = "tiered" // unknown item price: Chargebee's default tiered model
		case si.Quantity == 0:
			model = "flat_fee"
		default:
			model = "per_unit"
		}
	}
	// Only the quantity above free_quantity is charged (docs: "Subscriptions
	// > subscription_items[].free_quantity"; item prices with a quantity).
	switch model {
	case "flat_fee":
		it.Quantity = 1
		it.UnitAmount = minor(cur, cmp.Or(si.UnitPrice, si.Amount))
	case "per_unit":
		it.FreeQuantity = si.FreeQuantity
		it.UnitAmount = minor(cur, si.UnitPrice)
		if si.UnitPrice == 0 && si.Amount == 0 {
			it.UnitAmount = minor(cur, ip.Price)
		}
	case "tiered", "volume", "stairstep":
		it.FreeQuantity = si.FreeQuantity
		it.BillingScheme = record.SchemeTiered
		it.TiersMode = record.TiersVolume
		if model == "tiered" {
			it.TiersMode = record.TiersGraduated
		}
		for _, t := range tiers {
			rt := record.Tier{UpTo: t.EndingUnit, UnitAmount: minor(cur, t.Price)}
			if model == "stairstep" {
				rt = record.Tier{UpTo: t.EndingUnit, FlatAmount: minor(cur, t.Price)}
			}
			it.Tiers = append(it.Tiers, rt)
		}
	default:
		// package (and models added later): the item's amount for the
		// current quantity, as one unit.
		it.Quantity = 1
		it.UnitAmount = minor(cur, si.Amount)
	}
	return it
}

// discountFrom maps a coupon or discount's terms; offer_quantity (free
// units, no money) is skipped. A one_time discount counts towards MRR only
// when included_in_mrr says so (docs: "Subscriptions > discounts[].
// included_in_mrr", "Coupons > included_in_mrr": applicable to one_time
// only, and false when the site leaves one-time discounts out of MRR).
// A fixed amount is converted to ISO minor units of currency.
func discountFrom(typ string, pct float64, amount int64, currency, duration string, period int, unit string, months int, includedInMRR bool) (record.Discount, bool) {
	d := record.Discount{ExcludedFromMRR: duration == "one_time" && !includedInMRR}
	switch typ {
	case "percentage":
		d.PercentOff = pct
	case "fixed_amount":
		d.AmountOff, d.Currency = minor(currency, amount), strings.ToUpper(currency)
	default:
		return d, false
	}
	switch duration {
	case "one_time":
		d.Duration = record.DurationOnce
	case "limited_period":
		d.Duration = record.DurationRepeating
		switch unit {
		case "year":
			d.DurationInMonths = 12 * period
		case "month":
			d.DurationInMonths = period
		case "week":
			d.DurationInMonths = (7*period + 29) / 30
		case "day":
			d.DurationInMonths = (period + 29) / 30
		default:
			d.DurationInMonths = months
		}
	default:
		d.Duration = record.DurationForever
	}
	return d, true
}

// mapInvoice maps an invoice. Chargebee statuses: paid, posted (open, not
// yet due or no collection attempted), payment_due (a collection attempt
// failed, dunning in progress), not_paid (collection failed for good),
// voided, pending (not yet closed). Amounts are converted to ISO minor
// units of the invoice's currency (currency.go).
func mapInvoice(w wireInvoice, cat catalog) record.Invoice {
	cur := w.CurrencyCode
	in := record.Invoice{
		Ref:            ref(w.ID, w.UpdatedAt),
		CustomerID:     w.CustomerID,
		SubscriptionID: w.SubscriptionID,
		Number:         w.ID,
		Currency:       strings.ToUpper(w.CurrencyCode),
		Subtotal:       minor(cur, w.SubTotal),
		Tax:            minor(cur, w.Tax),
		Total:          minor(cur, w.Total),
		AmountDue:      minor(cur, w.AmountDue),
		AmountPaid:     minor(cur, w.AmountPaid),
		Created:        ts(w.Date),
		DueDate:        ts(w.DueDate),
		PaidAt:         ts(w.PaidAt),
		Deleted:        w.Deleted,
	}
	switch w.Status {
	case "paid":
		in.Status, in.Paid = record.InvoicePaid, true
	case "posted":
		in.Status = record.InvoiceOpen
	case "payment_due":
		in.Status, in.PaymentFailed = record.InvoiceOpen, true
	case "not_paid":
		in.Status, in.PaymentFailed = record.InvoiceUncollectible, true
	case "voided":
		in.Status = record.InvoiceVoid
	case "pending":
		in.Status = record.InvoiceDraft
	default:
		in.Status = w.Status
	}
	failed := func(s string) bool { return s == "failure" || s == "timeout" || s == "late_failure" }
	for _, p := range w.LinkedPayments {
		if failed(p.TxnStatus) {
			in.PaymentFailed = true
		}
	}
	for _, a := range w.DunningAttempts {
		if failed(a.TxnStatus) {
			in.PaymentFailed = true
		}
	}
	in.AttemptCount = max(len(w.DunningAttempts), len(w.LinkedPayments))
	for _, l := range w.LineItems {
		rl := record.InvoiceLine{
			ID:             l.ID,
			SubscriptionID: l.SubscriptionID,
			Description:    l.Description,
			Quantity:       l.Quantity,
			Amount:         minor(cur, l.Amount),
			// discount_amount is "Total discounts for this line" and already
			// includes item_level_discount_amount (docs: "Invoices > Invoice
			// object > line_items").
			DiscountAmount: minor(cur, l.DiscountAmount),
			Currency:       in.Currency,
			PeriodStart:    ts(l.DateFrom),
			PeriodEnd:      ts(l.DateTo),
			Recurring:      l.EntityType == "plan_item_price" || l.EntityType == "addon_item_price",
		}
		if strings.HasSuffix(l.EntityType, "_item_price") {
			rl.PriceID = l.EntityID
			rl.SubscriptionItemID = l.EntityID // subscription items are keyed by item price
		}
		if rl.Recurring {
			rl.UsageType = record.UsageLicensed
			if ip, ok := cat.itemPrice(l.EntityID); ok && ip.PeriodUnit != "" {
				rl.Interval, rl.IntervalCount = interval(ip.PeriodUnit, ip.Period)
			}
		}
		if in.PeriodStart.IsZero() || (!rl.PeriodStart.IsZero() && rl.PeriodStart.Before(in.PeriodStart)) {
			in.PeriodStart = rl.PeriodStart
		}
		if rl.PeriodEnd.After(in.PeriodEnd) {
			in.PeriodEnd = rl.PeriodEnd
		}
		in.Lines = append(in.Lines, rl)
	}
	return in
}

// decodeEntry unmarshals entry[key] of a list element or retrieve body.
func decodeEntry(entry map[string]json.RawMessage, key string, out any) error {
	raw, ok := entry[key]
	if !ok {
		return fmt.Errorf("response entry has no %q", key)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding %s: %w", key, err)
	}
	return nil
}
