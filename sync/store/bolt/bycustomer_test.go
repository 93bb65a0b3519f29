package bolt

import (
	"path/filepath"
	"reflect"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// ownedBatch holds two customers' subscriptions and invoices and an
// account's deals.
func ownedBatch() *record.Batch {
	ref := func(sys, id string) record.Ref { return record.Ref{System: sys, ID: id, Modified: t0} }
	return &record.Batch{
		Deals: []record.Deal{{Ref: ref(record.Salesforce, "006A"), AccountID: "001A"}},
		Subscriptions: []record.Subscription{{Ref: ref(record.Stripe, "sub_1"), CustomerID: "cus_1"},
			{Ref: ref(record.Stripe, "sub_2"), CustomerID: "cus_2"}},
		Invoices: []record.Invoice{{Ref: ref(record.Stripe, "in_1"), CustomerID: "cus_1"}},
	}
}

// checkOwned fails unless s reads ownedBatch's records by owner.
func checkOwned(t *testing.T, s *Store) {
	t.Helper()
	b := ownedBatch()
	subs, err := s.SubscriptionsOf("c", []string{"cus_1", "cus_2"})
	if err != nil || !reflect.DeepEqual(subs, b.Subscriptions) {
		t.Errorf("SubscriptionsOf = %+v, %v; want %+v", subs, err, b.Subscriptions)
	}
	invs, err := s.InvoicesOf("c", []string{"cus_1"})
	if err != nil || !reflect.DeepEqual(invs, b.Invoices) {
		t.Errorf("InvoicesOf = %+v, %v; want %+v", invs, err, b.Invoices)
	}
	deals, err := s.DealsOf("c", []string{"001A"})
	if err != nil || !reflect.DeepEqual(deals, b.Deals) {
		t.Errorf("DealsOf = %+v, %v; want %+v", deals, err, b.Deals)
	}
	if newest, err := s.NewestModified("c"); err != nil || !newest.Equal(t0) {
		t.Errorf("NewestModified = %v, %v; want %v", newest, err, t0)
	}
	want := map[store.RecordType]int{store.TypeDeal: 1, store.TypeSubscription: 2, store.TypeInvoice: 1}
	if counts, err := s.Counts("c"); err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("Counts = %v, %v; want %v", counts, err, want)
	}
}

// TestOwnerIndexMigration: a store written before the owner index, the
// newest modified times and the live counts (schema version 1) gets them
// built when a build with the migration opens it.
func TestOwnerIndexMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := open(path, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBatch("c", ownedBatch()); err != nil {
		t.Fatal(err)
	}
	// What version 1 wrote: records, no owner index, no newest times.
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketByOwner, bucketNewest, bucketCounts} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersionOnDisk(); v != SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
	checkOwned(t, s)
}

// TestOwnerIndexImport: a store restored from a dump reads by owner and
// knows its newest modified time and live counts.
func TestOwnerIndexImport(t *testing.T) {
	src := openTest(t)
	if _, err := src.CommitBatch("c", ownedBatch()); err != nil {
		t.Fatal(err)
	}
	d, err := src.Export()
	if err != nil {
		t.Fatal(err)
	}
	dst := openTest(t)
	if err := dst.Import(d); err != nil {
		t.Fatal(err)
	}
	checkOwned(t, dst)
}

// TestOwnerLogMergedOnRead: a commit logs its owner entries (one value,
// not a page per owner); the next owner read merges the log into the
// index and clears it, and a record committed after that read is found by
// the read after.
func TestOwnerLogMergedOnRead(t *testing.T) {
	s := openTest(t)
	if _, err := s.CommitBatch("c", ownedBatch()); err != nil {
		t.Fatal(err)
	}
	pending := func() (p bool) {
		t.Helper()
		if err := s.db.View(func(tx *bbolt.Tx) error { p = ownerLogPending(tx, "c"); return nil }); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if !pending() {
		t.Fatal("no owner entries logged by the commit")
	}
	checkOwned(t, s)
	if pending() {
		t.Error("the owner log is not empty after a read merged it")
	}
	more := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: "sub_3", Modified: t0}, CustomerID: "cus_2"}
	if _, err := s.CommitBatch("c", &record.Batch{Subscriptions: []record.Subscription{more}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SubscriptionsOf("c", []string{"cus_2"})
	if want := []record.Subscription{ownedBatch().Subscriptions[1], more}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SubscriptionsOf = %+v, %v; want %+v", got, err, want)
	}
}

// TestOwnerLogMergedInSteps: a log larger than one merge step is merged in
// several write transactions, each moving the oldest values and deleting
// them from the log; the read after them finds every record, and a step
// that crashed would have left only what it had not merged.
func TestOwnerLogMergedInSteps(t *testing.T) {
	old := ownerMergeMax
	ownerMergeMax = 1
	t.Cleanup(func() { ownerMergeMax = old })
	s := openTest(t)
	subs := ownedBatch().Subscriptions
	for _, sub := range subs {
		if _, err := s.CommitBatch("c", &record.Batch{Subscriptions: []record.Subscription{sub}}); err != nil {
			t.Fatal(err)
		}
	}
	logged := func() (n int) {
		t.Helper()
		must(t, s.db.View(func(tx *bbolt.Tx) error {
			if lb := lookupBucket(tx, bucketOwnerLog, "c"); lb != nil {
				n = lb.Stats().KeyN
			}
			return nil
		}))
		return n
	}
	if n := logged(); n != len(subs) {
		t.Fatalf("%d log values after %d commits", n, len(subs))
	}
	// One step by hand: the oldest value leaves the log.
	must(t, s.db.Update(func(tx *bbolt.Tx) error {
		more, err := mergeOwnerLog(tx, "c")
		if err == nil && !more {
			t.Error("a step of one entry reported the log merged")
		}
		return err
	}))
	if n := logged(); n != len(subs)-1 {
		t.Fatalf("%d log values after one step, want %d", n, len(subs)-1)
	}
	var ids []string
	for _, sub := range subs {
		ids = append(ids, sub.CustomerID)
	}
	got, err := s.SubscriptionsOf("c", ids)
	if err != nil || len(got) != len(subs) {
		t.Fatalf("SubscriptionsOf after stepwise merges: %d of %d (%v)", len(got), len(subs), err)
	}
	if n := logged(); n != 0 {
		t.Errorf("%d log values left after the read", n)
	}
}
