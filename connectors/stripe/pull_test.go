package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

func noModified[T any](v T, clear func(*T)) T { clear(&v); return v }

func TestFullPull(t *testing.T) {
	for _, version := range []string{"2020-08-27", "2024-06-20", "2025-03-31.basil", "2025-09-30.clover"} {
		t.Run(version, func(t *testing.T) {
			h := newHarness(t, version, 3)
			w := seedWorld(h.srv)
			bs := h.pull(t, record.PullRequest{Now: h.srv.Now()})
			h.spec.check(t)

			// Streams in order, complete enumerations, Done on each last batch.
			var order []string
			for i, b := range bs {
				if len(order) == 0 || order[len(order)-1] != b.Stream {
					order = append(order, b.Stream)
				}
				last := i == len(bs)-1 || bs[i+1].Stream != b.Stream
				if b.Done != last {
					t.Errorf("batch %d (%s): Done=%v, want %v", i, b.Stream, b.Done, last)
				}
				if b.Full != (b.Stream != StreamEvents) {
					t.Errorf("batch %d (%s): Full=%v", i, b.Stream, b.Full)
				}
			}
			if want := []string{StreamCustomers, StreamSubscriptions, StreamInvoices, StreamEvents}; !reflect.DeepEqual(order, want) {
				t.Fatalf("streams = %v, want %v", order, want)
			}
			var cur eventCursor
			if err := json.Unmarshal(bs[len(bs)-1].Cursor, &cur); err != nil || cur.ID == "" {
				t.Fatalf("events cursor %s: %v", bs[len(bs)-1].Cursor, err)
			}
			evs := h.srv.Events()
			if newest := evs[len(evs)-1]; cur.ID != newest.ID {
				t.Errorf("events cursor = %s, want the newest event %s", cur.ID, newest.ID)
			}

			got := collect(t, bs)
			if len(got.customers) != 2 || len(got.subscriptions) != 5 || len(got.invoices) != 3 {
				t.Fatalf("got %d customers, %d subscriptions, %d invoices", len(got.customers), len(got.subscriptions), len(got.invoices))
			}
			clearC := func(c *record.Customer) { c.Modified = time.Time{} }
			wantAcme := record.Customer{Ref: record.Ref{System: record.Stripe, ID: w.acme.ID}, Name: "Acme Corp",
				Email: "billing@acme.test", Currency: "USD", Created: t0,
				Metadata: map[string]string{"salesforce_account_id": "001000000000001", "hubspot_company_id": "9001"}}
			if g := noModified(got.customers[w.acme.ID], clearC); !reflect.DeepEqual(g, wantAcme) {
				t.Errorf("acme =\n%+v\nwant\n%+v", g, wantAcme)
			}

			basilShape := version >= "2025-03-31"
			period := func(it *record.Item) {
				if basilShape {
					it.CurrentPeriodStart, it.CurrentPeriodEnd = t0, t0.AddDate(1, 0, 0)
				}
			}
			annualItem := record.Item{ID: w.subAnnual.Items[0].ID, PriceID: w.annual.ID, ProductID: w.annual.Product,
				Currency: "USD", UnitAmount: 120000, Interval: "year", IntervalCount: 1, Quantity: 1,
				UsageType: record.UsageLicensed, BillingScheme: record.SchemePerUnit, Recurring: true}
			period(&annualItem)
			wantAnnual := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: w.subAnnual.ID},
				CustomerID: w.acme.ID, Status: record.StatusActive, Currency: "USD", Items: []record.Item{annualItem},
				Discounts: []record.Discount{{ID: w.subAnnual.Discounts[0].ID, CouponID: w.quarterOff.ID, PercentOff: 25,
					Duration: record.DurationRepeating, DurationInMonths: 3, Start: t0, End: t0.AddDate(0, 3, 0)}},
				Created: t0, StartDate: t0, CurrentPeriodStart: t0, CurrentPeriodEnd: t0.AddDate(1, 0, 0),
				Metadata: map[string]string{}}
			clearS := func(s *record.Subscription) { s.Modified = time.Time{} }
			if g := noModified(got.subscriptions[w.subAnnual.ID], clearS); !reflect.DeepEqual(g, wantAnnual) {
				t.Errorf("annual plan with a 3-month coupon =\n%+v\nwant\n%+v", g, wantAnnual)
			}

			cases := []struct {
				name string
				ok   bool
			}{
				{"JPY amount is kept in yen", got.subscriptions[w.subYen.ID].Items[0].UnitAmount == 12000 && got.subscriptions[w.subYen.ID].Currency == "JPY"},
				{"tiered price has its tiers", reflect.DeepEqual(got.subscriptions[w.subTiered.ID].Items[0].Tiers,
					[]record.Tier{{UpTo: 10, UnitAmount: 1000}, {UpTo: 0, UnitAmount: 800, FlatAmount: 500}}) &&
					got.subscriptions[w.subTiered.ID].Items[0].TiersMode == record.TiersGraduated &&
					got.subscriptions[w.subTiered.ID].Items[0].BillingScheme == record.SchemeTiered &&
					got.subscriptions[w.subTiered.ID].Items[0].Quantity == 15},
				{"cancel at period end", got.subscriptions[w.subEnd.ID].CancelAtPeriodEnd &&
					got.subscriptions[w.subEnd.ID].Status == record.StatusActive &&
					got.subscriptions[w.subEnd.ID].CurrentPeriodEnd.Equal(t0.AddDate(0, 1, 0))},
				{"more than 10 items followed", len(got.subscriptions[w.subMany.ID].Items) == 11},
				{"failed invoice", got.invoices[w.invFailed.ID].PaymentFailed && !got.invoices[w.invFailed.ID].Paid &&
					got.invoices[w.invFailed.ID].AttemptCount == 1 && got.invoices[w.invFailed.ID].Status == record.InvoiceOpen &&
					got.invoices[w.invFailed.ID].Total == 12000 && got.invoices[w.invFailed.ID].Currency == "JPY"},
				{"paid invoice", got.invoices[w.invPaid.ID].Paid && !got.invoices[w.invPaid.ID].PaymentFailed &&
					got.invoices[w.invPaid.ID].SubscriptionID == w.subEnd.ID && got.invoices[w.invPaid.ID].Total == 7500},
				{"more than 10 lines followed", len(got.invoices[w.invLong.ID].Lines) == 12},
			}
			for _, c := range cases {
				if !c.ok {
					t.Errorf("%s: not as expected", c.name)
				}
			}

			lines := got.invoices[w.invPaid.ID].Lines
			want := []record.InvoiceLine{
				{ID: w.invPaid.Lines[0].ID, SubscriptionID: w.subEnd.ID, SubscriptionItemID: w.subEnd.Items[0].ID, PriceID: w.monthly.ID,
					Quantity: 2, Amount: 10000, Currency: "USD", PeriodStart: t0, PeriodEnd: t0.AddDate(0, 1, 0), Recurring: true},
				{ID: w.invPaid.Lines[1].ID, SubscriptionID: w.subEnd.ID, SubscriptionItemID: w.subEnd.Items[0].ID, PriceID: w.monthly.ID,
					Quantity: 1, Amount: -2500, Currency: "USD", PeriodStart: t0.AddDate(0, 0, 15), PeriodEnd: t0.AddDate(0, 1, 0), Proration: true, Recurring: true},
			}
			// Every version: basil lines name the price by ID only; the
			// interval comes from the price the client reads.
			for i := range want {
				want[i].Interval, want[i].IntervalCount, want[i].UsageType = "month", 1, record.UsageLicensed
			}
			if !reflect.DeepEqual(lines, want) {
				t.Errorf("paid invoice lines =\n%+v\nwant\n%+v", lines, want)
			}
		})
	}
}

func TestIncrementalPull(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 2)
	w := seedWorld(h.srv)
	first := h.pull(t, record.PullRequest{Now: h.srv.Now()})
	cur := cursors(nil, first)
	listCalls := h.srv.Count("GET /v1/customers") + h.srv.Count("GET /v1/subscriptions") + h.srv.Count("GET /v1/invoices")

	h.srv.Advance(24 * time.Hour)
	for _, email := range []string{"first@acme.test", "second@acme.test", "finance@acme.test"} {
		if err := h.srv.UpdateCustomer(w.acme.ID, func(c *Customer) { c.Email = email }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.srv.CancelSubscription(w.subEnd.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.PayInvoice(w.invFailed.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.DeleteCustomer(w.tokyo.ID); err != nil {
		t.Fatal(err)
	}

	bs := h.pull(t, record.PullRequest{Cursors: cur, Now: h.srv.Now()})
	h.spec.check(t)
	if n := h.srv.Count("GET /v1/customers") + h.srv.Count("GET /v1/subscriptions") + h.srv.Count("GET /v1/invoices"); n != listCalls {
		t.Errorf("incremental pull listed streams again (%d list calls, want %d)", n, listCalls)
	}
	for i, b := range bs {
		if b.Stream != StreamEvents || b.Full {
			t.Errorf("batch %d: stream %s full %v", i, b.Stream, b.Full)
		}
		if b.Done != (i == len(bs)-1) {
			t.Errorf("batch %d: Done = %v", i, b.Done)
		}
	}
	got := collect(t, append(first, bs...))
	if e := got.customers[w.acme.ID].Email; e != "finance@acme.test" {
		t.Errorf("acme email = %q, want the newest", e)
	}
	if !got.deleted[w.tokyo.ID] {
		t.Errorf("deleted customer %s not in Batch.Deleted", w.tokyo.ID)
	}
	if s := got.subscriptions[w.subEnd.ID]; s.Status != record.StatusCanceled || s.EndedAt.IsZero() {
		t.Errorf("canceled subscription: status %s ended %s", s.Status, s.EndedAt)
	}
	if in := got.invoices[w.invFailed.ID]; !in.Paid || in.PaymentFailed {
		t.Errorf("paid invoice: paid %v failed %v", in.Paid, in.PaymentFailed)
	}
	// Changed objects come from their newest event's data.object: only the
	// deleted customer and the canceled subscription (".deleted" events,
	// which carry the object as it was) are fetched.
	fetches := h.srv.Count("GET /v1/customers/{customer}") + h.srv.Count("GET /v1/subscriptions/{subscription_exposed_id}") +
		h.srv.Count("GET /v1/invoices/{invoice}")
	if fetches != 2 {
		t.Errorf("object fetches = %d, want 2 (the deleted customer and subscription)", fetches)
	}

	next := cursors(cur, bs)
	var c eventCursor
	_ = json.Unmarshal(next[StreamEvents], &c)
	evs := h.srv.Events()
	if c.ID != evs[len(evs)-1].ID {
		t.Errorf("cursor = %s, want newest event %s", c.ID, evs[len(evs)-1].ID)
	}

	// Nothing new: one empty, final batch that keeps the cursor.
	again := h.pull(t, record.PullRequest{Cursors: next, Now: h.srv.Now()})
	if len(again) != 1 || again[0].Len() != 0 || !again[0].Done || again[0].Cursor != nil {
		t.Errorf("idle incremental = %+v", again)
	}
}

func TestPullFallsBackToFullList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
		cursor  func(real eventCursor) eventCursor
		log     string
	}{
		{"cursor older than 30 days", 31 * 24 * time.Hour, func(c eventCursor) eventCursor { return c }, "older than 30 days"},
		{"cursor event unknown to Stripe", time.Hour, func(c eventCursor) eventCursor { c.ID = "evt_gone"; return c }, "no longer exists"},
		{"cursor without event ID", time.Hour, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2020-08-27", 100)
			w := seedWorld(h.srv)
			cur := cursors(nil, h.pull(t, record.PullRequest{Now: h.srv.Now()}))
			var ec eventCursor
			_ = json.Unmarshal(cur[StreamEvents], &ec)
			h.srv.Advance(tc.advance)
			if err := h.srv.UpdateCustomer(w.acme.ID, func(c *Customer) { c.Name = "Acme Renamed" }); err != nil {
				t.Fatal(err)
			}
			if tc.cursor == nil {
				ec.ID = ""
			} else {
				ec = tc.cursor(ec)
			}
			cur[StreamEvents], _ = json.Marshal(ec)
			bs := h.pull(t, record.PullRequest{Cursors: cur, Now: h.srv.Now()})
			h.spec.check(t)
			full := bs[0].Full && bs[0].Stream == StreamCustomers
			if (tc.log != "") != full {
				t.Fatalf("full re-list = %v, want %v", full, tc.log != "")
			}
			if tc.log != "" && !strings.Contains(h.logs.String(), tc.log) {
				t.Errorf("log %q does not say %q", h.logs.String(), tc.log)
			}
			if got := collect(t, bs); got.customers[w.acme.ID].Name != "Acme Renamed" {
				t.Errorf("acme name = %q", got.customers[w.acme.ID].Name)
			}
		})
	}
}

// Customer aliases the fake's type for the mutation callbacks.
type Customer = stripetest.Customer

func TestFetch(t *testing.T) {
	h := newHarness(t, "2025-03-31.basil", 100)
	w := seedWorld(h.srv)
	if err := h.srv.DeleteCustomer(w.tokyo.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ, id string
		check         func(*record.Batch) bool
		err           error
	}{
		{"customer", "customer", w.acme.ID, func(b *record.Batch) bool {
			return len(b.Customers) == 1 && b.Customers[0].Email == "billing@acme.test"
		}, nil},
		{"deleted customer", "customer", w.tokyo.ID, func(b *record.Batch) bool { return len(b.Deleted) == 1 && b.Deleted[0].ID == w.tokyo.ID }, nil},
		{"missing invoice", "invoice", "in_missing", func(b *record.Batch) bool { return len(b.Deleted) == 1 }, nil},
		{"subscription with discount", "subscription", w.subAnnual.ID, func(b *record.Batch) bool {
			return len(b.Subscriptions) == 1 && b.Subscriptions[0].Discounts[0].PercentOff == 25
		}, nil},
		{"unknown type", "charge", "ch_1", nil, ErrUnknownObject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := h.c.Fetch(context.Background(), tc.typ, tc.id)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.check != nil && !tc.check(b) {
				t.Errorf("batch = %+v", b)
			}
		})
	}
	h.spec.check(t)
}
