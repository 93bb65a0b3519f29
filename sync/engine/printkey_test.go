package engine

import (
	"encoding/binary"
	"hash/fnv"
	"reflect"
	"runtime"
	"strconv"
	"testing"
)

// TestPrintKey: printKey is FNV-1a 64 of "kind/id", so a stored set stays
// valid across builds.
func TestPrintKey(t *testing.T) {
	for _, k := range [][2]string{{"invoice", "in_1OaBcD"}, {"task", "00T5g00000AbCdE"}, {"", ""}} {
		h := fnv.New64a()
		h.Write([]byte(k[0] + "/" + k[1]))
		if got, want := printKey(k[0], k[1]), h.Sum64(); got != want {
			t.Errorf("printKey(%q, %q) = %#x, want %#x", k[0], k[1], got, want)
		}
	}
}

// TestPrintsEncoding: fingerprints round-trip; the string-keyed format of
// earlier builds is read and re-keyed; a damaged tail is dropped.
func TestPrintsEncoding(t *testing.T) {
	p := map[uint64]uint64{printKey("invoice", "in_1"): 7, printKey("account", "001A"): 1 << 63}
	if got := decodePrints(encodePrints(p)); !reflect.DeepEqual(got, p) {
		t.Errorf("round trip %v, want %v", got, p)
	}
	var old []byte
	for _, e := range []struct {
		k string
		v uint64
	}{{"invoice/in_1", 7}, {"account/001A", 1 << 63}} {
		old = binary.AppendUvarint(old, uint64(len(e.k)))
		old = append(old, e.k...)
		old = binary.BigEndian.AppendUint64(old, e.v)
	}
	if got := decodePrints(old); !reflect.DeepEqual(got, p) {
		t.Errorf("earlier format read as %v, want %v", got, p)
	}
	if got := decodePrints(append(encodePrints(p), 1, 2, 3)); !reflect.DeepEqual(got, p) {
		t.Errorf("damaged tail read as %v, want %v", got, p)
	}
	if got := decodePrints(nil); len(got) != 0 {
		t.Errorf("nothing stored read as %v", got)
	}
}

// BenchmarkPrintsMemory reports the live heap of one million record
// fingerprints keyed by printKey, next to the string keys of earlier
// builds, and the stored size.
func BenchmarkPrintsMemory(b *testing.B) {
	const n = 1_000_000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range b.N {
		base := heap()
		byString := make(map[string]uint64)
		for i := range n {
			byString["invoice/in_"+strconv.Itoa(1_000_000_000+i)+"AbCdEfGh"] = uint64(i)
		}
		strMiB := float64(heap()-base) / (1 << 20)
		runtime.KeepAlive(byString)
		byString = nil
		base = heap()
		byKey := make(map[uint64]uint64)
		for i := range n {
			byKey[printKey("invoice", "in_"+strconv.Itoa(1_000_000_000+i)+"AbCdEfGh")] = uint64(i)
		}
		keyMiB := float64(heap()-base) / (1 << 20)
		b.ReportMetric(strMiB, "string-keyed-MiB/1M")
		b.ReportMetric(keyMiB, "hash-keyed-MiB/1M")
		b.ReportMetric(float64(len(encodePrints(byKey)))/(1<<20), "stored-MiB/1M")
		runtime.KeepAlive(byKey)
	}
}
