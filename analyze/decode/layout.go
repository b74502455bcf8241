package decode

// A Layout records where Decode found the parts of one frame: the extent
// of every header it read (link headers, tunnels and encapsulations, each
// IP header and extension header, the transport header, the header quoted
// by an ICMP error), the address and port fields in them, the checksum
// fields and the bytes they cover, and the transport payload. Offsets are
// from the start of the frame; nothing in it allocates.
//
// Decode records a header as far as it was captured and read, also when
// the frame ends inside it or a length field is wrong (the fields up to
// there are recorded, and Decode then returns its error), and also the
// headers of frames that hold no IP (ARP, 802.11 management and control
// frames). The bytes of an IPComp payload that Decode inflates are not in
// the frame: the Layout ends with the IPComp header.
//
// analyze/rewrite writes an anonymized frame from it: it copies the
// headers, maps the addresses, zeroes the rest and fixes the checksums.
type Layout struct {
	nh, nf, nc int
	headers    [maxHeaders]Header
	fields     [maxFields]Field
	checksums  [maxChecksums]Checksum
	// Payload is the payload of the last transport header (TCP, UDP,
	// ESP), recorded where that header is the last of the frame: not
	// inside an ICMP error, not where a tunnel (GTP-U, VXLAN) follows.
	Payload Payload
	// Overflow is set when the frame had more headers, fields or
	// checksums than a Layout holds: those after the limit are missing.
	Overflow bool
}

// Capacity of a Layout.
const (
	maxHeaders   = 64
	maxFields    = 32
	maxChecksums = 16
)

// Headers returns the headers in the order Decode read them.
func (l *Layout) Headers() []Header { return l.headers[:l.nh] }

// Fields returns the address and port fields in the order Decode read
// them.
func (l *Layout) Fields() []Field { return l.fields[:l.nf] }

// Checksums returns the checksum fields, outermost first.
func (l *Layout) Checksums() []Checksum { return l.checksums[:l.nc] }

func (l *Layout) reset() {
	l.nh, l.nf, l.nc = 0, 0, 0
	l.Payload = Payload{}
	l.Overflow = false
}

// Header is one header of a frame: Len bytes at Off (as far as captured
// and read).
type Header struct {
	Off, Len int
	Kind     HeaderKind
	// Sub is the attribute type of an NFLOG attribute and the protocol
	// number of an IPv6 extension header; 0 for other headers.
	Sub uint16
}

// HeaderKind says what a Header is.
type HeaderKind uint8

// Header kinds.
const (
	_                 HeaderKind = iota
	HeaderDirection              // the direction byte of LINKTYPE_PPP_WITH_DIR and C_HDLC_WITH_DIR
	HeaderLoopback               // BSD loopback address family
	HeaderEthernet               // MACs and EtherType (the MACs alone when it is cut short)
	HeaderDot1Q                  // 802.1Q or 802.1ad tag
	HeaderVNTag                  // Cisco VN-Tag
	HeaderLLC                    // 802.2 LLC
	HeaderSNAP                   // SNAP
	HeaderPPPoE                  // PPPoE session header
	HeaderPPP                    // PPP address, control and protocol
	HeaderCHDLC                  // Cisco HDLC
	HeaderMPLS                   // MPLS label stack
	HeaderSLL                    // Linux cooked header v1
	HeaderSLL2                   // Linux cooked header v2
	HeaderNFLOG                  // NFLOG header (family, version, resource id)
	HeaderNFLOGAttr              // NFLOG attribute: Sub is its type, Len its length field
	HeaderDot11                  // 802.11 MAC header up to the sequence control or fourth address
	HeaderDot11QoS               // 802.11 QoS control and HT control
	HeaderARP                    // ARP fixed header (its addresses are Fields)
	HeaderIPVersion              // the first byte where an IP header was expected: version neither 4 nor 6, or not the one expected
	HeaderIPv4                   // IPv4 header without options
	HeaderIPv4Options            // IPv4 options
	HeaderIPv6                   // IPv6 fixed header
	HeaderIPv6Ext                // IPv6 extension header: Sub is its protocol number
	HeaderAH                     // IP authentication header (RFC 4302)
	HeaderIPComp                 // IPComp header (RFC 3173)
	HeaderGRE                    // GRE header with its optional fields
	HeaderERSPAN                 // ERSPAN type II or III header
	HeaderGTPU                   // GTPv1-U header with its extension headers
	HeaderVXLAN                  // VXLAN header
	HeaderTCP                    // TCP header with options
	HeaderUDP                    // UDP header
	HeaderESP                    // ESP SPI and sequence number
	HeaderICMP                   // ICMP or ICMPv6 header (8 bytes)
)

// Field is an address or port field: Kind.Size() bytes at Off, of which
// Len were captured in the header (Len < Kind.Size(): cut short).
type Field struct {
	Off, Len int
	Kind     FieldKind
}

// FieldKind says what a Field holds.
type FieldKind uint8

// Field kinds.
const (
	_          FieldKind = iota
	FieldMAC             // a 6-byte MAC address
	FieldIPv4            // an IPv4 address
	FieldIPv6            // an IPv6 address
	FieldPorts           // TCP or UDP source and destination port
)

// Size is the length of a whole field of kind k.
func (k FieldKind) Size() int {
	switch k {
	case FieldMAC:
		return 6
	case FieldIPv4, FieldPorts:
		return 4
	case FieldIPv6:
		return 16
	}
	return 0
}

// Checksum is a 16-bit checksum field at Off over the captured bytes
// Start to End (the field itself among them) and, where AddrLen is not 0,
// a pseudo-header with the AddrLen-byte addresses at Src and Dst (RFC 793,
// RFC 768, RFC 8200 section 8.1). It is recorded where the field was
// captured; End is below the end of the covered data where the snaplen
// cut it.
type Checksum struct {
	Off, Start, End   int
	Src, Dst, AddrLen int
	Kind              ChecksumKind
}

// ChecksumKind says which header a Checksum belongs to.
type ChecksumKind uint8

// Checksum kinds.
const (
	_              ChecksumKind = iota
	ChecksumIPv4                // IPv4 header checksum (RFC 791), over the header
	ChecksumTCP                 // TCP checksum, with pseudo-header
	ChecksumUDP                 // UDP checksum, with pseudo-header; 0 means none
	ChecksumICMP                // ICMP checksum, no pseudo-header
	ChecksumICMPv6              // ICMPv6 checksum, with pseudo-header
	ChecksumGRE                 // GRE checksum (RFC 2784), over the GRE header and payload
)

// Payload is the payload of a transport header: the captured bytes Off to
// End (End > Off when some were captured) of its Len bytes (from the
// length fields; negative for a TCP "short segment", see
// Packet.PayloadLen). Proto is the transport's protocol number, 0 when
// there is no payload.
type Payload struct {
	Off, End, Len int
	Proto         uint8
}

// DecodeLayout is Decode that also records the frame's Layout in *l (see
// Layout). A frame of a link type Decode does not accept has an empty
// Layout. It decodes every frame with the layer parser, not with
// Decode's shortcut for Ethernet, so it is a little slower.
func (d *Decoder) DecodeLayout(data []byte, linkType uint16, p *Packet, l *Layout) error {
	l.reset()
	d.rec = l
	err := d.Decode(data, linkType, p)
	d.rec = nil
	return err
}

// The recording methods below do nothing unless DecodeLayout runs
// (d.rec is nil otherwise), so that Decode pays one comparison per
// header for them.

// hdr records a header of kind k: n bytes at b[i:], as far as b holds
// them.
func (d *Decoder) hdr(k HeaderKind, b []byte, i, n int) {
	if l := d.rec; l != nil && i < len(b) && n > 0 {
		l.header(k, d.offset(b)+i, min(n, len(b)-i), 0)
	}
}

// hdrSub is hdr for a header with a Sub value.
func (d *Decoder) hdrSub(k HeaderKind, b []byte, i, n int, sub uint16) {
	if l := d.rec; l != nil && i < len(b) && n > 0 {
		l.header(k, d.offset(b)+i, min(n, len(b)-i), sub)
	}
}

// fld records a field of kind k at b[i:], as far as b holds it.
func (d *Decoder) fld(k FieldKind, b []byte, i int) {
	if l := d.rec; l != nil && i < len(b) {
		l.field(k, d.offset(b)+i, min(k.Size(), len(b)-i))
	}
}

func (l *Layout) header(k HeaderKind, off, n int, sub uint16) {
	if l.nh == len(l.headers) {
		l.Overflow = true
		return
	}
	l.headers[l.nh] = Header{Off: off, Len: n, Kind: k, Sub: sub}
	l.nh++
}

func (l *Layout) field(k FieldKind, off, n int) {
	if l.nf == len(l.fields) {
		l.Overflow = true
		return
	}
	l.fields[l.nf] = Field{Off: off, Len: n, Kind: k}
	l.nf++
}

// sum records a checksum field at b[i:] of kind k over b[start:end],
// with the pseudo-header of the innermost IP header where k has one.
func (d *Decoder) sum(k ChecksumKind, b []byte, i, start, end int) {
	l := d.rec
	if l == nil {
		return
	}
	if l.nc == len(l.checksums) {
		l.Overflow = true
		return
	}
	off := d.offset(b)
	c := Checksum{Off: off + i, Start: off + start, End: off + end, Kind: k}
	if k == ChecksumTCP || k == ChecksumUDP || k == ChecksumICMPv6 {
		c.Src, c.Dst, c.AddrLen = d.pseudo.src, d.pseudo.dst, d.pseudo.alen
	}
	l.checksums[l.nc] = c
	l.nc++
}

// payload records the payload of a transport header: b[i:j] of n bytes.
func (d *Decoder) payload(proto uint8, b []byte, i, j, n int) {
	if l := d.rec; l != nil {
		off := d.offset(b)
		l.Payload = Payload{Off: off + i, End: off + j, Len: n, Proto: proto}
	}
}
