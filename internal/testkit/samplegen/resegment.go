package samplegen

import (
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// macCoreRtr is the router in front of the headend's segment: frames from
// the client side carry its address at a capture point next to the headend.
var macCoreRtr = [6]byte{0x00, 0x1e, 0x7a, 0x4d, 0x90, 0x21}

// proxyReseg is a TCP-terminating proxy between the cTCP client and the
// capture point. It reads the client's messages from its own connection
// with the client and writes them to its connection with the headend,
// the one the capture sees, cutting and coalescing them as its TCP stack
// likes. Of every four client messages that arrive in one burst, the
// first waits for the second and both leave in one segment; the third
// leaves cut in the middle, and its rest leaves with the fourth. A flush
// (the end of a burst, an IKE message) sends whatever waits and starts
// the pattern again, so a message alone leaves whole. Segments never
// exceed the headend's MSS. The proxy neither loses nor resends
// anything.
type proxyReseg struct {
	pend []byte // bytes received from the client and not yet sent on
	n    int    // messages received since the last flush
}

// put takes client message p (ESP and its trailer) and sends on what the
// pattern says; it returns the sequence number at which p starts.
func (r *proxyReseg) put(s *ctcpSess, p []byte) seq.Value {
	start := s.t.cl.nxt.Add(seq.Size(len(r.pend)))
	r.pend = append(r.pend, p...)
	k := r.n % 4
	r.n++
	switch k {
	case 1, 3: // two whole messages; the rest of the third and the fourth
		r.send(s, len(r.pend))
	case 2: // the third, cut in the middle
		r.send(s, len(r.pend)-len(p)+len(p)/2)
	}
	return start
}

// send sends the first n pending bytes in segments of at most the
// headend's MSS.
func (r *proxyReseg) send(s *ctcpSess, n int) {
	t := s.t
	mss := int(min(t.cl.st.mss, t.sv.st.mss))
	b := r.pend[:n]
	for len(b) > 0 {
		k := min(len(b), mss)
		t.segment(t.cl, flPSH|flACK, b[:k], sent)
		b = b[k:]
		if len(b) > 0 {
			s.c.wait(s.c.jit(15*time.Microsecond, 0.3))
		}
	}
	r.pend = append(r.pend[:0], r.pend[n:]...)
}

// flush sends everything pending and starts the pattern again.
func (r *proxyReseg) flush(s *ctcpSess) {
	if len(r.pend) > 0 {
		r.send(s, len(r.pend))
	}
	r.n = 0
}

// flushProxy flushes the session's proxy, if it has one.
func (s *ctcpSess) flushProxy() {
	if s.proxy != nil {
		s.proxy.flush(s)
	}
}

// ackIfNew sends a pure ACK from e when its ACK number moved since its
// last segment (a delayed ACK; never a duplicate one).
func (t *tcpConn) ackIfNew(e *tcpEnd) {
	if e.rcv != e.lastAck {
		t.ack(e)
	}
}

// upload sends rounds of client data (ESP carrying inner segments of
// 200–450 bytes) with a small ESP from the headend (the inner TCP's ACK)
// after every second one.
func (s *ctcpSess) upload(rounds int) {
	c, t := s.c, s.t
	burst := 4
	for r := 0; r < rounds; r++ {
		for i := 0; i < burst; i++ {
			s.esp(t.cl, 200+c.rng.IntN(250), sent)
			c.wait(c.jit(350*time.Microsecond, 0.3))
			if i%2 == 1 {
				s.esp(t.sv, 52, sent)
				c.wait(c.jit(90*time.Microsecond, 0.5))
			}
		}
		s.flushProxy()
		burst = min(burst+2, 12)
		c.wait(c.jit(s.rtt, 0.15))
	}
}

// buildProxyResegmented is captured between a TCP-terminating proxy and
// the headend: a loss-free session whose client stream the proxy
// re-segments.
func buildProxyResegmented(seed uint64) *capture {
	c := newCapture(seed, Start, iface{link: linkEthernet, name: "eth1", snaplen: 262144})
	// The proxy (a Linux stack, initial TTL 64) is three routers away
	// from the capture point; the headend is next to it.
	cl := newHost(macCoreRtr, addrClientPub, 61, true, 0x3e58)
	he := newHost(macHeadend, addrHeadend, 64, false, 0x52c4)
	rtt := time.Duration(30+c.rng.IntN(40)) * time.Millisecond
	s := newCTCP(c, cl, uint16(49800+c.rng.IntN(12000)), he, 10000, rtt)
	t := s.t
	t.cl.st = stackLinux // the proxy's SYN, not the client's
	t.atServer = true
	s.connect("RemoteUsers", "mlopez")
	s.proxy = &proxyReseg{}
	s.chat(4)
	s.download(6, -1, sent, nil)
	s.upload(6)
	c.wait(c.jit(40*time.Millisecond, 0.2))
	t.ackIfNew(t.cl)
	c.wait(c.jit(8*time.Second, 0.05))
	s.dpd(t.sv, sent)
	c.wait(c.jit(rtt, 0.1))
	s.dpd(t.cl, sent)
	c.wait(c.jit(300*time.Millisecond, 0.3))
	s.chat(3)
	s.download(5, -1, sent, nil)
	s.upload(4)
	s.chat(3)
	t.ackIfNew(t.cl)
	return c
}
