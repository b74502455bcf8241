package analyze

import (
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
// depends on every conversation in it. A sharded analysis therefore holds
// only while the capture opens no more conversations than the table takes
// without evicting any (shardLimit); past that it gives up and the file is
// analyzed again on one goroutine, so the report is the same either way.

const (
	// batchRecords and batchBytes bound a batch: small enough that the
	// shards work on many batches at once, large enough that handing
	// them over costs nothing per packet.
	batchRecords = 512
	batchBytes   = 256 << 10
)

// errShardsGaveUp ends a sharded analysis that met more conversations
// than shardLimit.
var errShardsGaveUp = errors.New("sharded analysis gave up")

// shardLimit returns the number of conversations a capture may open for
// a sharded analysis to equal the single-threaded one: no more than the
// table holds before its idle sweeps start, its half-open bound, and its
// bound.
func shardLimit(opts Options) int64 {
	maxFlows := opts.MaxFlows
	if maxFlows <= 0 {
		maxFlows = DefaultMaxFlows
	}
	return int64(min(idleFloor, MaxHalfOpen, max(1, maxFlows/2), maxFlows-1))
}

// shards is what the shards of one analysis share.
type shards struct {
	n       int
	limit   int64
	created atomic.Int64 // conversations opened so far, by all shards
	gaveUp  atomic.Bool
}

// opened counts a conversation that frame opened in t's shard, and gives
// up the sharded analysis past the limit.
func (sh *shards) opened(t *tracker, frame uint64, proto uint8) {
	switch proto {
	case decode.ProtoTCP:
		t.opened[0] = append(t.opened[0], frame)
	case decode.ProtoUDP:
		t.opened[1] = append(t.opened[1], frame)
	}
	if sh.created.Add(1) > sh.limit {
		sh.gaveUp.Store(true)
	}
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
	for b := range s.in {
		if b.seq%sh.n == s.id {
			s.decode(b, sh.n)
			close(b.decoded)
		}
		<-b.decoded
		if !sh.gaveUp.Load() {
			id := int8(s.id)
			for i, to := range b.to {
				if to == id {
					s.t.add(&b.pkts[i])
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
// errShardsGaveUp, having read part of src, when the capture opens more
// conversations than shardLimit.
func runSharded(src *capfile.Source, name string, opts Options) (*Capture, error) {
	n := min(opts.Threads, maxThreads)
	sh := &shards{n: n, limit: shardLimit(opts)}
	free := make(chan *batch, batchesFor(n))
	for range cap(free) {
		free <- &batch{}
	}
	ss := make([]*shard, n)
	var wg sync.WaitGroup
	for i := range ss {
		t := newTracker(opts)
		t.sh = sh
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
	if sh.gaveUp.Load() {
		for _, s := range ss {
			s.t.release()
		}
		return nil, errShardsGaveUp
	}
	return fr.end(c, src, &fs, mergeShards(ss))
}

// batchesFor returns the number of batches n shards keep in flight.
func batchesFor(n int) int { return 2*n + 2 }

// heldFor returns the chunks of input (capfile.Options.Held) the batches
// of n shards hold at most: each batch holds at most batchBytes of
// records, in at most two chunks, and consecutive batches share chunks.
func heldFor(n int) int { return batchesFor(n)*batchBytes/(1<<20) + 3 }

// mergeShards retires the flows of every shard and gathers their
// sessions and counters in the first shard's tracker, with the
// tcp.stream and udp.stream numbers of the single-threaded analysis.
func mergeShards(ss []*shard) *tracker {
	var opened [2][]uint64
	for _, s := range ss {
		s.t.retireAll()
		opened[0] = append(opened[0], s.t.opened[0]...)
		opened[1] = append(opened[1], s.t.opened[1]...)
	}
	slices.Sort(opened[0])
	slices.Sort(opened[1])
	t := ss[0].t
	for _, s := range ss[1:] {
		o := s.t
		t.done = append(t.done, o.done...)
		t.streams += o.streams
		t.ustreams += o.ustreams
		t.packets += o.packets
		t.end = max(t.end, o.end)
		o.release()
	}
	for _, r := range t.done {
		s := r.s
		var list []uint64
		switch {
		case s.Proto == decode.ProtoTCP:
			list = opened[0]
		case s.Proto == decode.ProtoUDP && s.Stream >= 0:
			list = opened[1]
		default:
			continue
		}
		i, _ := slices.BinarySearch(list, s.Serial)
		s.Stream = i
	}
	t.sh = nil
	return t
}
