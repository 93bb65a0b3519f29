package bolt

import (
	"os"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// legacyT is the modified time of the legacy store's records.
var legacyT = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// legacyBatches are what testdata/legacy-records.db holds: every record
// type of a CRM and a billing connector, then a tombstone.
func legacyBatches() map[string][]*record.Batch {
	vmrr := int64(1200)
	return map[string][]*record.Batch{
		"crm": {{
			Stream: "all",
			Accounts: []record.Account{
				{Ref: record.Ref{System: record.Salesforce, ID: "001A", Modified: legacyT}, Name: "Acme", Website: "https://acme.example",
					Fields: map[string]any{"NPS__c": 9.0, "Health_Band__c": "healthy"}},
				{Ref: record.Ref{System: record.Salesforce, ID: "001B", Modified: legacyT}, Name: "Beta"},
				{Ref: record.Ref{System: record.Salesforce, ID: "001C", Modified: legacyT}, Name: "Gone Ltd"},
			},
			Deals: []record.Deal{{Ref: record.Ref{System: record.Salesforce, ID: "006A", Modified: legacyT}, AccountID: "001A", Name: "Renewal",
				Amount: 1200, IsWon: true, IsClosed: true, CloseDate: legacyT}},
			Tasks: []record.Task{{Ref: record.Ref{System: record.Salesforce, ID: "00T1", Modified: legacyT}, AccountID: "001A", Subject: "Call",
				Status: record.TaskOpen, Due: legacyT.Add(48 * time.Hour)}},
			Cursor: []byte("c1"),
		}, {
			Deleted: []record.Ref{{System: record.Salesforce, ID: "001C", Modified: legacyT.Add(time.Hour)}},
		}},
		"billing": {{
			Stream: "subscriptions",
			Customers: []record.Customer{{Ref: record.Ref{System: record.Stripe, ID: "cus_1", Modified: legacyT}, Name: "Acme", Email: "a@acme.example",
				Currency: "USD", Metadata: map[string]string{"salesforce_account_id": "001A"}}},
			Subscriptions: []record.Subscription{{Ref: record.Ref{System: record.Stripe, ID: "sub_1", Modified: legacyT}, CustomerID: "cus_1",
				Status: record.StatusActive, Currency: "USD", VendorMRR: &vmrr, Created: legacyT.AddDate(0, -6, 0),
				Items: []record.Item{{ID: "si_1", Currency: "USD", UnitAmount: 1000, Interval: "month", IntervalCount: 1, Quantity: 2, Recurring: true,
					Tiers: []record.Tier{{UpTo: 10, UnitAmount: 5}}}},
				Discounts: []record.Discount{{PercentOff: 20, Duration: record.DurationForever}}}},
			Invoices: []record.Invoice{{Ref: record.Ref{System: record.Stripe, ID: "in_1", Modified: legacyT}, CustomerID: "cus_1", SubscriptionID: "sub_1",
				Status: record.InvoicePaid, Paid: true, Total: 2000, AmountPaid: 2000, Currency: "USD", Created: legacyT,
				Lines: []record.InvoiceLine{{ID: "il_1", SubscriptionID: "sub_1", Amount: 2000, Quantity: 2, Currency: "USD", Recurring: true}}}},
			Cursor: []byte("evt_1"),
		}},
	}
}

// TestMakeLegacyStore writes testdata/legacy-records.db when
// HEALTHSYNC_MAKE_LEGACY_STORE names the output file. It was run once at
// commit 4a4a4bc, before records were stored compressed, so the file holds
// every record as JSON (the old format); run on a later build it would
// write the current format, so the committed file is never regenerated.
func TestMakeLegacyStore(t *testing.T) {
	out := os.Getenv("HEALTHSYNC_MAKE_LEGACY_STORE")
	if out == "" {
		t.Skip("set HEALTHSYNC_MAKE_LEGACY_STORE=FILE to write the legacy store")
	}
	s, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, conn := range []string{"crm", "billing"} {
		for _, b := range legacyBatches()[conn] {
			if _, err := s.CommitBatch(conn, b); err != nil {
				t.Fatal(err)
			}
		}
	}
}
