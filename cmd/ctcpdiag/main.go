package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit for the Go heap unless GOMEMLIMIT is set:
// an analysis keeps a few MiB live, and without a limit the collector's
// headroom alone doubles the resident size. Captures that need more (huge
// flow tables) still run; the collector just works harder near the limit.
const memoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
