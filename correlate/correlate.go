package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// sview is one session of a file at the end: what pairing and the
// result need of it, by direction in the session's orientation.
type sview struct {
	s     *analyze.Session
	st    *session
	flip  uint8 // the raw direction (fRev) of ClientToHeadend
	spis  [2][]uint32
	ikes  []uint32  // IKE initiator SPIs' first 4 bytes
	nmsgs int       // ESP and IKE messages
	hash  [2]uint64 // the first stream bytes' hash per direction, 0: none
}

// sd returns the direction d (the session's orientation) of v, an empty
// one when it saw nothing.
func (v *sview) sd(d analyze.Dir) *sdir {
	if x := v.st.sd[uint8(d)^v.flip]; x != nil {
		return x
	}
	return &sdir{}
}

// orient returns the raw direction (fRev) of s's ClientToHeadend: the
// messages of a session are told apart by the order of their addresses.
func orient(s *analyze.Session) uint8 {
	if s.Client.Compare(s.Headend) >= 0 {
		return 1
	}
	return 0
}

func views(f *file) map[uint64]*sview {
	v := map[uint64]*sview{}
	if f.c == nil {
		return v
	}
	for _, s := range f.c.Sessions {
		st := f.sess[s.Serial]
		if st == nil || st.nrecs == 0 {
			continue
		}
		w := &sview{s: s, st: st, flip: orient(s), ikes: st.ikes, nmsgs: st.nmsgs}
		for d := range w.spis {
			if x := st.sd[uint8(d)^w.flip]; x != nil {
				w.spis[d] = x.spis
			}
		}
		w.hash[0], w.hash[1] = st.hash[w.flip], st.hash[1^w.flip]
		v[s.Serial] = w
	}
	return v
}

// pairing is a pair in the making.
type pairing struct {
	a, b   *sview
	by     string
	spis   []uint32
	dirMap [2]analyze.Dir // A direction -> B direction
	dirs   [2]*dirWork
}

// dirWork is one direction of a pair: the aggregates of its messages
// matched at both points (by A's direction) and of those seen in one
// file only (sa, sb: the directions of each session).
type dirWork struct {
	agg    *dirAgg
	sa, sb *sdir
	upA    bool // A is upstream
	known  bool // upstream known
}

var noAgg dirAgg

func sortedKeys[M ~map[uint64]V, V any](m M) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// result ends the correlation once both files are read: the relation
// facts still waiting for a next message, the final pairing, offset and
// margin, then the messages seen in one file only that wait to be
// judged, and the result.
func (m *merger) result() *Result {
	ta, tb := &m.f[0], &m.f[1]
	for i := range m.f {
		for _, k := range sortedKeys(m.f[i].sess) {
			for _, sd := range m.f[i].sess[k].sd {
				if sd != nil && sd.slot.used {
					sd.slot.resolve()
				}
			}
		}
	}
	res := &Result{A: ta.c, B: tb.c, MessagesA: ta.msgs, MessagesB: tb.msgs,
		ForcedA: ta.forced, ForcedB: tb.forced, PeakHeldA: ta.peak, PeakHeldB: tb.peak}
	va, vb := views(ta), views(tb)
	pairs := pairSessions(va, vb)
	for _, p := range pairs {
		pa := m.pairs[[2]uint64{p.a.s.Serial, p.b.s.Serial}]
		for d := analyze.Dir(0); d < 2; d++ {
			w := &dirWork{agg: &noAgg, sa: p.a.sd(d), sb: p.b.sd(p.dirMap[d])}
			if pa != nil {
				w.agg = &pa.dirs[uint8(d)^p.a.flip]
			}
			p.dirs[d] = w
		}
	}
	// The clock offset: the midpoint of the minimum apparent delays of
	// the directions in which A is upstream and of those in which B is.
	lo, hi := int64(0), int64(0)
	haveLo, haveHi := false, false
	for _, p := range pairs {
		w0, w1 := &p.dirs[0].agg.d, &p.dirs[1].agg.d
		if w0.n == 0 || w1.n == 0 {
			continue
		}
		up, down := w0, w1
		if w1.median() > w0.median() {
			up, down = w1, w0
		}
		if !haveLo || up.min < lo {
			lo, haveLo = up.min, true
		}
		if !haveHi || down.max > hi {
			hi, haveHi = down.max, true
		}
	}
	if haveLo && haveHi {
		res.ClockOffset, res.OffsetKnown = lo+(hi-lo)/2, true
	}
	off := res.ClockOffset
	var maxDelay int64
	for _, p := range pairs {
		for _, w := range p.dirs {
			d := &w.agg.d
			if d.n == 0 {
				continue
			}
			w.known = true
			w.upA = d.median() >= off
			maxDelay = max(maxDelay, delayOf(d.max, off, w.upA), delayOf(d.min, off, w.upA))
		}
		// A direction with nothing matched runs opposite to the other.
		for d := range p.dirs {
			if w, o := p.dirs[d], p.dirs[1-d]; !w.known && o.known {
				w.known, w.upA = true, !o.upA
			}
		}
	}
	res.Margin = 2*maxDelay + baseMargin
	// What waits to be judged is judged against the real windows.
	m.off, m.margin = off, res.Margin
	for i := range m.f {
		f := &m.f[i]
		for ; f.jq.n > 0; f.jq.pop() {
			m.judge(i, f.jq.at(0), true)
		}
	}
	j := judge{off: off, max: m.opts.MaxListed}
	for _, p := range pairs {
		res.Pairs = append(res.Pairs, j.pair(p))
	}
	pairedA, pairedB := map[int]bool{}, map[int]bool{}
	for _, p := range res.Pairs {
		pairedA[p.A.ID], pairedB[p.B.ID] = true, true
		for _, d := range p.Directions {
			if d.Lost > 0 {
				res.Verdict = VerdictLoss
			}
		}
	}
	res.UnpairedA = unpaired(ta.c, va, pairedA)
	res.UnpairedB = unpaired(tb.c, vb, pairedB)
	switch {
	case len(res.Pairs) == 0:
		res.Verdict = VerdictNoMatch
	case res.Verdict == "":
		res.Verdict = VerdictNoLoss
	}
	return res
}

func unpaired(c *analyze.Capture, v map[uint64]*sview, paired map[int]bool) []int {
	var out []int
	if c == nil {
		return nil
	}
	for _, s := range c.Sessions {
		if paired[s.ID] {
			continue
		}
		if w := v[s.Serial]; s.Transport.IsVPN() && s.Transport != analyze.TransportUDP || w != nil && w.nmsgs > 0 {
			out = append(out, s.ID)
		}
	}
	return out
}

// pairSessions matches the sessions of A with those of B: by ESP SPI,
// else by IKE initiator SPI, else (TCP) by identical addresses.
func pairSessions(va, vb map[uint64]*sview) []*pairing {
	type loc struct {
		serial uint64
		d      analyze.Dir
	}
	spiB := map[uint32][]loc{}
	ikeB := map[uint32][]uint64{}
	for _, k := range sortedKeys(vb) {
		w := vb[k]
		for d := range w.spis {
			for _, spi := range w.spis[d] {
				spiB[spi] = append(spiB[spi], loc{k, analyze.Dir(d)})
			}
		}
		for _, spi := range w.ikes {
			ikeB[spi] = append(ikeB[spi], k)
		}
	}
	type pk struct{ a, b uint64 }
	byKey := map[pk]*pairing{}
	var out []*pairing
	get := func(a, b uint64, by string) *pairing {
		p := byKey[pk{a, b}]
		if p == nil {
			p = &pairing{a: va[a], b: vb[b], by: by, dirMap: [2]analyze.Dir{0, 1}}
			byKey[pk{a, b}] = p
			out = append(out, p)
		}
		return p
	}
	pairedA, pairedB := map[uint64]bool{}, map[uint64]bool{}
	for _, ka := range sortedKeys(va) {
		w := va[ka]
		for d := range w.spis {
			for _, spi := range w.spis[d] {
				for _, l := range spiB[spi] {
					p := get(ka, l.serial, MatchedESPSPI)
					if !slices.Contains(p.spis, spi) {
						if len(p.spis) == 0 {
							p.dirMap[d], p.dirMap[1-d] = l.d, 1-l.d
						}
						p.spis = append(p.spis, spi)
					}
					pairedA[ka], pairedB[l.serial] = true, true
				}
			}
		}
	}
	for _, ka := range sortedKeys(va) {
		w := va[ka]
		if pairedA[ka] {
			continue
		}
		for _, spi := range w.ikes {
			for _, kb := range ikeB[spi] {
				if pairedB[kb] {
					continue
				}
				p := get(ka, kb, MatchedIKESPI)
				if !slices.Contains(p.spis, spi) {
					p.spis = append(p.spis, spi)
				}
			}
		}
	}
	for _, p := range out {
		pairedA[p.a.s.Serial], pairedB[p.b.s.Serial] = true, true
	}
	// Other TCP: the same addresses and ports at both points, at
	// overlapping times.
	for _, ka := range sortedKeys(va) {
		a := va[ka]
		if pairedA[ka] || a.s.Proto != 6 {
			continue
		}
		for _, kb := range sortedKeys(vb) {
			b := vb[kb]
			if pairedB[kb] || b.s.Proto != 6 || a.s.Client != b.s.Client || a.s.Headend != b.s.Headend ||
				a.s.LastTime < b.s.FirstTime-int64(60e9) || b.s.LastTime < a.s.FirstTime-int64(60e9) {
				continue
			}
			get(ka, kb, MatchedAddresses)
			pairedA[ka], pairedB[kb] = true, true
			break
		}
	}
	// Other TCP across a NAT or a proxy: the same first stream bytes in
	// a direction (a TLS hello's random), none differing.
	hashB := map[uint64][]loc{}
	for _, kb := range sortedKeys(vb) {
		b := vb[kb]
		for d, h := range b.hash {
			if h != 0 && !pairedB[kb] && b.s.Proto == 6 {
				hashB[h] = append(hashB[h], loc{kb, analyze.Dir(d)})
			}
		}
	}
	for _, ka := range sortedKeys(va) {
		a := va[ka]
		if pairedA[ka] || a.s.Proto != 6 {
			continue
		}
	find:
		for d, h := range a.hash {
			if h == 0 {
				continue
			}
			for _, l := range hashB[h] {
				b := vb[l.serial]
				if pairedB[l.serial] {
					continue
				}
				// The other direction must not contradict.
				if o, ob := a.hash[1-d], b.hash[1-l.d]; o != 0 && ob != 0 && o != ob {
					continue
				}
				p := get(ka, l.serial, MatchedPayload)
				p.dirMap[d], p.dirMap[1-d] = l.d, 1-l.d
				pairedA[ka], pairedB[l.serial] = true, true
				break find
			}
		}
	}
	slices.SortStableFunc(out, func(x, y *pairing) int {
		return cmp.Or(cmp.Compare(x.a.s.ID, y.a.s.ID), cmp.Compare(x.b.s.ID, y.b.s.ID))
	})
	return out
}

// delayOf turns an apparent delay (B time minus A time) into a one-way
// delay given the clock offset and which point is upstream.
func delayOf(x, off int64, upA bool) int64 {
	if upA {
		return x - off
	}
	return off - x
}

// judge turns the aggregates of each pair's directions into the result.
type judge struct {
	off int64
	max int
}

func (j *judge) pair(p *pairing) Pair {
	out := Pair{A: p.a.s, B: p.b.s, MatchedBy: p.by, SPIs: p.spis}
	for d := analyze.Dir(0); d < 2; d++ {
		out.Directions[d] = j.direction(p, d)
	}
	j.events(p, &out)
	j.relation(p, &out)
	return out
}

func (j *judge) direction(p *pairing, d analyze.Dir) Direction {
	w := p.dirs[d]
	g := w.agg
	s := p.a.s
	dir := Direction{From: s.Client, To: s.Headend, BDir: p.dirMap[d]}
	if d == analyze.HeadendToClient {
		dir.From, dir.To = s.Headend, s.Client
	}
	if w.known {
		dir.Upstream = "b"
		if w.upA {
			dir.Upstream = "a"
		}
	}
	// The delays are the apparent ones after the offset: ascending when
	// A is upstream, descending otherwise.
	if x := &g.d; x.n > 0 {
		n := x.n
		q := func(k int) int64 {
			if w.upA {
				return delayOf(x.at(k), j.off, true)
			}
			return delayOf(x.at(n-1-k), j.off, false)
		}
		dir.Delay = Delay{N: n, Median: q(n / 2), P99: q(min(n-1, n*99/100)), Max: q(n - 1)}
	}
	dir.Both, dir.IKEBoth = g.both, g.ikeBoth
	dir.SeqOffset, dir.SeqOffsetConstant = g.seqFirst, g.seqHave && !g.seqDiff
	// Seen at one point only.
	sa, sb := w.sa, w.sb
	dir.AOnly, dir.BOnly = sa.only, sb.only
	dir.IKEAOnly, dir.IKEBOnly = sa.ikeOnly, sb.ikeOnly
	dir.NotJudged = sa.notJudged + sb.notJudged
	dir.Repeats = sa.repeats + sb.repeats
	if w.known {
		dir.Lost, dir.Generated = dir.AOnly, dir.BOnly
		up := sa
		if !w.upA {
			dir.Lost, dir.Generated = dir.BOnly, dir.AOnly
			up = sb
		}
		var lost []Lost
		for _, c := range up.lost[:min(len(up.lost), j.max)] {
			l := c.l
			if c.after != nil {
				l.After = *c.after
			}
			lost = append(lost, l)
		}
		if len(lost) > 0 {
			slices.SortStableFunc(lost, func(x, y Lost) int { return cmp.Compare(x.Time, y.Time) })
			dir.LostMessages = lost
			dir.FirstLost = &lost[0]
		}
	}
	return dir
}

// events lists the TCP control packets of a pair seen at one point
// only (matched by kind and direction, in time order, within the margin
// of their counterpart's time after the offset, as they came: see
// merger.matchEvent).
func (j *judge) events(p *pairing, out *Pair) {
	for d := analyze.Dir(0); d < 2; d++ {
		w := p.dirs[d]
		if !w.known {
			continue
		}
		for k := 0; k < nKinds; k++ {
			for _, x := range []struct {
				sd       *sdir
				side     string
				upstream bool
			}{{w.sa, "a", w.upA}, {w.sb, "b", !w.upA}} {
				a := &x.sd.ev[k]
				if a.count == 0 {
					continue
				}
				e := Event{Kind: kindNames[k], Side: x.side, Dir: d, Count: a.count, FirstTime: a.first,
					Frames: slices.Clone(a.frames[:min(len(a.frames), j.max)])}
				if x.upstream {
					out.Absorbed = append(out.Absorbed, e)
				} else {
					out.Generated = append(out.Generated, e)
				}
			}
		}
	}
}

// relation tells the relation of the two TCP views of a pair.
func (j *judge) relation(p *pairing, out *Pair) {
	if p.a.s.Proto != 6 || p.b.s.Proto != 6 {
		out.Relation = RelationNotTCP
		return
	}
	var why []string
	terminated := false
	var boundary, ackDiff, ipSame, ipDiff, compared [2]int
	zero := true
	known := [2]bool{}
	for d := analyze.Dir(0); d < 2; d++ {
		dir := &out.Directions[d]
		if dir.Both == 0 {
			continue
		}
		if !dir.SeqOffsetConstant {
			terminated = true
			why = append(why, fmt.Sprintf("%s->%s: the offset between the two views' sequence numbers changes from message to message", dir.From, dir.To))
			continue
		}
		known[d] = true
		if dir.SeqOffset != 0 {
			zero = false
		}
	}
	for d := analyze.Dir(0); d < 2; d++ {
		// Of the messages seen at both points, each alone in its segment
		// at both or at neither (else boundary): the ACK a segment
		// carries is the sender's, so after the other direction's
		// sequence offset it is the same number at both points, unless
		// a TCP stack between sends its own (else, without that offset,
		// the same difference as the first).
		g := p.dirs[d].agg
		boundary[d], compared[d], ipSame[d], ipDiff[d] = g.boundary, g.compared, g.ipSame, g.ipDiff
		if g.compared > 0 {
			want := g.firstAck
			if known[1-d] {
				want = out.Directions[1-d].SeqOffset
			}
			ackDiff[d] = g.compared - g.ads.count(want)
		}
		dir := &out.Directions[d]
		if boundary[d] > 0 {
			terminated = true
			why = append(why, fmt.Sprintf("%s->%s: %d messages are cut into segments differently at the two points", dir.From, dir.To, boundary[d]))
		}
		if ackDiff[d] > 0 {
			terminated = true
			why = append(why, fmt.Sprintf("%s->%s: %d of %d segments carry another ACK number at the two points: a TCP stack between acknowledges on its own", dir.From, dir.To, ackDiff[d], compared[d]))
		}
		if ipDiff[d] > ipSame[d] {
			terminated = true
			why = append(why, fmt.Sprintf("%s->%s: %d of %d segments carry another IP ID at the two points: another host sent them", dir.From, dir.To, ipDiff[d], ipDiff[d]+ipSame[d]))
		}
	}
	for _, e := range out.Generated {
		if e.Kind == EventDupAck || e.Kind == EventKeepAlive {
			terminated = true
			noun := "duplicate ACK"
			if e.Kind == EventKeepAlive {
				noun = "keep-alive"
			}
			if e.Count != 1 {
				noun += "s"
			}
			why = append(why, fmt.Sprintf("%d %s seen in %s only were sent by the device between", e.Count, noun, strings.ToUpper(e.Side)))
		}
	}
	switch {
	case terminated:
		out.Relation = RelationTerminated
	case !known[0] && !known[1]:
		// No message to compare: the SYNs, if both saw one.
		out.Relation = RelationSame
		why = append(why, "no message seen at both points to compare")
		if sa, sb := p.a.s.BaseSeq, p.b.s.BaseSeq; sa != sb {
			out.Relation = RelationSeqOffset
			why[0] = "no message seen at both points; the sequence numbers differ"
		}
	case zero:
		out.Relation = RelationSame
		why = append(why, "the same sequence and ACK numbers at both points, one message per segment alike")
	default:
		out.Relation = RelationSeqOffset
		for d := range out.Directions {
			if known[d] {
				o := &out.Directions[d]
				if o.SeqOffset == 0 {
					why = append(why, fmt.Sprintf("%s->%s: the same sequence numbers at both points, segments alike", o.From, o.To))
					continue
				}
				why = append(why, fmt.Sprintf("%s->%s: sequence numbers offset by 0x%08x (modulo 2^32) at B, the same for every message, segments alike", o.From, o.To, uint32(o.SeqOffset)))
			}
		}
	}
	out.RelationWhy = why
}
