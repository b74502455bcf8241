package analyze

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// flowKey identifies a conversation independent of direction: the two
// endpoints in a fixed order (lower address first, then lower port) and
// the protocol. Addresses are held as the two big-endian halves of their
// 16-byte form, so that ordering them is two integer comparisons. It holds
// no pointers, so a large flow table costs the garbage collector nothing
// to scan.
type flowKey struct {
	lo, hi   addr128
	lop, hip uint16
	proto    uint8
	v4       bool
}

// addr128 is an address's 16-byte form (netip.Addr.As16) as two
// big-endian halves: comparing them in order compares the bytes.
type addr128 struct{ hi, lo uint64 }

func addrKey(a netip.Addr) addr128 {
	if a.Is4() {
		// ::ffff:a.b.c.d, without the copies of As16.
		b := a.As4()
		return addr128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return addr128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// after reports whether x sorts after y, byte by byte.
func (x addr128) after(y addr128) bool { return x.hi > y.hi || x.hi == y.hi && x.lo > y.lo }

// keyFor returns the key of p's conversation.
func keyFor(p *decode.Packet) flowKey {
	return makeKey(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto)
}

func makeKey(a netip.Addr, ap uint16, b netip.Addr, bp uint16, proto uint8) flowKey {
	ka, kb := addrKey(a), addrKey(b)
	if ka.after(kb) || ka == kb && bp < ap {
		return flowKey{lo: kb, hi: ka, lop: bp, hip: ap, proto: proto, v4: a.Is4()}
	}
	return flowKey{lo: ka, hi: kb, lop: ap, hip: bp, proto: proto, v4: a.Is4()}
}

// Flow classes, each with its own LRU list and idle timeout.
const (
	classHalfOpen = iota // TCP that never got past SYN and SYN/ACK
	classClosed          // TCP that saw a RST, or a FIN in both directions
	classOpen            // everything else: established TCP, UDP, ESP
	nclasses
)

// Idle timeouts in capture time, per flow class (see idleFloor). They are
// a stateful firewall's: embryonic connections 30 s, closed connections
// 60 s, anything else 10 minutes.
var idleTimeout = [nclasses]int64{
	classHalfOpen: 30e9,
	classClosed:   60e9,
	classOpen:     600e9,
}

// idleFloor is the number of conversations the flow table may hold before
// idle conversations are evicted. Below it nothing is evicted, so that a
// capture of ordinary size is analyzed exactly as Wireshark does (a flow
// idle for hours that resumes stays one tcp.stream).
const idleFloor = 10_000

// sweepEvery is how many packets pass between two idle sweeps.
const sweepEvery = 4096

// MaxHalfOpen bounds the half-open TCP conversations in the flow table
// (fewer when Options.MaxFlows is smaller): beyond it the least recently
// active one is evicted, as a firewall limits embryonic connections. A
// SYN flood therefore cannot fill the table and push out real sessions.
const MaxHalfOpen = 16_384

// MaxKeptEvicted bounds the interesting evicted sessions kept in the
// report: beyond it only cTCP sessions with duplicate-ACK runs (the ones a
// verdict rests on) are kept, so that the report of a capture of any size
// stays bounded too.
const MaxKeptEvicted = 10_000

// flow is the tracker's state for one session of any protocol: the
// session being built, its endpoint A (the source of its first packet),
// and per-direction bookkeeping that is not part of the Session.
type flow struct {
	sess *Session       // nil for UDP flows that are not VPN flows
	a, b netip.AddrPort // source and destination of the first packet: direction 0 is A to B
	tcp  *tcpConn       // nil for UDP and ESP flows

	prev, next *flow // neighbours in the LRU list of class
	lastSeen   int64 // capture time of the latest packet
	class      uint8
	proto      uint8
	linked     bool
	est        bool // TCP: a segment without SYN was analyzed

	lastData      [2]int64
	lastDataFrame [2]uint64
	otherSince    [2]uint64 // data segments from the other direction since this one's last data
	otherFirst    [2]uint64

	cls flowClass

	// store is where a TCP flow's session is built (in its tcpFlow): one
	// allocation per conversation instead of two. retire copies a session
	// that stays in the report out of it (see tracker.keep).
	store *Session
}

// tcpFlow allocates a TCP flow, its connection state and its session's
// storage together.
type tcpFlow struct {
	flow
	conn tcpConn
	sess Session
}

// reset makes f, a flow of a finished analysis, as good as new, keeping
// its TCP connection state and session storage (reset too) if it has
// them.
func (f *flow) reset() {
	c, st := f.tcp, f.store
	*f = flow{}
	if c != nil {
		*c = tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}}
		f.tcp = c
	}
	if st != nil {
		*st = Session{}
		f.store = st
	}
}

// holds reports whether p belongs to f's conversation (in either
// direction). It compares the endpoints as the flow key does, so a flow
// that holds p is the one p's key leads to while f is in the table.
func (f *flow) holds(p *decode.Packet) bool {
	if f.proto != p.Proto {
		return false
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	return f.a == src && f.b == dst || f.a == dst && f.b == src
}

// dirOf returns the direction index of p within f (0: from A).
func (f *flow) dirOf(p *decode.Packet) Dir {
	if p.SrcAddrPort() == f.a {
		return 0
	}
	return 1
}

// classOf returns f's current class.
func (f *flow) classOf() uint8 {
	if f.tcp == nil || f.sess == nil {
		return classOpen
	}
	d := &f.sess.Dirs
	if d[0].RSTFrame != 0 || d[1].RSTFrame != 0 || (d[0].FINFrame != 0 && d[1].FINFrame != 0) {
		return classClosed
	}
	if !f.est {
		return classHalfOpen
	}
	return classOpen
}

// lru is a doubly linked list of flows, least recently active first.
type lru struct {
	head, tail *flow
	n          int
}

func (l *lru) push(f *flow) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
	l.n++
}

func (l *lru) remove(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
	l.n--
}

// retired is a session whose flow left the table (evicted, replaced by a
// reused port, or at the end of the capture): decided and oriented, with
// what finish still needs.
type retired struct {
	s       *Session
	tls     bool // first segment was a TLS handshake (for linkAnyConnect)
	openEnd bool // the end silences last until the end of the capture
}

// tracker holds the flow tables of one analysis.
type tracker struct {
	opts     Options
	maxFlows int
	maxHalf  int

	tcp       map[flowKey]*flow
	udp       map[flowKey]*flow // every UDP conversation, for udp.stream numbering
	esp       map[flowKey]*flow
	recent    *[recentSlots]*flow // flows by recentSlot, for lookup; linked flows only
	lists     [nclasses]lru       // every flow in the maps, by class
	peak      int                 // the most flows the table held at once
	done      []retired           // sessions whose flows left the table
	kept      []Session           // the current block of keep
	finishing bool                // finish is retiring the flows left in the table
	// Blocks carve cuts sessions' first duplicate-ACK run and a run's
	// first frames from.
	runBlock   []DupAckRun
	frameBlock []uint64
	streams    int // next tcp.stream
	ustreams   int // next udp.stream
	packets    uint64
	spare      *spare // the maps, flows and done array came from it; nil once released

	esps espSlab // flows' ESP sequence state (espseq.go)

	end         int64     // time of the last packet
	evicted     uint64    // conversations evicted from the maps
	dropped     uint64    // evicted sessions not kept in the report
	droppedTCP  TCPCounts // their Wireshark counts
	idleEvicted uint64    // ...of the evicted: by the idle timeouts
	keptEvicted int       // evicted sessions kept in the report
	overCap     uint64    // interesting sessions dropped beyond MaxKeptEvicted
}

// spare is what an analysis leaves to the next one through spares, so
// that analyzing many small files does not set up a flow table for each:
// the flow maps, emptied but keeping their room, the cache of recent
// flows, the array of the retired list, and flows, reset, to be used
// again.
type spare struct {
	tcp, udp, esp map[flowKey]*flow
	recent        [recentSlots]*flow // all nil
	done          []retired
	tcpFlows      []*flow   // with their tcpConn
	flows         []*flow   // UDP and ESP
	rings         ringStore // TCP flows' recent data segments (peer.go)
}

var spares = sync.Pool{New: func() any { return &spare{} }}

// maxSpareFlows bounds what a spare keeps: the maps of a table that held
// more flows are not kept (a map keeps the room of its largest size), and
// at most this many flows are kept for reuse.
const maxSpareFlows = 512

// newTracker returns a tracker on a flow table left by an earlier analysis
// if there is one.
func newTracker(opts Options) *tracker { return newTrackerOn(opts, spares.Get().(*spare)) }

// newTrackerOn returns a tracker on the flow table sp.
func newTrackerOn(opts Options, sp *spare) *tracker {
	if sp.tcp == nil {
		sp.tcp = make(map[flowKey]*flow)
		sp.udp = make(map[flowKey]*flow)
		sp.esp = make(map[flowKey]*flow)
	}
	t := &tracker{
		opts:   opts,
		tcp:    sp.tcp,
		udp:    sp.udp,
		esp:    sp.esp,
		done:   sp.done,
		recent: &sp.recent,
		spare:  sp,
	}
	t.maxFlows = opts.MaxFlows
	if t.maxFlows <= 0 {
		t.maxFlows = DefaultMaxFlows
	}
	t.maxHalf = min(MaxHalfOpen, max(1, t.maxFlows/2))
	return t
}

// release hands the flow table to the next analysis (see spare); the
// tracker's counters stay readable, but it must not track packets any
// more. Sessions are not touched: they belong to the Capture.
func (t *tracker) release() {
	sp := t.spare
	if sp == nil {
		return
	}
	t.spare, t.recent = nil, nil
	clear(sp.recent[:])
	sp.rings.trim(maxSpareFlows)
	sp.tcp, sp.udp, sp.esp, sp.done = nil, nil, nil, nil
	if t.peak <= maxSpareFlows {
		clear(t.tcp)
		clear(t.udp)
		clear(t.esp)
		sp.tcp, sp.udp, sp.esp = t.tcp, t.udp, t.esp
	}
	if cap(t.done) <= maxSpareFlows {
		clear(t.done)
		sp.done = t.done[:0]
	}
	t.tcp, t.udp, t.esp, t.done = nil, nil, nil, nil
	for c := range t.lists {
		f := t.lists[c].head
		for f != nil && len(sp.tcpFlows)+len(sp.flows) < maxSpareFlows {
			next := f.next
			if f.tcp != nil && f.store == nil { // its session is in the report
				f = next
				continue
			}
			f.reset()
			if f.tcp != nil {
				sp.tcpFlows = append(sp.tcpFlows, f)
			} else {
				sp.flows = append(sp.flows, f)
			}
			f = next
		}
		t.lists[c] = lru{}
	}
	spares.Put(sp)
}

// pop takes the last flow of a spare's list, nil if there is none.
func pop(l *[]*flow) *flow {
	n := len(*l)
	if n == 0 {
		return nil
	}
	f := (*l)[n-1]
	(*l)[n-1] = nil
	*l = (*l)[:n-1]
	return f
}

// isCTCPPort reports whether cTCP is expected on TCP port p: 10000 or one
// of Options.Ports.
func (t *tracker) isCTCPPort(p uint16) bool { return p == 10000 || slices.Contains(t.opts.Ports, p) }

// live returns the number of conversations in the flow table.
func (t *tracker) live() int { return t.lists[0].n + t.lists[1].n + t.lists[2].n }

// link puts a new flow into the table's LRU lists.
func (t *tracker) link(f *flow, p *decode.Packet) {
	f.proto = p.Proto
	f.lastSeen = p.Time
	f.class = f.classOf()
	f.linked = true
	t.lists[f.class].push(f)
	t.recent[f.slot()] = f
	t.peak = max(t.peak, t.live())
}

// recentSlots is the size of the tracker's cache of recent flows.
const recentSlots = 1024

// recentSlot returns the slot of the cache of recent flows that a
// conversation between ports a and b uses: the same in both directions.
func recentSlot(a, b uint16) uint16 { return (a ^ b) % recentSlots }

// slot returns f's slot in the cache of recent flows.
func (f *flow) slot() uint16 { return recentSlot(f.a.Port(), f.b.Port()) }

// lookup returns the flow of p's conversation in m, the table of p's
// protocol, or nil. It looks first in the cache of recent flows, one flow
// per slot, the last one looked up or added there: consecutive packets of
// one conversation (most packets of real traffic), and most packets of a
// few hundred interleaved ones, find their flow there without building the
// key.
func (t *tracker) lookup(m map[flowKey]*flow, p *decode.Packet) *flow {
	slot := &t.recent[recentSlot(p.SrcPort, p.DstPort)]
	if f := *slot; f != nil && f.holds(p) {
		return f
	}
	f := m[keyFor(p)]
	if f != nil {
		*slot = f
	}
	return f
}

// bump marks f as the most recently active flow of its class.
func (t *tracker) bump(f *flow, now int64) {
	if now > f.lastSeen {
		f.lastSeen = now
	}
	l := &t.lists[f.class]
	c := f.classOf()
	if c == f.class && l.tail == f {
		return
	}
	l.remove(f)
	f.class = c
	t.lists[c].push(f)
}

func (t *tracker) newSession(p *decode.Packet) *Session {
	s := newSession(p)
	return &s
}

func newSession(p *decode.Packet) Session {
	// LastFrame is set here too: a conversation opened by a packet that is
	// not analyzed (an ICMP-quoted or too short segment) has one frame.
	return Session{
		Stream:     -1,
		Proto:      p.Proto,
		FirstFrame: p.Frame,
		FirstTime:  p.Time,
		LastFrame:  p.Frame,
		LastTime:   p.Time,
	}
}

func (t *tracker) newFlow(p *decode.Packet, withSession bool) *flow {
	f := pop(&t.spare.flows)
	if f == nil {
		f = new(flow)
	}
	f.a, f.b = p.SrcAddrPort(), p.DstAddrPort()
	if withSession {
		f.sess = t.newSession(p)
	}
	f.cls.init()
	f.cls.slab = &t.esps
	return f
}

// add processes one decoded packet.
func (t *tracker) add(p *decode.Packet) {
	if p.Time > t.end {
		t.end = p.Time
	}
	t.packets++
	if t.packets%sweepEvery == 0 {
		t.sweep()
	}
	if !p.HasTransport {
		return
	}
	switch p.Proto {
	case decode.ProtoTCP:
		t.addTCP(p)
	case decode.ProtoUDP:
		if !p.InError {
			t.addUDP(p)
		}
	case decode.ProtoESP:
		if !p.InError {
			t.addESP(p)
		}
	}
}

func (t *tracker) addTCP(p *decode.Packet) {
	f := t.lookup(t.tcp, p)
	var pre uint16
	synOnly := p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN
	if f == nil {
		f = t.newTCP(p)
	} else if synOnly {
		// tcp.analysis.reused_ports: a SYN whose seq differs from the base
		// of the known conversation opens a new conversation. A SYN with
		// the same seq is a retransmission; Wireshark then restores
		// nextseq (a RST may have moved it, RFC 793 §3.4).
		h := &f.tcp.half[f.dirOf(p)]
		if h.baseSet && p.Seq != h.base {
			old := f
			t.unlink(old)
			t.retire(old, false)
			f = t.newTCP(p)
			f.sess.Reused = true
			pre = aReusedPorts
		} else if h.baseSet && !p.InError {
			h.nextseq = h.maxseqtobeacked
		}
	} else if p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN|decode.FlagACK {
		// A SYN/ACK with another seq marks reused ports and rebases.
		h := &f.tcp.half[f.dirOf(p)]
		if h.baseSet && p.Seq != h.base {
			h.base = p.Seq
			pre = aReusedPorts
		}
	}
	if p.InError {
		// Wireshark gives a quoted segment its conversation (tcp.stream)
		// but does not analyze it.
		return
	}
	if p.PayloadLen < 0 {
		return // shorter than its own header: Wireshark skips the analysis
	}
	s := f.sess
	d := f.dirOf(p)
	c := f.tcp
	seglen := uint32(p.PayloadLen)

	ta := c.analyzeSegment(p, d, seglen, pre)
	if t.opts.trace != nil {
		t.opts.trace(p.Frame, ta)
	}
	if ta != 0 {
		countFlags(&s.Counts, ta)
		countFlags(&s.Dirs[d].Counts, ta)
	}

	// Handshake RTT for the out-of-order threshold, after the analysis as
	// in Wireshark: first non-SYN ACK after a SYN.
	if p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagACK && c.tsMruSyn != 0 && c.firstRTT == 0 {
		c.firstRTT = p.Time - c.tsMruSyn
	}
	if synOnly {
		c.tsMruSyn = p.Time
	}
	if p.Flags&decode.FlagSYN != 0 {
		h := &c.half[d]
		if p.WScale >= 0 {
			h.winScale = p.WScale
		} else if h.winScale == wsUnknown {
			h.winScale = wsNone
		}
		if p.Flags&decode.FlagACK != 0 && p.WScale < 0 {
			c.half[d.Other()].winScale = wsNone
		}
	}

	t.touch(f, p, d)
	if p.Flags&decode.FlagSYN == 0 {
		f.est = true
	}
	ds := &s.Dirs[d]
	if synOnly && f.cls.synBy < 0 {
		f.cls.synBy = int8(d)
	}
	if p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN|decode.FlagACK && f.cls.synAckBy < 0 {
		f.cls.synAckBy = int8(d)
	}
	if p.Flags&decode.FlagSYN != 0 && ds.SYNFrame == 0 {
		ds.SYNFrame = p.Frame
	}
	if p.Flags&decode.FlagFIN != 0 && ds.FINFrame == 0 {
		ds.FINFrame, ds.FINTime = p.Frame, p.Time
	}
	if p.Flags&decode.FlagRST != 0 && ds.RSTFrame == 0 {
		ds.RSTFrame, ds.RSTTime = p.Frame, p.Time
	}
	if ta&aLostPacket != 0 && len(ds.LostSegmentFrames) < MaxRunFrames {
		ds.LostSegmentFrames = append(ds.LostSegmentFrames, p.Frame)
	}

	t.trackRuns(f, p, d, ta, seglen)
	t.observePeer(f, p, d, ta, seglen)
	if seglen > 0 {
		t.data(f, p, d, seglen)
		if p.Flags&decode.FlagRST == 0 {
			f.cls.observeTCP(f, p, d, seglen)
		}
	}
	t.bump(f, p.Time)
}

// evictIfFull keeps the flow table within its bound: when it is full, a
// tenth of the bound is evicted, half-open conversations first, then
// closed ones, then open ones, each class least recently active first.
// It is called before a new conversation enters the table.
func (t *tracker) evictIfFull() {
	if t.live() < t.maxFlows {
		return
	}
	n := max(1, t.maxFlows/10)
	for c := range t.lists {
		for ; n > 0 && t.lists[c].head != nil; n-- {
			t.evict(t.lists[c].head)
		}
	}
}

// sweep evicts the conversations idle for longer than their class's
// timeout, in capture time, while the table holds more than idleFloor.
// Each list is ordered by activity, so a sweep looks only at the flows it
// evicts and one more per class.
func (t *tracker) sweep() {
	for c := range t.lists {
		l := &t.lists[c]
		for l.head != nil && t.live() > idleFloor && t.end-l.head.lastSeen > idleTimeout[c] {
			t.evict(l.head)
			t.idleEvicted++
		}
	}
}

// unlink takes f out of the table: its LRU list and, if it is still the
// conversation its key leads to, its map.
func (t *tracker) unlink(f *flow) {
	if !f.linked {
		return
	}
	t.lists[f.class].remove(f)
	f.linked = false
	if slot := &t.recent[f.slot()]; *slot == f {
		*slot = nil
	}
	m := t.tcp
	switch f.proto {
	case decode.ProtoUDP:
		m = t.udp
	case decode.ProtoESP:
		m = t.esp
	}
	k := makeKey(f.a.Addr(), f.a.Port(), f.b.Addr(), f.b.Port(), f.proto)
	if m[k] == f {
		delete(m, k)
	}
}

// evict removes f from the table before its conversation ended; its
// session is kept in the report only if it is interesting.
func (t *tracker) evict(f *flow) {
	t.unlink(f)
	t.evicted++
	if f.sess != nil {
		t.retire(f, true)
	}
}

// interesting reports whether an evicted flow's session stays in the
// report: a VPN transport (decided already), or a TCP session with
// duplicate-ACK runs, or one that carried data and shows loss,
// retransmissions, reordering, a zero window or a reset. Everything else
// (half-open attempts, scans, clean short connections) is only counted.
func interesting(s *Session) bool {
	if s.Transport.IsVPN() || len(s.Requests) > 0 || s.RequestsDropped > 0 {
		return true
	}
	if s.Dirs[0].Bytes+s.Dirs[1].Bytes == 0 {
		return false
	}
	c := &s.Counts
	if c.DupAcks+c.Retransmissions+c.LostSegments+c.AckedUnseen+c.OutOfOrder+c.ZeroWindows > 0 {
		return true
	}
	return s.Dirs[0].RSTFrame != 0 || s.Dirs[1].RSTFrame != 0
}

// retire finishes a flow that gets no more packets: its end silences,
// transport and orientation. With evicted set (an evicted flow, or any
// flow at the end of a capture that overflowed the table), a session that
// is not interesting is dropped and only counted.
func (t *tracker) retire(f *flow, evicted bool) {
	s := f.sess
	if f.tcp != nil {
		f.tcp.peer.release(&t.spare.rings)
	}
	// A session that ended with RST or FIN is silent only until its end;
	// one still open is silent until the end of the capture (set in finish).
	closed := s.Dirs[0].RSTFrame != 0 || s.Dirs[1].RSTFrame != 0 || (s.Dirs[0].FINFrame != 0 && s.Dirs[1].FINFrame != 0)
	var end int64
	var endFrame uint64
	if closed {
		end, endFrame = s.LastTime, s.LastFrame
	}
	for d := Dir(0); d < 2; d++ {
		ds := &s.Dirs[d]
		from, fromFrame := f.lastData[d], f.lastDataFrame[d]
		if fromFrame == 0 {
			from = s.FirstTime
		}
		ds.EndSilence = Silence{
			FromFrame: fromFrame, ToFrame: endFrame, From: from, To: max(end, from),
			OtherSegments: f.otherSince[d], OtherFirstFrame: f.otherFirst[d], Open: true,
		}
	}
	f.cls.decide(t, f)
	if evicted {
		keep := interesting(s)
		if keep && t.keptEvicted >= MaxKeptEvicted && (s.Transport != TransportCTCP || len(s.Requests) == 0) {
			keep = false
			t.overCap++
		}
		if !keep {
			t.dropped++
			t.droppedTCP.Add(s.Counts)
			f.sess = nil
			return
		}
		t.keptEvicted++
	}
	t.orient(f)
	if s == f.store {
		if t.finishing && t.peak > maxSpareFlows {
			// The flow ends with the analysis and will not be reused
			// (release keeps at most maxSpareFlows): its session stays
			// where it is, instead of being copied while the whole
			// table is still held.
			f.store = nil
		} else {
			s = t.keep(s)
			*f.store = Session{} // drops its references; the flow may be reused
		}
	}
	t.done = append(t.done, retired{s: s, tls: f.cls.tls, openEnd: !closed})
	f.sess = nil
}

// keep copies a session built in a flow's storage into the tracker's
// blocks of sessions, where it stays for the report. Only sessions the
// report lists are copied, so a block holds nothing but them; blocks grow
// from 4 to 64 sessions, so a small capture does not pay for 64.
func (t *tracker) keep(s *Session) *Session {
	if len(t.kept) == cap(t.kept) {
		t.kept = make([]Session, 0, min(64, max(4, 2*cap(t.kept))))
	}
	t.kept = append(t.kept, *s)
	return &t.kept[len(t.kept)-1]
}

func (t *tracker) newTCP(p *decode.Packet) *flow {
	t.evictIfFull()
	f := pop(&t.spare.tcpFlows)
	if f == nil {
		tf := &tcpFlow{conn: tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}}}
		f = &tf.flow
		f.tcp = &tf.conn
		f.store = &tf.sess
	}
	f.a, f.b = p.SrcAddrPort(), p.DstAddrPort()
	*f.store = newSession(p)
	f.sess = f.store
	f.sess.Peer[0].SYNWScale, f.sess.Peer[1].SYNWScale = -1, -1 // no SYN seen yet
	f.cls.init()
	f.cls.slab = &t.esps
	f.sess.Stream = t.streams
	t.streams++
	t.tcp[keyFor(p)] = f
	t.link(f, p)
	if h := &t.lists[classHalfOpen]; h.n > t.maxHalf {
		t.evict(h.head)
	}
	return f
}

// touch updates the counters every packet of a flow feeds.
func (t *tracker) touch(f *flow, p *decode.Packet, d Dir) {
	s := f.sess
	s.Packets++
	// Timestamps can go backwards in a capture: FirstTime and LastTime
	// bound the session's times, so durations are never negative.
	s.LastFrame = p.Frame
	s.LastTime = max(s.LastTime, p.Time)
	s.FirstTime = min(s.FirstTime, p.Time)
	s.Dirs[d].Packets++
}

// data updates the per-direction data and silence facts for a packet
// that carries payload.
func (t *tracker) data(f *flow, p *decode.Packet, d Dir, n uint32) {
	ds := &f.sess.Dirs[d]
	ds.DataSegments++
	ds.Bytes += uint64(n)
	if ds.FirstDataFrame == 0 {
		ds.FirstDataFrame, ds.FirstDataTime = p.Frame, p.Time
	} else if f.otherSince[d] > 0 {
		gap := p.Time - f.lastData[d]
		if gap > ds.Silence.Duration() {
			ds.Silence = Silence{
				FromFrame: f.lastDataFrame[d], ToFrame: p.Frame,
				From: f.lastData[d], To: p.Time,
				OtherSegments: f.otherSince[d], OtherFirstFrame: f.otherFirst[d],
			}
		}
	}
	ds.LastDataFrame, ds.LastDataTime = p.Frame, p.Time
	f.lastData[d], f.lastDataFrame[d] = p.Time, p.Frame
	f.otherSince[d] = 0
	o := d.Other()
	if f.otherSince[o] == 0 {
		f.otherFirst[o] = p.Frame
	}
	f.otherSince[o]++
}

// trackRuns records duplicate-ACK runs and the later facts that answer or
// leave them unanswered.
func (t *tracker) trackRuns(f *flow, p *decode.Packet, d Dir, ta uint16, seglen uint32) {
	c := f.tcp
	s := f.sess
	me, other := &c.half[d], &c.half[d.Other()]

	// Facts for runs asked by the other side: does this segment cover the
	// requested byte, or go on above it?
	if len(other.open) > 0 && seglen > 0 {
		kept := other.open[:0]
		for _, i := range other.open {
			r := &s.Requests[i]
			a := seq.Value(r.AckRaw)
			switch {
			case a.InWindow(seq.Value(p.Seq), seq.Size(seglen)):
				r.CoverFrame, r.CoverTime = p.Frame, p.Time
			case seq.Value(p.Seq).GreaterThan(a):
				r.DataAbove++
				r.DataAboveLastTime = p.Time
			}
			if r.CoverFrame == 0 {
				kept = append(kept, i)
			}
		}
		other.open = kept
	}
	// Runs asked by this side: did its ACK move past the requested byte?
	if len(me.open) > 0 && p.Flags&decode.FlagACK != 0 {
		kept := me.open[:0]
		for _, i := range me.open {
			r := &s.Requests[i]
			if seq.Value(p.Ack).GreaterThan(seq.Value(r.AckRaw)) {
				r.AdvanceFrame, r.AdvanceTime = p.Frame, p.Time
				continue
			}
			kept = append(kept, i)
		}
		me.open = kept
	}

	if ta&aDuplicateAck == 0 {
		return
	}
	// A duplicate ACK: extend the current run or start a new one. A run
	// lasts as long as Wireshark's numbering does: until the ACK number
	// changes (window updates and keep-alive ACKs do not end it).
	if me.curRun >= 0 && me.curRunOrig == me.lastnondupack && s.Requests[me.curRun].AckRaw == p.Ack {
		r := &s.Requests[me.curRun]
		r.Count++
		r.LastTime = p.Time
		r.LastFrame = p.Frame
		if len(r.Frames) < MaxRunFrames {
			r.Frames = append(r.Frames, p.Frame)
		}
		return
	}
	if len(s.Requests) >= MaxRequests {
		s.RequestsDropped++
		me.curRun = -1
		return
	}
	r := DupAckRun{
		By:                     d,
		Ack:                    p.Ack - other.base,
		AckRaw:                 p.Ack,
		OrigFrame:              me.lastnondupack,
		Count:                  1,
		Frames:                 carve(&t.frameBlock, p.Frame, 4, 1024), // most runs are 2 to 4 long
		LastFrame:              p.Frame,
		FirstTime:              p.Time,
		LastTime:               p.Time,
		SenderNextSeqAtRequest: other.nextseq - other.base,
		SeenBefore:             other.nextseq != 0 && seq.Value(other.nextseq).GreaterThan(seq.Value(p.Ack)),
	}
	r.NothingOutstanding = other.nextseq != 0 && other.nextseq == p.Ack
	if other.lastLostFrame != 0 && seq.Value(p.Ack).InRange(seq.Value(other.lastLostFrom), seq.Value(other.lastLostTo)) {
		// The requested bytes fall in a hole the capture never saw.
		r.LostSegmentFrame = other.lastLostFrame
		r.SeenBefore = false
	}
	if s.Requests == nil {
		s.Requests = carve(&t.runBlock, r, 1, 64) // most sessions have one run, if any
	} else {
		s.Requests = append(s.Requests, r)
	}
	me.curRun = len(s.Requests) - 1
	me.curRunOrig = me.lastnondupack
	if me.open == nil {
		me.open = me.openBuf[:0] // the connection state is in place now
	}
	if len(me.open) < maxOpenRuns {
		me.open = append(me.open, me.curRun)
	}
}

// carve returns a slice holding v, of capacity n, from *block, starting a
// new block when it has no room (each twice the last, from 4n up to
// maxSize elements): the small slices of many sessions share a few
// allocations, and a small capture gets small blocks. Appending beyond n
// moves the slice out of the block, as append does.
func carve[T any](block *[]T, v T, n, maxSize int) []T {
	if cap(*block)-len(*block) < n {
		*block = make([]T, 0, min(maxSize, max(4*n, 2*cap(*block))))
	}
	i := len(*block)
	*block = append(*block, v)
	*block = (*block)[:i+n]
	return (*block)[i : i+1 : i+n]
}

func (t *tracker) addUDP(p *decode.Packet) {
	f := t.lookup(t.udp, p)
	if f == nil {
		t.evictIfFull()
		// Only VPN flows get a session; for the others only the udp.stream
		// number matters.
		f = t.newFlow(p, vpnUDPPort(p.SrcPort) || vpnUDPPort(p.DstPort))
		if f.sess != nil {
			f.sess.Stream = t.ustreams
		}
		t.ustreams++
		t.udp[keyFor(p)] = f
		t.link(f, p)
	}
	if f.sess == nil {
		t.bump(f, p.Time)
		return
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		f.cls.observeUDP(f, p, d)
	}
	t.bump(f, p.Time)
}

// vpnUDPPort reports whether a UDP port is one of the VPN transports' ports.
func vpnUDPPort(p uint16) bool { return p == 500 || p == 4500 || p == 10000 || p == 443 }

func (t *tracker) addESP(p *decode.Packet) {
	f := t.lookup(t.esp, p)
	if f == nil {
		t.evictIfFull()
		f = t.newFlow(p, true)
		f.sess.Transport = TransportESP
		t.esp[keyFor(p)] = f
		t.link(f, p)
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		f.cls.espHeader(f.sess, d, p.Payload, p.Frame)
	}
	t.bump(f, p.Time)
}

// finish turns the flows into the capture's sessions: retires the flows
// still in the table (classifies each, decides client and headend, orients
// the per-direction facts), ends the open silences at the end of the
// capture, and orders the sessions by first frame. It ends the tracker's
// work: its flow table goes to the next analysis (see release).
func (t *tracker) finish(c *Capture) {
	c.Stats.TCPStreams = t.streams
	c.Stats.EvictedFlows = t.evicted
	// Once the table overflowed, the sessions still in it are listed by the
	// same rule as the evicted ones: a flood's last flows are as quiet as
	// its first.
	overflowed := t.evicted > 0
	t.finishing = true
	for i := range t.lists {
		for f := t.lists[i].head; f != nil; f = f.next {
			if f.sess != nil {
				t.retire(f, overflowed)
			}
		}
	}
	c.Stats.DroppedSessions = t.dropped
	c.Stats.TCP.Add(t.droppedTCP)
	sessions := make([]*Session, 0, len(t.done))
	for _, r := range t.done {
		s := r.s
		if r.openEnd {
			s.Dirs[0].EndSilence.To = t.end
			s.Dirs[1].EndSilence.To = t.end
		}
		c.Stats.TCP.Add(s.Counts)
		sessions = append(sessions, s)
	}
	t.linkAnyConnect()
	slices.SortStableFunc(sessions, func(a, b *Session) int { return cmp.Compare(a.FirstFrame, b.FirstFrame) })
	for i, s := range sessions {
		s.ID = i
	}
	c.Sessions = sessions
	t.release()
}
