// Command gen writes the ctcpdiag sample captures.
//
// Usage:
//
//	go run ./samples/gen [-o DIR]
//	go run ./samples/gen -large 200000 [-seed N] -o DIR   # benchmark input
//
// Without -o the files go to the samples directory of the repository that
// holds the working directory (found by walking up to go.mod).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ctcpdiag/ctcpdiag/internal/samplegen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output `directory` (default: <repo>/samples)")
	large := fs.Int("large", 0, "write large.pcap with this many `packets` instead of the samples (benchmark input, not committed)")
	seed := fs.Int64("seed", 1, "seed for -large")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := *out
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 2
		}
		dir = filepath.Join(root, "samples")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "gen:", err)
		return 1
	}
	if *large > 0 {
		if err := writeLarge(filepath.Join(dir, "large.pcap"), *large, *seed); err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		return 0
	}
	for _, s := range samplegen.Scenarios() {
		b, err := s.Build()
		if err != nil {
			fmt.Fprintf(stderr, "gen: %s: %v\n", s.File, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(dir, s.File), b, 0o644); err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%-40s %8d bytes  %s\n", s.File, len(b), s.Expect)
	}
	return 0
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; use -o")
		}
		dir = parent
	}
}

func writeLarge(path string, packets int, seed int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := samplegen.Large(f, packets, seed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
