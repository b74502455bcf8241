package main

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// TestReproducible checks that the same capture gives byte-identical
// reports in every format on every run and with any GOMAXPROCS (no map
// order, no clock, no scheduling in the output).
func TestReproducible(t *testing.T) {
	files := testcaps.Samples(t)
	if _, err := testcaps.Locate(t); err == nil {
		for _, e := range testcaps.Manifest(t) {
			if e.Fields["link_type"] != "unreadable" && e.Int("tcp_streams") > 1 {
				files = append(files, e.Path)
			}
		}
	}
	if testing.Short() {
		files = files[:2]
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, format := range []string{"text", "json", "markdown", "html"} {
				var first string
				for i, procs := range []int{1, 4, 1, 2} {
					runtime.GOMAXPROCS(procs)
					_, out, _ := runArgs(t, nil, "analyze", "--color", "never", "--format", format, path)
					if i == 0 {
						first = out
						continue
					}
					if out != first {
						t.Fatalf("%s: run %d (GOMAXPROCS %d) differs from the first run", format, i+1, procs)
					}
				}
			}
		})
	}
}
