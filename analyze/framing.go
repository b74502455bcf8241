package analyze

import (
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// cTCP framing: the messages of one direction are found in the in-order
// byte stream, not in the segments. A cTCP sender puts one message (a
// raw ESP packet, or UDP 500->500 + IKE) followed by Cisco's 16-byte
// trailer in each segment, but a TCP stack in the path (a proxy, a
// normalizer) re-segments the stream: beyond it messages share segments
// and span them. ESP carries no length, so a message ends at the first
// trailer after its first minBody bytes; an IKE message ends where its
// UDP length says, where its trailer must be.
//
// The framer of a direction starts with the first segment that looks
// like cTCP (an IKE header at its start, a trailer at its end), so other
// TCP streams cost next to nothing. It keeps the next expected sequence
// number, the state of the message in progress and up to carryMax
// undecided bytes of the previous segment (the start of a trailer or of
// an ESP header that the segment boundary cut), so no segment is copied
// and nothing is allocated. A segment that starts at a message and ends
// with a trailer whose counter is one above the last one's (or as the
// IKE length says) is one message, without a search. Bytes below the
// next expected one (retransmissions, overlaps) are not framed again,
// except those of the last hole, captured late. After a hole (bytes
// never captured), a segment the snaplen cut inside a message, or a
// length that led nowhere, the framer hunts: it resyncs on the next
// segment that starts with a plausible message start, or after the next
// trailer it finds. Where the snaplen cut the trailers off, a segment
// that starts at a message is taken to be one message, as at a sender.

const (
	trailerLen = decode.CTCPTrailerLen
	// carryMax is the most bytes kept from one segment to the next: the
	// start of a trailer less its last byte.
	carryMax = trailerLen - 1
	// minBody is the shortest message before its trailer: Wireshark's
	// tcpencap heuristic wants a segment longer than trailer + 8 bytes.
	minBody = 9
	// framingGiveUp is how many bytes of a direction are framed without
	// a single message before framing stops for that direction.
	framingGiveUp = 64 << 10
	// maxPending is how many bytes of an ESP message in progress count as
	// still framing (about a large ESP packet).
	maxPending = 2048
)

// Framer modes.
const (
	fmStart uint8 = iota // no data seen yet
	fmMsg                // in step with the messages: got bytes of the current one consumed
	fmHunt               // lost the message boundaries
	fmOff                // framing stopped
)

// Message kinds, from the first 8 bytes.
const (
	kindNone  uint8 = iota // header not read yet
	kindESP                // ESP: SPI and sequence number
	kindIKE                // UDP 500->500 + IKE: length known
	kindOther              // SPI 0, or an IKE length too short
)

// framer is the framing state of one direction of a TCP flow.
type framer struct {
	msgFrame uint64 // frame of the current message's first byte
	next     uint32 // sequence number of the next in-order stream byte
	got      uint32 // bytes of the current message consumed
	need     uint32 // kindIKE: the message's length with its trailer
	spi, sq  uint32 // kindESP: the message's ESP header
	seen     uint32 // stream bytes framed, up to framingGiveUp
	// holeLo and holeHi bound the last hole in the stream: the bytes
	// from holeLo up to holeHi were not captured (yet).
	holeLo, holeHi uint32
	// msgSeq is the sequence number of the current message's first byte.
	msgSeq  uint32
	counter uint16 // trailer counter of the last message framed at its trailer
	mode    uint8
	kind    uint8
	// counterOK is set when counter belongs to the message just before
	// the current one.
	counterOK bool
	// assumed is set when the current boundary is a guess: the end of a
	// message taken to fill a segment the snaplen cut.
	assumed bool
	// trailerSeen is set once a trailer was found in the direction;
	// heads when there is none and every segment starts with the next
	// ESP header: cTCP without trailers, one message per segment.
	trailerSeen, heads bool
	nc                 uint8 // bytes in carry
	carry              [carryMax]byte
}

// frameCtx is what framing one segment needs and learns.
type frameCtx struct {
	fc        *flowClass
	s         *Session
	fr        *framer
	d         Dir
	frame     uint64
	p         *decode.Packet
	start     uint32 // sequence number of the segment's first new byte
	segLen    int    // the segment's new bytes on the wire
	inspect   bool   // the classifier inspected this segment
	coalesced bool   // a message ended inside the segment
	lastEnd   int    // offset in the segment of the last message end, -1 none
	huntFrom  int    // offset where hunting began in this segment
	unframed  int    // bytes of the segment that did not frame
}

// frame feeds data segment p (seglen bytes on the wire) of a cTCP
// candidate, sent in direction d, to the direction's framer; inspect is
// set when the classifier inspected it.
func (fc *flowClass) frame(f *flow, p *decode.Packet, d Dir, seglen uint32, inspect bool) {
	if f.tcp == nil {
		return
	}
	fr := &f.tcp.fr[d]
	if fr.mode == fmOff {
		return
	}
	s := f.sess
	b := p.Payload
	if len(b) > int(seglen) {
		b = b[:seglen]
	}
	start := p.Seq
	if fr.mode == fmStart {
		// Framing starts with the first segment that looks like cTCP (a
		// cTCP stream starts with IKE): an IKE header at its start, a
		// trailer at its end, or an ESP header continuing the previous
		// segment's; other streams cost nothing. The segment starts at a
		// message when it is the first after the SYN, or starts like one.
		pv := &fc.espPrev[d]
		ike := decode.IsIKEinUDP500(b)
		cont := pv.ok && pv.spi != 0 && len(b) >= 8 && be32(b) == pv.spi && be32(b[4:]) == pv.seq+1
		first := s.Dirs[d].SYNFrame != 0 && start == uint32(f.tcp.half[d].base.Add(1))
		if !ike && !cont && !(first && len(b) < 4) && !(len(b) == int(seglen) && decode.IsCTCPTrailer(b)) {
			return
		}
		fr.next, fr.mode = start, fmHunt
		if first || ike || cont {
			fr.mode = fmMsg
		}
	}
	x := frameCtx{fc: fc, s: s, fr: fr, d: d, frame: p.Frame, p: p, inspect: inspect, lastEnd: -1}
	off := int32(start - fr.next)
	if n := fr.holePart(start, seglen); off < 0 && n > 0 && len(b) == int(seglen) {
		// Late: bytes of the last hole, never seen before. A TCP stack
		// that resends them may send bytes seen already with them: those
		// are bytes seen again, below.
		fc.frameLate(s, d, b[:n], p, start)
		if start == fr.holeLo {
			fr.holeLo = start + n
		}
		if n == seglen {
			return
		}
		b, seglen, start = b[n:], seglen-n, start+n
		off = int32(start - fr.next)
	}
	if off < 0 {
		// Bytes seen again: a retransmission or an overlap.
		fc.repeated(s, d, b, p.Frame)
		old := uint32(-off)
		if old >= seglen {
			return
		}
		seglen -= old
		b = b[min(len(b), int(old)):]
		start = fr.next
	} else if off > 0 {
		fr.holeLo, fr.holeHi = fr.next, start
		fr.lost(&x) // the bytes before start were never captured
	}
	fr.next = start + seglen
	x.start = start
	if fr.seen < framingGiveUp {
		fr.seen += min(seglen, framingGiveUp)
	}
	x.segLen = int(seglen)
	cut := len(b) < x.segLen

	if !fr.trailerSeen && !fr.heads && fr.mode == fmMsg && fr.kind == kindESP && len(b) >= 8 && be32(b) == fr.spi && be32(b[4:]) == fr.sq+1 {
		// No trailer yet, but the segment starts with the ESP header
		// that follows the one of the message in progress: no trailers,
		// one message per segment. The message in progress filled the
		// segment(s) before.
		fr.heads = true
		px := frameCtx{fc: fc, s: s, fr: fr, d: d, frame: fr.msgFrame, p: p, lastEnd: -1}
		fr.emit(&px, 0, nil, false)
	}
	if fr.heads {
		// Each segment is a message, known by its head.
		fr.nc, fr.mode = 0, fmMsg
		if len(b) >= 8 {
			fr.header(b)
			fr.msgFrame, fr.msgSeq, fr.got = p.Frame, start, uint32(x.segLen)
			fr.emit(&x, x.segLen, nil, false)
		} else {
			x.unframed = x.segLen
		}
		x.finish()
		return
	}

	switch {
	case fr.mode == fmHunt && fc.plausible(s, d, b, false):
		fr.nc, fr.mode, fr.assumed = 0, fmMsg, false
		s.Framing[d].Resyncs++
	case fr.mode == fmMsg && fr.assumed && fr.got == 0 && fr.nc == 0 && !fc.plausible(s, d, b, true):
		fr.mode = fmHunt // the guessed boundary was none
	}
	if fr.mode == fmMsg && fr.got == 0 && fr.nc == 0 {
		fr.msgFrame, fr.msgSeq = p.Frame, start
		// Fast path, the common case at a cTCP sender: the segment is
		// one message and its trailer. A trailer counter one above the
		// last one's (or the IKE length) says that no other trailer is
		// inside.
		if n := len(b); !cut && n > trailerLen+minBody-1 {
			t := b[n-trailerLen:]
			if decode.CTCPTrailerAt(t) {
				var one bool
				if decode.IsIKEinUDP500(b) {
					one = int(be16(b[4:]))+trailerLen == n
				} else {
					one = fr.counterOK && be16(t[4:]) == fr.counter+1
				}
				if one {
					fr.header(b)
					fr.got = uint32(n)
					fr.emit(&x, n, t, true)
					x.finish()
					return
				}
			}
		}
	}

	i := 0
	if nc := int(fr.nc); nc > 0 {
		// Decide the carried bytes with the first bytes of this segment.
		var jb [carryMax + trailerLen]byte
		copy(jb[:], fr.carry[:nc])
		j := jb[:nc+copy(jb[nc:], b)]
		fr.nc = 0
		used := fr.run(&x, j, -nc)
		if used < nc {
			// The whole segment is shorter than a trailer and decided
			// nothing: keep everything.
			fr.keep(j[used:])
			i = len(b)
		} else {
			i = used - nc
		}
	}
	if i < len(b) {
		i += fr.run(&x, b[i:], i)
		fr.keep(b[i:])
	}
	if cut {
		fr.cut(&x)
	}
	x.finish()
}

// run frames buf, whose first byte is at offset base of the segment, and
// returns how many bytes it consumed. The rest, at most carryMax bytes,
// cannot be decided before the next bytes arrive.
func (fr *framer) run(x *frameCtx, buf []byte, base int) int {
	i := 0
	for i < len(buf) {
		if fr.mode == fmHunt {
			p, ok := decode.FindCTCPTrailer(buf, i)
			if !ok {
				return p
			}
			i = p + trailerLen
			x.addUnframed(x.huntFrom, base+i)
			fr.resync(x, buf[p:i], base+i)
			continue
		}
		if fr.kind == kindNone {
			if len(buf)-i < 8 {
				return i // the header is cut: wait for its rest
			}
			fr.header(buf[i:])
		}
		if fr.kind == kindIKE {
			if body := fr.need - trailerLen; fr.got < body {
				n := min(uint32(len(buf)-i), body-fr.got)
				fr.got += n
				i += int(n)
				continue
			}
			if len(buf)-i < trailerLen {
				return i
			}
			t := buf[i : i+trailerLen]
			if !decode.CTCPTrailerAt(t) {
				// The length led nowhere: hunt for the next trailer.
				fr.got, fr.kind, fr.need = 0, kindNone, 0
				fr.mode, x.huntFrom = fmHunt, base+i
				continue
			}
			i += trailerLen
			fr.got += trailerLen
			fr.emit(x, base+i, t, true)
			continue
		}
		// ESP (or unknown): the message ends at the first trailer after
		// its first minBody bytes.
		from := min(len(buf), i+max(0, minBody-int(fr.got)))
		p, ok := decode.FindCTCPTrailer(buf, from)
		if !ok {
			fr.got += uint32(p - i)
			return p
		}
		fr.got += uint32(p + trailerLen - i)
		i = p + trailerLen
		fr.emit(x, base+i, buf[p:i], true)
	}
	return i
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// header reads the kind of the message that starts b (8 bytes at least).
func (fr *framer) header(b []byte) {
	switch {
	case decode.IsIKEinUDP500(b):
		if n := uint32(be16(b[4:])); n >= minBody {
			fr.kind, fr.need = kindIKE, n+trailerLen
			// For Options.OnMessage: the IKE SPI's first 4 bytes and
			// the message ID, when the header is at hand.
			fr.spi, fr.sq = 0, 0
			if len(b) >= 32 {
				fr.spi, fr.sq = be32(b[8:]), be32(b[28:])
			}
			return
		}
		fr.kind = kindOther
	case be32(b) != 0:
		fr.kind, fr.spi, fr.sq = kindESP, be32(b), be32(b[4:])
	default:
		fr.kind = kindOther
	}
}

// emit counts the current message, which ends at offset end of the
// segment; t is its trailer (nil when its end is a guess) and verified
// is set when the trailer was found where the message ends.
func (fr *framer) emit(x *frameCtx, end int, t []byte, verified bool) {
	fm := &x.s.Framing[x.d]
	fm.Messages++
	// Evidence of cTCP for the classifier: an IKE message whose trailer
	// is where its length says, or an ESP packet that continues the
	// direction's series (not zeros or text that happen to hold a
	// trailer pattern).
	evidence := fr.kind == kindIKE
	switch fr.kind {
	case kindESP:
		e := &x.s.ESP[x.d]
		evidence = e.Packets > 0 && fr.spi == e.SPI && fr.sq == e.LastSeq+1
		fm.ESPMessages++
		x.fc.espMessage(x.s, x.d, fr.spi, fr.sq, fr.msgFrame)
	case kindIKE:
		fm.IKEMessages++
		x.s.IKEPackets[x.d]++
	}
	if h := x.fc.hook(); h != nil && (fr.kind == kindESP || fr.kind == kindIKE) {
		h.ctcpMessage(x, fr, 0)
	}
	if fr.msgFrame != x.frame {
		fm.Split++
		if fm.SplitFrame == 0 {
			fm.SplitFrame = x.frame
		}
	}
	if end > 0 && end < x.segLen {
		x.coalesced = true
	}
	fr.counterOK = t != nil
	if t != nil {
		fr.counter, fr.trailerSeen = be16(t[4:]), true
	}
	if verified && evidence && x.inspect {
		x.fc.framedMsgs++
		x.fc.framedBytes += fr.got
	}
	x.lastEnd = end
	fr.got, fr.kind, fr.need, fr.assumed = 0, kindNone, 0, false
	fr.msgFrame, fr.msgSeq = x.frame, x.start+uint32(end)
}

// resync puts the framer back in step after trailer t, which ends at
// offset end of the segment.
func (fr *framer) resync(x *frameCtx, t []byte, end int) {
	x.s.Framing[x.d].Resyncs++
	fr.mode, fr.got, fr.kind, fr.need, fr.assumed = fmMsg, 0, kindNone, 0, false
	fr.counter, fr.counterOK, fr.trailerSeen = be16(t[4:]), true, true
	fr.msgFrame, fr.msgSeq = x.frame, x.start+uint32(end)
	x.lastEnd = end
	if end > 0 && end < x.segLen {
		x.coalesced = true // the end of one message, the start of another
	}
}

// keep carries b, at most carryMax undecided bytes, to the next segment.
func (fr *framer) keep(b []byte) {
	fr.nc = uint8(copy(fr.carry[:], b))
}

// lost drops the message in progress: the bytes that follow it were
// never captured. An ESP message whose header was read still counts for
// the ESP sequence (the packet crossed the capture point, if not whole).
func (fr *framer) lost(x *frameCtx) {
	if fr.mode == fmMsg && fr.kind == kindESP {
		x.fc.espMessage(x.s, x.d, fr.spi, fr.sq, fr.msgFrame)
		if h := x.fc.hook(); h != nil {
			h.ctcpMessage(x, fr, msgPartial|msgHole)
		}
	}
	fr.got, fr.kind, fr.need, fr.nc = 0, kindNone, 0, 0
	fr.counterOK, fr.assumed = false, false
	fr.mode = fmHunt
}

// cut handles the end of a segment the snaplen cut: its last bytes were
// not captured. When the message in progress began with the segment, it
// is taken to fill it, as a cTCP sender sends them (for IKE its length
// must say so); anything else cannot be told, and framing hunts.
func (fr *framer) cut(x *frameCtx) {
	fr.nc = 0
	if fr.mode == fmMsg && fr.kind != kindNone && fr.msgFrame == x.frame && x.lastEnd < 0 &&
		(fr.kind != kindIKE || int(fr.need) == x.segLen) {
		fr.got = uint32(x.segLen)
		fr.emit(x, x.segLen, nil, false)
		fr.assumed = true
		return
	}
	x.s.Framing[x.d].Truncated++
	if fr.mode == fmMsg && fr.kind == kindESP {
		// Its header was captured: the ESP packet counts.
		x.fc.espMessage(x.s, x.d, fr.spi, fr.sq, fr.msgFrame)
		if h := x.fc.hook(); h != nil {
			h.ctcpMessage(x, fr, msgPartial)
		}
	}
	if fr.mode != fmHunt {
		x.huntFrom = max(0, x.lastEnd)
	}
	fr.got, fr.kind, fr.need, fr.counterOK, fr.assumed = 0, kindNone, 0, false, false
	fr.mode = fmHunt
}

func (x *frameCtx) addUnframed(from, to int) {
	from, to = max(0, from), min(x.segLen, to)
	if to > from {
		x.unframed += to - from
	}
}

// finish adds the segment's facts to the direction's Framing.
func (x *frameCtx) finish() {
	fm := &x.s.Framing[x.d]
	if x.fr.mode == fmHunt {
		x.addUnframed(x.huntFrom, x.segLen)
	}
	if x.unframed > 0 {
		fm.UnframedSegments++
		fm.UnframedBytes += uint64(x.unframed)
		if fm.UnframedFrame == 0 {
			fm.UnframedFrame = x.frame
		}
	}
	if x.coalesced {
		fm.Coalesced++
		if fm.CoalescedFrame == 0 {
			fm.CoalescedFrame = x.frame
		}
	}
	if fm.Messages == 0 && x.fr.seen >= framingGiveUp {
		x.fr.mode = fmOff
	}
}

// plausible reports whether b starts like a message of direction d: UDP
// 500->500 (IKE), or an ESP header with the direction's SPI or continuing
// the previous segment's header (a new SPI). With no SPI known yet, any
// ESP header is plausible when anyESP is set.
func (fc *flowClass) plausible(s *Session, d Dir, b []byte, anyESP bool) bool {
	if len(b) < 8 {
		return false
	}
	if decode.IsIKEinUDP500(b) {
		return true
	}
	spi := be32(b)
	if spi == 0 {
		return false
	}
	if e := &s.ESP[d]; e.Packets > 0 && spi == e.SPI || e.Packets == 0 && anyESP {
		return true
	}
	pv := &fc.espPrev[d]
	return pv.ok && pv.spi == spi && be32(b[4:]) == pv.seq+1
}

// repeated looks at a segment whose bytes were seen before: when it
// starts with an ESP header of the direction's SPI whose sequence number
// was seen, the ESP packet was carried a second time.
func (fc *flowClass) repeated(s *Session, d Dir, b []byte, frame uint64) {
	if len(b) < 8 || fc.esp == nil {
		return
	}
	e := &s.ESP[d]
	if spi, sq := be32(b), be32(b[4:]); spi != e.SPI || !fc.esp[d].seen(e, sq) {
		return
	}
	e.Packets++
	e.Repeats++
	if len(e.RepeatFrames) < MaxRunFrames {
		e.RepeatFrames = append(e.RepeatFrames, frame)
	}
}

// framePending returns the bytes of the messages in progress, each up
// to maxPending (an IKE message's own length): bytes that may still frame.
func (c *tcpConn) framePending() uint64 {
	var n uint64
	for d := range c.fr {
		if fr := &c.fr[d]; fr.mode == fmMsg {
			g := uint64(fr.got)
			if fr.kind != kindIKE {
				g = min(g, maxPending)
			}
			n += g
		}
	}
	return n
}

// holePart returns how many of the seglen bytes from start lie in the
// last hole, 0 unless the segment starts inside it.
func (fr *framer) holePart(start, seglen uint32) uint32 {
	if fr.holeLo == fr.holeHi || int32(start-fr.holeLo) < 0 || int32(fr.holeHi-start) <= 0 {
		return 0
	}
	return min(seglen, fr.holeHi-start)
}

// frameLate frames a segment captured after the bytes that follow it (a
// reordered segment filling a hole): when it starts like a message of the
// direction, each whole message in it counts (its ESP sequence number
// comes late). It does not disturb the framing of the stream. The
// segment is p's; its bytes b start at sequence number start.
func (fc *flowClass) frameLate(s *Session, d Dir, b []byte, p *decode.Packet, start uint32) {
	frame := p.Frame
	if !fc.plausible(s, d, b, false) {
		return
	}
	fm := &s.Framing[d]
	for len(b) >= trailerLen+minBody {
		var m framer
		m.header(b)
		var end int
		if m.kind == kindIKE {
			end = int(m.need)
			if end > len(b) || !decode.CTCPTrailerAt(b[end-trailerLen:]) {
				return
			}
		} else {
			p, ok := decode.FindCTCPTrailer(b, minBody)
			if !ok {
				return
			}
			end = p + trailerLen
		}
		fm.Messages++
		switch m.kind {
		case kindESP:
			fm.ESPMessages++
			fc.espMessage(s, d, m.spi, m.sq, frame)
		case kindIKE:
			fm.IKEMessages++
			s.IKEPackets[d]++
		}
		if h := fc.hook(); h != nil && (m.kind == kindESP || m.kind == kindIKE) {
			m.msgFrame, m.msgSeq, m.got = frame, start, uint32(end)
			h.ctcpMessage(&frameCtx{s: s, d: d, frame: frame, p: p}, &m, msgLate)
		}
		start += uint32(end)
		b = b[end:]
	}
}
