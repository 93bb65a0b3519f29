package bolt

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Damage checks. A bbolt file is read through a memory map, so a file that is
// shorter than its metadata says faults (SIGBUS) on the first read past its
// end, and a page of garbage makes bbolt panic. Neither may take the process
// down or, worse, be mistaken for a new store: Open checks the header before
// bbolt maps the file, runs bbolt's own consistency check on files up to
// Options.CheckMaxBytes, and turns a panic or fault inside any transaction
// into an error naming the file. Check does the same for `healthsync store
// check`, on a file of any size.

// ErrDamaged is wrapped by every *DamagedError.
var ErrDamaged = errors.New("store file is damaged")

// DamagedError is Open's and Check's error for a damaged file.
type DamagedError struct {
	Path string
	// Problems found, at most maxProblems of them.
	Problems []string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store %s is damaged: %s; restore it from a backup or move it away to start an empty store",
		e.Path, strings.Join(e.Problems, "; "))
}

// Unwrap makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// PanicError is the error of a transaction that panicked: bbolt panics on a
// page it cannot parse, and a read past the end of a file that shrank under
// the memory map faults (made a panic by debug.SetPanicOnFault).
type PanicError struct {
	Path  string
	Step  string // reading, writing
	Value any    // what was passed to panic
	Stack []byte // the stack at the panic, for the log
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s store %s: recovered from a panic (%v); the file may be damaged, run `healthsync store check %s`",
		e.Step, e.Path, e.Value, e.Path)
}

// Unwrap makes errors.Is(err, ErrDamaged) true: a panic inside bbolt means a
// page it could not read.
func (e *PanicError) Unwrap() error { return ErrDamaged }

// guard makes faults panics for the calling goroutine and, deferred, turns a
// panic into a *PanicError in *err. Use as: defer guard(path, step, &err)().
func guard(path, step string, err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = &PanicError{Path: path, Step: step, Value: r, Stack: debug.Stack()}
		}
	}
}

// boltDB is the bbolt handle whose transactions recover from panics and
// faults (see guard); bbolt rolls a panicking transaction back before the
// panic leaves it, so the handle stays usable for the pages that are intact.
type boltDB struct {
	*bbolt.DB
	path string
	// paced, when set, releases the mapped pages (mapped.go) at the end of
	// a transaction at most every releaseInterval.
	paced *releasePacer
}

// View runs a read-only transaction.
func (d boltDB) View(fn func(*bbolt.Tx) error) (err error) {
	defer guard(d.path, "reading", &err)()
	return d.DB.View(d.paced.wrap(fn))
}

// Update runs a read-write transaction.
func (d boltDB) Update(fn func(*bbolt.Tx) error) (err error) {
	defer guard(d.path, "writing", &err)()
	return d.DB.Update(d.paced.wrap(fn))
}

// The bbolt file header. Pages 0 and 1 each hold a meta page: a 16-byte page
// header (id, flags, count, overflow), then magic, version, page size,
// flags, root bucket (root page, sequence), freelist page, high-water page
// (pgid), transaction ID and an FNV-64a checksum of the fields before it, in
// host (little-endian) byte order. Source: go.etcd.io/bbolt
// internal/common/meta.go and page.go (v1.5.0).
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	metaSize        = 64
	metaSumOffset   = 56
	noFreelist      = ^uint64(0)
	minBoltPageSize = 512
	maxBoltPageSize = 64 << 10
	maxProblems     = 10
)

type boltMeta struct {
	pageSize, version    uint32
	root, freelist, pgid uint64
	txid                 uint64
}

// parseMeta reads the meta page starting at page; ok is false when its
// magic, version or checksum is wrong.
func parseMeta(page []byte) (boltMeta, bool) {
	if len(page) < pageHeaderSize+metaSize {
		return boltMeta{}, false
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[metaSumOffset:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), version: le.Uint32(m[4:]), root: le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// checkHeader checks the file at path before bbolt maps it: exists is false
// when there is no file (Open then creates one). A 0-byte file is damage,
// never a new store: it is what a failed copy or a full disk leaves, and
// treating it as new would forget every dedupe ID and created task.
func checkHeader(path string) (exists bool, size int64, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("checking store %s: %w", path, err)
	}
	damaged := func(format string, args ...any) (bool, int64, error) {
		return true, fi.Size(), &DamagedError{Path: path, Problems: []string{fmt.Sprintf(format, args...)}}
	}
	if !fi.Mode().IsRegular() {
		return damaged("not a regular file")
	}
	if fi.Size() == 0 {
		return damaged("the file is empty (0 bytes), which is a damaged store, not a new one")
	}
	f, err := os.Open(path)
	if err != nil {
		return true, fi.Size(), fmt.Errorf("checking store %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, min(fi.Size(), 2*maxBoltPageSize))
	if _, err := io.ReadFull(f, head); err != nil {
		return true, fi.Size(), fmt.Errorf("checking store %s: %w", path, err)
	}
	// bbolt uses the valid meta page with the higher transaction ID.
	var best boltMeta
	found := false
	m0, ok0 := parseMeta(head)
	if ok0 {
		best, found = m0, true
	}
	for ps := minBoltPageSize; ps <= maxBoltPageSize; ps *= 2 {
		if ok0 && uint32(ps) != m0.pageSize {
			continue
		}
		if m1, ok := parseMeta(head[min(len(head), ps):]); ok && uint32(ps) == m1.pageSize && (!found || m1.txid > best.txid) {
			best, found = m1, true
		}
	}
	if !found {
		return damaged("no valid bbolt meta page (not a healthsync store, or its first pages are overwritten)")
	}
	ps := int64(best.pageSize)
	if ps < minBoltPageSize || ps > maxBoltPageSize || best.pgid < 2 || best.root >= best.pgid ||
		(best.freelist != noFreelist && best.freelist >= best.pgid) {
		return damaged("inconsistent bbolt meta page (page size %d, %d pages, root page %d)", ps, best.pgid, best.root)
	}
	// pgid < 2^63 / ps here is not guaranteed by the checksum alone.
	if best.pgid > uint64(fi.Size()) || int64(best.pgid)*ps > fi.Size() {
		return damaged("truncated: the file is %d bytes, its meta page needs %d pages of %d bytes", fi.Size(), best.pgid, ps)
	}
	return true, fi.Size(), nil
}

// openBolt opens the bbolt file, recovering from a panic or fault inside
// bbolt (it reads the freelist page while opening).
func openBolt(path string, o *bbolt.Options) (db *bbolt.DB, err error) {
	defer guard(path, "opening", &err)()
	return bbolt.Open(path, 0o600, o)
}

// consistency runs bbolt's page-level consistency check (every page reachable
// or free exactly once, keys ordered, pages in bounds) in one read
// transaction and returns at most maxProblems problems.
func consistency(db boltDB) []string {
	var problems []string
	err := db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			if len(problems) < maxProblems {
				problems = append(problems, err.Error())
			}
		}
		return nil
	})
	if pe, ok := errors.AsType[*PanicError](err); ok {
		problems = append(problems, fmt.Sprintf("bbolt could not read it (%v)", pe.Value))
	} else if err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// CheckResult describes a store file that passed Check.
type CheckResult struct {
	Bytes         int64
	SchemaVersion uint64
	// Logged counts acknowledged webhook events in the inbox log beside
	// the file (inbox.go) that are not in it yet: a process stopped
	// without closing the store left them, and the next Open moves them in.
	Logged int
}

// Check opens the store at path read-only and checks it: the header (as Open
// does), bbolt's consistency check over every page, and the schema version.
// A damaged file gives a *DamagedError naming it; a missing file is an
// error too (there is nothing to check); a file held by a running daemon
// gives an *InUseError after timeout.
func Check(path string, timeout time.Duration) (CheckResult, error) {
	bdb, size, err := openReadOnly(path, "checking", timeout, false)
	if err != nil {
		return CheckResult{}, err
	}
	defer bdb.Close()
	db := boltDB{DB: bdb, path: path, paced: &releasePacer{}}
	problems := consistency(db)
	if len(problems) == 0 {
		var v, queueSeq uint64
		err = db.View(func(tx *bbolt.Tx) error {
			if q := tx.Bucket(bucketQueue); q != nil {
				queueSeq = q.Sequence()
			}
			sb := tx.Bucket(bucketSchema)
			if sb == nil {
				problems = append(problems, "no schema bucket (not a healthsync store)")
				return nil
			}
			if raw := sb.Get(keySchemaVersion); len(raw) != 8 {
				problems = append(problems, "no readable schema version")
			} else {
				v = binary.BigEndian.Uint64(raw)
			}
			return nil
		})
		if err == nil && len(problems) == 0 {
			logged, err := countUnmoved(path, queueSeq)
			if err != nil {
				return CheckResult{}, fmt.Errorf("checking store %s: %w", path, err)
			}
			return CheckResult{Bytes: size, SchemaVersion: v, Logged: logged}, nil
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	return CheckResult{}, &DamagedError{Path: path, Problems: problems}
}

// openReadOnly checks the header of the store at path and opens it
// read-only, waiting up to timeout (default 1s) for a daemon's lock, with
// the freelist loaded when freelist is set; size is the file's. A missing
// file is an error: step names what was to be done with it.
func openReadOnly(path, step string, timeout time.Duration, freelist bool) (db *bbolt.DB, size int64, err error) {
	if timeout <= 0 {
		timeout = time.Second
	}
	exists, size, err := checkHeader(path)
	if err != nil {
		return nil, 0, err
	}
	if !exists {
		return nil, 0, fmt.Errorf("%s store %s: %w", step, path, os.ErrNotExist)
	}
	db, err = openBolt(path, &bbolt.Options{ReadOnly: true, Timeout: timeout, PreLoadFreelist: freelist})
	if err != nil {
		return nil, 0, openError(path, err)
	}
	return db, size, nil
}

// openError maps an error of bbolt.Open to healthsync's.
func openError(path string, err error) error {
	var pe *PanicError
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return &InUseError{Path: path}
	case errors.As(err, &pe):
		return &DamagedError{Path: path, Problems: []string{fmt.Sprintf("bbolt could not open it (%v)", pe.Value)}}
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return &DamagedError{Path: path, Problems: []string{err.Error()}}
	}
	return fmt.Errorf("opening store %s: %w", path, err)
}

// FileUsage is where a store file's bytes go, for `healthsync store check
// --usage`: bbolt's page statistics per bucket.
type FileUsage struct {
	FileBytes int64 // the file's size: DataBytes and the room bbolt grew it by ahead of need
	DataBytes int64 // pages up to the high-water mark, free ones included
	PageSize  int
	FreePages int // pages on the freelist, reused before the file grows
	// Buckets are the top-level buckets, with records split per connector
	// and type ("records/stripe/invoice"), largest first.
	Buckets []BucketUsage
}

// BucketUsage is one bucket's share of the file.
type BucketUsage struct {
	Name  string
	Keys  int   // keys, counting each nested bucket and its keys (bbolt's KeyN)
	Bytes int64 // allocated leaf and branch pages, overflow pages included
	Used  int64 // bytes of those pages holding keys, values and page headers
}

// Usage opens the store at path read-only and reads its page statistics
// (one pass over every page, like the consistency check). Run Check first:
// Usage assumes an intact file.
func Usage(path string, timeout time.Duration) (FileUsage, error) {
	bdb, size, err := openReadOnly(path, "reading the usage of", timeout, true)
	if err != nil {
		return FileUsage{}, err
	}
	defer bdb.Close()
	u := FileUsage{FileBytes: size, PageSize: bdb.Info().PageSize, FreePages: bdb.Stats().FreePageN}
	add := func(name string, b *bbolt.Bucket) {
		st := b.Stats()
		u.Buckets = append(u.Buckets, BucketUsage{Name: name, Keys: st.KeyN, Bytes: int64(st.LeafAlloc + st.BranchAlloc),
			Used: int64(st.LeafInuse + st.BranchInuse)})
	}
	err = boltDB{DB: bdb, path: path}.View(func(tx *bbolt.Tx) error {
		u.DataBytes = tx.Size()
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			if string(name) != string(bucketRecords) {
				add(string(name), b)
				return nil
			}
			return eachNested(b, func(conn string, cb *bbolt.Bucket) error {
				return eachNested(cb, func(typ string, tb *bbolt.Bucket) error {
					add(string(name)+"/"+conn+"/"+typ, tb)
					return nil
				})
			})
		})
	})
	if err != nil {
		return FileUsage{}, fmt.Errorf("reading the usage of store %s: %w", path, err)
	}
	slices.SortStableFunc(u.Buckets, func(a, b BucketUsage) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return u, nil
}
