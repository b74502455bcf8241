package evidence_test

import (
	"io"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/evidence"
	"github.com/ctcpdiag/ctcpdiag/internal/pipeline"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// BenchmarkWrite writes the evidence capture of ctcp-proxy-stall.pcap
// (146 frames, 141 written, 13 with a comment), whole and trimmed. Its
// allocations are the setup's (most of them the decoder's gopacket
// tables) and the comments of the cited frames: none per frame read or
// written.
func BenchmarkWrite(b *testing.B) {
	src := samplePath("ctcp-proxy-stall.pcap")
	in := pipeline.Input{Path: src, File: src}
	opts := pipeline.Options{Tool: report.Tool{Name: "ctcpdiag", Version: "bench"}, Analyze: analyze.Options{NoHash: true}}
	c, err := pipeline.Analyze(in, opts)
	if err != nil {
		b.Fatal(err)
	}
	rep := pipeline.Report(c, in, opts).Report
	for _, tc := range []struct {
		name string
		lim  evidence.Limits
	}{
		{"whole", evidence.Limits{}},
		{"trimmed", evidence.Limits{Whole: 10, Handshake: 3, Window: 4, End: 5, Held: 1 << 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			spec := evidence.FromReport(c, rep, src)
			spec.Limits = tc.lim
			b.ReportAllocs()
			for b.Loop() {
				if _, err := evidence.Write(io.Discard, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
