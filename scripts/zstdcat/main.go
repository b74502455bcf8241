// Command zstdcat decompresses a zstd file to io.Discard with
// klauspost/compress/zstd and the decoder options analyze/capfile uses:
// the pure-Go decoder's own ceiling for analyzing a .zst (issue 14, item
// 5), which scripts/bench.sh times against `zstd -dc`. It prints the
// number of bytes decompressed.
//
// By default the decoder reads the file through a 1 MiB bufio.Reader and
// writes into io.Discard with its WriteTo, the fastest of the ways -in and
// -out offer; -in mmap feeds it a bytes.Reader over a mapping of the file.
//
// Usage:
//
//	go run ./scripts/zstdcat [-in file|bufio|mmap] [-out writeto|read] FILE.zst
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

func main() {
	in := flag.String("in", "bufio", "how the decoder reads: file (read(2) of the file), bufio (a 1 MiB bufio.Reader over it), mmap (a bytes.Reader over a mapping)")
	out := flag.String("out", "writeto", "how the output is taken: writeto (the decoder's WriteTo into io.Discard), read (Read into a 1 MiB buffer)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: zstdcat [-in file|bufio|mmap] [-out writeto|read] FILE.zst")
		os.Exit(2)
	}
	n, err := run(flag.Arg(0), *in, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zstdcat:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func run(path, in, out string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	switch in {
	case "file":
	case "bufio":
		r = bufio.NewReaderSize(f, 1<<20)
	case "mmap":
		b, release, err := mapFile(f)
		if err != nil {
			return 0, err
		}
		defer release()
		r = bytes.NewReader(b)
	default:
		return 0, fmt.Errorf("unknown -in %q", in)
	}
	// The options of analyze/capfile (source.go).
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
	if err != nil {
		return 0, err
	}
	defer d.Close()
	switch out {
	case "writeto":
		return d.WriteTo(io.Discard)
	case "read":
		buf := make([]byte, 1<<20)
		var n int64
		for {
			m, err := d.Read(buf)
			n += int64(m)
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	}
	return 0, fmt.Errorf("unknown -out %q", out)
}
