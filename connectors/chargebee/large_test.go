package chargebee_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

// TestPullPageOverTwoMiB pins that a success body is never cut: one page
// of 100 invoices with 60 line items each is over 2 MiB, twice
// httpclient.PeekBody's window, and every invoice comes back with every
// line.
func TestPullPageOverTwoMiB(t *testing.T) {
	w := newWorld(t, chargebeetest.Options{}, chargebee.Options{})
	const invoices, lines = 100, 60
	desc := strings.Repeat("Usage of the analytics add-on, metered per workspace and per day. ", 4)
	for i := range invoices {
		inv := chargebeetest.Invoice{ID: fmt.Sprintf("inv_%03d", i), CustomerID: "cus_big", Status: "paid", CurrencyCode: "USD",
			Date: unix(t0) - int64(i), UpdatedAt: unix(t0)}
		for j := range lines {
			inv.LineItems = append(inv.LineItems, chargebeetest.LineItem{ID: fmt.Sprintf("li_%03d_%02d", i, j), DateFrom: unix(t0) - 86400, DateTo: unix(t0),
				UnitAmount: 100, Quantity: 1, Amount: 100, Description: desc, EntityType: "adhoc"})
			inv.SubTotal += 100
			inv.Total += 100
		}
		inv.AmountPaid = inv.Total
		w.fake.PutInvoice(inv)
	}

	// The premise: the page the client asks for is over 2 MiB.
	req, _ := http.NewRequest(http.MethodGet, w.fake.URL+"/api/v2/invoices?limit=100", nil)
	req.SetBasicAuth(apiKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(page) <= 2<<20 {
		t.Fatalf("page is %d bytes, the test needs more than 2 MiB", len(page))
	}
	w.fake.ResetCounts()

	var got []record.Invoice
	for _, b := range pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()}) {
		got = append(got, b.Invoices...)
	}
	if len(got) != invoices {
		t.Fatalf("pulled %d invoices, want %d", len(got), invoices)
	}
	for _, in := range got {
		if len(in.Lines) != lines || in.Total != lines*100 {
			t.Fatalf("invoice %s: %d lines, total %d; want %d lines, total %d", in.ID, len(in.Lines), in.Total, lines, lines*100)
		}
	}
	if n := w.fake.Count("GET /api/v2/invoices"); n != 1 {
		t.Errorf("invoice list calls = %d, want 1 page of 100", n)
	}
}
