// Command mksmall writes many small generated captures into a directory,
// the scan input of scripts/bench.sh: N files of P packets each, file i
// made by samplegen.Large with seed i.
//
// Usage:
//
//	go run ./scripts/mksmall -n 2000 -packets 100 DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

func main() {
	n := flag.Int("n", 2000, "number of `files`")
	packets := flag.Int("packets", 100, "`packets` per file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mksmall [-n N] [-packets P] DIR")
		os.Exit(2)
	}
	if err := write(flag.Arg(0), *n, *packets); err != nil {
		fmt.Fprintln(os.Stderr, "mksmall:", err)
		os.Exit(1)
	}
}

func write(dir string, n, packets int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("c%04d.pcap", i)))
		if err != nil {
			return err
		}
		if err := samplegen.Large(f, packets, int64(i)); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
