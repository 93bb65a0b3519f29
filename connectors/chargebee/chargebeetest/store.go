package chargebeetest

import (
	"fmt"
	"maps"
	"slices"
)

// Seeding stores records as given, after filling what Chargebee always sets:
// object names, created_at (customers, subscriptions, item prices, coupons)
// or date (invoices, transactions) from the clock when zero, and
// resource_version from updated_at; invoice line discount totals from
// line_item_discounts (a line's discount_amount includes its item-level
// discounts); included_in_mrr false on discounts and coupons that are not
// one_time. UpdatedAt is kept as given: zero means
// the record has no updated_at, which Chargebee allows for records not
// touched since it started tracking it, and which updated_at[after] filters
// never match. The Update* methods mutate a record the way an edit in
// Chargebee does: updated_at and resource_version follow the clock.

func cloneSub(v Subscription) Subscription {
	v.SubscriptionItems = slices.Clone(v.SubscriptionItems)
	v.ItemTiers = slices.Clone(v.ItemTiers)
	v.Coupons = slices.Clone(v.Coupons)
	v.Discounts = slices.Clone(v.Discounts)
	v.MetaData = maps.Clone(v.MetaData)
	if v.MRR != nil {
		m := *v.MRR
		v.MRR = &m
	}
	return v
}

func cloneCustomer(c Customer) Customer {
	c.MetaData = maps.Clone(c.MetaData)
	c.CustomFields = maps.Clone(c.CustomFields)
	return c
}

func cloneInvoice(v Invoice) Invoice {
	v.LineItems = slices.Clone(v.LineItems)
	v.LinkedPayments = slices.Clone(v.LinkedPayments)
	v.DunningAttempts = slices.Clone(v.DunningAttempts)
	v.LineItemDiscounts = slices.Clone(v.LineItemDiscounts)
	return v
}

func cloneTxn(v Transaction) Transaction {
	v.LinkedInvoices = slices.Clone(v.LinkedInvoices)
	return v
}

func version(updated, current int64) int64 {
	if current != 0 {
		return current
	}
	return updated * 1000
}

// PutCustomer stores or replaces a customer.
func (s *Server) PutCustomer(c Customer) {
	c = cloneCustomer(c)
	c.Object = "customer"
	if c.CreatedAt == 0 {
		c.CreatedAt = s.now().Unix()
	}
	c.ResourceVersion = version(c.UpdatedAt, c.ResourceVersion)
	s.mu.Lock()
	s.customers[c.ID] = &c
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// PutSubscription stores or replaces a subscription.
func (s *Server) PutSubscription(v Subscription) {
	v = cloneSub(v)
	v.Object = "subscription"
	if v.CreatedAt == 0 {
		v.CreatedAt = s.now().Unix()
	}
	v.ResourceVersion = version(v.UpdatedAt, v.ResourceVersion)
	for i := range v.SubscriptionItems {
		v.SubscriptionItems[i].Object = "subscription_item"
	}
	for i := range v.ItemTiers {
		v.ItemTiers[i].Object = "item_tier"
		v.ItemTiers[i].Index = i
	}
	for i := range v.Coupons {
		v.Coupons[i].Object = "coupon"
	}
	for i := range v.Discounts {
		d := &v.Discounts[i]
		d.Object, d.Index = "discount", i
		if d.CreatedAt == 0 {
			d.CreatedAt = v.CreatedAt
		}
		// Docs ("Subscriptions > discounts[].included_in_mrr"): only
		// applicable when duration_type is one_time.
		d.IncludedInMRR = d.IncludedInMRR && d.DurationType == "one_time"
	}
	s.mu.Lock()
	s.subscriptions[v.ID] = &v
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// PutInvoice stores or replaces an invoice.
func (s *Server) PutInvoice(v Invoice) {
	v = cloneInvoice(v)
	v.Object = "invoice"
	if v.Date == 0 {
		v.Date = s.now().Unix()
	}
	v.ResourceVersion = version(v.UpdatedAt, v.ResourceVersion)
	derived := map[string][2]int64{} // line id -> {total, item level}
	for i := range v.LineItemDiscounts {
		d := &v.LineItemDiscounts[i]
		d.Object = "line_item_discount"
		t := derived[d.LineItemID]
		t[0] += d.DiscountAmount
		if d.DiscountType == "item_level_coupon" || d.DiscountType == "item_level_discount" {
			t[1] += d.DiscountAmount
		}
		derived[d.LineItemID] = t
	}
	for i := range v.LineItems {
		l := &v.LineItems[i]
		l.Object = "line_item"
		// Docs ("Invoices > line_items"): discount_amount is the line's
		// total discount, item-level discounts included.
		if t, ok := derived[l.ID]; ok {
			l.DiscountAmount, l.ItemLevelDiscountAmount = t[0], t[1]
		}
		l.DiscountAmount = max(l.DiscountAmount, l.ItemLevelDiscountAmount)
	}
	s.mu.Lock()
	s.invoices[v.ID] = &v
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// PutTransaction stores or replaces a transaction.
func (s *Server) PutTransaction(v Transaction) {
	v = cloneTxn(v)
	v.Object = "transaction"
	if v.Date == 0 {
		v.Date = s.now().Unix()
	}
	v.ResourceVersion = version(v.UpdatedAt, v.ResourceVersion)
	s.mu.Lock()
	s.transactions[v.ID] = &v
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// PutItemPrice stores or replaces an item price.
func (s *Server) PutItemPrice(v ItemPrice) {
	v.Tiers = slices.Clone(v.Tiers)
	v.Object = "item_price"
	if v.Status == "" {
		v.Status = "active"
	}
	if v.CreatedAt == 0 {
		v.CreatedAt = s.now().Unix()
	}
	if v.UpdatedAt == 0 {
		v.UpdatedAt = v.CreatedAt
	}
	s.mu.Lock()
	s.itemPrices[v.ID] = &v
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// PutCoupon stores or replaces a coupon.
func (s *Server) PutCoupon(v Coupon) {
	v.ItemConstraints = slices.Clone(v.ItemConstraints)
	v.ItemConstraintCriteria = slices.Clone(v.ItemConstraintCriteria)
	for i := range v.ItemConstraints {
		v.ItemConstraints[i].Object = "item_constraint"
	}
	for i := range v.ItemConstraintCriteria {
		v.ItemConstraintCriteria[i].Object = "item_constraint_criteria"
	}
	if v.ApplyOn == "" {
		v.ApplyOn = "invoice_amount"
	}
	// Docs ("Coupons > included_in_mrr"): only applicable to one_time.
	v.IncludedInMRR = v.IncludedInMRR && v.DurationType == "one_time"
	v.Object = "coupon"
	if v.Status == "" {
		v.Status = "active"
	}
	if v.CreatedAt == 0 {
		v.CreatedAt = s.now().Unix()
	}
	if v.UpdatedAt == 0 {
		v.UpdatedAt = v.CreatedAt
	}
	s.mu.Lock()
	s.coupons[v.ID] = &v
	s.rows = nil // list order may have changed
	s.mu.Unlock()
}

// ErrNotFound is returned by Update* and Delete* for an unknown id.
var ErrNotFound = fmt.Errorf("chargebeetest: no such record")

func (s *Server) touch() (int64, int64) {
	now := s.now()
	return now.Unix(), now.UnixMilli()
}

// update applies fn to a copy of the stored record id of one kind and
// stamps it with the clock's updated_at and resource_version.
func update[T any](s *Server, records map[string]*T, kind, id string, clone func(T) T, fn func(*T), stamp func(*T, int64, int64)) error {
	u, rv := s.touch()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := records[id]
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	c := clone(*v)
	fn(&c)
	stamp(&c, u, rv)
	records[id] = &c
	s.rows = nil // list order may have changed
	return nil
}

// UpdateSubscription applies fn to a stored subscription and sets its
// updated_at and resource_version from the clock.
func (s *Server) UpdateSubscription(id string, fn func(*Subscription)) error {
	return update(s, s.subscriptions, "subscription", id, cloneSub, fn,
		func(c *Subscription, u, rv int64) { c.UpdatedAt, c.ResourceVersion = u, rv })
}

// UpdateCustomer applies fn to a stored customer and sets its updated_at
// and resource_version from the clock.
func (s *Server) UpdateCustomer(id string, fn func(*Customer)) error {
	return update(s, s.customers, "customer", id, cloneCustomer, fn,
		func(c *Customer, u, rv int64) { c.UpdatedAt, c.ResourceVersion = u, rv })
}

// UpdateInvoice applies fn to a stored invoice and sets its updated_at and
// resource_version from the clock.
func (s *Server) UpdateInvoice(id string, fn func(*Invoice)) error {
	return update(s, s.invoices, "invoice", id, cloneInvoice, fn,
		func(c *Invoice, u, rv int64) { c.UpdatedAt, c.ResourceVersion = u, rv })
}

// UpdateTransaction applies fn to a stored transaction and sets its
// updated_at and resource_version from the clock.
func (s *Server) UpdateTransaction(id string, fn func(*Transaction)) error {
	return update(s, s.transactions, "transaction", id, cloneTxn, fn,
		func(c *Transaction, u, rv int64) { c.UpdatedAt, c.ResourceVersion = u, rv })
}

// DeleteSubscription marks a subscription deleted, as Chargebee does: it
// disappears from lists and retrieval and comes back with "deleted": true
// only in lists with include_deleted=true.
func (s *Server) DeleteSubscription(id string) error {
	return s.UpdateSubscription(id, func(v *Subscription) { v.Deleted = true })
}

// DeleteCustomer marks a customer deleted (see DeleteSubscription).
func (s *Server) DeleteCustomer(id string) error {
	return s.UpdateCustomer(id, func(v *Customer) { v.Deleted = true })
}

// DeleteInvoice marks an invoice deleted (see DeleteSubscription).
func (s *Server) DeleteInvoice(id string) error {
	return s.UpdateInvoice(id, func(v *Invoice) { v.Deleted = true })
}

// Subscription returns a stored subscription as the fake serves it.
func (s *Server) Subscription(id string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.subscriptions[id]
	if !ok {
		return Subscription{}, false
	}
	return cloneSub(*v), true
}

// Customer returns a stored customer.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return cloneCustomer(*v), true
}

// Invoice returns a stored invoice.
func (s *Server) Invoice(id string) (Invoice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.invoices[id]
	if !ok {
		return Invoice{}, false
	}
	return cloneInvoice(*v), true
}

// Transaction returns a stored transaction.
func (s *Server) Transaction(id string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.transactions[id]
	if !ok {
		return Transaction{}, false
	}
	return cloneTxn(*v), true
}

// Len reports how many records of a collection ("customers",
// "subscriptions", "invoices", "transactions", "item_prices", "coupons")
// are stored, deleted ones included.
func (s *Server) Len(collection string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch collection {
	case "customers":
		return len(s.customers)
	case "subscriptions":
		return len(s.subscriptions)
	case "invoices":
		return len(s.invoices)
	case "transactions":
		return len(s.transactions)
	case "item_prices":
		return len(s.itemPrices)
	case "coupons":
		return len(s.coupons)
	}
	return 0
}
