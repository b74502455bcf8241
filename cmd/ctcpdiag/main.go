package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit for the Go heap unless GOMEMLIMIT is set:
// an analysis keeps a few MiB live, and without a limit the collector's
// headroom alone doubles the resident size. Captures that need more (huge
// flow tables) still run; the collector just works harder near the limit.
const memoryLimit = 40 << 20

// gcPercent is the collector's GOGC unless GOGC is set: fewer collections
// than the default 100, while memoryLimit bounds the heap. (It was set when
// every collection also scanned 5 MiB of gopacket/layers' global tables and
// a scan of many small captures spent a tenth of its CPU in collections;
// the binary no longer links that package.)
const gcPercent = 400

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
