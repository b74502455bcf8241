package samplegen

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// LargePairFileA and LargePairFileB name the two files of a large pair of
// packets packets each (samples/gen -pair).
func LargePairFileA(packets int) string { return "pair-" + itoa(packets) + "-client-side.pcap" }

// LargePairFileB: see LargePairFileA.
func LargePairFileB(packets int) string { return "pair-" + itoa(packets) + "-headend-side.pcap" }

// LostESP is one ESP message that LargePair dropped between the points:
// it was sent past the upstream point (A for the client's messages, B for
// the headend's) and never reached the downstream one.
type LostESP struct {
	SPI, Seq   uint32
	FromClient bool  // upstream is A (client side); else B (headend side)
	Time       int64 // when it passed the upstream point, in that capture's clock (ns since the epoch)
}

// LargePairStats is LargePair's record of what it wrote.
type LargePairStats struct {
	PacketsA, PacketsB int
	// ClockOffset is B's clock minus A's.
	ClockOffset time.Duration
	// Sessions counts the sessions started, by kind: cTCP, plain TCP,
	// NAT-T (ESP in UDP 4500), native ESP.
	CTCP, TCP, NATT, ESP int
	// Lost counts the ESP messages dropped between the points (each
	// also given to the lost callback), wherever they fell relative to
	// the two captures' time spans.
	Lost int
}

// Session kinds and what the device between the points does to them.
const (
	pkCTCP = iota
	pkTCP
	pkNATT
	pkESP

	pmRoute = iota - 4 // forwards unchanged (MACs, TTL - 1)
	pmNAT              // the client's address and port translated (SNAT)
	pmSeq              // NAT and a constant sequence number offset per direction
	pmProxy            // terminates TCP: two connections, the proxy's own numbers
)

// pleg is one TCP connection's sequence numbers: next to send and next
// expected, each side.
type pleg struct {
	c, s   uint32 // next sequence number the client / server side sends
	cr, sr uint32 // what the client / server side acknowledges
}

// psess is one session of the large pair.
type psess struct {
	kind, mode     int
	cA, sA, cB, sB host // the endpoints as seen at A and at B
	cportA, cportB uint16
	sport          uint16
	a, b           pleg   // leg A; leg B only for pmProxy (else derived from a)
	offC, offS     uint32 // pmSeq: B's numbers minus A's, client's and server's
	rc, d, rh      int64  // one-way delays (ns): client to A, A to B, B to headend
	pA             int64  // pmProxy: A to the proxy (the proxy to B is d - pA)
	lastA, lastB   int64  // last frame time at each point of the direction towards it (no reordering)
	spiC, spiS     uint32
	espC, espS     uint32
	cntC, cntS     uint16 // cTCP trailer counters
	ispi, rspi     uint64
	loss           float64 // ESP loss rate between the points
	state, i, left int
	bulk           bool
	next           int64 // next event, ns from Start in A's clock
}

// pout is one capture of the pair: frames wait in a min-heap by time
// until every later event is known to come after them.
type pout struct {
	pw       *capfile.PcapWriter
	q        []*pfr
	free     []*pfr
	nseq     uint64
	from, to int64 // time window in A's clock, ns from Start (to < 0: open; from < 0: not known yet)
	shift    int64 // added to written times (B's clock offset)
	n        int
	limit    int // stop after this many packets (0: none)
	stopped  bool
	stopAt   int64
	first    int64 // time of the first and the last packet written
	last     int64
}

type pfr struct {
	ts int64
	n  uint64
	b  []byte
}

func (o *pout) less(i, j int) bool {
	a, b := o.q[i], o.q[j]
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return a.n < b.n
}

func (o *pout) push(ts int64, data []byte) {
	if ts < o.from || o.stopped && ts > o.stopAt || o.to >= 0 && ts > o.to || ts < 0 {
		return
	}
	var f *pfr
	if k := len(o.free); k > 0 {
		f, o.free = o.free[k-1], o.free[:k-1]
	} else {
		f = &pfr{}
	}
	f.ts, f.n = ts, o.nseq
	o.nseq++
	f.b = append(f.b[:0], data...)
	o.q = append(o.q, f)
	j := len(o.q) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !o.less(j, p) {
			break
		}
		o.q[j], o.q[p] = o.q[p], o.q[j]
		j = p
	}
}

func (o *pout) pop() *pfr {
	f := o.q[0]
	n := len(o.q) - 1
	o.q[0] = o.q[n]
	o.q = o.q[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && o.less(r, l) {
			m = r
		}
		if !o.less(m, j) {
			break
		}
		o.q[j], o.q[m] = o.q[m], o.q[j]
		j = m
	}
	o.free = append(o.free, f)
	return f
}

// flush writes the frames up to time t (A's clock).
func (o *pout) flush(t int64) {
	for len(o.q) > 0 && o.q[0].ts <= t {
		f := o.pop()
		if o.stopped || o.from < 0 || f.ts < o.from || o.to >= 0 && f.ts > o.to {
			continue
		}
		ts := largeStart.UnixNano() + f.ts + o.shift
		_ = o.pw.WritePacket(capfile.Packet{Time: ts, OrigLen: len(f.b), Data: f.b})
		if o.n == 0 {
			o.first = f.ts
		}
		o.last = f.ts
		o.n++
		if o.limit > 0 && o.n == o.limit {
			o.stopped, o.stopAt = true, f.ts
		}
	}
}

// LargePair writes a pair of classic pcap captures of the same traffic
// taken at two points, a on the client side (A) and b on the headend side
// (B) of a device, about packets packets each, for ctcpdiag correlate's
// benchmark. Hundreds of concurrent sessions: cTCP (IKE, then ESP both
// ways, mostly bulk downloads), plain TCP downloads (some over IPv6),
// NAT-T (ESP in UDP 4500) and native ESP. Per session the device
// forwards, NATs the client, NATs and offsets the sequence numbers of
// each direction by a constant, or terminates TCP (a proxy: two
// connections with their own numbers, ports and ACKs; not IPv6); A to B
// takes 1-5 ms. Some proxied cTCP sessions and some NAT-T and ESP sessions
// lose a small share of their ESP messages between the points (the
// proxy acknowledges what it drops); lost, when not nil, is told of each.
// B's clock is ahead of A's by 20-50 ms; B starts after A's first 2.5 %
// of packets and stops as much after A, which stops after packets
// packets (sessions are under way when A starts). The output depends only on packets and seed;
// packets are written as they are built, and memory use does not depend
// on packets.
func LargePair(a, b io.Writer, packets int, seed int64, lost func(LostESP)) (LargePairStats, error) {
	if packets <= 0 {
		return LargePairStats{}, errors.New("packet count must be positive")
	}
	g := &pairLarge{rng: rand.New(rand.NewPCG(uint64(seed), 0x9a12)), lost: lost}
	g.noise = make([]byte, 1<<24)
	cc := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 'p'})
	_, _ = cc.Read(g.noise)
	for i := range g.ikePlain {
		ps := []payload{{plSA, ikev1SA([][][2]uint16{xauthTransform(256, 2, 65001), xauthTransform(128, 2, 65001)})},
			{plKE, g.noise[:128]}, {plNonce, g.noise[128:148]}, {plID, idPayload(11, []byte("vpngroup"))},
			{plVID, vidXAUTH}, {plVID, vidDPD}, {plVID, vidUnity}}
		if i == 1 {
			ps[0].body = ikev1SA([][][2]uint16{xauthTransform(256, 2, 65001)})
			ps = append(ps, payload{plHash, g.noise[148:168]})
		}
		g.ikePlain[i] = chain(ps)
	}
	ifc := capfile.Interface{LinkType: linkEthernet, SnapLen: 262144}
	g.out[0] = &pout{pw: capfile.NewPcapWriter(a, "", ifc), from: 0, to: -1, limit: packets}
	g.st.ClockOffset = 20*time.Millisecond + time.Duration(g.rng.Int64N(int64(30*time.Millisecond)))
	g.out[1] = &pout{pw: capfile.NewPcapWriter(b, "", ifc), from: -1, to: -1, shift: int64(g.st.ClockOffset)}
	const nsess = 300
	g.sess = make([]psess, nsess)
	g.heap = eventHeap[int64]{idx: make([]int, 0, nsess), key: func(i int) int64 { return g.sess[i].next }}
	for i := range g.sess {
		// Sessions under way when the captures start.
		g.start(i, -g.rng.Int64N(int64(2*time.Second)))
		g.heap.push(i)
	}
	// B starts after A's first 2.5 % of packets and stops as much
	// later than A.
	startB := max(packets/40, 1)
	var firstA int64
	for {
		i := g.heap.top()
		g.step(&g.sess[i])
		g.heap.fixTop()
		now := g.sess[g.heap.top()].next
		a := g.out[0]
		a.flush(now)
		if g.out[1].from < 0 && a.n >= startB {
			g.out[1].from = a.last + int64(time.Millisecond)
		}
		if a.n > 0 && firstA == 0 {
			firstA = a.first
		}
		if a.stopped && g.out[1].to < 0 {
			g.out[1].to = a.stopAt + (a.stopAt-firstA)/40
		}
		g.out[1].flush(now)
		if g.out[1].to >= 0 && now > g.out[1].to {
			break
		}
	}
	g.st.PacketsA, g.st.PacketsB = g.out[0].n, g.out[1].n
	if err := g.out[0].pw.Flush(); err != nil {
		return g.st, err
	}
	return g.st, g.out[1].pw.Flush()
}

type pairLarge struct {
	rng   *rand.Rand
	noise []byte
	sess  []psess
	heap  eventHeap[int64]
	out   [2]*pout
	buf   []byte
	l4    []byte
	msg   []byte
	st    LargePairStats
	lost  func(LostESP)
	nsess uint32
	// ikePlain are the bodies of aggressive mode's first two
	// messages (SA, KE, nonce, ID, vendor IDs), the same in every session.
	ikePlain [2][]byte
}

var (
	macDevIn  = [6]byte{0x00, 0x1c, 0x73, 0x0a, 0x51, 0x01} // the device between the points, A side
	macDevOut = [6]byte{0x00, 0x1c, 0x73, 0x0a, 0x51, 0x02} // its B side
)

// jit returns d ± 10 %.
func (g *pairLarge) jit(d int64) int64 { return d*9/10 + g.rng.Int64N(d/5+1) }

// between returns a duration in [lo, hi).
func (g *pairLarge) between(lo, hi time.Duration) int64 {
	return int64(lo) + g.rng.Int64N(int64(hi-lo))
}

// noiseAt returns n bytes of noise (not to be written to).
func (g *pairLarge) noiseAt(n int) []byte {
	off := g.rng.IntN(len(g.noise) - n)
	return g.noise[off : off+n]
}

func (g *pairLarge) start(i int, at int64) {
	s := &g.sess[i]
	g.nsess++
	n := g.nsess
	*s = psess{next: at}
	r := g.rng.IntN(100)
	switch {
	case r < 50:
		s.kind = pkCTCP
		g.st.CTCP++
	case r < 80:
		s.kind = pkTCP
		g.st.TCP++
	case r < 95:
		s.kind = pkNATT
		g.st.NATT++
	default:
		s.kind = pkESP
		g.st.ESP++
	}
	v6 := s.kind == pkTCP && g.rng.IntN(3) == 0
	switch r := g.rng.IntN(100); {
	case s.kind == pkESP || v6 || r < 20:
		s.mode = pmRoute
	case r < 50 || s.kind == pkNATT:
		s.mode = pmNAT
	case r < 75:
		s.mode = pmSeq
	default:
		s.mode = pmProxy
	}
	s.rc = g.between(time.Millisecond, 25*time.Millisecond)
	s.d = g.between(time.Millisecond, 5*time.Millisecond)
	s.rh = g.between(100*time.Microsecond, time.Millisecond)
	s.pA = s.d * int64(20+g.rng.IntN(60)) / 100
	c := g.rng.Uint32()
	// Addresses: clients in 10.0.0.0/8 (NATed to 198.51.100.0/24 at B),
	// headends 203.0.113.10-13, web servers 192.0.2.0/24.
	cl := netip.AddrFrom4([4]byte{10, byte(c >> 16), byte(c >> 8), byte(c) | 1})
	clPub := netip.AddrFrom4([4]byte{198, 51, 100, byte(c>>24) | 1})
	sv := netip.AddrFrom4([4]byte{203, 0, 113, 10 + byte(c>>24)&3})
	switch s.kind {
	case pkTCP:
		sv = netip.AddrFrom4([4]byte{192, 0, 2, byte(c>>24) | 1})
		s.sport = 443
		if v6 {
			cl = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 14: byte(c >> 8), 15: byte(c)})
			sv = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 14: byte(c >> 16), 15: byte(c>>24) | 1})
		}
	case pkCTCP:
		s.sport = 10000
	case pkNATT:
		s.sport = 4500
	}
	s.cA = host{mac: macClient, addr: cl, ttl: 128 - byte(g.rng.IntN(4)), df: true, ipid: uint16(g.rng.Uint32())}
	s.cA.mac[5] = byte(n)
	s.sA = host{mac: macDevIn, addr: sv, ttl: 0, df: s.kind != pkCTCP, ipid: uint16(g.rng.Uint32())}
	s.cB = s.cA
	s.cB.mac, s.cB.ttl = macDevOut, s.cA.ttl-1
	s.sB = host{mac: macHeadend, addr: sv, ttl: 255, df: s.sA.df, ipid: s.sA.ipid}
	if s.kind == pkTCP {
		s.sB.mac, s.sB.ttl = macCoreRtr, byte(48+g.rng.IntN(10))
	}
	s.sA.ttl = s.sB.ttl - 1
	s.cportA = uint16(49152 + g.rng.IntN(16000))
	if s.kind == pkNATT || s.kind == pkESP {
		s.cportA = 500
	}
	s.cportB = s.cportA
	if s.mode != pmRoute {
		s.cB.addr = clPub
		s.cportB = uint16(1024 + g.rng.IntN(60000))
	}
	s.a = pleg{c: g.rng.Uint32(), s: g.rng.Uint32()}
	switch s.mode {
	case pmSeq:
		s.offC = g.rng.Uint32()
		if g.rng.IntN(2) == 0 {
			s.offS = g.rng.Uint32()
		}
	case pmProxy:
		// The proxy answers for the headend on A and for the client on B.
		s.b = pleg{c: g.rng.Uint32(), s: s.a.s}
		s.a.s = g.rng.Uint32()
		s.sA.ttl, s.sA.ipid, s.cB.ttl = 64, uint16(g.rng.Uint32()), 64
		s.cB.ipid = uint16(g.rng.Uint32())
	}
	s.spiC, s.spiS = g.rng.Uint32()|1<<31, g.rng.Uint32()|1<<30
	s.ispi, s.rspi = g.rng.Uint64()|1, g.rng.Uint64()|1
	if (s.kind == pkCTCP && s.mode == pmProxy && g.rng.IntN(5) < 2) ||
		((s.kind == pkNATT || s.kind == pkESP) && g.rng.IntN(10) < 3) {
		s.loss = 0.002 + 0.018*g.rng.Float64()
	}
	s.left = 10 + g.rng.IntN(150)
	if s.kind == pkNATT || s.kind == pkESP {
		s.state = 1 // no TCP handshake
	}
}

// frame builds one packet at point pt (0 A, 1 B) from src to dst and
// queues it at time t.
func (g *pairLarge) frame(pt int, t int64, src, dst *host, proto byte, l4 []byte, ck int) {
	g.buf = appendLink(g.buf[:0], linkEthernet, src, dst, false)
	g.buf = appendIP(g.buf, src, dst, proto, l4, ck)
	g.out[pt].push(t, g.buf)
}

// hosts returns the sender and receiver at point pt and their ports.
func (s *psess) hosts(pt int, fromClient bool) (src, dst *host, sp, dp uint16) {
	src, dst, sp, dp = &s.cA, &s.sA, s.cportA, s.sport
	if pt == 1 {
		src, dst, sp = &s.cB, &s.sB, s.cportB
	}
	if !fromClient {
		src, dst, sp, dp = dst, src, dp, sp
	}
	return
}

// tcp queues one TCP segment at point pt.
func (g *pairLarge) tcp(s *psess, pt int, t int64, fromClient bool, flags uint8, sq, ack uint32, data []byte) {
	src, dst, sp, dp := s.hosts(pt, fromClient)
	win := uint16(64240)
	if !fromClient {
		win = 32768
	}
	var opt []byte
	if flags&flSYN != 0 {
		opt = []byte{2, 4, 0x05, 0x64, 1, 1, 4, 2}
	}
	g.l4 = tcpHeader(g.l4[:0], sp, dp, sq, ack, flags, win, opt, data)
	g.frame(pt, t, src, dst, 6, g.l4, 16)
}

// arrive returns when a packet passing one point at t passes the other
// (A to B, or B to A for toA), without overtaking the one before.
func (g *pairLarge) arrive(s *psess, t int64, toA bool) int64 {
	last := &s.lastB
	if toA {
		last = &s.lastA
	}
	at := max(t+g.jit(s.d), *last+1000)
	*last = at
	return at
}

// fwdIP gives the copy of a routed packet at the other point the
// original's IP ID.
func fwdIP(s *psess, fromClient bool) {
	if fromClient {
		s.cB.ipid = s.cA.ipid - 1
	} else {
		s.sA.ipid = s.sB.ipid - 1
	}
}

// seg sends one segment from the client (passing A at t) or the headend
// (passing B at t) through the device: n is its sequence space (data,
// SYN, FIN). Unless lose, it returns when it reaches the other end host.
// Through a proxy, lose drops it at the proxy (which acknowledges it).
func (g *pairLarge) seg(s *psess, fromClient bool, t int64, flags uint8, data []byte, lose bool) (int64, bool) {
	n := uint32(len(data))
	if flags&(flSYN|flFIN) != 0 {
		n++
	}
	if s.mode == pmProxy {
		if fromClient {
			g.tcp(s, 0, t, true, flags, s.a.c, s.a.cr, data)
			s.a.c += n
			s.a.sr = s.a.c
			if lose {
				return 0, false
			}
			tb := g.arrive(s, t, false)
			g.tcp(s, 1, tb, true, flags, s.b.c, s.b.cr, data)
			s.b.c += n
			s.b.sr = s.b.c
			return tb + s.rh, true
		}
		g.tcp(s, 1, t, false, flags, s.b.s, s.b.sr, data)
		s.b.s += n
		s.b.cr = s.b.s
		if lose {
			return 0, false
		}
		ta := g.arrive(s, t, true)
		g.tcp(s, 0, ta, false, flags, s.a.s, s.a.sr, data)
		s.a.s += n
		s.a.cr = s.a.s
		return ta + s.rc, true
	}
	if fromClient {
		g.tcp(s, 0, t, true, flags, s.a.c, s.a.cr, data)
		if !lose {
			fwdIP(s, true)
			g.tcp(s, 1, g.arrive(s, t, false), true, flags, s.a.c+s.offC, s.a.cr+s.offS, data)
		}
		s.a.c += n
		s.a.sr = s.a.c
		return s.lastB + s.rh, !lose
	}
	g.tcp(s, 1, t, false, flags, s.a.s+s.offS, s.a.sr+s.offC, data)
	if !lose {
		fwdIP(s, false)
		g.tcp(s, 0, g.arrive(s, t, true), false, flags, s.a.s, s.a.sr, data)
	}
	s.a.s += n
	s.a.cr = s.a.s
	return s.lastA + s.rc, !lose
}

// ack sends a pure ACK from an end host (the client passing A at t, the
// headend passing B); through a proxy it stays on its own leg.
func (g *pairLarge) ack(s *psess, fromClient bool, t int64) {
	switch {
	case s.mode == pmProxy && fromClient:
		g.tcp(s, 0, t, true, flACK, s.a.c, s.a.cr, nil)
	case s.mode == pmProxy:
		g.tcp(s, 1, t, false, flACK, s.b.s, s.b.sr, nil)
	case fromClient:
		g.tcp(s, 0, t, true, flACK, s.a.c, s.a.cr, nil)
		fwdIP(s, true)
		g.tcp(s, 1, g.arrive(s, t, false), true, flACK, s.a.c+s.offC, s.a.cr+s.offS, nil)
	default:
		g.tcp(s, 1, t, false, flACK, s.a.s+s.offS, s.a.sr+s.offC, nil)
		fwdIP(s, false)
		g.tcp(s, 0, g.arrive(s, t, true), false, flACK, s.a.s, s.a.sr, nil)
	}
}

// proxyAck sends the proxy's ACK on the client's leg (toClient, passing
// A at t) or the headend's (passing B at t).
func (g *pairLarge) proxyAck(s *psess, toClient bool, t int64) {
	if toClient {
		g.tcp(s, 0, max(t, s.lastA+1000), false, flACK, s.a.s, s.a.sr, nil)
	} else {
		g.tcp(s, 1, max(t, s.lastB+1000), true, flACK, s.b.c, s.b.cr, nil)
	}
}

// udp sends one datagram to or from port (both ends use it; NAT changes
// the client's at B), or a native ESP packet (IP protocol 50) for port 0,
// from the client (passing A at t) or the headend (passing B); unless
// lose, it returns when it reaches the other end host.
func (g *pairLarge) udp(s *psess, fromClient bool, t int64, port uint16, payload []byte, lose bool) (int64, bool) {
	up, down := 0, 1
	if !fromClient {
		up, down = 1, 0
	}
	for _, pt := range [2]int{up, down} {
		src, dst, _, _ := s.hosts(pt, fromClient)
		if pt == down {
			if lose {
				break
			}
			fwdIP(s, fromClient)
			t = g.arrive(s, t, pt == 0)
		}
		if port == 0 {
			g.frame(pt, t, src, dst, 50, payload, -1)
			continue
		}
		cp := port
		if pt == 1 && s.mode != pmRoute {
			cp = s.cportB
			if port == 500 {
				cp++
			}
		}
		sp, dp := cp, port
		if !fromClient {
			sp, dp = port, cp
		}
		g.l4 = udpHeader(g.l4[:0], sp, dp, payload)
		g.frame(pt, t, src, dst, 17, g.l4, 6)
	}
	if lose {
		return 0, false
	}
	if fromClient {
		return t + s.rh, true
	}
	return t + s.rc, true
}

// esp builds the next ESP message of a direction (inner bytes of inner
// packet) in g.msg, with a cTCP trailer for cTCP sessions, and decides
// whether it is lost between the points (telling g.lost).
func (g *pairLarge) esp(s *psess, fromClient bool, inner int, t int64) ([]byte, bool) {
	spi, sq, cnt := s.spiS, &s.espS, &s.cntS
	if fromClient {
		spi, sq, cnt = s.spiC, &s.espC, &s.cntC
	}
	*sq++
	ct := (inner + 2 + 15) / 16 * 16
	g.msg = binary.BigEndian.AppendUint32(g.msg[:0], spi)
	g.msg = binary.BigEndian.AppendUint32(g.msg, *sq)
	g.msg = append(g.msg, g.noiseAt(16+ct+12)...)
	if s.kind == pkCTCP {
		*cnt++
		g.msg = ctcpTrailer(g.msg, *cnt, 0, ctcpESP)
	}
	lose := s.loss > 0 && g.rng.Float64() < s.loss
	if lose {
		g.st.Lost++
		if g.lost != nil {
			ts := largeStart.UnixNano() + t
			if !fromClient {
				ts += int64(g.st.ClockOffset)
			}
			g.lost(LostESP{SPI: spi, Seq: *sq, FromClient: fromClient, Time: ts})
		}
	}
	return g.msg, lose
}

// pairIKE is the IKE exchange of a session: IKEv1 aggressive mode, XAUTH
// and mode configuration (transaction exchanges), quick mode. Each entry:
// from the client, exchange type, 16-byte blocks of body.
var pairIKE = [...]struct {
	fromClient bool
	exch       byte
	blocks     int
}{
	{true, exAggr, 24}, {false, exAggr, 26}, {true, exAggr, 6},
	{false, exTrans, 4}, {true, exTrans, 4}, {false, exTrans, 3},
	{true, exTrans, 5}, {false, exTrans, 8},
	{true, exQuick, 12}, {false, exQuick, 12}, {true, exQuick, 3},
	{true, exInfo, 5}, // the delete that ends a session (not part of the exchange)
}

// pairIKEN is the number of messages of the exchange.
const pairIKEN = len(pairIKE) - 1

// ike builds IKE message i of the session in g.msg, framed for its kind.
func (g *pairLarge) ike(s *psess, i int) []byte {
	m := pairIKE[i]
	g.msg = g.msg[:0]
	switch {
	case s.kind == pkCTCP:
		g.msg = udpHeader(g.msg, 500, 500, nil)
	case s.kind == pkNATT && i >= 2:
		g.msg = append(g.msg, 0, 0, 0, 0) // non-ESP marker
	}
	g.msg = binary.BigEndian.AppendUint64(g.msg, s.ispi)
	rspi := s.rspi
	if i == 0 {
		rspi = 0
	}
	g.msg = binary.BigEndian.AppendUint64(g.msg, rspi)
	msgid := uint32(0)
	if m.exch != exAggr {
		msgid = uint32(s.ispi>>32) ^ uint32(m.exch)<<24 ^ uint32(i/3)
	}
	flags := byte(flEnc)
	np := byte(plHash)
	body := g.noiseAt(16 * m.blocks)
	if i < 2 {
		// Aggressive mode's first two messages are in the clear.
		flags, np, body = 0, plSA, g.ikePlain[i]
	}
	g.msg = append(g.msg, np, ikeV1, m.exch, flags)
	g.msg = binary.BigEndian.AppendUint32(g.msg, msgid)
	g.msg = binary.BigEndian.AppendUint32(g.msg, uint32(28+len(body)))
	g.msg = append(g.msg, body...)
	if s.kind == pkCTCP {
		binary.BigEndian.PutUint16(g.msg[4:], uint16(len(g.msg))) // UDP length
		dir := uint16(0)
		cnt := &s.cntS
		if m.fromClient {
			dir, cnt = 0x4000, &s.cntC
		}
		*cnt++
		g.msg = ctcpTrailer(g.msg, *cnt, dir, ctcpISAKMP)
	}
	return g.msg
}

// step runs the session's next event: a handshake, an IKE message, a
// round of data, a close; then schedules the next.
func (g *pairLarge) step(s *psess) {
	t := s.next
	udpKind := s.kind == pkNATT || s.kind == pkESP
	switch s.state {
	case 0: // TCP handshake
		s.next = g.handshake(s, t)
		s.state = 1
		if s.kind == pkTCP {
			// The request (a TLS client hello's worth).
			arr, _ := g.seg(s, true, s.next, flPSH|flACK, g.noiseAt(200+g.rng.IntN(300)), false)
			s.next = arr + s.rh + g.between(200*time.Microsecond, 5*time.Millisecond)
			s.state = 2
		}
	case 1: // IKE, one message per step
		m := pairIKE[s.i]
		var arr int64
		if udpKind {
			port := uint16(500)
			if s.kind == pkNATT && s.i >= 2 {
				port = 4500
			}
			arr, _ = g.udp(s, m.fromClient, t, port, g.ike(s, s.i), false)
		} else {
			arr, _ = g.seg(s, m.fromClient, t, flPSH|flACK, g.ike(s, s.i), false)
			if s.mode == pmProxy {
				g.proxyAck(s, m.fromClient, t+2*g.proxyHop(s, m.fromClient))
			}
			g.ack(s, !m.fromClient, arr+g.hop(s, !m.fromClient))
		}
		// The peer answers after some processing, passing its point
		// after its own hop.
		s.i++
		s.next = arr + g.between(time.Millisecond, 15*time.Millisecond)
		if s.i < pairIKEN {
			s.next += g.hop(s, pairIKE[s.i].fromClient)
		} else {
			s.state = 2
			s.i = 0
		}
	case 2: // a round of data
		s.next = g.round(s, t)
		s.left--
		if s.left <= 0 {
			s.state = 3
		}
	case 3: // close
		if udpKind {
			// An informational exchange (delete), then silence.
			port := uint16(500)
			if s.kind == pkNATT {
				port = 4500
			}
			g.udp(s, true, t, port, g.ike(s, pairIKEN), false)
		} else {
			arr, _ := g.seg(s, true, t, flFIN|flACK, nil, false)
			if s.mode == pmProxy {
				g.proxyAck(s, true, t+2*s.pA)
			}
			th := arr + s.rh
			arr, _ = g.seg(s, false, th, flFIN|flACK, nil, false)
			if s.mode == pmProxy {
				g.proxyAck(s, false, th+2*(s.d-s.pA))
			}
			g.ack(s, true, arr+s.rc)
		}
		s.state = 4
		s.next = t + g.between(100*time.Millisecond, 2*time.Second)
	case 4: // replaced by a new session
		g.start(int(g.heap.top()), t)
	}
}

// hop returns the time from an end host to its point: rc for the client, rh for the headend.
func (g *pairLarge) hop(s *psess, client bool) int64 {
	if client {
		return s.rc
	}
	return s.rh
}

// proxyHop returns the one-way time from the sender's point to the proxy.
func (g *pairLarge) proxyHop(s *psess, fromClient bool) int64 {
	if fromClient {
		return s.pA
	}
	return s.d - s.pA
}

// handshake runs the TCP handshake from the client's SYN passing A at t
// and returns when the client can send.
func (g *pairLarge) handshake(s *psess, t int64) int64 {
	if s.mode != pmProxy {
		g.tcp(s, 0, t, true, flSYN, s.a.c, 0, nil)
		fwdIP(s, true)
		tb := g.arrive(s, t, false)
		g.tcp(s, 1, tb, true, flSYN, s.a.c+s.offC, 0, nil)
		s.a.c++
		s.a.sr = s.a.c
		tb += 2 * s.rh
		g.tcp(s, 1, tb, false, flSYN|flACK, s.a.s+s.offS, s.a.sr+s.offC, nil)
		fwdIP(s, false)
		ta := g.arrive(s, tb, true)
		g.tcp(s, 0, ta, false, flSYN|flACK, s.a.s, s.a.sr, nil)
		s.a.s++
		s.a.cr = s.a.s
		ta += 2 * s.rc
		g.ack(s, true, ta)
		return ta + 50*int64(time.Microsecond)
	}
	// The proxy answers the client at once and opens its own connection.
	g.tcp(s, 0, t, true, flSYN, s.a.c, 0, nil)
	s.a.c++
	s.a.sr = s.a.c
	ta := t + 2*s.pA
	g.tcp(s, 0, ta, false, flSYN|flACK, s.a.s, s.a.sr, nil)
	s.a.s++
	s.a.cr = s.a.s
	s.lastA = ta
	ta += 2 * s.rc
	g.ack(s, true, ta)
	tb := t + s.d
	g.tcp(s, 1, tb, true, flSYN, s.b.c, 0, nil)
	s.b.c++
	s.b.sr = s.b.c
	tb += 2 * s.rh
	g.tcp(s, 1, tb, false, flSYN|flACK, s.b.s, s.b.sr, nil)
	s.b.s++
	s.b.cr = s.b.s
	tb += 2 * (s.d - s.pA)
	s.lastB = tb
	g.proxyAck(s, false, tb)
	return max(ta, tb-s.d) + 50*int64(time.Microsecond)
}

// round runs one round of data from t (the headend's first message
// passing B): the headend sends k messages (or segments), the client
// acknowledges every second one and then (cTCP, NAT-T, ESP) sends m
// messages of its own. It returns when the next round starts.
func (g *pairLarge) round(s *psess, t int64) int64 {
	if s.i%8 == 0 {
		s.bulk = s.kind == pkTCP || g.rng.IntN(3) > 0
	}
	s.i++
	k, m := 1+g.rng.IntN(2), 1+g.rng.IntN(2)
	gap := g.between(60*time.Microsecond, 250*time.Microsecond)
	if s.bulk {
		k = 6 + g.rng.IntN(11)
		m = 1 + k/5
	}
	udpKind := s.kind == pkNATT || s.kind == pkESP
	port := uint16(4500)
	if s.kind == pkESP {
		port = 0
	}
	last := t
	for j := 0; j < k; j++ {
		tj := t + int64(j)*gap
		var data []byte
		lose := false
		size := 1300 + g.rng.IntN(60)
		if !s.bulk {
			size = 60 + g.rng.IntN(400)
		}
		switch s.kind {
		case pkTCP:
			data = g.noiseAt(min(size+100, 1460))
		default:
			data, lose = g.esp(s, false, size, tj)
		}
		var arr int64
		var ok bool
		if udpKind {
			arr, ok = g.udp(s, false, tj, port, data, lose)
		} else {
			arr, ok = g.seg(s, false, tj, flPSH|flACK, data, lose)
			if s.mode == pmProxy && (j%2 == 1 || j == k-1) {
				g.proxyAck(s, false, tj+2*(s.d-s.pA))
			}
			if ok && (j%2 == 1 || j == k-1) {
				g.ack(s, true, arr+s.rc)
			}
		}
		if !ok {
			arr = tj + s.d + s.rc
		}
		last = arr
	}
	if s.kind == pkTCP {
		return last + s.rc + s.d + s.rh + g.idle(s)
	}
	// The client's messages: inner ACKs, now and then an upload.
	tc := last + s.rc + g.between(50*time.Microsecond, 500*time.Microsecond)
	for j := 0; j < m; j++ {
		tj := tc + int64(j)*gap
		inner := 52
		if g.rng.IntN(4) == 0 {
			inner = 100 + g.rng.IntN(1200)
		}
		data, lose := g.esp(s, true, inner, tj)
		var arr int64
		var ok bool
		if udpKind {
			arr, ok = g.udp(s, true, tj, port, data, lose)
		} else {
			arr, ok = g.seg(s, true, tj, flPSH|flACK, data, lose)
			if s.mode == pmProxy && (j%2 == 1 || j == m-1) {
				g.proxyAck(s, true, tj+2*s.pA)
			}
			if ok && !s.bulk && (j%2 == 1 || j == m-1) {
				g.ack(s, false, arr+s.rh)
			}
		}
		if !ok {
			arr = tj + s.d + s.rh
		}
		last = arr
	}
	return last + s.rh + g.idle(s)
}

// idle returns the pause after a round: short in bulk transfers, up to a
// second between interactive ones.
func (g *pairLarge) idle(s *psess) int64 {
	if s.bulk {
		return g.between(100*time.Microsecond, 2*time.Millisecond)
	}
	return g.between(20*time.Millisecond, time.Second)
}
