//go:build !linux

package capfile

import (
	"errors"
	"os"
)

// canMap is false: outside Linux files are read with read(2).
const canMap = false

func mapFile(*os.File, int64, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmap([]byte) {}
