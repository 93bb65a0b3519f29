package bolt

import (
	"syscall"

	"go.etcd.io/bbolt"
)

// releaseMapped drops the process's mappings of the pages of tx's file, up
// to its high-water mark (madvise(2) MADV_DONTNEED: "subsequent accesses of
// pages in the range will succeed, but will result in ... repopulating the
// memory contents from the up-to-date contents of the underlying mapped
// file" for a shared file mapping). Best effort: the read it follows has
// already succeeded, so a failure is ignored. tx must be open (see
// mapped.go for why the range stays valid).
func releaseMapped(tx *bbolt.Tx) {
	info := tx.DB().Info()
	if info.Data == 0 || tx.Size() <= 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, info.Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}
