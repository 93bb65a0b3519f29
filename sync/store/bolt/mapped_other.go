//go:build !linux

package bolt

import "go.etcd.io/bbolt"

// releaseMapped does nothing outside Linux: the pages a read touched stay
// mapped until the kernel reclaims them.
func releaseMapped(*bbolt.Tx) {}
