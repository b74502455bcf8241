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
// The frame is decoded by analyze/decode, and its Layout (every header
// of every link type, tunnel and ICMP error the decoder follows, as far
// as the decoder read it) says what is copied: the rewriter walks no
// protocol of its own. Headers are copied with:
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
// type and length, frames of link types the decoder does not know and
// frames with more headers than its Layout holds (entirely), and the
// payload of later IP fragments.
//
// IPComp payloads are compressed: the inner packet cannot be rewritten in
// place, so only the 4-byte IPComp header is kept, and the analysis of the
// copy sees IPComp packets without their inner transport.
package rewrite

import (
	"errors"
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
// frames from elsewhere; Anonymize is the usual entry point. Each call
// hands its blocks to w before it returns, so that w holds a complete
// pcapng file after every call.
type Writer struct {
	pw     *capfile.Writer
	f      frame
	ifaces map[int]int // input interface -> output interface
	nsec   bool
	stats  Stats
	err    error
}

// NewWriter returns a Writer that writes to w with mapper m; nsec selects
// nanosecond timestamps (if_tsresol 9) rather than microseconds.
func NewWriter(w io.Writer, m *anon.Mapper, nsec bool) *Writer {
	return &Writer{pw: capfile.NewWriter(w, "", capfile.Section{}), f: frame{m: m}, ifaces: map[int]int{}, nsec: nsec}
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

// start writes the section header block (capfile.NewWriter put it in
// the buffer: no options).
func (w *Writer) start() { w.sync() }

// sync hands the blocks written so far to the output, and keeps the first
// write error as the output returned it.
func (w *Writer) sync() {
	if err := w.pw.Flush(); err != nil && w.err == nil {
		w.err = err
		var we *capfile.WriteError
		if errors.As(err, &we) {
			w.err = we.Err
		}
	}
	w.stats.Bytes = w.pw.Offset()
}

// iface returns the output interface number of input interface i with
// link type lt, writing its description block on first use: snaplen 0
// (not known) and, for nanoseconds, if_tsresol 9.
func (w *Writer) iface(i int, lt uint16) int {
	if id, ok := w.ifaces[i]; ok {
		return id
	}
	var resol uint8 // microseconds: if_tsresol left out
	if w.nsec {
		resol = 9
	}
	id, _ := w.pw.AddInterface(capfile.Interface{LinkType: lt, TSResol: resol}) // an error is sticky
	w.ifaces[i] = id
	w.stats.Interfaces++
	return id
}

// WritePacket writes the anonymized copy of one frame.
func (w *Writer) WritePacket(info capfile.FrameInfo, data []byte) {
	id := w.iface(info.Iface, info.LinkType)
	out := w.f.rewrite(info.LinkType, info.OrigLen, data)

	// The original timestamp (0 before 1970), captured and wire lengths,
	// no options.
	w.pw.WritePacket(capfile.Packet{Iface: id, Time: info.Time, OrigLen: max(info.OrigLen, 0), Data: out})
	w.sync()
	w.stats.Packets++
	w.stats.Frames++
}

// Frames rewrites frames one at a time exactly as Anonymize does, for a
// caller that writes them itself (with capfile.Writer): the evidence
// capture of "ctcpdiag analyze --evidence --anonymize" writes some frames
// of a capture, with comments, through it. It remembers, as Anonymize
// does, which TCP flow directions carried a cTCP trailer, so it must see
// a flow's frames in capture order. A Frames is not safe for concurrent
// use; Rewrite does not allocate once its buffer has grown.
type Frames struct{ f frame }

// NewFrames returns a Frames that maps addresses with m.
func NewFrames(m *anon.Mapper) *Frames { return &Frames{f: frame{m: m}} }

// Rewrite returns the anonymized copy of the frame data of the given link
// type and wire length (as FrameInfo gives them): the same length as
// data, valid until the next call.
func (r *Frames) Rewrite(linkType uint16, origLen int, data []byte) []byte {
	return r.f.rewrite(linkType, origLen, data)
}

// rewrite runs the frame on data and returns the copy.
func (f *frame) rewrite(linkType uint16, origLen int, data []byte) []byte {
	f.in = data
	if cap(f.out) < len(data) {
		f.out = make([]byte, len(data), max(len(data), 2048))
	}
	f.out = f.out[:len(data)]
	f.run(linkType, origLen)
	f.in = nil
	return f.out
}

// Placeholder writes an empty custom block: it uses up one frame number,
// in Wireshark and in capfile, and carries nothing.
func (w *Writer) Placeholder() {
	w.pw.WriteCustom(0, nil, false) // "not to be copied", private enterprise number 0
	w.sync()
	w.stats.Placeholders++
	w.stats.Frames++
}
