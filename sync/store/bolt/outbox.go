package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// PutOutbox adds notifications in one transaction and returns their IDs.
// Zero Created and Due become the store's clock.
func (s *Store) PutOutbox(ns []store.Notification) ([]uint64, error) {
	now := s.now().UTC()
	ids := make([]uint64, len(ns))
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		for i, n := range ns {
			if n.Created.IsZero() {
				n.Created = now
			}
			if n.Due.IsZero() {
				n.Due = now
			}
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			js, err := json.Marshal(n)
			if err != nil {
				return err
			}
			if err := b.Put(seqKey(id), js); err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("putting outbox: %w", err)
	}
	return ids, nil
}

// DueOutbox returns up to n notifications due at now, oldest first.
func (s *Store) DueOutbox(now time.Time, n int) ([]store.Notification, error) {
	var out []store.Notification
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			var nt store.Notification
			if err := json.Unmarshal(v, &nt); err != nil {
				return fmt.Errorf("outbox %d: %w: %v", readSeq(k), store.ErrCorrupt, err)
			}
			if nt.Due.After(now) {
				continue
			}
			nt.ID = readSeq(k)
			out = append(out, nt)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	return out, nil
}

// OutboxDelivered removes a delivered (or abandoned) notification.
func (s *Store) OutboxDelivered(id uint64) error {
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b.Get(seqKey(id)) == nil {
			return store.ErrNotFound
		}
		return b.Delete(seqKey(id))
	})
	if err != nil {
		return fmt.Errorf("marking notification %d delivered: %w", id, err)
	}
	return nil
}

// OutboxRetry counts a failed delivery and makes the notification due at at.
func (s *Store) OutboxRetry(id uint64, at time.Time, cause error) error {
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		v := b.Get(seqKey(id))
		if v == nil {
			return store.ErrNotFound
		}
		var nt store.Notification
		if err := json.Unmarshal(v, &nt); err != nil {
			return fmt.Errorf("%w: %v", store.ErrCorrupt, err)
		}
		nt.Attempts++
		nt.Due = at.UTC()
		nt.LastError = errText(cause)
		js, err := json.Marshal(nt)
		if err != nil {
			return err
		}
		return b.Put(seqKey(id), js)
	})
	if err != nil {
		return fmt.Errorf("retrying notification %d: %w", id, err)
	}
	return nil
}

// OutboxLen is the number of undelivered notifications.
func (s *Store) OutboxLen() (int, error) {
	n := 0
	err := s.view(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	return n, err
}
