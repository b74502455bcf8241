package analyze

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// Stage benchmarks of the analyze package; the read and decode stages are
// benchmarked in analyze/capfile and analyze/decode, detect and render in
// their packages. scripts/bench.sh runs them all.

const stagePackets = 200_000

var (
	stageOnce sync.Once
	stageCap  []byte
	stagePkts []decode.Packet
	stageErr  error
)

// stageInput returns a generated capture of stagePackets packets and its
// frames decoded in advance (their payloads alias the capture).
func stageInput(tb testing.TB) ([]byte, []decode.Packet) {
	stageOnce.Do(func() {
		var buf bytes.Buffer
		if stageErr = samplegen.Large(&buf, stagePackets, 1); stageErr != nil {
			return
		}
		stageCap = buf.Bytes()
		// Walk the pcap records in place (samplegen writes little-endian
		// microsecond pcap), so that payloads alias the capture, which
		// outlives the benchmark, and not a reader's buffer.
		d := decode.NewDecoder()
		b := stageCap[24:]
		for frame := uint64(1); len(b) >= 16; frame++ {
			caplen := int(binary.LittleEndian.Uint32(b[8:]))
			p := decode.Packet{Frame: frame,
				Time:    int64(binary.LittleEndian.Uint32(b[0:]))*1e9 + int64(binary.LittleEndian.Uint32(b[4:]))*1e3,
				CapLen:  caplen,
				OrigLen: int(binary.LittleEndian.Uint32(b[12:]))}
			if d.Decode(b[16:16+caplen], decode.LinkEthernet, &p) == nil && p.IPVersion != 0 {
				stagePkts = append(stagePkts, p)
			}
			b = b[16+caplen:]
		}
	})
	if stageErr != nil {
		tb.Fatal(stageErr)
	}
	return stageCap, stagePkts
}

// BenchmarkTrack measures the flow table, Wireshark's TCP analysis,
// duplicate-ACK runs and the transport classification alone, on packets
// decoded in advance: what the analysis costs on top of reading and
// decoding.
func BenchmarkTrack(b *testing.B) {
	_, pkts := stageInput(b)
	b.ReportAllocs()
	var q decode.Packet
	for b.Loop() {
		t := newTracker(Options{})
		for i := range pkts {
			q = pkts[i]
			t.add(&q)
		}
		t.finish(&Capture{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pkts)), "ns/packet")
}

// BenchmarkReaderSmall measures the fixed cost of analyzing one small
// capture (100 packets), the unit of work of a scan: buffers, decoder,
// tracker and result set up and torn down once per file.
func BenchmarkReaderSmall(b *testing.B) {
	var buf bytes.Buffer
	if err := samplegen.Large(&buf, 100, 7); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Reader(bytes.NewReader(data), "small.pcap", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
