package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// sview is one session's messages in one table, by direction (in the
// session's orientation): indexes into table.recs, in capture order.
type sview struct {
	s    *analyze.Session
	msgs [2][]int32 // ESP and IKE messages
	evs  [2][]int32 // TCP control segments
	spis [2][]uint32
	ikes []uint32 // IKE initiator SPIs' first 4 bytes
}

func views(t *table) map[uint64]*sview {
	v := map[uint64]*sview{}
	for i := range t.recs {
		r := &t.recs[i]
		s, d, ok := t.dir(r)
		if !ok {
			continue
		}
		w := v[r.serial]
		if w == nil {
			w = &sview{s: s}
			v[r.serial] = w
		}
		switch r.kind {
		case analyze.MessageTCP:
			w.evs[d] = append(w.evs[d], int32(i))
		case analyze.MessageESP:
			w.msgs[d] = append(w.msgs[d], int32(i))
			if spi := uint32(r.key >> 32); !slices.Contains(w.spis[d], spi) {
				w.spis[d] = append(w.spis[d], spi)
			}
		case analyze.MessageIKE:
			w.msgs[d] = append(w.msgs[d], int32(i))
			if spi := uint32(r.key >> 32); spi != 0 && !slices.Contains(w.ikes, spi) {
				w.ikes = append(w.ikes, spi)
			}
		}
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

// dirWork is one direction of a pair being matched.
type dirWork struct {
	la, lb   []int32 // the direction's messages in A and in B
	matchA   []int32 // for each of la: index in lb of its counterpart, -1 none
	matchedB []bool
	repA     []bool // a repeat of an earlier message of the same file
	repB     []bool
	deltas   []int64 // B time minus A time of the matched ESP messages
	upA      bool    // A is upstream
	known    bool    // upstream known
}

func sortedKeys[M ~map[uint64]V, V any](m M) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func correlate(ta, tb *table, opts Options) *Result {
	if opts.MaxListed <= 0 {
		opts.MaxListed = 64
	}
	res := &Result{A: ta.c, B: tb.c, MessagesA: len(ta.recs), MessagesB: len(tb.recs)}
	va, vb := views(ta), views(tb)
	pairs := pairSessions(va, vb)

	// Match the messages of each pair direction.
	for _, p := range pairs {
		for d := analyze.Dir(0); d < 2; d++ {
			p.dirs[d] = matchDir(ta, tb, p.a.msgs[d], p.b.msgs[p.dirMap[d]])
		}
	}
	// The clock offset: the midpoint of the minimum apparent delays of
	// the directions in which A is upstream and of those in which B is.
	lo, hi := int64(0), int64(0)
	haveLo, haveHi := false, false
	for _, p := range pairs {
		w0, w1 := p.dirs[0], p.dirs[1]
		if len(w0.deltas) == 0 || len(w1.deltas) == 0 {
			continue
		}
		m0, m1 := median(w0.deltas), median(w1.deltas)
		up, down := w0, w1
		if m1 > m0 {
			up, down = w1, w0
		}
		if mn := slices.Min(up.deltas); !haveLo || mn < lo {
			lo, haveLo = mn, true
		}
		if mx := slices.Max(down.deltas); !haveHi || mx > hi {
			hi, haveHi = mx, true
		}
	}
	if haveLo && haveHi {
		res.ClockOffset, res.OffsetKnown = lo+(hi-lo)/2, true
	}
	off := res.ClockOffset
	var maxDelay int64
	for _, p := range pairs {
		for _, w := range p.dirs {
			if len(w.deltas) == 0 {
				continue
			}
			w.known = true
			w.upA = median(w.deltas) >= off
			for _, x := range w.deltas {
				maxDelay = max(maxDelay, delayOf(x, off, w.upA))
			}
		}
		// A direction with nothing matched runs opposite to the other.
		for d := range p.dirs {
			if w, o := p.dirs[d], p.dirs[1-d]; !w.known && o.known {
				w.known, w.upA = true, !o.upA
			}
		}
	}
	res.Margin = 2*maxDelay + 50_000_000
	j := judge{ta: ta, tb: tb, off: off, margin: res.Margin, max: opts.MaxListed}
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
	for _, s := range c.Sessions {
		if paired[s.ID] {
			continue
		}
		if w := v[s.Serial]; s.Transport.IsVPN() && s.Transport != analyze.TransportUDP || w != nil && len(w.msgs[0])+len(w.msgs[1]) > 0 {
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
	slices.SortStableFunc(out, func(x, y *pairing) int {
		return cmp.Or(cmp.Compare(x.a.s.ID, y.a.s.ID), cmp.Compare(x.b.s.ID, y.b.s.ID))
	})
	return out
}

// mkey is a message's identity within a direction: an ESP SPI and
// sequence number, or an IKE SPI, message ID and occurrence.
type mkey struct {
	key  uint64
	occ  uint32
	kind analyze.MessageKind
}

// keys returns the identities of the messages l of table t, and which
// of them repeat an earlier one (an ESP number seen again).
func keys(t *table, l []int32) ([]mkey, []bool) {
	ks := make([]mkey, len(l))
	rep := make([]bool, len(l))
	seen := make(map[mkey]bool, len(l))
	occ := map[uint64]uint32{}
	for i, x := range l {
		r := &t.recs[x]
		k := mkey{key: r.key, kind: r.kind}
		if r.kind == analyze.MessageIKE {
			k.occ = occ[r.key]
			occ[r.key]++
		}
		ks[i] = k
		rep[i] = seen[k]
		seen[k] = true
	}
	return ks, rep
}

func matchDir(ta, tb *table, la, lb []int32) *dirWork {
	w := &dirWork{la: la, lb: lb, matchA: make([]int32, len(la)), matchedB: make([]bool, len(lb))}
	ka, repA := keys(ta, la)
	kb, repB := keys(tb, lb)
	w.repA, w.repB = repA, repB
	idx := make(map[mkey]int32, len(lb))
	for i, k := range kb {
		if !repB[i] {
			idx[k] = int32(i)
		}
	}
	for i, k := range ka {
		w.matchA[i] = -1
		if repA[i] {
			continue
		}
		j, ok := idx[k]
		if !ok {
			continue
		}
		w.matchA[i] = j
		w.matchedB[j] = true
		ra, rb := &ta.recs[la[i]], &tb.recs[lb[j]]
		if ra.kind == analyze.MessageESP && ra.flags&fPartial == 0 && rb.flags&fPartial == 0 {
			w.deltas = append(w.deltas, rb.time-ra.time)
		}
	}
	return w
}

func median(x []int64) int64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

// delayOf turns an apparent delay (B time minus A time) into a one-way
// delay given the clock offset and which point is upstream.
func delayOf(x, off int64, upA bool) int64 {
	if upA {
		return x - off
	}
	return off - x
}

// judge turns matched directions into the result.
type judge struct {
	ta, tb *table
	off    int64
	margin int64
	max    int
}

// inB reports whether A time t lies inside B's window, and inA whether
// B time t lies inside A's.
func (j *judge) inB(t int64) bool {
	t += j.off
	return t >= j.tb.c.Start+j.margin && t <= j.tb.c.End-j.margin
}

func (j *judge) inA(t int64) bool {
	t -= j.off
	return t >= j.ta.c.Start+j.margin && t <= j.ta.c.End-j.margin
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
	ta, tb := j.ta, j.tb
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
	var delays []int64
	for _, x := range w.deltas {
		delays = append(delays, delayOf(x, j.off, w.upA))
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		n := len(delays)
		dir.Delay = Delay{N: n, Median: delays[n/2], P99: delays[min(n-1, n*99/100)], Max: delays[n-1]}
	}
	// Seen at both, and the sequence offset of the TCP views.
	first := true
	dir.SeqOffsetConstant = true
	for i, m := range w.matchA {
		if m < 0 {
			continue
		}
		ra, rb := &ta.recs[w.la[i]], &tb.recs[w.lb[m]]
		if ra.kind == analyze.MessageIKE {
			dir.IKEBoth++
			continue
		}
		dir.Both++
		if o := rb.tcpSeq - ra.tcpSeq; first {
			dir.SeqOffset, first = o, false
		} else if o != dir.SeqOffset {
			dir.SeqOffsetConstant = false
		}
	}
	if first {
		dir.SeqOffsetConstant = false
	}
	// Seen at one point only.
	var lost []Lost
	var ar *around
	if w.known {
		ar = j.around(w, w.upA)
	}
	for i, m := range w.matchA {
		r := &ta.recs[w.la[i]]
		switch {
		case w.repA[i]:
			dir.Repeats++
		case m >= 0:
		case !j.inB(r.time):
			dir.NotJudged++
		case r.kind == analyze.MessageIKE:
			dir.IKEAOnly++
		default:
			dir.AOnly++
			if w.known && w.upA && len(lost) < j.max {
				lost = append(lost, j.lost(w, ar, i, true))
			}
		}
	}
	for i, ok := range w.matchedB {
		r := &tb.recs[w.lb[i]]
		switch {
		case w.repB[i]:
			dir.Repeats++
		case ok:
		case !j.inA(r.time):
			dir.NotJudged++
		case r.kind == analyze.MessageIKE:
			dir.IKEBOnly++
		default:
			dir.BOnly++
			if w.known && !w.upA && len(lost) < j.max {
				lost = append(lost, j.lost(w, ar, i, false))
			}
		}
	}
	if w.known {
		dir.Lost, dir.Generated = dir.AOnly, dir.BOnly
		if !w.upA {
			dir.Lost, dir.Generated = dir.BOnly, dir.AOnly
		}
	}
	if len(lost) > 0 {
		slices.SortStableFunc(lost, func(x, y Lost) int { return cmp.Compare(x.Time, y.Time) })
		dir.LostMessages = lost
		dir.FirstLost = &lost[0]
	}
	return dir
}

// around gives, for the upstream file's list of a direction (A's when
// inA), the frames of each message seen at both points and, per index,
// the nearest such message before and after it (-1: none).
type around struct {
	frames     []Frames
	ok         []bool
	prev, next []int32
}

func (j *judge) around(w *dirWork, inA bool) *around {
	ta, tb := j.ta, j.tb
	n := len(w.lb)
	if inA {
		n = len(w.la)
	}
	ar := &around{frames: make([]Frames, n), ok: make([]bool, n), prev: make([]int32, n), next: make([]int32, n)}
	if inA {
		for k, m := range w.matchA {
			if m >= 0 && ta.recs[w.la[k]].kind == analyze.MessageESP {
				ra := &ta.recs[w.la[k]]
				ar.frames[k] = Frames{AFrame: ra.first, BFrame: tb.recs[w.lb[m]].first, SPI: uint32(ra.key >> 32), Seq: uint32(ra.key)}
				ar.ok[k] = true
			}
		}
	} else {
		for k, m := range w.matchA {
			if m >= 0 && tb.recs[w.lb[m]].kind == analyze.MessageESP {
				rb := &tb.recs[w.lb[m]]
				ar.frames[m] = Frames{AFrame: ta.recs[w.la[k]].first, BFrame: rb.first, SPI: uint32(rb.key >> 32), Seq: uint32(rb.key)}
				ar.ok[m] = true
			}
		}
	}
	last := int32(-1)
	for k := 0; k < n; k++ {
		ar.prev[k] = last
		if ar.ok[k] {
			last = int32(k)
		}
	}
	last = -1
	for k := n - 1; k >= 0; k-- {
		ar.next[k] = last
		if ar.ok[k] {
			last = int32(k)
		}
	}
	return ar
}

// lost describes message i of the upstream file's list (A's when inA),
// seen there only, with the nearest messages seen at both around it.
func (j *judge) lost(w *dirWork, ar *around, i int, inA bool) Lost {
	var r *rec
	if inA {
		r = &j.ta.recs[w.la[i]]
	} else {
		r = &j.tb.recs[w.lb[i]]
	}
	l := Lost{SPI: uint32(r.key >> 32), Seq: uint32(r.key), Time: r.time}
	if inA {
		l.AFrame = r.first
	} else {
		l.BFrame = r.first
	}
	if k := ar.prev[i]; k >= 0 {
		l.Before = ar.frames[k]
	}
	if k := ar.next[i]; k >= 0 {
		l.After = ar.frames[k]
	}
	return l
}

// events finds the TCP control packets of a pair seen at one point
// only: matched by kind and direction, in time order, within the
// margin of their counterpart's time after the offset.
func (j *judge) events(p *pairing, out *Pair) {
	ta, tb := j.ta, j.tb
	kinds := []struct {
		name string
		flag uint8
	}{{EventDupAck, fDupAck}, {EventRST, fRST}, {EventFIN, fFIN}, {EventKeepAlive, fKeepAlive}}
	for d := analyze.Dir(0); d < 2; d++ {
		w := p.dirs[d]
		ea, eb := p.a.evs[d], p.b.evs[p.dirMap[d]]
		for _, k := range kinds {
			var xa, xb []int32
			for _, i := range ea {
				if ta.recs[i].flags&k.flag != 0 {
					xa = append(xa, i)
				}
			}
			for _, i := range eb {
				if tb.recs[i].flags&k.flag != 0 {
					xb = append(xb, i)
				}
			}
			if len(xa) == 0 && len(xb) == 0 {
				continue
			}
			usedB := make([]bool, len(xb))
			var onlyA []int32
			lo := 0
			for _, i := range xa {
				t := ta.recs[i].time + j.off
				for lo < len(xb) && tb.recs[xb[lo]].time < t-j.margin {
					lo++
				}
				found := false
				for q := lo; q < len(xb) && tb.recs[xb[q]].time <= t+j.margin; q++ {
					if !usedB[q] {
						usedB[q], found = true, true
						break
					}
				}
				if !found && j.inB(ta.recs[i].time) {
					onlyA = append(onlyA, i)
				}
			}
			var onlyB []int32
			for q, i := range xb {
				if !usedB[q] && j.inA(tb.recs[i].time) {
					onlyB = append(onlyB, i)
				}
			}
			add := func(t *table, l []int32, side string, upstream bool) {
				if len(l) == 0 || !w.known {
					return
				}
				e := Event{Kind: k.name, Side: side, Dir: d, Count: len(l), FirstTime: t.recs[l[0]].time}
				for _, i := range l[:min(len(l), j.max)] {
					e.Frames = append(e.Frames, t.recs[i].first)
				}
				if upstream {
					out.Absorbed = append(out.Absorbed, e)
				} else {
					out.Generated = append(out.Generated, e)
				}
			}
			add(ta, onlyA, "a", w.upA)
			add(tb, onlyB, "b", !w.upA)
		}
	}
}

// relation tells the relation of the two TCP views of a pair.
func (j *judge) relation(p *pairing, out *Pair) {
	if p.a.s.Proto != 6 || p.b.s.Proto != 6 {
		out.Relation = RelationNotTCP
		return
	}
	ta, tb := j.ta, j.tb
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
		w := p.dirs[d]
		aloneA := alone(ta, w.la)
		aloneB := alone(tb, w.lb)
		var firstAck uint32
		haveAck := false
		for i, m := range w.matchA {
			if m < 0 {
				continue
			}
			ra, rb := &ta.recs[w.la[i]], &tb.recs[w.lb[m]]
			if ra.kind != analyze.MessageESP || ra.flags&fPartial != 0 || rb.flags&fPartial != 0 {
				continue
			}
			if aloneA[i] != aloneB[m] {
				boundary[d]++
				continue
			}
			if !aloneA[i] {
				continue
			}
			compared[d]++
			// The ACK a segment carries is the sender's: after the other
			// direction's sequence offset it is the same number at both
			// points, unless a TCP stack between sends its own.
			ad := rb.tcpAck - ra.tcpAck
			switch o := &out.Directions[1-d]; {
			case known[1-d]:
				if ad != o.SeqOffset {
					ackDiff[d]++
				}
			case !haveAck:
				firstAck, haveAck = ad, true
			case ad != firstAck:
				ackDiff[d]++
			}
			if ra.flags&fIPv4 != 0 && rb.flags&fIPv4 != 0 && ra.ipid != 0 && rb.ipid != 0 {
				if ra.ipid == rb.ipid {
					ipSame[d]++
				} else {
					ipDiff[d]++
				}
			}
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

// alone reports, for each message of l, whether it was alone in one
// segment: neither split nor sharing a frame with its neighbours.
func alone(t *table, l []int32) []bool {
	out := make([]bool, len(l))
	for i, x := range l {
		r := &t.recs[x]
		a := r.first == r.last && r.flags&fPartial == 0
		if a && i > 0 && t.recs[l[i-1]].last == r.first {
			a = false
		}
		if a && i+1 < len(l) && t.recs[l[i+1]].first == r.last {
			a = false
		}
		out[i] = a
	}
	return out
}
