package rewrite

import (
	"bytes"
	"encoding/binary"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// ipctx locates an IP header's addresses for the transport's
// pseudo-header.
type ipctx struct {
	src, dst, alen int
}

// ipLength mirrors the decoder: 0 means the rest of the reported frame, a
// length beyond it is clamped; inside an ICMP error the claimed length is
// kept.
func (f *frame) ipLength(off, end, claimed int) int {
	rep := max(f.repEnd-off, end-off)
	if f.inError && claimed != 0 {
		return claimed
	}
	if claimed == 0 || claimed > rep {
		claimed = rep
	}
	f.repEnd = off + claimed
	return claimed
}

// ip4 rewrites an IPv4 header at off (the data of its layer ends at end):
// addresses mapped, options zeroed (they may carry addresses: record
// route, source route, timestamps), header checksum recomputed.
func (f *frame) ip4(off, end int) {
	if !f.enter() || off >= end {
		return
	}
	f.keep(off, 1)
	n := end - off
	if f.in[off]>>4 != 4 {
		return
	}
	addrs := func() {
		f.keepRange(off, min(end, off+12))
		if n >= 16 {
			f.ip4addr(off + 12)
		}
		if n >= 20 {
			f.ip4addr(off + 16)
		}
	}
	hlen := int(f.in[off]&0x0f) * 4
	if n < 20 || hlen < 20 || n < hlen {
		addrs()
		return
	}
	totLen := f.ipLength(off, end, int(f.u16(off+2)))
	addrs()
	if totLen < hlen {
		return
	}
	// Header checksum over the rewritten header (options now zero).
	f.out[off+10], f.out[off+11] = 0, 0
	ck := ^fold(sum(f.out[off:off+hlen], 0))
	binary.BigEndian.PutUint16(f.out[off+10:], ck)

	frag := f.u16(off + 6)
	fragOff := int(frag&0x1fff) * 8
	fragment := frag&0x2000 != 0 || fragOff != 0
	if fragOff != 0 {
		return
	}
	proto := f.in[off+9]
	p, pend := off+hlen, min(end, off+totLen)
	repLen := totLen - hlen
	for proto == protoAH {
		if pend-p < 8 {
			return
		}
		ah := (int(f.in[p+1]) + 2) * 4
		if ah > pend-p || ah > repLen {
			return
		}
		f.keep(p, ah)
		proto = f.in[p]
		p += ah
		repLen -= ah
	}
	f.transport(proto, p, pend, repLen, ipctx{off + 12, off + 16, 4}, fragment)
}

// ip6 rewrites an IPv6 header and its extension headers. Hop-by-hop
// (jumbo length), fragment and AH headers are kept; routing, destination
// options and mobility headers keep only their next-header and length
// bytes (their bodies may carry addresses).
func (f *frame) ip6(off, end int) {
	if !f.enter() || off >= end {
		return
	}
	f.keep(off, 1)
	n := end - off
	if f.in[off]>>4 != 6 {
		return
	}
	f.keepRange(off, min(end, off+8))
	if n >= 24 {
		f.ip6addr(off + 8)
	}
	if n >= 40 {
		f.ip6addr(off + 24)
	}
	if n < 40 {
		return
	}
	plen := int(f.u16(off + 4))
	next := f.in[off+6]
	if plen == 0 && next == protoHopOpts {
		plen = decode.JumboLength(f.in[off+40 : end])
	}
	claimed := 0
	if plen != 0 {
		claimed = 40 + plen
	}
	totLen := max(f.ipLength(off, end, claimed), 40)
	p, pend := off+40, min(end, off+totLen)
	repLen := totLen - 40
	fragment, fragOff := false, 0
	ip := ipctx{off + 8, off + 24, 16}
	for {
		switch next {
		case protoHopOpts, protoRouting, protoDstOpts, protoMobility, protoAH, protoFragment:
		default:
			f.transport(next, p, pend, repLen, ip, fragment)
			return
		}
		if pend-p < 8 {
			return
		}
		var hl int
		switch next {
		case protoAH:
			hl = (int(f.in[p+1]) + 2) * 4
		case protoFragment:
			hl = 8
			fragment = true
			fragOff = int(f.u16(p+2) &^ 7)
		default:
			hl = (int(f.in[p+1]) + 1) * 8
		}
		if hl > pend-p {
			return
		}
		switch next {
		case protoHopOpts, protoAH, protoFragment:
			f.keep(p, hl)
		default:
			f.keep(p, 2)
		}
		next = f.in[p]
		p += hl
		repLen = max(repLen-hl, 0)
		if fragOff != 0 {
			return
		}
	}
}

// transport rewrites what follows an IP header.
func (f *frame) transport(proto uint8, off, end, repLen int, ip ipctx, fragment bool) {
	if off >= end {
		return
	}
	switch proto {
	case protoTCP:
		f.tcp(off, end, repLen, ip, fragment)
	case protoUDP:
		f.udp(off, end, repLen, ip, fragment)
	case protoESP:
		f.keep(off, min(8, end-off)) // SPI and sequence number
	case protoIPIP:
		if !f.inError {
			f.ip4(off, end)
		}
	case protoIPv6:
		if !f.inError {
			f.ip6(off, end)
		}
	case protoGRE:
		if !f.inError {
			f.gre(off, end)
		}
	case protoICMP:
		f.icmp(off, end, repLen, ip, false, fragment)
	case protoICMPv6:
		f.icmp(off, end, repLen, ip, true, fragment)
	case protoIPComp:
		// The compressed payload would hide the inner packet's
		// addresses: only the IPComp header is kept.
		f.keep(off, min(4, end-off))
	}
}

func (f *frame) tcp(off, end, repLen int, ip ipctx, fragment bool) {
	n := end - off
	if n < 20 || int(f.in[off+12]>>4)*4 < 20 {
		f.keep(off, min(n, 20)) // as much of the fixed header as there is
		return
	}
	hlen := int(f.in[off+12]>>4) * 4
	f.keep(off, min(hlen, n))
	if f.inError {
		return
	}
	if cend := min(end, off+repLen); cend >= off+18 {
		f.addFix(fixup{ck: off + 16, start: off, end: cend, src: ip.src, dst: ip.dst, alen: ip.alen})
	}
	plen := repLen - hlen
	if hlen < n && plen > 0 {
		var k flowDir
		copy(k.src[:], f.in[ip.src:ip.src+ip.alen])
		copy(k.dst[:], f.in[ip.dst:ip.dst+ip.alen])
		k.sport, k.dport = f.u16(off), f.u16(off+2)
		f.tcpPayload(off+hlen, min(end, off+hlen+plen), plen, k)
	}
}

var iketcpPrefix = []byte("IKETCP")

// tcpPayload keeps what the analysis reads of a TCP segment's data: the
// RFC 8229 "IKETCP" prefix; a TLS record header (5 bytes); for a segment
// that ends in Cisco's cTCP trailer, or whose end the snaplen cut off (so
// that the analysis may recognise cTCP by its ESP headers), the first 8
// bytes (ESP SPI and sequence number, or the UDP 500 header, then the
// 28-byte IKE header when it is IKE) and the 16-byte trailer.
func (f *frame) tcpPayload(off, end, plen int, k flowDir) {
	b := f.in[off:end]
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

// UDP ports of tunnels the decoder follows.
const (
	portGTPU  = 2152
	portVXLAN = 4789
)

func (f *frame) udp(off, end, repLen int, ip ipctx, fragment bool) {
	n := end - off
	if n < 8 {
		f.keep(off, n)
		return
	}
	f.keep(off, 8)
	if f.inError {
		return
	}
	sp, dp := f.u16(off), f.u16(off+2)
	ulen := int(f.u16(off + 4))
	if ulen < 8 || ulen > repLen && !fragment {
		ulen = repLen
	}
	plen := max(ulen-8, 0)
	if f.u16(off+6) != 0 {
		if cend := min(end, off+max(ulen, 8)); cend >= off+8 {
			f.addFix(fixup{ck: off + 6, start: off, end: cend, src: ip.src, dst: ip.dst, alen: ip.alen, udp: true})
		}
	}
	p, pend := off+8, min(end, off+8+plen)
	if !fragment {
		switch {
		case sp == portGTPU || dp == portGTPU:
			f.gtpu(p, pend)
			return
		case dp == portVXLAN:
			if pend-p >= 8 {
				f.keep(p, 8)
				f.ether(p+8, pend)
			}
			return
		}
	}
	if p >= pend {
		return
	}
	b := f.in[p:pend]
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

// icmp keeps the 8-byte ICMP header (a redirect's gateway mapped) and
// follows an error into the quoted header, as the decoder does.
func (f *frame) icmp(off, end, repLen int, ip ipctx, v6, fragment bool) {
	n := end - off
	f.keep(off, min(n, 8))
	if f.inError || n < 8 {
		return
	}
	typ := f.in[off]
	var isErr bool
	if v6 {
		isErr = typ >= 1 && typ <= 4
	} else {
		switch typ {
		case 3, 4, 5, 11, 12:
			isErr = true
		}
		if typ == 5 {
			f.ip4addr(off + 4)
		}
	}
	x := fixup{ck: off + 2, start: off, end: min(end, off+repLen)}
	if v6 {
		x.src, x.dst, x.alen = ip.src, ip.dst, ip.alen
	}
	if x.end >= off+4 {
		f.addFix(x)
	}
	if !isErr || fragment {
		return
	}
	f.inError = true
	if v6 {
		f.ip6(off+8, end)
	} else {
		f.ip4(off+8, end)
	}
}

func (f *frame) gre(off, end int) {
	n := end - off
	if n < 4 {
		f.keep(off, n)
		return
	}
	flags, ver := f.in[off], f.in[off+1]&7
	proto := f.u16(off + 2)
	hl := 4
	if flags&0xc0 != 0 {
		hl += 4
	}
	if flags&0x20 != 0 {
		hl += 4
	}
	seq := flags&0x10 != 0
	if seq {
		hl += 4
	}
	if ver == 1 && f.in[off+1]&0x80 != 0 {
		hl += 4
	}
	if n < hl {
		f.keep(off, n)
		return
	}
	if flags&0x40 != 0 && ver == 0 {
		for {
			if n < hl+4 {
				f.keep(off, n)
				return
			}
			af, sreLen := f.u16(off+hl), int(f.in[off+hl+3])
			hl += 4 + sreLen
			if n < hl {
				f.keep(off, n)
				return
			}
			if af == 0 && sreLen == 0 {
				break
			}
		}
	}
	f.keep(off, hl)
	if flags&0x80 != 0 {
		f.addFix(fixup{ck: off + 4, start: off, end: end})
	}
	p := off + hl
	switch {
	case proto == etherIPv4:
		f.ip4(p, end)
	case proto == etherIPv6:
		f.ip6(p, end)
	case proto == etherTEB:
		f.ether(p, end)
	case proto == etherERSPAN2:
		if !seq {
			f.ether(p, end)
			return
		}
		if end-p >= 8 {
			f.keep(p, 8)
			f.ether(p+8, end)
		}
	case proto == etherERSPAN3:
		if end-p < 12 {
			return
		}
		eh := 12
		if f.in[p+11]&1 != 0 {
			eh += 8
		}
		if end-p < eh {
			return
		}
		f.keep(p, eh)
		if f.in[p+11]&0x3e == 0 {
			f.ether(p+eh, end)
		}
	case proto == etherMPLS || proto == etherMPLSMcast:
		f.mpls(p, end)
	case proto == etherPPP:
		f.ppp(p, end, true)
	case proto >= 0x8200 && proto <= 0x82ff:
		f.dot11(p, end)
	}
}

// gtpu keeps a GTPv1-U G-PDU header and rewrites the IP packet it
// carries; other GTP messages are dropped.
func (f *frame) gtpu(off, end int) {
	b := f.in[off:end]
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xff {
		return
	}
	n := 8
	if b[0]&0x07 != 0 {
		n += 4
		if len(b) < n {
			return
		}
		next := b[n-1]
		for b[0]&0x04 != 0 && next != 0 {
			if len(b) < n+1 {
				return
			}
			extLen := int(b[n]) * 4
			if extLen == 0 || len(b) < n+extLen {
				return
			}
			next = b[n+extLen-1]
			n += extLen
		}
	}
	f.keep(off, n)
	f.ipByNibble(off+n, end)
}

// sum adds the bytes of b to acc as big-endian 16-bit words (an odd last
// byte is the high half of a word).
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold folds a ones'-complement sum to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// applyFixups adjusts the recorded checksums, innermost first (an outer
// checksum covers the inner checksum fields).
func (f *frame) applyFixups() {
	for i := f.nfix - 1; i >= 0; i-- {
		x := &f.fix[i]
		hc := binary.BigEndian.Uint16(f.in[x.ck:])
		if x.udp && hc == 0 {
			f.out[x.ck], f.out[x.ck+1] = 0, 0
			continue
		}
		old, cur := uint64(0), uint64(0)
		if x.ck > x.start {
			old = sum(f.in[x.start:x.ck], old)
			cur = sum(f.out[x.start:x.ck], cur)
		}
		if x.ck+2 < x.end {
			old = sum(f.in[x.ck+2:x.end], old)
			cur = sum(f.out[x.ck+2:x.end], cur)
		}
		if x.alen > 0 && x.src+x.alen <= len(f.in) && x.dst+x.alen <= len(f.in) {
			old = sum(f.in[x.src:x.src+x.alen], old)
			old = sum(f.in[x.dst:x.dst+x.alen], old)
			cur = sum(f.out[x.src:x.src+x.alen], cur)
			cur = sum(f.out[x.dst:x.dst+x.alen], cur)
		}
		// RFC 1624: HC' = ~(~HC + ~m + m'), summed over every changed word.
		v := uint64(^hc) + uint64(^fold(old)) + uint64(fold(cur))
		res := ^fold(v)
		if x.udp && res == 0 {
			res = 0xffff
		}
		binary.BigEndian.PutUint16(f.out[x.ck:], res)
	}
}
