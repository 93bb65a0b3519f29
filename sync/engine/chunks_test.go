package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
)

// TestChunkedReconcileMatchesWhole: a full reconcile and its plan are the
// same whatever the chunk size: one account per chunk, two (a chunk
// boundary inside the portfolio) and the default (everything in one
// chunk). The world has deals, invoices, an unmatched customer with
// revenue and previous scores, so every figure a chunk could lose is
// there.
func TestChunkedReconcileMatchesWhole(t *testing.T) {
	e := newSFStripe(t)
	if _, err := e.sf.Insert("Opportunity", map[string]any{"Name": "Renewal", "AccountId": e.accts[1], "StageName": "Closed Won",
		"Amount": 5000.0, "CloseDate": e.now.AddDate(0, -1, 0).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	price := e.stripe.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 7000, Interval: "month"})
	for i := range 2 { // unmatched: no metadata, a domain no account has
		c := e.stripe.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("Stray %d", i), Email: fmt.Sprintf("ap@stray%d.example.org", i)})
		if _, err := e.stripe.AddSubscription(stripetest.Subscription{Customer: c.ID,
			Items: []stripetest.SubscriptionItem{{Price: price.ID, Quantity: int64(i + 1)}}, StartDate: e.now.AddDate(0, -2, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.AddSignals(signalsFor(e.accts, e.now, 0, 3, 7, 2)); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
	e.now = e.now.Add(time.Hour)
	// Usage collapses: scores and bands move, tasks open.
	if _, err := e.st.AddSignals(signalsFor(e.accts, e.now, 0, 0, 0, 20)); err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		Plan *engine.Plan
		Rec  *engine.Reconciled
	}
	run := func(chunk int) outcome {
		engine.SetChunkSize(e.eng, chunk)
		p, rec, err := e.eng.PlanOnly(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return outcome{p, rec}
	}
	want := run(0)
	if len(want.Rec.Accounts) != 3 || len(want.Rec.Unmatched) != 2 || len(want.Plan.Writes) == 0 {
		t.Fatalf("the world lacks what the test compares: %d accounts, %d unmatched, %d writes",
			len(want.Rec.Accounts), len(want.Rec.Unmatched), len(want.Plan.Writes))
	}
	// The portfolio figures, worked out by hand: 7,000 and 14,000 JPY a
	// month unmatched; 3 of the 5 customers with revenue matched.
	var mrrs []int64
	for _, u := range want.Rec.Unmatched {
		mrrs = append(mrrs, u.MRR)
	}
	if !reflect.DeepEqual(mrrs, []int64{14000, 7000}) || want.Rec.MatchRate != 0.6 {
		t.Errorf("unmatched MRR %v, match rate %v; want [14000 7000], 0.6", mrrs, want.Rec.MatchRate)
	}
	for _, chunk := range []int{1, 2} {
		if got := run(chunk); !reflect.DeepEqual(got, want) {
			t.Errorf("chunk size %d:\n got %+v\n     %+v\nwant %+v\n     %+v", chunk, got.Plan, got.Rec, want.Plan, want.Rec)
		}
	}
}
