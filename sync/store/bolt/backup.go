package bolt

import (
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// WriteTo writes a consistent copy of the whole store to w: the database
// file as of one read transaction (bbolt's Tx.WriteTo), taken while other
// transactions go on. The copy opens with Open like the original.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	if err := s.caughtUp(); err != nil {
		return 0, fmt.Errorf("copying store %s: %w", s.path, err)
	}
	var n int64
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copying store %s: %w", s.path, err)
	}
	return n, nil
}
