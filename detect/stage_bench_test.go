package detect_test

import (
	"testing"

	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/benchcap"
)

// BenchmarkRunLarge measures the detect stage on the result of analyzing
// a large generated capture (200,000 packets, hundreds of sessions).
func BenchmarkRunLarge(b *testing.B) {
	c := benchcap.Analyzed(b, "large.pcap", 200_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := detect.Run(c, detect.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
