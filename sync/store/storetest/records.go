package storetest

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

func acct(id, name string, mod time.Time) record.Account {
	return record.Account{Ref: record.Ref{System: record.Salesforce, ID: id, Modified: mod}, Name: name}
}

func deleted(a record.Account) record.Account {
	a.Deleted = true
	return a
}

func testRecords(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) { recordsRoundTrip(t, open(t)) })
	t.Run("Upsert", func(t *testing.T) { recordsUpsert(t, open) })
	t.Run("Tombstones", func(t *testing.T) { recordsTombstones(t, open(t)) })
	t.Run("FullEnumeration", func(t *testing.T) { recordsFullEnumeration(t, open(t)) })
	t.Run("ResetFull", func(t *testing.T) { recordsResetFull(t, open(t)) })
	t.Run("Rejects", func(t *testing.T) { recordsRejects(t, open) })
	t.Run("ByOwner", func(t *testing.T) { recordsByOwner(t, open(t)) })
}

// fullBatch holds one record of every type.
func fullBatch() *record.Batch {
	vmrr := int64(1200)
	return &record.Batch{
		Stream: "all",
		Accounts: []record.Account{{Ref: record.Ref{System: record.Salesforce, ID: "001A", Modified: t0}, Name: "Acme",
			Fields: map[string]any{"NPS__c": 9.0}}},
		Deals: []record.Deal{{Ref: record.Ref{System: record.Salesforce, ID: "006A", Modified: t0}, AccountID: "001A", Name: "Renewal",
			Amount: 1200, IsWon: true, CloseDate: t0}},
		Customers: []record.Customer{{Ref: record.Ref{System: record.Stripe, ID: "cus_1", Modified: t0}, Name: "Acme",
			Metadata: map[string]string{"salesforce_account_id": "001A"}}},
		Subscriptions: []record.Subscription{{Ref: record.Ref{System: record.Stripe, ID: "sub_1", Modified: t0}, CustomerID: "cus_1",
			Status: record.StatusActive, Currency: "USD", VendorMRR: &vmrr,
			Items: []record.Item{{ID: "si_1", Currency: "USD", UnitAmount: 1000, Interval: "month", IntervalCount: 1, Quantity: 2, Recurring: true,
				Tiers: []record.Tier{{UpTo: 10, UnitAmount: 5}}}},
			Discounts: []record.Discount{{PercentOff: 20, Duration: record.DurationForever}}}},
		Invoices: []record.Invoice{{Ref: record.Ref{System: record.Stripe, ID: "in_1", Modified: t0}, CustomerID: "cus_1",
			Status: record.InvoicePaid, Paid: true, Total: 2000, Currency: "USD", Created: t0}},
		Tasks:  []record.Task{{Ref: record.Ref{System: record.Salesforce, ID: "00T1"}, AccountID: "001A", Subject: "Call", Status: record.TaskOpen}},
		Cursor: []byte("c1"),
	}
}

// recordsRoundTrip: every type is stored and read back whole, by list and
// by ID; committing the same batch again changes nothing.
func recordsRoundTrip(t *testing.T, s store.Store) {
	b := fullBatch()
	equal(t, "stats", must(s.CommitBatch("crm", b))(t), store.CommitStats{Inserted: 6})

	equal(t, "accounts", must(s.Accounts("crm"))(t), b.Accounts)
	equal(t, "deals", must(s.Deals("crm"))(t), b.Deals)
	equal(t, "tasks", must(s.Tasks("crm"))(t), b.Tasks)
	equal(t, "customers", must(s.Customers("crm"))(t), b.Customers)
	equal(t, "subscriptions", must(s.Subscriptions("crm"))(t), b.Subscriptions)
	equal(t, "invoices", must(s.Invoices("crm"))(t), b.Invoices)
	equal(t, "cursors", must(s.Cursors("crm"))(t), map[string][]byte{"all": []byte("c1")})
	equal(t, "counts", must(s.Counts("crm"))(t), map[store.RecordType]int{store.TypeAccount: 1, store.TypeDeal: 1,
		store.TypeCustomer: 1, store.TypeSubscription: 1, store.TypeInvoice: 1, store.TypeTask: 1})
	equal(t, "connectors", must(s.Connectors())(t), []string{"crm"})

	type lookup struct {
		got   any
		found bool
		err   error
	}
	one := func(v any, found bool, err error) lookup { return lookup{v, found, err} }
	lookups := []struct {
		name string
		got  lookup
		want lookup
	}{
		{"account", one(s.Account("crm", "001A")), lookup{b.Accounts[0], true, nil}},
		{"deal", one(s.Deal("crm", "006A")), lookup{b.Deals[0], true, nil}},
		{"customer", one(s.Customer("crm", "cus_1")), lookup{b.Customers[0], true, nil}},
		{"subscription", one(s.Subscription("crm", "sub_1")), lookup{b.Subscriptions[0], true, nil}},
		{"invoice", one(s.Invoice("crm", "in_1")), lookup{b.Invoices[0], true, nil}},
		{"missing ID", one(s.Subscription("crm", "sub_nope")), lookup{record.Subscription{}, false, nil}},
		{"missing connector", one(s.Account("other", "001A")), lookup{record.Account{}, false, nil}},
		{"ID of another type", one(s.Deal("crm", "001A")), lookup{record.Deal{}, false, nil}},
	}
	for _, l := range lookups {
		equal(t, l.name, l.got, l.want)
	}
	empty(t, "accounts of an unknown connector", must(s.Accounts("other"))(t))
	equal(t, "counts of an unknown connector", must(s.Counts("other"))(t), map[store.RecordType]int{})

	equal(t, "recommit stats", must(s.CommitBatch("crm", fullBatch()))(t), store.CommitStats{Unchanged: 6})
}

// recordsUpsert: newer overwrites, stale never overwrites, identical is
// unchanged, deletions become tombstones (ported from the bbolt tests).
func recordsUpsert(t *testing.T, open func(t *testing.T) store.Store) {
	older, newer := at(-time.Hour), at(time.Hour)
	tests := []struct {
		name      string
		batches   []record.Batch // the last one's stats are checked
		wantStats store.CommitStats
		want      []record.Account // live accounts afterwards
	}{
		{
			name:      "newer overwrites",
			batches:   []record.Batch{{Accounts: []record.Account{acct("001", "Acme 2", newer)}}},
			wantStats: store.CommitStats{Updated: 1},
			want:      []record.Account{acct("001", "Acme 2", newer), acct("002", "Beta", t0)},
		},
		{
			name:      "stale never overwrites newer",
			batches:   []record.Batch{{Accounts: []record.Account{acct("001", "Acme old", older)}}},
			wantStats: store.CommitStats{Stale: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)},
		},
		{
			name:      "same modified, new content updates",
			batches:   []record.Batch{{Accounts: []record.Account{acct("001", "Acme renamed", t0)}}},
			wantStats: store.CommitStats{Updated: 1},
			want:      []record.Account{acct("001", "Acme renamed", t0), acct("002", "Beta", t0)},
		},
		{
			name:      "identical is unchanged, new is inserted",
			batches:   []record.Batch{{Accounts: []record.Account{acct("001", "Acme", t0), acct("003", "Gamma", t0)}}},
			wantStats: store.CommitStats{Unchanged: 1, Inserted: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0), acct("003", "Gamma", t0)},
		},
		{
			name: "zero modified updates and keeps the stored time for staleness",
			batches: []record.Batch{
				{Accounts: []record.Account{acct("001", "Acme Z", time.Time{})}},
				{Accounts: []record.Account{acct("001", "Acme old", older)}},
			},
			wantStats: store.CommitStats{Stale: 1},
			want:      []record.Account{acct("001", "Acme Z", time.Time{}), acct("002", "Beta", t0)},
		},
		{
			name:      "deleted ref becomes a tombstone, unknown ref is not counted",
			batches:   []record.Batch{{Deleted: []record.Ref{{System: record.Salesforce, ID: "002", Modified: newer}, {ID: "unknown"}}}},
			wantStats: store.CommitStats{Deleted: 1},
			want:      []record.Account{acct("001", "Acme", t0)},
		},
		{
			name:      "stale deletion is ignored",
			batches:   []record.Batch{{Deleted: []record.Ref{{System: record.Salesforce, ID: "002", Modified: older}}}},
			wantStats: store.CommitStats{Stale: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)},
		},
		{
			name:      "record flagged deleted by the vendor",
			batches:   []record.Batch{{Accounts: []record.Account{deleted(acct("001", "Acme", newer))}}},
			wantStats: store.CommitStats{Deleted: 1},
			want:      []record.Account{acct("002", "Beta", t0)},
		},
		{
			name:      "new record arriving deleted",
			batches:   []record.Batch{{Accounts: []record.Account{deleted(acct("009", "Gone", t0))}}},
			wantStats: store.CommitStats{Deleted: 1},
			want:      []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			seed := &record.Batch{Accounts: []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)}}
			ok(t, func() error { _, err := s.CommitBatch("sf", seed); return err }())
			var st store.CommitStats
			for i := range tc.batches {
				st = must(s.CommitBatch("sf", &tc.batches[i]))(t)
			}
			equal(t, "stats", st, tc.wantStats)
			equal(t, "accounts", must(s.Accounts("sf"))(t), tc.want)
		})
	}
}

// recordsTombstones: a tombstone is hidden from lists and counts, readable
// by ID, not resurrected by an older update, and resurrected by a newer one.
func recordsTombstones(t *testing.T, s store.Store) {
	must(s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("001", "Acme", t0), acct("002", "Beta", t0)}}))(t)
	del := at(time.Minute)
	equal(t, "delete stats", must(s.CommitBatch("sf", &record.Batch{Deleted: []record.Ref{{ID: "001", Modified: del}}}))(t),
		store.CommitStats{Deleted: 1})

	type got struct {
		a     record.Account
		found bool
	}
	a, found := mustGet(t)(s.Account("sf", "001"))
	equal(t, "tombstone by ID", got{a, found}, got{deleted(acct("001", "Acme", del)), true})
	equal(t, "live accounts", must(s.Accounts("sf"))(t), []record.Account{acct("002", "Beta", t0)})
	equal(t, "counts", must(s.Counts("sf"))(t), map[store.RecordType]int{store.TypeAccount: 1})

	steps := []struct {
		name  string
		batch record.Batch
		want  store.CommitStats
	}{
		{"deleting a tombstone again is unchanged", record.Batch{Deleted: []record.Ref{{ID: "001", Modified: at(2 * time.Minute)}}},
			store.CommitStats{Unchanged: 1}},
		{"an older update does not resurrect it", record.Batch{Accounts: []record.Account{acct("001", "Acme", t0)}},
			store.CommitStats{Stale: 1}},
	}
	for _, st := range steps {
		equal(t, st.name, must(s.CommitBatch("sf", &st.batch))(t), st.want)
	}
	a, found = mustGet(t)(s.Account("sf", "001"))
	equal(t, "tombstone after stale updates", got{a, found}, got{deleted(acct("001", "Acme", del)), true})

	equal(t, "a newer update resurrects it", must(s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("001", "Acme back", at(time.Hour))}}))(t),
		store.CommitStats{Updated: 1})
	equal(t, "live accounts after resurrection", must(s.Accounts("sf"))(t),
		[]record.Account{acct("001", "Acme back", at(time.Hour)), acct("002", "Beta", t0)})
}

func mustGet(t *testing.T) func(record.Account, bool, error) (record.Account, bool) {
	return func(a record.Account, found bool, err error) (record.Account, bool) {
		t.Helper()
		ok(t, err)
		return a, found
	}
}

// recordsFullEnumeration: records a full enumeration did not see are
// reported on its last batch, deleted only by ApplyDeletions, and only if
// unchanged since the report (ported from the bbolt tests).
func recordsFullEnumeration(t *testing.T, s store.Store) {
	seed := &record.Batch{Stream: "Account", Accounts: []record.Account{acct("001", "A", t0), acct("002", "B", t0), acct("003", "C", t0),
		acct("004", "D", t0), deleted(acct("005", "E", t0))}}
	must(s.CommitBatch("sf", seed))(t)
	// A record stored outside the stream (a webhook's batch has none)
	// belongs to the enumeration of its type all the same.
	must(s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("007", "W", t0)}}))(t)

	// A full enumeration over two batches sees 001 and 003 only.
	st := must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Accounts: []record.Account{acct("001", "A", t0)}, Cursor: []byte("p2")}))(t)
	equal(t, "stats of the first full batch", st, store.CommitStats{Unchanged: 1})
	// An incremental batch of another stream in between does not disturb it.
	must(s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Deals: []record.Deal{{Ref: record.Ref{ID: "006"}}}}))(t)
	st = must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true, Accounts: []record.Account{acct("003", "C", t0)}}))(t)
	want := []store.Gone{{Type: store.TypeAccount, ID: "002", Modified: t0}, {Type: store.TypeAccount, ID: "004", Modified: t0},
		{Type: store.TypeAccount, ID: "007", Modified: t0}}
	equal(t, "stats of the last full batch", st, store.CommitStats{Unchanged: 1, Unseen: want})

	// Nothing is deleted until ApplyDeletions.
	equal(t, "counts before apply", must(s.Counts("sf"))(t), map[store.RecordType]int{store.TypeAccount: 5, store.TypeDeal: 1})
	// 004 changes after the report: it is kept.
	must(s.CommitBatch("sf", &record.Batch{Accounts: []record.Account{acct("004", "D2", at(time.Minute))}}))(t)
	unknown := store.Gone{Type: store.TypeAccount, ID: "404", Modified: t0}
	equal(t, "deleted", must(s.ApplyDeletions("sf", append(st.Unseen, unknown)))(t), 2)
	equal(t, "accounts after deletions", must(s.Accounts("sf"))(t),
		[]record.Account{acct("001", "A", t0), acct("003", "C", t0), acct("004", "D2", at(time.Minute))})
	a, found := mustGet(t)(s.Account("sf", "002"))
	if !found || !a.Deleted || !a.Modified.Equal(t0) {
		t.Errorf("002 after ApplyDeletions = %+v (found %v), want a tombstone modified at %v", a, found, t0)
	}
	equal(t, "applying again deletes nothing", must(s.ApplyDeletions("sf", st.Unseen))(t), 0)

	// The next full enumeration starts afresh: a one-batch full that sees
	// every live record reports nothing.
	st = must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true,
		Accounts: []record.Account{acct("001", "A", t0), acct("003", "C", t0), acct("004", "D2", at(time.Minute))}}))(t)
	equal(t, "second full enumeration", st, store.CommitStats{Unchanged: 3})
}

// recordsResetFull: ResetFull forgets the marks of an unfinished
// enumeration.
func recordsResetFull(t *testing.T, s store.Store) {
	must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Accounts: []record.Account{acct("001", "A", t0), acct("002", "B", t0)}}))(t)
	must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Accounts: []record.Account{acct("002", "B", t0)}}))(t)
	ok(t, s.ResetFull("sf", "Account"))
	ok(t, s.ResetFull("sf", "unknown stream"))
	ok(t, s.ResetFull("unknown", "Account"))
	st := must(s.CommitBatch("sf", &record.Batch{Stream: "Account", Full: true, Done: true, Accounts: []record.Account{acct("001", "A", t0)}}))(t)
	equal(t, "unseen after reset", st.Unseen, []store.Gone{{Type: store.TypeAccount, ID: "002", Modified: t0}})
}

// recordsRejects: invalid batches are errors and store nothing, their
// cursor included.
func recordsRejects(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name      string
		connector string
		batch     record.Batch
	}{
		{"empty connector", "", record.Batch{Stream: "s", Accounts: []record.Account{acct("001", "A", t0)}}},
		{"cursor without stream", "sf", record.Batch{Accounts: []record.Account{acct("001", "A", t0)}, Cursor: []byte("x")}},
		{"full without stream", "sf", record.Batch{Accounts: []record.Account{acct("001", "A", t0)}, Full: true}},
		{"empty source ID", "sf", record.Batch{Stream: "s", Accounts: []record.Account{acct("001", "A", t0), {Name: "x"}}, Cursor: []byte("x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if _, err := s.CommitBatch(tc.connector, &tc.batch); err == nil {
				t.Error("no error")
			}
			empty(t, "accounts", must(s.Accounts(tc.connector))(t))
			equal(t, "cursors", must(s.Cursors(tc.connector))(t), map[string][]byte{})
		})
	}
}

// testCursors: a cursor is committed with its page or not at all, and can
// be set, deleted and reset on its own.
func testCursors(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ok(t, s.SetCursor("sf", "Account", []byte("a")))
	must(s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Cursor: []byte("o1"),
		Deals: []record.Deal{{Ref: record.Ref{ID: "006A", Modified: t0}}}}))(t)
	equal(t, "cursors", must(s.Cursors("sf"))(t), map[string][]byte{"Account": []byte("a"), "Opportunity": []byte("o1")})

	// A page that fails keeps neither its records nor its cursor.
	if _, err := s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Cursor: []byte("o2"),
		Deals: []record.Deal{{Ref: record.Ref{ID: "006B", Modified: t0}}, {Name: "no ID"}}}); err == nil {
		t.Fatal("a batch with an empty source ID was committed")
	}
	equal(t, "cursors after a failed page", must(s.Cursors("sf"))(t), map[string][]byte{"Account": []byte("a"), "Opportunity": []byte("o1")})
	equal(t, "deals after a failed page", must(s.Deals("sf"))(t), []record.Deal{{Ref: record.Ref{ID: "006A", Modified: t0}}})

	// A batch without a cursor keeps the stored one.
	must(s.CommitBatch("sf", &record.Batch{Stream: "Opportunity", Deals: []record.Deal{{Ref: record.Ref{ID: "006C", Modified: t0}}}}))(t)
	ok(t, s.SetCursor("sf", "Account", nil))
	ok(t, s.SetCursor("billing", "subscriptions", []byte("s")))
	equal(t, "cursors after deleting one", must(s.Cursors("sf"))(t), map[string][]byte{"Opportunity": []byte("o1")})

	// An empty cursor is a cursor (a vendor's "from the start"), not a deletion.
	ok(t, s.SetCursor("sf", "Empty", []byte{}))
	equal(t, "cursors with an empty one", must(s.Cursors("sf"))(t), map[string][]byte{"Opportunity": []byte("o1"), "Empty": {}})

	ok(t, s.ResetCursors("sf"))
	ok(t, s.ResetCursors("unknown"))
	equal(t, "cursors after reset", must(s.Cursors("sf"))(t), map[string][]byte{})
	equal(t, "other connector's cursors", must(s.Cursors("billing"))(t), map[string][]byte{"subscriptions": []byte("s")})
}
