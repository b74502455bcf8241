//go:build !unix

package main

import (
	"errors"
	"os"
)

func mapFile(*os.File) ([]byte, func(), error) {
	return nil, nil, errors.New("-in mmap: files are not mapped on this platform")
}
