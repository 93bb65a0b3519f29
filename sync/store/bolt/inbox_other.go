//go:build !linux

package bolt

import "os"

// preallocate sizes f (sparse where the file system allows it).
func preallocate(f *os.File, size int64) error { return f.Truncate(size) }

// datasync flushes f (fsync: fdatasync is Linux's).
func datasync(f *os.File) error { return f.Sync() }
