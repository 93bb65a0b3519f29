package bolt

import (
	"bytes"

	"go.etcd.io/bbolt"
)

// appendFill is the fill of pages split by a transaction that only appends:
// full pages, since nothing will later be inserted between their keys.
const appendFill = 1.0

// fillForAppend sets b's FillPercent for this transaction to appendFill when
// keys, in the order they are about to be put, each sort after the one
// before and after every key b holds: a pure append, such as the first full
// sync's scores and written values in account order. bbolt splits a page
// at FillPercent of its size (default 50%), which leaves an appended
// bucket's pages half empty for good: at 10,000 accounts the written values
// filled 37% of their 20.9 MB and the current scores 42% of 12.6 MB
// (`store check --usage`). A transaction that inserts between existing
// keys keeps the default, since inserting into full pages splits each of
// them again (TestFillForAppend). bbolt's own advice: "it can be useful to
// increase this amount if you know that your write workloads are mostly
// append-only" (go.etcd.io/bbolt, Bucket.FillPercent). FillPercent is not
// stored; it lasts for the transaction's handle of b.
func fillForAppend(b *bbolt.Bucket, keys [][]byte) {
	last, _ := b.Cursor().Last()
	for _, k := range keys {
		if last != nil && bytes.Compare(k, last) <= 0 {
			return
		}
		last = k
	}
	b.FillPercent = appendFill
}
