package decode

import "net/netip"

// TCP flag bits as they appear in the TCP header's flags byte (plus NS in bit 8).
const (
	FlagFIN uint16 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
	FlagNS
)

// Packet is the scalar view of one captured frame that the rest of
// ctcpdiag works from. Decoder.Decode fills it in place; nothing in it
// allocates. Payload aliases the capture reader's buffer and is valid only
// until the next packet is read (for an IPComp payload, until the next
// Decode: it points into the Decoder's inflate buffer).
type Packet struct {
	// Frame is the 1-based frame number, equal to Wireshark's frame.number.
	Frame uint64
	// Time is the capture timestamp in nanoseconds since the Unix epoch.
	Time int64
	// CapLen and OrigLen are the captured and the original (wire) length.
	CapLen, OrigLen int

	// IPVersion is 4 or 6 for the innermost IP header that carries the
	// transport (after tunnels such as GRE, ERSPAN, MPLS, PPPoE), 0 when the
	// frame holds no IP.
	IPVersion uint8
	Src, Dst  netip.Addr
	// Proto is the transport protocol number after IPv6 extension headers.
	Proto uint8
	// Fragment is set for an IPv4 or IPv6 fragment. The transport header is
	// decoded only for the first fragment (offset 0); later fragments have
	// Proto set and no ports.
	Fragment bool
	// FragOffset is the fragment offset in bytes.
	FragOffset int
	// InError is set when the transport header was found inside an ICMP
	// error message (quoted packet).
	InError bool

	// TTL is the TTL (IPv4) or hop limit (IPv6) of the innermost IP
	// header, the one Src and Dst come from (for an ICMP error, the quoted
	// header's, as Src and Dst).
	TTL uint8
	// IPID is that header's IPv4 identification (0 for IPv6).
	IPID uint16
	// DF is set when that header is IPv4 with Don't Fragment set.
	DF bool

	// HasTransport is set when the TCP or UDP header (or the ESP SPI and
	// sequence number) was decoded.
	HasTransport     bool
	SrcPort, DstPort uint16

	// TCP fields (Proto == ProtoTCP and HasTransport).
	Seq, Ack uint32
	Flags    uint16
	Window   uint16
	// TCPHdrLen is the TCP header length in bytes, from the data offset.
	TCPHdrLen int
	// WScale is the window-scale shift from a SYN's option, -1 when absent.
	WScale int8
	// MSS is the MSS option value, 0 when absent.
	MSS uint16
	// SACKPermitted is set when the SACK-permitted option is present.
	SACKPermitted bool
	// SACKBlocks is the number of SACK blocks in the options.
	SACKBlocks int
	// HasTS is set when the options carry a timestamp option (RFC 7323,
	// kind 8, length 10).
	HasTS bool
	// OptionsTruncated is set when the captured bytes end inside the TCP
	// options (small snaplen): the fixed header was decoded, options may not.
	OptionsTruncated bool

	// PayloadLen is the transport payload length taken from the IP length
	// fields (for TCP: IP payload length minus the TCP header length; for
	// UDP: the UDP length field minus 8; for ESP: the whole IP payload), so
	// that a short snaplen does not change it. Where the IP length field is
	// 0 (TSO, jumbograms) the captured length is used, as Wireshark does.
	// It is negative for a TCP segment whose IP payload is shorter than
	// its own header (data offset): Wireshark flags it "short segment"
	// and leaves it out of the sequence analysis.
	PayloadLen int
	// Payload holds the captured payload bytes, at most PayloadLen long
	// (shorter when the snaplen cut the frame). It aliases the frame,
	// except after IPComp, where it points into the Decoder's inflate
	// buffer, valid until the next Decode.
	Payload []byte
}

// Flag reports whether all bits in f are set.
func (p *Packet) Flag(f uint16) bool { return p.Flags&f == f }

// SrcAddrPort returns the source address and port.
func (p *Packet) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Src, p.SrcPort) }

// DstAddrPort returns the destination address and port.
func (p *Packet) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Dst, p.DstPort) }
