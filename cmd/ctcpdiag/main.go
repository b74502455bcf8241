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

// gcPercent is the collector's GOGC unless GOGC is set. Every collection
// scans about 5 MiB of gopacket's global tables (EthernetTypeMetadata and
// PPPTypeMetadata hold 65,536 entries each), so with the default 100 a
// scan of many small captures spent about a tenth of its CPU in
// collections; memoryLimit still bounds the heap.
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
