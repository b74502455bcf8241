// Command topcapng converts a capture (pcap or pcapng, optionally gzip or
// zstd compressed) to pcapng, one enhanced packet block per frame, for the
// benchmarks in scripts/bench.sh.
//
// Usage:
//
//	go run ./scripts/topcapng IN OUT
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: topcapng IN OUT")
		os.Exit(2)
	}
	if err := convert(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "topcapng:", err)
		os.Exit(1)
	}
}

func convert(in, out string) error {
	src, err := capfile.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := &writer{bw: bufio.NewWriterSize(f, 1<<20), ifaces: map[int]uint32{}}
	if src.Format() == "pcap-nsec" {
		w.resol, w.units = 9, 1e9
	} else {
		w.resol, w.units = 6, 1e6
	}
	w.shb()
	for src.Next() {
		info := src.Info()
		id, ok := w.ifaces[info.Iface]
		if !ok {
			id = uint32(len(w.ifaces))
			w.ifaces[info.Iface] = id
			w.idb(info.LinkType)
		}
		w.epb(id, info, src.Data())
	}
	if err := src.Err(); err != nil {
		f.Close()
		return err
	}
	if err := w.bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writer writes little-endian pcapng blocks.
type writer struct {
	bw     *bufio.Writer
	ifaces map[int]uint32 // source interface -> our interface id
	resol  byte           // if_tsresol: 10^-resol seconds
	units  int64          // timestamp units per second
	hdr    [28]byte
}

func (w *writer) u32(v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.bw.Write(b[:])
}

// shb writes a section header block without options.
func (w *writer) shb() {
	w.u32(0x0a0d0d0a)
	w.u32(28)
	w.u32(0x1a2b3c4d)
	w.u32(1) // version 1.0
	w.u32(0xffffffff)
	w.u32(0xffffffff) // section length unknown
	w.u32(28)
}

// idb writes an interface description block with if_tsresol.
func (w *writer) idb(linkType uint16) {
	w.u32(1)
	w.u32(32)
	w.u32(uint32(linkType))
	w.u32(262144)          // snaplen
	w.u32(9 | 1<<16)       // option if_tsresol, length 1
	w.u32(uint32(w.resol)) // value and padding
	w.u32(0)               // opt_endofopt
	w.u32(32)
}

// epb writes an enhanced packet block.
func (w *writer) epb(id uint32, info capfile.FrameInfo, data []byte) {
	pad := (4 - len(data)%4) % 4
	blen := uint32(32 + len(data) + pad)
	ts := uint64(info.Time / (1e9 / w.units))
	h := w.hdr[:]
	binary.LittleEndian.PutUint32(h[0:], 6)
	binary.LittleEndian.PutUint32(h[4:], blen)
	binary.LittleEndian.PutUint32(h[8:], id)
	binary.LittleEndian.PutUint32(h[12:], uint32(ts>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(ts))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[24:], uint32(info.OrigLen))
	w.bw.Write(h)
	w.bw.Write(data)
	var zero [3]byte
	w.bw.Write(zero[:pad])
	w.u32(blen)
}
