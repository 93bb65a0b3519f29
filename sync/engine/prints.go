package engine

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// printer hashes a record field by field (FNV-1a 64 over length-prefixed
// values, each with a type tag), without encoding it: an account's print
// is taken on every pull of it, and after a write-back every account comes
// back. TestAccountPrintCoversEveryField keeps it complete.
type printer uint64

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func newPrinter() printer { return fnvOffset64 }

func (p *printer) byte(b byte) { *p = (*p ^ printer(b)) * fnvPrime64 }

func (p *printer) uint(v uint64) {
	for i := 0; i < 8; i++ {
		p.byte(byte(v >> (8 * i)))
	}
}

func (p *printer) str(s string) {
	p.uint(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		p.byte(s[i])
	}
}

// value hashes a field value as decoded from JSON (string, float64, bool,
// nil), anything else by its JSON.
func (p *printer) value(v any) {
	switch x := v.(type) {
	case nil:
		p.byte('n')
	case string:
		p.byte('s')
		p.str(x)
	case float64:
		p.byte('f')
		p.uint(math.Float64bits(x))
	case bool:
		p.byte('b')
		if x {
			p.byte(1)
		} else {
			p.byte(0)
		}
	case time.Time:
		p.byte('t')
		p.str(x.UTC().Format(time.RFC3339Nano))
	default:
		b, err := json.Marshal(x)
		if err != nil {
			b = []byte(err.Error())
		}
		p.byte('j')
		p.str(string(b))
	}
}

// accountPrint fingerprints an account without its modified time and
// without the write-back fields (mapped) that hold what healthsync wrote
// or that healthsync never wrote (last is the record's written values): a
// field is an input only where it differs from the value last written.
func accountPrint(a record.Account, mapped []string, last map[string]store.WrittenValue) uint64 {
	p := newPrinter()
	p.str(a.System)
	p.str(a.ID)
	p.str(a.Name)
	p.str(a.Website)
	p.str(a.Domain)
	p.str(a.OwnerID)
	p.str(a.OwnerName)
	p.str(a.Industry)
	p.value(a.Deleted)
	p.uint(uint64(len(a.Fields)))
	if len(a.Fields) == 0 {
		return uint64(p)
	}
	keys := make([]string, 0, len(a.Fields))
	for k := range a.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		cur := a.Fields[k]
		p.str(k)
		if slices.Contains(mapped, k) {
			if lw, written := last[k]; !written || sameValue(lw.Value, cur) {
				p.byte('o') // healthsync's own value, or one it never wrote
				continue
			}
		}
		p.value(cur)
	}
	return uint64(p)
}
