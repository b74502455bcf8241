package analyze

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// A sharded analysis (Options.Threads > 1) spreads the work over
// goroutines by flow: the calling goroutine reads the records (capfile)
// into batches, each batch is decoded by one of the shards' goroutines in
// turn, and every shard then tracks, batch after batch in capture order,
// the packets whose conversation key hashes to it. A conversation stays on
// one goroutine and sees its packets in order, so its analysis is the
// single-threaded one; what spans conversations is put together at the
// end: the counters are summed, the tcp.stream and udp.stream numbers are
// the ranks of the frames that opened the conversations among all
// shards', Session.Serial is that frame already, and the sessions are
// ordered by first frame as always.
//
// What a shard cannot decide alone is the flow table's eviction, which
// depends on every conversation in it. Every shard counts every packet
// and follows the capture's clock, so all reach each idle sweep (every
// sweepEvery packets) at the same packet; there they meet and add up their
// tables, and each evicts its own idle conversations when the sum exceeds
// idleFloor, as the single-threaded analysis does with its one table. The
// bounds that evict the least recently active conversation of all (the
// table's bound and the half-open bound) and the cap on evicted sessions
// kept in the report depend on the order across shards: when a meeting
// finds that one of them may be reached before the next, the sharded
// analysis gives up and the file is analyzed again on one goroutine, so
// the report is the same either way.

const (
	// batchRecords and batchBytes bound a batch: small enough that the
	// shards work on many batches at once, large enough that handing
	// them over costs nothing per packet.
	batchRecords = 512
	batchBytes   = 256 << 10
)

// errShardsGaveUp ends a sharded analysis that could differ from the
// single-threaded one (a flood that reaches the table's bounds).
var errShardsGaveUp = errors.New("sharded analysis gave up")

// shards is what the shards of one analysis share.
type shards struct {
	n      int
	gaveUp atomic.Bool

	// The meeting at each sweep (meet).
	mu      sync.Mutex
	met     sync.Cond
	gen     int       // meetings held
	arrived int       // shards at the current one
	sum     tableSize // of the shards arrived
	last    tableSize // the sum at the last meeting
}

// tableSize is what a shard's flow table holds, for the meetings.
type tableSize struct {
	live, halfOpen, keptEvicted int
}

// meet waits for all shards to reach the current sweep, each with its
// table's size, and returns the sum; ok is false once the sharded
// analysis gave up.
func (sh *shards) meet(ts tableSize) (sum tableSize, ok bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	gen := sh.gen
	sh.sum.live += ts.live
	sh.sum.halfOpen += ts.halfOpen
	sh.sum.keptEvicted += ts.keptEvicted
	if sh.arrived++; sh.arrived == sh.n {
		sh.last, sh.sum, sh.arrived = sh.sum, tableSize{}, 0
		sh.gen++
		sh.met.Broadcast()
	}
	for sh.gen == gen && !sh.gaveUp.Load() {
		sh.met.Wait()
	}
	return sh.last, !sh.gaveUp.Load()
}

// giveUp ends the sharded analysis.
func (sh *shards) giveUp() {
	sh.mu.Lock()
	sh.gaveUp.Store(true)
	sh.met.Broadcast()
	sh.mu.Unlock()
}

// exact tells whether a table of the total size ts, which grows by at
// most sweepEvery conversations until the next sweep, evicts nothing but
// what each shard decides alone (idle conversations), and whether the
// report keeps every evicted session it would have kept.
func exact(ts tableSize, t *tracker) bool {
	return ts.live+sweepEvery < t.maxFlows && ts.halfOpen+sweepEvery <= t.maxHalf && ts.keptEvicted <= MaxKeptEvicted
}

// noteOpened lists frame as the opener of a TCP or UDP conversation of
// t's shard (the stream numbers are the ranks of these frames).
func (t *tracker) noteOpened(frame uint64, proto uint8) {
	switch proto {
	case decode.ProtoTCP:
		t.opened[0].add(frame)
	case decode.ProtoUDP:
		t.opened[1].add(frame)
	}
}

// frameList is an increasing list of frame numbers, stored as varint
// deltas: a shard lists the frame of every conversation it opened in a
// byte or two each.
type frameList struct {
	b    []byte
	last uint64
}

func (l *frameList) add(frame uint64) {
	l.b = binary.AppendUvarint(l.b, frame-l.last)
	l.last = frame
}

// frameCursor reads a frameList in order.
type frameCursor struct {
	b     []byte
	frame uint64 // the next frame; ok is false past the end
	ok    bool
	n     int // frames before it
}

func (c *frameCursor) next() {
	d, k := binary.Uvarint(c.b)
	if k <= 0 {
		c.ok = false
		return
	}
	c.b, c.frame, c.ok = c.b[k:], c.frame+d, true
}

// countBefore advances c past the frames before f and returns how many
// frames of the list are before f; f never decreases from call to call.
func (c *frameCursor) countBefore(f uint64) int {
	for c.ok && c.frame < f {
		c.n++
		c.next()
	}
	return c.n
}

// shardOf returns the shard of p's conversation among n.
func shardOf(p *decode.Packet, n int) int {
	if !p.HasTransport {
		return 0 // only counted (tracker.add): any shard does
	}
	k := keyFor(p)
	h := k.lo.hi ^ k.lo.lo*0x9e3779b97f4a7c15 ^ k.hi.hi*0xc2b2ae3d27d4eb4f ^ k.hi.lo*0x165667b19e3779f9 ^
		uint64(k.lop)<<32 ^ uint64(k.hip)<<16 ^ uint64(k.proto)
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return int(h % uint64(n))
}

// batch is a run of records in capture order.
type batch struct {
	seq   int
	infos []capfile.FrameInfo
	data  [][]byte
	pkts  []decode.Packet
	to    []int8 // the shard that tracks each record; -1: none
	holds []capfile.Hold
	bytes int

	decoded chan struct{} // closed once pkts and to are filled
	left    atomic.Int32  // shards that have not tracked it yet
}

// shard is one goroutine's part of a sharded analysis.
type shard struct {
	id  int
	t   *tracker
	dec *decode.Decoder
	fs  frameStats
	in  chan *batch
}

// work decodes the batches that are this shard's turn and tracks its
// conversations' packets of every batch; a batch all shards are done
// with goes back to free.
func (s *shard) work(sh *shards, free chan<- *batch) {
	t := s.t
	for b := range s.in {
		if b.seq%sh.n == s.id {
			s.decode(b, sh.n)
			close(b.decoded)
		}
		<-b.decoded
		if !sh.gaveUp.Load() {
			id := int8(s.id)
			for i, to := range b.to {
				if to < 0 {
					continue
				}
				// As tracker.add, with every shard's packets on the
				// clock and the sweeps decided together.
				t.clock(b.infos[i].Time)
				if t.packets%sweepEvery == 0 && !s.sweep(sh) {
					break
				}
				if to == id {
					t.track(&b.pkts[i])
				}
			}
		}
		if b.left.Add(-1) == 0 {
			for _, h := range b.holds {
				h.Release()
			}
			clear(b.holds)
			clear(b.data)
			b.holds, b.infos, b.data, b.bytes = b.holds[:0], b.infos[:0], b.data[:0], 0
			free <- b
		}
	}
}

// sweep meets the other shards at a sweep and evicts this shard's idle
// conversations if their tables together exceed idleFloor; it gives up
// the sharded analysis, and returns false, when a bound of the table may
// be reached before the next sweep.
func (s *shard) sweep(sh *shards) bool {
	t := s.t
	sum, ok := sh.meet(tableSize{live: t.live(), halfOpen: t.lists[classHalfOpen].n, keptEvicted: t.keptEvicted})
	if !ok {
		return false
	}
	if !exact(sum, t) {
		sh.giveUp()
		return false
	}
	t.sweep(sum.live)
	return true
}

// decode decodes b's records and picks their shards.
func (s *shard) decode(b *batch, n int) {
	b.pkts = slices.Grow(b.pkts[:0], len(b.infos))[:len(b.infos)]
	b.to = slices.Grow(b.to[:0], len(b.infos))[:len(b.infos)]
	for i := range b.infos {
		info, p := &b.infos[i], &b.pkts[i]
		p.Frame, p.Time, p.CapLen, p.OrigLen = info.Frame, info.Time, info.CapLen, info.OrigLen
		if s.fs.count(p, s.dec.Decode(b.data[i], info.LinkType, p)) {
			b.to[i] = int8(shardOf(p, n))
		} else {
			b.to[i] = -1
		}
	}
}

// fileSharded is File on opts.Threads goroutines.
func fileSharded(path string, opts Options) (*Capture, error) {
	n := min(opts.Threads, maxThreads)
	src, err := capfile.OpenWith(path, capfile.Options{NoHash: opts.NoHash, Read: opts.Read, Held: heldFor(n)})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return runSharded(src, path, opts)
}

// maxThreads bounds Options.Threads (a shard number is an int8).
const maxThreads = 127

// runSharded is run on opts.Threads goroutines. It returns
// errShardsGaveUp, having read part of src, when the flow table may reach
// a bound that evicts across shards (exact), or when more evicted
// sessions would be kept than the report's cap.
func runSharded(src *capfile.Source, name string, opts Options) (*Capture, error) {
	n := min(opts.Threads, maxThreads)
	sh := &shards{n: n}
	sh.met.L = &sh.mu
	free := make(chan *batch, batchesFor(n))
	for range cap(free) {
		free <- &batch{}
	}
	ss := make([]*shard, n)
	var wg sync.WaitGroup
	for i := range ss {
		t := newTracker(opts)
		t.sh = sh
		if i == 0 && !exact(tableSize{}, t) {
			t.release()
			return nil, errShardsGaveUp // a table too small to shard
		}
		ss[i] = &shard{id: i, t: t, dec: decoders.Get().(*decode.Decoder), in: make(chan *batch, cap(free))}
		wg.Go(func() { ss[i].work(sh, free) })
	}
	c := &Capture{Path: name, Format: src.Format(), Compression: src.Compression()}
	var fr frames
	var b *batch
	var last capfile.Hold
	seq := 0
	send := func() {
		b.seq = seq
		seq++
		b.decoded = make(chan struct{})
		b.left.Store(int32(n))
		for _, s := range ss {
			s.in <- b
		}
		b = nil
	}
	for !sh.gaveUp.Load() && src.Next() {
		info := src.Info()
		fr.add(c, &info)
		if b == nil {
			b = <-free
			last = capfile.Hold{}
		}
		data := src.Data()
		if !last.Holds(src) {
			if h, ok := src.Hold(); ok {
				b.holds = append(b.holds, h)
				last = h
			} else {
				data = slices.Clone(data) // in the Source's own buffer
			}
		}
		b.infos = append(b.infos, info)
		b.data = append(b.data, data)
		b.bytes += len(data)
		if len(b.infos) == batchRecords || b.bytes >= batchBytes {
			send()
		}
	}
	if b != nil {
		send()
	}
	for _, s := range ss {
		close(s.in)
	}
	wg.Wait()
	var fs frameStats
	for _, s := range ss {
		fs.merge(&s.fs)
		decoders.Put(s.dec)
	}
	t := mergeShards(ss)
	if sh.gaveUp.Load() || t == nil {
		return nil, errShardsGaveUp
	}
	return fr.end(c, src, &fs, t)
}

// batchesFor returns the number of batches n shards keep in flight.
func batchesFor(n int) int { return 2*n + 2 }

// heldFor returns the chunks of input (capfile.Options.Held) the batches
// of n shards hold at most: each batch holds at most batchBytes of
// records, in at most two chunks, and consecutive batches share chunks.
func heldFor(n int) int { return batchesFor(n)*batchBytes/(1<<20) + 3 }

// mergeShards retires the flows of every shard and gathers their
// sessions and counters in the first shard's tracker, with the
// tcp.stream and udp.stream numbers of the single-threaded analysis. It
// returns nil, having released the trackers, when the shards gave up or
// the sessions evicted at the end would exceed the report's cap.
func mergeShards(ss []*shard) *tracker {
	t := ss[0].t
	defer func() {
		for _, s := range ss[1:] {
			s.t.release()
		}
	}()
	if t.sh.gaveUp.Load() {
		t.release()
		return nil
	}
	// Once any shard evicted, the flows left in every table are retired
	// as evicted (tracker.retireAll).
	var evicted uint64
	for _, s := range ss {
		evicted += s.t.evicted
	}
	kept := 0
	for _, s := range ss {
		s.t.retireAll(evicted > 0)
		kept += s.t.keptEvicted
	}
	if kept > MaxKeptEvicted {
		t.release()
		return nil // the single-threaded analysis drops some of them
	}
	for _, s := range ss[1:] {
		o := s.t
		t.done = append(t.done, o.done...)
		t.streams += o.streams
		t.ustreams += o.ustreams
		t.dropped += o.dropped
		t.droppedTCP.Add(o.droppedTCP)
		t.idleEvicted += o.idleEvicted
		t.keptEvicted += o.keptEvicted
		t.overCap += o.overCap
	}
	t.evicted = evicted
	// Every shard counted every packet: the clock is the same in all.
	// The stream numbers are the ranks of the opening frames.
	slices.SortFunc(t.done, func(a, b retired) int { return cmp.Compare(a.s.Serial, b.s.Serial) })
	var cur [2][]frameCursor
	for i := range cur {
		for _, s := range ss {
			c := frameCursor{b: s.t.opened[i].b}
			c.next()
			cur[i] = append(cur[i], c)
		}
	}
	for _, r := range t.done {
		s := r.s
		i := 0
		switch {
		case s.Proto == decode.ProtoTCP:
		case s.Proto == decode.ProtoUDP && s.Stream >= 0:
			i = 1
		default:
			continue
		}
		rank := 0
		for k := range cur[i] {
			rank += cur[i][k].countBefore(s.Serial)
		}
		s.Stream = rank
	}
	t.sh = nil
	return t
}
