package demoworld

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// op is one seeding step at a point of the fake's clock. Ops run in time
// order (ties in creation order), so events and their timestamps follow
// the history as Stripe would have recorded it.
type op struct {
	at  time.Time
	seq int
	run func() error
}

type opList []op

func (l *opList) add(at time.Time, run func() error) {
	*l = append(*l, op{at: at, seq: len(*l), run: run})
}

// LoadStripe seeds the Stripe half on the fake's clock: it moves the clock
// back to the start of the history, replays products, prices, coupons,
// customers, subscriptions (created, upgraded, downgraded, past due,
// cancelled), invoices (created, failed attempts, paid) in time order, and
// leaves the clock at Options.Now. LoadSalesforce must run first.
func (w *World) LoadStripe(s *stripetest.Server) error {
	var ops opList
	catalogAt := w.start.AddDate(0, -1, 0)
	products := map[string]bool{}
	for _, p := range w.prices {
		if p.System != sysStripe {
			continue
		}
		if !products[p.Product] {
			products[p.Product] = true
			ops.add(catalogAt, func() error {
				s.AddProduct(stripetest.Product{ID: p.Product, Name: p.Name, Created: catalogAt})
				return nil
			})
		}
		ops.add(catalogAt, func() error { s.AddPrice(stripePrice(p, catalogAt)); return nil })
	}
	for _, c := range w.coupons {
		if c.System == sysStripe {
			ops.add(catalogAt, func() error {
				s.AddCoupon(stripetest.Coupon{ID: c.ID, PercentOff: c.Percent, AmountOff: c.Amount, Currency: strings.ToLower(c.Currency),
					Duration: map[bool]string{true: "repeating", false: "forever"}[c.Months > 0], DurationInMonths: c.Months, Created: catalogAt})
				return nil
			})
		}
	}
	for _, c := range w.customers {
		if c.System != sysStripe {
			continue
		}
		meta := map[string]string{}
		if c.MetaOf != nil {
			if c.MetaOf.crmID == "" {
				return fmt.Errorf("customer %s: %w", c.ID, ErrNotLoaded)
			}
			meta["salesforce_account_id"] = c.MetaOf.crmID
		}
		ops.add(c.Created, func() error {
			s.AddCustomer(stripetest.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Currency: c.Currency, Metadata: meta, Created: c.Created})
			return nil
		})
		for _, sb := range c.Subs {
			w.stripeSubOps(s, &ops, sb)
		}
	}
	slices.SortStableFunc(ops, func(a, b op) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, o := range ops {
		s.SetNow(o.at)
		if err := o.run(); err != nil {
			s.SetNow(w.now)
			return fmt.Errorf("seeding stripe: %w", err)
		}
	}
	s.SetNow(w.now)
	return nil
}

func stripePrice(p *price, at time.Time) stripetest.Price {
	sp := stripetest.Price{ID: p.ID, Product: p.Product, Currency: strings.ToLower(p.Currency), UnitAmount: p.Unit,
		Interval: p.Interval, IntervalCount: 1, UsageType: "licensed", BillingScheme: "per_unit", Created: at}
	if len(p.Tiers) > 0 {
		sp.UnitAmount, sp.BillingScheme, sp.TiersMode = 0, "tiered", "volume"
		for _, t := range p.Tiers {
			sp.Tiers = append(sp.Tiers, stripetest.Tier{UpTo: t.UpTo, UnitAmount: t.Unit})
		}
	}
	return sp
}

// stripeSubOps adds the ops of one subscription: created, a snapshot at
// every change (phase, trial end, renewal, cancellation request, payment
// failure and recovery), the end, and its invoices.
func (w *World) stripeSubOps(s *stripetest.Server, ops *opList, sb *sub) {
	ops.add(sb.Created, func() error {
		_, err := s.AddSubscription(w.stripeSub(sb, sb.Created))
		return err
	})
	var changes []time.Time
	for _, ph := range sb.Phases[1:] {
		changes = append(changes, ph.From)
	}
	for _, p := range sb.Periods {
		changes = append(changes, p.Start)
	}
	if !sb.TrialEnd.IsZero() {
		changes = append(changes, sb.TrialEnd)
	}
	if !sb.CanceledAt.IsZero() && sb.CanceledAt != sb.EndedAt {
		changes = append(changes, sb.CanceledAt)
	}
	for _, in := range sb.Invoices {
		if len(in.Failures) > 0 {
			changes = append(changes, in.Failures[0])
			if !in.PaidAt.IsZero() {
				changes = append(changes, in.PaidAt)
			}
		}
	}
	slices.SortFunc(changes, time.Time.Compare)
	changes = slices.Compact(changes)
	prev := w.stripeSub(sb, sb.Created)
	for _, t := range changes {
		if !t.After(sb.Created) || t.After(w.now) || !sb.EndedAt.IsZero() && !t.Before(sb.EndedAt) {
			continue
		}
		snap := w.stripeSub(sb, t)
		if reflect.DeepEqual(snap, prev) {
			continue
		}
		prev = snap
		ops.add(t, func() error { return s.UpdateSubscription(sb.ID, func(x *stripetest.Subscription) { *x = snap }) })
	}
	if !sb.EndedAt.IsZero() && !sb.EndedAt.After(w.now) {
		ops.add(sb.EndedAt, func() error { return s.CancelSubscription(sb.ID) })
	}
	for _, in := range sb.Invoices {
		w.stripeInvoiceOps(s, ops, in)
	}
}

// stripeSub is the subscription as Stripe shows it at t.
func (w *World) stripeSub(sb *sub, t time.Time) stripetest.Subscription {
	ph := sb.phaseAt(t)
	x := stripetest.Subscription{
		ID: sb.ID, Customer: sb.Customer.ID, Currency: strings.ToLower(sb.Currency), Created: sb.Created, StartDate: sb.Start,
		Items:    []stripetest.SubscriptionItem{{ID: sb.ItemID, Price: ph.Price.ID, Quantity: ph.Qty, Created: sb.Created}},
		Metadata: map[string]string{},
	}
	if !sb.TrialEnd.IsZero() {
		x.TrialStart, x.TrialEnd = sb.Start, sb.TrialEnd
	}
	x.CurrentPeriodStart, x.CurrentPeriodEnd = sb.Start, sb.TrialEnd
	for _, p := range sb.Periods {
		if !p.Start.After(t) {
			x.CurrentPeriodStart, x.CurrentPeriodEnd = p.Start, p.End
		}
	}
	x.Status = "active"
	switch {
	case t.Before(sb.TrialEnd):
		x.Status = "trialing"
	case !sb.EndedAt.IsZero() && !t.Before(sb.EndedAt):
		x.Status = "canceled"
		x.EndedAt = sb.EndedAt
	default:
		for _, in := range sb.Invoices {
			if len(in.Failures) > 0 && !in.Failures[0].After(t) && (in.PaidAt.IsZero() || in.PaidAt.After(t)) {
				x.Status = "past_due"
			}
		}
	}
	if !sb.CanceledAt.IsZero() && !sb.CanceledAt.After(t) {
		x.CanceledAt = sb.CanceledAt
		if sb.EndedAt.After(t) {
			x.CancelAtPeriodEnd, x.CancelAt = true, sb.EndedAt
		}
	}
	if c := sb.Coupon; c != nil {
		d := stripetest.Discount{ID: sb.DiscountID, Coupon: c.ID, Start: sb.Start}
		if c.Months > 0 {
			d.End = sb.Start.AddDate(0, c.Months, 0)
		}
		if d.End.IsZero() || d.End.After(t) {
			x.Discounts = []stripetest.Discount{d}
		}
	}
	return x
}

// stripeInvoiceOps adds an invoice: created (paid at once when nothing
// failed), then its failed attempts and its payment.
func (w *World) stripeInvoiceOps(s *stripetest.Server, ops *opList, in *invoice) {
	sb := in.Sub
	cur := strings.ToLower(sb.Currency)
	line := stripetest.InvoiceLine{
		ID: in.LineID, Price: in.Price.ID, Subscription: sb.ID, SubscriptionItem: sb.ItemID,
		Description: fmt.Sprintf("%d × %s (at %s / %s)", in.Qty, in.Price.Name, money(in.Price.unitFor(in.Qty), sb.Currency), in.Price.Interval),
		Quantity:    in.Qty, Amount: in.Amount, DiscountAmount: in.Discount, PeriodStart: in.Period.Start, PeriodEnd: in.Period.End,
	}
	x := stripetest.Invoice{ID: in.ID, Customer: sb.Customer.ID, Subscription: sb.ID, Number: in.Number, Status: "open",
		Currency: cur, Lines: []stripetest.InvoiceLine{line}, Created: in.Created, PeriodStart: in.Period.Start, PeriodEnd: in.Period.End}
	clean := len(in.Failures) == 0 && !in.PaidAt.IsZero()
	if clean {
		x.Status, x.PaidAt = "paid", in.PaidAt
	}
	ops.add(in.Created, func() error { _, err := s.AddInvoice(x); return err })
	if clean {
		return
	}
	for _, f := range in.Failures {
		ops.add(f, func() error { return s.FailInvoicePayment(in.ID) })
	}
	if !in.PaidAt.IsZero() {
		ops.add(in.PaidAt, func() error { return s.PayInvoice(in.ID) })
	}
}

// money formats minor units for an invoice line description.
func money(minor int64, cur string) string {
	if cur == "JPY" {
		return "¥" + group(minor)
	}
	return fmt.Sprintf("$%s.%02d", group(minor/100), minor%100)
}

func group(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
