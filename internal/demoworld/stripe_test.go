package demoworld

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// stripeBody is one answer of a Stripe fake: the status and the raw body.
type stripeBody struct {
	Status int
	Body   string
}

// stripeGet answers path at version, raw.
func stripeGet(t *testing.T, st *stripetest.Server, version, path string) stripeBody {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, st.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	stAuth(req)
	req.Header.Set("Stripe-Version", version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return stripeBody{resp.StatusCode, string(b)}
}

// stripePages pages a list (q without limit and cursor) with
// starting_after as the connector does and returns every page, raw.
func stripePages(t *testing.T, st *stripetest.Server, version, path string, q url.Values) []stripeBody {
	t.Helper()
	q = maps.Clone(q)
	q.Set("limit", "100")
	var out []stripeBody
	for {
		b := stripeGet(t, st, version, path+"?"+q.Encode())
		out = append(out, b)
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		if b.Status != http.StatusOK || json.Unmarshal([]byte(b.Body), &page) != nil || !page.HasMore || len(page.Data) == 0 {
			return out
		}
		q.Set("starting_after", page.Data[len(page.Data)-1].ID)
	}
}

// TestLoadStripeSkipsOnlyExpiredEvents: LoadStripe, which records no
// event older than 30 days, and the replay that records every event give
// the same answer, byte for byte, to every request the Stripe connector
// makes at the world's now, in each API version shape: the customers,
// subscriptions (all statuses, expanded as the connector asks),
// subscription items, invoices and their lines, prices and coupons, and
// the events of the last 30 days (each, and listed with the connector's
// types). Worlds: the scale curve's (Salesforce only, two subscriptions
// each) and the demo's.
func TestLoadStripeSkipsOnlyExpiredEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"scale world", Options{Accounts: 30, Seed: 3, Now: testNow, SalesforceOnly: true, SubsPerAccount: 2}},
		{"demo world", Options{Accounts: 40, Seed: 1, Now: testNow}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Generate(tc.o)
			sf := salesforcetest.NewServer(salesforcetest.Options{ClientID: sfID, ClientSecret: sfSecret})
			defer sf.Close()
			if err := w.LoadSalesforce(sf); err != nil {
				t.Fatal(err)
			}
			replay := stripetest.NewServer(stripetest.Options{APIKey: stKey})
			defer replay.Close()
			if err := w.loadStripe(replay, false); err != nil {
				t.Fatal(err)
			}
			recent := stripetest.NewServer(stripetest.Options{APIKey: stKey})
			defer recent.Close()
			if err := w.LoadStripe(recent); err != nil {
				t.Fatal(err)
			}
			all, kept := replay.Events(), recent.Events()
			cut := w.now.Add(-stripetest.EventRetention)
			var old int
			for _, e := range all {
				if e.Created.Before(cut) {
					old++
				}
			}
			if old == 0 || len(kept) != len(all)-old {
				t.Fatalf("recorded %d events, want the %d of %d from the last 30 days", len(kept), len(all)-old, len(all))
			}
			compare := func(version, what string, got, want []stripeBody) {
				t.Helper()
				if len(got) != len(want) {
					t.Errorf("%s %s: %d answers, want %d", version, what, len(got), len(want))
					return
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s %s, answer %d:\n got %v\nwant %v", version, what, i, got[i], want[i])
						return
					}
				}
			}
			subExpand := map[string][]string{
				"2020-08-27":      {"data.items.data.price.tiers", "data.items.data.discounts"},
				stripetest.Basil:  {"data.items.data.discounts", "data.discounts"},
				stripetest.Clover: {"data.items.data.discounts", "data.discounts", "data.discounts.source.coupon"},
			}
			types := url.Values{"types[]": {"customer.created", "customer.updated", "customer.deleted",
				"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
				"invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded"}}
			for version, exp := range subExpand {
				lists := []struct {
					path string
					q    url.Values
				}{
					{"/v1/customers", url.Values{}},
					{"/v1/subscriptions", url.Values{"status": {"all"}, "expand[]": exp}},
					{"/v1/invoices", url.Values{}},
					{"/v1/events", url.Values{}},
					{"/v1/events", types},
				}
				for _, l := range lists {
					compare(version, l.path+"?"+l.q.Encode(), stripePages(t, recent, version, l.path, l.q), stripePages(t, replay, version, l.path, l.q))
				}
				var each []string
				for i := 0; i < len(all); i += 7 { // old and recent events
					each = append(each, "/v1/events/"+all[i].ID)
				}
				for _, p := range w.prices {
					if p.System == sysStripe {
						each = append(each, "/v1/prices/"+p.ID+"?expand[]=tiers")
					}
				}
				for _, c := range w.coupons {
					if c.System == sysStripe {
						each = append(each, "/v1/coupons/"+c.ID)
					}
				}
				for _, c := range w.customers[:5] {
					for _, sb := range c.Subs {
						each = append(each, "/v1/subscription_items?limit=100&subscription="+sb.ID)
						for _, in := range sb.Invoices {
							each = append(each, "/v1/invoices/"+in.ID+"/lines?limit=100")
						}
					}
				}
				for _, path := range each {
					compare(version, path, []stripeBody{stripeGet(t, recent, version, path)}, []stripeBody{stripeGet(t, replay, version, path)})
				}
			}
		})
	}
}
