package bolt

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// Key encodings. Times are 8-byte big-endian nanoseconds since the Unix epoch
// with the sign bit flipped, so byte order is time order; the zero time encodes
// as all zeros and sorts first. Sequence numbers are 8-byte big-endian. Parts
// of composite keys are joined with a 0x00 byte, which IDs never contain.

const sep = 0x00

// timeBits is the sortable 8-byte form of t.
func timeBits(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()) ^ (1 << 63)
}

// timeFromBits inverts timeBits.
func timeFromBits(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(u^(1<<63))).UTC()
}

// appendTime appends the 8-byte form of t to b.
func appendTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, timeBits(t))
}

// timeKey is the 8-byte key of t.
func timeKey(t time.Time) []byte { return appendTime(make([]byte, 0, 8), t) }

// readTime decodes an 8-byte time; short input gives the zero time.
func readTime(b []byte) time.Time {
	if len(b) < 8 {
		return time.Time{}
	}
	return timeFromBits(binary.BigEndian.Uint64(b))
}

// seqKey is the 8-byte key of a sequence number.
func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// readSeq decodes an 8-byte sequence number.
func readSeq(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// joinKey joins parts with the separator byte.
func joinKey(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, p...)
	}
	return b
}

// splitKey splits a key made by joinKey into at most n parts.
func splitKey(k []byte, n int) []string {
	return strings.SplitN(string(k), string([]byte{sep}), n)
}

// prefixKey is joinKey(parts...) followed by the separator, for prefix scans.
func prefixKey(parts ...string) []byte { return append(joinKey(parts...), sep) }

// hasPrefix reports whether k starts with p.
func hasPrefix(k, p []byte) bool { return bytes.HasPrefix(k, p) }

// floatBytes and readFloat encode a float64 as 8 big-endian bytes.
func floatBytes(f float64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(f))
}

func readFloat(b []byte) float64 {
	if len(b) < 8 {
		return 0
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b))
}

// Record values: an 8-byte modified time, a flags byte, then the body: the
// record's JSON, or with flagZstd1 that JSON compressed (recordenc.go).
const (
	recordHeader = 9
	flagDeleted  = 1 << 0
	flagZstd1    = 1 << 1
)

// recordValue builds a stored record value from a body with compressed
// (flagZstd1) or JSON (0) encoding.
func recordValue(modified time.Time, deleted bool, body []byte, encoding byte) []byte {
	v := make([]byte, 0, recordHeader+len(body))
	v = appendTime(v, modified)
	flags := encoding
	if deleted {
		flags |= flagDeleted
	}
	v = append(v, flags)
	return append(v, body...)
}

// recordMeta reads the header of a stored record value.
func recordMeta(v []byte) (modified time.Time, deleted bool, body recordBody) {
	if len(v) < recordHeader {
		return time.Time{}, false, recordBody{}
	}
	return readTime(v), v[8]&flagDeleted != 0, recordBody{raw: v[recordHeader:], flags: v[8]}
}

// clone copies bytes out of a transaction. An empty value stays non-nil,
// so it is not mistaken for a missing one.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
