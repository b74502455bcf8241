package analyze

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// The tracker follows the conversations of one analysis through the flow
// table (flowtable.go) and builds their sessions: Wireshark's TCP
// analysis and duplicate-ACK runs (tcp.go), the UDP and ESP flows, and
// the retiring of a flow (evicted, replaced, or at the end of the
// capture) into the capture's sessions.

// MaxKeptEvicted bounds the interesting evicted sessions kept in the
// report: beyond it only cTCP sessions with duplicate-ACK runs (the ones a
// verdict rests on) are kept, so that the report of a capture of any size
// stays bounded too.
const MaxKeptEvicted = 10_000

// flow is the tracker's state for one session of any protocol: the
// session being built, its endpoint A (the source of its first packet),
// its place in the flow table, and per-direction bookkeeping that is not
// part of the Session.
type flow struct {
	sess *Session       // nil for UDP flows that are not VPN flows
	a, b netip.AddrPort // source and destination of the first packet: direction 0 is A to B
	tcp  *tcpConn       // nil for UDP and ESP flows

	// The flow table's (flowtable.go).
	prev, next *flow // neighbours in the LRU list of class
	lastSeen   int64 // capture time of the latest packet
	class      uint8
	proto      uint8
	linked     bool

	est bool // TCP: a segment without SYN was analyzed

	lastData      [2]int64
	lastDataFrame [2]uint64
	otherSince    [2]uint64 // data segments from the other direction since this one's last data
	otherFirst    [2]uint64

	cls flowClass

	// store is where a TCP flow's session is built (in its tcpFlow): one
	// allocation per conversation instead of two. retire copies a session
	// that stays in the report out of it (see flowTable.keep).
	store *Session
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

// dirOf returns the direction index of p within f (0: from A).
func (f *flow) dirOf(p *decode.Packet) Dir {
	if p.SrcAddrPort() == f.a {
		return 0
	}
	return 1
}

// classOf returns f's current class in the flow table.
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

// retired is a session whose flow left the table (evicted, replaced by a
// reused port, or at the end of the capture): decided and oriented, with
// what finish still needs.
type retired struct {
	s       *Session
	tls     bool // first segment was a TLS handshake (for linkAnyConnect)
	openEnd bool // the end silences last until the end of the capture
}

// tracker holds the state of one analysis.
type tracker struct {
	flowTable

	opts      Options
	done      []retired // sessions whose flows left the table
	finishing bool      // finish is retiring the flows left in the table
	streams   int       // next tcp.stream
	ustreams  int       // next udp.stream
	packets   uint64

	// sh is set when the tracker is one shard of a sharded analysis
	// (shard.go); opened lists the frames that opened its TCP and UDP
	// conversations (the tcp.stream and udp.stream numbers are their
	// ranks among all shards').
	sh     *shards
	opened [2]frameList

	esps espSlab // flows' ESP sequence state (espseq.go)

	end         int64     // time of the last packet
	evicted     uint64    // conversations evicted from the maps
	dropped     uint64    // evicted sessions not kept in the report
	droppedTCP  TCPCounts // their Wireshark counts
	idleEvicted uint64    // ...of the evicted: by the idle timeouts
	keptEvicted int       // evicted sessions kept in the report
	overCap     uint64    // interesting sessions dropped beyond MaxKeptEvicted
}

// newTracker returns a tracker on a flow table left by an earlier analysis
// if there is one.
func newTracker(opts Options) *tracker { return newTrackerOn(opts, spares.Get().(*spare)) }

// newTrackerOn returns a tracker on the flow table sp.
func newTrackerOn(opts Options, sp *spare) *tracker {
	t := &tracker{opts: opts, done: sp.done}
	t.flowTable.init(opts.MaxFlows, sp)
	if opts.OnMessage != nil {
		t.esps.hook = &msgHook{on: opts.OnMessage}
	}
	return t
}

// release hands the flow table, and the array of the retired list, to the
// next analysis (see spare); the tracker's counters stay readable, but it
// must not track packets any more. Sessions are not touched: they belong
// to the Capture.
func (t *tracker) release() {
	sp := t.spare
	if sp == nil {
		return
	}
	sp.done = nil
	if cap(t.done) <= maxSpareFlows {
		clear(t.done)
		sp.done = t.done[:0]
	}
	t.done = nil
	t.flowTable.release()
}

// isCTCPPort reports whether cTCP is expected on TCP port p: 10000 or one
// of Options.Ports.
func (t *tracker) isCTCPPort(p uint16) bool { return p == 10000 || slices.Contains(t.opts.Ports, p) }

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

// newFlow returns a UDP or ESP flow for p's conversation, with a session
// if withSession is set; it is not in the table yet.
func (t *tracker) newFlow(p *decode.Packet, withSession bool) *flow {
	f := t.alloc()
	f.a, f.b = p.SrcAddrPort(), p.DstAddrPort()
	if withSession {
		f.sess = t.newSession(p)
		f.sess.Serial = p.Frame
	}
	if t.sh != nil {
		t.noteOpened(p.Frame, p.Proto)
	}
	f.cls.init()
	f.cls.slab = &t.esps
	return f
}

// add processes one decoded packet.
func (t *tracker) add(p *decode.Packet) {
	t.clock(p.Time)
	if t.packets%sweepEvery == 0 {
		t.sweep(t.live())
	}
	t.track(p)
}

// clock counts a packet of time tm: the capture's clock (end) and packet
// count, on which the sweeps run.
func (t *tracker) clock(tm int64) {
	t.end = max(t.end, tm)
	t.packets++
}

// track analyzes p in its conversation.
func (t *tracker) track(p *decode.Packet) {
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

// evictIfFull keeps the flow table within its bound: when it is full, a
// tenth of the bound is evicted, half-open conversations first, then
// closed ones, then open ones, each class least recently active first.
// It is called before a new conversation enters the table.
func (t *tracker) evictIfFull() {
	for n := t.overflow(); n > 0; n-- {
		f := t.coldest()
		if f == nil {
			return
		}
		t.evict(f)
	}
}

// sweep evicts the conversations idle for longer than their class's
// timeout, in capture time, when the table holds more than idleFloor:
// live is the number it holds (in all shards of a sharded analysis).
func (t *tracker) sweep(live int) {
	if live <= idleFloor {
		return
	}
	for f := t.idle(t.end); f != nil; f = t.idle(t.end) {
		t.evict(f)
		t.idleEvicted++
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
		t.insert(t.udp, f, p, f.classOf(), t.end)
	}
	if f.sess == nil {
		t.mark(f, t.end, f.classOf())
		return
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		f.cls.observeUDP(f, p, d)
	}
	t.mark(f, t.end, f.classOf())
}

// vpnUDPPort reports whether a UDP port is one of the VPN transports' ports.
func vpnUDPPort(p uint16) bool { return p == 500 || p == 4500 || p == 10000 || p == 443 }

func (t *tracker) addESP(p *decode.Packet) {
	f := t.lookup(t.esp, p)
	if f == nil {
		t.evictIfFull()
		f = t.newFlow(p, true)
		f.sess.Transport = TransportESP
		t.insert(t.esp, f, p, f.classOf(), t.end)
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		f.cls.espHeader(f.sess, d, p.Payload, p.Frame)
		if h := t.esps.hook; h != nil {
			h.udpMessage(f.sess, MessageESP, TransportESP, p, p.Payload)
		}
	}
	t.mark(f, t.end, f.classOf())
}

// finish turns the flows into the capture's sessions: retires the flows
// still in the table (classifies each, decides client and headend, orients
// the per-direction facts), ends the open silences at the end of the
// capture, and orders the sessions by first frame. It ends the tracker's
// work: its flow table goes to the next analysis (see release).
func (t *tracker) finish(c *Capture) {
	// Once the table overflowed, the sessions still in it are listed by the
	// same rule as the evicted ones: a flood's last flows are as quiet as
	// its first.
	t.retireAll(t.evicted > 0)
	t.collect(c)
}

// retireAll retires the flows still in the table, as evicted ones if
// overflowed.
func (t *tracker) retireAll(overflowed bool) {
	t.finishing = true
	for i := range t.lists {
		for f := t.lists[i].head; f != nil; f = f.next {
			if f.sess != nil {
				t.retire(f, overflowed)
			}
		}
	}
}

// collect turns the retired flows into the capture's sessions and
// releases the tracker.
func (t *tracker) collect(c *Capture) {
	c.Stats.TCPStreams = t.streams
	c.Stats.EvictedFlows = t.evicted
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
