package samplegen

import (
	"encoding/binary"
	"errors"
	"sort"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// moreScenarios returns the scenarios beyond the core cTCP ones.
func moreScenarios() []Scenario {
	return []Scenario{
		{Name: "tcp-dupack-answered", File: "tcp-dupack-answered.pcap", Expect: "no-ctcp",
			Doc:   "No cTCP. An NDMP control session on TCP 10000 (10.20.0.15 -> 10.20.0.40:10000, record-marked NDMP messages, not cTCP) and an HTTP download over IPv6 captured on the server ([2001:db8:20::beef] -> [2001:db8:10::15]:80) in which a server segment is lost after the capture point: the client sends duplicate ACKs with SACK and the Linux server fast-retransmits the missing segment on the third.",
			Build: func() ([]byte, error) { return buildDupAckAnswered(5).pcap() }},
		{Name: "natt", File: "natt.pcap", Expect: "no-ctcp",
			Doc:   "IKEv1 main mode from a client behind NAT (192.168.1.23 -> 203.0.113.10): UDP 500 with NAT-D payloads, then UDP 4500 with the non-ESP marker, ESP-in-UDP both ways and 1-byte 0xFF NAT-T keepalives every 20 s.",
			Build: func() ([]byte, error) { return buildNATT(6).pcap() }},
		{Name: "esp", File: "esp.pcap", Expect: "no-ctcp",
			Doc:   "IKEv1 main mode on UDP 500 between public addresses (198.51.100.77 -> 203.0.113.10), then native ESP (IP protocol 50) both ways with DPD.",
			Build: func() ([]byte, error) { return buildESP(7).pcap() }},
		{Name: "ike-tcp-rfc8229", File: "ike-tcp-rfc8229.pcap", Expect: "no-ctcp",
			Doc:   "RFC 8229 IKEv2 over TCP 4500 (198.51.100.77 -> 203.0.113.10:4500, Linux stacks): IKETCP prefix, length-prefixed IKE (non-ESP marker) and ESP messages, one spanning two segments and two sharing one. A client segment lost after the capture point gets duplicate ACKs and is retransmitted.",
			Build: func() ([]byte, error) { return buildRFC8229(8).pcap() }},
		{Name: "ctcp-port-8000", File: "ctcp-port-8000.pcap", Expect: "affected",
			Doc:   "The ctcp-proxy-stall failure on a non-default port (public client 198.51.100.77 -> 203.0.113.10:8000, ASA outside capture): cTCP recognisable only by content.",
			Build: func() ([]byte, error) { return buildStall(&stallOpts{seed: 9, port: 8000}).pcap() }},
		{Name: "ctcp-two-interfaces-snap96", File: "ctcp-two-interfaces-snap96.pcapng", Expect: "affected",
			Doc:   "pcapng, snaplen 96, two interfaces of an inspecting ASA: outside (Ethernet) and inside (raw IP, client sequence numbers randomised by the ASA). Public client 198.51.100.77 -> 203.0.113.10:10000. A client segment is lost before the ASA (outside: previous segment not captured); the ASA (static NAT 203.0.113.10 = 10.1.1.10 inside) sends 3 duplicate ACKs on the outside and forwards nothing past the hole to the inside. The trailer is cut off on large segments but visible on small ones.",
			Build: buildTwoInterfaces},
		{Name: "ctcp-truncated", File: "ctcp-truncated.pcap", Expect: "affected",
			Doc:   "The ctcp-proxy-stall capture (client 192.168.1.23, behind NAT) cut in the middle of a record a few packets after the duplicate ACKs, as a capture copied while still being written.",
			Build: buildTruncated},
		{Name: "anyconnect", File: "anyconnect.pcap", Expect: "no-ctcp",
			Doc:   "AnyConnect from a client behind NAT (192.168.1.23 -> 203.0.113.10): TLS 1.3 on TCP 443 with SNI vpn.example.com, then DTLS 1.2 (record type 0x17, version 0xfefd) on UDP 443 from the same client.",
			Build: func() ([]byte, error) { return buildAnyConnect(12).pcap() }},
		{Name: "ctcp-oneway-stall", File: "ctcp-oneway-stall.pcap", Expect: "affected",
			Doc:   "Captured between an inspecting proxy and the headend (public client 198.51.100.77 -> 203.0.113.10:10000): no duplicate ACK is visible, but client->headend data stops for about 40 s while the headend keeps sending ESP and DPD messages, to the end of the capture: the failure seen beyond the device (affected, probable).",
			Build: func() ([]byte, error) { return buildOneWay(13).pcap() }},
		{Name: "ctcp-proxy-resegmented", File: "ctcp-proxy-resegmented.pcap", Expect: "at-risk",
			Doc:   "Captured between a TCP-terminating proxy and the headend (public client 198.51.100.77 -> 203.0.113.10:10000; headend TTL 64, client side TTL 61): a loss-free session, IKE then ESP both ways, in which the proxy re-segments the client's stream: client->headend segments carry two whole messages, or end in the middle of a message whose rest starts the next segment. No loss, duplicate ACK, retransmission or stall, ESP sequence numbers continuous; but a TCP stack answers in the client's name, so one lost segment would stall the tunnel (at-risk, probable).",
			Build: func() ([]byte, error) { return buildProxyResegmented(14).pcap() }},
	}
}

// realDownload sends n segments of size bytes from t.sv to t.cl as a Linux
// sender does, seen from a capture point at the sender: bursts of data,
// then the receiver's ACKs one round trip later. Segments whose index is in
// lost are lost after the capture point; the receiver then sends duplicate
// ACKs with SACK and the sender fast-retransmits on the third one.
func realDownload(c *capture, t *tcpConn, n, size int, rtt time.Duration, lost map[int]bool) {
	i := 0
	burst := 4
	for i < n {
		type segInfo struct {
			end  seq.Value
			lost bool
		}
		var segs []segInfo
		t0 := c.now
		for k := 0; k < burst && i < n; k++ {
			o := sent
			if lost[i] {
				o = lostOut
			}
			s := t.segment(t.sv, flACK, c.randBytes(size), o)
			segs = append(segs, segInfo{end: s.Add(seq.Size(size)), lost: lost[i]})
			i++
			c.wait(c.jit(115*time.Microsecond, 0.3))
		}
		c.now = t0.Add(c.jit(rtt, 0.1))
		var hole *seq.Value
		dups := 0
		lastAck := t.cl.rcv
		for k, sg := range segs {
			switch {
			case sg.lost && hole == nil:
				h := sg.end.Add(^seq.Size(size - 1)) // sg.end - size
				hole = &h
			case hole != nil:
				a := *hole
				t.segment(t.cl, flACK, nil, segOpts{capture: true, deliver: true, ack: &a,
					sack: [][2]seq.Value{{hole.Add(seq.Size(size)), sg.end}}})
				if lastAck == a {
					dups++
				}
				lastAck = a
				if dups == 3 {
					c.wait(c.jit(35*time.Microsecond, 0.3))
					t.segment(t.sv, flACK, c.randBytes(size), segOpts{capture: true, deliver: true, seq: hole})
				}
			case k%2 == 1 || k == len(segs)-1:
				a := sg.end
				t.segment(t.cl, flACK, nil, segOpts{capture: true, deliver: true, ack: &a})
				lastAck = a
			}
			c.wait(c.jit(115*time.Microsecond, 0.3))
		}
		if hole != nil {
			c.wait(c.jit(rtt, 0.1))
			t.ack(t.cl)
		}
		if burst < 24 {
			burst *= 2
		}
	}
}

// ndmpMsg returns a record-marked NDMP message.
func ndmpMsg(seqno uint32, ts uint32, reply bool, code uint32, replySeq uint32, body []byte) []byte {
	h := make([]byte, 4, 28+len(body))
	binary.BigEndian.PutUint32(h, 0x80000000|uint32(24+len(body)))
	h = binary.BigEndian.AppendUint32(h, seqno)
	h = binary.BigEndian.AppendUint32(h, ts)
	mt := uint32(0)
	if reply {
		mt = 1
	}
	h = binary.BigEndian.AppendUint32(h, mt)
	h = binary.BigEndian.AppendUint32(h, code)
	h = binary.BigEndian.AppendUint32(h, replySeq)
	h = binary.BigEndian.AppendUint32(h, 0)
	return append(h, body...)
}

func xdrString(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	b = append(b, s...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func buildDupAckAnswered(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "ens192", snaplen: 262144})
	// NDMP: backup server (DMA) to a NAS on TCP 10000, same LAN.
	dma := newHost(macServer, "10.20.0.15", 64, true, 0x4411)
	nas := newHost([6]byte{0x00, 0xa0, 0x98, 0x3b, 0x7c, 0x01}, "10.20.0.40", 64, true, 0x7d20)
	t := newTCP(c, dma, uint16(32768+c.rng.IntN(28000)), stackLinux, nas, 10000, stackLinux)
	t.cl.out = true
	lan := 400 * time.Microsecond
	t.handshake(lan)
	ts := uint32(Start.Unix())
	c.wait(c.jit(2*time.Millisecond, 0.3))
	body := binary.BigEndian.AppendUint32(nil, 0)
	body = binary.BigEndian.AppendUint32(body, 4)
	body = append(body, xdrString("Connection successful")...)
	t.send(t.sv, ndmpMsg(1, ts, false, 0x502, 0, body)) // NDMP_NOTIFY_CONNECTED
	c.wait(c.jit(lan/4, 0.3))
	t.ack(t.cl)
	c.wait(c.jit(3*time.Millisecond, 0.3))
	t.send(t.cl, ndmpMsg(1, ts, false, 0x900, 0, binary.BigEndian.AppendUint32(nil, 4))) // NDMP_CONNECT_OPEN v4
	c.wait(c.jit(lan, 0.3))
	t.send(t.sv, ndmpMsg(2, ts, true, 0x900, 1, binary.BigEndian.AppendUint32(nil, 0)))
	c.wait(c.jit(2*time.Millisecond, 0.3))
	t.send(t.cl, ndmpMsg(2, ts, false, 0x100, 0, nil)) // NDMP_CONFIG_GET_HOST_INFO
	c.wait(c.jit(lan, 0.3))
	hi := binary.BigEndian.AppendUint32(nil, 0)
	hi = append(hi, xdrString("nas01")...)
	hi = append(hi, xdrString("NetApp")...)
	hi = append(hi, xdrString("9.8")...)
	hi = append(hi, xdrString("4082367488")...)
	t.send(t.sv, ndmpMsg(3, ts, true, 0x100, 2, hi))
	c.wait(c.jit(lan/4, 0.3))
	t.ack(t.cl)

	// HTTP download over IPv6 from this host's web server to a remote client.
	cl6 := newHost([6]byte{0x00, 0x1b, 0x54, 0xc2, 0x9e, 0x40}, "2001:db8:20::beef", 52, false, 0)
	cl6.flow = 0x3a2f1
	sv6 := newHost(macServer, "2001:db8:10::15", 64, false, 0)
	sv6.flow = 0x91c04
	rtt := time.Duration(20+c.rng.IntN(20)) * time.Millisecond
	c.wait(c.jit(300*time.Millisecond, 0.3))
	h := newTCP(c, cl6, uint16(32768+c.rng.IntN(28000)), stackLinux, sv6, 80, stackLinux)
	h.cl.st.mss, h.sv.st.mss = 1440, 1440
	h.sv.out = true
	h.atServer = true
	h.handshake(rtt)
	c.wait(c.jit(300*time.Microsecond, 0.3))
	h.send(h.cl, []byte("GET /downloads/firmware-2.4.1.bin HTTP/1.1\r\nHost: files.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"))
	c.wait(c.jit(400*time.Microsecond, 0.3))
	const segs, size = 120, 1428
	hdr := []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nContent-Length: 171360\r\nConnection: keep-alive\r\n\r\n")
	total := segs*size - len(hdr)
	hdr = []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nContent-Length: " + itoa(total) + "\r\nConnection: keep-alive\r\n\r\n")
	body0 := append(hdr, c.randBytes(size-len(hdr))...)
	h.send(h.sv, body0)
	c.wait(c.jit(200*time.Microsecond, 0.3))
	realDownload(c, h, segs-1, size, rtt, map[int]bool{37: true})
	c.wait(c.jit(5*time.Second, 0.2))
	h.segment(h.cl, flFIN|flACK, nil, sent)
	c.wait(c.jit(80*time.Microsecond, 0.3))
	h.segment(h.sv, flFIN|flACK, nil, sent)
	c.wait(c.jit(rtt, 0.1))
	h.ack(h.cl)

	// NDMP session closes.
	c.wait(c.jit(time.Second, 0.3))
	t.send(t.cl, ndmpMsg(3, ts+6, false, 0x902, 0, nil)) // NDMP_CONNECT_CLOSE
	c.wait(c.jit(lan, 0.3))
	t.segment(t.sv, flFIN|flACK, nil, sent)
	c.wait(c.jit(lan/4, 0.3))
	t.segment(t.cl, flFIN|flACK, nil, sent)
	c.wait(c.jit(lan, 0.3))
	t.ack(t.sv)
	return c
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// mainMode performs IKEv1 main mode messages 1–4 on UDP 500 and 5–6 on
// port p2 (500 or 4500 with the non-ESP marker), then quick mode.
func mainMode(c *capture, cl, he *host, p2 uint16, natd bool, rtt time.Duration) {
	var ispi, rspi [8]byte
	copy(ispi[:], c.randBytes(8))
	m := ikeMsg{ispi: ispi, ver: ikeV1, exch: exMain}
	trs := [][][2]uint16{
		{{1, 7}, {14, 256}, {2, 2}, {4, 14}, {3, 1}, {11, 1}, {12, 28800}},
		{{1, 7}, {14, 128}, {2, 2}, {4, 5}, {3, 1}, {11, 1}, {12, 28800}},
	}
	out := cl.df // client-side capture when the client sets DF
	send := func(from, to *host, port uint16, msg []byte, o bool) {
		if port == 4500 {
			msg = append([]byte{0, 0, 0, 0}, msg...)
		}
		c.udp(from, to, port, port, msg, o)
	}
	send(cl, he, 500, m.plain([]payload{{plSA, ikev1SA(trs)}, {plVID, vidNATT}, {plVID, vidDPD}, {plVID, vidFragm}}), out)
	c.wait(c.jit(rtt, 0.1))
	copy(rspi[:], c.randBytes(8))
	m.rspi = rspi
	send(he, cl, 500, m.plain([]payload{{plSA, ikev1SA(trs[:1])}, {plVID, vidNATT}, {plVID, vidDPD}, {plVID, vidUnity}}), !out)
	c.wait(c.jit(8*time.Millisecond, 0.3))
	p3 := []payload{{plKE, c.randBytes(256)}, {plNonce, c.randBytes(32)}}
	if natd {
		p3 = append(p3, payload{plNATD, c.randBytes(20)}, payload{plNATD, c.randBytes(20)})
	}
	send(cl, he, 500, m.plain(p3), out)
	c.wait(c.jit(rtt, 0.1) + 6*time.Millisecond)
	p4 := []payload{{plKE, c.randBytes(256)}, {plNonce, c.randBytes(32)}, {plVID, c.randBytes(16)}}
	if natd {
		p4 = append(p4, payload{plNATD, c.randBytes(20)}, payload{plNATD, c.randBytes(20)})
	}
	send(he, cl, 500, m.plain(p4), !out)
	c.wait(c.jit(12*time.Millisecond, 0.3))
	send(cl, he, p2, c.ikeEncrypted(m, 5), out)
	c.wait(c.jit(rtt, 0.1))
	send(he, cl, p2, c.ikeEncrypted(m, 5), !out)
	c.wait(c.jit(5*time.Millisecond, 0.3))
	qm := ikeMsg{ispi: ispi, rspi: rspi, ver: ikeV1, exch: exQuick, msgid: c.rng.Uint32()}
	send(cl, he, p2, c.ikeEncrypted(qm, 22), out)
	c.wait(c.jit(rtt, 0.1))
	send(he, cl, p2, c.ikeEncrypted(qm, 11), !out)
	c.wait(c.jit(3*time.Millisecond, 0.3))
	send(cl, he, p2, c.ikeEncrypted(qm, 3), out)
	c.wait(c.jit(200*time.Millisecond, 0.3))
}

func buildNATT(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "eth0", snaplen: 262144})
	cl, _, he := sites(c, true, uint16(seed))
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	mainMode(c, cl, he, 4500, true, rtt)
	out := sa{spi: c.rng.Uint32() | 0x10000000}
	in := sa{spi: c.rng.Uint32() | 0x10000000}
	for i := 0; i < 90; i++ {
		// Bursty interactive traffic with idle gaps; keepalives every 20 s of idle.
		if i%30 == 29 {
			for k := 0; k < 2; k++ {
				c.wait(c.jit(20*time.Second, 0.01))
				c.udp(cl, he, 4500, 4500, []byte{0xff}, true)
			}
		}
		c.udp(cl, he, 4500, 4500, c.espNext(&out, 60+c.rng.IntN(300)), true)
		c.wait(c.jit(rtt, 0.1))
		for k := 0; k < 1+c.rng.IntN(3); k++ {
			c.udp(he, cl, 4500, 4500, c.espNext(&in, 200+c.rng.IntN(1100)), false)
			c.wait(c.jit(400*time.Microsecond, 0.5))
		}
		c.wait(c.jit(150*time.Millisecond, 0.9))
	}
	return c
}

func buildESP(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "outside", snaplen: 262144})
	cl, _, he := sites(c, false, uint16(seed))
	rtt := time.Duration(20+c.rng.IntN(30)) * time.Millisecond
	mainMode(c, cl, he, 500, false, rtt)
	out := sa{spi: c.rng.Uint32() | 0x10000000}
	in := sa{spi: c.rng.Uint32() | 0x10000000}
	for i := 0; i < 80; i++ {
		c.esp(cl, he, c.espNext(&out, 52+c.rng.IntN(300)), false)
		c.wait(c.jit(rtt, 0.1))
		for k := 0; k < 1+c.rng.IntN(4); k++ {
			c.esp(he, cl, c.espNext(&in, 300+c.rng.IntN(1100)), false)
			c.wait(c.jit(500*time.Microsecond, 0.5))
		}
		c.wait(c.jit(200*time.Millisecond, 0.9))
	}
	return c
}

// ikev2SA returns an IKEv2 SA payload body with one IKE proposal.
func ikev2SA() []byte {
	type tr struct {
		typ  byte
		id   uint16
		attr []byte
	}
	trs := []tr{{1, 12, []byte{0x80, 0x0e, 0x01, 0x00}}, {3, 12, nil}, {2, 5, nil}, {4, 19, nil}}
	var tb []byte
	for i, t := range trs {
		last := byte(3)
		if i == len(trs)-1 {
			last = 0
		}
		tb = append(tb, last, 0)
		tb = binary.BigEndian.AppendUint16(tb, uint16(8+len(t.attr)))
		tb = append(tb, t.typ, 0)
		tb = binary.BigEndian.AppendUint16(tb, t.id)
		tb = append(tb, t.attr...)
	}
	p := []byte{0, 0, 0, 0, 1, 1, 0, byte(len(trs))}
	binary.BigEndian.PutUint16(p[2:], uint16(8+len(tb)))
	return append(p, tb...)
}

func notify(typ uint16, data []byte) []byte {
	b := []byte{0, 0}
	b = binary.BigEndian.AppendUint16(b, typ)
	return append(b, data...)
}

func buildRFC8229(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "outside", snaplen: 262144})
	cl, _, he := sites(c, false, uint16(seed))
	rtt := time.Duration(25+c.rng.IntN(40)) * time.Millisecond
	t := newTCP(c, cl, uint16(32768+c.rng.IntN(28000)), stackLinux, he, 4500, stackLinux)
	t.handshake(rtt)
	frameMsg := func(ike bool, msg []byte) []byte {
		if ike {
			msg = append([]byte{0, 0, 0, 0}, msg...)
		}
		return append(binary.BigEndian.AppendUint16(nil, uint16(2+len(msg))), msg...)
	}
	var ispi, rspi [8]byte
	copy(ispi[:], c.randBytes(8))
	ke := append([]byte{0, 19, 0, 0}, c.randBytes(64)...)
	m := ikeMsg{ispi: ispi, ver: ikeV2, exch: 34, flags: ikeV2Ini}
	initReq := m.plain([]payload{{33, ikev2SA()}, {34, ke}, {40, c.randBytes(32)},
		{41, notify(16388, c.randBytes(20))}, {41, notify(16389, c.randBytes(20))}, {41, notify(16430, []byte{0, 2, 0, 3, 0, 4})}})
	c.wait(c.jit(time.Millisecond, 0.3))
	t.send(t.cl, append([]byte("IKETCP"), frameMsg(true, initReq)...))
	c.wait(c.jit(rtt, 0.1))
	copy(rspi[:], c.randBytes(8))
	m.rspi, m.flags = rspi, ikeV2Rsp
	ke2 := append([]byte{0, 19, 0, 0}, c.randBytes(64)...)
	initResp := m.plain([]payload{{33, ikev2SA()}, {34, ke2}, {40, c.randBytes(32)},
		{41, notify(16388, c.randBytes(20))}, {41, notify(16389, c.randBytes(20))}, {38, []byte{4}}})
	t.send(t.sv, frameMsg(true, initResp))
	c.wait(c.jit(3*time.Millisecond, 0.3))
	// IKE_AUTH with certificates: one message spanning two segments.
	sk := func(first byte, n int) []byte {
		body := c.randBytes(16 + n*16 + 16)
		b := []byte{first, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
		return append(b, body...)
	}
	am := ikeMsg{ispi: ispi, rspi: rspi, ver: ikeV2, exch: 35, flags: ikeV2Ini, msgid: 1, np: 46}
	auth := frameMsg(true, am.bytes(sk(35, 120)))
	mss := 1448 // 1460 minus timestamps
	t.send(t.cl, auth[:mss])
	c.wait(c.jit(100*time.Microsecond, 0.3))
	t.send(t.cl, auth[mss:])
	c.wait(c.jit(rtt, 0.1))
	am.flags = ikeV2Rsp
	resp := frameMsg(true, am.bytes(sk(36, 95)))
	t.send(t.sv, resp[:mss])
	c.wait(c.jit(100*time.Microsecond, 0.3))
	t.send(t.sv, resp[mss:])
	c.wait(c.jit(300*time.Microsecond, 0.3))
	t.ack(t.cl)
	out := sa{spi: c.rng.Uint32() | 0x10000000}
	in := sa{spi: c.rng.Uint32() | 0x10000000}
	c.wait(c.jit(50*time.Millisecond, 0.3))
	for i := 0; i < 60; i++ {
		o := sent
		if i == 30 {
			o = lostOut
		}
		var p []byte
		if i%10 == 4 {
			// Two ESP messages share one segment.
			p = append(frameMsg(false, c.espNext(&out, 52)), frameMsg(false, c.espNext(&out, 80))...)
		} else {
			p = frameMsg(false, c.espNext(&out, 60+c.rng.IntN(400)))
		}
		s := t.segment(t.cl, flPSH|flACK, p, o)
		c.wait(c.jit(rtt, 0.1))
		if i == 30 {
			// The next client segment arrives out of order; the server asks
			// for the missing one, and the client's stack retransmits it.
			c.now = c.now.Add(-rtt + 2*time.Millisecond)
			t.send(t.cl, frameMsg(false, c.espNext(&out, 52)))
			c.wait(c.jit(rtt-2*time.Millisecond, 0.05))
			for k := 0; k < 2; k++ {
				t.segment(t.sv, flACK, nil, segOpts{capture: true, deliver: true, sack: [][2]seq.Value{{s.Add(seq.Size(len(p))), t.sv.oooEnd}}})
				c.wait(c.jit(300*time.Microsecond, 0.3))
				if k == 0 {
					t.send(t.cl, frameMsg(false, c.espNext(&out, 52)))
					c.wait(c.jit(rtt, 0.05))
				}
			}
			t.segment(t.cl, flPSH|flACK, p, segOpts{capture: true, deliver: true, seq: &s})
			c.wait(c.jit(rtt, 0.1))
		}
		for k := 0; k < 1+c.rng.IntN(3); k++ {
			t.send(t.sv, frameMsg(false, c.espNext(&in, 200+c.rng.IntN(1100))))
			c.wait(c.jit(300*time.Microsecond, 0.5))
		}
		c.wait(c.jit(100*time.Microsecond, 0.5))
		t.ack(t.cl)
		c.wait(c.jit(250*time.Millisecond, 0.9))
	}
	return c
}

func buildAnyConnect(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "Ethernet", snaplen: 262144})
	cl, gw, he := sites(c, true, uint16(seed))
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	dns(c, cl, gw, "vpn.example.com", he.addr, uint16(c.rng.Uint32()))
	c.wait(c.jit(40*time.Millisecond, 0.3))
	win10 := stackWindows
	win10.synWin = 64240
	win10.wscale = 8
	win10.win = 1026
	asa := stack{mss: 1380, win: 32768, synWin: 32768, wscale: 0, sack: true}
	asa.win = 32768
	t := newTCP(c, cl, uint16(49800+c.rng.IntN(12000)), win10, he, 443, asa)
	t.cl.out = true
	t.handshake(rtt)
	c.wait(c.jit(2*time.Millisecond, 0.3))
	t.send(t.cl, tlsRecord(22, 0x0301, c.clientHello("vpn.example.com")))
	c.wait(c.jit(rtt, 0.1))
	var sh []byte
	sh = append(sh, tlsRecord(22, 0x0303, c.serverHello(c.randBytes(32)))...)
	sh = append(sh, tlsRecord(20, 0x0303, []byte{1})...)
	sh = append(sh, tlsRecord(23, 0x0303, c.randBytes(2100))...)
	sh = append(sh, tlsRecord(23, 0x0303, c.randBytes(280))...)
	sh = append(sh, tlsRecord(23, 0x0303, c.randBytes(69))...)
	for len(sh) > 0 {
		n := min(1340, len(sh))
		t.segment(t.sv, flACK, sh[:n], sent)
		sh = sh[n:]
		c.wait(c.jit(150*time.Microsecond, 0.3))
	}
	t.ack(t.cl)
	c.wait(c.jit(5*time.Millisecond, 0.3))
	t.send(t.cl, append(tlsRecord(20, 0x0303, []byte{1}), tlsRecord(23, 0x0303, c.randBytes(69))...))
	c.wait(c.jit(time.Millisecond, 0.3))
	t.send(t.cl, tlsRecord(23, 0x0303, c.randBytes(620))) // CONNECT /CSCOSSLC/tunnel
	c.wait(c.jit(rtt, 0.1))
	t.send(t.sv, tlsRecord(23, 0x0303, c.randBytes(1180))) // X-CSTP-* headers
	c.wait(c.jit(20*time.Millisecond, 0.3))
	// DTLS on UDP 443 from the same client.
	cport := uint16(49800 + c.rng.IntN(12000))
	var cseq, sseq uint64
	for i := 0; i < 60; i++ {
		if i%15 == 0 {
			t.send(t.cl, tlsRecord(23, 0x0303, c.randBytes(37))) // CSTP keepalive over TLS
			c.wait(c.jit(rtt, 0.1))
			t.send(t.sv, tlsRecord(23, 0x0303, c.randBytes(37)))
			c.wait(c.jit(200*time.Millisecond, 0.3))
			t.ack(t.cl)
		}
		cseq++
		c.udp(cl, he, cport, 443, dtlsRecord(23, 0xfefd, 1, cseq, c.randBytes(48+16*c.rng.IntN(20))), true)
		c.wait(c.jit(rtt, 0.1))
		for k := 0; k < 1+c.rng.IntN(3); k++ {
			sseq++
			c.udp(he, cl, 443, cport, dtlsRecord(23, 0xfefd, 1, sseq, c.randBytes(64+16*c.rng.IntN(75))), false)
			c.wait(c.jit(300*time.Microsecond, 0.5))
		}
		c.wait(c.jit(300*time.Millisecond, 0.9))
	}
	return c
}

// buildOneWay is captured between the proxy and the headend.
func buildOneWay(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "inside", snaplen: 262144})
	cl := newHost(macASAIn, addrClientPub, 114, true, 0x5a00)
	he := newHost(macHeadend, addrHeadend, 255, false, 0x7c31)
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	s := newCTCP(c, cl, uint16(49800+c.rng.IntN(12000)), he, 10000, rtt)
	t := s.t
	// The capture point is next to the headend: replies come quickly and
	// the client's next message after a round trip.
	s.connect("RemoteUsers", "kpatel")
	s.chat(4)
	s.download(6, -1, sent, nil)
	// Loss before the proxy: the proxy forwards nothing from the client any
	// more. The headend keeps sending: the rest of its window, inner TCP
	// retransmissions, DPD.
	for i := 0; i < 8; i++ {
		s.esp(t.sv, s.innerMSS+52, sent)
		c.wait(c.jit(550*time.Microsecond, 0.2))
	}
	rto := 1200 * time.Millisecond
	for i := 0; i < 4; i++ {
		c.wait(c.jit(rto, 0.05))
		s.esp(t.sv, s.innerMSS+52, sent)
		rto *= 2
	}
	c.wait(c.jit(3*time.Second, 0.1))
	for i := 0; i < 3; i++ {
		s.dpd(t.sv, sent)
		c.wait(c.jit(2*time.Second, 0.02))
	}
	dm := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exInfo, msgid: c.rng.Uint32()}
	s.ike(t.sv, c.ikeEncrypted(dm, 5), sent)
	c.wait(c.jit(4*time.Second, 0.1))
	s.ike(t.sv, c.ikeEncrypted(dm, 5), sent)
	return c
}

// buildTwoInterfaces builds the affected scenario seen on both ASA
// interfaces, snaplen 96.
func buildTwoInterfaces() ([]byte, error) {
	o := &stallOpts{seed: 10, port: 10000, lossBefore: true, ifaces: []iface{
		{link: linkEthernet, name: "outside", snaplen: 96},
		{link: linkRaw, name: "inside", snaplen: 96},
	}}
	c := buildStall(o)
	s := o.conn
	cport := s.t.cl.port
	delta := c.rng.Uint32() // ASA sequence number randomisation of the client's ISN
	var extra []frame
	for i, f := range c.frames {
		ip := f.data[14:]
		if ip[9] != 6 {
			continue
		}
		tcp := ip[20:]
		sport := binary.BigEndian.Uint16(tcp[0:])
		fromClient := sport == cport
		sq := seq.Value(binary.BigEndian.Uint32(tcp[4:]))
		if fromClient && (sq.GreaterThan(o.hole) || (sq == o.hole && len(tcp) > int(tcp[12]>>4)*4)) && tcp[13]&flSYN == 0 {
			continue // queued by the ASA behind the hole, never forwarded
		}
		if o.proxyFrames[i] {
			continue // generated by the ASA itself
		}
		d := append([]byte(nil), ip...)
		// Static NAT: the headend is 10.1.1.10 on the inside.
		if fromClient {
			copy(d[16:20], insideHeadend[:])
		} else {
			copy(d[12:16], insideHeadend[:])
		}
		d[10], d[11] = 0, 0
		binary.BigEndian.PutUint16(d[10:], csumFold(csumAdd(0, d[:20])))
		dt := d[20:]
		if fromClient {
			binary.BigEndian.PutUint32(dt[4:], uint32(sq)+delta)
		} else if dt[13]&flACK != 0 {
			binary.BigEndian.PutUint32(dt[8:], binary.BigEndian.Uint32(dt[8:])+delta)
		}
		// Recompute the TCP checksum.
		dt[16], dt[17] = 0, 0
		var src, dst [4]byte
		copy(src[:], d[12:16])
		copy(dst[:], d[16:20])
		sum := csumAdd(0, src[:])
		sum = csumAdd(sum, dst[:])
		sum += 6 + uint32(len(dt))
		binary.BigEndian.PutUint16(dt[16:], csumFold(csumAdd(sum, dt)))
		ts := f.ts.Add(15 * time.Microsecond)
		if !fromClient {
			ts = f.ts.Add(-15 * time.Microsecond)
		}
		extra = append(extra, frame{ts: ts, data: d, iface: 1})
	}
	c.frames = append(c.frames, extra...)
	sort.SliceStable(c.frames, func(i, j int) bool { return c.frames[i].ts.Before(c.frames[j].ts) })
	return c.pcapng()
}

// insideHeadend is the headend's real address behind the inspecting ASA.
var insideHeadend = [4]byte{10, 1, 1, 10}

// buildTruncated cuts the stall capture in the middle of a record.
func buildTruncated() ([]byte, error) {
	o := &stallOpts{seed: 1, port: 10000, clientNAT: true, udpFallback: true}
	c := buildStall(o)
	last := 0
	for i := range o.proxyFrames {
		last = max(last, i)
	}
	keep := last + 4 // frames kept whole (0-based count)
	if keep >= len(c.frames) {
		return nil, errors.New("stall capture too short to truncate")
	}
	b, err := c.pcap()
	if err != nil {
		return nil, err
	}
	off := 24
	for i := 0; i < keep; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	n := int(binary.LittleEndian.Uint32(b[off+8:]))
	return b[:off+16+n/2], nil
}
