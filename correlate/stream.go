package correlate

import (
	"net/netip"
	"slices"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// This file is the matcher: it merges the two files' messages by time
// and keeps only what is in flight between the points, as doc.go's
// "Memory" section tells.

const (
	baseMargin = 50_000_000 // ns added to twice the largest delay
	// preMatchWindow: before anything matched (the clock offset
	// unknown), a message is given up when the other file's raw clock is
	// this far past it; it is then judged only if the offset found later
	// is well inside this window.
	preMatchWindow = 600_000_000_000
	// ikeWindow: an IKE message waits at least this long (the other
	// file's clock past it, after the offset) for its session to be
	// paired by ESP SPI or addresses, which tells how the directions of
	// the two files correspond (IKE requests and responses carry the
	// same SPI and message ID), before it is matched on the IKE SPI's
	// first sightings alone.
	ikeWindow = 10_000_000_000
	// Before anything matched, every probeEvery-th ESP sequence number
	// of each file is kept (at most probeLen per file, the latest) with
	// its time: one seen in both files gives the clock offset however
	// far apart the clocks are, when the messages held could not.
	probeEvery = 64
	probeLen   = 1 << 14
	// judgeQueueLen: messages seen in one file only wait this many per
	// file for the final offset and windows before they are judged with
	// the estimates.
	judgeQueueLen = 1 << 15
	// idleSession: a session with no ESP or IKE message and no partner
	// is forgotten when the other file is this far past its last message
	// (pairSessions pairs by addresses within 60 s).
	idleSession = 120_000_000_000
)

// Entry states (one seen in one file only is told so as it leaves the
// queue still pending: release).
const (
	stPending uint8 = iota
	stMatched
)

// Entry bits.
const (
	bAloneL    uint8 = 1 << iota // a single frame, not partial, not sharing its frame with the previous message
	bSucc                        // the next message of its direction arrived
	bNotAloneR                   // ...and starts in this one's last frame
)

// How a message seen in one file only was given up (jitem.how).
const (
	howTime     uint8 = iota // the other file went past it (or ended)
	howCap                   // forced out by Options.MaxPending
	howPreMatch              // before anything matched: preMatchWindow
)

// TCP control event kinds, in the order of the result's events.
const nKinds = 4

var kindNames = [nKinds]string{EventDupAck, EventRST, EventFIN, EventKeepAlive}
var kindFlags = [nKinds]uint8{fDupAck, fRST, fFIN, fKeepAlive}

func evKinds(flags uint8) uint8 {
	var k uint8
	for i, f := range kindFlags {
		if flags&f != 0 {
			k |= 1 << i
		}
	}
	return k
}

// ikeKey is an IKE message's identity in its file: session, IKE SPI
// and message ID, occurrence and raw direction. (An ESP message's is
// its SPI and sequence number, rec.key.)
type ikeKey struct {
	serial uint64
	key    uint64
	occ    uint32
	raw    uint8
}

// entry is one message held in flight.
type entry struct {
	r     rec
	sd    *sdir
	other uint64 // matched: the counterpart's first frame
	occ   uint32
	tag   uint8
	state uint8
	ev    uint8 // MessageTCP: event kinds not matched yet
	bits  uint8
}

func (e *entry) ikeKey() ikeKey {
	return ikeKey{serial: e.r.serial, key: e.r.key, occ: e.occ, raw: e.tag}
}

func (e *entry) alone() bool { return e.bits&bAloneL != 0 && e.bits&bNotAloneR == 0 }

// jitem is a message or event seen in one file only, waiting to be
// judged against the other capture's window.
type jitem struct {
	sd     *sdir
	time   int64
	first  uint64
	key    uint64
	kind   analyze.MessageKind
	ev     uint8
	how    uint8
	before Frames
	after  *Frames
}

// ring is a FIFO (power-of-two circular buffer).
type ring[T any] struct {
	buf     []T
	head, n int
}

func (r *ring[T]) push(x T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(16, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = x
	r.n++
}

func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring[T]) pop() {
	var zero T
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}

// file is the matcher's state of one capture.
type file struct {
	side int
	p    *producer
	c    *analyze.Capture
	b    *batch
	i    int
	done bool
	err  error // the producer's, once done

	sess map[uint64]*session
	last *session
	idle ring[*session] // sessions that may be forgotten, by creation

	q    ring[entry]       // messages in flight, in arrival order
	base uint64            // position (arrival number) of q's head
	pend map[uint64]uint64 // ESP messages in q by key
	// IKE messages wait apart, longer (ikeWindow), for the direction
	// map of their session's pair: they are few.
	ikeq    ring[entry]
	ikebase uint64
	ikeDone int // matched entries in ikeq, dropped by compactIKE
	ikepend map[ikeKey]uint64
	jq      ring[jitem]

	clock, firstTime int64
	seen             bool

	// probe: sampled ESP keys and times, before anything matched.
	probe     map[uint64]int64
	probeKeys ring[uint64]
	// givenUp is the latest time of a message given up unmatched by the
	// cap or before anything matched (haveGivenUp): a message of the
	// other file whose counterpart would lie before it is not judged.
	givenUp     int64
	haveGivenUp bool

	spiLoc  map[uint32][]*sdir
	ikeLoc  map[uint32][]*session
	addrLoc map[[2]netip.AddrPort][]*session
	// hashLoc finds a TCP session by the hash of a direction's first
	// stream bytes (analyze.MessageData); forget drops it with the
	// session.
	hashLoc map[uint64][]*sdir

	msgs, forced, peak int
}

func (f *file) entry(pos uint64) *entry {
	if pos < f.base || pos >= f.base+uint64(f.q.n) {
		return nil
	}
	return f.q.at(int(pos - f.base))
}

func (f *file) ikeEntry(pos uint64) *entry {
	if pos < f.ikebase || pos >= f.ikebase+uint64(f.ikeq.n) {
		return nil
	}
	return f.ikeq.at(int(pos - f.ikebase))
}

func (f *file) push(e entry) uint64 {
	f.q.push(e)
	f.peak = max(f.peak, f.q.n+f.ikeq.n)
	return f.base + uint64(f.q.n) - 1
}

// session is one analyze session of a file.
type session struct {
	serial   uint64
	src, dst netip.AddrPort
	tcp      bool
	sd       [2]*sdir // by raw direction (fRev)
	nrecs    int
	nmsgs    int
	lastTime int64
	ikes     []uint32
	ikeDir   []uint8
	hash     [2]uint64 // first stream bytes' hash by raw direction, 0: none
	// first is the time of the session's first record per raw
	// direction (firstSet): where this file's view of it begins.
	first    [2]int64
	firstSet [2]bool
	occ      map[occKey]uint32
	// partner is the session of the other file it is paired with while
	// streaming (prank: 3 ESP SPI, 2 IKE SPI, 1 addresses), pmap its
	// raw directions to the partner's.
	partner *session
	pmap    [2]uint8
	prank   int
	// The pair aggregates last used (A side).
	aggPeer uint64
	agg     *pairAgg
}

type occKey struct {
	key uint64
	raw uint8
}

func (s *session) dir(raw uint8) *sdir {
	if s.sd[raw] == nil {
		s.sd[raw] = &sdir{s: s, raw: raw}
	}
	return s.sd[raw]
}

// sdir is one direction of a session in one file: the bounded
// aggregates the result needs of it.
type sdir struct {
	s    *session
	raw  uint8
	spis []uint32
	// The previous message of the direction (alone tracking).
	prevSet, prevHasPos bool
	prevLast, prevPos   uint64
	// slot holds the relation item of the direction's last message,
	// waiting for the next message to know whether it was alone.
	slot relItem
	// Release-order tracking for the lost messages' neighbours.
	lastMatched Frames
	openAfter   *Frames
	// Judged.
	only, ikeOnly, notJudged, repeats int
	lost                              []lostCand
	ev                                [nKinds]evAgg
	evq                               [nKinds][]uint64 // pending events, by position
}

type lostCand struct {
	l     Lost
	after *Frames
}

type evAgg struct {
	count  int
	frames []uint64
	first  int64
}

// relItem is a message matched in both files whose relation facts wait
// for both copies' neighbours.
type relItem struct {
	used     bool
	agg      *dirAgg
	idxA     uint64
	ad       uint32
	ipA, ipB uint16
	v4       bool
	alone    [2]bool
	final    [2]bool
	sd       [2]*sdir
}

// pairAgg aggregates the messages matched between one session of A and
// one of B, by A's raw direction.
type pairAgg struct {
	dirs [2]dirAgg
}

type dirAgg struct {
	d                  dstats
	both, ikeBoth      int
	seqHave, seqDiff   bool
	seqAny, seqFirst   uint32
	seqIdx             uint64
	boundary, compared int
	ipSame, ipDiff     int
	haveAck            bool
	firstAck           uint32
	ackIdx             uint64
	ads                valueCounts
}

// merger matches the two files' messages.
type merger struct {
	opts       Options
	f          [2]file
	off        int64
	margin     int64
	window     bool // something matched: off and margin are estimates
	probed     bool // the offset was found by the probe: probeOff
	probeOff   int64
	dirty      bool
	sinceEst   int
	pairs      map[[2]uint64]*pairAgg
	maxPending int
	maxIKE     int // IKE messages held, besides maxPending
	exact      int // delays kept exactly, over all directions
}

func newMerger(opts Options) *merger {
	if opts.MaxListed <= 0 {
		opts.MaxListed = 64
	}
	m := &merger{opts: opts, margin: baseMargin, pairs: map[[2]uint64]*pairAgg{}, maxPending: opts.MaxPending}
	if m.maxPending <= 0 {
		m.maxPending = DefaultMaxPending
	}
	// A quarter more for IKE messages, which wait longer, apart, so
	// that they never crowd out the ESP messages.
	m.maxIKE = max(1, m.maxPending/4)
	for i := range m.f {
		f := &m.f[i]
		f.side = i
		f.sess = map[uint64]*session{}
		f.pend = map[uint64]uint64{}
		f.ikepend = map[ikeKey]uint64{}
		f.probe = map[uint64]int64{}
		f.spiLoc = map[uint32][]*sdir{}
		f.ikeLoc = map[uint32][]*session{}
		f.addrLoc = map[[2]netip.AddrPort][]*session{}
		f.hashLoc = map[uint64][]*sdir{}
	}
	return m
}

// toOther turns a time of file side into the other file's clock.
func (m *merger) toOther(side int, t int64) int64 {
	if side == 0 {
		return t + m.off
	}
	return t - m.off
}

// fill makes sure file side has a message at hand, or is done.
func (m *merger) fill(side int) {
	f := &m.f[side]
	for !f.done && (f.b == nil || f.i >= len(f.b.recs)) {
		if f.b != nil {
			putBatch(f.b)
			f.b = nil
		}
		b, ok := <-f.p.out
		if !ok {
			// The producer set c and err before closing.
			f.done, f.c, f.err = true, f.p.c, f.p.err
			if f.err != nil {
				f.p.cancel()
			}
			return
		}
		f.b, f.i = b, 0
		for _, n := range b.news {
			m.announce(side, n)
		}
	}
}

// run merges the two files' messages by time until both end.
func (m *merger) run() {
	fa, fb := &m.f[0], &m.f[1]
	for {
		m.fill(0)
		m.fill(1)
		if fa.err != nil || fb.err != nil {
			// Let both analyses stop, then give up.
			for i := range m.f {
				for f := &m.f[i]; !f.done; m.fill(i) {
					if f.b != nil {
						f.i = len(f.b.recs)
					}
				}
			}
			return
		}
		if fa.done && fb.done {
			break
		}
		s := 0
		switch {
		case fa.done:
			s = 1
		case fb.done:
		default:
			if fb.b.recs[fb.i].time-m.off < fa.b.recs[fa.i].time {
				s = 1
			}
		}
		f := &m.f[s]
		r := f.b.recs[f.i]
		f.i++
		m.add(s, &r)
		if m.dirty && (m.sinceEst >= 256 || !m.window) {
			m.estimate()
		}
		m.expire()
		m.forget(s)
	}
	m.expire()
}

// announce records a new session of file side.
func (m *merger) announce(side int, n newSession) {
	f := &m.f[side]
	if s := f.sess[n.serial]; s != nil {
		return
	}
	s := &session{serial: n.serial, src: n.src, dst: n.dst, tcp: n.tcp}
	f.sess[n.serial] = s
	f.idle.push(s)
	if !n.tcp {
		return
	}
	k := addrKey(n.src, n.dst)
	f.addrLoc[k] = append(f.addrLoc[k], s)
	for _, o := range m.f[1-side].addrLoc[k] {
		if o.prank == 0 {
			// The same addresses: the same raw directions (fRev).
			m.candidate(side, s, o, 1, 0, 0)
			break
		}
	}
}

func addrKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

func (f *file) session(serial uint64) *session {
	if f.last != nil && f.last.serial == serial {
		return f.last
	}
	s := f.sess[serial]
	if s == nil {
		// Forgotten, and its announcement cached by the producer.
		s = &session{serial: serial}
		f.sess[serial] = s
	}
	f.last = s
	return s
}

// forget drops the sessions of file side that carry no ESP or IKE and
// have no partner once the other file is well past them: plain TCP
// sessions that nothing will pair, so that many short connections do
// not grow the matcher.
func (m *merger) forget(side int) {
	f, o := &m.f[side], &m.f[1-side]
	for i := 0; i < 2 && f.idle.n > 0; i++ {
		s := *f.idle.at(0)
		f.idle.pop()
		if s.nmsgs > 0 || s.partner != nil {
			continue
		}
		if s.nrecs == 0 || !o.done && o.clock <= m.toOther(side, s.lastTime)+idleSession+m.margin {
			f.idle.push(s) // not yet: to the back
			continue
		}
		if f.sess[s.serial] == s {
			delete(f.sess, s.serial)
		}
		if f.last == s {
			f.last = nil
		}
		for _, h := range s.hash {
			if h == 0 {
				continue
			}
			l := slices.DeleteFunc(f.hashLoc[h], func(x *sdir) bool { return x.s == s })
			if len(l) == 0 {
				delete(f.hashLoc, h)
			} else {
				f.hashLoc[h] = l
			}
		}
		if s.tcp {
			k := addrKey(s.src, s.dst)
			l := slices.DeleteFunc(f.addrLoc[k], func(x *session) bool { return x == s })
			if len(l) == 0 {
				delete(f.addrLoc, k)
			} else {
				f.addrLoc[k] = l
			}
		}
	}
}

// addData takes in the first stream bytes' hash of a TCP direction
// (analyze.MessageData) and pairs its session with one of the other file
// that began a direction with the same bytes (rank 1, as addresses): a
// plain TCP session across a NAT or a proxy.
func (m *merger) addData(side int, r *rec) {
	f := &m.f[side]
	st := f.session(r.serial)
	raw := uint8(0)
	if r.flags&fRev != 0 {
		raw = 1
	}
	if r.key == 0 || st.hash[raw] != 0 {
		return // a retransmission of it, or no hash
	}
	st.hash[raw] = r.key
	f.hashLoc[r.key] = append(f.hashLoc[r.key], st.dir(raw))
	for _, o := range m.f[1-side].hashLoc[r.key] {
		if o.s.prank == 0 && st.prank == 0 {
			m.candidate(side, st, o.s, 1, raw, o.raw)
			break
		}
	}
}

// add takes in one message of file side.
func (m *merger) add(side int, r *rec) {
	if r.kind == analyze.MessageData {
		m.addData(side, r)
		return
	}
	f, o := &m.f[side], &m.f[1-side]
	f.msgs++
	if !f.seen || r.time < f.firstTime {
		f.firstTime = r.time
	}
	if !f.seen || r.time > f.clock {
		f.clock = r.time
	}
	f.seen = true
	st := f.session(r.serial)
	st.nrecs++
	st.lastTime = max(st.lastTime, r.time)
	raw := uint8(0)
	if r.flags&fRev != 0 {
		raw = 1
	}
	if !st.firstSet[raw] {
		st.first[raw], st.firstSet[raw] = r.time, true
	}
	if r.kind == analyze.MessageTCP {
		ev := evKinds(r.flags)
		if ev == 0 {
			return
		}
		pos := f.push(entry{r: *r, sd: st.dir(raw), ev: ev})
		m.matchEvent(side, pos)
		return
	}
	sd := st.dir(raw)
	st.nmsgs++
	// The previous message of the direction learns whether this one
	// starts in its last frame (see relation: one message per segment
	// alike).
	notAlone := sd.prevSet && sd.prevLast == r.first
	if sd.slot.used {
		it := sd.slot
		sd.slot.used = false
		if notAlone {
			it.alone[side] = false
		}
		it.final[side] = true
		m.place(&it)
	} else if sd.prevHasPos {
		if e := f.entry(sd.prevPos); e != nil && e.sd == sd {
			e.bits |= bSucc
			if notAlone {
				e.bits |= bNotAloneR
			}
		}
	}
	e := entry{r: *r, sd: sd}
	if r.first == r.last && r.flags&fPartial == 0 && !notAlone {
		e.bits |= bAloneL
	}
	sd.prevSet, sd.prevLast, sd.prevHasPos = true, r.last, false
	spi := uint32(r.key >> 32)
	had := false
	if r.kind == analyze.MessageESP {
		if !slices.Contains(sd.spis, spi) {
			sd.spis = append(sd.spis, spi)
			f.spiLoc[spi] = append(f.spiLoc[spi], sd)
			for _, od := range o.spiLoc[spi] {
				m.candidate(side, st, od.s, 3, raw, od.raw)
			}
		}
		if !m.window && uint32(r.key)%probeEvery == 0 {
			m.probe(side, r)
		}
		if pos, ok := f.pend[r.key]; ok {
			x := f.entry(pos)
			if x != nil && x.sd == sd {
				sd.repeats++
				return
			}
			// Another session's (the same SPI in two sessions of a
			// file): this one cannot be matched.
			had = x != nil
		}
	} else {
		if spi != 0 && !slices.Contains(st.ikes, spi) {
			st.ikes = append(st.ikes, spi)
			st.ikeDir = append(st.ikeDir, raw)
			f.ikeLoc[spi] = append(f.ikeLoc[spi], st)
			for _, os := range o.ikeLoc[spi] {
				m.candidate(side, st, os, 2, raw, os.ikeDir[slices.Index(os.ikes, spi)])
			}
		}
		if st.occ == nil {
			st.occ = map[occKey]uint32{}
		}
		ok := occKey{r.key, raw}
		e.occ, e.tag = st.occ[ok], raw
		st.occ[ok]++
		f.ikeq.push(e)
		f.peak = max(f.peak, f.q.n+f.ikeq.n)
		pos := f.ikebase + uint64(f.ikeq.n) - 1
		if k := e.ikeKey(); !hasKey(f.ikepend, k) {
			f.ikepend[k] = pos
		}
		m.tryIKE(side, pos, false)
		return
	}
	pos := f.push(e)
	sd.prevHasPos, sd.prevPos = true, pos
	if !had {
		f.pend[r.key] = pos
	}
	if opos, ok := o.pend[r.key]; ok {
		if x := o.entry(opos); x != nil && x.state == stPending {
			if side == 0 {
				m.match(pos, opos)
			} else {
				m.match(opos, pos)
			}
		}
	}
}

// probe keeps a sampled ESP message of file side and looks for it in
// the other file's samples: found, B's time minus A's is the clock
// offset give or take a one-way delay, until messages match both ways.
func (m *merger) probe(side int, r *rec) {
	f, o := &m.f[side], &m.f[1-side]
	if t, ok := o.probe[r.key]; ok {
		d := r.time - t
		if side == 0 {
			d = -d
		}
		m.probed, m.probeOff = true, d
		m.window, m.off, m.margin = true, d, 2*baseMargin
		for i := range m.f {
			m.f[i].probe, m.f[i].probeKeys = nil, ring[uint64]{}
		}
		return
	}
	if _, ok := f.probe[r.key]; ok {
		return
	}
	if f.probeKeys.n >= probeLen {
		delete(f.probe, *f.probeKeys.at(0))
		f.probeKeys.pop()
	}
	f.probe[r.key] = r.time
	f.probeKeys.push(r.key)
}

func hasKey(m map[ikeKey]uint64, k ikeKey) bool {
	_, ok := m[k]
	return ok
}

// tryIKE matches the IKE message at pos of file side's IKE queue with
// its counterpart in the partner session, if the direction map of the
// pair is known: from ESP SPIs or identical addresses, or, final (the
// message waited ikeWindow, or a file ended), from the IKE SPI's first
// sightings.
func (m *merger) tryIKE(side int, pos uint64, final bool) {
	f, o := &m.f[side], &m.f[1-side]
	e := f.ikeEntry(pos)
	if e == nil || e.state != stPending {
		return
	}
	st := e.sd.s
	p := st.partner
	if p == nil || p.prank == 2 && !final {
		return
	}
	k := e.ikeKey()
	k.serial, k.raw = p.serial, st.pmap[e.sd.raw]
	opos, ok := o.ikepend[k]
	if !ok {
		return
	}
	x := o.ikeEntry(opos)
	if x == nil || x.state != stPending || x.sd.s != p {
		return
	}
	e.state, x.state = stMatched, stMatched
	f.ikeDone++
	o.ikeDone++
	ea := e
	if side == 1 {
		ea = x
	}
	m.agg(ea.sd.s, ea.sd.s.partner).dirs[ea.sd.raw].ikeBoth++
}

// tryIKEs tries the waiting IKE messages of session s of file side.
func (m *merger) tryIKEs(side int, s *session) {
	f := &m.f[side]
	for i := 0; i < f.ikeq.n; i++ {
		if e := f.ikeq.at(i); e.state == stPending && e.sd.s == s {
			m.tryIKE(side, f.ikebase+uint64(i), false)
		}
	}
}

// candidate pairs session x of file side with y of the other file
// while streaming, if rank (3 ESP SPI, 2 IKE SPI, 1 addresses) beats
// what either has; rx and ry are the raw directions that correspond.
// The final pairing is redone at the end by the rules of pairSessions.
func (m *merger) candidate(side int, x, y *session, rank int, rx, ry uint8) {
	if x.partner != y && (rank <= x.prank || rank <= y.prank) {
		return
	}
	if x.partner == y && rank <= x.prank {
		return
	}
	for _, s := range []*session{x, y} {
		if p := s.partner; p != nil && p != x && p != y {
			p.partner, p.prank = nil, 0
		}
	}
	x.partner, y.partner = y, x
	x.prank, y.prank = rank, rank
	x.pmap[rx], x.pmap[1-rx] = ry, 1-ry
	y.pmap[ry], y.pmap[1-ry] = rx, 1-rx
	a, b := x, y
	if side == 1 {
		a, b = y, x
	}
	m.matchPendingEvents(a, b)
	if rank != 2 {
		m.tryIKEs(side, x)
	}
}

func (m *merger) agg(a, b *session) *pairAgg {
	if a.agg != nil && a.aggPeer == b.serial {
		return a.agg
	}
	k := [2]uint64{a.serial, b.serial}
	p := m.pairs[k]
	if p == nil {
		p = &pairAgg{}
		m.pairs[k] = p
	}
	a.agg, a.aggPeer = p, b.serial
	return p
}

// match records that A's message at posA and B's at posB are the same.
func (m *merger) match(posA, posB uint64) {
	ea, eb := m.f[0].entry(posA), m.f[1].entry(posB)
	ea.state, eb.state = stMatched, stMatched
	ea.other, eb.other = eb.r.first, ea.r.first
	w := &m.agg(ea.sd.s, eb.sd.s).dirs[ea.sd.raw]
	w.both++
	o := eb.r.tcpSeq - ea.r.tcpSeq
	if !w.seqHave {
		w.seqHave, w.seqAny, w.seqFirst, w.seqIdx = true, o, o, posA
	} else {
		if o != w.seqAny {
			w.seqDiff = true
		}
		if posA < w.seqIdx {
			w.seqFirst, w.seqIdx = o, posA
		}
	}
	if ea.r.flags&fPartial != 0 || eb.r.flags&fPartial != 0 {
		return
	}
	// The estimates follow at once a new direction or a delay beyond
	// the margin's; other changes of the extremes (and the means) every
	// 256 messages.
	x := eb.r.time - ea.r.time
	first := w.d.n == 0
	was := len(w.d.exact)
	if w.d.add(x) {
		m.dirty = true
		if first || !m.window || 2*abs(x-m.off) > m.margin-baseMargin {
			m.sinceEst = 1 << 30
		}
	}
	if m.sinceEst++; m.sinceEst >= 1024 {
		m.dirty = true
	}
	if m.exact += len(w.d.exact) - was; m.exact > exactBudget {
		m.shrinkExact()
	}
	it := relItem{used: true, agg: w, idxA: posA, ad: eb.r.tcpAck - ea.r.tcpAck, ipA: ea.r.ipid, ipB: eb.r.ipid,
		v4: ea.r.flags&fIPv4 != 0 && eb.r.flags&fIPv4 != 0, sd: [2]*sdir{ea.sd, eb.sd}}
	for i, e := range [2]*entry{ea, eb} {
		it.final[i] = e.bits&bSucc != 0
		it.alone[i] = e.alone()
	}
	m.place(&it)
}

// shrinkExact turns the direction that keeps the most delays exactly
// over to its histogram, so that all directions together keep at most
// exactBudget.
func (m *merger) shrinkExact() {
	var big *dstats
	var bigKey [3]uint64
	for k, p := range m.pairs {
		for i := range p.dirs {
			// The largest; of equals the first by sessions and direction,
			// so that the result does not depend on the map's order.
			d, key := &p.dirs[i].d, [3]uint64{k[0], k[1], uint64(i)}
			if big == nil || len(d.exact) > len(big.exact) || len(d.exact) == len(big.exact) && slices.Compare(key[:], bigKey[:]) < 0 {
				big, bigKey = d, key
			}
		}
	}
	if big != nil && len(big.exact) > 0 {
		m.exact -= len(big.exact)
		big.toHist()
	}
}

// place resolves a relation item whose copies' neighbours are known, or
// parks it with the direction whose next message it waits for.
func (m *merger) place(it *relItem) {
	if it.final[0] && it.final[1] {
		it.resolve()
		return
	}
	s := 0
	if it.final[0] {
		s = 1
	}
	sd := it.sd[s]
	if sd.slot.used {
		// Cannot happen (one last message per direction); keep the
		// facts rather than lose them.
		sd.slot.resolve()
	}
	sd.slot = *it
}

// resolve adds the relation facts of one message seen at both points
// (see relation).
func (it *relItem) resolve() {
	it.used = false
	w := it.agg
	if it.alone[0] != it.alone[1] {
		w.boundary++
		return
	}
	if !it.alone[0] {
		return
	}
	w.compared++
	w.ads.add(it.ad)
	if !w.haveAck || it.idxA < w.ackIdx {
		w.haveAck, w.firstAck, w.ackIdx = true, it.ad, it.idxA
	}
	if it.v4 && it.ipA != 0 && it.ipB != 0 {
		if it.ipA == it.ipB {
			w.ipSame++
		} else {
			w.ipDiff++
		}
	}
}

// matchEvent matches the TCP control event at pos of file side with a
// pending one of the same kind and direction of the partner session
// within the margin, the earliest first: as reading both files whole
// did, where each of A's events took the earliest unused one of B's
// within the margin of its time after the offset.
func (m *merger) matchEvent(side int, pos uint64) {
	f, o := &m.f[side], &m.f[1-side]
	e := f.entry(pos)
	sd := e.sd
	var od *sdir
	if p := sd.s.partner; p != nil {
		od = p.sd[sd.s.pmap[sd.raw]]
	}
	t := m.toOther(side, e.r.time)
	for k := 0; k < nKinds; k++ {
		bit := uint8(1) << k
		if e.ev&bit == 0 {
			continue
		}
		if od != nil {
			if x := m.findEvent(o, od, k, t); x != nil {
				x.ev &^= bit
				e.ev &^= bit
				if x.ev == 0 {
					x.state = stMatched
				}
				continue
			}
		}
		q := sd.evq[k]
		for len(q) > 0 && q[0] < f.base {
			q = q[1:]
		}
		sd.evq[k] = append(q, pos)
	}
	if e.ev == 0 {
		e.state = stMatched
	}
}

// findEvent returns the earliest pending event of kind k of direction
// sd of file f within the margin of t (f's clock).
func (m *merger) findEvent(f *file, sd *sdir, k int, t int64) *entry {
	bit := uint8(1) << k
	q := sd.evq[k]
	for len(q) > 0 {
		if x := f.entry(q[0]); x != nil && x.ev&bit != 0 && x.state == stPending {
			break
		}
		q = q[1:]
	}
	sd.evq[k] = q
	for _, pos := range q {
		x := f.entry(pos)
		if x == nil || x.ev&bit == 0 || x.state != stPending {
			continue
		}
		if x.r.time < t-m.margin {
			continue
		}
		if x.r.time > t+m.margin {
			break
		}
		return x
	}
	return nil
}

// matchPendingEvents matches the pending events of a (A) and b (B),
// newly paired.
func (m *merger) matchPendingEvents(a, b *session) {
	fa := &m.f[0]
	for ra := uint8(0); ra < 2; ra++ {
		sa, sb := a.sd[ra], b.sd[a.pmap[ra]]
		if sa == nil || sb == nil {
			continue
		}
		for k := 0; k < nKinds; k++ {
			bit := uint8(1) << k
			for _, pos := range sa.evq[k] {
				e := fa.entry(pos)
				if e == nil || e.ev&bit == 0 || e.state != stPending {
					continue
				}
				if x := m.findEvent(&m.f[1], sb, k, e.r.time+m.off); x != nil {
					x.ev &^= bit
					e.ev &^= bit
					if x.ev == 0 {
						x.state = stMatched
					}
					if e.ev == 0 {
						e.state = stMatched
					}
				}
			}
		}
	}
}

// estimate updates the clock offset and the margin from what matched so
// far, by the rule of correlate (the mean instead of the median to tell
// the upstream direction, which costs nothing to keep).
func (m *merger) estimate() {
	m.dirty, m.sinceEst = false, 0
	var lo, hi, gmin, gmax int64
	haveLo, haveHi, any := false, false, false
	for _, p := range m.pairs {
		w0, w1 := &p.dirs[0].d, &p.dirs[1].d
		for _, w := range []*dstats{w0, w1} {
			if w.n > 0 {
				if !any || w.min < gmin {
					gmin = w.min
				}
				if !any || w.max > gmax {
					gmax = w.max
				}
				any = true
			}
		}
		if w0.n == 0 || w1.n == 0 {
			continue
		}
		up, down := w0, w1
		if w1.mean() > w0.mean() {
			up, down = w1, w0
		}
		if !haveLo || up.min < lo {
			lo, haveLo = up.min, true
		}
		if !haveHi || down.max > hi {
			hi, haveHi = down.max, true
		}
	}
	if !any {
		return
	}
	m.window = true
	var maxDelay int64
	if haveLo && haveHi {
		m.off = lo + (hi-lo)/2
		for _, p := range m.pairs {
			for i := range p.dirs {
				w := &p.dirs[i].d
				if w.n == 0 {
					continue
				}
				if w.mean() >= float64(m.off) {
					maxDelay = max(maxDelay, w.max-m.off)
				} else {
					maxDelay = max(maxDelay, m.off-w.min)
				}
			}
		}
	} else {
		// One direction only: the clocks assumed in step, as the
		// result does, or as the probe found them, with room for
		// either sign of the delay.
		m.off = 0
		if m.probed {
			m.off = m.probeOff
		}
		maxDelay = max(abs(gmin-m.off), abs(gmax-m.off))
		if m.probed {
			maxDelay += baseMargin / 2
		}
	}
	m.margin = 2*maxDelay + baseMargin
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// expire gives up the messages the other file has gone past, forces out
// what exceeds the cap, and releases the decided ones in arrival order.
func (m *merger) expire() {
	for side := range m.f {
		f, o := &m.f[side], &m.f[1-side]
	queue:
		for f.q.n > 0 {
			e := f.q.at(0)
			if e.state == stPending {
				var how uint8
				switch {
				case o.done:
				case f.q.n >= m.maxPending: // room for the next one
					how = howCap
				case m.window && o.clock > m.toOther(side, e.r.time)+m.margin:
				case !m.window && o.seen && o.clock > e.r.time+preMatchWindow:
					how = howPreMatch
				default:
					break queue
				}
				m.release(side, e, how)
				continue
			}
			m.release(side, e, 0)
		}
	ike:
		for f.ikeq.n > 0 {
			e := f.ikeq.at(0)
			var how uint8
			if e.state == stPending {
				switch {
				case o.done && f.done:
				case f.ikeq.n >= m.maxIKE:
					how = howCap
				case o.done:
					// Its counterpart is in, but the pairing of its
					// session by ESP SPI may be just ahead in its own
					// file.
					if f.clock <= e.r.time+ikeWindow {
						break ike
					}
				case m.window && o.clock > m.toOther(side, e.r.time)+max(m.margin, ikeWindow):
				case !m.window && o.seen && o.clock > e.r.time+preMatchWindow:
					how = howPreMatch
				default:
					break ike
				}
				if how != howCap {
					m.tryIKE(side, f.ikebase, true)
				}
			}
			k := e.ikeKey()
			if p, ok := f.ikepend[k]; ok && p == f.ikebase {
				delete(f.ikepend, k)
			}
			if e.state == stPending {
				if how == howCap {
					f.forced++
				}
				f.gaveUp(e, how)
				m.judgeLater(side, jitem{sd: e.sd, time: e.r.time, first: e.r.first, key: e.r.key, kind: e.r.kind, how: how})
			}
			if e.state != stPending {
				f.ikeDone--
			}
			f.ikeq.pop()
			f.ikebase++
		}
		if f.ikeDone > 32 && 2*f.ikeDone > f.ikeq.n {
			f.compactIKE()
		}
	}
}

// compactIKE drops the matched IKE messages held behind one still
// waiting, so that the IKE messages held are those waiting, not all
// those of the last ikeWindow. The ones kept get new positions, past the
// old ones.
func (f *file) compactIKE() {
	var nq ring[entry]
	base := f.ikebase + uint64(f.ikeq.n)
	for i := 0; i < f.ikeq.n; i++ {
		e := f.ikeq.at(i)
		k := e.ikeKey()
		p, ok := f.ikepend[k]
		ok = ok && p == f.ikebase+uint64(i)
		if e.state != stPending {
			if ok {
				delete(f.ikepend, k)
			}
			continue
		}
		if ok {
			f.ikepend[k] = base + uint64(nq.n)
		}
		nq.push(*e)
	}
	f.ikeq, f.ikebase, f.ikeDone = nq, base, 0
}

// release takes the head of file side's queue out; a message seen there
// only goes to the judge queue with its neighbours seen at both points.
func (m *merger) release(side int, e *entry, how uint8) {
	f := &m.f[side]
	pos := f.base
	sd := e.sd
	if e.r.kind != analyze.MessageTCP {
		if p, ok := f.pend[e.r.key]; ok && p == pos {
			delete(f.pend, e.r.key)
		}
		if sd.prevHasPos && sd.prevPos == pos {
			sd.prevHasPos = false
		}
	}
	switch {
	case e.r.kind == analyze.MessageTCP:
		if e.ev != 0 {
			if how == howCap {
				f.forced++
			}
			f.gaveUp(e, how)
			m.judgeLater(side, jitem{sd: sd, time: e.r.time, first: e.r.first, kind: e.r.kind, ev: e.ev, how: how})
		}
	case e.state == stMatched:
		if e.r.kind == analyze.MessageESP {
			fr := Frames{AFrame: e.r.first, BFrame: e.other, SPI: uint32(e.r.key >> 32), Seq: uint32(e.r.key)}
			if side == 1 {
				fr.AFrame, fr.BFrame = e.other, e.r.first
			}
			sd.lastMatched = fr
			if sd.openAfter != nil {
				*sd.openAfter = fr
				sd.openAfter = nil
			}
		}
	default:
		if how == howCap {
			f.forced++
		}
		f.gaveUp(e, how)
		it := jitem{sd: sd, time: e.r.time, first: e.r.first, key: e.r.key, kind: e.r.kind, how: how}
		if e.r.kind == analyze.MessageESP && how != howCap {
			it.before = sd.lastMatched
			if sd.openAfter == nil {
				sd.openAfter = &Frames{}
			}
			it.after = sd.openAfter
		}
		m.judgeLater(side, it)
	}
	f.q.pop()
	f.base++
}

// gaveUp records the time of a message given up unmatched by the cap or
// before anything matched.
func (f *file) gaveUp(e *entry, how uint8) {
	if how == howCap || how == howPreMatch {
		f.givenUp, f.haveGivenUp = max(f.givenUp, e.r.time), true
	}
}

func (m *merger) judgeLater(side int, it jitem) {
	f := &m.f[side]
	if f.jq.n >= judgeQueueLen {
		m.judge(side, f.jq.at(0), false)
		f.jq.pop()
	}
	f.jq.push(it)
}

// otherSawBefore reports whether the partner of sd's session, in the
// other file, had a record of the corresponding direction (else of any
// direction, for a session not carried in TCP) before t, a time on the
// other file's clock: a capture that
// begins in the middle of a session may not frame the first message of a
// direction it meets (the cTCP framer waits for a message boundary), so
// a message of the other file from before its view of the direction
// began is not judged, rather than called lost. Without a partner yet,
// the capture windows decide alone.
func (m *merger) otherSawBefore(sd *sdir, t int64) bool {
	p := sd.s.partner
	if p == nil {
		return true
	}
	if pr := sd.s.pmap[sd.raw]; p.firstSet[pr] {
		return p.first[pr] < t
	}
	if p.tcp {
		// Nothing of the direction there: maybe one segment the framer
		// could not place.
		return false
	}
	for d := range p.first {
		if p.firstSet[d] && p.first[d] < t {
			return true
		}
	}
	return false
}

// judge counts a message or event of file side seen there only: inside
// the other capture's window (after the offset, the margin inside its
// ends) or not. final: with the final offset and the captures' real
// windows; else with the estimates, the other file's first message for
// its start and its clock for its end.
func (m *merger) judge(side int, it *jitem, final bool) {
	o := &m.f[1-side]
	start, end := o.firstTime, o.clock
	if final || o.done {
		start, end = 0, 0
		if o.c != nil {
			start, end = o.c.Start, o.c.End
		}
	}
	t := m.toOther(side, it.time)
	in := t >= start+m.margin && t <= end-m.margin
	sd := it.sd
	switch {
	case it.how == howCap:
		in = false
	case it.how == howPreMatch && abs(m.off)+m.margin >= preMatchWindow:
		in = false
	case o.haveGivenUp && t <= o.givenUp+m.margin:
		// Its counterpart may be among those the other file gave up.
		in = false
	case !m.otherSawBefore(sd, t):
		in = false
	}
	if it.kind == analyze.MessageTCP {
		if !in {
			return
		}
		for k := 0; k < nKinds; k++ {
			if it.ev&(1<<k) == 0 {
				continue
			}
			a := &sd.ev[k]
			if a.count == 0 {
				a.first = it.time
			}
			a.count++
			if len(a.frames) < m.opts.MaxListed {
				a.frames = append(a.frames, it.first)
			}
		}
		return
	}
	switch {
	case !in:
		sd.notJudged++
	case it.kind == analyze.MessageIKE:
		sd.ikeOnly++
	default:
		sd.only++
		if len(sd.lost) < m.opts.MaxListed {
			l := Lost{SPI: uint32(it.key >> 32), Seq: uint32(it.key), Time: it.time, Before: it.before}
			if side == 0 {
				l.AFrame = it.first
			} else {
				l.BFrame = it.first
			}
			sd.lost = append(sd.lost, lostCand{l: l, after: it.after})
		}
	}
}
