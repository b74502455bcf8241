// Package rewrite writes an anonymized copy of a capture: every IP and
// MAC address replaced by its pseudonym (internal/anon), every payload
// byte the analysis does not need set to zero, and nothing else of the
// original file kept. ctcpdiag's analysis of the copy gives the same
// packets, sessions, verdict and findings as the original's, with the
// addresses mapped.
//
// # What is written
//
// One pcapng section (little-endian, no options), one interface
// description block per input interface, in order of first use, with
// only its link type, snaplen 0 (not known to the reader) and, unless
// the input was a microsecond pcap, if_tsresol 9 (nanoseconds): no
// interface names, descriptions, addresses, filters, comments, no name
// resolution, statistics, secrets or custom data. Every frame becomes an
// enhanced packet block with the original timestamp, captured and wire
// lengths, and no options. Frame numbers stay equal: a pcapng custom,
// systemd journal or sysdig block, which Wireshark numbers as a frame,
// becomes an empty custom block (type 0x40000bad, "not to be copied",
// private enterprise number 0, no data), which Wireshark and the reader
// number the same way. A timestamp before 1970 is written as 0.
//
// # What is kept of each frame
//
// The frame is walked as the decoder walks it (every link type, tunnel
// and ICMP error it follows). Headers are copied with:
//
//   - IPv4 and IPv6 source and destination addresses mapped, in every IP
//     header (outer, tunnels, the header quoted by an ICMP error), ARP
//     sender and target protocol addresses, an ICMP redirect's gateway;
//   - MAC addresses mapped in Ethernet headers (also inside VXLAN, GRE
//     bridging and ERSPAN), Linux cooked headers, 802.11 headers and ARP;
//   - IPv4 options, and the bodies of IPv6 routing, destination-options
//     and mobility headers, zeroed (they may carry addresses); the IPv4
//     header checksum recomputed;
//   - TCP, UDP, ICMP, ICMPv6 and GRE checksums adjusted incrementally
//     (RFC 1624) for every byte changed, so a checksum stays valid even
//     where the snaplen cut the segment, and a wrong one stays wrong by
//     the same amount; a UDP checksum of 0 stays 0.
//
// Of the payloads, only what the analysis reads is kept: the ESP SPI and
// sequence number (8 bytes); on UDP 500 and 4500 the non-ESP marker and
// the 28-byte IKE header, or the ESP header, and a NAT-T keepalive's
// 0xff; on UDP 10000 the ESP header; a DTLS record header (13 bytes) on
// UDP 443; on TCP the RFC 8229 "IKETCP" prefix, a TLS record header (5
// bytes), and for a segment ending in Cisco's cTCP trailer the first 8
// bytes (ESP header, or UDP 500 header plus the IKE header) and the
// 16-byte trailer; where a TCP proxy re-segmented a cTCP stream, also
// every trailer inside the segment with the message head after it, and
// the segment's first and last 16 bytes (pieces of a trailer or head
// that span segments), also of segments without a trailer in a flow
// direction that carried one. In those segments the bytes not kept are
// 0xff rather than zero: a run of zeros beside kept bytes could look like
// a trailer to the framing. A TCP segment cut by the snaplen keeps its first 8
// bytes (36 for IKE), because the analysis recognises cTCP by them when
// the trailer was cut off: up to 8 bytes of such segments of any TCP
// connection survive. Everything else is zero: other payloads, the ICMP
// data after the quoted headers, Ethernet padding, non-IP frames after
// their link header (ARP keeps its header with mapped addresses),
// NFLOG attributes other than the packet header, timestamp, hardware
// type and length, frames of link types the decoder does not know
// (entirely), and the payload of later IP fragments.
//
// IPComp payloads are compressed: the inner packet cannot be rewritten in
// place, so only the 4-byte IPComp header is kept, and the analysis of the
// copy sees IPComp packets without their inner transport.
package rewrite

import (
	"encoding/binary"
	"io"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// Stats count what Anonymize wrote.
type Stats struct {
	// Frames is the number of frame numbers written: Packets plus
	// Placeholders. It equals the input's frame count (capfile's Frames).
	Frames uint64
	// Packets are the frames written as enhanced packet blocks.
	Packets uint64
	// Placeholders are the empty custom blocks written for input blocks
	// that carry a frame number but no packet.
	Placeholders uint64
	// Interfaces is the number of interface description blocks written.
	Interfaces int
	// Bytes is the size of the output.
	Bytes int64
}

// AnonymizeFile is Anonymize reading the capture at path.
func AnonymizeFile(path string, out io.Writer, m *anon.Mapper) (Stats, error) {
	src, err := capfile.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	return anonymize(src, out, m)
}

// Anonymize reads a capture (any format capfile reads) from in, named
// name in errors, and writes its anonymized copy to out as pcapng (see
// the package comment). An unreadable file header is returned as
// capfile's *InputError before anything is written. Damage later in the
// input ends the copy after every good frame: the output is then a
// complete pcapng file of those frames, and the *InputError is returned
// with the Stats. An error writing out is returned as it is.
func Anonymize(in io.Reader, name string, out io.Writer, m *anon.Mapper) (Stats, error) {
	src, err := capfile.New(in, name)
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	return anonymize(src, out, m)
}

// Writer is the per-packet part of Anonymize: a pcapng writer that
// rewrites each frame. It is exported for benchmarks and tools that feed
// frames from elsewhere; Anonymize is the usual entry point.
type Writer struct {
	w       io.Writer
	f       frame
	buf     []byte // block being written
	ifaces  map[int]uint32
	nsec    bool
	started bool
	stats   Stats
	err     error
}

// NewWriter returns a Writer that writes to w with mapper m; nsec selects
// nanosecond timestamps (if_tsresol 9) rather than microseconds.
func NewWriter(w io.Writer, m *anon.Mapper, nsec bool) *Writer {
	return &Writer{w: w, f: frame{m: m}, ifaces: map[int]uint32{}, nsec: nsec, buf: make([]byte, 0, 64<<10)}
}

func anonymize(src *capfile.Source, out io.Writer, m *anon.Mapper) (Stats, error) {
	w := NewWriter(out, m, src.Format() != "pcap")
	w.start()
	var last uint64
	for src.Next() {
		info := src.Info()
		for last+1 < info.Frame {
			w.Placeholder()
			last++
		}
		w.WritePacket(info, src.Data())
		last = info.Frame
	}
	for last < src.Frames() {
		w.Placeholder()
		last++
	}
	if w.err != nil {
		return w.stats, w.err
	}
	if err := src.Err(); err != nil {
		return w.stats, err
	}
	return w.stats, nil
}

// Stats returns what has been written so far.
func (w *Writer) Stats() Stats { return w.stats }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// start writes the section header block.
func (w *Writer) start() {
	if w.started {
		return
	}
	w.started = true
	b := w.buf[:0]
	b = le32(b, 0x0a0d0d0a)
	b = le32(b, 28)
	b = le32(b, 0x1a2b3c4d)
	b = le16(b, 1)
	b = le16(b, 0)
	b = le64(b, ^uint64(0)) // section length unknown
	b = le32(b, 28)
	w.flush(b)
}

func (w *Writer) flush(b []byte) {
	w.buf = b[:0]
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.stats.Bytes += int64(n)
	if err != nil {
		w.err = err
	}
}

// iface returns the output interface number of input interface i with
// link type lt, writing its description block on first use.
func (w *Writer) iface(i int, lt uint16) uint32 {
	if id, ok := w.ifaces[i]; ok {
		return id
	}
	id := uint32(len(w.ifaces))
	w.ifaces[i] = id
	b := w.buf[:0]
	n := 20
	if w.nsec {
		n += 12 // if_tsresol (4 + 1, padded to 8) and opt_endofopt (4)
	}
	b = le32(b, 1)
	b = le32(b, uint32(n))
	b = le16(b, lt)
	b = le16(b, 0)
	b = le32(b, 0) // snaplen: not known
	if w.nsec {
		b = le16(b, 9)
		b = le16(b, 1)
		b = append(b, 9, 0, 0, 0)
		b = le32(b, 0)
	}
	b = le32(b, uint32(n))
	w.flush(b)
	w.stats.Interfaces++
	return id
}

// WritePacket writes the anonymized copy of one frame.
func (w *Writer) WritePacket(info capfile.FrameInfo, data []byte) {
	w.start()
	id := w.iface(info.Iface, info.LinkType)
	w.f.in = data
	if cap(w.f.out) < len(data) {
		w.f.out = make([]byte, len(data), max(len(data), 2048))
	}
	w.f.out = w.f.out[:len(data)]
	w.f.run(info.LinkType, info.OrigLen)

	var ts uint64
	if info.Time > 0 {
		ts = uint64(info.Time)
		if !w.nsec {
			ts /= 1000
		}
	}
	pad := (4 - len(data)%4) % 4
	n := 32 + len(data) + pad
	b := w.buf[:0]
	b = le32(b, 6)
	b = le32(b, uint32(n))
	b = le32(b, id)
	b = le32(b, uint32(ts>>32))
	b = le32(b, uint32(ts))
	b = le32(b, uint32(len(data)))
	b = le32(b, uint32(max(info.OrigLen, 0)))
	b = append(b, w.f.out...)
	b = append(b, zeros[:pad]...)
	b = le32(b, uint32(n))
	w.flush(b)
	w.stats.Packets++
	w.stats.Frames++
}

// Placeholder writes an empty custom block: it uses up one frame number,
// in Wireshark and in capfile, and carries nothing.
func (w *Writer) Placeholder() {
	w.start()
	b := w.buf[:0]
	b = le32(b, 0x40000bad)
	b = le32(b, 16)
	b = le32(b, 0) // private enterprise number
	b = le32(b, 16)
	w.flush(b)
	w.stats.Placeholders++
	w.stats.Frames++
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

var zeros [4]byte
