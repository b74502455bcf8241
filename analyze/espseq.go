package analyze

// ESP sequence accounting, one implementation for every ESP carrier: per
// framed message for cTCP, per datagram for NAT-T, IPsec over UDP and
// native ESP.

// espWindow is how many sequence numbers below the highest one an ESP
// series remembers, as an anti-replay window does (RFC 4303 §3.4.3): a
// message inside it is told late (it fills a gap) from repeated (seen
// already).
const espWindow = 1024

// espJump is the largest step of the sequence number that is taken for
// loss: a larger one (either way) is no continuation of the series.
const espJump = 1 << 20

// espTrack is the per-direction state behind ESPStats: a sliding bitmap of
// the sequence numbers seen of the current series (SPI).
type espTrack struct {
	// bits holds bit s%espWindow set when sequence number s was seen,
	// for s in (LastSeq-espWindow, LastSeq].
	bits [espWindow / 64]uint64
	// base is the lowest sequence number of the series that counts:
	// below it nothing was counted missing.
	base uint32
	// missing counts the current series' sequence numbers never seen.
	missing uint64
	// gapSeq[i] is the sequence number of the message whose frame is
	// ESPStats.GapFrames[i] (the first one after that gap), for the
	// current series' entries i >= gapFrom.
	gapSeq  [MaxRunFrames]uint32
	gapFrom int
	// fmOpen is set while ESPStats.FirstMissing lies in the current
	// series (a late message may still fill it).
	fmOpen bool
}

func (t *espTrack) bit(s uint32) (word int, mask uint64) {
	i := s % espWindow
	return int(i / 64), 1 << (i % 64)
}

func (t *espTrack) has(s uint32) bool {
	w, m := t.bit(s)
	return t.bits[w]&m != 0
}

func (t *espTrack) set(s uint32) {
	w, m := t.bit(s)
	t.bits[w] |= m
}

// advance moves the window's top from top to sq > top: the numbers in
// between become unseen, sq seen.
func (t *espTrack) advance(top, sq uint32) {
	if sq-top >= espWindow {
		clear(t.bits[:])
	} else {
		for s := top + 1; s != sq; {
			i := s % espWindow
			n := min(64-i%64, sq-s) // bits to clear in this word
			m := ^uint64(0)
			if n < 64 {
				m = (1<<n - 1) << (i % 64)
			}
			t.bits[i/64] &^= m
			s += n
		}
	}
	t.set(sq)
}

// restart starts the window over at sq, with nothing below it counted.
func (t *espTrack) restart(e *ESPStats, sq uint32) {
	clear(t.bits[:])
	t.set(sq)
	t.base, t.missing, t.fmOpen = sq, 0, false
	t.gapFrom = len(e.GapFrames)
}

// seen reports whether sequence number sq of e's current series was seen
// (false when it is out of the window: it cannot be told).
func (t *espTrack) seen(e *ESPStats, sq uint32) bool {
	if e.Packets == 0 {
		return false
	}
	b := e.LastSeq - sq
	return sq <= e.LastSeq && b < espWindow && sq >= t.base && t.has(sq)
}

// espSlab hands out the ESP state of a tracker's flows from shared
// blocks (see carve): one allocation for many flows.
// It also holds the tracker's Options.OnMessage state (nil when unset).
type espSlab struct {
	block [][2]espTrack
	hook  *msgHook
}

// espTracks returns the flow's ESP tracking state, set up on first use
// (once per flow that carries ESP).
func (fc *flowClass) espTracks() *[2]espTrack {
	if fc.esp == nil {
		if fc.slab != nil {
			fc.esp = &carve(&fc.slab.block, [2]espTrack{}, 1, 64)[0]
		} else {
			fc.esp = new([2]espTrack)
		}
	}
	return fc.esp
}

// espHeader counts the ESP packet whose header starts b (at least 8
// bytes: SPI and sequence number), sent in direction d in frame.
func (fc *flowClass) espHeader(s *Session, d Dir, b []byte, frame uint64) {
	if len(b) < 8 {
		return
	}
	fc.espMessage(s, d, be32(b), be32(b[4:]), frame)
}

// espMessage counts one ESP packet (SPI spi, sequence number sq) sent in
// direction d, whose first byte is in frame: a new series when the SPI
// changes, else a step of the series (gap, late message or repeat).
func (fc *flowClass) espMessage(s *Session, d Dir, spi, sq uint32, frame uint64) {
	e, t := &s.ESP[d], &fc.espTracks()[d]
	e.Packets++
	if e.Packets == 1 || spi != e.SPI {
		if e.SPIs < 1<<30 {
			e.SPIs++
		}
		e.SPI, e.FirstSeq, e.LastSeq = spi, sq, sq
		t.restart(e, sq)
		return
	}
	top := e.LastSeq
	switch {
	case sq > top && sq-top >= espJump:
		// No tunnel jumps that far: start over from sq.
		e.LastSeq = sq
		t.restart(e, sq)
	case sq > top:
		t.advance(top, sq)
		e.LastSeq = sq
		if n := uint64(sq - top - 1); n > 0 {
			if e.SeqMissing == 0 {
				e.FirstMissing, e.FirstMissingSPI, t.fmOpen = top+1, spi, true
			}
			e.SeqGaps++
			e.SeqMissing += n
			t.missing += n
			t.addGap(e, sq, frame)
		}
	case top-sq >= espJump:
		// Not this series' number: counted as a packet only.
	case top-sq >= espWindow-1:
		// Below the window: late or repeated cannot be told.
	case t.has(sq):
		e.Repeats++
		if len(e.RepeatFrames) < MaxRunFrames {
			e.RepeatFrames = append(e.RepeatFrames, frame)
		}
	default:
		t.set(sq)
		e.Late++
		if sq >= t.base {
			t.fill(e, sq, frame)
		}
	}
}

// fill accounts for late message sq (base <= sq < LastSeq, unseen until
// now, inside the window with its neighbours), which was counted
// missing: the gap it was in shrinks, closes or splits in two.
func (t *espTrack) fill(e *ESPStats, sq uint32, frame uint64) {
	if t.missing == 0 || e.SeqMissing == 0 {
		return // cannot be: everything in the window from base was counted
	}
	t.missing--
	e.SeqMissing--
	prev := sq == t.base || t.has(sq-1)
	next := t.has(sq + 1)
	switch {
	case prev && next: // the gap was this one number: closed
		if e.SeqGaps > 0 {
			e.SeqGaps--
		}
		t.dropGap(e, sq+1)
	case next: // the gap now ends below sq: sq is the first after it
		if t.dropGap(e, sq+1) {
			t.addGap(e, sq, frame)
		}
	case !prev: // split in two: sq is the first after the lower part
		e.SeqGaps++
		t.addGap(e, sq, frame)
	}
	if t.fmOpen && e.FirstMissing == sq && e.FirstMissingSPI == e.SPI {
		if t.missing == 0 {
			// Nothing is missing any more (FirstMissing in the current
			// series means the earlier ones had no gap).
			t.fmOpen = false
			return
		}
		for s := sq + 1; s != e.LastSeq; s++ {
			if !t.has(s) {
				e.FirstMissing = s
				break
			}
		}
	}
}

// addGap records frame as the first message after a gap, sq its sequence
// number (while GapFrames has room).
func (t *espTrack) addGap(e *ESPStats, sq uint32, frame uint64) {
	if n := len(e.GapFrames); n < MaxRunFrames {
		t.gapSeq[n] = sq
		e.GapFrames = append(e.GapFrames, frame)
	}
}

// dropGap removes the gap entry of the current series whose message after
// it is sq, and reports whether there was one.
func (t *espTrack) dropGap(e *ESPStats, sq uint32) bool {
	for i := t.gapFrom; i < len(e.GapFrames); i++ {
		if t.gapSeq[i] == sq {
			copy(t.gapSeq[i:], t.gapSeq[i+1:len(e.GapFrames)])
			e.GapFrames = append(e.GapFrames[:i], e.GapFrames[i+1:]...)
			return true
		}
	}
	return false
}
