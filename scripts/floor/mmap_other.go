//go:build !unix

package main

import "os"

// mapFile reads the whole file: there is no mapping here.
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
