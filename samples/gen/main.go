// Command gen writes the ctcpdiag sample captures.
//
// Usage:
//
//	go run ./samples/gen [-o DIR]
//	go run ./samples/gen -large 200000 [-seed N] -o DIR   # benchmark input
//	go run ./samples/gen -large 10000000 -stdout | ctcpdiag analyze -
//	go run ./samples/gen -flood 1000000 -stdout | ctcpdiag analyze -
//	go run ./samples/gen -pair 1200000 [-seed N] -o DIR   # correlate benchmark input
//
// -large writes large.pcap, -flood flood.pcap (a SYN flood of that many
// distinct flows with real cTCP sessions inside); with -stdout either is
// streamed to standard output instead, so that inputs of many gigabytes
// need no disk space. -pair writes pair-N-client-side.pcap and
// pair-N-headend-side.pcap, about N packets each: the same traffic seen on
// both sides of a device (samplegen.LargePair).
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

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output `directory` (default: <repo>/samples)")
	large := fs.Int("large", 0, "write large.pcap with this many `packets` instead of the samples (benchmark input, not committed)")
	flood := fs.Int("flood", 0, "write flood.pcap, a SYN flood of this many distinct `flows` with real cTCP sessions inside")
	pair := fs.Int("pair", 0, "write a pair of captures of the same traffic on both sides of a device, about this many `packets` each (correlate benchmark input, not committed)")
	seed := fs.Int64("seed", 1, "seed for -large, -flood and -pair")
	toStdout := fs.Bool("stdout", false, "stream the -large or -flood capture to standard output instead of a file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if n := btoi(*large > 0) + btoi(*flood > 0) + btoi(*pair > 0); n > 1 {
		fmt.Fprintln(stderr, "gen: -large, -flood and -pair exclude each other")
		return 2
	}
	if *pair > 0 && *toStdout {
		fmt.Fprintln(stderr, "gen: -pair writes two files; -stdout is for -large and -flood")
		return 2
	}
	if *toStdout && *large <= 0 && *flood <= 0 {
		fmt.Fprintln(stderr, "gen: -stdout needs -large or -flood")
		return 2
	}
	if *toStdout {
		var err error
		if *large > 0 {
			err = samplegen.Large(stdout, *large, *seed)
		} else {
			err = samplegen.SYNFlood(stdout, *flood, *seed)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		return 0
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
	if *flood > 0 {
		if err := writeFile(filepath.Join(dir, "flood.pcap"), func(w io.Writer) error { return samplegen.SYNFlood(w, *flood, *seed) }); err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		return 0
	}
	if *pair > 0 {
		if err := writePair(dir, *pair, *seed, stdout); err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		return 0
	}
	if *large > 0 {
		if err := writeFile(filepath.Join(dir, "large.pcap"), func(w io.Writer) error { return samplegen.Large(w, *large, *seed) }); err != nil {
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
	// Pairs of captures (ctcpdiag correlate) go to pairs/: they are
	// not single-capture samples with reports of their own.
	pairs := filepath.Join(dir, samplegen.PairDir)
	if err := os.MkdirAll(pairs, 0o755); err != nil {
		fmt.Fprintln(stderr, "gen:", err)
		return 1
	}
	for _, s := range samplegen.PairScenarios() {
		a, b, err := s.Build()
		if err != nil {
			fmt.Fprintf(stderr, "gen: %s: %v\n", s.Name, err)
			return 1
		}
		for _, f := range []struct {
			name string
			data []byte
		}{{s.FileA, a}, {s.FileB, b}} {
			if err := os.WriteFile(filepath.Join(pairs, f.name), f.data, 0o644); err != nil {
				fmt.Fprintln(stderr, "gen:", err)
				return 1
			}
			fmt.Fprintf(stdout, "%-40s %8d bytes  %s\n", samplegen.PairDir+"/"+f.name, len(f.data), s.Expect)
		}
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

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writePair writes the two files of samplegen.LargePair into dir.
func writePair(dir string, packets int, seed int64, stdout io.Writer) error {
	pa := filepath.Join(dir, samplegen.LargePairFileA(packets))
	pb := filepath.Join(dir, samplegen.LargePairFileB(packets))
	fa, err := os.Create(pa)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Create(pb)
	if err != nil {
		return err
	}
	defer fb.Close()
	st, err := samplegen.LargePair(fa, fb, packets, seed, nil)
	if err != nil {
		return err
	}
	if err := fa.Close(); err != nil {
		return err
	}
	if err := fb.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d packets\n%s: %d packets, clock %v ahead\n"+
		"sessions: %d cTCP, %d TCP, %d NAT-T, %d ESP; %d ESP messages lost between the points\n",
		filepath.Base(pa), st.PacketsA, filepath.Base(pb), st.PacketsB, st.ClockOffset,
		st.CTCP, st.TCP, st.NATT, st.ESP, st.Lost)
	return nil
}
