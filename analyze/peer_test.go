package analyze_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// Tests of the per-direction fingerprints (Session.Peer, the duplicate
// ACK runs' SACK/TS/TTL/IPIDOutside and RequestedFrame) and of
// Session.Handshake, on captures built byte by byte.

// fpPkt is one TCP segment of a fingerprint test capture, with the IP
// header fields that tell its sender.
type fpPkt struct {
	fromHeadend bool
	seq, ack    uint32
	flags       uint16
	n           int // payload bytes
	ttl         uint8
	id          uint16
	df          bool
	opts        []byte // TCP options (padded with NOPs)
}

var (
	fpClient4  = [4]byte{10, 1, 0, 7}
	fpHeadend4 = [4]byte{203, 0, 113, 10}
	fpClient6  = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 7}
	fpHeadend6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 0x10}
)

const (
	fpClientPort  = 51000
	fpHeadendPort = 10000
)

// fpFrame builds the raw IP packet (LINKTYPE_RAW) of s: IPv4 with the
// segment's TTL, identification and DF, or IPv6 with its TTL as the hop
// limit.
func fpFrame(s fpPkt, v6 bool) []byte {
	opts := append([]byte(nil), s.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 1)
	}
	sp, dp := uint16(fpClientPort), uint16(fpHeadendPort)
	if s.fromHeadend {
		sp, dp = dp, sp
	}
	l4 := make([]byte, 20, 20+len(opts)+s.n)
	binary.BigEndian.PutUint16(l4[0:], sp)
	binary.BigEndian.PutUint16(l4[2:], dp)
	binary.BigEndian.PutUint32(l4[4:], s.seq)
	binary.BigEndian.PutUint32(l4[8:], s.ack)
	l4[12] = byte((20+len(opts))/4) << 4
	l4[13] = byte(s.flags)
	binary.BigEndian.PutUint16(l4[14:], 8192)
	l4 = append(l4, opts...)
	for i := range s.n {
		l4 = append(l4, byte(i))
	}
	if v6 {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
		h[6], h[7] = decode.ProtoTCP, s.ttl
		src, dst := fpClient6, fpHeadend6
		if s.fromHeadend {
			src, dst = dst, src
		}
		copy(h[8:], src[:])
		copy(h[24:], dst[:])
		return append(h, l4...)
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(h[4:], s.id)
	if s.df {
		h[6] = 0x40
	}
	h[8], h[9] = s.ttl, decode.ProtoTCP
	src, dst := fpClient4, fpHeadend4
	if s.fromHeadend {
		src, dst = dst, src
	}
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return append(h, l4...)
}

// fpTime is the time of frame n (1-based) of a fingerprint test capture:
// one millisecond apart.
func fpTime(n uint64) int64 { return int64(1_700_000_000)*1e9 + int64(n)*1e6 }

// fpCapture writes pkts as a little-endian microsecond pcap file of raw
// IP packets and analyzes it.
func fpCapture(t *testing.T, pkts []fpPkt, v6 bool) *analyze.Capture {
	t.Helper()
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101) // LINKTYPE_RAW
	for i, s := range pkts {
		data := fpFrame(s, v6)
		ts := fpTime(uint64(i + 1))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts%1e9/1e3))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
	}
	c, err := analyze.Reader(bytes.NewReader(b), "peer.pcap", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(c.Sessions))
	}
	checkPeer(t, c.Sessions[0])
	return c
}

// TCP options of the test segments.
var (
	// Windows SYN: MSS 1460, window scale 2, SACK permitted.
	fpSynWindows = []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 2, 1, 1, 4, 2}
	// ASA SYN-ACK: MSS 1380 only.
	fpSynASA = []byte{2, 4, 0x05, 0x64}
	// Linux SYN: MSS 1460, SACK permitted, timestamps, window scale 7.
	fpSynLinux = []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}
)

// fpTS is a timestamp option.
func fpTS(val uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{1, 1, 8, 10}, val), 0)
}

// fpSACK is a SACK option with one block.
func fpSACK(left, right uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{1, 1, 5, 10}, left), right)
}

const (
	fpA  = decode.FlagACK
	fpPA = decode.FlagPSH | decode.FlagACK
	fpS  = decode.FlagSYN
	fpSA = decode.FlagSYN | decode.FlagACK
)

// proxyConversation is a client-side capture of a Windows client
// (TTL 128, DF, IP-ID from 0x1000, no timestamps) talking to a headend
// behind an ASA (TTL 240, no DF, IP-ID counting up through 0xffff to 0)
// while a TCP proxy in between (TTL 63, DF, its own IP-IDs, timestamps
// and SACK) answers a lost client segment with three duplicate ACKs in
// the headend's name. The client's sequence numbers wrap. Frame by frame:
//
//	1 C SYN                      9 P dup ACK #1 (SACK, TS)    (ID 0x3333)
//	2 H SYN-ACK                 10 C data
//	3 C ACK (handshake)         11 P dup ACK #2 (SACK, TS)    (ID 0x3334)
//	4 H data                    12 C data
//	5 C data                    13 P dup ACK #3, DF + ID 0    (says nothing)
//	6 H ACK                     14 H data                     (ID 0: continues)
//	7 C data (lost beyond)      15 C ACK                      (continues)
//	8 C data                    16 ? dup ACK in the client's name (ID 0x9999, no DF)
func proxyConversation() []fpPkt {
	var cI, hI uint32 = 0xffffffa0, 7000 // variables: the sums wrap
	c := func(seq, ack uint32, fl uint16, n int, id uint16, opts []byte) fpPkt {
		return fpPkt{false, seq, ack, fl, n, 128, id, true, opts}
	}
	h := func(seq, ack uint32, fl uint16, n int, id uint16, opts []byte) fpPkt {
		return fpPkt{true, seq, ack, fl, n, 240, id, false, opts}
	}
	proxy := func(id uint16, right uint32) fpPkt {
		return fpPkt{true, hI + 61, cI + 101, fpA, 0, 63, id, true, append(fpTS(900+right), fpSACK(cI+201, cI+right)...)}
	}
	p13 := proxy(0, 501)
	return []fpPkt{
		c(cI, 0, fpS, 0, 0x1000, fpSynWindows),
		h(hI, cI+1, fpSA, 0, 0xfffd, fpSynASA),
		c(cI+1, hI+1, fpA, 0, 0x1001, nil),
		h(hI+1, cI+1, fpPA, 60, 0xfffe, nil),
		c(cI+1, hI+61, fpPA, 100, 0x1002, nil),
		h(hI+61, cI+101, fpA, 0, 0xffff, nil),
		c(cI+101, hI+61, fpPA, 100, 0x1003, nil),
		c(cI+201, hI+61, fpPA, 100, 0x1004, nil),
		proxy(0x3333, 301),
		c(cI+301, hI+61, fpPA, 100, 0x1005, nil),
		proxy(0x3334, 401),
		c(cI+401, hI+61, fpPA, 100, 0x1006, nil),
		p13,
		h(hI+61, cI+101, fpPA, 60, 0x0000, nil),
		c(cI+501, hI+121, fpA, 0, 0x1007, nil),
		{false, cI + 501, hI + 121, fpA, 0, 128, 0x9999, false, nil},
	}
}

// TestPeerFingerprints analyzes proxyConversation over IPv4 and IPv6,
// with and without its SYN (without it the capture starts with the
// SYN-ACK, so the client is the flow's second endpoint and orient swaps
// the directions), and checks every fingerprint field.
func TestPeerFingerprints(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, withSYN := range []bool{true, false} {
			name := map[bool]string{false: "ipv4", true: "ipv6"}[v6]
			if !withSYN {
				name += " without SYN"
			}
			t.Run(name, func(t *testing.T) {
				pkts := proxyConversation()
				f := func(n uint64) uint64 { return n } // frame number in the capture
				if !withSYN {
					pkts = pkts[1:]
					f = func(n uint64) uint64 { return n - 1 }
				}
				c := fpCapture(t, pkts, v6)
				s := c.Sessions[0]
				if s.Client.Port() != fpClientPort || s.ClientBy != "syn" {
					t.Fatalf("client %v by %s", s.Client, s.ClientBy)
				}
				v4 := func(n uint64) uint64 { // IPv4-only counts
					if v6 {
						return 0
					}
					return n
				}
				v4f := func(n uint64) uint64 {
					if v6 {
						return 0
					}
					return f(n)
				}
				client := analyze.PeerStats{
					DataTTL: analyze.TTLRange{Min: 128, Max: 128, N: 5}, AckTTL: analyze.TTLRange{Min: 128, Max: 128, N: 3},
					DupAckTTL: analyze.TTLRange{Min: 128, Max: 128, N: 1},
					SYNTTL:    128, SYNMSS: 1460, SYNSACKPerm: true, SYNWScale: 2,
					DataNoTS: 5, AckNoTS: 3,
					IPIDData: v4(4), IPIDAckOutside: v4(1), IPIDAckOutsideFrame: v4f(16),
					DF: v4(8), NoDF: v4(1),
				}
				if !withSYN {
					client.SYNTTL, client.SYNMSS, client.SYNSACKPerm, client.SYNWScale = 0, 0, false, -1
					client.DF = v4(7)
				}
				headend := analyze.PeerStats{
					DataTTL: analyze.TTLRange{Min: 240, Max: 240, N: 2}, AckTTL: analyze.TTLRange{Min: 63, Max: 240, N: 4},
					DupAckTTL: analyze.TTLRange{Min: 63, Max: 63, N: 3},
					SYNTTL:    240, SYNMSS: 1380, SYNWScale: -1,
					DataNoTS: 2, AckTS: 3, AckNoTS: 1,
					SACKAcks: 3, SACKFrame: f(9),
					IPIDData: v4(1), IPIDAckOutside: v4(2), IPIDAckOutsideFrame: v4f(9),
					DF: v4(3), NoDF: v4(4),
				}
				if diff := cmp.Diff(client, s.Peer[analyze.ClientToHeadend]); diff != "" {
					t.Errorf("client->headend (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(headend, s.Peer[analyze.HeadendToClient]); diff != "" {
					t.Errorf("headend->client (-want +got):\n%s", diff)
				}

				if len(s.Requests) != 2 {
					t.Fatalf("%d runs, want 2: %+v", len(s.Requests), s.Requests)
				}
				r := s.Requests[0]
				if r.By != analyze.HeadendToClient || r.Ack != 101 || r.Count != 3 || r.Frames[0] != f(9) {
					t.Errorf("run 0: by %v ack %d count %d frames %v", r.By, r.Ack, r.Count, r.Frames)
				}
				if r.RequestedFrame != f(7) || r.SACK != 3 || r.TS != 3 || r.TTL != (analyze.TTLRange{Min: 63, Max: 63, N: 3}) || r.IPIDOutside != int(v4(2)) {
					t.Errorf("run 0: requested frame %d, SACK %d, TS %d, TTL %+v, IP-ID outside %d; want %d, 3, 3, 63-63 x3, %d",
						r.RequestedFrame, r.SACK, r.TS, r.TTL, r.IPIDOutside, f(7), v4(2))
				}
				r = s.Requests[1]
				if r.By != analyze.ClientToHeadend || r.Count != 1 || r.Frames[0] != f(16) || !r.NothingOutstanding {
					t.Errorf("run 1: by %v count %d frames %v nothing outstanding %v", r.By, r.Count, r.Frames, r.NothingOutstanding)
				}
				if r.RequestedFrame != 0 || r.SACK != 0 || r.TS != 0 || r.TTL != (analyze.TTLRange{Min: 128, Max: 128, N: 1}) || r.IPIDOutside != int(v4(1)) {
					t.Errorf("run 1: requested frame %d, SACK %d, TS %d, TTL %+v, IP-ID outside %d; want 0, 0, 0, 128-128 x1, %d",
						r.RequestedFrame, r.SACK, r.TS, r.TTL, r.IPIDOutside, v4(1))
				}

				want := analyze.Handshake{SYNFrame: 1, SYNACKFrame: 2, ACKFrame: 3, SYNTime: fpTime(1), SYNACKTime: fpTime(2), ACKTime: fpTime(3)}
				if !withSYN {
					want = analyze.Handshake{SYNACKFrame: 1, ACKFrame: 2, SYNACKTime: fpTime(1), ACKTime: fpTime(2)}
				}
				if s.Handshake != want {
					t.Errorf("handshake %+v, want %+v", s.Handshake, want)
				}
			})
		}
	}
}

// TestHandshakeFrames checks Session.Handshake on handshakes that went
// wrong in the ways captures show.
func TestHandshakeFrames(t *testing.T) {
	const cI, hI = 100, 900
	syn := fpPkt{false, cI, 0, fpS, 0, 64, 1, true, fpSynLinux}
	synAck := fpPkt{true, hI, cI + 1, fpSA, 0, 250, 1, false, fpSynASA}
	ack := fpPkt{false, cI + 1, hI + 1, fpA, 0, 64, 2, true, nil}
	data := fpPkt{false, cI + 1, hI + 1, fpPA, 52, 64, 2, true, nil}
	hdata := fpPkt{true, hI + 1, cI + 1, fpPA, 52, 250, 2, false, nil}
	hack := fpPkt{true, hI + 1, cI + 1, fpA, 0, 250, 2, false, nil}
	tests := []struct {
		name string
		pkts []fpPkt
		want [3]uint64 // SYN, SYN-ACK and ACK frames
	}{
		{"plain", []fpPkt{syn, synAck, ack, data}, [3]uint64{1, 2, 3}},
		{"SYN sent twice: the one answered", []fpPkt{syn, syn, synAck, ack}, [3]uint64{2, 3, 4}},
		{"SYN-ACK sent twice: the one acknowledged", []fpPkt{syn, synAck, synAck, ack}, [3]uint64{1, 3, 4}},
		{"SYN-ACK lost beyond the capture point, both sent again", []fpPkt{syn, synAck, syn, synAck, ack}, [3]uint64{3, 4, 5}},
		{"SYN sent again, no SYN-ACK to it", []fpPkt{syn, synAck, syn, ack}, [3]uint64{3, 0, 0}},
		{"SYN-ACK without SYN sent twice", []fpPkt{synAck, synAck, ack}, [3]uint64{0, 2, 3}},
		{"RST instead of the ACK", []fpPkt{syn, synAck, {false, cI + 1, hI + 1, fpA | decode.FlagRST, 0, 64, 2, true, nil}, ack}, [3]uint64{1, 2, 4}},
		{"data on the client's first ACK", []fpPkt{syn, synAck, data, ack}, [3]uint64{1, 2, 3}},
		{"the headend's packets are not the client's ACK", []fpPkt{syn, synAck, hdata, hack, ack}, [3]uint64{1, 2, 5}},
		{"no SYN-ACK, no handshake ACK", []fpPkt{syn, ack, data}, [3]uint64{1, 0, 0}},
		{"no SYN", []fpPkt{synAck, ack}, [3]uint64{0, 1, 2}},
		{"nothing but data", []fpPkt{data, hdata}, [3]uint64{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fpCapture(t, tt.pkts, false).Sessions[0]
			hs := s.Handshake
			if got := [3]uint64{hs.SYNFrame, hs.SYNACKFrame, hs.ACKFrame}; got != tt.want {
				t.Errorf("handshake frames %v, want %v", got, tt.want)
			}
			for i, tm := range []int64{hs.SYNTime, hs.SYNACKTime, hs.ACKTime} {
				want := int64(0)
				if tt.want[i] != 0 {
					want = fpTime(tt.want[i])
				}
				if tm != want {
					t.Errorf("handshake time %d is %d, want %d (frame %d)", i, tm, want, tt.want[i])
				}
			}
			if tt.want[0] != 0 {
				p := s.Peer[analyze.ClientToHeadend]
				if !p.SYNTS || !p.SYNSACKPerm || p.SYNMSS != 1460 || p.SYNWScale != 7 || p.SYNTTL != 64 {
					t.Errorf("client SYN options: %+v", p)
				}
			}
		})
	}
}

// TestRequestedFrameRing checks the limit of RequestedFrame: the
// requested byte (here in the middle of a segment) is found among the
// data sender's last 64 data segments before the duplicate ACK, not
// beyond; SeenBefore still says the capture saw it.
func TestRequestedFrameRing(t *testing.T) {
	var cI, hI uint32 = 5000, 0xfffffff0 // the headend's numbers wrap
	for _, tt := range []struct {
		after int    // data segments sent after the requested one
		want  uint64 // RequestedFrame
	}{{0, 4}, {63, 4}, {64, 0}} {
		pkts := []fpPkt{
			{false, cI, 0, fpS, 0, 64, 0, true, nil},
			{true, hI, cI + 1, fpSA, 0, 64, 0, true, nil},
			{false, cI + 1, hI + 1, fpA, 0, 64, 0, true, nil},
		}
		seg := func(i int) fpPkt { return fpPkt{true, hI + 1 + uint32(10*i), cI + 1, fpPA, 10, 64, 0, true, nil} }
		pkts = append(pkts, seg(0)) // frame 4: bytes 1-10
		// The client acknowledges 5 of its 10 bytes (a proxy re-segmented
		// them), then asks for the sixth.
		pkts = append(pkts, fpPkt{false, cI + 1, hI + 6, fpA, 0, 64, 0, true, nil})
		for i := 1; i <= tt.after; i++ {
			pkts = append(pkts, seg(i))
		}
		pkts = append(pkts, fpPkt{false, cI + 1, hI + 6, fpA, 0, 64, 0, true, nil},
			fpPkt{false, cI + 1, hI + 6, fpA, 0, 64, 0, true, nil})
		s := fpCapture(t, pkts, false).Sessions[0]
		if len(s.Requests) != 1 {
			t.Fatalf("%d after: %d runs", tt.after, len(s.Requests))
		}
		r := s.Requests[0]
		if r.Ack != 6 || r.Count != 2 || r.RequestedFrame != tt.want || !r.SeenBefore {
			t.Errorf("%d segments after: ack %d count %d requested frame %d seen before %v; want 6, 2, %d",
				tt.after, r.Ack, r.Count, r.RequestedFrame, r.SeenBefore, tt.want)
		}
	}
}

// checkPeer checks the invariants that tie a session's fingerprints
// together and to the rest of the session; FuzzAnalyze runs it on every
// session.
func checkPeer(t *testing.T, s *analyze.Session) {
	t.Helper()
	inSession := func(f uint64) bool { return f == 0 || f >= s.FirstFrame && f <= s.LastFrame }
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		p := &s.Peer[d]
		for _, r := range []analyze.TTLRange{p.DataTTL, p.AckTTL, p.DupAckTTL} {
			if r.N == 0 && (r.Min != 0 || r.Max != 0) || r.Min > r.Max {
				t.Fatalf("session %d %s: TTL range %+v", s.ID, d.Side(), r)
			}
		}
		if p.DataTTL.N != p.DataTS+p.DataNoTS || p.AckTTL.N != p.AckTS+p.AckNoTS || p.DupAckTTL.N > p.AckTTL.N ||
			p.DataTTL.N > s.Dirs[d].DataSegments || p.DF+p.NoDF > s.Dirs[d].Packets {
			t.Fatalf("session %d %s: counts do not add up: %+v (%d packets, %d data segments)", s.ID, d.Side(), p, s.Dirs[d].Packets, s.Dirs[d].DataSegments)
		}
		if p.IPIDData > max(p.DataTTL.N, 1)-1 || p.IPIDAckOutside > p.AckTTL.N ||
			(p.IPIDAckOutside == 0) != (p.IPIDAckOutsideFrame == 0) || (p.SACKAcks == 0) != (p.SACKFrame == 0) ||
			!inSession(p.IPIDAckOutsideFrame) || !inSession(p.SACKFrame) {
			t.Fatalf("session %d %s: IP-ID or SACK facts inconsistent: %+v", s.ID, d.Side(), p)
		}
		if p.SYNTTL == 0 && s.Proto == 6 && s.Dirs[d].SYNFrame == 0 && (p.SYNMSS != 0 || p.SYNWScale != -1 || p.SYNTS || p.SYNSACKPerm) {
			t.Fatalf("session %d %s: SYN options without a SYN: %+v", s.ID, d.Side(), p)
		}
	}
	var dups [2]uint64
	for _, r := range s.Requests {
		dups[r.By] += uint64(r.Count)
		if r.TTL.N != uint64(r.Count) || r.SACK > r.Count || r.TS > r.Count || r.IPIDOutside > r.Count {
			t.Fatalf("session %d run at frame %d: %d dup ACKs, TTL %+v, SACK %d, TS %d, IP-ID outside %d",
				s.ID, r.Frames[0], r.Count, r.TTL, r.SACK, r.TS, r.IPIDOutside)
		}
		if r.RequestedFrame != 0 && (r.RequestedFrame >= r.Frames[0] || !inSession(r.RequestedFrame)) {
			t.Fatalf("session %d run at frame %d: requested frame %d", s.ID, r.Frames[0], r.RequestedFrame)
		}
	}
	if s.RequestsDropped == 0 && (dups[0] != s.Peer[0].DupAckTTL.N || dups[1] != s.Peer[1].DupAckTTL.N) {
		t.Fatalf("session %d: %v dup ACKs in runs, %d and %d in the fingerprints", s.ID, dups, s.Peer[0].DupAckTTL.N, s.Peer[1].DupAckTTL.N)
	}
	h := s.Handshake
	if h.ACKFrame != 0 && (h.SYNACKFrame == 0 || h.ACKFrame <= h.SYNACKFrame) || h.SYNFrame != 0 && h.SYNACKFrame != 0 && h.SYNACKFrame <= h.SYNFrame ||
		!inSession(h.SYNFrame) || !inSession(h.SYNACKFrame) || !inSession(h.ACKFrame) {
		t.Fatalf("session %d: handshake %+v", s.ID, h)
	}
	if h.SYNFrame != 0 && h.SYNFrame != s.Dirs[analyze.ClientToHeadend].SYNFrame && s.Dirs[analyze.ClientToHeadend].SYNFrame > h.SYNFrame {
		t.Fatalf("session %d: handshake SYN %d, the client's first SYN %d", s.ID, h.SYNFrame, s.Dirs[analyze.ClientToHeadend].SYNFrame)
	}
}

// TestProxyStallFingerprint checks the fingerprints of the committed
// proxy-stall sample against tshark's view of it: the segment at the
// requested relative sequence number 6024 is frame 116, the handshake is
// frames 8-10, and the duplicate ACKs (frames 132-134) carry the headend's
// TTL 242 and continue its IP-ID series (the sample's generator sends them
// from the headend's own stack: nothing tells them apart here).
func TestProxyStallFingerprint(t *testing.T) {
	c := sample(t, "ctcp-proxy-stall.pcap", analyze.Options{})
	s := sessionOf(t, c, analyze.TransportCTCP)
	checkPeer(t, s)
	if len(s.Requests) != 1 {
		t.Fatalf("%d runs", len(s.Requests))
	}
	r := s.Requests[0]
	if r.RequestedFrame != 116 || r.TTL != (analyze.TTLRange{Min: 242, Max: 242, N: 3}) || r.IPIDOutside != 0 || r.SACK != 0 || r.TS != 0 {
		t.Errorf("run: requested frame %d, TTL %+v, IP-ID outside %d, SACK %d, TS %d; want 116, 242 x3, 0, 0, 0",
			r.RequestedFrame, r.TTL, r.IPIDOutside, r.SACK, r.TS)
	}
	h := s.Handshake
	if h.SYNFrame != 8 || h.SYNACKFrame != 9 || h.ACKFrame != 10 {
		t.Errorf("handshake frames %d %d %d, want 8 9 10", h.SYNFrame, h.SYNACKFrame, h.ACKFrame)
	}
	cl, he := s.Peer[analyze.ClientToHeadend], s.Peer[analyze.HeadendToClient]
	if cl.SYNTTL != 128 || cl.DataTTL.Min != 128 || cl.DataTTL.Max != 128 || cl.NoDF != 0 || cl.IPIDData+1 != cl.DataTTL.N {
		t.Errorf("client: %+v", cl)
	}
	if he.SYNTTL != 242 || he.DataTTL.Min != 242 || he.DataTTL.Max != 242 || he.DF != 0 || he.IPIDAckOutside != 0 || he.SYNMSS != 1380 || he.SYNWScale != -1 {
		t.Errorf("headend: %+v", he)
	}
}
