package rewrite

import (
	"bytes"
	"encoding/binary"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// flow returns the direction of the frame's TCP flow (the decoded
// packet's addresses and ports, as sent).
func (f *frame) flow() flowDir {
	k := flowDir{sport: f.p.SrcPort, dport: f.p.DstPort}
	if f.p.Src.Is4() {
		s, d := f.p.Src.As4(), f.p.Dst.As4()
		copy(k.src[:], s[:])
		copy(k.dst[:], d[:])
	} else {
		k.src, k.dst = f.p.Src.As16(), f.p.Dst.As16()
	}
	return k
}

var iketcpPrefix = []byte("IKETCP")

// tcpPayload keeps what the analysis reads of a TCP segment's data: the
// RFC 8229 "IKETCP" prefix; a TLS record header (5 bytes); for a segment
// that ends in Cisco's cTCP trailer, or whose end the snaplen cut off (so
// that the analysis may recognise cTCP by its ESP headers), the first 8
// bytes (ESP SPI and sequence number, or the UDP 500 header, then the
// 28-byte IKE header when it is IKE) and the 16-byte trailer.
func (f *frame) tcpPayload(off, end, plen int) {
	b := f.in[off:end]
	k := f.flow()
	full := len(b) == plen
	switch {
	case bytes.HasPrefix(b, iketcpPrefix):
		f.keep(off, len(iketcpPrefix))
	case len(b) >= 3 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 0x03:
		f.keep(off, min(5, len(b)))
	default:
		trailer := full && decode.IsCTCPTrailer(b)
		inner := full && f.innerTrailers(off, b, trailer)
		if trailer || inner {
			if f.ctcp == nil {
				f.ctcp = make(map[flowDir]struct{})
			}
			f.ctcp[k] = struct{}{}
		}
		if !trailer && !inner && full {
			if _, ok := f.ctcp[k]; ok && len(b) > 2*decode.CTCPTrailerLen {
				// A middle piece of a message in a re-segmented cTCP
				// stream: its edges may hold parts of a head or trailer.
				out := f.out[off : off+len(b)]
				for i := range out {
					out[i] = 0xff
				}
				f.keep(off, decode.CTCPTrailerLen)
				f.keepRange(off+len(b)-decode.CTCPTrailerLen, off+len(b))
			}
			return
		}
		f.keep(off, messageHead(b))
		if trailer {
			f.keepRange(end-decode.CTCPTrailerLen, end)
		}
	}
}

// messageHead is how many bytes at the start of b a cTCP message's head
// takes that the analysis reads: 8 (ESP SPI and sequence number, or the
// UDP 500 header), 36 with the IKE header; at most len(b).
func messageHead(b []byte) int {
	n := 8
	if decode.IsIKEinUDP500(b) {
		n = 8 + 28
	}
	return min(n, len(b))
}

// innerTrailers keeps the cTCP trailers inside a segment and the head of
// the message after each, for a stream that a TCP proxy re-segmented
// (messages share segments and span them, so the analysis frames the
// byte stream at every trailer, not only at a segment's end), and then
// the segment's first and last 16 bytes, which may hold the rest of a
// trailer or message head that began in the previous segment or the
// start of one that continues in the next. A trailer counts only when
// the segment ends right after it or a plausible message head follows
// (a non-zero SPI, or UDP 500 -> 500), so that arbitrary TCP data keeps
// nothing. The bytes it does not keep are set to 0xff, not zero: runs of
// zeros around the kept trailers would look like trailers to the
// framing, and 0xff says no more about the ciphertext than zero. end
// says the segment ends in a trailer; a segment that holds exactly one
// message (that trailer and no other) is left to the caller. It reports
// whether it kept anything.
func (f *frame) innerTrailers(off int, b []byte, end bool) bool {
	var at [64]int
	n := 0
	for i := 8; i+decode.CTCPTrailerLen <= len(b) && n < len(at); {
		p, ok := decode.FindCTCPTrailer(b, i)
		if !ok {
			break
		}
		i = p + 1
		next := b[p+decode.CTCPTrailerLen:]
		if len(next) > 0 && !(len(next) >= 4 && (decode.IsIKEinUDP500(next) || next[0]|next[1]|next[2]|next[3] != 0)) {
			continue
		}
		at[n] = p
		n++
		i = p + decode.CTCPTrailerLen
	}
	if n == 0 || end && n == 1 && at[0] == len(b)-decode.CTCPTrailerLen {
		return false
	}
	out := f.out[off : off+len(b)]
	for i := range out {
		out[i] = 0xff
	}
	for _, p := range at[:n] {
		f.keep(off+p, decode.CTCPTrailerLen)
		f.keep(off+p+decode.CTCPTrailerLen, messageHead(b[p+decode.CTCPTrailerLen:]))
	}
	f.keep(off, decode.CTCPTrailerLen)
	f.keepRange(off+len(b)-decode.CTCPTrailerLen, off+len(b))
	return true
}

// udpPayload keeps what the analysis reads of a UDP datagram's data
// (captured from p to pend, plen bytes long): on UDP 500 and 4500 the
// non-ESP marker and the 28-byte IKE header, or the ESP header, and a
// NAT-T keepalive's 0xff; on UDP 10000 the ESP header; a DTLS record
// header on UDP 443.
func (f *frame) udpPayload(p, pend, plen int) {
	b := f.in[p:pend]
	sp, dp := f.p.SrcPort, f.p.DstPort
	port := func(x uint16) bool { return sp == x || dp == x }
	switch {
	case port(4500):
		switch {
		case plen == 1:
			f.keep(p, 1) // NAT-T keepalive 0xff
		case len(b) >= 4 && binary.BigEndian.Uint32(b) == 0:
			f.keep(p, min(4+28, len(b))) // non-ESP marker, IKE header
		default:
			f.keep(p, min(8, len(b))) // ESP SPI and sequence number
		}
	case port(500):
		n := 28
		if len(b) >= 4 && binary.BigEndian.Uint32(b) == 0 {
			n += 4
		}
		f.keep(p, min(n, len(b)))
	case port(10000):
		f.keep(p, min(8, len(b)))
	case port(443):
		if b[0] >= 0x14 && b[0] <= 0x17 {
			f.keep(p, min(13, len(b))) // DTLS record header
		}
	}
}
