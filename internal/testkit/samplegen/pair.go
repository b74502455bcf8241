package samplegen

import (
	"slices"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// PairDir is the directory under samples/ that holds the pairs.
const PairDir = "pairs"

// PairScenario is a committed pair of captures of the same traffic taken
// at two points, for ctcpdiag correlate.
type PairScenario struct {
	Name         string // short identifier
	FileA, FileB string // file names under samples/pairs/
	Expect       string // what correlating them should find
	// VerdictA and VerdictB are each file's verdict analyzed alone.
	VerdictA, VerdictB string
	Doc                string
	// Build returns the two files' bytes, deterministically.
	Build func() (a, b []byte, err error)
}

// PairClockOffset is B's clock minus A's in every pair scenario; the
// one-way delay between the points is about PairDelay each way.
const (
	PairClockOffset = 37500 * time.Microsecond
	PairDelay       = 2 * time.Millisecond
)

// PairScenarios returns the committed capture pairs in a fixed order.
func PairScenarios() []PairScenario {
	return []PairScenario{
		{Name: "pair-proxy-loss", FileA: "pair-proxy-loss-client-side.pcap", FileB: "pair-proxy-loss-headend-side.pcap",
			Expect: "loss-between, terminated", VerdictA: "affected", VerdictB: "affected",
			Doc:   "A: the client's own capture (192.168.1.23 -> 203.0.113.10:10000); B: the headend's side (the client NATed to 198.51.100.77, another port) of a transparent TCP-terminating proxy, B's clock 37.5 ms ahead. IKE and ESP both ways; the client's ESP message 9 (SPI 8d3a5c01) is lost between the client and the proxy: the proxy answers each of the 7 later client segments (and the client's final FIN) with a duplicate ACK (SACK) on the client side and forwards nothing past the hole; the headend keeps sending, then resets (B only); the proxy closes the client's leg with a FIN (A only). A DNS query on each side a second later.",
			Build: func() ([]byte, []byte, error) { return buildPairProxyLoss(21) }},
		{Name: "pair-nat-seqrand", FileA: "pair-nat-seqrand-outside.pcap", FileB: "pair-nat-seqrand-inside.pcap",
			Expect: "no-loss-between, sequence-offset", VerdictA: "healthy", VerdictB: "healthy",
			Doc:   "Both sides of a NATing, sequence-randomizing firewall that forwards every packet: A outside (198.51.100.77 -> 203.0.113.10:10000), B inside (the headend NATed to 10.1.1.10, the client's sequence numbers offset by a constant), B's clock 37.5 ms ahead. IKE, ESP both ways, a clean FIN close; nothing lost.",
			Build: func() ([]byte, []byte, error) { return buildPairNATSeqRand(22) }},
	}
}

// pairGen drives the two captures of a pair on one clock: the time of
// an event is set in A's clock, B records it PairClockOffset later.
type pairGen struct {
	a, b    *capture
	t       time.Time // now, in A's clock
	out, in sa
	clCnt   uint16
	svCnt   uint16
}

func (g *pairGen) atA(t time.Time) { g.a.now = t }
func (g *pairGen) atB(t time.Time) { g.b.now = t.Add(PairClockOffset) }

// delay returns the one-way delay between the points, jittered.
func (g *pairGen) delay() time.Duration { return g.a.jit(PairDelay, 0.1) }

func (g *pairGen) wait(d time.Duration) { g.t = g.t.Add(d) }

// sortFrames puts a capture's frames in time order (the pair's events
// are recorded in the order they happen at the source).
func sortFrames(c *capture) {
	slices.SortStableFunc(c.frames, func(x, y frame) int { return x.ts.Compare(y.ts) })
}

// ikeMsgC returns a cTCP IKE message (UDP 500 header, ISAKMP, trailer).
func (g *pairGen) ikeC(client bool, m ikeMsg, blocks int) []byte {
	p := udp500(g.a.ikeEncrypted(m, blocks))
	if client {
		g.clCnt++
		return ctcpTrailer(p, g.clCnt, 0x4000, ctcpISAKMP)
	}
	g.svCnt++
	return ctcpTrailer(p, g.svCnt, 0, ctcpISAKMP)
}

// espC returns a cTCP ESP message.
func (g *pairGen) espC(client bool, inner int) []byte {
	if client {
		g.clCnt++
		return ctcpTrailer(g.a.espNext(&g.out, inner), g.clCnt, 0, ctcpESP)
	}
	g.svCnt++
	return ctcpTrailer(g.a.espNext(&g.in, inner), g.svCnt, 0, ctcpESP)
}

// buildPairProxyLoss: A is the client's leg of a transparent proxy, B
// its leg to the headend.
func buildPairProxyLoss(seed uint64) ([]byte, []byte, error) {
	a := newCapture(seed, Start, iface{link: linkEthernet, name: "eth0", snaplen: 262144})
	b := newCapture(seed+1000, Start, iface{link: linkEthernet, name: "eth1", snaplen: 262144})
	g := &pairGen{a: a, b: b, t: Start}
	// A: the client and the proxy answering in the headend's name.
	cl := newHost(macClient, addrClientNAT, 128, true, 0x1c40)
	pxA := newHost(macHomeGW, addrHeadend, 64, true, 0x0f00)
	// B: the proxy in the (NATed) client's name, and the headend.
	pxB := newHost(macCoreRtr, addrClientPub, 61, true, 0x7a10)
	he := newHost(macHeadend, addrHeadend, 255, false, 0x52c4)
	la := newTCP(a, cl, 51514, stackWindows, pxA, 10000, stackLinux)
	lb := newTCP(b, pxB, 40322, stackLinux, he, 10000, stackASA)
	la.cl.out = true
	const toProxy = 700 * time.Microsecond // A to the proxy; the proxy to B is PairDelay minus it

	// Handshakes: the client's with the proxy, then the proxy's with the headend.
	g.atA(g.t)
	la.handshake(2 * toProxy)
	g.t = a.now
	g.atB(g.t.Add(PairDelay - toProxy))
	lb.t0 = b.now
	lb.atServer = true
	lb.handshake(2 * (PairDelay - toProxy))
	g.t = b.now.Add(-PairClockOffset)

	g.out = sa{spi: 0x8d3a5c01}
	g.in = sa{spi: 0x4c72e9b3}
	var ispi, rspi [8]byte
	copy(ispi[:], a.randBytes(8))
	copy(rspi[:], a.randBytes(8))

	// c2h sends a client message: A records it; unless lost, the proxy
	// acknowledges it on A and (unless holding) forwards it on B, where
	// the headend acknowledges it.
	lost, holding := false, false
	var after seq.Value
	c2h := func(p []byte, lose bool) {
		g.atA(g.t)
		if lose {
			la.segment(la.cl, flPSH|flACK, p, lostOut)
			lost, holding = true, true
			return
		}
		at := la.segment(la.cl, flPSH|flACK, p, sent)
		g.atA(g.t.Add(2*toProxy + a.jit(150*time.Microsecond, 0.5)))
		if lost {
			// Out of order at the proxy: a duplicate ACK with SACK.
			if after == 0 {
				after = at
			}
			la.segment(la.sv, flACK, nil, segOpts{capture: true, deliver: true, sack: [][2]seq.Value{{after, la.sv.oooEnd}}})
		} else {
			la.ack(la.sv)
		}
		if holding {
			return
		}
		tb := g.t.Add(g.delay())
		g.atB(tb)
		lb.segment(lb.cl, flPSH|flACK, p, sent)
		g.atB(tb.Add(a.jit(300*time.Microsecond, 0.5)))
		lb.ack(lb.sv)
	}
	// h2c sends a headend message: B records it, the proxy acknowledges
	// it on B and forwards it on A, where the client acknowledges it.
	h2c := func(p []byte) {
		g.atB(g.t)
		lb.segment(lb.sv, flPSH|flACK, p, sent)
		g.atB(g.t.Add(2*(PairDelay-toProxy) + a.jit(150*time.Microsecond, 0.5)))
		lb.ack(lb.cl)
		ta := g.t.Add(g.delay())
		g.atA(ta)
		la.segment(la.sv, flPSH|flACK, p, sent)
		g.atA(ta.Add(a.jit(200*time.Microsecond, 0.5)))
		la.ack(la.cl)
	}

	// IKE: aggressive mode, XAUTH, quick mode (short).
	g.wait(3 * time.Millisecond)
	m := ikeMsg{ispi: ispi, ver: ikeV1, exch: exAggr}
	c2h(g.ikeC(true, m, 6), false)
	g.wait(25 * time.Millisecond)
	m.rspi = rspi
	h2c(g.ikeC(false, m, 6))
	g.wait(20 * time.Millisecond)
	c2h(g.ikeC(true, m, 4), false)
	g.wait(30 * time.Millisecond)
	qm := ikeMsg{ispi: ispi, rspi: rspi, ver: ikeV1, exch: exQuick, msgid: a.rng.Uint32()}
	c2h(g.ikeC(true, qm, 4), false)
	g.wait(25 * time.Millisecond)
	h2c(g.ikeC(false, qm, 4))
	g.wait(10 * time.Millisecond)
	c2h(g.ikeC(true, qm, 2), false)
	g.wait(200 * time.Millisecond)

	// ESP both ways: the client every 30 ms, the headend every 100 ms
	// (at times between the client's, so that the proxy's ACKs on B run
	// ahead of the client's on A). The client's 9th is lost.
	for i := 0; i < 16; i++ {
		c2h(g.espC(true, 20+a.rng.IntN(40)), i == 8)
		if i%3 == 1 {
			g.wait(a.jit(12*time.Millisecond, 0.3))
			h2c(g.espC(false, 30+a.rng.IntN(80)))
			g.wait(a.jit(18*time.Millisecond, 0.3))
		} else {
			g.wait(a.jit(30*time.Millisecond, 0.1))
		}
	}
	// The client stops sending; the headend goes on for a while and
	// then, with nothing from the client, resets the connection.
	for i := 0; i < 4; i++ {
		h2c(g.espC(false, 30+a.rng.IntN(80)))
		g.wait(a.jit(300*time.Millisecond, 0.1))
	}
	g.atB(g.t)
	lb.segment(lb.sv, flRST|flACK, nil, segOpts{capture: true})
	// The proxy closes the client's leg; the client answers.
	ta := g.t.Add(g.delay())
	g.atA(ta)
	la.segment(la.sv, flFIN|flACK, nil, sent)
	g.atA(ta.Add(300 * time.Microsecond))
	la.segment(la.cl, flFIN|flACK, nil, sent)
	g.atA(ta.Add(300*time.Microsecond + 2*toProxy))
	la.ack(la.sv)
	// Both captures run on for a second (a DNS query on each side).
	g.wait(time.Second)
	g.atA(g.t)
	dns(a, cl, newHost(macHomeGW, addrDNS, 64, true, 0x5e01), "www.example.com", he.addr, 0x3a71)
	g.atB(g.t)
	dns(b, he, newHost(macCoreRtr, "203.0.113.53", 64, true, 0x1201), "crl.example.com", he.addr, 0x9c02)
	sortFrames(a)
	sortFrames(b)
	pa, err := a.pcap()
	if err != nil {
		return nil, nil, err
	}
	pb, err := b.pcap()
	return pa, pb, err
}

// buildPairNATSeqRand: one connection seen on both sides of a router
// that NATs the headend and offsets the client's sequence numbers.
func buildPairNATSeqRand(seed uint64) ([]byte, []byte, error) {
	a := newCapture(seed, Start, iface{link: linkEthernet, name: "outside", snaplen: 262144})
	b := newCapture(seed+1000, Start, iface{link: linkEthernet, name: "inside", snaplen: 262144})
	g := &pairGen{a: a, b: b, t: Start}
	clA := newHost(macISPRtr, addrClientPub, 113, true, 0x2b07)
	heA := newHost(macASAOut, addrHeadend, 254, false, 0x611d)
	clB := newHost(macASAIn, addrClientPub, 112, true, 0x2b07)
	heB := newHost(macHeadend, "10.1.1.10", 255, false, 0x611d)
	la := newTCP(a, clA, 52011, stackWindows, heA, 10000, stackASA)
	lb := newTCP(b, clB, 52011, stackWindows, heB, 10000, stackASA)
	// The same connection: the headend's numbers unchanged, the
	// client's offset by the firewall.
	lb.cl.nxt = la.cl.nxt.Add(0x3b9ac9ff)
	lb.sv.nxt = la.sv.nxt
	lb.cl.tsOff, lb.sv.tsOff = la.cl.tsOff, la.sv.tsOff

	// send sends one segment from the client (c2h) or the headend,
	// seen at A then B (client) or B then A (headend).
	send := func(c2h bool, flags uint8, p []byte) {
		d := g.delay()
		ea, eb := la.sv, lb.sv
		if c2h {
			ea, eb = la.cl, lb.cl
			g.atA(g.t)
			g.atB(g.t.Add(d))
		} else {
			g.atB(g.t)
			g.atA(g.t.Add(d))
		}
		la.segment(ea, flags, p, sent)
		lb.segment(eb, flags, p, sent)
	}
	// The handshake, by hand so that both captures see it.
	g.atA(g.t)
	g.atB(g.t.Add(PairDelay))
	la.segment(la.cl, flSYN, nil, segOpts{capture: true})
	lb.segment(lb.cl, flSYN, nil, segOpts{capture: true})
	la.sv.rcv, lb.sv.rcv = la.cl.nxt, lb.cl.nxt
	g.wait(30 * time.Millisecond)
	send(false, flSYN|flACK, nil)
	la.cl.rcv, lb.cl.rcv = la.sv.nxt, lb.sv.nxt
	g.wait(20 * time.Millisecond)
	send(true, flACK, nil)

	g.out = sa{spi: 0x9f11d2e4}
	g.in = sa{spi: 0x5a0c3377}
	var ispi, rspi [8]byte
	copy(ispi[:], a.randBytes(8))
	copy(rspi[:], a.randBytes(8))
	m := ikeMsg{ispi: ispi, ver: ikeV1, exch: exAggr}
	g.wait(4 * time.Millisecond)
	send(true, flPSH|flACK, g.ikeC(true, m, 6))
	g.wait(50 * time.Millisecond)
	m.rspi = rspi
	send(false, flPSH|flACK, g.ikeC(false, m, 6))
	g.wait(20 * time.Millisecond)
	send(true, flPSH|flACK, g.ikeC(true, m, 4))
	g.wait(150 * time.Millisecond)
	send(false, flACK, nil)
	for i := 0; i < 12; i++ {
		send(true, flPSH|flACK, g.espC(true, 20+a.rng.IntN(40)))
		g.wait(a.jit(20*time.Millisecond, 0.3))
		send(false, flPSH|flACK, g.espC(false, 30+a.rng.IntN(80)))
		if i%2 == 1 {
			g.wait(a.jit(1*time.Millisecond, 0.3))
			send(false, flPSH|flACK, g.espC(false, 30+a.rng.IntN(80)))
		}
		g.wait(a.jit(25*time.Millisecond, 0.3))
		if i%3 == 2 {
			send(true, flACK, nil)
			g.wait(a.jit(10*time.Millisecond, 0.3))
		}
	}
	send(true, flFIN|flACK, nil)
	g.wait(30 * time.Millisecond)
	send(false, flFIN|flACK, nil)
	g.wait(30 * time.Millisecond)
	send(true, flACK, nil)
	sortFrames(a)
	sortFrames(b)
	pa, err := a.pcap()
	if err != nil {
		return nil, nil, err
	}
	pb, err := b.pcap()
	return pa, pb, err
}
