package decode

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics and keeps the Packet
// invariants on any bytes, any link type and any original length. It is
// seeded with the hand-built frames and with frames of the public
// captures when they are present.
func FuzzDecode(f *testing.F) {
	for _, tc := range frameCases() {
		f.Add(tc.frame, tc.linkType, len(tc.frame))
	}
	if pub, ok := fuzzPublicDir(); ok {
		for _, name := range []string{
			"zeek__gre-aruba.pcap", "zeek__pppoe-over-qinq.pcap", "zeek__mixed-vlan-mpls.pcap",
			"zeek__nflog-http.pcap", "zeek__openjdk-25.0.2-zeek.org.pcap", "ndpi__reasm_segv_anon.pcapng",
			"tcpdump__tcp_header_heapoverflow.pcap", "ndpi__BGP_Cisco_hdlc_slarp.pcap", "ndpi__dtls.pcap",
			"zeek__vntag.pcap", "ndpi__ipsec_isakmp_esp.pcap", "tcpdump__mptcp-v1.pcap", "libpcap__AH-IPcomp-IPv4.pcap",
		} {
			frames, _ := readCapture(filepath.Join(pub, name))
			for i, fr := range frames {
				if i == 8 {
					break
				}
				f.Add(fr.data, fr.linkType, fr.origLen)
			}
		}
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte, linkType uint16, origLen int) {
		p := Packet{OrigLen: origLen}
		_ = d.Decode(data, linkType, &p)
		checkProperties(t, d, data, &p)
		if p.OrigLen != origLen {
			t.Fatalf("OrigLen changed")
		}
	})
}

// fuzzPublicDir finds the public captures without skipping.
func fuzzPublicDir() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			pub := filepath.Join(dir, "..", "shared", "captures", "public")
			_, err := os.Stat(pub)
			return pub, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
