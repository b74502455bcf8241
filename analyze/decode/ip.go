package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"
)

// ipPayload is what an IP header hands to the transport: the reported
// payload length (from the IP length fields) and the captured bytes.
type ipPayload struct {
	repLen int // payload length on the wire per the IP header, >= 0
}

// ipv4Layer decodes an IPv4 header into the Packet the way Wireshark
// does with its defaults (no reassembly): total length 0 (TSO, BIG TCP)
// means "as long as the frame"; a total length beyond the frame is
// clamped to the frame; a total length below the header length is an
// error. gopacket's IPv4 rejects a zero total length.
type ipv4Layer struct {
	base
	ipPayload
}

func (l *ipv4Layer) CanDecode() gopacket.LayerClass { return layerTypeIPv4 }

func (l *ipv4Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	if d.rec != nil {
		d.recIPv4(b)
	}
	if len(b) < 20 {
		return errShortIPv4
	}
	if b[0]>>4 != 4 {
		return errIPVersion
	}
	hlen := int(b[0]&0x0f) * 4
	if hlen < 20 {
		return errIPv4HdrLen
	}
	if len(b) < hlen {
		return errShortIPv4
	}
	totLen := d.ipLength(b, int(binary.BigEndian.Uint16(b[2:4])))
	if totLen < hlen {
		return errIPv4TotLen
	}
	if d.rec != nil {
		d.recIPv4Checksum(b, hlen)
	}
	d.clearTransport()
	p := d.p
	p.IPVersion = 4
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.TTL = b[8]
	p.IPID = binary.BigEndian.Uint16(b[4:6])
	frag := binary.BigEndian.Uint16(b[6:8])
	p.DF = frag&0x4000 != 0
	p.FragOffset = int(frag&0x1fff) * 8
	p.Fragment = frag&0x2000 != 0 || p.FragOffset != 0
	l.repLen = totLen - hlen
	payload := b[hlen:min(len(b), totLen)]
	if p.FragOffset != 0 {
		l.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	// AH (RFC 4302) in transport or tunnel mode: skip it as Wireshark
	// does and report what it protects (IPComp payloads are inflated by
	// the IPComp layer).
	proto := p.Proto
	for proto == ProtoAH {
		n, ok := skipAH(payload)
		if !ok {
			l.set(nil, gopacket.LayerTypeZero)
			return nil
		}
		if d.rec != nil {
			d.hdr(HeaderAH, payload, 0, n)
		}
		if n > len(payload) || n > l.repLen {
			return errShortExt
		}
		proto = payload[0]
		payload = payload[n:]
		l.repLen -= n
		p.Proto = proto
	}
	if proto == ProtoIPComp && d.rec != nil {
		d.recIPComp(payload)
	}
	l.set(payload, d.protoNext(proto))
	return nil
}

// recIPv4 records the IPv4 header at b (b[0] is captured): the fixed
// header, its options and its addresses as far as captured; only the
// first byte when the version is not 4.
func (d *Decoder) recIPv4(b []byte) {
	if len(b) == 0 {
		return
	}
	if b[0]>>4 != 4 {
		d.hdr(HeaderIPVersion, b, 0, 1)
		return
	}
	d.hdr(HeaderIPv4, b, 0, 20)
	d.fld(FieldIPv4, b, 12)
	d.fld(FieldIPv4, b, 16)
	if hlen := int(b[0]&0x0f) * 4; hlen > 20 {
		d.hdr(HeaderIPv4Options, b, 20, hlen-20)
	}
}

// recIPv4Checksum records the checksum of the IPv4 header at b, hlen
// bytes long, and its addresses as the pseudo-header of what follows.
func (d *Decoder) recIPv4Checksum(b []byte, hlen int) {
	d.sum(ChecksumIPv4, b, 10, 0, hlen)
	off := d.offset(b)
	d.pseudo.src, d.pseudo.dst, d.pseudo.alen = off+12, off+16, 4
}

// recIPComp records the IPComp header at the start of payload, the
// payload of an IP header: the Layout keeps it whether or not Decode
// inflates what follows.
func (d *Decoder) recIPComp(payload []byte) { d.hdr(HeaderIPComp, payload, 0, 4) }

// skipAH returns the length of the AH header at b, and false when it is
// cut short.
func skipAH(b []byte) (int, bool) {
	if len(b) < 8 {
		return 0, false
	}
	return (int(b[1]) + 2) * 4, true
}

// ipLength returns the length of the IP packet starting at b given the
// length its header claims (total length for IPv4, payload length plus 40
// for IPv6), following Wireshark: 0 means the rest of the frame, and a
// length beyond the frame on the wire is clamped to it. Inside an ICMP
// error the quoted header's length is kept as it is: it describes the
// original packet, of which only the start is quoted.
func (d *Decoder) ipLength(b []byte, claimed int) int {
	off := d.offset(b)
	rep := max(d.repEnd-off, len(b))
	if d.inError && claimed != 0 {
		return claimed
	}
	if claimed == 0 {
		claimed = rep
	} else if claimed > rep {
		claimed = rep
	}
	d.repEnd = off + claimed
	return claimed
}

// ipv6Layer decodes an IPv6 header and its extension headers (hop-by-hop
// with the jumbo payload option, routing, fragment, destination options,
// AH, mobility). A payload length of 0 means a jumbogram when a hop-by-hop
// header follows (length from its jumbo payload option; an empty payload
// when that option is missing or invalid, as in Wireshark) and otherwise
// the rest of the frame (segmentation offload).
type ipv6Layer struct {
	base
	ipPayload
}

func (l *ipv6Layer) CanDecode() gopacket.LayerClass { return layerTypeIPv6 }

func (l *ipv6Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	if d.rec != nil {
		d.recIPv6(b)
	}
	if len(b) < 40 {
		return errShortIPv6
	}
	if b[0]>>4 != 6 {
		return errIPVersion
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	next := b[6]
	claimed := 0
	switch {
	case plen == 0 && next == ProtoHopOpts:
		// A jumbogram: the length is in the hop-by-hop jumbo payload
		// option. Without a valid one (absent, or 65535 or less) Wireshark
		// takes the payload as empty and flags the packet malformed.
		claimed = 40 + JumboLength(b[40:])
	case plen != 0:
		claimed = 40 + plen
	}
	totLen := max(d.ipLength(b, claimed), 40)
	d.clearTransport()
	p := d.p
	p.IPVersion = 6
	p.TTL, p.IPID, p.DF = b[7], 0, false
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	payload := b[40:min(len(b), totLen)]
	l.repLen = totLen - 40
	for {
		if !isExtension(next) {
			p.Proto = next
			if next == ProtoIPComp && d.rec != nil {
				d.recIPComp(payload)
			}
			l.set(payload, d.protoNext(next))
			return nil
		}
		if len(payload) < 8 {
			p.Proto = next
			if len(payload) == 0 && l.repLen == 0 {
				l.set(nil, gopacket.LayerTypeZero)
				return nil
			}
			return errShortExt
		}
		var n int
		switch next {
		case ProtoAH:
			n = (int(payload[1]) + 2) * 4
		case ProtoFragment:
			n = 8
			off := binary.BigEndian.Uint16(payload[2:4])
			p.Fragment = true
			p.FragOffset = int(off &^ 7)
		default:
			n = (int(payload[1]) + 1) * 8
		}
		if d.rec != nil {
			d.recExtension(payload, next, n)
		}
		if n > len(payload) {
			p.Proto = next
			return errShortExt
		}
		next = payload[0]
		payload = payload[n:]
		l.repLen = max(l.repLen-n, 0)
		if p.FragOffset != 0 {
			p.Proto = next
			l.set(nil, gopacket.LayerTypeZero)
			return nil
		}
	}
}

// recIPv6 records the IPv6 header at b: the fixed header and its
// addresses as far as captured, the addresses as the pseudo-header of
// what follows; only the first byte when the version is not 6.
func (d *Decoder) recIPv6(b []byte) {
	if len(b) == 0 {
		return
	}
	if b[0]>>4 != 6 {
		d.hdr(HeaderIPVersion, b, 0, 1)
		return
	}
	d.hdr(HeaderIPv6, b, 0, 40)
	d.fld(FieldIPv6, b, 8)
	d.fld(FieldIPv6, b, 24)
	off := d.offset(b)
	d.pseudo.src, d.pseudo.dst, d.pseudo.alen = off+8, off+24, 16
}

// recExtension records an IPv6 extension header or AH of n bytes at b,
// as far as captured.
func (d *Decoder) recExtension(b []byte, proto uint8, n int) {
	if proto == ProtoAH {
		d.hdr(HeaderAH, b, 0, n)
	} else {
		d.hdrSub(HeaderIPv6Ext, b, 0, n, uint16(proto))
	}
}

// JumboLength returns the jumbo payload length from the hop-by-hop options
// header at b (RFC 2675), or 0 when there is no jumbo payload option or its
// length is not above 65535 (RFC 2675 makes such a packet an error, and
// Wireshark ignores the option then).
func JumboLength(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	n := (int(b[1]) + 1) * 8
	if n > len(b) {
		return 0
	}
	opts := b[2:n]
	for len(opts) > 0 {
		if opts[0] == 0 { // Pad1
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || 2+int(opts[1]) > len(opts) {
			return 0
		}
		if opts[0] == 0xc2 && opts[1] == 4 {
			if n := int(binary.BigEndian.Uint32(opts[2:6])); n > 0xffff {
				return n
			}
			return 0
		}
		opts = opts[2+int(opts[1]):]
	}
	return 0
}

// repLen returns the reported payload length of the innermost IP layer.
func (d *Decoder) repLen() int {
	if d.p.IPVersion == 6 {
		return d.ip6.repLen
	}
	return d.ip4.repLen
}

// tcpLayer decodes a TCP header. Only the 20-byte fixed header must be
// captured: options cut by the snaplen set OptionsTruncated (gopacket's
// TCP rejects such a header). Inside an ICMP error, 8 bytes (ports and
// sequence number) are enough. An IP payload shorter than the data offset
// (Wireshark's "short segment", which it leaves out of its sequence
// analysis) gives a negative PayloadLen, except in a fragment or an ICMP
// error, where Wireshark does not check it.
type tcpLayer struct{ base }

func (l *tcpLayer) CanDecode() gopacket.LayerClass { return layerTypeTCP }

func (l *tcpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	p := d.p
	l.set(nil, gopacket.LayerTypeZero)
	if d.rec != nil {
		d.recTransport(HeaderTCP, b)
	}
	if d.inError && len(b) >= 8 && len(b) < 20 {
		p.HasTransport = true
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		if len(b) >= 12 {
			p.Ack = binary.BigEndian.Uint32(b[8:12])
		}
		return nil
	}
	if len(b) < 20 {
		return errShortTCP
	}
	hlen := int(b[12]>>4) * 4
	if hlen < 20 {
		return errTCPHdrLen
	}
	p.HasTransport = true
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	p.Seq = binary.BigEndian.Uint32(b[4:8])
	p.Ack = binary.BigEndian.Uint32(b[8:12])
	p.Flags = uint16(b[13]) | uint16(b[12]&1)<<8
	p.Window = binary.BigEndian.Uint16(b[14:16])
	p.TCPHdrLen = hlen
	opts := b[20:min(hlen, len(b))]
	p.OptionsTruncated = len(b) < hlen
	parseTCPOptions(p, opts)
	p.PayloadLen = d.repLen() - hlen
	if p.PayloadLen < 0 && (d.inError || p.Fragment) {
		p.PayloadLen = 0
	}
	if hlen < len(b) {
		p.Payload = b[hlen:min(len(b), hlen+p.PayloadLen)]
	}
	if d.rec != nil && !d.inError {
		d.recTCP(b, hlen)
	}
	return nil
}

// recTransport records the TCP or UDP header at b, as far as captured:
// the fixed header, or for TCP the header as long as its data offset
// says (20 bytes when it says less).
func (d *Decoder) recTransport(k HeaderKind, b []byte) {
	n := 8
	if k == HeaderTCP {
		n = 20
		if len(b) >= 20 {
			n = max(int(b[12]>>4)*4, 20)
		}
	}
	d.hdr(k, b, 0, n)
	d.fld(FieldPorts, b, 0)
}

// recTCP records the checksum of the TCP header at b, hlen bytes long,
// and its payload.
func (d *Decoder) recTCP(b []byte, hlen int) {
	if end := min(len(b), d.repLen()); end >= 18 {
		d.sum(ChecksumTCP, b, 16, 0, end)
	}
	if p := d.p; len(p.Payload) > 0 {
		d.payload(ProtoTCP, b, hlen, hlen+len(p.Payload), p.PayloadLen)
	}
}

// parseTCPOptions reads MSS, window scale, SACK-permitted and SACK blocks
// from opts. It stops at the end-of-options option and at an option whose
// length is bad or runs past opts.
func parseTCPOptions(p *Packet, opts []byte) {
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 { // end of option list
			return
		}
		if kind == 1 { // no-operation
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return
		}
		n := int(opts[1])
		if n < 2 || n > len(opts) {
			return
		}
		switch {
		case kind == 2 && n == 4:
			p.MSS = binary.BigEndian.Uint16(opts[2:4])
		case kind == 3 && n == 3:
			p.WScale = int8(min(opts[2], 127))
		case kind == 4 && n == 2:
			p.SACKPermitted = true
		case kind == 5 && n >= 10:
			p.SACKBlocks = (n - 2) / 8
		case kind == 8 && n == 10:
			p.HasTS = true
		}
		opts = opts[n:]
	}
}

// udpLayer decodes a UDP header. The payload length comes from the UDP
// length field, or from the IP payload length when that field is 0
// (jumbogram) or does not fit the IP payload.
type udpLayer struct{ base }

func (l *udpLayer) CanDecode() gopacket.LayerClass { return layerTypeUDP }

func (l *udpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	p := d.p
	l.set(nil, gopacket.LayerTypeZero)
	if d.rec != nil {
		d.recTransport(HeaderUDP, b)
	}
	if len(b) < 8 {
		return errShortUDP
	}
	p.HasTransport = true
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	rep := d.repLen()
	if ulen < 8 || (ulen > rep && !d.inError && !p.Fragment) {
		ulen = rep
	}
	p.PayloadLen = max(ulen-8, 0)
	p.Payload = b[8:min(len(b), 8+p.PayloadLen)]
	if !d.inError && !p.Fragment {
		// Tunnels over UDP that Wireshark decodes by port by default.
		switch {
		case p.SrcPort == portGTPU || p.DstPort == portGTPU:
			l.set(p.Payload, layerTypeGTPv1U)
		case p.DstPort == portVXLAN:
			l.set(p.Payload, layerTypeVXLAN)
		}
	}
	if d.rec != nil && !d.inError {
		d.recUDP(b, l.next != gopacket.LayerTypeZero)
	}
	return nil
}

// recUDP records the checksum of the UDP header at b and its payload,
// unless a tunnel follows.
func (d *Decoder) recUDP(b []byte, tunnel bool) {
	p := d.p
	if binary.BigEndian.Uint16(b[6:8]) != 0 {
		d.sum(ChecksumUDP, b, 6, 0, min(len(b), 8+p.PayloadLen))
	}
	if !tunnel && len(p.Payload) > 0 {
		d.payload(ProtoUDP, b, 8, 8+len(p.Payload), p.PayloadLen)
	}
}

// UDP ports of tunnels the decoder follows.
const (
	portGTPU  = 2152
	portVXLAN = 4789
)

// espLayer records an ESP header: the Payload is the whole captured ESP
// packet (SPI and sequence number first), PayloadLen the IP payload
// length.
type espLayer struct{ base }

func (l *espLayer) CanDecode() gopacket.LayerClass { return layerTypeIPSecESP }

func (l *espLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	p := d.p
	l.set(nil, gopacket.LayerTypeZero)
	if d.rec != nil {
		d.recESP(b)
	}
	if len(b) < 8 {
		return nil
	}
	p.HasTransport = true
	p.PayloadLen = d.repLen()
	p.Payload = b[:min(len(b), p.PayloadLen)]
	return nil
}

// recESP records the ESP SPI and sequence number at b, as far as
// captured, and the rest as the payload (outside an ICMP error).
func (d *Decoder) recESP(b []byte) {
	d.hdr(HeaderESP, b, 0, 8)
	if n := min(len(b), d.repLen()); n > 8 && !d.inError {
		d.payload(ProtoESP, b, 8, n, d.repLen()-8)
	}
}

// icmpLayer follows ICMP and ICMPv6 error messages (destination
// unreachable, time exceeded, parameter problem, source quench, packet too
// big) into the quoted IP header and its transport, with InError set.
type icmpLayer struct {
	base
	v6 bool
}

func (l *icmpLayer) CanDecode() gopacket.LayerClass {
	if l.v6 {
		return layerTypeICMPv6
	}
	return layerTypeICMPv4
}

func (l *icmpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	l.set(nil, gopacket.LayerTypeZero)
	if d.rec != nil {
		d.recICMP(b, l.v6)
	}
	if d.inError || len(b) < 8 {
		return nil
	}
	var isErr bool
	if l.v6 {
		isErr = b[0] >= 1 && b[0] <= 4
	} else {
		switch b[0] {
		case 3, 4, 5, 11, 12:
			isErr = true
		}
	}
	if !isErr || d.p.Fragment {
		return nil
	}
	d.saveOuter()
	d.inError = true
	d.p.InError = true
	if l.v6 {
		l.set(b[8:], layerTypeIPv6)
	} else {
		l.set(b[8:], layerTypeIPv4)
	}
	return nil
}

// recICMP records the ICMP or ICMPv6 header at b, as far as captured,
// and, outside an ICMP error, a redirect's gateway address and the
// checksum.
func (d *Decoder) recICMP(b []byte, v6 bool) {
	d.hdr(HeaderICMP, b, 0, 8)
	if d.inError || len(b) < 8 {
		return
	}
	if !v6 && b[0] == 5 {
		d.fld(FieldIPv4, b, 4)
	}
	if end := min(len(b), d.repLen()); end >= 4 {
		if v6 {
			d.sum(ChecksumICMPv6, b, 2, 0, end)
		} else {
			d.sum(ChecksumICMP, b, 2, 0, end)
		}
	}
}
