package detect_test

import (
	"bytes"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/samplegen"
)

// BenchmarkRunLarge measures the detect stage on the result of analyzing
// a large generated capture (200,000 packets, hundreds of sessions).
func BenchmarkRunLarge(b *testing.B) {
	var buf bytes.Buffer
	if err := samplegen.Large(&buf, 200_000, 1); err != nil {
		b.Fatal(err)
	}
	c, err := analyze.Reader(bytes.NewReader(buf.Bytes()), "large.pcap", analyze.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := detect.Run(c, detect.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
