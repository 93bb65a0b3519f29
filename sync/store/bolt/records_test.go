package bolt

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

func acct(id, name string, mod time.Time) record.Account {
	return record.Account{Ref: record.Ref{System: record.Salesforce, ID: id, Modified: mod}, Name: name}
}

func TestRecordsRoundTripAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vmrr := int64(1200)
	b := &record.Batch{
		Stream:   "all",
		Accounts: []record.Account{{Ref: record.Ref{System: record.Salesforce, ID: "001A", Modified: t0}, Name: "Acme", Fields: map[string]any{"NPS__c": 9.0}}},
		Deals:    []record.Deal{{Ref: record.Ref{System: record.Salesforce, ID: "006A", Modified: t0}, AccountID: "001A", Name: "Renewal", Amount: 1200, IsWon: true, CloseDate: t0}},
		Customers: []record.Customer{{Ref: record.Ref{System: record.Stripe, ID: "cus_1", Modified: t0}, Name: "Acme",
			Metadata: map[string]string{"salesforce_account_id": "001A"}}},
		Subscriptions: []record.Subscription{{Ref: record.Ref{System: record.Stripe, ID: "sub_1", Modified: t0}, CustomerID: "cus_1",
			Status: record.StatusActive, Currency: "USD", VendorMRR: &vmrr,
			Items: []record.Item{{ID: "si_1", Currency: "USD", UnitAmount: 1000, Interval: "month", IntervalCount: 1, Quantity: 2, Recurring: true,
				Tiers: []record.Tier{{UpTo: 10, UnitAmount: 5}}}},
			Discounts: []record.Discount{{PercentOff: 20, Duration: record.DurationForever}}}},
		Invoices: []record.Invoice{{Ref: record.Ref{System: record.Stripe, ID: "in_1", Modified: t0}, CustomerID: "cus_1", Status: record.InvoicePaid, Paid: true, Total: 2000, Currency: "USD", Created: t0}},
		Tasks:    []record.Task{{Ref: record.Ref{System: record.Salesforce, ID: "00T1"}, AccountID: "001A", Subject: "Call", Status: record.TaskOpen}},
		Cursor:   []byte("c1"),
	}
	st, err := s.CommitBatch("crm", b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.CommitStats{Inserted: 6}); !reflect.DeepEqual(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(name string, got, want any, err error) {
		t.Helper()
		checkRead(t, name, got, want, err)
	}
	accts, err := s.Accounts("crm")
	check("accounts", accts, b.Accounts, err)
	deals, err := s.Deals("crm")
	check("deals", deals, b.Deals, err)
	custs, err := s.Customers("crm")
	check("customers", custs, b.Customers, err)
	subs, err := s.Subscriptions("crm")
	check("subscriptions", subs, b.Subscriptions, err)
	invs, err := s.Invoices("crm")
	check("invoices", invs, b.Invoices, err)
	tasks, err := s.Tasks("crm")
	check("tasks", tasks, b.Tasks, err)
	cur, err := s.Cursors("crm")
	check("cursors", cur, map[string][]byte{"all": []byte("c1")}, err)
	counts, err := s.Counts("crm")
	check("counts", counts, map[store.RecordType]int{store.TypeAccount: 1, store.TypeDeal: 1, store.TypeCustomer: 1, store.TypeSubscription: 1, store.TypeInvoice: 1, store.TypeTask: 1}, err)
	a, ok, err := s.Account("crm", "001A")
	check("account by id", a, b.Accounts[0], err)
	if !ok {
		t.Error("account by id not found")
	}
	if _, ok, _ := s.Subscription("crm", "sub_nope"); ok {
		t.Error("missing subscription found")
	}
	conns, err := s.Connectors()
	check("connectors", conns, []string{"crm"}, err)

	// Committing the same batch again changes nothing.
	st, err = s.CommitBatch("crm", b)
	check("recommit stats", st, store.CommitStats{Unchanged: 6}, err)
}

func TestCommitBatchUpserts(t *testing.T) {
	older, newer := t0.Add(-time.Hour), t0.Add(time.Hour)
	tests := []struct {
		name      string
		batch     record.Batch
		wantStats store.CommitStats
		want      []record.Account // live accounts after the batch
	}{
		{
			name:      "newer overwrites",
			batch:     record.Batch{Accounts: []record.Account{acct("001", "Acme 2", newer)}},
			wantStats: store.CommitStats{Updated: 1},
			want:      []record.Account{acct("001", "Acme 2", newer), acct("002", "Beta", t0)},
		},
		{
			name:      "stale never overwrites newer",
			batch:     record.Batch{Accounts: []record.Account{acct("001", "Acme old", older)}},
			wantStats: store.CommitStats{Stale: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)},
		},
		{
			name:      "same modified, new content updates",
			batch:     record.Batch{Accounts: []record.Account{acct("001", "Acme renamed", t0)}},
			wantStats: store.CommitStats{Updated: 1},
			want:      []record.Account{acct("001", "Acme renamed", t0), acct("002", "Beta", t0)},
		},
		{
			name:      "identical is unchanged, new is inserted",
			batch:     record.Batch{Accounts: []record.Account{acct("001", "Acme", t0), acct("003", "Gamma", t0)}},
			wantStats: store.CommitStats{Unchanged: 1, Inserted: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0), acct("003", "Gamma", t0)},
		},
		{
			name:      "deleted ref becomes a tombstone",
			batch:     record.Batch{Deleted: []record.Ref{{System: record.Salesforce, ID: "002", Modified: newer}, {ID: "unknown"}}},
			wantStats: store.CommitStats{Deleted: 1},
			want:      []record.Account{acct("001", "Acme", t0)},
		},
		{
			name:      "stale deletion is ignored",
			batch:     record.Batch{Deleted: []record.Ref{{System: record.Salesforce, ID: "002", Modified: older}}},
			wantStats: store.CommitStats{Stale: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)},
		},
		{
			name: "record flagged deleted by the vendor",
			batch: record.Batch{Accounts: []record.Account{func() record.Account {
				a := acct("001", "Acme", newer)
				a.Deleted = true
				return a
			}()}},
			wantStats: store.CommitStats{Deleted: 1},
			want:      []record.Account{acct("002", "Beta", t0)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			seed := &record.Batch{Accounts: []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)}}
			if _, err := s.CommitBatch("sf", seed); err != nil {
				t.Fatal(err)
			}
			st, err := s.CommitBatch("sf", &tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st, tc.wantStats) {
				t.Errorf("stats %+v, want %+v", st, tc.wantStats)
			}
			got, err := s.Accounts("sf")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("accounts\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTombstoneIsReadableByID(t *testing.T) {
	s := openTest(t)
	if _, err := s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("001", "Acme", t0)}}); err != nil {
		t.Fatal(err)
	}
	del := t0.Add(time.Minute)
	if _, err := s.CommitBatch("sf", &record.Batch{Deleted: []record.Ref{{ID: "001", Modified: del}}}); err != nil {
		t.Fatal(err)
	}
	a, ok, err := s.Account("sf", "001")
	if err != nil || !ok {
		t.Fatalf("tombstone: ok=%v err=%v", ok, err)
	}
	want := acct("001", "Acme", del)
	want.Deleted = true
	if !reflect.DeepEqual(a, want) {
		t.Errorf("tombstone %+v, want %+v", a, want)
	}
	// An older update does not resurrect it.
	st, _ := s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("001", "Acme", t0)}})
	if st.Stale != 1 {
		t.Errorf("resurrecting update: %+v", st)
	}
	if c, _ := s.Counts("sf"); c[store.TypeAccount] != 0 {
		t.Errorf("count after delete %d", c[store.TypeAccount])
	}
}

func TestFullEnumerationDeletions(t *testing.T) {
	s := openTest(t)
	seed := &record.Batch{Stream: "Account", Accounts: []record.Account{acct("001", "A", t0), acct("002", "B", t0), acct("003", "C", t0), acct("004", "D", t0)}}
	if _, err := s.CommitBatch("sf", seed); err != nil {
		t.Fatal(err)
	}
	// A full enumeration over two batches sees 001 and 003 only.
	st, err := s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Accounts: []record.Account{acct("001", "A", t0)}, Cursor: []byte("p2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unseen) != 0 {
		t.Fatalf("unseen reported before Done: %+v", st.Unseen)
	}
	// An incremental batch of another stream in between does not disturb it.
	if _, err := s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Deals: []record.Deal{{Ref: record.Ref{ID: "006"}}}}); err != nil {
		t.Fatal(err)
	}
	// A reopen in the middle keeps the seen marks.
	path := s.Path()
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err = s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true, Accounts: []record.Account{acct("003", "C", t0)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Gone{{Type: store.TypeAccount, ID: "002", Modified: t0}, {Type: store.TypeAccount, ID: "004", Modified: t0}}
	if !reflect.DeepEqual(st.Unseen, want) {
		t.Fatalf("unseen %+v, want %+v", st.Unseen, want)
	}
	// Nothing is deleted until ApplyDeletions.
	if c, _ := s.Counts("sf"); c[store.TypeAccount] != 4 || c[store.TypeDeal] != 1 {
		t.Fatalf("counts before apply: %v", c)
	}
	// 004 changes after the report: it is kept.
	if _, err := s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("004", "D2", t0.Add(time.Minute))}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.ApplyDeletions("sf", st.Unseen)
	if err != nil || n != 1 {
		t.Fatalf("ApplyDeletions = %d, %v; want 1", n, err)
	}
	got, _ := s.Accounts("sf")
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	if fmt.Sprint(ids) != "[001 003 004]" {
		t.Errorf("accounts after deletions %v", ids)
	}
	// The next full enumeration starts afresh: a one-batch full that sees all live ones reports nothing.
	st, err = s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true,
		Accounts: []record.Account{acct("001", "A", t0), acct("003", "C", t0), acct("004", "D2", t0.Add(time.Minute))}})
	if err != nil || len(st.Unseen) != 0 {
		t.Errorf("second full: unseen %+v, err %v", st.Unseen, err)
	}
}

func TestResetFull(t *testing.T) {
	s := openTest(t)
	if _, err := s.CommitBatch("sf", &record.Batch{Stream: "Account", Accounts: []record.Account{acct("001", "A", t0), acct("002", "B", t0)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Accounts: []record.Account{acct("002", "B", t0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetFull("sf", "Account"); err != nil {
		t.Fatal(err)
	}
	st, err := s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true, Accounts: []record.Account{acct("001", "A", t0)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Gone{{Type: store.TypeAccount, ID: "002", Modified: t0}}; !reflect.DeepEqual(st.Unseen, want) {
		t.Errorf("unseen after reset %+v, want %+v", st.Unseen, want)
	}
}

func TestCommitBatchRejects(t *testing.T) {
	tests := []struct {
		name      string
		connector string
		batch     record.Batch
	}{
		{"empty connector", "", record.Batch{}},
		{"cursor without stream", "sf", record.Batch{Cursor: []byte("x")}},
		{"full without stream", "sf", record.Batch{Full: true}},
		{"empty source ID", "sf", record.Batch{Accounts: []record.Account{{Name: "x"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			if _, err := s.CommitBatch(tc.connector, &tc.batch); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestCursors(t *testing.T) {
	s := openTest(t)
	if err := s.SetCursor("sf", "Account", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Cursor: []byte("o")}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Cursors("sf")
	if want := map[string][]byte{"Account": []byte("a"), "Opportunity": []byte("o")}; !reflect.DeepEqual(got, want) {
		t.Errorf("cursors %q", got)
	}
	if err := s.ResetCursors("sf"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Cursors("sf"); len(got) != 0 {
		t.Errorf("cursors after reset %q", got)
	}
	if err := s.ResetCursors("none"); err != nil {
		t.Errorf("reset of unknown connector: %v", err)
	}
}

func BenchmarkSubscriptions20k(b *testing.B) {
	s := openTest(b)
	batch := &record.Batch{Stream: "subscriptions"}
	for i := range 20000 {
		batch.Subscriptions = append(batch.Subscriptions, record.Subscription{
			Ref: record.Ref{System: record.Stripe, ID: fmt.Sprintf("sub_%06d", i), Modified: t0}, CustomerID: fmt.Sprintf("cus_%06d", i),
			Status: record.StatusActive, Currency: "USD", Created: t0, CurrentPeriodStart: t0, CurrentPeriodEnd: t0.AddDate(0, 1, 0),
			Items: []record.Item{{ID: "si_" + fmt.Sprint(i), PriceID: "price_1", ProductID: "prod_1", Currency: "USD", UnitAmount: 4900,
				Interval: "month", IntervalCount: 1, Quantity: 3, Recurring: true, UsageType: record.UsageLicensed}},
			Metadata: map[string]string{"salesforce_account_id": "001" + fmt.Sprint(i)},
		})
	}
	if _, err := s.CommitBatch("billing", batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		subs, err := s.Subscriptions("billing")
		if err != nil || len(subs) != 20000 {
			b.Fatal(len(subs), err)
		}
	}
}

// BenchmarkCommitBatch commits pages of 100 subscriptions (fsync on), as a
// Stripe pull does, and reports records/s.
func BenchmarkCommitBatch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := 0
	for b.Loop() {
		batch := &record.Batch{Stream: "subscriptions", Cursor: []byte(fmt.Sprint(n))}
		for range 100 {
			batch.Subscriptions = append(batch.Subscriptions, record.Subscription{
				Ref: record.Ref{System: record.Stripe, ID: fmt.Sprintf("sub_%08d", n), Modified: t0}, CustomerID: "cus_1",
				Status: record.StatusActive, Currency: "USD",
				Items: []record.Item{{ID: "si_1", Currency: "USD", UnitAmount: 4900, Interval: "month", IntervalCount: 1, Quantity: 3, Recurring: true}},
			})
			n++
		}
		if _, err := s.CommitBatch("billing", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
