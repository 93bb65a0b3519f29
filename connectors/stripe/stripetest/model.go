package stripetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Customer is a Stripe customer as seeded and stored.
type Customer struct {
	ID       string // generated "cus_..." when empty
	Name     string
	Email    string
	Currency string // lower case, e.g. "usd"; empty until set
	Metadata map[string]string
	Created  time.Time // default: the fake clock
	Deleted  bool
}

// Product is a Stripe product.
type Product struct {
	ID      string
	Name    string
	Created time.Time
}

// Price is a Stripe price. Interval empty means a one-time price.
type Price struct {
	ID            string
	Product       string // generated product when empty
	Currency      string // lower case
	UnitAmount    int64  // minor units (per_unit scheme)
	Interval      string // day, week, month, year; "" for one_time
	IntervalCount int    // default 1
	UsageType     string // licensed (default) or metered
	BillingScheme string // per_unit (default) or tiered
	TiersMode     string // graduated or volume
	Tiers         []Tier
	Created       time.Time
}

// Tier is one tier of a tiered price; UpTo 0 means "inf".
type Tier struct {
	UpTo       int64
	UnitAmount int64
	FlatAmount int64
}

// Coupon is a Stripe coupon: PercentOff or AmountOff (with Currency).
type Coupon struct {
	ID               string
	PercentOff       float64
	AmountOff        int64
	Currency         string
	Duration         string // once, repeating, forever
	DurationInMonths int
	Created          time.Time
}

// Discount is a coupon applied to a subscription.
type Discount struct {
	ID     string
	Coupon string
	Start  time.Time
	End    time.Time // zero for forever
}

// SubscriptionItem is one item of a subscription. Seeding accepts Coupons
// (IDs) and turns each into an item-level Discount, as for subscriptions.
type SubscriptionItem struct {
	ID        string
	Price     string
	Quantity  int64 // default 1
	Coupons   []string
	Discounts []Discount
	Created   time.Time
}

// Subscription is a Stripe subscription. Seeding accepts Coupons (IDs)
// and turns each into a Discount starting at the fake clock.
type Subscription struct {
	ID                 string
	Customer           string
	Status             string // default active (trialing when TrialEnd is in the future)
	Currency           string // default: the first item's price currency
	Items              []SubscriptionItem
	Coupons            []string
	Discounts          []Discount
	Created            time.Time
	StartDate          time.Time
	TrialStart         time.Time
	TrialEnd           time.Time
	CurrentPeriodStart time.Time // default StartDate
	CurrentPeriodEnd   time.Time // default start + the first item's interval
	CancelAtPeriodEnd  bool
	CancelAt           time.Time
	CanceledAt         time.Time
	EndedAt            time.Time
	Metadata           map[string]string
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	ID               string
	Price            string
	Subscription     string
	SubscriptionItem string
	Description      string
	Quantity         int64
	Amount           int64 // minor units
	DiscountAmount   int64
	PeriodStart      time.Time
	PeriodEnd        time.Time
	Proration        bool
}

// Invoice is a Stripe invoice. Subtotal and Total are computed from lines.
type Invoice struct {
	ID           string
	Customer     string
	Subscription string
	Number       string
	Status       string // draft, open (default), paid, uncollectible, void
	Currency     string
	Attempted    bool
	AttemptCount int
	Tax          int64
	AmountPaid   int64
	Lines        []InvoiceLine
	Created      time.Time
	DueDate      time.Time
	PaidAt       time.Time
	PeriodStart  time.Time
	PeriodEnd    time.Time
}

// Subtotal is the sum of line amounts.
func (in Invoice) Subtotal() int64 {
	var t int64
	for _, l := range in.Lines {
		t += l.Amount
	}
	return t
}

// Total is the subtotal less line discounts plus tax.
func (in Invoice) Total() int64 {
	t := in.Subtotal() + in.Tax
	for _, l := range in.Lines {
		t -= l.DiscountAmount
	}
	return t
}

// Event is a Stripe event as Events returns it: its object (data.object,
// JSON) as it was when the event happened, rendered with the account's
// default API version then.
type Event struct {
	ID         string
	Type       string
	Created    time.Time
	APIVersion string
	Object     []byte // data.object
}

// event is how the fake keeps an event: a snapshot of its object in the
// fake's model (deep-copied, so later changes do not reach it), rendered
// to JSON when a request reads it. A month of events of 100,000 customers
// kept as JSON would be gigabytes.
type event struct {
	ID         string
	Type       string
	Created    time.Time
	APIVersion string
	object     func() map[string]any // renders data.object; nil once forgotten (ForgetExpiredEvents)
	seq        int64
}

// ErrNotFound is returned by seeding and mutation methods for unknown IDs.
var ErrNotFound = errors.New("stripetest: no such object")

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_%014d", prefix, s.seq)
}

func (s *Server) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now
	}
	return t.UTC()
}

// emit records an event; snapshot copies its object as it is now and
// returns the renderer of data.object. The caller holds s.mu. An event
// before the floor SkipEventsBefore set is not recorded and snapshot is
// not called, but its ID is used up, so the IDs of later events are those
// a fake that recorded it gives.
func (s *Server) emit(typ string, snapshot func() func() map[string]any) {
	s.order = nil // list order may have changed
	s.seq++
	if s.now.Before(s.eventFloor) {
		return
	}
	id := fmt.Sprintf("evt_%014d", s.seq)
	if s.eventAt == nil {
		s.eventAt = map[string]int{}
	}
	s.eventAt[id] = len(s.events)
	s.events = append(s.events, event{
		ID: id, Type: typ, Created: s.now,
		APIVersion: s.opts.DefaultVersion, object: snapshot(), seq: s.seq,
	})
	if s.opts.ForgetExpiredEvents {
		// Events are emitted in clock order while seeding; the first one
		// not yet expired stops the walk.
		cut := s.now.Add(-EventRetention)
		for s.forgotten < len(s.events) && s.events[s.forgotten].Created.Before(cut) {
			s.events[s.forgotten].object = nil
			s.forgotten++
		}
	}
}

// SkipEventsBefore makes the seeding methods record no event that happens
// (on the fake clock) before t. Seeding history that ends at a known "now"
// with t = now - EventRetention gives the same objects, and the same
// events for every request at that now or later, as recording them all:
// the API lists and retrieves events of the last 30 days only (API
// reference "List all events": "List events, going back up to 30 days";
// "Retrieve an event": "if it was created in the last 30 days"), and the
// skipped events use up their IDs. It saves keeping years of events no
// request can read. Events returns recorded events only.
func (s *Server) SkipEventsBefore(t time.Time) {
	s.mu.Lock()
	s.eventFloor = t.UTC()
	s.mu.Unlock()
}

// AddCustomer seeds a customer and emits customer.created.
func (s *Server) AddCustomer(c Customer) Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.nextID("cus")
	}
	c.Created = s.at(c.Created)
	c.Currency = strings.ToLower(c.Currency)
	c.Metadata = clone(c.Metadata)
	s.seq++
	s.customers[c.ID] = &entry[Customer]{v: c, seq: s.seq}
	s.emit("customer.created", s.customerSnapshot(c))
	return c
}

// UpdateCustomer changes a customer and emits customer.updated.
func (s *Server) UpdateCustomer(id string, fn func(*Customer)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.customers[id]
	if !ok || e.v.Deleted {
		return fmt.Errorf("customer %s: %w", id, ErrNotFound)
	}
	fn(&e.v)
	e.v.ID = id
	s.emit("customer.updated", s.customerSnapshot(e.v))
	return nil
}

// DeleteCustomer deletes a customer and emits customer.deleted with the
// customer as it was.
func (s *Server) DeleteCustomer(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.customers[id]
	if !ok || e.v.Deleted {
		return fmt.Errorf("customer %s: %w", id, ErrNotFound)
	}
	s.emit("customer.deleted", s.customerSnapshot(e.v))
	e.v.Deleted = true
	return nil
}

// AddProduct seeds a product.
func (s *Server) AddProduct(p Product) Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProduct(p)
}

func (s *Server) addProduct(p Product) Product {
	if p.ID == "" {
		p.ID = s.nextID("prod")
	}
	p.Created = s.at(p.Created)
	s.seq++
	s.products[p.ID] = &entry[Product]{v: p, seq: s.seq}
	return p
}

// AddPrice seeds a price (and its product when Product is empty).
func (s *Server) AddPrice(p Price) Price {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.nextID("price")
	}
	if p.Product == "" {
		p.Product = s.addProduct(Product{Name: p.ID}).ID
	}
	p.Currency = strings.ToLower(p.Currency)
	if p.Interval != "" && p.IntervalCount == 0 {
		p.IntervalCount = 1
	}
	if p.BillingScheme == "" {
		p.BillingScheme = "per_unit"
	}
	if p.Interval != "" && p.UsageType == "" {
		p.UsageType = "licensed"
	}
	p.Created = s.at(p.Created)
	p.Tiers = slices.Clone(p.Tiers)
	s.seq++
	s.prices[p.ID] = &entry[Price]{v: p, seq: s.seq}
	// Prices and coupons do not change once added.
	s.emit("price.created", func() func() map[string]any { return func() map[string]any { return s.renderPrice(p, false) } })
	return p
}

// AddCoupon seeds a coupon.
func (s *Server) AddCoupon(c Coupon) Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.nextID("coupon")
	}
	c.Currency = strings.ToLower(c.Currency)
	c.Created = s.at(c.Created)
	s.seq++
	s.coupons[c.ID] = &entry[Coupon]{v: c, seq: s.seq}
	s.emit("coupon.created", func() func() map[string]any { return func() map[string]any { return s.renderCoupon(c) } })
	return c
}

// AddSubscription seeds a subscription and emits
// customer.subscription.created.
func (s *Server) AddSubscription(sub Subscription) (Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[sub.Customer]; !ok {
		return Subscription{}, fmt.Errorf("customer %s: %w", sub.Customer, ErrNotFound)
	}
	if len(sub.Items) == 0 {
		return Subscription{}, errors.New("stripetest: a subscription needs items")
	}
	if sub.ID == "" {
		sub.ID = s.nextID("sub")
	}
	sub.Created = s.at(sub.Created)
	if sub.StartDate.IsZero() {
		sub.StartDate = sub.Created
	}
	sub.Items = slices.Clone(sub.Items)
	var first Price
	for i := range sub.Items {
		it := &sub.Items[i]
		p, ok := s.prices[it.Price]
		if !ok {
			return Subscription{}, fmt.Errorf("price %s: %w", it.Price, ErrNotFound)
		}
		if i == 0 {
			first = p.v
		}
		if it.ID == "" {
			it.ID = s.nextID("si")
		}
		if it.Quantity == 0 {
			it.Quantity = 1
		}
		it.Created = s.at(it.Created)
		ds, err := s.discountsFor(it.Coupons, sub.StartDate)
		if err != nil {
			return Subscription{}, err
		}
		it.Discounts = append(slices.Clone(it.Discounts), ds...)
		it.Coupons = nil
	}
	if sub.Currency == "" {
		sub.Currency = first.Currency
	}
	if sub.CurrentPeriodStart.IsZero() {
		sub.CurrentPeriodStart = sub.StartDate
	}
	if sub.CurrentPeriodEnd.IsZero() {
		sub.CurrentPeriodEnd = addInterval(sub.CurrentPeriodStart, first.Interval, first.IntervalCount)
	}
	if sub.Status == "" {
		sub.Status = "active"
		if sub.TrialEnd.After(s.now) {
			sub.Status = "trialing"
		}
	}
	ds, err := s.discountsFor(sub.Coupons, sub.StartDate)
	if err != nil {
		return Subscription{}, err
	}
	sub.Discounts = append(slices.Clone(sub.Discounts), ds...)
	sub.Coupons = nil
	sub.Metadata = clone(sub.Metadata)
	s.seq++
	s.subs[sub.ID] = &entry[Subscription]{v: sub, seq: s.seq}
	s.emit("customer.subscription.created", s.subSnapshot(sub))
	return sub, nil
}

// discountsFor turns coupon IDs into discounts starting at start; the
// caller holds s.mu.
func (s *Server) discountsFor(coupons []string, start time.Time) ([]Discount, error) {
	var out []Discount
	for _, cid := range coupons {
		c, ok := s.coupons[cid]
		if !ok {
			return nil, fmt.Errorf("coupon %s: %w", cid, ErrNotFound)
		}
		d := Discount{ID: s.nextID("di"), Coupon: cid, Start: start}
		if c.v.Duration == "repeating" {
			d.End = d.Start.AddDate(0, c.v.DurationInMonths, 0)
		}
		out = append(out, d)
	}
	return out, nil
}

// UpdateSubscription changes a subscription and emits
// customer.subscription.updated (e.g. set CancelAtPeriodEnd, change a
// quantity, move the current period).
func (s *Server) UpdateSubscription(id string, fn func(*Subscription)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("subscription %s: %w", id, ErrNotFound)
	}
	fn(&e.v)
	e.v.ID = id
	s.emit("customer.subscription.updated", s.subSnapshot(e.v))
	return nil
}

// CancelSubscription ends a subscription now (status canceled) and emits
// customer.subscription.deleted.
func (s *Server) CancelSubscription(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("subscription %s: %w", id, ErrNotFound)
	}
	e.v.Status = "canceled"
	if e.v.CanceledAt.IsZero() {
		e.v.CanceledAt = s.now
	}
	e.v.EndedAt = s.now
	s.emit("customer.subscription.deleted", s.subSnapshot(e.v))
	return nil
}

// AddInvoice seeds an invoice and emits invoice.created (plus
// invoice.finalized for an open invoice and invoice.paid for a paid one).
func (s *Server) AddInvoice(in Invoice) (Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[in.Customer]; !ok {
		return Invoice{}, fmt.Errorf("customer %s: %w", in.Customer, ErrNotFound)
	}
	if in.ID == "" {
		in.ID = s.nextID("in")
	}
	if in.Status == "" {
		in.Status = "open"
	}
	in.Created = s.at(in.Created)
	in.Currency = strings.ToLower(in.Currency)
	in.Lines = slices.Clone(in.Lines)
	for i := range in.Lines {
		if in.Lines[i].ID == "" {
			in.Lines[i].ID = s.nextID("il")
		}
		if in.Lines[i].Subscription == "" && in.Lines[i].SubscriptionItem != "" {
			in.Lines[i].Subscription = in.Subscription
		}
	}
	if in.Status == "paid" {
		in.Attempted = true
		if in.AttemptCount == 0 {
			in.AttemptCount = 1
		}
		in.AmountPaid = in.Total()
		if in.PaidAt.IsZero() {
			in.PaidAt = in.Created
		}
	}
	if in.Number == "" && in.Status != "draft" {
		in.Number = fmt.Sprintf("INV-%06d", len(s.invoices)+1)
	}
	s.seq++
	s.invoices[in.ID] = &entry[Invoice]{v: in, seq: s.seq}
	obj := s.invoiceSnapshot(in)
	s.emit("invoice.created", obj)
	if in.Status != "draft" {
		s.emit("invoice.finalized", obj)
	}
	if in.Status == "paid" {
		s.emit("invoice.paid", obj)
	}
	return in, nil
}

// PayInvoice marks an invoice paid now and emits invoice.paid and
// invoice.payment_succeeded.
func (s *Server) PayInvoice(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.invoices[id]
	if !ok {
		return fmt.Errorf("invoice %s: %w", id, ErrNotFound)
	}
	e.v.Status, e.v.Attempted, e.v.PaidAt = "paid", true, s.now
	e.v.AttemptCount++
	e.v.AmountPaid = e.v.Total()
	obj := s.invoiceSnapshot(e.v)
	s.emit("invoice.paid", obj)
	s.emit("invoice.payment_succeeded", obj)
	return nil
}

// FailInvoicePayment records a failed payment attempt (the invoice stays
// open) and emits invoice.payment_failed.
func (s *Server) FailInvoicePayment(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.invoices[id]
	if !ok {
		return fmt.Errorf("invoice %s: %w", id, ErrNotFound)
	}
	if e.v.Status == "draft" {
		e.v.Status = "open"
	}
	e.v.Attempted = true
	e.v.AttemptCount++
	s.emit("invoice.payment_failed", s.invoiceSnapshot(e.v))
	return nil
}

// customerSnapshot is emit's snapshot of c; the caller holds s.mu.
func (s *Server) customerSnapshot(c Customer) func() func() map[string]any {
	return func() func() map[string]any {
		c.Metadata = clone(c.Metadata)
		return func() map[string]any { return s.renderCustomer(c) }
	}
}

// subSnapshot is emit's snapshot of sub (its items, discounts and
// metadata copied); the caller holds s.mu.
func (s *Server) subSnapshot(sub Subscription) func() func() map[string]any {
	return func() func() map[string]any {
		sub.Items = slices.Clone(sub.Items)
		for i := range sub.Items {
			sub.Items[i].Discounts = slices.Clone(sub.Items[i].Discounts)
			sub.Items[i].Coupons = slices.Clone(sub.Items[i].Coupons)
		}
		sub.Discounts = slices.Clone(sub.Discounts)
		sub.Coupons = slices.Clone(sub.Coupons)
		sub.Metadata = clone(sub.Metadata)
		return func() map[string]any { return s.renderSubscription(sub, s.opts.DefaultVersion, nil) }
	}
}

// invoiceSnapshot is emit's snapshot of in (its lines copied, and its
// customer's name and e-mail, which the invoice shows), taken once
// however many events carry it; the caller holds s.mu.
func (s *Server) invoiceSnapshot(in Invoice) func() func() map[string]any {
	return sync.OnceValue(func() func() map[string]any {
		in.Lines = slices.Clone(in.Lines)
		var cus *Customer
		if c, ok := s.customers[in.Customer]; ok {
			cus = &Customer{ID: c.v.ID, Name: c.v.Name, Email: c.v.Email}
		}
		return func() map[string]any { return s.renderInvoiceOf(in, cus, s.opts.DefaultVersion, nil) }
	})
}

// Customer reads a customer back as stored.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return e.v, true
}

// Subscription reads a subscription back as stored.
func (s *Server) Subscription(id string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.subs[id]
	if !ok {
		return Subscription{}, false
	}
	return e.v, true
}

// SubscriptionIDs returns the IDs of every subscription the fake holds,
// oldest first (by Created, then ID), canceled ones included.
func (s *Server) SubscriptionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.subs))
	for id := range s.subs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := s.subs[ids[i]].v, s.subs[ids[j]].v
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return ids[i] < ids[j]
	})
	return ids
}

// Invoice reads an invoice back as stored.
func (s *Server) Invoice(id string) (Invoice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.invoices[id]
	if !ok {
		return Invoice{}, false
	}
	return e.v, true
}

// Events returns every event recorded so far, oldest first (including
// those older than 30 days, which the API no longer returns), with their
// objects rendered (nil once forgotten).
func (s *Server) Events() []Event { return s.EventsFrom(0) }

// EventCount is the number of events the fake keeps, what len(Events())
// would be without rendering any of them.
func (s *Server) EventCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// EventsFrom returns the kept events from the n-th on (Events()[n:]),
// rendering only those.
func (s *Server) EventsFrom(n int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(max(n, 0), len(s.events))
	out := make([]Event, 0, len(s.events)-n)
	for _, e := range s.events[n:] {
		ev := Event{ID: e.ID, Type: e.Type, Created: e.Created, APIVersion: e.APIVersion}
		if e.object != nil {
			ev.Object = mustJSON(e.object())
		}
		out = append(out, ev)
	}
	return out
}

func addInterval(t time.Time, interval string, n int) time.Time {
	if n == 0 {
		n = 1
	}
	switch interval {
	case "day":
		return t.AddDate(0, 0, n)
	case "week":
		return t.AddDate(0, 0, 7*n)
	case "year":
		return t.AddDate(n, 0, 0)
	default:
		return t.AddDate(0, n, 0)
	}
}

func clone(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
