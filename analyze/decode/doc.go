// Package decode turns the bytes of one captured frame into a Packet: the
// innermost IP header and its TCP, UDP or ESP header, with nothing allocated
// per packet.
//
// A Decoder drives gopacket's DecodingLayerParser with decoding layers of
// this package only, under layer types of its own (link.go). gopacket's
// decoding layers (package gopacket/layers) are not used: it lacks some
// (Linux SLL2, NFLOG, Cisco HDLC, VN-Tag, ERSPAN III), some of its own
// read fields without checking the length (Linux SLL, GRE, ERSPAN II) or
// reject headers that Wireshark decodes (IPv4 with total length 0, TCP
// headers whose options were cut by the snaplen), and its package
// initialization alone fills tables of 65,536 entries, about 20 ms of
// every start of the program (issue 14). The Ethernet, 802.1Q, LLC, SNAP
// and BSD loopback layers decode as gopacket's do;
// TestLinkLayersAgainstGopacket compares them.
//
// # Link types
//
// Decode takes the LINKTYPE_ value of the frame's interface:
//
//   - 0 NULL and 108 LOOP: 4-byte address family in either byte order
//     (AF_INET 2; AF_INET6 10, 24, 28, 30).
//   - 1 ETHERNET, with any number of 802.1Q / 802.1ad tags (0x8100, 0x88a8,
//     0x9100, 0x9200), VN-Tag (0x8926), PPPoE session (0x8864), MPLS
//     (0x8847, 0x8848) and 802.3 length frames with LLC/SNAP.
//   - 9 PPP, 50 PPP_HDLC and 204 PPP_WITH_DIR: optional ff 03, one- or
//     two-byte protocol; a LINKTYPE_PPP frame starting with a Cisco HDLC
//     address (0x0f, 0x8f) is decoded as Cisco HDLC, as Wireshark does.
//   - 104 C_HDLC and 205 C_HDLC_WITH_DIR.
//   - 101 RAW and the raw DLT values 12 and 14 (IPv4 or IPv6 by the version
//     nibble), 228 IPV4, 229 IPV6.
//   - 105 IEEE802_11 (data frames without FCS).
//   - 113 LINUX_SLL and 276 LINUX_SLL2.
//   - 239 NFLOG (TLV attributes in either byte order, payload attribute 9).
//
// Any other link type yields ErrUnsupportedLink.
//
// # Tunnels
//
// The Packet describes the innermost IP header and its transport. Decode
// follows IP-in-IP (4, 41), GRE versions 0 and 1 (checksum, key,
// sequence, routing, PPTP acknowledgment) carrying IPv4, IPv6, transparent
// Ethernet bridging (0x6558), ERSPAN types I, II (0x88be) and III (0x22eb),
// MPLS, PPP, and Aruba WLAN (0x8200-0x82ff: an 802.11 frame without FCS),
// GTPv1-U G-PDUs (UDP port 2152) and VXLAN (UDP port 4789), which
// Wireshark also decodes by default,
// MPLS label stacks (IPv4 or IPv6 by the first nibble after the bottom
// label), and 802.11 data and QoS data frames (addresses per the DS bits,
// LLC/SNAP to IP). IPv6 extension headers (hop-by-hop with the jumbo
// payload option, routing, fragment, destination options, mobility) and
// AH (over IPv4 and IPv6) are skipped; Proto is the protocol after them.
// IPComp (RFC 3173) payloads are inflated as raw DEFLATE (RFC 2394) into a
// buffer of the Decoder, whatever the CPI, as Wireshark does, and decoded
// as their next header says; Payload then points into that buffer, valid
// until the next Decode. A payload that does not inflate leaves Proto at
// 108 without transport; one cut by the snaplen yields what inflated
// before the cut, as in Wireshark. Output beyond 64 KiB is dropped.
//
// # Lengths
//
// PayloadLen comes from the IP length fields, so a short snaplen does not
// change it; Payload is the captured part. As in Wireshark, an IPv4 total
// length of 0 (TSO, BIG TCP) or an IPv6 payload length of 0 without a jumbo
// option means "the rest of the frame", and an IP length beyond the frame
// on the wire (OrigLen) is clamped to it. An IPv4 total length below the
// header length is an error. Only the 20-byte fixed TCP header needs to be
// captured; options cut short set OptionsTruncated. A TCP segment whose
// IP payload is shorter than its data offset (Wireshark's "short
// segment", left out of its sequence analysis) has a negative PayloadLen. Options whose length
// field lies end option parsing.
//
// # Fragments and ICMP errors
//
// For an IPv4 or IPv6 fragment, Fragment and FragOffset are set and the
// transport is decoded only from the first fragment (offset 0). Decode does
// not reassemble: Wireshark, which reassembles by default, reports the
// transport of a fragmented datagram on its last fragment instead; with
// ip.defragment and ipv6.defragment off it agrees with Decode.
//
// For an ICMP or ICMPv6 error (destination unreachable, source quench,
// redirect, time exceeded, parameter problem, packet too big), Decode
// decodes the quoted IP header and its transport and sets InError; IP
// addresses, Proto and ports are then those of the quoted packet, and a
// quoted TCP header may hold only ports and sequence number (8 bytes). If
// the quoted packet cannot be decoded, the Packet describes the ICMP
// message itself (Proto 1 or 58, no transport).
//
// # Layout
//
// DecodeLayout also records where the decoder found each part of the
// frame (Layout): every header it read, as far as captured (also up to
// where a frame turned out malformed, and the link headers, ARP and
// 802.11 management and control frames of frames that hold no IP), the
// MAC, IP address and port fields, the checksum fields (IPv4 header,
// TCP, UDP, ICMP, ICMPv6, GRE) and what they cover, and the transport
// payload. The anonymizer (analyze/rewrite) writes its copy of a frame
// from it, so that the copy is walked exactly as the decoder walks the
// original. The link types, EtherTypes and IP protocol numbers the
// walk follows, with their names, are one table (table.go), which also
// names link types for analyze.LinkTypeName.
//
// # Not supported
//
// IP reassembly; other tunnels over UDP (Geneve, Teredo, L2TP; NAT-T
// UDP-encapsulated ESP on port 4500 is reported as UDP with the ESP bytes
// as Payload);
// 802.11 with radiotap or FCS, encrypted 802.11, A-MSDU; MPLS pseudowires
// with a control word; IPComp with other algorithms than DEFLATE, or with
// a zlib or gzip wrapper (which Wireshark accepts); SCTP and other
// transports (Proto is set, HasTransport is not).
package decode
