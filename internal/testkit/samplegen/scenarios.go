package samplegen

import (
	"net/netip"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// Scenario is one committed sample capture.
type Scenario struct {
	Name   string // short identifier
	File   string // file name under samples/
	Expect string // expected verdict: affected, at-risk, healthy, no-ctcp, inconclusive
	Doc    string // what the capture shows
	// Build returns the file's bytes. It is deterministic: every call
	// returns the same bytes.
	Build func() ([]byte, error)
}

// Start is the capture start time shared by all scenarios (UTC).
var Start = time.Date(2024, 3, 12, 9, 14, 27, 318000000, time.UTC)

// Link-layer addresses used at the capture points.
var (
	macClient  = [6]byte{0x3c, 0x97, 0x0e, 0x5a, 0x12, 0x7b} // laptop NIC
	macHomeGW  = [6]byte{0x74, 0xac, 0xb9, 0x3e, 0x01, 0xc2} // home/branch router
	macASAOut  = [6]byte{0x00, 0x25, 0x45, 0x8a, 0x31, 0x07} // ASA outside interface
	macISPRtr  = [6]byte{0x00, 0x1b, 0x54, 0xc2, 0x9e, 0x40} // upstream ISP router
	macASAIn   = [6]byte{0x00, 0x25, 0x45, 0x8a, 0x31, 0x08} // ASA inside interface
	macHeadend = [6]byte{0x58, 0x8d, 0x09, 0x1f, 0xa2, 0x66} // VPN headend outside interface
	macServer  = [6]byte{0x00, 0x50, 0x56, 0x9c, 0x4e, 0x12} // VMware server NIC
)

// Addresses (documentation ranges and private / CGNAT space).
const (
	addrHeadend   = "203.0.113.10"
	addrClientNAT = "192.168.1.23"
	addrClientPub = "198.51.100.77"
	addrClientCGN = "100.72.18.205"
	addrDNS       = "192.168.1.1"
)

// Scenarios returns the committed sample captures in a fixed order.
func Scenarios() []Scenario {
	return append([]Scenario{
		{Name: "ctcp-proxy-stall", File: "ctcp-proxy-stall.pcap", Expect: "affected",
			Doc: "Client-side capture (client behind NAT, 192.168.1.23 -> 203.0.113.10:10000). UDP 500 and 4500 IKE attempts get no reply, the client falls back to cTCP. During an ESP download a client segment is lost after the capture point; an inspecting proxy in front of the headend sends 3 duplicate ACKs, then stops acknowledging; the client never retransmits and keeps sending (ESP ACKs, DPD); headend data stops, the headend's DPD fails, silence until the capture ends.",
			Build: func() ([]byte, error) {
				return buildStall(&stallOpts{seed: 1, port: 10000, clientNAT: true, udpFallback: true}).pcap()
			}},
		{Name: "ctcp-proxy-reset", File: "ctcp-proxy-reset.pcap", Expect: "affected",
			Doc:   "Capture on the outside interface of an inspecting ASA in front of the headend (public client 198.51.100.77 -> 203.0.113.10:10000). Same failure as ctcp-proxy-stall; after its DPD retries fail the client resets the TCP connection and reconnects with a new TCP session and new IKE (outcome reconnected).",
			Build: func() ([]byte, error) { return buildStall(&stallOpts{seed: 2, port: 10000, reset: true}).pcap() }},
		{Name: "ctcp-healthy", File: "ctcp-healthy.pcap", Expect: "healthy",
			Doc:   "Healthy cTCP (public client 198.51.100.77 -> 203.0.113.10:10000, ASA outside capture): IKEv1 aggressive mode, XAUTH, mode-cfg, quick mode, ESP both ways, DPD keepalives, clean FIN close, no loss.",
			Build: func() ([]byte, error) { return buildHealthy(3).pcap() }},
		{Name: "ctcp-loss-no-proxy", File: "ctcp-loss-no-proxy.pcap", Expect: "healthy",
			Doc:   "cTCP from a CGNAT client (100.72.18.205, client-side capture) straight to the headend, no proxy: two headend->client segments never reach the capture (Wireshark: previous segment not captured; ESP sequence gaps). The cTCP client does not send duplicate ACKs (it acknowledges the highest byte received) and the tunnel keeps running: the loss was tolerated, nothing in the path holds the flow.",
			Build: func() ([]byte, error) { return buildLossNoProxy(4).pcap() }},
	}, moreScenarios()...)
}

type stallOpts struct {
	seed        uint64
	port        uint16
	clientNAT   bool // client-side capture behind NAT; otherwise ASA outside capture with public client
	udpFallback bool // UDP 500/4500 attempts without reply first
	reset       bool // client resets after DPD failure and reconnects
	lossBefore  bool // segment lost before the capture point (lost_segment visible)
	ifaces      []iface
	proxyFrames map[int]bool
	hole        seq.Value
	conn        *ctcpSess
}

// sites returns client, its DNS/gateway host and the headend for a capture
// taken at the client (nat) or at the ASA outside interface.
func sites(c *capture, nat bool, seedID uint16) (cl, gw, he *host) {
	if nat {
		cl = newHost(macClient, addrClientNAT, 128, true, 0x1c40+seedID*0x311)
		gw = newHost(macHomeGW, addrDNS, 64, true, 0x5e01)
		he = newHost(macHomeGW, addrHeadend, 242, false, 0x8a13+seedID*0x77)
		return
	}
	cl = newHost(macISPRtr, addrClientPub, 113, true, 0x2b07+seedID*0x311)
	gw = newHost(macISPRtr, "198.51.100.1", 250, false, 0x0101)
	he = newHost(macASAOut, addrHeadend, 255, false, 0x611d+seedID*0x77)
	return
}

// dns records a DNS A query and answer from cl via resolver r.
func dns(c *capture, cl, r *host, name string, answer netip.Addr, id uint16) {
	q := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	qname := []byte{}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			qname = append(qname, byte(i-start))
			qname = append(qname, name[start:i]...)
			start = i + 1
		}
	}
	qname = append(qname, 0)
	q = append(q, qname...)
	q = append(q, 0, 1, 0, 1)
	sport := uint16(49152 + c.rng.IntN(16000))
	c.udp(cl, r, sport, 53, q, true)
	c.wait(c.jit(18*time.Millisecond, 0.5))
	a := append([]byte(nil), q...)
	a[2], a[3], a[7] = 0x81, 0x80, 1
	a = append(a, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4)
	ip := answer.As4()
	a = append(a, ip[:]...)
	c.udp(r, cl, 53, sport, a, false)
}

// buildStall builds the affected scenario: proxy dup ACKs never answered.
func buildStall(o *stallOpts) *capture {
	if o.ifaces == nil {
		o.ifaces = []iface{{link: linkEthernet, name: "eth0", snaplen: 262144}}
	}
	c := newCapture(o.seed, Start, o.ifaces...)
	cl, gw, he := sites(c, o.clientNAT, uint16(o.seed))
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	if o.clientNAT {
		dns(c, cl, gw, "vpn.example.com", he.addr, uint16(c.rng.Uint32()))
		c.wait(c.jit(90*time.Millisecond, 0.3))
	}
	if o.udpFallback {
		// The client tries IKE over UDP 500 and then 4500: no answer.
		ispi := c.randBytes(8)
		m := ikeMsg{ver: ikeV1, exch: exAggr}
		copy(m.ispi[:], ispi)
		msg := m.plain([]payload{{plSA, ikev1SA([][][2]uint16{xauthTransform(256, 2, 65001)})}, {plKE, c.randBytes(128)}, {plNonce, c.randBytes(20)}, {plID, idPayload(11, []byte("RemoteUsers"))}, {plVID, vidXAUTH}, {plVID, vidDPD}, {plVID, vidNATT}})
		for i := 0; i < 3; i++ {
			c.udp(cl, he, 500, 500, msg, true)
			c.wait(c.jit(4*time.Second, 0.02))
		}
		nm := append([]byte{0, 0, 0, 0}, msg...)
		for i := 0; i < 2; i++ {
			c.udp(cl, he, 4500, 4500, nm, true)
			c.wait(c.jit(4*time.Second, 0.02))
		}
	}
	cport := uint16(49800 + c.rng.IntN(12000))
	s := newCTCP(c, cl, cport, he, o.port, rtt)
	s.t.cl.out = o.clientNAT
	o.conn = s
	s.connect("RemoteUsers", "jdoe")
	s.chat(4)
	c.wait(c.jit(1500*time.Millisecond, 0.3))
	s.download(7, -1, sent, nil)

	// Loss round: the headend sends a burst; the client's first ESP ACK of
	// the burst is lost between the capture point and the proxy.
	t := s.t
	loss := lostOut
	if o.lossBefore {
		loss = lostIn
	}
	var sent2 []time.Duration // offsets of the client segments after the hole
	t0 := c.now
	for i := 0; i < 12; i++ {
		s.esp(t.sv, s.innerMSS+52, sent)
		c.wait(c.jit(550*time.Microsecond, 0.2))
		if i%2 == 1 {
			if i == 1 {
				o.hole = s.esp(t.cl, 52, loss)
			} else {
				s.esp(t.cl, 52, sent)
				sent2 = append(sent2, c.now.Sub(t0))
			}
			c.wait(c.jit(80*time.Microsecond, 0.5))
		}
	}
	// The proxy answers the first three out-of-order segments with duplicate
	// ACKs (its queue holds 3), then stops acknowledging.
	o.proxyFrames = map[int]bool{}
	for i := 0; i < 3; i++ {
		at := t0.Add(sent2[i] + c.jit(rtt, 0.05))
		if !at.After(c.now) {
			at = c.now.Add(c.jit(900*time.Microsecond, 0.3))
		}
		c.now = at
		t.ack(t.sv)
		o.proxyFrames[len(c.frames)-1] = true
	}
	// The headend's DPD (R-U-THERE) reaches the client, which answers; the
	// answers are queued nowhere and never acknowledged.
	c.wait(c.jit(9800*time.Millisecond, 0.05))
	for i := 0; i < 3; i++ {
		s.dpd(t.sv, sent)
		c.wait(c.jit(1200*time.Microsecond, 0.4))
		s.dpd(t.cl, sent)
		c.wait(c.jit(2*time.Second, 0.02))
	}
	// The headend gives up: delete notification.
	dm := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exInfo, msgid: c.rng.Uint32()}
	s.ike(t.sv, c.ikeEncrypted(dm, 5), sent)
	// The client's own DPD attempts.
	c.wait(c.jit(5*time.Second, 0.05))
	for i := 0; i < 3; i++ {
		s.dpd(t.cl, sent)
		c.wait(c.jit(5*time.Second, 0.02))
	}
	if o.reset {
		// Client gives up, resets and reconnects.
		t.segment(t.cl, flRST|flACK, nil, sent)
		c.wait(c.jit(4*time.Second, 0.2))
		s2 := newCTCP(c, cl, cport+1, he, o.port, rtt)
		s2.connect("RemoteUsers", "jdoe")
		s2.chat(3)
		s2.download(4, -1, sent, nil)
		c.wait(c.jit(2*time.Second, 0.2))
		s2.chat(2)
		return c
	}
	c.wait(c.jit(25*time.Second, 0.05))
	if o.clientNAT {
		dns(c, cl, gw, "www.example.com", netip.MustParseAddr("93.184.215.14"), uint16(c.rng.Uint32()))
	}
	return c
}

// buildHealthy builds a healthy cTCP session that closes with FIN.
func buildHealthy(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "outside", snaplen: 262144})
	cl, _, he := sites(c, false, uint16(seed))
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	s := newCTCP(c, cl, uint16(49800+c.rng.IntN(12000)), he, 10000, rtt)
	t := s.t
	s.connect("RemoteUsers", "asmith")
	s.chat(5)
	s.download(8, -1, sent, nil)
	for i := 0; i < 3; i++ {
		c.wait(c.jit(10*time.Second, 0.05))
		s.dpd(t.sv, sent)
		c.wait(c.jit(rtt, 0.1))
		s.dpd(t.cl, sent)
		c.wait(c.jit(3*time.Millisecond, 0.3))
		s.chat(2)
	}
	s.download(5, -1, sent, nil)
	// Disconnect: delete notifications, then FIN both ways.
	c.wait(c.jit(3*time.Second, 0.2))
	dm := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exInfo, msgid: c.rng.Uint32()}
	s.ike(t.cl, c.ikeEncrypted(dm, 5), sent)
	c.wait(c.jit(2*time.Millisecond, 0.3))
	dm.msgid = c.rng.Uint32()
	s.ike(t.cl, c.ikeEncrypted(dm, 5), sent)
	c.wait(c.jit(time.Millisecond, 0.3))
	t.segment(t.cl, flFIN|flACK, nil, sent)
	c.wait(c.jit(rtt, 0.1))
	t.segment(t.sv, flFIN|flACK, nil, sent)
	c.wait(c.jit(200*time.Microsecond, 0.3))
	t.ack(t.cl)
	return c
}

// buildLossNoProxy builds cTCP with loss and no proxy (healthy: the loss is tolerated).
func buildLossNoProxy(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "wlan0", snaplen: 262144})
	cl := newHost(macClient, addrClientCGN, 128, true, 0x33a1)
	he := newHost(macHomeGW, addrHeadend, 239, false, 0x9d02)
	rtt := time.Duration(55+c.rng.IntN(20)) * time.Millisecond
	s := newCTCP(c, cl, uint16(49800+c.rng.IntN(12000)), he, 10000, rtt)
	s.t.cl.out = true
	t := s.t
	s.connect("Mobile", "bwu")
	s.chat(3)
	s.download(5, -1, sent, nil)
	// Two headend segments are lost before reaching the client (the capture
	// point). The cTCP client acknowledges the highest byte it received.
	for k := 0; k < 2; k++ {
		for i := 0; i < 10; i++ {
			o := sent
			if i == 3 {
				o = lostIn
			}
			s.esp(t.sv, s.innerMSS+52, o)
			if i == 3 {
				// The cTCP receiver does not care about the hole.
				t.cl.rcv = t.sv.nxt
				t.cl.ooo = false
			}
			c.wait(c.jit(600*time.Microsecond, 0.2))
			if i%2 == 1 {
				t.cl.rcv = t.sv.nxt
				s.esp(t.cl, 52, sent)
				c.wait(c.jit(80*time.Microsecond, 0.5))
			}
		}
		c.wait(c.jit(rtt, 0.15))
		s.download(4, -1, sent, nil)
		s.chat(3)
		c.wait(c.jit(3*time.Second, 0.2))
	}
	s.dpd(t.sv, sent)
	c.wait(c.jit(rtt, 0.1))
	s.dpd(t.cl, sent)
	c.wait(c.jit(2*time.Second, 0.2))
	s.chat(4)
	return c
}
