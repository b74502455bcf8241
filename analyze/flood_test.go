package analyze_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

func floodCapture(t testing.TB, flows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := samplegen.SYNFlood(&buf, flows, 1); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSYNFloodBounded floods a small flow table with 50,000 half-open
// flows around a real affected cTCP session and a healthy one: the flood's
// sessions are counted, not listed, and the real sessions come out as
// they do alone.
func TestSYNFloodBounded(t *testing.T) {
	const flows = 50_000
	data := floodCapture(t, flows)
	alone := sample(t, "ctcp-proxy-stall.pcap", analyze.Options{})
	want := sessionOf(t, alone, analyze.TransportCTCP)
	for _, max := range []int{10_000, 0} {
		c, err := analyze.Reader(bytes.NewReader(data), "flood.pcap", analyze.Options{MaxFlows: max})
		if err != nil {
			t.Fatal(err)
		}
		if c.Stats.TCPStreams != flows+2 {
			t.Errorf("max %d: %d tcp streams, want %d", max, c.Stats.TCPStreams, flows+2)
		}
		if c.Stats.DroppedSessions != flows || c.Stats.EvictedFlows == 0 {
			t.Errorf("max %d: dropped %d sessions, evicted %d flows; want %d dropped", max, c.Stats.DroppedSessions, c.Stats.EvictedFlows, flows)
		}
		if len(c.Sessions) > 10 {
			t.Errorf("max %d: %d sessions listed, want the few real ones", max, len(c.Sessions))
		}
		if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, "quiet sessions evicted") || !strings.Contains(w, "evicted from the flow table") {
			t.Errorf("max %d: warnings %q", max, c.Warnings)
		}
		var got *analyze.Session
		for _, s := range c.Sessions {
			if s.Transport == analyze.TransportCTCP && s.Client == want.Client {
				got = s
			}
		}
		if got == nil {
			t.Fatalf("max %d: the affected cTCP session is missing among %d sessions", max, len(c.Sessions))
		}
		if got.FirstFrame < flows/4 || got.FirstFrame > flows*3/4 {
			t.Errorf("max %d: the cTCP session starts at frame %d, not in the middle of the flood", max, got.FirstFrame)
		}
		if got.Packets != want.Packets || got.Counts != want.Counts || len(got.Requests) != len(want.Requests) {
			t.Errorf("max %d: cTCP session %d packets %+v %d runs; alone %d packets %+v %d runs", max, got.Packets, got.Counts, len(got.Requests), want.Packets, want.Counts, len(want.Requests))
		}
		res, err := detect.Run(c, detect.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != detect.Affected {
			t.Errorf("max %d: verdict %s, want affected", max, res.Verdict)
		}
	}
}

// rawTCP appends a pcap record holding a raw IPv4 TCP segment.
func rawTCP(b []byte, ts int64, src, dst [4]byte, sp, dp uint16, seq, ack uint32, flags byte, payload int) []byte {
	n := 40 + payload
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(ts/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts%1e9/1e3))
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	binary.LittleEndian.PutUint32(h[12:], uint32(n))
	b = append(b, h[:]...)
	ip := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0x40, 0, 64, 6, 0, 0}
	b = append(append(append(b, ip...), src[:]...), dst[:]...)
	b = binary.BigEndian.AppendUint16(b, sp)
	b = binary.BigEndian.AppendUint16(b, dp)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	return append(b, make([]byte, payload)...)
}

func rawPcap() []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 101) // raw IP
	return h
}

// TestIdleEviction checks that a flow idle for two hours then resumed
// stays one session in a capture of ordinary size, and that above the idle
// floor half-open flows idle for longer than 30 s are evicted.
func TestIdleEviction(t *testing.T) {
	const syn, ack, psh = 0x02, 0x10, 0x18
	cl, sv := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	long := func(b []byte, t0 int64) []byte {
		b = rawTCP(b, t0, cl, sv, 40000, 22, 100, 0, syn, 0)
		b = rawTCP(b, t0+1e6, sv, cl, 22, 40000, 500, 101, syn|ack, 0)
		b = rawTCP(b, t0+2e6, cl, sv, 40000, 22, 101, 501, ack, 0)
		b = rawTCP(b, t0+3e6, cl, sv, 40000, 22, 101, 501, psh, 100)
		b = rawTCP(b, t0+4e6, sv, cl, 22, 40000, 501, 201, ack, 0)
		return b
	}
	resume := func(b []byte, t1 int64) []byte {
		b = rawTCP(b, t1, cl, sv, 40000, 22, 201, 501, psh, 100)
		return rawTCP(b, t1+1e6, sv, cl, 22, 40000, 501, 301, ack, 0)
	}
	const t0, hours2 = int64(1.7e18), int64(7200e9)

	b := resume(long(rawPcap(), t0), t0+hours2)
	c, err := analyze.Reader(bytes.NewReader(b), "idle.pcap", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 1 || c.Stats.TCPStreams != 1 || c.Stats.EvictedFlows != 0 || c.Sessions[0].Packets != 7 {
		t.Fatalf("idle flow: %d sessions, %d streams, %d evicted; want one session of 7 packets", len(c.Sessions), c.Stats.TCPStreams, c.Stats.EvictedFlows)
	}
	if c.Stats.TCP != (analyze.TCPCounts{}) {
		t.Errorf("idle flow flagged: %+v", c.Stats.TCP)
	}

	// Above the floor: 20,000 half-open flows, 10 ms apart (200 s).
	b = long(rawPcap(), t0)
	const n = 20_000
	for i := range n {
		src := [4]byte{198, 18, byte(i >> 8), byte(i)}
		b = rawTCP(b, t0+int64(i+1)*10e6, src, sv, 50000, 80, uint32(i), 0, syn, 0)
	}
	b = resume(b, t0+hours2)
	c, err = analyze.Reader(bytes.NewReader(b), "idle-busy.pcap", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings, "\n")
	if c.Stats.EvictedFlows == 0 || c.Stats.DroppedSessions == 0 || !strings.Contains(w, "idle while") || strings.Contains(w, " 0 idle") {
		t.Errorf("busy capture: evicted %d, dropped %d, warnings %q; want idle evictions", c.Stats.EvictedFlows, c.Stats.DroppedSessions, c.Warnings)
	}
	if c.Stats.TCPStreams != n+1 {
		t.Errorf("busy capture: %d streams, want %d", c.Stats.TCPStreams, n+1)
	}
}

// BenchmarkSYNFlood measures the analysis of a SYN flood of 100,000
// distinct flows with the default flow table: per-flow allocations and
// bytes, and the table's live heap at the end.
func BenchmarkSYNFlood(b *testing.B) {
	const flows = 100_000
	data := floodCapture(b, flows)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := analyze.Reader(bytes.NewReader(data), "flood.pcap", analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if c.Stats.TCPStreams != flows+2 {
			b.Fatalf("%d streams", c.Stats.TCPStreams)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/flows, "ns/flow")
}
