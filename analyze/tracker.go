package analyze

import (
	"net/netip"
	"sort"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// flowKey identifies a conversation independent of direction: the two
// endpoints in a fixed order (lower first) and the protocol.
type flowKey struct {
	lo, hi netip.AddrPort
	proto  uint8
}

// keyFor returns the key of p's conversation and whether p travels from
// hi to lo (reversed).
func keyFor(p *decode.Packet) (flowKey, bool) {
	a, b := p.SrcAddrPort(), p.DstAddrPort()
	if b.Compare(a) < 0 {
		return flowKey{lo: b, hi: a, proto: p.Proto}, true
	}
	return flowKey{lo: a, hi: b, proto: p.Proto}, false
}

// flow is the tracker's state for one session of any protocol: the
// session being built, its endpoint A (the source of its first packet),
// and per-direction bookkeeping that is not part of the Session.
type flow struct {
	sess *Session
	a, b netip.AddrPort // source and destination of the first packet: direction 0 is A to B
	tcp  *tcpConn       // nil for UDP and ESP flows

	lastData      [2]int64
	lastDataFrame [2]uint64
	otherSince    [2]uint64 // data segments from the other direction since this one's last data
	otherFirst    [2]uint64

	cls flowClass
}

// dirOf returns the direction index of p within f (0: from A).
func (f *flow) dirOf(p *decode.Packet) Dir {
	if p.SrcAddrPort() == f.a {
		return 0
	}
	return 1
}

// tracker holds the flow tables of one analysis.
type tracker struct {
	opts     Options
	ctcpPort [65536 / 64]uint64 // bitmap of TCP ports cTCP is expected on

	tcp      map[flowKey]*flow
	udp      map[flowKey]*flow // every UDP conversation, for udp.stream numbering
	esp      map[flowKey]*flow
	flows    []*flow // in order of creation
	streams  int     // next tcp.stream
	ustreams int     // next udp.stream

	end     int64  // time of the last packet
	evicted uint64 // conversations evicted from the maps
}

func newTracker(opts Options) *tracker {
	t := &tracker{
		opts: opts,
		tcp:  make(map[flowKey]*flow),
		udp:  make(map[flowKey]*flow),
		esp:  make(map[flowKey]*flow),
	}
	t.setPort(10000)
	for _, p := range opts.Ports {
		t.setPort(p)
	}
	return t
}

func (t *tracker) setPort(p uint16)         { t.ctcpPort[p/64] |= 1 << (p % 64) }
func (t *tracker) isCTCPPort(p uint16) bool { return t.ctcpPort[p/64]&(1<<(p%64)) != 0 }
func (t *tracker) newFlow(p *decode.Packet) *flow {
	s := &Session{
		Stream:     -1,
		Proto:      p.Proto,
		FirstFrame: p.Frame,
		FirstTime:  p.Time,
	}
	f := &flow{sess: s, a: p.SrcAddrPort(), b: p.DstAddrPort()}
	f.cls.init()
	t.flows = append(t.flows, f)
	return f
}

// add processes one decoded packet.
func (t *tracker) add(p *decode.Packet) {
	if p.Time > t.end {
		t.end = p.Time
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
	key, _ := keyFor(p)
	f := t.tcp[key]
	var pre uint16
	synOnly := p.Flags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN
	if f == nil {
		f = t.newTCP(p, key)
	} else if synOnly {
		// tcp.analysis.reused_ports: a SYN whose seq differs from the base
		// of the known conversation opens a new conversation. A SYN with
		// the same seq is a retransmission; Wireshark then restores
		// nextseq (a RST may have moved it, RFC 793 §3.4).
		h := &f.tcp.half[f.dirOf(p)]
		if h.baseSet && p.Seq != h.base {
			f = t.newTCP(p, key)
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
	countFlags(&s.Counts, ta)
	countFlags(&s.Dirs[d].Counts, ta)

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
	if seglen > 0 {
		t.data(f, p, d, seglen)
		if p.Flags&decode.FlagRST == 0 {
			f.cls.observeTCP(f, p, d, seglen)
		}
	}
}

// evictIfFull keeps the flow table within its bound: when it is full, the
// least recently active tenth of the conversations is dropped from the
// lookup maps (their sessions stay in the report). The sweep sorts, so it
// runs once per tenth of the bound new flows.
func (t *tracker) evictIfFull() {
	max := t.opts.MaxFlows
	if max <= 0 {
		max = DefaultMaxFlows
	}
	if len(t.tcp)+len(t.udp)+len(t.esp) < max {
		return
	}
	type entry struct {
		last int64
		m    map[flowKey]*flow
		k    flowKey
	}
	all := make([]entry, 0, len(t.tcp)+len(t.udp)+len(t.esp))
	for _, m := range []map[flowKey]*flow{t.tcp, t.udp, t.esp} {
		for k, f := range m {
			last := int64(0)
			if f.sess != nil {
				last = f.sess.LastTime
			}
			all = append(all, entry{last, m, k})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].last < all[j].last })
	n := max / 10
	if n < 1 {
		n = 1
	}
	for _, e := range all[:min(n, len(all))] {
		delete(e.m, e.k)
		t.evicted++
	}
}

func (t *tracker) newTCP(p *decode.Packet, key flowKey) *flow {
	t.evictIfFull()
	f := t.newFlow(p)
	f.tcp = &tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}}
	f.sess.Stream = t.streams
	t.streams++
	t.tcp[key] = f
	return f
}

// touch updates the counters every packet of a flow feeds.
func (t *tracker) touch(f *flow, p *decode.Packet, d Dir) {
	s := f.sess
	s.Packets++
	s.LastFrame, s.LastTime = p.Frame, p.Time
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
		Frames:                 []uint64{p.Frame},
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
	s.Requests = append(s.Requests, r)
	me.curRun = len(s.Requests) - 1
	me.curRunOrig = me.lastnondupack
	if len(me.open) < maxOpenRuns {
		me.open = append(me.open, me.curRun)
	}
}

func (t *tracker) addUDP(p *decode.Packet) {
	key, _ := keyFor(p)
	f := t.udp[key]
	if f == nil {
		t.evictIfFull()
		f = t.newFlow(p)
		f.sess.Stream = t.ustreams
		t.ustreams++
		t.udp[key] = f
		if !vpnUDPPort(p.SrcPort) && !vpnUDPPort(p.DstPort) {
			f.sess = nil // not a VPN flow: only its udp.stream number matters
			t.flows = t.flows[:len(t.flows)-1]
			return
		}
	}
	if f.sess == nil {
		return
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		f.cls.observeUDP(f, p, d)
	}
}

// vpnUDPPort reports whether a UDP port is one of the VPN transports' ports.
func vpnUDPPort(p uint16) bool { return p == 500 || p == 4500 || p == 10000 || p == 443 }

func (t *tracker) addESP(p *decode.Packet) {
	key, _ := keyFor(p)
	f := t.esp[key]
	if f == nil {
		f = t.newFlow(p)
		f.sess.Transport = TransportESP
		t.esp[key] = f
	}
	d := f.dirOf(p)
	t.touch(f, p, d)
	if p.PayloadLen > 0 {
		t.data(f, p, d, uint32(p.PayloadLen))
		observeESP(&f.sess.ESP[d], p.Payload)
	}
}

// observeESP updates ESP facts from an ESP header (SPI, sequence number).
func observeESP(e *ESPStats, b []byte) {
	if len(b) < 8 {
		return
	}
	spi := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	sq := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	if e.Packets == 0 || spi != e.SPI {
		if e.SPIs < 1<<30 {
			e.SPIs++
		}
		e.SPI, e.FirstSeq, e.LastSeq = spi, sq, sq
		e.Packets++
		return
	}
	e.Packets++
	if sq > e.LastSeq+1 && sq-e.LastSeq < 1<<20 {
		e.SeqGaps++
		e.SeqMissing += uint64(sq - e.LastSeq - 1)
	}
	if sq <= e.LastSeq && e.LastSeq-sq < 1<<20 {
		e.Repeats++
	}
	if sq > e.LastSeq {
		e.LastSeq = sq
	}
}

// finish turns the flows into the capture's sessions: classifies each
// flow, decides client and headend, orients the per-direction facts, and
// orders the sessions by first frame.
func (t *tracker) finish(c *Capture) {
	c.Stats.TCPStreams = t.streams
	c.Stats.EvictedFlows = t.evicted
	for _, f := range t.flows {
		s := f.sess
		if s == nil {
			continue
		}
		// A session that ended with RST or FIN is silent only until its end;
		// one still open is silent until the end of the capture.
		end, endFrame := t.end, uint64(0)
		if s.Dirs[0].RSTFrame != 0 || s.Dirs[1].RSTFrame != 0 || (s.Dirs[0].FINFrame != 0 && s.Dirs[1].FINFrame != 0) {
			end, endFrame = s.LastTime, s.LastFrame
		}
		for d := Dir(0); d < 2; d++ {
			ds := &s.Dirs[d]
			from, fromFrame := f.lastData[d], f.lastDataFrame[d]
			if fromFrame == 0 {
				from = s.FirstTime
			}
			ds.EndSilence = Silence{
				FromFrame: fromFrame, ToFrame: endFrame, From: from, To: end,
				OtherSegments: f.otherSince[d], OtherFirstFrame: f.otherFirst[d], Open: true,
			}
		}
		f.cls.decide(t, f)
		t.orient(f)
		c.Stats.TCP.Add(s.Counts)
	}
	t.linkAnyConnect()
	sessions := make([]*Session, 0, len(t.flows))
	for _, f := range t.flows {
		if f.sess != nil {
			sessions = append(sessions, f.sess)
		}
	}
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].FirstFrame < sessions[j].FirstFrame })
	for i, s := range sessions {
		s.ID = i
	}
	c.Sessions = sessions
}
