// Command floor is the per-packet floor of scripts/bench.sh (issue 14,
// item 1): the least a Go program does to look at every packet of a pcap
// with gopacket. It reads the file in 1 MiB pieces with read(2) and hands
// each record in place (zero copy: the packet is a slice of the read
// buffer; only a record cut by the end of a piece is moved) to a
// gopacket.DecodingLayerParser of layers.Ethernet, IPv4, IPv6, TCP and UDP
// (IgnoreUnsupported), nothing else: no flows, no analysis, no output but
// the counts. It prints the number of packets, of packets with a TCP and
// with a UDP layer, and of packets the parser returned an error for.
//
// With -mmap (Unix) it maps the whole file instead and slices each record
// out of the mapping, so that not even read(2) copies; where the first
// touch of a mapped page costs more than that copy (on some virtual
// machines: about 2.5 µs a page) this is the slower of the two.
//
// pcapgo is not used: it needs golang.org/x/net, which is not among the
// module's dependencies, and its ZeroCopyReadPacketData still copies every
// packet out of a bufio.Reader. Only uncompressed pcap files (either byte
// order, micro- or nanosecond) with Ethernet link type are read.
//
// Usage:
//
//	go run ./scripts/floor [-mmap] FILE.pcap
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func main() {
	mmap := flag.Bool("mmap", false, "slice pcap records out of a mapping of the file instead of reading it")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-mmap] FILE.pcap")
		os.Exit(2)
	}
	var c counts
	var err error
	if *mmap {
		c, err = countMapped(flag.Arg(0))
	} else {
		c, err = countRead(flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("packets %d tcp %d udp %d errors %d\n", c.packets, c.tcp, c.udp, c.errors)
}

// counts is what the floor reports; a decoder counts into it.
type counts struct {
	packets, tcp, udp, errors int

	eth     layers.Ethernet
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcpl    layers.TCP
	udpl    layers.UDP
	p       *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func (c *counts) init() {
	c.p = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &c.eth, &c.ip4, &c.ip6, &c.tcpl, &c.udpl)
	c.p.IgnoreUnsupported = true
	c.decoded = make([]gopacket.LayerType, 0, 8)
}

// decode decodes one packet.
func (c *counts) decode(data []byte) {
	c.packets++
	if c.p.DecodeLayers(data, &c.decoded) != nil {
		c.errors++
	}
	for _, t := range c.decoded {
		switch t {
		case layers.LayerTypeTCP:
			c.tcp++
		case layers.LayerTypeUDP:
			c.udp++
		}
	}
}

// header checks the pcap file header h and returns its byte order.
func header(h []byte) (binary.ByteOrder, error) {
	if len(h) < 24 {
		return nil, fmt.Errorf("not a pcap file: shorter than its header")
	}
	var bo binary.ByteOrder
	switch string(h[:4]) {
	case "\xd4\xc3\xb2\xa1", "\x4d\x3c\xb2\xa1":
		bo = binary.LittleEndian
	case "\xa1\xb2\xc3\xd4", "\xa1\xb2\x3c\x4d":
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a pcap file (pcapng and compressed files are not read)")
	}
	if lt := bo.Uint32(h[20:]) & 0xffff; lt != 1 {
		return nil, fmt.Errorf("link type %d, not Ethernet", lt)
	}
	return bo, nil
}

// records decodes the whole records at the start of b and returns the
// number of bytes they take.
func (c *counts) records(bo binary.ByteOrder, b []byte) int {
	off := 0
	for len(b)-off >= 16 {
		n := int(bo.Uint32(b[off+8:]))
		if n > len(b)-off-16 {
			break
		}
		off += 16
		c.decode(b[off : off+n : off+n])
		off += n
	}
	return off
}

// maxRecord bounds the read buffer against a damaged length field.
const maxRecord = 256 << 20

// countRead reads the file with read(2), 1 MiB at a time.
func countRead(path string) (counts, error) {
	var c counts
	c.init()
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n, err := io.ReadFull(f, buf[:24])
	if err != nil && err != io.ErrUnexpectedEOF {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	bo, err := header(buf[:n])
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	end := 0 // buf[:end] holds bytes not yet decoded
	for {
		n, err := f.Read(buf[end:])
		end += n
		used := c.records(bo, buf[:end])
		end = copy(buf, buf[used:end])
		if err == io.EOF {
			if end > 0 {
				return c, fmt.Errorf("%s: last record cut short", path)
			}
			return c, nil
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		if end == len(buf) { // a record longer than the buffer
			if len(buf) >= maxRecord {
				return c, fmt.Errorf("%s: record longer than %d bytes", path, maxRecord)
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
}

// countMapped slices the records of the file out of a mapping of it.
func countMapped(path string) (counts, error) {
	var c counts
	c.init()
	b, release, err := mapFile(path)
	if err != nil {
		return c, err
	}
	defer release()
	bo, err := header(b)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if 24+c.records(bo, b[24:]) != len(b) {
		return c, fmt.Errorf("%s: last record cut short", path)
	}
	return c, nil
}
