package stripe

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	srv  *stripetest.Server
	c    *Client
	spec *specTransport
	logs *syncBuffer
}

func newHarness(t testing.TB, version string, pageSize int) *harness {
	t.Helper()
	srv := stripetest.NewServer(stripetest.Options{APIKey: testKey, Now: t0})
	t.Cleanup(srv.Close)
	h := &harness{srv: srv, spec: &specTransport{base: http.DefaultTransport}, logs: &syncBuffer{}}
	c, err := New(config.Connector{
		Name: "stripe", Kind: config.KindStripe, BaseURL: srv.URL, APIVersion: version,
		Auth: config.Auth{APIKey: config.NewSecret(testKey)},
		HTTP: config.HTTP{RetryMax: 3, RetryWaitMin: config.Duration(time.Millisecond), RetryWaitMax: config.Duration(2 * time.Millisecond)},
	}, Options{Logger: zerolog.New(h.logs), Transport: h.spec, PageSize: pageSize, Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

// pull runs a pull to the end and returns its batches.
func (h *harness) pull(t testing.TB, req record.PullRequest) []*record.Batch {
	t.Helper()
	var out []*record.Batch
	for b, err := range h.c.Pull(context.Background(), req) {
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// cursors collects the last cursor of each stream, as the engine stores them.
func cursors(prev map[string][]byte, bs []*record.Batch) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range prev {
		out[k] = v
	}
	for _, b := range bs {
		if b.Cursor != nil {
			out[b.Stream] = b.Cursor
		}
	}
	return out
}

type collected struct {
	customers     map[string]record.Customer
	subscriptions map[string]record.Subscription
	invoices      map[string]record.Invoice
	deleted       map[string]bool
}

// collect applies batches as the store would: a newer Modified wins.
func collect(t testing.TB, bs []*record.Batch) collected {
	t.Helper()
	c := collected{map[string]record.Customer{}, map[string]record.Subscription{}, map[string]record.Invoice{}, map[string]bool{}}
	last := map[string]time.Time{}
	check := func(r record.Ref) {
		if r.Modified.IsZero() {
			t.Errorf("%s has no Modified time", r.ID)
		}
		if !r.Modified.After(last[r.ID]) {
			t.Errorf("%s yielded with Modified %s, not after an earlier state's %s", r.ID, r.Modified, last[r.ID])
		}
		last[r.ID] = r.Modified
	}
	for _, b := range bs {
		for _, x := range b.Customers {
			check(x.Ref)
			c.customers[x.ID] = x
		}
		for _, x := range b.Subscriptions {
			check(x.Ref)
			c.subscriptions[x.ID] = x
		}
		for _, x := range b.Invoices {
			check(x.Ref)
			c.invoices[x.ID] = x
		}
		for _, x := range b.Deleted {
			check(x)
			c.deleted[x.ID] = true
		}
	}
	return c
}

type world struct {
	acme, tokyo                          stripetest.Customer
	monthly, yen, tiered, annual         stripetest.Price
	quarterOff                           stripetest.Coupon
	subYen, subTiered, subAnnual, subEnd stripetest.Subscription
	subMany                              stripetest.Subscription
	invPaid, invFailed, invLong          stripetest.Invoice
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// seedWorld builds the cases of the brief: a JPY price, a tiered price, a
// 3-month percent coupon on an annual plan, a cancel at period end, a
// failed invoice, a paid invoice with a proration line, plus a
// subscription with more than 10 items and an invoice with more than 10
// lines (so both has_more follow-ups run).
func seedWorld(srv *stripetest.Server) world {
	var w world
	w.acme = srv.AddCustomer(stripetest.Customer{Name: "Acme Corp", Email: "billing@acme.test", Currency: "usd",
		Metadata: map[string]string{"salesforce_account_id": "001000000000001", "hubspot_company_id": "9001"}})
	w.tokyo = srv.AddCustomer(stripetest.Customer{Name: "Tokyo KK", Email: "ap@tokyo.test", Currency: "jpy"})
	w.monthly = srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 5000, Interval: "month"})
	w.yen = srv.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 12000, Interval: "month"})
	w.tiered = srv.AddPrice(stripetest.Price{Currency: "usd", Interval: "month", BillingScheme: "tiered", TiersMode: "graduated",
		Tiers: []stripetest.Tier{{UpTo: 10, UnitAmount: 1000}, {UnitAmount: 800, FlatAmount: 500}}})
	w.annual = srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 120000, Interval: "year"})
	w.quarterOff = srv.AddCoupon(stripetest.Coupon{PercentOff: 25, Duration: "repeating", DurationInMonths: 3})
	w.subYen = must(srv.AddSubscription(stripetest.Subscription{Customer: w.tokyo.ID, Items: []stripetest.SubscriptionItem{{Price: w.yen.ID}}}))
	w.subTiered = must(srv.AddSubscription(stripetest.Subscription{Customer: w.acme.ID, Items: []stripetest.SubscriptionItem{{Price: w.tiered.ID, Quantity: 15}}}))
	w.subAnnual = must(srv.AddSubscription(stripetest.Subscription{Customer: w.acme.ID, Items: []stripetest.SubscriptionItem{{Price: w.annual.ID}}, Coupons: []string{w.quarterOff.ID}}))
	w.subEnd = must(srv.AddSubscription(stripetest.Subscription{Customer: w.acme.ID, Items: []stripetest.SubscriptionItem{{Price: w.monthly.ID, Quantity: 2}}, CancelAtPeriodEnd: true}))
	var many []stripetest.SubscriptionItem
	for range 11 {
		p := srv.AddPrice(stripetest.Price{Currency: "usd", UnitAmount: 100, Interval: "month"})
		many = append(many, stripetest.SubscriptionItem{Price: p.ID})
	}
	w.subMany = must(srv.AddSubscription(stripetest.Subscription{Customer: w.acme.ID, Items: many}))
	start, end := t0, t0.AddDate(0, 1, 0)
	w.invPaid = must(srv.AddInvoice(stripetest.Invoice{Customer: w.acme.ID, Subscription: w.subEnd.ID, Status: "paid", Currency: "usd",
		PeriodStart: start, PeriodEnd: end, Lines: []stripetest.InvoiceLine{
			{Price: w.monthly.ID, SubscriptionItem: w.subEnd.Items[0].ID, Quantity: 2, Amount: 10000, PeriodStart: start, PeriodEnd: end},
			{Price: w.monthly.ID, SubscriptionItem: w.subEnd.Items[0].ID, Quantity: 1, Amount: -2500, PeriodStart: start.AddDate(0, 0, 15), PeriodEnd: end, Proration: true},
		}}))
	w.invFailed = must(srv.AddInvoice(stripetest.Invoice{Customer: w.tokyo.ID, Subscription: w.subYen.ID, Currency: "jpy",
		Lines: []stripetest.InvoiceLine{{Price: w.yen.ID, SubscriptionItem: w.subYen.Items[0].ID, Quantity: 1, Amount: 12000, PeriodStart: start, PeriodEnd: end}}}))
	if err := srv.FailInvoicePayment(w.invFailed.ID); err != nil {
		panic(err)
	}
	var lines []stripetest.InvoiceLine
	for i := range 12 {
		lines = append(lines, stripetest.InvoiceLine{Price: many[i%11].Price, Quantity: 1, Amount: 100, PeriodStart: start, PeriodEnd: end})
	}
	w.invLong = must(srv.AddInvoice(stripetest.Invoice{Customer: w.acme.ID, Subscription: w.subMany.ID, Status: "paid", Currency: "usd", Lines: lines}))
	return w
}
