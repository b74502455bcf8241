package rewrite_test

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// linkTypesFuzzed are the link types the fuzz target picks from.
var linkTypesFuzzed = []uint16{0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 204, 205, 228, 229, 239, 276, 147}

// linkIndex is the index of a link type in linkTypesFuzzed (that of 147,
// an unknown one, for the others).
func linkIndex(lt uint16) uint8 {
	for i, l := range linkTypesFuzzed {
		if l == lt {
			return uint8(i)
		}
	}
	return uint8(len(linkTypesFuzzed) - 1)
}

// FuzzRewrite sends arbitrary frames through the rewriter. It must not
// panic, must write as many frames as it was given, each readable by
// capfile with its length and link type, and must keep nothing of a
// frame of an unknown link type. And the copy must decode as the
// original does (see checkSameDecoding).
//
// It is seeded with frames of the samples and, when present, of the
// public captures.
func FuzzRewrite(f *testing.F) {
	root := testcaps.RepoRoot(f)
	paths, _ := filepath.Glob(filepath.Join(root, "samples", "*.pcap*"))
	perFile := map[bool]int{true: 40, false: 8} // frames of each sample, of each public capture
	if pub, err := testcaps.Locate(f); err == nil {
		more, _ := filepath.Glob(filepath.Join(pub, "*.pcap*"))
		paths = append(paths, more...)
	}
	for _, p := range paths {
		src, err := capfile.Open(p)
		if err != nil {
			continue
		}
		limit := perFile[filepath.Base(filepath.Dir(p)) == "samples"]
		for n := 0; src.Next() && n < limit; n++ {
			info := src.Info()
			f.Add(bytes.Clone(src.Data()), linkIndex(info.LinkType), uint16(max(info.OrigLen-info.CapLen, 0)))
		}
		src.Close()
	}
	f.Add([]byte{0x45, 0, 0, 20}, uint8(6), uint16(100))
	var dec [2]*decode.Decoder
	dec[0], dec[1] = decode.NewDecoder(), decode.NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte, lt uint8, extra uint16) {
		linkType := linkTypesFuzzed[int(lt)%len(linkTypesFuzzed)]
		var out bytes.Buffer
		w := rewrite.NewWriter(&out, mapper, extra&1 == 1)
		info := capfile.FrameInfo{Frame: 1, Time: 1e9, CapLen: len(data), OrigLen: len(data) + int(extra), LinkType: linkType}
		w.WritePacket(info, data)
		w.Placeholder()
		info.Frame = 3
		w.WritePacket(info, data)
		if w.Err() != nil {
			t.Fatal(w.Err())
		}
		src, err := capfile.New(bytes.NewReader(out.Bytes()), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		var frames []uint64
		var copied []byte
		for src.Next() {
			gi := src.Info()
			if gi.CapLen != len(data) || gi.OrigLen != info.OrigLen || gi.LinkType != linkType {
				t.Fatalf("frame %+v, want caplen %d origlen %d link %d", gi, len(data), info.OrigLen, linkType)
			}
			if linkType == 147 && bytes.ContainsFunc(src.Data(), func(r rune) bool { return r != 0 }) {
				t.Fatal("frame of an unknown link type not zeroed")
			}
			frames = append(frames, gi.Frame)
			copied = bytes.Clone(src.Data())
		}
		if src.Err() != nil || len(frames) != 2 || frames[0] != 1 || frames[1] != 3 || src.Frames() != 3 {
			t.Fatalf("read back frames %v of %d: %v", frames, src.Frames(), src.Err())
		}
		checkSameDecoding(t, dec, data, copied, linkType, info.OrigLen)
	})
}

// checkSameDecoding is the differential property of the rewriter:
// decoding the copy gives what decoding the original gives, with the
// addresses mapped. The same error or none; the same Packet (IP version,
// protocol, fragment, TTL, IP-ID, ports, TCP sequence and
// acknowledgment numbers, flags, window, options, payload length and
// captured payload length), Src and Dst being the pseudonyms of the
// original's; the same Layout (every header, field, checksum and the
// payload at the same place), every whole address field in the copy
// holding the pseudonym of the original's; every IPv4 header checksum
// valid, and every other checksum off by what the original's was off
// (the ones'-complement sum over what it covers is unchanged), so valid
// where the original's was.
//
// Frames with an IPComp header are left out (the copy keeps only that
// header: the compressed payload would hide the inner packet's
// addresses), and so are frames with more headers than a Layout holds
// (the copy is all zero).
func checkSameDecoding(t *testing.T, dec [2]*decode.Decoder, orig, copied []byte, linkType uint16, origLen int) {
	t.Helper()
	var p [2]decode.Packet
	var l [2]decode.Layout
	var err [2]error
	for i, b := range [][]byte{orig, copied} {
		p[i].CapLen, p[i].OrigLen = len(b), origLen
		err[i] = dec[i].DecodeLayout(b, linkType, &p[i], &l[i])
	}
	if l[0].Overflow {
		return
	}
	for _, h := range l[0].Headers() {
		if h.Kind == decode.HeaderIPComp {
			return
		}
	}
	if (err[0] == nil) != (err[1] == nil) || err[0] != nil && err[0].Error() != err[1].Error() {
		t.Fatalf("decoding the original: error %v; the copy: %v", err[0], err[1])
	}
	if s0, s1 := summarize(&p[0]), summarize(&p[1]); s0 != s1 {
		t.Fatalf("the copy decodes as\n %+v\nthe original as\n %+v", s1, s0)
	}
	if mapper.Addr(p[0].Src) != p[1].Src || mapper.Addr(p[0].Dst) != p[1].Dst {
		t.Fatalf("addresses %v > %v became %v > %v, want %v > %v", p[0].Src, p[0].Dst, p[1].Src, p[1].Dst, mapper.Addr(p[0].Src), mapper.Addr(p[0].Dst))
	}
	if !equalLayouts(&l[0], &l[1]) {
		t.Fatalf("layout of the copy\n %+v %+v %+v %+v\nof the original\n %+v %+v %+v %+v",
			l[1].Headers(), l[1].Fields(), l[1].Checksums(), l[1].Payload,
			l[0].Headers(), l[0].Fields(), l[0].Checksums(), l[0].Payload)
	}
	for _, a := range l[0].Fields() {
		if a.Len < a.Kind.Size() {
			continue
		}
		in, out := orig[a.Off:a.Off+a.Len], copied[a.Off:a.Off+a.Len]
		var want []byte
		switch a.Kind {
		case decode.FieldMAC:
			m := mapper.MAC([6]byte(in))
			want = m[:]
		case decode.FieldIPv4:
			m := mapper.IPv4([4]byte(in))
			want = m[:]
		case decode.FieldIPv6:
			m := mapper.IPv6([16]byte(in))
			want = m[:]
		default:
			want = in
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("field %+v: %x became %x, want %x", a, in, out, want)
		}
	}
	for _, c := range l[0].Checksums() {
		if c.Kind == decode.ChecksumIPv4 {
			if s := checksumSum(copied, c); s != 0xffff {
				t.Fatalf("IPv4 header checksum %+v of the copy: sum %#04x", c, s)
			}
			continue
		}
		if c.Kind == decode.ChecksumUDP && binary.BigEndian.Uint16(orig[c.Off:]) == 0 {
			if binary.BigEndian.Uint16(copied[c.Off:]) != 0 {
				t.Fatalf("UDP checksum %+v: 0 (none) became %#04x", c, binary.BigEndian.Uint16(copied[c.Off:]))
			}
			continue
		}
		if s0, s1 := checksumSum(orig, c)%0xffff, checksumSum(copied, c)%0xffff; s0 != s1 {
			t.Fatalf("checksum %+v: the original sums to %#04x, the copy to %#04x", c, s0, s1)
		}
	}
}

// summary is the part of a Packet the copy must share with the original.
type summary struct {
	IPVersion, Proto, TTL              uint8
	Fragment, InError, DF, HasTrans    bool
	FragOffset, TCPHdrLen, SACKBlocks  int
	IPID, SrcPort, DstPort, Flags, Win uint16
	Seq, Ack                           uint32
	WScale                             int8
	MSS                                uint16
	SACKPermitted, HasTS, OptTrunc     bool
	PayloadLen, Captured               int
}

func summarize(p *decode.Packet) summary {
	return summary{p.IPVersion, p.Proto, p.TTL, p.Fragment, p.InError, p.DF, p.HasTransport,
		p.FragOffset, p.TCPHdrLen, p.SACKBlocks, p.IPID, p.SrcPort, p.DstPort, p.Flags, p.Window,
		p.Seq, p.Ack, p.WScale, p.MSS, p.SACKPermitted, p.HasTS, p.OptionsTruncated,
		p.PayloadLen, len(p.Payload)}
}

func equalLayouts(a, b *decode.Layout) bool {
	return a.Payload == b.Payload && a.Overflow == b.Overflow &&
		equal(a.Headers(), b.Headers()) && equal(a.Fields(), b.Fields()) && equal(a.Checksums(), b.Checksums())
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checksumSum is the ones'-complement sum (folded to 16 bits) of the bytes
// checksum c covers in b, with its pseudo-header addresses: 0xffff (or
// 0) when c is valid over what was captured and there is no other
// pseudo-header term.
func checksumSum(b []byte, c decode.Checksum) uint32 {
	var acc uint64
	add := func(x []byte) {
		for len(x) >= 2 {
			acc += uint64(binary.BigEndian.Uint16(x))
			x = x[2:]
		}
		if len(x) == 1 {
			acc += uint64(x[0]) << 8
		}
	}
	add(b[c.Start:c.End])
	if c.AddrLen > 0 {
		add(b[c.Src : c.Src+c.AddrLen])
		add(b[c.Dst : c.Dst+c.AddrLen])
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint32(acc)
}

// BenchmarkRewrite measures the per-packet path (frame rewriting and
// block writing) over the frames of a sample.
func BenchmarkRewrite(b *testing.B) {
	root := testcaps.RepoRoot(b)
	src, err := capfile.Open(filepath.Join(root, "samples", "ctcp-proxy-stall.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	type fr struct {
		info capfile.FrameInfo
		data []byte
	}
	var frames []fr
	for src.Next() {
		frames = append(frames, fr{src.Info(), bytes.Clone(src.Data())})
	}
	src.Close()
	w := rewrite.NewWriter(discard{}, mapper, true)
	for _, f := range frames { // warm the mapper's cache and the buffers
		w.WritePacket(f.info, f.data)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		f := frames[i%len(frames)]
		w.WritePacket(f.info, f.data)
		i++
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
