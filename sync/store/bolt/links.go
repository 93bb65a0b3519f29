package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// SetLinks replaces the whole set of identity links with links in one
// transaction. A link that already existed keeps its Created time; a new one
// with a zero Created gets the store's clock.
func (s *Store) SetLinks(links []store.Link) error {
	now := s.now().UTC()
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLinks)
		old := map[string]time.Time{}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var l store.Link
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("link %q: %w: %v", k, store.ErrCorrupt, err)
			}
			old[string(k)] = l.Created
		}
		if err := tx.DeleteBucket(bucketLinks); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketLinks)
		if err != nil {
			return err
		}
		for _, l := range links {
			k := joinKey(l.AccountKey, l.CustomerKey)
			if created, ok := old[string(k)]; ok {
				l.Created = created
			} else if l.Created.IsZero() {
				l.Created = now
			}
			js, err := json.Marshal(l)
			if err != nil {
				return err
			}
			if err := b.Put(k, js); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting links: %w", err)
	}
	return nil
}

// Links returns every identity link, ordered by account key then customer key.
func (s *Store) Links() ([]store.Link, error) {
	var out []store.Link
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLinks).ForEach(func(k, v []byte) error {
			var l store.Link
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("link %q: %w: %v", k, store.ErrCorrupt, err)
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading links: %w", err)
	}
	return out, nil
}
