//go:build unix

package scan

import (
	"io/fs"
	"syscall"
)

// statID returns the device and inode of st, which tell a directory
// visited twice (through a symbolic link).
func statID(st fs.FileInfo) (dirID, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, false
	}
	return dirID{dev: uint64(s.Dev), ino: uint64(s.Ino)}, true
}
