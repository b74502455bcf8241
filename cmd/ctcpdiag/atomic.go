package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// atomicFile is a temporary file in the directory of path; Commit renames
// it over path once complete, so readers see the old file or the whole new
// one, never a part. Every output file of ctcpdiag is written this way.
type atomicFile struct {
	*os.File
	path string
}

func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: f, path: path}, nil
}

// Commit syncs the data, makes the file readable (0644) and renames it over
// path; on any error the temporary file is removed and path is left as it
// was.
func (a *atomicFile) Commit() (err error) {
	defer func() {
		if err != nil {
			a.Abort()
		}
	}()
	if err = a.Sync(); err != nil {
		return err
	}
	if err = a.Chmod(0o644); err != nil {
		return err
	}
	if err = a.Close(); err != nil {
		return err
	}
	return os.Rename(a.Name(), a.path)
}

// Abort removes the temporary file; path is left as it was.
func (a *atomicFile) Abort() {
	a.Close()
	os.Remove(a.Name())
}

// writeStreamAtomic writes path through an atomicFile that write fills
// (buffered); nothing is renamed when write fails.
func writeStreamAtomic(path string, write func(io.Writer) error) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(a, 1<<20)
	if err := write(bw); err != nil {
		a.Abort()
		return err
	}
	if err := bw.Flush(); err != nil {
		a.Abort()
		return err
	}
	return a.Commit()
}

// writeFileAtomic writes data to path atomically.
func writeFileAtomic(path string, data []byte) error {
	return writeStreamAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
