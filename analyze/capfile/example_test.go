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
