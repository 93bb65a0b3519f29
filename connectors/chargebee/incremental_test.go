package chargebee_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestIncrementalPullCostsPagesNotObjects (issue 14): n changed
// subscriptions cost the incremental pull list pages, not one call each.
// Chargebee's lists filter on updated_at[after] and return deleted
// records with include_deleted=true ("Subscriptions > List subscriptions",
// "Pagination and Filtering"), so, unlike Stripe, whose lists cannot filter
// on a change time and whose incremental pull reads the events list, the
// changed objects arrive in pages of 100 with their full state; the events
// list ("Events > List events") is not needed. What the incremental pull
// returns equals what a full pull of the same state returns, whole records
// compared: changed subscriptions, a changed customer, a changed invoice
// and a deletion.
func TestIncrementalPullCostsPagesNotObjects(t *testing.T) {
	const n = 1000
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	w.fake.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-USD-monthly", ItemID: "pro", ItemType: "plan", PricingModel: "per_unit",
		Price: 1000, Period: 1, PeriodUnit: "month", CurrencyCode: "USD"})
	before := unix(t0) - 3600 // older than the cursor minus the overlap
	for i := range n {
		id := fmt.Sprintf("cus_%05d", i)
		w.fake.PutCustomer(chargebeetest.Customer{ID: id, Company: "Co " + id, Email: id + "@example.com", CreatedAt: before, UpdatedAt: before})
		w.fake.PutSubscription(chargebeetest.Subscription{ID: fmt.Sprintf("sub_%05d", i), CustomerID: id, Status: "active", CurrencyCode: "USD",
			BillingPeriod: 1, BillingPeriodUnit: "month", CreatedAt: before, UpdatedAt: before, MRR: ptr(int64(3000)),
			SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: "pro-USD-monthly", ItemType: "plan", Quantity: 3, UnitPrice: 1000, Amount: 3000}}})
	}
	w.fake.PutInvoice(chargebeetest.Invoice{ID: "inv_1", CustomerID: "cus_00001", SubscriptionID: "sub_00001", Status: "payment_due",
		CurrencyCode: "USD", Total: 3000, AmountDue: 3000, Date: before, UpdatedAt: before})
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})

	w.clk.Advance(10 * time.Minute)
	for i := range n {
		if err := w.fake.UpdateSubscription(fmt.Sprintf("sub_%05d", i), func(s *chargebeetest.Subscription) { s.SubscriptionItems[0].Quantity = 5 }); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.fake.UpdateCustomer("cus_00002", func(c *chargebeetest.Customer) { c.Company = "Renamed Co" }); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.UpdateInvoice("inv_1", func(v *chargebeetest.Invoice) {
		v.Status, v.AmountPaid, v.AmountDue, v.PaidAt = "paid", 3000, 0, unix(w.clk.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.DeleteSubscription("sub_00003"); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Minute)
	w.fake.ResetCounts()
	incr := collect(pullAll(t, w.client, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()}))
	calls := w.fake.Total()
	t.Logf("incremental pull of %d changed subscriptions: %d calls %v", n, calls, w.fake.Counts())
	full := collect(pullAll(t, w.client, record.PullRequest{Full: true, Now: w.clk.Now()}))

	// Pages of 100: ten of subscriptions, one each of customers and
	// invoices, and the catalog refresh.
	if max := int64(n/100 + 6); calls > max {
		t.Errorf("incremental pull of %d changed subscriptions: %d calls (%v), want at most %d", n, calls, w.fake.Counts(), max)
	}
	if got, want := len(incr.subs), n-1; got != want {
		t.Errorf("incremental pull: %d subscriptions, want %d", got, want)
	}
	for id, s := range incr.subs {
		if !reflect.DeepEqual(s, full.subs[id]) {
			t.Errorf("subscription %s:\nincremental %+v\nfull        %+v", id, s, full.subs[id])
		}
	}
	want := pulled{subs: incr.subs, custs: map[string]record.Customer{"cus_00002": full.custs["cus_00002"]},
		invs: map[string]record.Invoice{"inv_1": full.invs["inv_1"]}, deleted: []string{"sub_00003"}}
	if got := incr; !reflect.DeepEqual(got, want) {
		t.Errorf("incremental pull differs from the full pull's records:\ncustomers %+v\nwant      %+v\ninvoices %+v\nwant     %+v\ndeleted %v, want %v",
			got.custs, want.custs, got.invs, want.invs, got.deleted, want.deleted)
	}
	if _, ok := full.subs["sub_00003"]; ok {
		t.Error("the full pull still lists the deleted subscription")
	}
}

// pulled is what a pull returned, by ID.
type pulled struct {
	subs    map[string]record.Subscription
	custs   map[string]record.Customer
	invs    map[string]record.Invoice
	deleted []string
}

func collect(bs []*record.Batch) pulled {
	p := pulled{subs: map[string]record.Subscription{}, custs: map[string]record.Customer{}, invs: map[string]record.Invoice{}}
	for _, b := range bs {
		for _, s := range b.Subscriptions {
			p.subs[s.ID] = s
		}
		for _, c := range b.Customers {
			p.custs[c.ID] = c
		}
		for _, in := range b.Invoices {
			p.invs[in.ID] = in
		}
		for _, d := range b.Deleted {
			p.deleted = append(p.deleted, d.ID)
		}
	}
	return p
}
