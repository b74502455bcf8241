package analyze

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// fuzzRecord is one segment (or datagram) of a FuzzClassify input.
type fuzzRecord struct {
	dir     Dir
	payload []byte // captured payload bytes
	seglen  int    // payload length on the wire
}

// Control bits of a FuzzClassify record header.
const (
	recDir     = 1 << 0 // sent B -> A
	recCut     = 1 << 1 // the snaplen cut the payload: seglen is larger than the captured bytes
	recNoBytes = 1 << 2 // no payload byte captured at all
)

// parseRecords splits a FuzzClassify input into records: a control byte,
// a 2-byte big-endian length, then that many payload bytes (fewer at the
// end of the input).
func parseRecords(data []byte) []fuzzRecord {
	var recs []fuzzRecord
	for len(data) >= 3 {
		c := data[0]
		n := int(data[1])<<8 | int(data[2])
		data = data[3:]
		if n > len(data) {
			n = len(data)
		}
		r := fuzzRecord{dir: Dir(c & recDir), payload: data[:n], seglen: n}
		data = data[n:]
		if c&recCut != 0 {
			r.seglen += 1 + int(c>>3)
		}
		if c&recNoBytes != 0 {
			r.payload = nil
		}
		recs = append(recs, r)
	}
	return recs
}

// appendRecord encodes one record the way parseRecords reads it.
func appendRecord(b []byte, c byte, payload []byte) []byte {
	b = append(b, c, byte(len(payload)>>8), byte(len(payload)))
	return append(b, payload...)
}

// ctcpSegment returns an ESP packet carried in cTCP: the ESP header, a
// body of n bytes and Cisco's 16-byte trailer.
func ctcpSegment(spi, seq uint32, n int) []byte {
	b := []byte{byte(spi >> 24), byte(spi >> 16), byte(spi >> 8), byte(spi), byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
	b = append(b, bytes.Repeat([]byte{0xa5}, n)...)
	trailer := make([]byte, decode.CTCPTrailerLen)
	trailer[13] = 50
	return append(b, trailer...)
}

// refCTCPTrailer restates the cTCP trailer rule from its description in
// domain terms, independently of decode.IsCTCPTrailer's code.
func refCTCPTrailer(b []byte) bool {
	if len(b) < decode.CTCPTrailerLen+9 {
		return false
	}
	t := b[len(b)-decode.CTCPTrailerLen:]
	return bytes.Equal(t[:4], []byte{0, 0, 0, 0}) && t[6]&0x0f == 0 && t[7] == 0 && (t[13] == 17 || t[13] == 50)
}

// FuzzClassify feeds arbitrary segment payloads through the content
// recognisers (cTCP trailer, UDP 500 IKE header, ESP header continuity,
// IKETCP prefix, TLS and DTLS records) on a TCP flow and on a UDP flow,
// then decides and orients both. Properties: no panic, the evidence
// counters are consistent with each other and with the number of
// segments, and the decision is backed by its evidence.
func FuzzClassify(f *testing.F) {
	var seed []byte
	for i := range 10 {
		seed = appendRecord(seed, byte(i&1), ctcpSegment(0x1234, uint32(i/2+1), 40))
	}
	f.Add(seed, uint32(10000)<<16|51000)
	var ike []byte
	ike = appendRecord(ike, 0, append([]byte{0x01, 0xf4, 0x01, 0xf4, 0, 40, 0, 0}, make([]byte, 32)...))
	ike = appendRecord(ike, recCut|8<<3, ctcpSegment(7, 1, 2)[:10])
	ike = appendRecord(ike, recCut, ctcpSegment(7, 2, 2)[:10])
	ike = appendRecord(ike, recCut, ctcpSegment(7, 3, 2)[:10])
	ike = appendRecord(ike, recNoBytes, make([]byte, 30))
	f.Add(ike, uint32(8000)<<16|4500)
	f.Add(appendRecord(appendRecord(nil, 0, []byte("IKETCP\x00\x00\x00\x00")), 1, []byte{0x16, 0x03, 0x01, 0, 5}), uint32(443)<<16|443)
	f.Add(appendRecord(appendRecord(nil, 0, []byte{0xff}), 1, []byte{0x17, 0xfe, 0xfd, 0, 0, 0, 0, 0}), uint32(4500)<<16|443)
	f.Add(appendRecord(nil, 0, []byte{0, 0, 0, 0, 1, 2, 3, 4}), uint32(500)<<16|10000)
	// The first payloads of the samples, each in one input of a few KB.
	paths, _ := filepath.Glob(filepath.Join(testcaps.RepoRoot(f), "samples", "*.pcap*"))
	d := decode.NewDecoder()
	for _, path := range paths {
		src, err := capfile.Open(path)
		if err != nil {
			continue
		}
		var in []byte
		var first netip.AddrPort
		var ports uint32
		var p decode.Packet
		for src.Next() && len(in) < 1<<10 {
			info := src.Info()
			p = decode.Packet{Frame: info.Frame, CapLen: info.CapLen, OrigLen: info.OrigLen}
			if d.Decode(src.Data(), info.LinkType, &p) != nil || !p.HasTransport || p.PayloadLen <= 0 {
				continue
			}
			if !first.IsValid() {
				first = p.SrcAddrPort()
				ports = uint32(p.DstPort)<<16 | uint32(p.SrcPort)
			}
			var c byte
			if p.SrcAddrPort() != first {
				c |= recDir
			}
			b := p.Payload
			if len(b) > 128 {
				b = b[:128]
			}
			if len(b) < p.PayloadLen {
				c |= recCut
			}
			in = appendRecord(in, c, b)
		}
		src.Close()
		if len(in) > 0 {
			f.Add(in, ports)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte, ports uint32) {
		recs := parseRecords(data)
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), uint16(ports))
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), uint16(ports>>16))
		tr := newTracker(Options{Ports: []uint16{uint16(ports >> 16)}})

		// TCP flow.
		tf := &flow{sess: &Session{Proto: decode.ProtoTCP}, a: a, b: b, tcp: &tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}}}
		tf.cls.init()
		var segs [2]int
		var next [2]uint32 // each direction's records follow each other in its byte stream
		var nbytes [2]uint64
		for i, r := range recs {
			p := tcpPacket(uint64(i+1), a, b, r)
			p.Seq = next[r.dir]
			next[r.dir] += uint32(r.seglen)
			segs[r.dir]++
			nbytes[r.dir] += uint64(r.seglen)
			tf.cls.observeTCP(tf, &p, r.dir, uint32(r.seglen))
		}
		fc, s := &tf.cls, tf.sess
		for d := range 2 {
			if fc.inspected[d] > classifyLimit || fc.inspected[d] > segs[d] {
				t.Fatalf("inspected %d of %d segments in direction %d", fc.inspected[d], segs[d], d)
			}
			// Framed messages are at least minBody+16 bytes long; a
			// segment adds at most one ESP packet besides them (a
			// message cut by a hole).
			checkESP(t, &s.ESP[d], nbytes[d]/(minBody+trailerLen)+uint64(segs[d]))
			checkFraming(t, &s.Framing[d], segs[d], nbytes[d])
			if s.IKEPackets[d] != s.Framing[d].IKEMessages {
				t.Fatalf("direction %d: %d IKE packets, %d IKE messages framed", d, s.IKEPackets[d], s.Framing[d].IKEMessages)
			}
		}
		inspected := fc.inspected[0] + fc.inspected[1]
		if fc.trailer > fc.full || fc.full+fc.noBytes > inspected {
			t.Fatalf("trailer %d, full %d, no bytes %d, inspected %d", fc.trailer, fc.full, fc.noBytes, inspected)
		}
		if fc.espHdr+fc.ikeHdr > len(recs) {
			t.Fatalf("ESP continuations %d, IKE headers %d in %d segments", fc.espHdr, fc.ikeHdr, len(recs))
		}
		if uint64(fc.framedBytes) > nbytes[0]+nbytes[1] || fc.framedMsgs*(minBody+trailerLen) > fc.framedBytes {
			t.Fatalf("%d messages, %d bytes framed in %d bytes", fc.framedMsgs, fc.framedBytes, nbytes[0]+nbytes[1])
		}
		if fc.iketcp && !(len(recs) > 0 && bytes.HasPrefix(firstPayload(recs), iketcpPrefix)) {
			t.Fatal("IKETCP without the prefix on a direction's first segment")
		}
		fc.decide(tr, tf)
		switch s.Transport {
		case TransportCTCP:
			if s.TransportSure && (fc.trailer == 0 || fc.trailer*10 < fc.full*8) && (fc.framedMsgs < 3 || fc.framedBytes*10 < fc.fullBytes*8) {
				t.Fatalf("sure cTCP with %d trailers in %d full segments, %d messages framed in %d bytes of %d", fc.trailer, fc.full, fc.framedMsgs, fc.framedBytes, fc.fullBytes)
			}
			if !s.TransportSure && fc.espHdr+fc.ikeHdr < 3 && fc.noBytes == 0 {
				t.Fatalf("guessed cTCP without evidence: %+v", *fc)
			}
		case TransportIKETCP, TransportTCP:
			if s.ESP[0].Packets+s.ESP[1].Packets > 0 || s.Framing != [2]Framing{} || s.IKEPackets != [2]uint64{} {
				t.Fatalf("%s flow keeps cTCP facts: ESP %+v framing %+v", s.Transport, s.ESP, s.Framing)
			}
		default:
			t.Fatalf("TCP flow classified %q", s.Transport)
		}
		if s.Transport.IsVPN() && s.TransportWhy == "" {
			t.Fatalf("transport %q without a reason", s.Transport)
		}
		tr.orient(tf)
		checkOriented(t, s, a, b)

		// UDP flow over the same records.
		uf := &flow{sess: &Session{Proto: decode.ProtoUDP}, a: a, b: b}
		uf.cls.init()
		segs = [2]int{}
		for i, r := range recs {
			p := tcpPacket(uint64(i+1), a, b, r)
			p.Proto = decode.ProtoUDP
			segs[r.dir]++
			uf.cls.observeUDP(uf, &p, r.dir)
		}
		us := uf.sess
		for d := range 2 {
			checkESP(t, &us.ESP[d], uint64(segs[d]))
			if n := us.ESP[d].Packets + us.IKEPackets[d] + us.Keepalives[d]; n > uint64(segs[d]) {
				t.Fatalf("direction %d: %d ESP + IKE + keepalives from %d datagrams", d, n, segs[d])
			}
		}
		if uf.cls.dtls > len(recs) {
			t.Fatalf("%d DTLS records in %d datagrams", uf.cls.dtls, len(recs))
		}
		uf.cls.decide(tr, uf)
		if us.Transport == TransportDTLS && uf.cls.dtls == 0 || us.Transport.IsVPN() && !us.TransportSure {
			t.Fatalf("UDP flow %q (sure %v) with %d DTLS records", us.Transport, us.TransportSure, uf.cls.dtls)
		}
		tr.orient(uf)
		checkOriented(t, us, a, b)

		// The trailer rule on every record, against its restatement.
		for _, r := range recs {
			if got, want := decode.IsCTCPTrailer(r.payload), refCTCPTrailer(r.payload); got != want {
				t.Fatalf("decode.IsCTCPTrailer(%x) = %v, want %v", r.payload, got, want)
			}
			if decode.IsIKEinUDP500(r.payload) != bytes.HasPrefix(r.payload, []byte{1, 0xf4, 1, 0xf4}) {
				t.Fatalf("decode.IsIKEinUDP500(%x) wrong", r.payload)
			}
		}
	})
}

// tcpPacket builds the decoded view of record r of a flow between a and b.
func tcpPacket(frame uint64, a, b netip.AddrPort, r fuzzRecord) decode.Packet {
	src, dst := a, b
	if r.dir == 1 {
		src, dst = b, a
	}
	return decode.Packet{
		Frame: frame, Time: int64(frame) * 1e6, IPVersion: 4,
		Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(),
		Proto: decode.ProtoTCP, HasTransport: true, Flags: decode.FlagACK,
		PayloadLen: r.seglen, Payload: r.payload,
	}
}

// firstPayload returns the payload of the first record of either direction
// that starts with the IKETCP prefix, or nil.
func firstPayload(recs []fuzzRecord) []byte {
	var seen [2]bool
	for _, r := range recs {
		if !seen[r.dir] {
			seen[r.dir] = true
			if bytes.HasPrefix(r.payload, iketcpPrefix) {
				return r.payload
			}
		}
	}
	return nil
}

// checkESP checks the consistency of one direction's ESP facts gathered
// from at most n packets.
func checkESP(t *testing.T, e *ESPStats, n uint64) {
	t.Helper()
	if e.Packets > n || uint64(e.SPIs) > e.Packets || e.Packets > 0 && e.SPIs == 0 {
		t.Fatalf("ESP %d packets, %d SPIs, at most %d packets", e.Packets, e.SPIs, n)
	}
	if len(e.GapFrames) > MaxRunFrames || len(e.RepeatFrames) > MaxRunFrames || uint64(len(e.RepeatFrames)) > e.Repeats {
		t.Fatalf("ESP %d gap frames, %d repeat frames for %d repeats", len(e.GapFrames), len(e.RepeatFrames), e.Repeats)
	}
	if e.Late > e.Packets || e.Late+e.Repeats > e.Packets {
		t.Fatalf("ESP %d late, %d repeats in %d packets", e.Late, e.Repeats, e.Packets)
	}
	if e.SeqGaps+e.Repeats > e.Packets-uint64(e.SPIs) {
		t.Fatalf("ESP %d gaps + %d repeats in %d packets of %d SPIs", e.SeqGaps, e.Repeats, e.Packets, e.SPIs)
	}
	if e.SeqMissing < e.SeqGaps {
		t.Fatalf("ESP %d gaps but %d missing", e.SeqGaps, e.SeqMissing)
	}
}

// checkOriented checks that orient chose a client and headend among the
// flow's endpoints and said why.
func checkOriented(t *testing.T, s *Session, a, b netip.AddrPort) {
	t.Helper()
	if !(s.Client == a && s.Headend == b || s.Client == b && s.Headend == a) || s.ClientBy == "" {
		t.Fatalf("client %v headend %v (by %q) for flow %v-%v", s.Client, s.Headend, s.ClientBy, a, b)
	}
}

// checkFraming checks the consistency of one direction's framing facts
// gathered from segs segments holding n bytes.
func checkFraming(t *testing.T, f *Framing, segs int, n uint64) {
	t.Helper()
	if f.ESPMessages+f.IKEMessages > f.Messages || f.Messages > n/(minBody+trailerLen)+uint64(segs) {
		t.Fatalf("framing %+v: more messages than %d segments of %d bytes hold", *f, segs, n)
	}
	if f.Coalesced > uint64(segs) || f.UnframedSegments > uint64(segs) || f.Truncated > f.UnframedSegments || f.UnframedBytes > n || f.Split > f.Messages {
		t.Fatalf("framing %+v from %d segments of %d bytes", *f, segs, n)
	}
	if (f.Coalesced > 0) != (f.CoalescedFrame > 0) || (f.Split > 0) != (f.SplitFrame > 0) || (f.UnframedSegments > 0) != (f.UnframedFrame > 0) {
		t.Fatalf("framing %+v: counts and frames disagree", *f)
	}
}
