package samplegen

import (
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// ctcpSess is a legacy Cisco VPN Client session over cTCP.
type ctcpSess struct {
	c          *capture
	t          *tcpConn
	rtt        time.Duration
	ispi, rspi [8]byte
	clCnt      uint16 // trailer counters per direction
	svCnt      uint16
	out, in    sa // client->headend and headend->client ESP SAs
	dpdSeq     uint32
	phase2ID   uint32
	innerMSS   int
	// proxy, when set, re-segments the client's messages as a TCP proxy
	// between the client and the capture point forwards them.
	proxy *proxyReseg
}

func newCTCP(c *capture, cl *host, cport uint16, sv *host, sport uint16, rtt time.Duration) *ctcpSess {
	s := &ctcpSess{c: c, rtt: rtt, innerMSS: 1260}
	s.t = newTCP(c, cl, cport, stackWindows, sv, sport, stackASA)
	copy(s.ispi[:], c.randBytes(8))
	s.dpdSeq = c.rng.Uint32() >> 1
	return s
}

// ike sends one ISAKMP message over cTCP from e.
func (s *ctcpSess) ike(e *tcpEnd, msg []byte, o segOpts) seq.Value {
	p := udp500(msg)
	if e == s.t.cl {
		s.flushProxy()
		s.clCnt++
		p = ctcpTrailer(p, s.clCnt, 0x4000, ctcpISAKMP)
	} else {
		s.svCnt++
		p = ctcpTrailer(p, s.svCnt, 0x0000, ctcpISAKMP)
	}
	return s.t.segment(e, flPSH|flACK, p, o)
}

// esp sends one ESP packet carrying an inner packet of innerLen bytes.
func (s *ctcpSess) esp(e *tcpEnd, innerLen int, o segOpts) seq.Value {
	var p []byte
	if e == s.t.cl {
		p = s.c.espNext(&s.out, innerLen)
		s.clCnt++
		p = ctcpTrailer(p, s.clCnt, 0, ctcpESP)
		if s.proxy != nil {
			return s.proxy.put(s, p)
		}
	} else {
		p = s.c.espNext(&s.in, innerLen)
		s.svCnt++
		p = ctcpTrailer(p, s.svCnt, 0, ctcpESP)
	}
	return s.t.segment(e, flPSH|flACK, p, o)
}

// half waits about half a round trip plus processing time.
func (s *ctcpSess) reply() { s.c.wait(s.c.jit(s.rtt, 0.15) + s.c.jit(2*time.Millisecond, 0.5)) }
func (s *ctcpSess) quick() { s.c.wait(s.c.jit(300*time.Microsecond, 0.5)) }

// connect performs the TCP handshake and the IKEv1 aggressive-mode, XAUTH,
// mode-config and quick-mode exchanges, leaving the tunnel up.
func (s *ctcpSess) connect(group, user string) {
	c, t := s.c, s.t
	t.handshake(s.rtt)
	cl, sv := t.cl, t.sv
	c.wait(c.jit(4*time.Millisecond, 0.3))
	m := ikeMsg{ispi: s.ispi, ver: ikeV1, exch: exAggr}
	// Aggressive mode message 1: SA, KE (group 2, 128 bytes), nonce, ID, vendor IDs.
	var trs [][][2]uint16
	for _, g := range []uint16{2, 5} {
		for _, kl := range []uint16{256, 128} {
			trs = append(trs, xauthTransform(kl, g, 65001))
		}
	}
	s.ike(cl, m.plain([]payload{
		{plSA, ikev1SA(trs)}, {plKE, c.randBytes(128)}, {plNonce, c.randBytes(20)},
		{plID, idPayload(11, []byte(group))},
		{plVID, vidXAUTH}, {plVID, vidDPD}, {plVID, vidFragm}, {plVID, vidUnity},
	}), sent)
	s.reply()
	copy(s.rspi[:], c.randBytes(8))
	m.rspi = s.rspi
	sva := t.sv.h.addr.As4()
	s.ike(sv, m.plain([]payload{
		{plSA, ikev1SA(trs[:1])}, {plKE, c.randBytes(128)}, {plNonce, c.randBytes(20)},
		{plID, idPayload(1, sva[:])}, {plHash, c.randBytes(20)},
		{plVID, vidUnity}, {plVID, vidXAUTH}, {plVID, vidDPD}, {plVID, c.randBytes(16)},
	}), sent)
	c.wait(c.jit(25*time.Millisecond, 0.4))
	s.ike(cl, c.ikeEncrypted(m, 4), sent) // aggressive mode 3 (HASH, notify initial-contact)
	s.reply()
	// XAUTH request from the headend, user types credentials.
	tm := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exTrans, msgid: c.rng.Uint32()}
	s.ike(sv, c.ikeEncrypted(tm, 5), sent)
	c.wait(c.jit(200*time.Millisecond, 0.1))
	t.ack(cl)
	c.wait(c.jit(3500*time.Millisecond, 0.3))
	s.ike(cl, c.ikeEncrypted(tm, 5), sent) // user name and password
	s.reply()
	tm.msgid = c.rng.Uint32()
	s.ike(sv, c.ikeEncrypted(tm, 4), sent) // XAUTH status OK
	c.wait(c.jit(3*time.Millisecond, 0.5))
	s.ike(cl, c.ikeEncrypted(tm, 4), sent) // XAUTH ack
	c.wait(c.jit(2*time.Millisecond, 0.5))
	tm.msgid = c.rng.Uint32()
	s.ike(cl, c.ikeEncrypted(tm, 12), sent) // mode-config request
	s.reply()
	s.ike(sv, c.ikeEncrypted(tm, 20), sent) // mode-config reply: address, DNS, split tunnel
	c.wait(c.jit(40*time.Millisecond, 0.4))
	// Quick mode.
	qm := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exQuick, msgid: c.rng.Uint32()}
	s.ike(cl, c.ikeEncrypted(qm, 22), sent)
	s.reply()
	s.ike(sv, c.ikeEncrypted(qm, 11), sent)
	c.wait(c.jit(4*time.Millisecond, 0.5))
	s.ike(cl, c.ikeEncrypted(qm, 3), sent)
	s.out = sa{spi: 0x80000000 | c.rng.Uint32()>>1}
	s.in = sa{spi: 0x40000000 | c.rng.Uint32()>>2}
	c.wait(c.jit(180*time.Millisecond, 0.2))
	t.ack(sv)
	c.wait(c.jit(600*time.Millisecond, 0.3))
}

// dpd sends an R-U-THERE (from e) as an encrypted ISAKMP informational message.
func (s *ctcpSess) dpd(e *tcpEnd, o segOpts) {
	m := ikeMsg{ispi: s.ispi, rspi: s.rspi, ver: ikeV1, exch: exInfo, msgid: s.c.rng.Uint32()}
	s.ike(e, s.c.ikeEncrypted(m, 5), o)
}

// download sends rounds of inner-TCP data from the headend (large ESP) with
// small ESP ACKs from the client every second packet. lossAt, when >= 0,
// is the index (counted over client ESP packets in this call) of the client
// packet lost with opts loss; afterLoss is called with the sequence number
// of the hole once, right after the lost packet, and may emit proxy dup
// ACKs; it returns true to stop the download.
func (s *ctcpSess) download(rounds int, lossAt int, loss segOpts, afterLoss func(i int, hole seq.Value) bool) {
	c, t := s.c, s.t
	n := 0
	burst := 2
	var hole seq.Value
	lost := false
	for r := 0; r < rounds; r++ {
		for i := 0; i < burst; i++ {
			s.esp(t.sv, s.innerMSS+52, sent)
			c.wait(c.jit(550*time.Microsecond, 0.2))
			if i%2 == 1 || i == burst-1 {
				o := sent
				if n == lossAt {
					o = loss
				}
				sq := s.esp(t.cl, 52, o)
				if n == lossAt {
					hole, lost = sq, true
				}
				n++
				if lost && n-1 > lossAt && afterLoss != nil {
					if afterLoss(n-1-lossAt, hole) {
						return
					}
				}
				c.wait(c.jit(80*time.Microsecond, 0.5))
			}
		}
		s.flushProxy()
		if burst < 12 {
			burst += 2
		}
		c.wait(c.jit(s.rtt, 0.15))
	}
}

// chat exchanges a few small ESP packets both ways (interactive traffic).
func (s *ctcpSess) chat(n int) {
	c, t := s.c, s.t
	for i := 0; i < n; i++ {
		s.esp(t.cl, 60+c.rng.IntN(400), sent)
		s.flushProxy()
		s.reply()
		s.esp(t.sv, 60+c.rng.IntN(900), sent)
		c.wait(c.jit(120*time.Millisecond, 0.8))
	}
}
