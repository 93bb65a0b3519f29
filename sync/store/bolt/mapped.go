package bolt

import (
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// Mapped pages. bbolt reads the file through a shared, read-only memory
// map, so every page a read touches stays mapped into the process and
// counts in its resident set (RssFile) until the kernel reclaims it: a full
// sync at 10,000 accounts used to leave about 350 MiB of the file resident,
// and at 100,000 accounts the whole file would be. A bulk read (readAll and
// the other whole-bucket readers) has no use for those pages once it has
// copied their bytes out, so scan releases them before its transaction
// ends (mapped_linux.go: madvise MADV_DONTNEED over the mapped file), and
// so does CommitBatch for a pull's batch before it commits.
//
// Why it is safe: the mapping is MAP_SHARED and PROT_READ, so releasing it
// only drops the process's page-table entries; the pages stay in the page
// cache and the next access maps them again, with the same bytes, from the
// cache or the file. No data can be lost, and no reader sees other bytes
// than it would have: bbolt never rewrites a page an open transaction can
// reach (copy-on-write, freed pages reused only after every older reader
// ends), and the mapping cannot move while any read transaction is open
// (bbolt remaps only under its mmap lock, which a write that grows the file
// takes exclusively, and a write transaction grows it only while it
// commits), so the address range read from DB.Info is the live mapping
// for the whole call. Concurrent readers and a concurrent writer
// touching released pages just fault them back in.
//
// What it does not do: the pages stay in the page cache, which the kernel
// reclaims under pressure mapped or not, and which a container's memory
// cgroup counts either way; what shrinks is the process's resident set,
// and the kernel's work to reclaim mapped pages. The cost is a minor fault
// the next time a released page is read.

// releaseMinRecords is the batch size from which CommitBatch releases the
// mapped pages its transaction touched: a pull's pages (100 records and
// more), not a webhook event's few records, whose next read would only map
// the same few pages again.
const releaseMinRecords = 50

// releaseEvery is how many bytes of keys and values a long walk reads
// between releases (see walked), so what a walk keeps mapped stays about
// this size plus the pages' slack, not the size of the bucket: at 10,000
// accounts the invoices alone are 67 MB of pages, all mapped at once by
// the end of a walk that released only when it ended.
const releaseEvery = 8 << 20

// walked counts the bytes a walk inside one transaction has read and
// releases the mapped pages every releaseEvery bytes. The zero value with
// tx set is ready; the keys and values already read stay valid (released
// pages fault back in on the next access).
type walked struct {
	tx    *bbolt.Tx
	every int // bytes between releases; 0 is releaseEvery
	n     int
}

// add counts one key and value read.
func (w *walked) add(k, v []byte) { w.count(len(k) + len(v)) }

// faultAround is what one point read into a random place of the file
// maps: the kernel maps the pages around a faulting one with it (its
// fault-around, 64 KiB by default).
const faultAround = 64 << 10

// point counts one point read (a Get of a key far from the last one) as
// the faultAround it maps.
func (w *walked) point() { w.count(faultAround) }

func (w *walked) count(n int) {
	every := w.every
	if every == 0 {
		every = releaseEvery
	}
	if w.n += n; w.n >= every {
		releaseMapped(w.tx)
		w.n = 0
	}
}

// releaseInterval paces the releases at the end of transactions: the
// pages every other transaction touches (the records a full sync reads
// per chunk of accounts by owner, score histories, written values, the
// write-back's commits) are released at most this often, so what stays
// mapped is about what a quarter of a second's work touches, not the
// whole file. Measured before: a full sync at 20,000 accounts had 254 MiB
// of the file resident (RssFile) while reading a chunk's invoices, 45% of
// its peak RSS. A madvise over the mapping costs a few microseconds.
const releaseInterval = 50 * time.Millisecond

// releasePacer releases the mapped pages at the end of a transaction
// (mapped_linux.go), at most every releaseInterval. The nil pacer never
// releases.
type releasePacer struct {
	last    atomic.Int64  // monotonic nanoseconds of the last release
	every   time.Duration // releaseInterval when zero; tests change it
	minFile int64         // pacedMinFile when zero; tests change it
}

// pacedMinFile: a file smaller than this is never released by the pacer,
// all of it resident being little. Releasing a small webhook store every
// 50 ms cost about 3% of verified ingest (`healthsync loadtest`, its pages
// faulted back in right after).
const pacedMinFile = 128 << 20

var pacerEpoch = time.Now()

// wrap returns fn followed, when it succeeded and the last release is
// older than releaseInterval, by a release inside the same transaction.
func (p *releasePacer) wrap(fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	if p == nil {
		return fn
	}
	minFile := p.minFile
	if minFile == 0 {
		minFile = pacedMinFile
	}
	return func(tx *bbolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if tx.Size() < minFile {
			return nil
		}
		every := p.every
		if every == 0 {
			every = releaseInterval
		}
		now := int64(time.Since(pacerEpoch))
		if last := p.last.Load(); now-last >= int64(every) && p.last.CompareAndSwap(last, now) {
			releaseMapped(tx)
		}
		return nil
	}
}

// scan runs fn in a read transaction, as view does, and then, still inside
// that transaction, releases the process's mappings of the file's pages.
// For reads that walk a whole bucket; a point read keeps using view.
func (s *Store) scan(fn func(*bbolt.Tx) error) error {
	return s.view(func(tx *bbolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		releaseMapped(tx)
		return nil
	})
}
