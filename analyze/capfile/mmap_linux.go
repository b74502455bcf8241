package capfile

import (
	"os"
	"syscall"
	"unsafe"
)

// canMap tells whether files are read through memory mappings: on 64-bit
// Linux, where a mapping of a page-cached file costs no copy into our
// buffers (the copy that read(2) makes was a quarter of the time of an
// analysis).
const canMap = unsafe.Sizeof(uintptr(0)) == 8

// mapFile maps n bytes of f from off (a multiple of the page size),
// read-only, with the pages populated at once (one system call instead of
// a fault per page).
func mapFile(f *os.File, off int64, n int) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), off, n, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
}

// unmap undoes mapFile.
func unmap(b []byte) { syscall.Munmap(b) }
