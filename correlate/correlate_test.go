package correlate_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

func pairFiles(t testing.TB, name string) (string, string) {
	t.Helper()
	for _, s := range samplegen.PairScenarios() {
		if s.Name == name {
			dir := filepath.Join(testcaps.SamplesDir(t), samplegen.PairDir)
			return filepath.Join(dir, s.FileA), filepath.Join(dir, s.FileB)
		}
	}
	t.Fatalf("no pair %s", name)
	return "", ""
}

func run(t testing.TB, a, b string) *correlate.Result {
	t.Helper()
	r, err := correlate.Files(a, b, correlate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	return r
}

// checkInvariants checks what holds for any result.
func checkInvariants(t testing.TB, r *correlate.Result) {
	t.Helper()
	if len(r.Pairs) == 0 && r.Verdict != correlate.VerdictNoMatch {
		t.Errorf("no pair, verdict %s", r.Verdict)
	}
	for _, p := range r.Pairs {
		for d, dir := range p.Directions {
			if dir.Lost+dir.Generated != 0 && dir.Lost+dir.Generated != dir.AOnly+dir.BOnly {
				t.Errorf("direction %d: lost %d + generated %d != a-only %d + b-only %d", d, dir.Lost, dir.Generated, dir.AOnly, dir.BOnly)
			}
			if dir.Delay.N > dir.Both {
				t.Errorf("direction %d: %d delays for %d messages seen at both", d, dir.Delay.N, dir.Both)
			}
			if dir.Lost > 0 && (dir.FirstLost == nil || len(dir.LostMessages) == 0 || *dir.FirstLost != dir.LostMessages[0]) {
				t.Errorf("direction %d: %d lost, first lost %v", d, dir.Lost, dir.FirstLost)
			}
			if dir.Lost == 0 && dir.FirstLost != nil {
				t.Errorf("direction %d: nothing lost, first lost %v", d, *dir.FirstLost)
			}
			if dir.Delay.N > 0 && !(dir.Delay.Median <= dir.Delay.P99 && dir.Delay.P99 <= dir.Delay.Max) {
				t.Errorf("direction %d: delays %+v out of order", d, dir.Delay)
			}
		}
		for _, e := range append(p.Generated, p.Absorbed...) {
			if e.Count < len(e.Frames) || len(e.Frames) == 0 {
				t.Errorf("event %+v: count and frames disagree", e)
			}
		}
	}
}

const tolerance = int64(500 * time.Microsecond)

func TestProxyLoss(t *testing.T) {
	a, b := pairFiles(t, "pair-proxy-loss")
	r := run(t, a, b)
	if r.Verdict != correlate.VerdictLoss {
		t.Errorf("verdict %s, want %s", r.Verdict, correlate.VerdictLoss)
	}
	if !r.OffsetKnown || abs(r.ClockOffset-int64(samplegen.PairClockOffset)) > tolerance {
		t.Errorf("clock offset %v (known %v), want %v", time.Duration(r.ClockOffset), r.OffsetKnown, samplegen.PairClockOffset)
	}
	if len(r.Pairs) != 1 || len(r.UnpairedA)+len(r.UnpairedB) != 0 {
		t.Fatalf("%d pairs, unpaired %v %v; want one pair", len(r.Pairs), r.UnpairedA, r.UnpairedB)
	}
	p := r.Pairs[0]
	if p.MatchedBy != correlate.MatchedESPSPI || len(p.SPIs) != 2 {
		t.Errorf("matched by %s on %x", p.MatchedBy, p.SPIs)
	}
	if p.A.Client == p.B.Client {
		t.Errorf("the client is %v at both points: the sample NATs it", p.A.Client)
	}
	if p.Relation != correlate.RelationTerminated {
		t.Errorf("relation %s (%q), want terminated", p.Relation, p.RelationWhy)
	}
	up := p.Directions[analyze.ClientToHeadend]
	if up.Upstream != "a" || up.Both != 8 || up.Lost != 8 || up.Generated != 0 || up.IKEBoth != 4 {
		t.Errorf("client->headend: %+v", up)
	}
	fl := up.FirstLost
	if fl == nil {
		t.Fatal("no first lost message")
	}
	if fl.SPI != 0x8d3a5c01 || fl.Seq != 9 || fl.AFrame == 0 || fl.BFrame != 0 {
		t.Errorf("first lost %+v, want ESP 8d3a5c01/9 with its A frame", *fl)
	}
	if fl.Before.Seq != 8 || fl.Before.AFrame == 0 || fl.Before.BFrame == 0 || fl.After.AFrame != 0 || fl.After.BFrame != 0 {
		t.Errorf("around the hole: before %+v after %+v; want ESP 8 in both files, nothing after", fl.Before, fl.After)
	}
	down := p.Directions[analyze.HeadendToClient]
	if down.Upstream != "b" || down.Lost != 0 || down.Generated != 0 || down.Both != 9 || down.FirstLost != nil {
		t.Errorf("headend->client (loss-free): %+v", down)
	}
	for _, d := range p.Directions {
		if d.Delay.N == 0 || abs(d.Delay.Median-int64(samplegen.PairDelay)) > tolerance {
			t.Errorf("%v->%v: delay %+v, want about %v", d.From, d.To, d.Delay, samplegen.PairDelay)
		}
	}
	var dup, fin bool
	for _, e := range p.Generated {
		switch {
		case e.Kind == correlate.EventDupAck && e.Side == "a" && e.Dir == analyze.HeadendToClient:
			dup = e.Count == 8 && len(e.Frames) == 8
		case e.Kind == correlate.EventFIN && e.Side == "a" && e.Dir == analyze.HeadendToClient:
			fin = true
		default:
			t.Errorf("unexpected generated %+v", e)
		}
	}
	if !dup || !fin {
		t.Errorf("generated %+v: want the proxy's 8 duplicate ACKs and its FIN on side a", p.Generated)
	}
	var rst bool
	for _, e := range p.Absorbed {
		if e.Kind == correlate.EventRST && e.Side == "b" {
			rst = true
		}
	}
	if !rst {
		t.Errorf("absorbed %+v: want the headend's RST on side b", p.Absorbed)
	}

	// Files in the other order: the same story, mirrored.
	rr := run(t, b, a)
	if rr.Verdict != correlate.VerdictLoss || len(rr.Pairs) != 1 {
		t.Fatalf("reversed: verdict %s, %d pairs", rr.Verdict, len(rr.Pairs))
	}
	if abs(rr.ClockOffset+r.ClockOffset) > tolerance {
		t.Errorf("reversed: offset %d, want %d", rr.ClockOffset, -r.ClockOffset)
	}
	rup := rr.Pairs[0].Directions[analyze.ClientToHeadend]
	if rup.Upstream != "b" || rup.Lost != up.Lost || rup.FirstLost == nil || rup.FirstLost.BFrame != fl.AFrame {
		t.Errorf("reversed: client->headend %+v", rup)
	}
}

func TestNATSeqRand(t *testing.T) {
	a, b := pairFiles(t, "pair-nat-seqrand")
	r := run(t, a, b)
	if r.Verdict != correlate.VerdictNoLoss || len(r.Pairs) != 1 {
		t.Fatalf("verdict %s, %d pairs", r.Verdict, len(r.Pairs))
	}
	if !r.OffsetKnown || abs(r.ClockOffset-int64(samplegen.PairClockOffset)) > tolerance {
		t.Errorf("clock offset %v, want %v", time.Duration(r.ClockOffset), samplegen.PairClockOffset)
	}
	p := r.Pairs[0]
	if p.A.Headend == p.B.Headend {
		t.Errorf("headend %v at both points: the sample NATs it", p.A.Headend)
	}
	if p.Relation != correlate.RelationSeqOffset {
		t.Errorf("relation %s (%q), want sequence-offset", p.Relation, p.RelationWhy)
	}
	c2h, h2c := p.Directions[0], p.Directions[1]
	if !c2h.SeqOffsetConstant || c2h.SeqOffset != 0x3b9ac9ff || !h2c.SeqOffsetConstant || h2c.SeqOffset != 0 {
		t.Errorf("sequence offsets %x (%v) and %x (%v)", c2h.SeqOffset, c2h.SeqOffsetConstant, h2c.SeqOffset, h2c.SeqOffsetConstant)
	}
	for _, d := range p.Directions {
		if d.Lost != 0 || d.Generated != 0 || d.AOnly != 0 || d.BOnly != 0 || d.Both == 0 {
			t.Errorf("%v->%v: %+v; want everything seen at both", d.From, d.To, d)
		}
	}
	if len(p.Generated)+len(p.Absorbed) != 0 {
		t.Errorf("generated %+v absorbed %+v; want none", p.Generated, p.Absorbed)
	}
	if c2h.Upstream != "a" || h2c.Upstream != "b" {
		t.Errorf("upstream %s and %s, want a and b", c2h.Upstream, h2c.Upstream)
	}
}

func TestNoMatch(t *testing.T) {
	a, _ := pairFiles(t, "pair-proxy-loss")
	b, _ := pairFiles(t, "pair-nat-seqrand")
	r := run(t, a, b)
	if r.Verdict != correlate.VerdictNoMatch || len(r.Pairs) != 0 {
		t.Errorf("verdict %s with %d pairs, want no-match", r.Verdict, len(r.Pairs))
	}
	if len(r.UnpairedA) == 0 || len(r.UnpairedB) == 0 {
		t.Errorf("unpaired %v %v: want the cTCP sessions of both", r.UnpairedA, r.UnpairedB)
	}
}

// TestSameFile correlates a capture with itself: every message at both
// points, a zero delay, the same connection.
func TestSameFile(t *testing.T) {
	a, _ := pairFiles(t, "pair-proxy-loss")
	r := run(t, a, a)
	if r.Verdict != correlate.VerdictNoLoss || len(r.Pairs) != 1 || r.ClockOffset != 0 {
		t.Fatalf("verdict %s, %d pairs, offset %d", r.Verdict, len(r.Pairs), r.ClockOffset)
	}
	if p := r.Pairs[0]; p.Relation != correlate.RelationSame {
		t.Errorf("relation %s (%q)", p.Relation, p.RelationWhy)
	}
}

func TestUnreadable(t *testing.T) {
	a, _ := pairFiles(t, "pair-proxy-loss")
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, []byte("not a capture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := correlate.Files(a, bad, correlate.Options{})
	var ie *analyze.InputError
	if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), "bad.pcap") {
		t.Errorf("error %v, want an input error naming bad.pcap", err)
	}
	if _, err := correlate.Readers(bytes.NewReader(nil), "empty-a", nil, "b", correlate.Options{}); err == nil {
		t.Error("no error for a missing reader")
	}
	// Either file failing stops the other and names itself, in either
	// order.
	good, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ a, b []byte }{{good, []byte("junk")}, {[]byte("junk"), good}} {
		_, err := correlate.Readers(bytes.NewReader(x.a), "first.pcap", bytes.NewReader(x.b), "second.pcap", correlate.Options{})
		bad := "second.pcap"
		if len(x.a) == 4 {
			bad = "first.pcap"
		}
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("error %v, want one naming %s", err, bad)
		}
	}
}

// TestMaxPending holds at most a few messages per file: those forced out
// are counted and not judged, never called lost.
func TestMaxPending(t *testing.T) {
	a, b := pairFiles(t, "pair-proxy-loss")
	r, err := correlate.Files(a, b, correlate.Options{MaxPending: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	if r.ForcedA+r.ForcedB == 0 || r.PeakHeldA > 4 || r.PeakHeldB > 4 {
		t.Errorf("forced %d and %d, held at most %d and %d; want some forced, at most 3 and an IKE message held", r.ForcedA, r.ForcedB, r.PeakHeldA, r.PeakHeldB)
	}
	full := run(t, a, b)
	if full.ForcedA+full.ForcedB != 0 {
		t.Errorf("forced %d and %d without a cap", full.ForcedA, full.ForcedB)
	}
	lost, notJudged := 0, 0
	for _, p := range r.Pairs {
		for _, d := range p.Directions {
			lost += d.Lost + d.Generated
			notJudged += d.NotJudged
		}
	}
	fullLost := 0
	for _, p := range full.Pairs {
		for _, d := range p.Directions {
			fullLost += d.Lost + d.Generated
		}
	}
	if lost > fullLost || notJudged == 0 {
		t.Errorf("with the cap %d lost or generated, %d not judged; without it %d lost or generated", lost, notJudged, fullLost)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkCorrelate(b *testing.B) {
	pa, pb := pairFiles(b, "pair-proxy-loss")
	da, err := os.ReadFile(pa)
	if err != nil {
		b.Fatal(err)
	}
	db, err := os.ReadFile(pb)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(da) + len(db)))
	for b.Loop() {
		if _, err := correlate.Readers(bytes.NewReader(da), "a", bytes.NewReader(db), "b", correlate.Options{NoHash: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCorrelate(f *testing.F) {
	for _, s := range samplegen.PairScenarios() {
		pa, pb := pairFiles(f, s.Name)
		da, _ := os.ReadFile(pa)
		db, _ := os.ReadFile(pb)
		f.Add(da, db)
		f.Add(db, da)
		if len(da) > 2000 {
			f.Add(da[:2000], db)
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r, err := correlate.Readers(bytes.NewReader(a), "a.pcap", bytes.NewReader(b), "b.pcap", correlate.Options{NoHash: true})
		if err != nil {
			if !strings.Contains(err.Error(), "a.pcap") && !strings.Contains(err.Error(), "b.pcap") {
				t.Errorf("error %v names neither file", err)
			}
			return
		}
		checkInvariants(t, r)
	})
}

// natCopy writes a copy of the pcap at path in which every IPv4 address
// from is replaced by to, checksums recomputed by gopacket, and the TCP
// source port of the client moved by portShift: what a NAT between two
// capture points does to a plain TCP session.
func natCopy(t *testing.T, path string, from, to netip.Addr, portShift uint16) string {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out bytes.Buffer
	var w *capfile.PcapWriter
	for src.Next() {
		info := src.Info()
		if w == nil {
			w = capfile.NewPcapWriter(&out, "nat", capfile.Interface{LinkType: info.LinkType, SnapLen: 262144})
		}
		pkt := gopacket.NewPacket(src.Data(), layers.LinkType(info.LinkType), gopacket.Default)
		ip4, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		data := src.Data()
		if ip4 != nil {
			fromIP := net.IP(from.AsSlice())
			if ip4.SrcIP.Equal(fromIP) {
				ip4.SrcIP = net.IP(to.AsSlice())
			}
			if ip4.DstIP.Equal(fromIP) {
				ip4.DstIP = net.IP(to.AsSlice())
			}
			var ls []gopacket.SerializableLayer
			for _, l := range pkt.Layers() {
				switch l := l.(type) {
				case *layers.TCP:
					if net.IP(to.AsSlice()).Equal(ip4.SrcIP) {
						l.SrcPort += layers.TCPPort(portShift)
					} else if net.IP(to.AsSlice()).Equal(ip4.DstIP) {
						l.DstPort += layers.TCPPort(portShift)
					}
					l.SetNetworkLayerForChecksum(ip4)
				case *layers.UDP:
					l.SetNetworkLayerForChecksum(ip4)
				}
				if sl, ok := l.(gopacket.SerializableLayer); ok {
					ls = append(ls, sl)
				} else {
					ls = append(ls, gopacket.Payload(l.LayerContents()))
				}
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ls...); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
		}
		if err := w.WritePacket(capfile.Packet{Time: info.Time, OrigLen: len(data), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "nat.pcap")
	if err := os.WriteFile(name, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestPayloadMatch: a plain TCP session (AnyConnect's TLS) behind a NAT
// that changes the client's address and port has nothing but its bytes
// in common with the other side: it is matched on the first stream
// bytes of its directions, with the same sequence numbers at both
// points.
func TestPayloadMatch(t *testing.T) {
	a := filepath.Join(testcaps.SamplesDir(t), "anyconnect.pcap")
	b := natCopy(t, a, netip.MustParseAddr("192.168.1.23"), netip.MustParseAddr("198.51.100.77"), 1000)
	for _, order := range [][2]string{{a, b}, {b, a}} {
		r := run(t, order[0], order[1])
		var tcp *correlate.Pair
		for i := range r.Pairs {
			if r.Pairs[i].A.Proto == 6 {
				tcp = &r.Pairs[i]
			}
		}
		if tcp == nil {
			t.Fatalf("the TLS session is not paired (%d pairs, verdict %s)", len(r.Pairs), r.Verdict)
		}
		if tcp.MatchedBy != correlate.MatchedPayload || tcp.A.Client == tcp.B.Client {
			t.Errorf("TLS pair matched by %s, A client %s, B client %s", tcp.MatchedBy, tcp.A.Client, tcp.B.Client)
		}
		if tcp.Relation != correlate.RelationSame {
			t.Errorf("relation %s (%v), want %s", tcp.Relation, tcp.RelationWhy, correlate.RelationSame)
		}
	}
}
