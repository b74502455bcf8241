package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// TestReproducible checks that the same capture gives byte-identical
// reports in every format on every run, with any GOMAXPROCS and any
// --threads (no map order, no clock, no scheduling in the output; the
// sharded analysis equals the single-threaded one).
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
				for i, run := range []struct{ procs, threads int }{{1, 1}, {4, 4}, {1, 3}, {2, 9}, {2, 0}} {
					runtime.GOMAXPROCS(run.procs)
					_, out, _ := runArgs(t, nil, "analyze", "--color", "never", "--format", format, "--threads", fmt.Sprint(run.threads), path)
					if i == 0 {
						first = out
						continue
					}
					if out != first {
						t.Fatalf("%s: run %d (GOMAXPROCS %d, --threads %d) differs from the first run", format, i+1, run.procs, run.threads)
					}
				}
			}
		})
	}
}
