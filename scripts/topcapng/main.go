// Command topcapng converts a capture (pcap or pcapng, optionally gzip or
// zstd compressed) to pcapng, one enhanced packet block per frame, for the
// benchmarks in scripts/bench.sh: a section header without options, one
// interface description block per interface in order of first use (snaplen
// 262144, if_tsresol 9 for a nanosecond pcap, otherwise 6), packets without
// options. On an error OUT is removed.
//
// Usage:
//
//	go run ./scripts/topcapng IN OUT
package main

import (
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
	if err := copyFrames(src, f, out); err != nil {
		f.Close()
		os.Remove(out)
		return err
	}
	return f.Close()
}

// copyFrames writes the frames of src to f, named out in errors.
func copyFrames(src *capfile.Source, f *os.File, out string) error {
	resol := uint8(6)
	if src.Format() == "pcap-nsec" {
		resol = 9
	}
	w := capfile.NewWriter(f, out, capfile.Section{})
	ifaces := map[int]int{} // source interface -> ours
	for src.Next() && w.Err() == nil {
		info := src.Info()
		id, ok := ifaces[info.Iface]
		if !ok {
			id, _ = w.AddInterface(capfile.Interface{LinkType: info.LinkType, SnapLen: 262144, TSResol: resol})
			ifaces[info.Iface] = id
		}
		w.WritePacket(capfile.Packet{Iface: id, Time: info.Time, OrigLen: info.OrigLen, Data: src.Data()})
	}
	if err := src.Err(); err != nil {
		return err
	}
	return w.Flush()
}
