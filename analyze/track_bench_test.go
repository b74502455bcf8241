package analyze

import (
	"bytes"
	"os"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// decodeAll returns the frames of the capture in data that carry IP,
// decoded, their payloads copied out of the reader's buffers.
func decodeAll(data []byte, name string) ([]decode.Packet, error) {
	src, err := capfile.New(bytes.NewReader(data), name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var out []decode.Packet
	for src.Next() {
		info := src.Info()
		p := decode.Packet{Frame: info.Frame, Time: info.Time, CapLen: info.CapLen, OrigLen: info.OrigLen}
		if dec.Decode(src.Data(), info.LinkType, &p) != nil || p.IPVersion == 0 {
			continue
		}
		p.Payload = bytes.Clone(p.Payload)
		out = append(out, p)
	}
	return out, nil
}

// generated returns the frames of a generated capture of n packets with
// hundreds of concurrent flows.
func generated(tb testing.TB, n int) []decode.Packet {
	tb.Helper()
	var buf bytes.Buffer
	if err := samplegen.Large(&buf, n, int64(n)); err != nil {
		tb.Fatal(err)
	}
	pkts, err := decodeAll(buf.Bytes(), "large.pcap")
	if err != nil {
		tb.Fatal(err)
	}
	return pkts
}

// BenchmarkTrackPublic is BenchmarkTrack on the public captures (real
// traffic, in which consecutive packets mostly belong to one
// conversation), each through a tracker of its own, as analyze.File
// would.
func BenchmarkTrackPublic(b *testing.B) {
	var files [][]decode.Packet
	total := 0
	for _, e := range testcaps.Manifest(b) {
		data, err := os.ReadFile(e.Path)
		if err != nil {
			b.Fatal(err)
		}
		pkts, err := decodeAll(data, e.Name)
		if err != nil {
			continue // unreadable on purpose
		}
		files = append(files, pkts)
		total += len(pkts)
	}
	b.ReportAllocs()
	var q decode.Packet
	for b.Loop() {
		for _, pkts := range files {
			t := newTracker(Options{})
			for i := range pkts {
				q = pkts[i]
				t.add(&q)
			}
			t.finish(&Capture{})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(total), "ns/packet")
}
