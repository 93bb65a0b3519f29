package bolt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// TestRecordDictFrozen: stored frames can only be read with exactly the
// dictionary they were written with, so recorddict1.txt never changes.
func TestRecordDictFrozen(t *testing.T) {
	sum := sha256.Sum256(recordDict1)
	if got, want := hex.EncodeToString(sum[:]), "d9267ed9623cf8aa3eaabd940368509586b5988ccdf1028857bebb55024cf115"; got != want {
		t.Fatalf("recorddict1.txt has sha256 %s, want %s: a changed dictionary cannot read the records already stored with it", got, want)
	}
}

// sampleInvoices reads testdata/invoices.jsonl: 40 invoices as the 10,000-
// account scale-curve world stores them (SOURCE: `healthsync scalecurve
// --accounts 10000`, seed 1, every 3,641st stored invoice from the 8th;
// none is in the dictionary).
func sampleInvoices(t testing.TB) []record.Invoice {
	f, err := os.Open(filepath.Join("testdata", "invoices.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record.Invoice
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var inv record.Invoice
		if err := json.Unmarshal(sc.Bytes(), &inv); err != nil {
			t.Fatal(err)
		}
		out = append(out, inv)
	}
	if err := sc.Err(); err != nil || len(out) != 40 {
		t.Fatalf("read %d sample invoices: %v", len(out), err)
	}
	return out
}

// rawRecords returns the stored values of connector's records of typ.
func rawRecords(t *testing.T, s *Store, connector string, typ store.RecordType) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.view(func(tx *bbolt.Tx) error {
		return lookupBucket(tx, bucketRecords, connector, string(typ)).ForEach(func(k, v []byte) error {
			out[string(k)] = clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordsStoredCompressed: a committed record is stored as a zstd
// frame of its JSON, about a quarter of the JSON's size for the scale
// world's invoices, and reads back equal.
func TestRecordsStoredCompressed(t *testing.T) {
	s := openTest(t)
	invs := sampleInvoices(t)
	if _, err := s.CommitBatch("billing", &record.Batch{Invoices: invs}); err != nil {
		t.Fatal(err)
	}
	jsonBytes, stored := 0, 0
	for _, inv := range invs {
		js, _ := json.Marshal(inv)
		jsonBytes += len(js)
	}
	for id, v := range rawRecords(t, s, "billing", store.TypeInvoice) {
		if v[8] != flagZstd1 {
			t.Fatalf("invoice %s stored with flags %#x, want %#x", id, v[8], flagZstd1)
		}
		stored += len(v) - recordHeader
	}
	t.Logf("40 invoices: %d bytes of JSON, %d stored (%.0f%%)", jsonBytes, stored, 100*float64(stored)/float64(jsonBytes))
	if stored*10 > jsonBytes*4 {
		t.Errorf("40 invoices: %d bytes stored for %d bytes of JSON, want at most 40%%", stored, jsonBytes)
	}
	got, err := s.Invoices("billing")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, invs) {
		t.Errorf("invoices read back differ from those committed")
	}
}

// TestRecordBodyDamage: a frame that does not decompress, and a flags byte
// naming an unknown encoding, are store.ErrCorrupt, not a panic or a
// wrong record.
func TestRecordBodyDamage(t *testing.T) {
	good, err := compressBody(nil, []byte(`{"system":"salesforce","id":"001A"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body recordBody
	}{
		{"truncated frame", recordBody{raw: good[:len(good)-3], flags: flagZstd1}},
		{"not a frame", recordBody{raw: []byte(`{"id":"001A"}`), flags: flagZstd1}},
		{"unknown encoding", recordBody{raw: good, flags: 1 << 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if js, err := tc.body.JSON(); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("JSON() = %q, %v; want store.ErrCorrupt", js, err)
			}
		})
	}
}

// TestLegacyStore opens testdata/legacy-records.db, written by the build
// before records were compressed (TestMakeLegacyStore at commit 4a4a4bc,
// every record body plain JSON), and checks every reader, that
// re-committing the same records changes nothing, that a change is stored
// compressed, and that deletions and export still work on old bodies.
func TestLegacyStore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "legacy-records.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "h.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersionOnDisk(); v != SchemaVersion() || err != nil {
		t.Errorf("legacy store opened at schema version %d (%v), want %d", v, err, SchemaVersion())
	}
	for id, v := range rawRecords(t, s, "billing", store.TypeInvoice) {
		if v[8]&flagZstd1 != 0 || !json.Valid(v[recordHeader:]) {
			t.Fatalf("testdata invoice %s is not in the old format (flags %#x)", id, v[8])
		}
	}
	batches := legacyBatches()
	crm, billing := batches["crm"][0], batches["billing"][0]
	gone := crm.Accounts[2]
	gone.Deleted, gone.Modified = true, legacyT.Add(time.Hour)
	check := func(name string, got, want any, err error) {
		t.Helper()
		checkRead(t, name, got, want, err)
	}
	accts, err := s.Accounts("crm")
	check("accounts", accts, crm.Accounts[:2], err)
	deals, err := s.Deals("crm")
	check("deals", deals, crm.Deals, err)
	tasks, err := s.Tasks("crm")
	check("tasks", tasks, crm.Tasks, err)
	custs, err := s.Customers("billing")
	check("customers", custs, billing.Customers, err)
	subs, err := s.Subscriptions("billing")
	check("subscriptions", subs, billing.Subscriptions, err)
	invs, err := s.Invoices("billing")
	check("invoices", invs, billing.Invoices, err)
	a, _, err := s.Account("crm", "001C")
	check("tombstone by id", a, gone, err)
	counts, err := s.Counts("billing")
	check("counts", counts, map[store.RecordType]int{store.TypeCustomer: 1, store.TypeSubscription: 1, store.TypeInvoice: 1}, err)

	// Export gives each record's JSON as the old build stored it.
	d, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Records {
		v := rawRecords(t, s, r.Connector, r.Type)[r.ID]
		if !bytes.Equal(r.Doc, v[recordHeader:]) {
			t.Errorf("export of %s %s: doc %s, want the stored %s", r.Connector, r.ID, r.Doc, v[recordHeader:])
		}
	}

	// The same records again: nothing changes, nothing is rewritten.
	st, err := s.CommitBatch("billing", billing)
	check("re-commit stats", st, store.CommitStats{Unchanged: 3}, err)
	if v := rawRecords(t, s, "billing", store.TypeInvoice)["in_1"]; v[8] != 0 {
		t.Errorf("unchanged legacy invoice rewritten (flags %#x)", v[8])
	}

	// A changed record is stored compressed and reads back.
	paid := billing.Invoices[0]
	paid.Modified, paid.AmountDue = legacyT.Add(2*time.Hour), 500
	st, err = s.CommitBatch("billing", &record.Batch{Invoices: []record.Invoice{paid}})
	check("update stats", st, store.CommitStats{Updated: 1}, err)
	if v := rawRecords(t, s, "billing", store.TypeInvoice)["in_1"]; v[8] != flagZstd1 {
		t.Errorf("updated invoice stored with flags %#x, want %#x", v[8], flagZstd1)
	}
	inv, _, err := s.Invoice("billing", "in_1")
	check("updated invoice", inv, paid, err)

	// Deleting a record whose body is old JSON.
	st, err = s.CommitBatch("crm", &record.Batch{Deleted: []record.Ref{{System: record.Salesforce, ID: "001B", Modified: legacyT.Add(time.Hour)}}})
	check("delete stats", st, store.CommitStats{Deleted: 1}, err)
	beta := crm.Accounts[1]
	beta.Deleted, beta.Modified = true, legacyT.Add(time.Hour)
	a, _, err = s.Account("crm", "001B")
	check("deleted legacy account", a, beta, err)
	n, err := s.ApplyDeletions("crm", []store.Gone{{Type: store.TypeDeal, ID: "006A", Modified: legacyT}})
	check("apply deletions", n, 1, err)
	deals, err = s.Deals("crm")
	check("deals after deletion", deals, []record.Deal{}, err)
}

// checkRead fails t when a read returned err or got differs from want.
func checkRead(t *testing.T, name string, got, want any, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

// benchInvoice is a sample invoice of the scale world and its JSON.
func benchInvoice(b *testing.B) (record.Invoice, []byte) {
	inv := sampleInvoices(b)[0]
	js, err := json.Marshal(inv)
	if err != nil {
		b.Fatal(err)
	}
	return inv, js
}

// BenchmarkRecordBody: one stored invoice of the scale world, encoded and
// decoded as the old build stored it (JSON) and as this one does (JSON,
// zstd frame); bytes/op is reported as stored-bytes.
func BenchmarkRecordBody(b *testing.B) {
	inv, js := benchInvoice(b)
	body, err := compressBody(nil, js)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&inv); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "stored-bytes")
	})
	b.Run("encode/zstd", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			js, err := json.Marshal(&inv)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = compressBody(buf[:0], js); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(body)), "stored-bytes")
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			var out record.Invoice
			if err := json.Unmarshal(js, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/zstd", func(b *testing.B) {
		rb := recordBody{raw: body, flags: flagZstd1}
		var scratch []byte
		for b.Loop() {
			var err error
			if scratch, err = rb.appendJSON(scratch[:0]); err != nil {
				b.Fatal(err)
			}
			var out record.Invoice
			if err := json.Unmarshal(scratch, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
