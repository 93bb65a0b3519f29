package demoworld

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// op is one seeding step at a point of the fake's clock (Unix
// nanoseconds). Ops run in time order (ties in creation order), so events
// and their timestamps follow the history as Stripe would have recorded
// it. An op holds its object, not a closure or a snapshot: the state it
// writes is computed when it runs, so the plan of 100,000 accounts' 18
// months (millions of ops) stays small.
type op struct {
	at   int64
	seq  int32
	kind opKind
	ref  any // *price, *coupon, *customer, *sub or *invoice
}

type opKind uint8

const (
	opProduct opKind = iota
	opPrice
	opCoupon
	opCustomer
	opSubCreate
	opSubUpdate // the subscription as it is at the op's time
	opSubCancel
	opInvoice
	opInvoiceFail
	opInvoicePay
)

type opList []op

func (l *opList) add(at time.Time, kind opKind, ref any) {
	*l = append(*l, op{at: at.UnixNano(), seq: int32(len(*l)), kind: kind, ref: ref})
}

// LoadStripe seeds the Stripe half on the fake's clock: it moves the clock
// back to the start of the history, replays products, prices, coupons,
// customers, subscriptions (created, upgraded, downgraded, past due,
// cancelled), invoices (created, failed attempts, paid) in time order, and
// leaves the clock at Options.Now. LoadSalesforce must run first.
//
// Events older than stripetest.EventRetention before Options.Now are not
// recorded (stripetest.Server.SkipEventsBefore): Stripe no longer lists
// or retrieves them, so every request at Options.Now or later gets the
// answer it would get had they been recorded (TestLoadStripeSkipsOnlyExpiredEvents),
// without the gigabytes of event JSON 18 months of a large world make.
func (w *World) LoadStripe(s *stripetest.Server) error {
	return w.loadStripe(s, true)
}

// loadStripe is LoadStripe; recent false records every event.
func (w *World) loadStripe(s *stripetest.Server, recent bool) error {
	ops, err := w.stripeOps()
	if err != nil {
		return err
	}
	slices.SortFunc(ops, func(a, b op) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if recent {
		s.SkipEventsBefore(w.now.Add(-stripetest.EventRetention))
		defer s.SkipEventsBefore(time.Time{})
	}
	defer s.SetNow(w.now)
	for _, o := range ops {
		at := time.Unix(0, o.at).UTC()
		s.SetNow(at)
		if err := w.runStripeOp(s, o.kind, o.ref, at); err != nil {
			return fmt.Errorf("seeding stripe: %w", err)
		}
	}
	return nil
}

// stripeOps plans the Stripe history: the catalog a month before it
// starts, then each customer with its subscriptions and invoices.
func (w *World) stripeOps() (opList, error) {
	var ops opList
	catalogAt := w.catalogAt()
	products := map[string]bool{}
	for _, p := range w.prices {
		if p.System != sysStripe {
			continue
		}
		if !products[p.Product] {
			products[p.Product] = true
			ops.add(catalogAt, opProduct, p)
		}
		ops.add(catalogAt, opPrice, p)
	}
	for _, c := range w.coupons {
		if c.System == sysStripe {
			ops.add(catalogAt, opCoupon, c)
		}
	}
	for _, c := range w.customers {
		if c.System != sysStripe {
			continue
		}
		if c.MetaOf != nil && c.MetaOf.crmID == "" {
			return nil, fmt.Errorf("customer %s: %w", c.ID, ErrNotLoaded)
		}
		ops.add(c.Created, opCustomer, c)
		for _, sb := range c.Subs {
			w.stripeSubOps(&ops, sb)
		}
	}
	return ops, nil
}

func (w *World) catalogAt() time.Time { return w.start.AddDate(0, -1, 0) }

// runStripeOp applies one op at the fake clock's time at.
func (w *World) runStripeOp(s *stripetest.Server, kind opKind, ref any, at time.Time) error {
	switch kind {
	case opProduct:
		p := ref.(*price)
		s.AddProduct(stripetest.Product{ID: p.Product, Name: p.Name, Created: w.catalogAt()})
	case opPrice:
		s.AddPrice(stripePrice(ref.(*price), w.catalogAt()))
	case opCoupon:
		c := ref.(*coupon)
		s.AddCoupon(stripetest.Coupon{ID: c.ID, PercentOff: c.Percent, AmountOff: c.Amount, Currency: strings.ToLower(c.Currency),
			Duration: map[bool]string{true: "repeating", false: "forever"}[c.Months > 0], DurationInMonths: c.Months, Created: w.catalogAt()})
	case opCustomer:
		c := ref.(*customer)
		meta := map[string]string{}
		if c.MetaOf != nil {
			meta["salesforce_account_id"] = c.MetaOf.crmID
		}
		s.AddCustomer(stripetest.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Currency: c.Currency, Metadata: meta, Created: c.Created})
	case opSubCreate:
		sb := ref.(*sub)
		_, err := s.AddSubscription(w.stripeSub(sb, sb.Created))
		return err
	case opSubUpdate:
		snap := w.stripeSub(ref.(*sub), at)
		return s.UpdateSubscription(snap.ID, func(x *stripetest.Subscription) { *x = snap })
	case opSubCancel:
		return s.CancelSubscription(ref.(*sub).ID)
	case opInvoice:
		_, err := s.AddInvoice(w.stripeInvoice(ref.(*invoice)))
		return err
	case opInvoiceFail:
		return s.FailInvoicePayment(ref.(*invoice).ID)
	case opInvoicePay:
		return s.PayInvoice(ref.(*invoice).ID)
	}
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
// failure and recovery) that changes it, the end, and its invoices.
func (w *World) stripeSubOps(ops *opList, sb *sub) {
	ops.add(sb.Created, opSubCreate, sb)
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
		ops.add(t, opSubUpdate, sb)
	}
	if !sb.EndedAt.IsZero() && !sb.EndedAt.After(w.now) {
		ops.add(sb.EndedAt, opSubCancel, sb)
	}
	for _, in := range sb.Invoices {
		// Created (paid at once when nothing failed), then the failed
		// attempts and the payment.
		ops.add(in.Created, opInvoice, in)
		if in.clean() {
			continue
		}
		for _, f := range in.Failures {
			ops.add(f, opInvoiceFail, in)
		}
		if !in.PaidAt.IsZero() {
			ops.add(in.PaidAt, opInvoicePay, in)
		}
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

// clean reports whether an invoice was paid with no failed attempt: it is
// seeded paid.
func (in *invoice) clean() bool { return len(in.Failures) == 0 && !in.PaidAt.IsZero() }

// stripeInvoice is the invoice as created: open, or paid when clean.
func (w *World) stripeInvoice(in *invoice) stripetest.Invoice {
	sb := in.Sub
	cur := strings.ToLower(sb.Currency)
	line := stripetest.InvoiceLine{
		ID: in.LineID, Price: in.Price.ID, Subscription: sb.ID, SubscriptionItem: sb.ItemID,
		Description: fmt.Sprintf("%d × %s (at %s / %s)", in.Qty, in.Price.Name, money(in.Price.unitFor(in.Qty), sb.Currency), in.Price.Interval),
		Quantity:    in.Qty, Amount: in.Amount, DiscountAmount: in.Discount, PeriodStart: in.Period.Start, PeriodEnd: in.Period.End,
	}
	x := stripetest.Invoice{ID: in.ID, Customer: sb.Customer.ID, Subscription: sb.ID, Number: in.Number, Status: "open",
		Currency: cur, Lines: []stripetest.InvoiceLine{line}, Created: in.Created, PeriodStart: in.Period.Start, PeriodEnd: in.Period.End}
	if in.clean() {
		x.Status, x.PaidAt = "paid", in.PaidAt
	}
	return x
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
