package decode_test

import (
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

func ExampleDecoder_Decode() {
	// A raw IPv4 frame (LINKTYPE_RAW) holding a TCP SYN from
	// 10.0.0.1:1234 to 10.0.0.2:80 with an MSS option.
	frame := []byte{
		0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0,
		2, 4, 0x05, 0xb4,
	}
	d := decode.NewDecoder()
	p := decode.Packet{Frame: 1, CapLen: len(frame), OrigLen: len(frame)}
	if err := d.Decode(frame, decode.LinkRaw, &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.SrcAddrPort(), "->", p.DstAddrPort(), "seq", p.Seq, "SYN", p.Flag(decode.FlagSYN), "MSS", p.MSS)
	// Output: 10.0.0.1:1234 -> 10.0.0.2:80 seq 1000 SYN true MSS 1460
}
