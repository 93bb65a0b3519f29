package demoworld

import (
	"fmt"
	"time"

	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
)

// LoadChargebee seeds the Chargebee half (product catalog 2.0): item
// prices, coupons, customers (meta_data hubspot_company_id on most),
// subscriptions as they stand at Options.Now, invoices with line items,
// linked payments and dunning attempts, and the payment transactions.
// Chargebee's fake stores records as given, so every timestamp comes from
// the plan. LoadHubSpot must run first.
func (w *World) LoadChargebee(s *chargebeetest.Server) error {
	catalogAt := w.start.AddDate(0, -1, 0).Unix()
	for _, p := range w.prices {
		if p.System != sysChargebee {
			continue
		}
		s.PutItemPrice(chargebeetest.ItemPrice{ID: p.ID, Name: p.ID, ItemID: p.Product, ItemType: "plan", PricingModel: "per_unit",
			Price: p.Unit, Period: 1, PeriodUnit: p.Interval, CurrencyCode: p.Currency, CreatedAt: catalogAt, UpdatedAt: catalogAt})
	}
	for _, c := range w.coupons {
		if c.System != sysChargebee {
			continue
		}
		cp := chargebeetest.Coupon{ID: c.ID, Name: c.Name, ApplyOn: "invoice_amount", CreatedAt: catalogAt, UpdatedAt: catalogAt}
		if c.Percent > 0 {
			cp.DiscountType, cp.DiscountPercentage = "percentage", c.Percent
		} else {
			cp.DiscountType, cp.DiscountAmount, cp.CurrencyCode = "fixed_amount", c.Amount, c.Currency
		}
		if c.Months > 0 {
			cp.DurationType, cp.Period, cp.PeriodUnit = "limited_period", c.Months, "month"
		} else {
			cp.DurationType = "forever"
		}
		s.PutCoupon(cp)
	}
	for _, c := range w.customers {
		if c.System != sysChargebee {
			continue
		}
		var meta map[string]any
		if c.MetaOf != nil {
			if c.MetaOf.crmID == "" {
				return fmt.Errorf("customer %s: %w", c.ID, ErrNotLoaded)
			}
			meta = map[string]any{"hubspot_company_id": c.MetaOf.crmID}
		}
		company := ""
		if c.Account != nil {
			company = c.Name
		}
		updated := c.Created
		for _, sb := range c.Subs {
			updated = maxTime(updated, sb.Created)
		}
		s.PutCustomer(chargebeetest.Customer{ID: c.ID, FirstName: c.First, LastName: c.Last, Email: c.Email, Company: company,
			PreferredCurrencyCode: c.Currency, AutoCollection: "on", CreatedAt: c.Created.Unix(), UpdatedAt: updated.Unix(), MetaData: meta})
		for _, sb := range c.Subs {
			s.PutSubscription(w.chargebeeSub(sb))
			for _, in := range sb.Invoices {
				inv, txns := w.chargebeeInvoice(in)
				s.PutInvoice(inv)
				for _, t := range txns {
					s.PutTransaction(t)
				}
			}
		}
	}
	return nil
}

// chargebeeSub is the subscription as Chargebee shows it at Options.Now.
func (w *World) chargebeeSub(sb *sub) chargebeetest.Subscription {
	now := w.now
	ph := sb.phaseAt(now)
	x := chargebeetest.Subscription{
		ID: sb.ID, CustomerID: sb.Customer.ID, CurrencyCode: sb.Currency, BillingPeriod: 1, BillingPeriodUnit: sb.Interval,
		StartDate: sb.Start.Unix(), CreatedAt: sb.Created.Unix(), StartedAt: sb.Start.Unix(),
		SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: ph.Price.ID, ItemType: "plan", Quantity: ph.Qty,
			UnitPrice: ph.Price.Unit, Amount: ph.Price.Amount(ph.Qty), BillingPeriod: 1, BillingPeriodUnit: sb.Interval}},
	}
	updated := sb.Created
	if !sb.TrialEnd.IsZero() {
		x.TrialStart, x.TrialEnd = sb.Start.Unix(), sb.TrialEnd.Unix()
		x.SubscriptionItems[0].TrialEnd = sb.TrialEnd.Unix()
	}
	if len(sb.Periods) > 0 {
		p := sb.Periods[len(sb.Periods)-1]
		x.CurrentTermStart, x.CurrentTermEnd = p.Start.Unix(), p.End.Unix()
		x.SubscriptionItems[0].CurrentTermStart, x.SubscriptionItems[0].CurrentTermEnd = x.CurrentTermStart, x.CurrentTermEnd
		x.ActivatedAt = sb.anchor().Unix()
		updated = maxTime(updated, p.Start)
	}
	for _, ph := range sb.Phases[1:] {
		updated = maxTime(updated, ph.From)
	}
	var dues int64
	for _, in := range sb.Invoices {
		if in.PaidAt.IsZero() && len(in.Failures) > 0 {
			x.DueInvoicesCount++
			dues += in.Total()
			updated = maxTime(updated, in.Failures[len(in.Failures)-1])
		}
	}
	x.TotalDues = dues
	mrr := ph.Price.Amount(ph.Qty)
	switch {
	case now.Before(sb.TrialEnd):
		x.Status = "in_trial"
		x.NextBillingAt = sb.TrialEnd.Unix()
		mrr = 0
	case !sb.EndedAt.IsZero() && !sb.EndedAt.After(now):
		x.Status = "cancelled"
		x.CancelledAt = sb.EndedAt.Unix()
		x.CurrentTermStart, x.CurrentTermEnd = 0, 0
		x.SubscriptionItems[0].CurrentTermStart, x.SubscriptionItems[0].CurrentTermEnd = 0, 0
		updated = maxTime(updated, sb.EndedAt)
		mrr = 0
	case !sb.CanceledAt.IsZero():
		x.Status = "non_renewing"
		x.CancelledAt = sb.EndedAt.Unix() // Chargebee: when it will be cancelled
		x.CancelScheduleCreatedAt = sb.CanceledAt.Unix()
		x.HasScheduledChanges = false
		updated = maxTime(updated, sb.CanceledAt)
	default:
		x.Status = "active"
		x.NextBillingAt = x.CurrentTermEnd
	}
	if c := sb.Coupon; c != nil && mrr > 0 {
		applied := 0
		var till int64
		if c.Months > 0 {
			end := sb.Start.AddDate(0, c.Months, 0)
			till = end.Unix()
			for _, p := range sb.Periods {
				if p.Start.Before(end) {
					applied++
				}
			}
			if !end.After(now) {
				c = nil // expired coupons drop off the subscription
			}
		} else {
			applied = len(sb.Periods)
		}
		if c != nil {
			x.Coupons = []chargebeetest.SubscriptionCoupon{{CouponID: c.ID, ApplyTill: till, AppliedCount: applied}}
			if c.Percent > 0 {
				mrr -= int64(float64(mrr) * c.Percent / 100)
			} else {
				mrr -= min(c.Amount, mrr)
			}
		}
	}
	if sb.Interval == "year" {
		mrr /= 12
	}
	x.MRR = &mrr
	x.UpdatedAt = updated.Unix()
	x.MetaData = map[string]any{}
	return x
}

// chargebeeInvoice is an invoice with its line, payments and dunning
// attempts, plus its transactions (failed attempts, then the payment).
func (w *World) chargebeeInvoice(in *invoice) (chargebeetest.Invoice, []chargebeetest.Transaction) {
	sb := in.Sub
	total := in.Total()
	x := chargebeetest.Invoice{
		ID: in.ID, CustomerID: sb.Customer.ID, SubscriptionID: sb.ID, Recurring: true, Date: in.Created.Unix(),
		DueDate: in.Created.Unix(), CurrencyCode: sb.Currency, SubTotal: in.Amount, Total: total,
		FirstInvoice: in == sb.Invoices[0],
		LineItems: []chargebeetest.LineItem{{ID: in.LineID, DateFrom: in.Period.Start.Unix(), DateTo: in.Period.End.Unix(),
			UnitAmount: in.Price.unitFor(in.Qty), Quantity: in.Qty, Amount: in.Amount, PricingModel: "per_unit",
			DiscountAmount: in.Discount, Description: in.Price.Name + map[string]string{"month": " Monthly", "year": " Yearly"}[in.Price.Interval],
			EntityType: "plan_item_price", EntityID: in.Price.ID, SubscriptionID: sb.ID, CustomerID: sb.Customer.ID}},
	}
	updated := in.Created
	var txns []chargebeetest.Transaction
	txn := func(id, status string, at time.Time) chargebeetest.Transaction {
		t := chargebeetest.Transaction{ID: id, CustomerID: sb.Customer.ID, SubscriptionID: sb.ID, Type: "payment", Status: status,
			Amount: total, CurrencyCode: sb.Currency, Date: at.Unix(), UpdatedAt: at.Unix(),
			LinkedInvoices: []chargebeetest.LinkedInvoice{{InvoiceID: in.ID, AppliedAmount: total, AppliedAt: at.Unix(),
				InvoiceDate: in.Created.Unix(), InvoiceTotal: total, InvoiceStatus: "paid"}}}
		if status == "failure" {
			t.ErrorCode, t.ErrorText = "card_declined", "Your card was declined."
			t.LinkedInvoices[0].InvoiceStatus = "payment_due"
		}
		return t
	}
	for i, f := range in.Failures {
		id := in.FailTxnIDs[i]
		x.DunningAttempts = append(x.DunningAttempts, chargebeetest.DunningAttempt{Attempt: i, TransactionID: id,
			DunningType: "auto_collect", CreatedAt: f.Unix(), TxnStatus: "failure", TxnAmount: total})
		txns = append(txns, txn(id, "failure", f))
		updated = f
	}
	switch {
	case !in.PaidAt.IsZero():
		x.Status, x.PaidAt, x.AmountPaid = "paid", in.PaidAt.Unix(), total
		x.LinkedPayments = []chargebeetest.LinkedPayment{{TxnID: in.TxnID, AppliedAmount: total, AppliedAt: in.PaidAt.Unix(),
			TxnStatus: "success", TxnDate: in.PaidAt.Unix(), TxnAmount: total}}
		txns = append(txns, txn(in.TxnID, "success", in.PaidAt))
		if len(in.Failures) > 0 {
			x.DunningStatus = "success"
		}
		updated = in.PaidAt
	case len(in.Failures) > 0:
		x.Status, x.AmountDue, x.DunningStatus = "payment_due", total, "in_progress"
	default:
		x.Status, x.AmountDue = "posted", total
	}
	x.UpdatedAt = updated.Unix()
	return x, txns
}
