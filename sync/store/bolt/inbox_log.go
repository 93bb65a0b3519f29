package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// The inbox log's files. The log lives in the folder PATH.inbox beside the
// store file, as segment files of inboxSegmentSize bytes, preallocated
// (inbox_linux.go) so that a group's write and its one fdatasync do not
// extend the file.
//
// A segment starts with a 32-byte header: the magic "hsinbox1", the
// segment's generation (big-endian uint64, unique and increasing), a CRC32C
// of those 16 bytes, then zeros. Records follow, each
//
//	length  uint32   big-endian, the body's length
//	crc     uint32   CRC32C (Castagnoli) of the generation's 8 bytes, then the body
//	body    seq (8) | dedupe expiry (8, keys.go's time encoding) |
//	        uvarint length + dedupe key (empty: never deduplicated) |
//	        the queue value (queue.go's queueValue)
//
// A segment is read from its header until the first record whose length
// or CRC is wrong, or whose Seq does not follow the one before: that is the
// torn tail of a write that never finished its fdatasync (so never
// acknowledged), or the zeros of the preallocation, or a record of an
// earlier generation of a recycled file (its CRC covers the old generation).
// Segments are recycled after their events are all in bbolt: the header is
// rewritten with a new generation, so the file's old records no longer
// pass their CRC.

const (
	inboxSegmentSize = 32 << 20
	segHeaderSize    = 32
	recHeaderSize    = 8
	// maxRecord bounds one record's body when reading; Enqueue's events
	// are far smaller (the receiver limits a webhook's body).
	maxRecord = 64 << 20
)

var (
	segMagic  = []byte("hsinbox1")
	castagnol = crc32.MakeTable(crc32.Castagnoli)
)

// segment is one log file. The writer goroutine owns f and off of the
// active segment; last is guarded by inbox.mu.
type segment struct {
	f    *os.File
	path string
	gen  uint64
	size int64
	off  int64  // where the next record goes
	last uint64 // highest Seq written to it; 0: none
}

func segHeader(gen uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic)
	binary.BigEndian.PutUint64(h[8:], gen)
	binary.BigEndian.PutUint32(h[16:], crc32.Checksum(h[:16], castagnol))
	return h
}

// parseSegHeader returns the generation of a segment header; ok is false
// for a file that never got its header (a crash while it was created).
func parseSegHeader(h []byte) (gen uint64, ok bool) {
	if len(h) < segHeaderSize || string(h[:8]) != string(segMagic) ||
		binary.BigEndian.Uint32(h[16:]) != crc32.Checksum(h[:16], castagnol) {
		return 0, false
	}
	return binary.BigEndian.Uint64(h[8:]), true
}

// createSegment makes a new segment file of size bytes in dir with its
// header, and makes the file and its name durable (fsync of the file and
// of the folder) before any record is written to it.
func createSegment(dir string, gen uint64, size int64) (*segment, error) {
	path := filepath.Join(dir, fmt.Sprintf("%016x.log", gen))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating inbox segment: %w", err)
	}
	seg := &segment{f: f, path: path, gen: gen, size: size, off: segHeaderSize}
	err = preallocate(f, size)
	if err == nil {
		_, err = f.WriteAt(segHeader(gen), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("creating inbox segment %s: %w", path, err)
	}
	return seg, nil
}

// recycle makes a free segment the next one: a new header with gen, made
// durable before any record is written after it.
func (seg *segment) recycle(gen uint64) error {
	if _, err := seg.f.WriteAt(segHeader(gen), 0); err != nil {
		return fmt.Errorf("recycling inbox segment %s: %w", seg.path, err)
	}
	if err := datasync(seg.f); err != nil {
		return fmt.Errorf("recycling inbox segment %s: %w", seg.path, err)
	}
	seg.gen, seg.off, seg.last = gen, segHeaderSize, 0
	return nil
}

// appendRecord appends body's record for a segment of generation gen.
func appendRecord(buf []byte, gen uint64, body []byte) []byte {
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], gen)
	crc := crc32.Update(crc32.Checksum(g[:], castagnol), castagnol, body)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	buf = binary.BigEndian.AppendUint32(buf, crc)
	return append(buf, body...)
}

// logBody encodes a record's body; its Seq is set later with setBodySeq.
func logBody(dk []byte, expires time.Time, val []byte) []byte {
	b := make([]byte, 16, 16+binary.MaxVarintLen64+len(dk)+len(val))
	binary.BigEndian.PutUint64(b[8:], timeBits(expires))
	b = binary.AppendUvarint(b, uint64(len(dk)))
	b = append(b, dk...)
	return append(b, val...)
}

func setBodySeq(body []byte, seq uint64) { binary.BigEndian.PutUint64(body, seq) }

// logEntry is a decoded body; its slices point into the body.
type logEntry struct {
	seq     uint64
	expires []byte // 8 bytes
	dk      []byte // nil: no dedupe key
	val     []byte
}

var errBadBody = errors.New("inbox record body is malformed")

func parseBody(b []byte) (logEntry, error) {
	if len(b) < 17 {
		return logEntry{}, errBadBody
	}
	n, w := binary.Uvarint(b[16:])
	if w <= 0 || uint64(len(b)-16-w) < n {
		return logEntry{}, errBadBody
	}
	e := logEntry{seq: binary.BigEndian.Uint64(b), expires: b[8:16], val: b[16+w+int(n):]}
	if n > 0 {
		e.dk = b[16+w : 16+w+int(n)]
	}
	return e, nil
}

// scanSegment returns the bodies of data's valid records for generation
// gen, in order, stopping at the first that is not (see the top of this
// file), and the offset where the valid records end.
func scanSegment(data []byte, gen uint64) (bodies [][]byte, end int) {
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], gen)
	seed := crc32.Checksum(g[:], castagnol)
	off := segHeaderSize
	var last uint64
	for off+recHeaderSize <= len(data) {
		n := int(binary.BigEndian.Uint32(data[off:]))
		if n == 0 || n > maxRecord || off+recHeaderSize+n > len(data) {
			break
		}
		body := data[off+recHeaderSize : off+recHeaderSize+n]
		if crc32.Update(seed, castagnol, body) != binary.BigEndian.Uint32(data[off+4:]) {
			break
		}
		e, err := parseBody(body)
		if err != nil || e.seq <= last {
			break
		}
		last = e.seq
		bodies = append(bodies, body)
		off += recHeaderSize + n
	}
	return bodies, off
}

// syncDir makes the entries of folder dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
