package bolt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// goodFile writes a store with enough data to span many pages and returns
// its path, closed.
func goodFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for i := range 400 {
			if err := tx.Bucket(bucketMeta).Put(fmt.Appendf(nil, "key-%04d", i), []byte(strings.Repeat("v", 200))); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ways to damage a closed store file.
var damages = []struct {
	name    string
	damage  func(t *testing.T, path string)
	problem string // the start of the first problem reported
}{
	{"empty file", func(t *testing.T, path string) { must(t, os.Truncate(path, 0)) },
		"the file is empty (0 bytes), which is a damaged store, not a new one"},
	{"truncated", func(t *testing.T, path string) { must(t, os.Truncate(path, 5*4096)) },
		"truncated: the file is 20480 bytes, its meta page needs"},
	{"garbage pages", func(t *testing.T, path string) { garble(t, path, 2*4096, -1) },
		""}, // whatever bbolt's check or a recovered panic says
	{"one data page garbled", func(t *testing.T, path string) { garble(t, path, 20*4096, 4096) },
		""},
	{"meta pages overwritten", func(t *testing.T, path string) { garble(t, path, 0, -1) },
		"no valid bbolt meta page"},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// garble overwrites n bytes (-1: to the end) from offset on with
// deterministic noise.
func garble(t *testing.T, path string, offset, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	if n < 0 {
		n = fi.Size() - offset
	}
	noise := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	must(t, err)
	defer f.Close()
	_, err = f.WriteAt(noise, offset)
	must(t, err)
}

func checkDamaged(t *testing.T, err error, path, problem string) {
	t.Helper()
	var de *DamagedError
	if !errors.As(err, &de) || !errors.Is(err, ErrDamaged) {
		t.Fatalf("got %v (%T), want a *DamagedError", err, err)
	}
	if de.Path != path || len(de.Problems) == 0 || !strings.HasPrefix(de.Problems[0], problem) {
		t.Fatalf("got path %q problems %q, want path %q and a first problem starting %q", de.Path, de.Problems, path, problem)
	}
	if !strings.HasPrefix(err.Error(), "store "+path+" is damaged: ") {
		t.Fatalf("error %q does not start by naming the file", err)
	}
}

// TestOpenRefusesDamage: a damaged file is refused with an error naming it,
// without crashing, and is left as it was (a 0-byte file is not made a new
// store).
func TestOpenRefusesDamage(t *testing.T) {
	for _, tt := range damages {
		t.Run(tt.name, func(t *testing.T) {
			path := goodFile(t)
			tt.damage(t, path)
			before, err := os.ReadFile(path)
			must(t, err)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a damaged file")
			}
			checkDamaged(t, err, path, tt.problem)
			after, err := os.ReadFile(path)
			must(t, err)
			if string(after) != string(before) {
				t.Fatalf("Open changed the damaged file (%d bytes, was %d)", len(after), len(before))
			}
		})
	}
}

func TestCheck(t *testing.T) {
	path := goodFile(t)
	fi, err := os.Stat(path)
	must(t, err)
	got, err := Check(path, 0)
	if err != nil {
		t.Fatalf("good file: %v", err)
	}
	if want := (CheckResult{Bytes: fi.Size(), SchemaVersion: SchemaVersion()}); got != want {
		t.Fatalf("good file: %+v, want %+v", got, want)
	}
	for _, tt := range damages {
		t.Run(tt.name, func(t *testing.T) {
			path := goodFile(t)
			tt.damage(t, path)
			_, err := Check(path, 0)
			checkDamaged(t, err, path, tt.problem)
		})
	}
	if _, err := Check(filepath.Join(t.TempDir(), "none.db"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrNotExist", err)
	}
}

// TestReadRecoversFromDamageWhileOpen: pages damaged or cut off under an open
// store fail the read with an error naming the store instead of a bbolt
// panic or a SIGBUS.
func TestReadRecoversFromDamageWhileOpen(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"garbage pages", func(t *testing.T, path string) { garble(t, path, 2*4096, -1) }},
		{"truncated", func(t *testing.T, path string) { must(t, os.Truncate(path, 2*4096)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := goodFile(t)
			s, err := Open(path, Options{})
			must(t, err)
			defer s.Close()
			tt.damage(t, path)
			var pe *PanicError
			for i := range 400 {
				_, err = s.Meta(fmt.Sprintf("key-%04d", i))
				if err != nil {
					break
				}
			}
			if !errors.As(err, &pe) || !errors.Is(err, ErrDamaged) {
				t.Fatalf("got %v (%T), want a *PanicError", err, err)
			}
			if pe.Path != path || pe.Step != "reading" || !strings.HasPrefix(err.Error(), "reading store "+path+": recovered from a panic") {
				t.Fatalf("error %q does not name the store and the step", err)
			}
		})
	}
}

// BenchmarkConsistencyCheck measures bbolt's check as Open runs it, on a
// file of about 32 MiB of records (SetBytes: the file size, so MB/s is the
// check's speed).
func BenchmarkConsistencyCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "h.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	val := []byte(strings.Repeat("v", 300))
	for batch := range 100 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i := range 1000 {
				if err := tx.Bucket(bucketMeta).Put(fmt.Appendf(nil, "key-%03d-%04d", batch, i), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if p := consistency(s.db); len(p) > 0 {
			b.Fatal(p)
		}
	}
}

// TestUsage: Usage names every top-level bucket, and each record type per
// connector, with its key count; a bucket's used bytes never exceed its
// allocated ones.
func TestUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for conn, bs := range legacyBatches() {
		for _, b := range bs {
			if _, err := s.CommitBatch(conn, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(t, s.PutScores([]store.ScoreSnapshot{{AccountKey: "salesforce:001A", At: legacyT, Score: 80}}))
	must(t, s.Close())
	u, err := Usage(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, b := range u.Buckets {
		keys[b.Name] = b.Keys
		if b.Used > b.Bytes {
			t.Errorf("%s: %d bytes used of %d allocated", b.Name, b.Used, b.Bytes)
		}
	}
	want := map[string]int{
		"records/crm/account": 3, "records/crm/deal": 1, "records/crm/task": 1,
		"records/billing/customer": 1, "records/billing/subscription": 1, "records/billing/invoice": 1,
		"schema": 1, "meta": 0, "cursors": 4, "fullsync": 12, "signals": 0, "links": 0, "scores": 1, "score_history": 1,
		"written": 0, "pending": 0, "tasks": 0, "queue": 0, "dedupe": 0, "dedupe_expiry": 0, "dead_letters": 0, "outbox": 0, "runs": 0,
		// bycustomer.go, counts.go, newest.go: the owner index is filled
		// from its log at the first read by owner.
		"by_owner": 0, "by_owner_log": 4, "counts": 6, "newest": 2,
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys per bucket:\n got %v\nwant %v", keys, want)
	}
	fi, err := os.Stat(path)
	must(t, err)
	if u.FileBytes != fi.Size() || u.DataBytes > u.FileBytes || u.PageSize != os.Getpagesize() || u.FreePages < 0 {
		t.Errorf("usage %+v of a %d-byte file", u, fi.Size())
	}
}
