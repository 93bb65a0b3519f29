package bolt

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/connectors/record"
)

// Signals live in one bucket per account key ("system/id"), keyed by metric
// and big-endian time, so one account's series since a time is a seek.

// AddSignals stores usage signals in one transaction. A signal with the same
// account, metric and time as a stored one replaces its value, so posting
// the same observations twice stores them once. It returns how many were new.
func (s *Store) AddSignals(sigs []record.Signal) (added int, err error) {
	for i, sg := range sigs {
		if sg.Account.System == "" || sg.Account.ID == "" || sg.Metric == "" || strings.IndexByte(sg.Metric, sep) >= 0 {
			return 0, fmt.Errorf("adding signals: signal %d needs an account system, account ID and metric", i)
		}
	}
	err = s.update(func(tx *bbolt.Tx) error {
		added = 0
		for _, sg := range sigs {
			b, err := nestedBucket(tx, bucketSignals, sg.Account.Key())
			if err != nil {
				return err
			}
			k := appendTime(append([]byte(sg.Metric), sep), sg.Time)
			if b.Get(k) == nil {
				added++
			}
			if err := b.Put(k, floatBytes(sg.Value)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("adding signals: %w", err)
	}
	return added, nil
}

// Signals returns one account's signals at or after since, ordered by
// metric then time. accountKey is record.Ref.Key() of the signal's account.
func (s *Store) Signals(accountKey string, since time.Time) ([]record.Signal, error) {
	var out []record.Signal
	err := s.view(func(tx *bbolt.Tx) error {
		if b := lookupBucket(tx, bucketSignals, accountKey); b != nil {
			out = readSignals(b, refFromKey(accountKey), since, out)
		}
		return nil
	})
	return out, err
}

// AllSignals returns every account's signals at or after since, by account key.
func (s *Store) AllSignals(since time.Time) (map[string][]record.Signal, error) {
	out := map[string][]record.Signal{}
	err := s.scan(func(tx *bbolt.Tx) error {
		top := tx.Bucket(bucketSignals)
		return top.ForEachBucket(func(k []byte) error {
			if sigs := readSignals(top.Bucket(k), refFromKey(string(k)), since, nil); len(sigs) > 0 {
				out[string(k)] = sigs
			}
			return nil
		})
	})
	return out, err
}

// PruneSignals deletes signals older than before, returning how many.
func (s *Store) PruneSignals(before time.Time) (int, error) {
	n := 0
	limit := timeKey(before)
	err := s.update(func(tx *bbolt.Tx) error {
		n = 0
		top := tx.Bucket(bucketSignals)
		return top.ForEachBucket(func(name []byte) error {
			b := top.Bucket(name)
			var del [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if i := bytes.IndexByte(k, sep); i >= 0 && bytes.Compare(k[i+1:], limit) < 0 {
					del = append(del, clone(k))
				}
			}
			for _, k := range del {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n += len(del)
			return nil
		})
	})
	return n, err
}

func readSignals(b *bbolt.Bucket, acct record.Ref, since time.Time, out []record.Signal) []record.Signal {
	from := timeKey(since)
	c := b.Cursor()
	for k, v := c.First(); k != nil; {
		i := bytes.IndexByte(k, sep)
		if i < 0 || len(k) != i+9 {
			k, v = c.Next()
			continue
		}
		if bytes.Compare(k[i+1:], from) < 0 {
			// Skip to this metric's first point at or after since.
			k, v = c.Seek(append(clone(k[:i+1]), from...))
			continue
		}
		out = append(out, record.Signal{Account: acct, Metric: string(k[:i]), Time: readTime(k[i+1:]), Value: readFloat(v)})
		k, v = c.Next()
	}
	return out
}

// refFromKey splits "system/id" back into a Ref.
func refFromKey(k string) record.Ref {
	sys, id, _ := strings.Cut(k, "/")
	return record.Ref{System: sys, ID: id}
}
