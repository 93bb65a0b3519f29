package bolt

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
)

// mappedKiB is how much of the file at path is resident in this process's
// mappings: the Rss of its entries in /proc/self/smaps, in KiB.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			in = len(fields) >= 6 && fields[5] == path // a mapping's header line
		case in && len(fields) == 3 && fields[0] == "Rss:":
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// invoiceFile opens a store at path holding 3,200 invoices (over 200
// pages) and returns it with the batch that wrote them and the KiB of
// pages they take.
func invoiceFile(t *testing.T, path string) (*Store, *record.Batch, int) {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	invs := sampleInvoices(t)
	batch := &record.Batch{}
	for i := range 80 {
		for _, inv := range invs {
			inv.ID = fmt.Sprintf("%s_%02d", inv.ID, i)
			batch.Invoices = append(batch.Invoices, inv)
		}
	}
	if _, err := s.CommitBatch("billing", batch); err != nil {
		t.Fatal(err)
	}
	u := fileUsage(t, s)
	if u < 800 {
		t.Fatalf("the invoices take %d KiB of pages, want a file of over 200 pages", u)
	}
	return s, batch, u
}

// TestScanReleasesMappedPages: reading every invoice leaves none of the
// file's pages mapped into the process, while the same walk in a plain
// read transaction (what readAll did) leaves the pages it touched.
func TestScanReleasesMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, batch, u := invoiceFile(t, path)
	release := func() { must(t, s.scan(func(*bbolt.Tx) error { return nil })) }

	release()
	if _, err := s.Invoices("billing"); err != nil {
		t.Fatal(err)
	}
	if got := mappedKiB(t, path); got > 128 {
		t.Errorf("after reading every invoice %d KiB of the file stay mapped, want at most 128 (%d KiB of invoice pages)", got, u)
	}

	// The same walk in a plain read transaction keeps its pages mapped
	// (with no paced release: releasePacer).
	s.db.paced.every = time.Hour
	s.db.paced.last.Store(int64(time.Since(pacerEpoch)))
	must(t, s.view(func(tx *bbolt.Tx) error {
		return lookupBucket(tx, bucketRecords, "billing", "invoice").ForEach(func(k, v []byte) error { return nil })
	}))
	if got := mappedKiB(t, path); got < u/2 {
		t.Errorf("after a plain walk of the invoices %d KiB of the file are mapped, want most of their %d KiB", got, u)
	}
	release()
	if got := mappedKiB(t, path); got > 128 {
		t.Errorf("after scan %d KiB of the file stay mapped, want at most 128", got)
	}
	// Released pages read back the same records.
	got, err := s.Invoices("billing")
	if err != nil || len(got) != len(batch.Invoices) || got[0].Total != batch.Invoices[0].Total {
		t.Fatalf("reading again after a release: %d invoices, %v", len(got), err)
	}
}

// TestCommitBatchReleasesMappedPages: a pull's batch reads the leaf page
// of each record it upserts; committing all 3,200 invoices again leaves
// none of their pages mapped, where it used to leave most of them.
func TestCommitBatchReleasesMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, batch, u := invoiceFile(t, path)
	must(t, s.scan(func(*bbolt.Tx) error { return nil }))
	st, err := s.CommitBatch("billing", batch)
	if err != nil || st.Unchanged != len(batch.Invoices) {
		t.Fatalf("committing again: %+v, %v", st, err)
	}
	// At most about a tenth: the commit itself still reads the pages of
	// the buckets it writes (the live counts and owner log, counts.go and
	// bycustomer.go) after the release.
	if got := mappedKiB(t, path); got > u/8 {
		t.Errorf("after committing every invoice again %d KiB of the file stay mapped, want at most %d (%d KiB of invoice pages)", got, u/8, u)
	}
}

// TestWalkedBoundsMappedPages: a walk of the 3,200 invoices that counts
// what it reads with walked keeps at most about one release interval of
// the file mapped at any point; without releases the whole bucket ends up
// mapped.
func TestWalkedBoundsMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, _, u := invoiceFile(t, path)
	for _, tc := range []struct {
		name      string
		every     int
		maxMapped func(peak int) bool
		want      string
	}{
		{"release every 128 KiB", 128 << 10, func(peak int) bool { return peak <= 1024 }, "at most 1024 KiB"},
		{"no release", 1 << 40, func(peak int) bool { return peak >= u/2 }, fmt.Sprintf("most of the %d KiB", u)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, s.scan(func(*bbolt.Tx) error { return nil }))
			peak := 0
			must(t, s.view(func(tx *bbolt.Tx) error {
				w, i := walked{tx: tx, every: tc.every}, 0
				return lookupBucket(tx, bucketRecords, "billing", "invoice").ForEach(func(k, v []byte) error {
					w.add(k, v)
					if i++; i%100 == 0 {
						peak = max(peak, mappedKiB(t, path))
					}
					return nil
				})
			}))
			t.Logf("peak %d KiB mapped of %d KiB", peak, u)
			if !tc.maxMapped(peak) {
				t.Errorf("at most %d KiB of the file were mapped during the walk, want %s", peak, tc.want)
			}
		})
	}
}

// fileUsage is the KiB of pages the invoices of "billing" take.
func fileUsage(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	must(t, s.view(func(tx *bbolt.Tx) error {
		st := lookupBucket(tx, bucketRecords, "billing", "invoice").Stats()
		n = (st.LeafAlloc + st.BranchAlloc) >> 10
		return nil
	}))
	return n
}

// TestScanWhileWriting: readers releasing the mapping while a writer
// commits (growing the file, so bbolt remaps it) and other readers walk the
// same pages all read whole, well-formed snapshots.
func TestScanWhileWriting(t *testing.T) {
	s := openTest(t)
	invs := sampleInvoices(t)
	commit := func(round int) error {
		var b record.Batch
		for i := range 2 {
			for _, inv := range invs {
				inv.ID = fmt.Sprintf("%s_%02d_%03d", inv.ID, i, round)
				inv.Total = int64(round)
				b.Invoices = append(b.Invoices, inv)
			}
		}
		_, err := s.CommitBatch("billing", &b)
		return err
	}
	must(t, commit(0))
	const rounds = 8
	errs := make(chan error, 3)
	go func() {
		for r := 1; r <= rounds; r++ {
			if err := commit(r); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for range 2 {
		go func() {
			for range 2 * rounds {
				got, err := s.Invoices("billing")
				if err != nil {
					errs <- err
					return
				}
				if len(got)%80 != 0 || len(got) == 0 {
					errs <- fmt.Errorf("read %d invoices, not a whole number of 80-invoice commits", len(got))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Invoices("billing")
	if err != nil || len(got) != 80*(rounds+1) {
		t.Fatalf("read %d invoices at the end, want %d: %v", len(got), 80*(rounds+1), err)
	}
}

// TestPacedReleaseOfTransactions: a transaction that releases nothing
// itself (here a plain walk) leaves its pages mapped only until the next
// transaction that ends a release interval after the last release.
func TestPacedReleaseOfTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, _, u := invoiceFile(t, path)
	walk := func() {
		must(t, s.view(func(tx *bbolt.Tx) error {
			return lookupBucket(tx, bucketRecords, "billing", "invoice").ForEach(func(k, v []byte) error { return nil })
		}))
	}
	must(t, s.scan(func(*bbolt.Tx) error { return nil }))

	s.db.paced.minFile = 1       // this small file counts as large
	s.db.paced.every = time.Hour // the last release is recent: none now
	s.db.paced.last.Store(int64(time.Since(pacerEpoch)))
	walk()
	if got := mappedKiB(t, path); got < u/2 {
		t.Fatalf("after a walk of the invoices %d KiB are mapped, want most of their %d KiB", got, u)
	}
	s.db.paced.every = time.Nanosecond // an interval has passed: this one releases
	walk()
	if got := mappedKiB(t, path); got > 128 {
		t.Errorf("after a paced release %d KiB of the file stay mapped, want at most 128 (%d KiB of invoice pages)", got, u)
	}
	s.db.paced.minFile = 0 // the default: a file this small is never released
	walk()
	if got := mappedKiB(t, path); got < u/2 {
		t.Errorf("a %d KiB file was released by the pacer: %d KiB mapped after a walk", u, got)
	}
}

// TestReadOwnedReleasesMappedPages: reading records by owner (spread over
// the bucket, a page each) leaves none of their pages mapped.
func TestReadOwnedReleasesMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, batch, u := invoiceFile(t, path)
	var customers []string
	for _, inv := range batch.Invoices {
		customers = append(customers, inv.CustomerID)
	}
	must(t, s.scan(func(*bbolt.Tx) error { return nil }))
	s.db.paced.every = time.Hour // no paced release: readOwned's own
	s.db.paced.last.Store(int64(time.Since(pacerEpoch)))
	got, err := s.InvoicesOf("billing", customers)
	if err != nil || len(got) != len(batch.Invoices) {
		t.Fatalf("read %d invoices by customer (%v), want %d", len(got), err, len(batch.Invoices))
	}
	if got := mappedKiB(t, path); got > 128 {
		t.Errorf("after reading the invoices by customer %d KiB of the file stay mapped, want at most 128 (%d KiB of invoice pages)", got, u)
	}
}
