package decode

import (
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// FuzzDecode checks that Decode never panics and keeps the Packet
// invariants on any bytes, any link type and any original length, and
// that DecodeLayout decodes the same with a Layout inside the frame. It is
// seeded with the hand-built frames and with frames of the public
// captures when they are present.
func FuzzDecode(f *testing.F) {
	for _, tc := range frameCases() {
		f.Add(tc.frame, tc.linkType, len(tc.frame))
	}
	if pub, err := testcaps.Locate(f); err == nil {
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
	d, dl := NewDecoder(), NewDecoder()
	var l Layout
	// dirty sets every fingerprint field (TTL, IP-ID, DF, timestamps)
	// before the second decoding of each input.
	dirty := eth(0x0800, withIPv4(ipv4(ProtoTCP, -1, 0, tcpDataTS()), 117, 0xbeef, true))
	f.Fuzz(func(t *testing.T, data []byte, linkType uint16, origLen int) {
		p := Packet{OrigLen: origLen}
		err := d.Decode(data, linkType, &p)
		checkProperties(t, d, data, &p)
		if p.OrigLen != origLen {
			t.Fatalf("OrigLen changed")
		}
		// Decoding the same bytes again after another frame gives the
		// same Packet: nothing of the other frame stays behind.
		sum, fp := summarize(&p), fingerprintOf(&p)
		var q Packet
		if d.Decode(dirty, LinkEthernet, &q) != nil || !q.HasTS || !q.DF {
			t.Fatalf("the dirty frame does not decode: %+v", fingerprintOf(&q))
		}
		q.OrigLen = origLen
		err2 := d.Decode(data, linkType, &q)
		if (err == nil) != (err2 == nil) || summarize(&q) != sum || fingerprintOf(&q) != fp {
			t.Fatalf("decoded twice:\n %+v %+v (err %v)\n %+v %+v (err %v)", sum, fp, err, summarize(&q), fingerprintOf(&q), err2)
		}
		// DecodeLayout decodes the same and records a Layout that lies
		// in the frame.
		q = Packet{OrigLen: origLen}
		err3 := dl.DecodeLayout(data, linkType, &q, &l)
		if (err == nil) != (err3 == nil) || summarize(&q) != sum || fingerprintOf(&q) != fp || q.Src != p.Src || q.Dst != p.Dst {
			t.Fatalf("DecodeLayout:\n %+v %+v (err %v)\nDecode:\n %+v %+v (err %v)", summarize(&q), fingerprintOf(&q), err3, sum, fp, err)
		}
		checkLayout(t, "fuzz", data, &q, &l)
	})
}
