package capfile_test

import (
	"bytes"
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

func Example() {
	file := pcapFile(pcapOpts{network: 1},
		rec{sec: 1700000000, frac: 250000, data: make([]byte, 60)},
		rec{sec: 1700000001, data: make([]byte, 1514)})
	src, err := capfile.New(bytes.NewReader(file), "example.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	for src.Next() {
		info := src.Info()
		fmt.Println(info.Frame, info.Time, info.CapLen, info.LinkType)
	}
	if err := src.Err(); err != nil {
		fmt.Println(err)
	}
	fmt.Println(src.Format(), src.Compression(), src.Frames())
	// Output:
	// 1 1700000000250000000 60 1
	// 2 1700000001000000000 1514 1
	// pcap none 2
}

func ExampleInputError() {
	file := pcapFile(pcapOpts{network: 1}, rec{data: make([]byte, 100)}, rec{data: make([]byte, 100)})
	src, _ := capfile.New(bytes.NewReader(file[:200]), "capture.pcap")
	defer src.Close()
	for src.Next() {
	}
	fmt.Println(src.Err())
	// Output:
	// capture.pcap: packet 2 (byte offset 140): truncated packet record
}

func ExampleWriter() {
	var file bytes.Buffer
	w := capfile.NewWriter(&file, "evidence.pcapng", capfile.Section{Comment: "case 42", UserAppl: "ctcpdiag"})
	id, _ := w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9, Name: "outside"})
	w.WritePacket(capfile.Packet{Iface: id, Time: 1700000000250000000, OrigLen: 1514, Data: make([]byte, 96),
		Comment: "third duplicate ACK"})
	if err := w.Flush(); err != nil {
		fmt.Println(err)
		return
	}

	src, err := capfile.New(&file, "evidence.pcapng")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	for code, v := range src.SectionOptions() {
		fmt.Printf("section option %d: %s\n", code, v)
	}
	for src.Next() {
		info := src.Info()
		fmt.Println(info.Frame, info.Time, info.CapLen, info.OrigLen, info.LinkType)
		for code, v := range src.Options() {
			if code == capfile.OptComment {
				fmt.Printf("comment: %s\n", v)
			}
		}
	}
	// Output:
	// section option 1: case 42
	// section option 4: ctcpdiag
	// 1 1700000000250000000 96 1514 1
	// comment: third duplicate ACK
}
