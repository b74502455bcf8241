package analyze

import (
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// Analysis flags, one bit per Wireshark tcp.analysis.* expert field.
const (
	aRetransmission uint16 = 1 << iota
	aLostPacket
	aAckLostPacket
	aKeepAlive
	aDuplicateAck
	aZeroWindow
	aZeroWindowProbe
	aZeroWindowProbeAck
	aKeepAliveAck
	aOutOfOrder
	aFastRetransmission
	aWindowUpdate
	aWindowFull
	aReusedPorts
	aSpuriousRetransmission
)

// Window-scale states as Wireshark keeps them.
const (
	wsUnknown int8 = -1 // no SYN seen yet
	wsNone    int8 = -2 // the handshake showed that scaling is not used
)

// tcpHalf is the sequence-analysis state of one direction of a TCP
// conversation, field for field the state Wireshark's packet-tcp.c keeps
// (docs/domain.md, "Wireshark's TCP analysis"). A zero nextseq or
// maxseqtobeacked means "unknown", exactly as there. Sequence numbers
// are compared in sequence space only (internal/seq: RFC 793 §3.3,
// RFC 1982), as Wireshark's GT_SEQ and LT_SEQ do.
type tcpHalf struct {
	baseSet bool
	base    seq.Value // base sequence number for relative values

	nextseq      seq.Value // highest seq+len seen
	nextseqFrame uint64
	nextseqTime  int64

	maxseqtobeacked seq.Value // highest contiguous seq seen

	lastack     seq.Value // ack of the previous segment in this direction
	lastackTime int64
	window      uint16 // raw window of the previous segment

	// dupacknum is the running duplicate-ACK counter. Like Wireshark's it
	// is unsigned: "ACKed unseen" sets it to dupAckUnseen (-1 there), which
	// also satisfies the ">= 2" test of the fast-retransmission rule.
	dupacknum     uint32
	lastnondupack uint64

	lastsegmentflags uint16
	winScale         int8

	// Not Wireshark's: facts for the report.
	lastLostFrame uint64    // last frame flagged lost_segment in this direction
	lastLostFrom  seq.Value // nextseq before that frame (start of the hole)
	lastLostTo    seq.Value // seq of that frame (end of the hole)
	curRun        int       // index in Session.Requests of the open dup-ACK run, -1 none
	curRunOrig    uint64    // lastnondupack the open run belongs to
	open          []int     // indexes of runs asked in this direction not yet answered
	openBuf       [4]int    // open's first room, so that few runs need no allocation
}

// since returns the time from then to now in nanoseconds as Wireshark
// computes it for its fast-retransmission and out-of-order tests: in an
// unsigned 64-bit integer, so that a segment whose timestamp goes back in
// time is "long after", not "just after" (it is then a retransmission, not
// out of order).
func since(now, then int64) uint64 { return uint64(now - then) }

// dupAckUnseen is the duplicate-ACK counter value after "ACKed unseen".
const dupAckUnseen = ^uint32(0)

// maxOpenRuns bounds the unanswered runs tracked per direction.
const maxOpenRuns = 64

// tcpConn is one Wireshark TCP conversation (one tcp.stream).
type tcpConn struct {
	// half[0] is the direction from endpoint A (the source of the first
	// packet) to B; half[1] the reverse. Session.Dirs uses the same indexes
	// until finish maps them onto client/headend.
	half [2]tcpHalf

	tsMruSyn int64 // time of the most recent SYN (0: none)
	firstRTT int64 // handshake RTT (0: unknown)

	peer peerConn // who sent what (peer.go)

	fr [2]framer // cTCP framing of each direction's byte stream (framing.go)
}

func newTCPHalf() tcpHalf { return tcpHalf{winScale: wsUnknown, curRun: -1} }

// analyzeSegment applies Wireshark's tcp_analyze_sequence_number rules to
// one segment sent in direction d of c, and returns the analysis flags.
// Each block names the expert field it sets; the order matters because
// some checks end the ACK classification early.
func (c *tcpConn) analyzeSegment(p *decode.Packet, d Dir, seglen uint32, pre uint16) uint16 {
	fwd, rev := &c.half[d], &c.half[d.Other()]
	flags := p.Flags
	s, ack, window := seq.Value(p.Seq), seq.Value(p.Ack), p.Window
	n := seq.Size(seglen)
	ta := pre
	const synFinRst = decode.FlagSYN | decode.FlagFIN | decode.FlagRST

	// Base sequence numbers for relative values: a SYN's own seq, or seq-1
	// so that a capture starting mid-stream shows seq 1.
	if !fwd.baseSet {
		if flags&decode.FlagSYN != 0 {
			fwd.base = s
		} else {
			fwd.base = s - 1
		}
		fwd.baseSet = true
	}
	if !rev.baseSet && flags&decode.FlagACK != 0 {
		rev.base = ack - 1
		rev.baseSet = true
	}

	func() {
		// tcp.analysis.zero_window_probe: 1 byte at nextseq while the other
		// side's window is 0. Skips the ACK checks.
		if seglen == 1 && s == fwd.nextseq && rev.window == 0 {
			ta |= aZeroWindowProbe
			return
		}
		// tcp.analysis.zero_window: window 0 without SYN/FIN/RST.
		if window == 0 && flags&synFinRst == 0 {
			ta |= aZeroWindow
		}
		// tcp.analysis.lost_segment: seq beyond the highest seen; never RST.
		if fwd.nextseq != 0 && s.GreaterThan(fwd.nextseq) && flags&decode.FlagRST == 0 {
			ta |= aLostPacket
			fwd.lastLostFrame = p.Frame
			fwd.lastLostFrom = fwd.nextseq
			fwd.lastLostTo = s
		}
		// tcp.analysis.keep_alive: 0 or 1 byte one before nextseq.
		if (seglen == 0 || seglen == 1) && s.Add(1) == fwd.nextseq && flags&synFinRst == 0 {
			ta |= aKeepAlive
		}
		// tcp.analysis.window_update: no data, new non-zero window, same
		// seq and ack.
		if seglen == 0 && window != 0 && window != fwd.window && s == fwd.nextseq &&
			ack == fwd.lastack && flags&synFinRst == 0 {
			ta |= aWindowUpdate
		}
		// tcp.analysis.window_full: data up to the edge of the other side's
		// advertised window.
		if seglen > 0 && rev.winScale != wsUnknown && flags&synFinRst == 0 {
			shift := rev.winScale
			if shift < 0 {
				shift = 0
			}
			if s.Add(n) == rev.lastack.Add(seq.Size(rev.window)<<uint(shift)) {
				ta |= aWindowFull
			}
		}
		// tcp.analysis.keep_alive_ack: repeats the ACK after a keep-alive.
		if seglen == 0 && window != 0 && window == fwd.window && s == fwd.nextseq &&
			ack == fwd.lastack && rev.lastsegmentflags&aKeepAlive != 0 && flags&synFinRst == 0 {
			ta |= aKeepAliveAck
			return
		}
		// tcp.analysis.zero_window_probe_ack.
		if seglen == 0 && window == 0 && window == fwd.window && s == fwd.nextseq &&
			ack == fwd.lastack && rev.lastsegmentflags&aZeroWindowProbe != 0 && flags&synFinRst == 0 {
			ta |= aZeroWindowProbeAck
			return
		}
		// tcp.analysis.duplicate_ack: all of
		//  (a) no payload,
		//  (b) window non-zero and unchanged,
		//  (c) seq equals the sender's nextseq,
		//  (d) ack equals the sender's previous ack,
		//  (e) none of SYN, FIN, RST.
		if seglen == 0 && // (a)
			window != 0 && window == fwd.window && // (b)
			s == fwd.nextseq && // (c)
			ack == fwd.lastack && // (d)
			flags&synFinRst == 0 { // (e)
			if fwd.dupacknum == dupAckUnseen {
				fwd.dupacknum = 1 // neutralises a preceding "ACKed unseen"
			} else {
				fwd.dupacknum++
			}
			ta |= aDuplicateAck
		}
	}()

	// Counter reset: the ACK number changed.
	if ack != fwd.lastack {
		fwd.lastnondupack = p.Frame
		fwd.dupacknum = 0
	}

	// tcp.analysis.ack_lost_segment: ACKs beyond the highest contiguous
	// sequence number seen from the other side.
	if rev.maxseqtobeacked != 0 && ack.GreaterThan(rev.maxseqtobeacked) && flags&decode.FlagACK != 0 {
		if rev.maxseqtobeacked.LessThan(rev.nextseq) {
			// Move the limit so that one hole is reported once.
			rev.maxseqtobeacked = rev.nextseq
			ta |= aAckLostPacket
		} else {
			// The other side is stalled with pure ACKs: report the same
			// hole once, until that side sends another ACK.
			if rev.dupacknum == 0 {
				ta |= aAckLostPacket
			}
			rev.dupacknum = dupAckUnseen
		}
	}

	// Retransmission family: data, SYN or FIN that does not advance nextseq.
	if seglen > 0 || flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
		func() {
			notAdvanced := fwd.nextseq != 0 && s.LessThan(fwd.nextseq)
			if ta&aKeepAlive != 0 {
				return
			}
			// Data following a 1-byte zero-window probe adds new data.
			if seglen > 1 && s.Add(1) == fwd.nextseq {
				notAdvanced = false
			}
			// tcp.analysis.spurious_retransmission: all of it was ACKed.
			if seglen > 0 && rev.lastack != 0 && s.Add(n).LessThanEq(rev.lastack) {
				ta |= aSpuriousRetransmission
				return
			}
			// tcp.analysis.fast_retransmission: >= 2 dup ACKs for this seq
			// from the other side, less than 20 ms ago.
			if notAdvanced && rev.dupacknum >= 2 && rev.lastack == s && since(p.Time, rev.lastackTime) < 20_000_000 {
				ta |= aFastRetransmission
				return
			}
			// tcp.analysis.out_of_order: soon after the segment that set
			// nextseq (within the handshake RTT, 3 ms if unknown).
			thres := uint64(3_000_000)
			if c.firstRTT != 0 {
				thres = uint64(c.firstRTT) // unsigned too, as Wireshark's
			}
			extra := seq.Size(0)
			if flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
				extra = 1
			}
			if notAdvanced && since(p.Time, fwd.nextseqTime) < thres && fwd.nextseq != s.Add(n+extra) {
				ta |= aOutOfOrder
				return
			}
			if notAdvanced {
				ta |= aRetransmission
			}
		}()
	}

	next := s.Add(n)
	if flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
		next = next.Add(1)
	}
	if next.GreaterThan(fwd.nextseq) || fwd.nextseq == 0 {
		if ta&aZeroWindowProbe == 0 {
			fwd.nextseq = next
			fwd.nextseqFrame = p.Frame
			fwd.nextseqTime = p.Time
		}
	}
	if s == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0 {
		if ta&aZeroWindowProbe == 0 {
			fwd.maxseqtobeacked = fwd.nextseq
		}
	}
	fwd.window = window
	fwd.lastack = ack
	fwd.lastackTime = p.Time
	fwd.lastsegmentflags = ta
	return ta
}

// addTCP processes a TCP segment: finds or opens its conversation (a SYN
// with another seq opens a new one), applies Wireshark's analysis to it
// and records what the session and its duplicate-ACK runs need.
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
		if h.baseSet && seq.Value(p.Seq) != h.base {
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
		if h.baseSet && seq.Value(p.Seq) != h.base {
			h.base = seq.Value(p.Seq)
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

	if h := t.esps.hook; h != nil && (ta&(aDuplicateAck|aKeepAlive) != 0 || p.Flags&(decode.FlagSYN|decode.FlagFIN|decode.FlagRST) != 0) {
		m := h.begin(s, MessageTCP, TransportCTCP, p)
		m.TCPSeq, m.TCPAck, m.TCPFlags = p.Seq, p.Ack, p.Flags
		m.DupAck, m.KeepAlive = ta&aDuplicateAck != 0, ta&aKeepAlive != 0
		h.on(m)
	}
	if h := t.esps.hook; h != nil && seglen >= dataHashLen && len(p.Payload) >= dataHashLen &&
		ds.SYNFrame != 0 && c.half[d].baseSet && seq.Value(p.Seq) == c.half[d].base+1 {
		// The first bytes of the direction's stream: what a TCP proxy
		// passes on unchanged (a TLS ClientHello or ServerHello, with
		// its random), for matching a session across two captures
		// where neither ESP nor IKE is there to match on.
		m := h.begin(s, MessageData, TransportCTCP, p)
		m.TCPSeq, m.TCPAck, m.TCPFlags = p.Seq, p.Ack, p.Flags
		m.DataHash = dataHash(p.Payload[:dataHashLen])
		h.on(m)
	}
	t.trackRuns(f, p, d, ta, seglen)
	t.observePeer(f, p, d, ta, seglen)
	if seglen > 0 {
		t.data(f, p, d, seglen)
		if p.Flags&decode.FlagRST == 0 {
			f.cls.observeTCP(f, p, d, seglen)
		}
	}
	t.mark(f, t.end, f.classOf())
}

// newTCP opens a conversation (a tcp.stream) for p, making room in the
// flow table first; past the bound of half-open conversations, the least
// recently active one is evicted.
func (t *tracker) newTCP(p *decode.Packet) *flow {
	t.evictIfFull()
	f := t.allocTCP()
	f.a, f.b = p.SrcAddrPort(), p.DstAddrPort()
	*f.store = newSession(p)
	f.sess = f.store
	f.sess.Peer[0].SYNWScale, f.sess.Peer[1].SYNWScale = -1, -1 // no SYN seen yet
	f.cls.init()
	f.cls.slab = &t.esps
	f.sess.Stream = t.streams
	t.streams++
	f.sess.Serial = p.Frame
	if t.sh != nil {
		t.noteOpened(p.Frame, decode.ProtoTCP)
	}
	t.insert(t.tcp, f, p, f.classOf(), t.end)
	if h := t.overHalfOpen(); h != nil {
		t.evict(h)
	}
	return f
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
		Ack:                    uint32(seq.Value(p.Ack).Sub(other.base)),
		AckRaw:                 p.Ack,
		OrigFrame:              me.lastnondupack,
		Count:                  1,
		Frames:                 carve(&t.frameBlock, p.Frame, 4, 1024), // most runs are 2 to 4 long
		LastFrame:              p.Frame,
		FirstTime:              p.Time,
		LastTime:               p.Time,
		SenderNextSeqAtRequest: uint32(other.nextseq.Sub(other.base)),
		SeenBefore:             other.nextseq != 0 && other.nextseq.GreaterThan(seq.Value(p.Ack)),
	}
	r.NothingOutstanding = other.nextseq != 0 && other.nextseq == seq.Value(p.Ack)
	if other.lastLostFrame != 0 && seq.Value(p.Ack).InRange(other.lastLostFrom, other.lastLostTo) {
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

// countFlags adds the Wireshark flags of one frame to counts, as
// `tshark -Y tcp.analysis.X` would count the frame.
func countFlags(c *TCPCounts, ta uint16) {
	if ta&aDuplicateAck != 0 {
		c.DupAcks++
	}
	if ta&(aRetransmission|aFastRetransmission|aSpuriousRetransmission) != 0 {
		c.Retransmissions++
	}
	if ta&aFastRetransmission != 0 {
		c.FastRetransmissions++
	}
	if ta&aSpuriousRetransmission != 0 {
		c.SpuriousRetrans++
	}
	if ta&aLostPacket != 0 {
		c.LostSegments++
	}
	if ta&aAckLostPacket != 0 {
		c.AckedUnseen++
	}
	if ta&aOutOfOrder != 0 {
		c.OutOfOrder++
	}
	if ta&aZeroWindow != 0 {
		c.ZeroWindows++
	}
	if ta&aKeepAlive != 0 {
		c.KeepAlives++
	}
	if ta&aWindowUpdate != 0 {
		c.WindowUpdates++
	}
	if ta&aWindowFull != 0 {
		c.WindowFull++
	}
}
