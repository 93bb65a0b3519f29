package bolt

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/healthsync/healthsync/sync/store"
)

// Record bodies. A stored record value is an 8-byte modified time, a flags
// byte, then the body (keys.go). Files written before issue 14 hold the
// record's JSON as the body; this build writes it as one zstd frame
// (RFC 8878) of that JSON compressed with a preset raw-content dictionary,
// and flags the value with flagZstd1. Readers accept both, so a store
// written by an older build keeps working, and a record is rewritten in the
// new form only when it changes. The JSON is the same either way: Export
// (backups, dumps) writes it out unchanged, and a frame can be read outside
// healthsync with `zstd -d --patch-from=recorddict1.txt`.
//
// Why: most of a record's JSON is its field names and the formats of its
// values, repeated in every record ("system":"stripe", zero times,
// "currency":"JPY"...). A dictionary of sample records carries them once:
// an invoice of the scale world (most of the file at scale) is stored in
// 280 bytes instead of 988 (BenchmarkRecordBody's stored-bytes), 26% over
// 40 of them (TestRecordsStoredCompressed). The price, in the same
// benchmark: compressing adds more to encoding a record than json.Marshal
// takes, and decompressing a little to decoding it (README, "Store size
// and mapped pages"). The dictionary is frozen: a stored frame names
// dictionary 1 and can only be read with exactly these bytes, so
// TestRecordDictFrozen pins its hash. A better dictionary is a new file and
// a new flag, with this one kept for the frames already written.
//
// SOURCE of recorddict1.txt: 21 stored records (tasks, customers, deals,
// accounts, subscriptions, invoices, the most frequent last, nearest the
// data as zstd prefers) of the 10,000-account scale-curve world
// (`healthsync scalecurve --accounts 10000`, seed 1, synthetic data only),
// one JSON document a line.

//go:embed recorddict1.txt
var recordDict1 []byte

// recordDictID is the dictionary ID of the frames: 0, which the frame
// header leaves out (the flags byte names the dictionary instead) and which
// `zstd --patch-from` uses; trained dictionaries take IDs in [32768, 2^31)
// (klauspost/compress zstd, ExampleWithEncoderDictRaw).
const recordDictID = 0

// maxRecordJSON bounds a decoded body; a frame claiming more is damage.
const maxRecordJSON = 64 << 20

// recordCodec compresses and decompresses bodies. Both sides are safe for
// concurrent use (EncodeAll and DecodeAll), so one codec serves the whole
// process; it is built on first use and never changes, like a compiled
// regexp.
type recordCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

var codec = sync.OnceValues(func() (*recordCodec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderDictRaw(recordDictID, recordDict1))
	if err != nil {
		return nil, fmt.Errorf("preparing the record encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxRecordJSON),
		zstd.WithDecoderDictRaw(recordDictID, recordDict1))
	if err != nil {
		return nil, fmt.Errorf("preparing the record decoder: %w", err)
	}
	return &recordCodec{enc: enc, dec: dec}, nil
})

// compressBody appends the compressed body of a record's JSON to dst.
func compressBody(dst, js []byte) ([]byte, error) {
	c, err := codec()
	if err != nil {
		return nil, err
	}
	return c.enc.EncodeAll(js, dst), nil
}

// recordBody is the body of a stored record value, in whichever encoding
// its flags name. Its bytes may belong to a transaction.
type recordBody struct {
	raw   []byte
	flags byte
}

// compressed reports whether the body is a zstd frame rather than JSON.
func (b recordBody) compressed() bool { return b.flags&flagZstd1 != 0 }

// appendJSON appends the record's JSON to dst.
func (b recordBody) appendJSON(dst []byte) ([]byte, error) {
	if b.flags&^(flagDeleted|flagZstd1) != 0 {
		return nil, fmt.Errorf("record body in an unknown encoding (flags %#x): %w", b.flags, store.ErrCorrupt)
	}
	if !b.compressed() {
		return append(dst, b.raw...), nil
	}
	c, err := codec()
	if err != nil {
		return nil, err
	}
	out, err := c.dec.DecodeAll(b.raw, dst)
	if err != nil {
		return nil, fmt.Errorf("decompressing record: %w: %v", store.ErrCorrupt, err)
	}
	return out, nil
}

// JSON returns the record's JSON, never sharing memory with a compressed
// body; a JSON body is returned as is (clone it to keep it past the
// transaction).
func (b recordBody) JSON() ([]byte, error) {
	if b.flags&^flagDeleted == 0 {
		return b.raw, nil
	}
	return b.appendJSON(nil)
}

// sameJSON reports whether the body holds exactly js, whose compressed
// form is enc: equal frames are equal JSON; other frames are decompressed
// and compared, so an encoder that changed its output (another library
// version) does not make an unchanged record look changed.
func (b recordBody) sameJSON(js, enc []byte) (bool, error) {
	if !b.compressed() {
		return string(b.raw) == string(js), nil
	}
	if string(b.raw) == string(enc) {
		return true, nil
	}
	old, err := b.JSON()
	if err != nil {
		return false, err
	}
	return string(old) == string(js), nil
}
