//go:build !unix

package scan

import "io/fs"

// statID reports false: outside Unix the file system gives no inode, and
// a directory reached twice through links is scanned twice.
func statID(fs.FileInfo) (dirID, bool) { return dirID{}, false }
