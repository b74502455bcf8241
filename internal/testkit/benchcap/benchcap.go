// Package benchcap gives benchmarks and tests of the stages after analyze
// (detect, report, scan) the analysis of a generated capture, so that each
// does not build it again.
package benchcap

import (
	"bytes"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// Analyzed returns the analysis of samplegen.Large(packets, seed), named
// name; it fails tb if either step fails.
func Analyzed(tb testing.TB, name string, packets int, seed int64) *analyze.Capture {
	tb.Helper()
	var buf bytes.Buffer
	if err := samplegen.Large(&buf, packets, seed); err != nil {
		tb.Fatal(err)
	}
	c, err := analyze.Reader(bytes.NewReader(buf.Bytes()), name, analyze.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
