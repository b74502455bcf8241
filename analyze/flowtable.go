package analyze

import (
	"encoding/binary"
	"net/netip"
	"sync"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// The flow table holds the conversations of one analysis: it finds a
// packet's flow by its endpoints, keeps each flow in the LRU list of its
// class, says which flows to evict when it is full or they idle, and
// provides the memory flows and sessions come from (flows and maps reused
// across analyses, shared blocks for small slices). It reads nothing of a
// packet but its endpoints and time: the tracker (tracker.go, tcp.go)
// tells it a flow's class and finishes the flows it evicts. Its API:
//
//	lookup, insert, mark, unlink          find, add, touch, remove a flow
//	overflow, coldest, idle, overHalfOpen which flows to evict
//	allocTCP, alloc                       a flow, reused or new
//	carve, keep                           room in shared blocks
//	release                               the table to the next analysis
//
// Of a flow it uses a, b, proto and the LRU fields (prev, next, lastSeen,
// class, linked); to reuse it, also tcp, store and reset.

// flowKey identifies a conversation independent of direction: the two
// endpoints in a fixed order (lower address first, then lower port) and
// the protocol. Addresses are held as the two big-endian halves of their
// 16-byte form, so that ordering them is two integer comparisons. It holds
// no pointers, so a large flow table costs the garbage collector nothing
// to scan.
type flowKey struct {
	lo, hi   addr128
	lop, hip uint16
	proto    uint8
	v4       bool
}

// addr128 is an address's 16-byte form (netip.Addr.As16) as two
// big-endian halves: comparing them in order compares the bytes.
type addr128 struct{ hi, lo uint64 }

func addrKey(a netip.Addr) addr128 {
	if a.Is4() {
		// ::ffff:a.b.c.d, without the copies of As16.
		b := a.As4()
		return addr128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return addr128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// after reports whether x sorts after y, byte by byte.
func (x addr128) after(y addr128) bool { return x.hi > y.hi || x.hi == y.hi && x.lo > y.lo }

// keyFor returns the key of p's conversation.
func keyFor(p *decode.Packet) flowKey {
	return makeKey(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto)
}

func makeKey(a netip.Addr, ap uint16, b netip.Addr, bp uint16, proto uint8) flowKey {
	ka, kb := addrKey(a), addrKey(b)
	if ka.after(kb) || ka == kb && bp < ap {
		return flowKey{lo: kb, hi: ka, lop: bp, hip: ap, proto: proto, v4: a.Is4()}
	}
	return flowKey{lo: ka, hi: kb, lop: ap, hip: bp, proto: proto, v4: a.Is4()}
}

// holds reports whether p belongs to f's conversation (in either
// direction). It compares the endpoints as the flow key does, so a flow
// that holds p is the one p's key leads to while f is in the table.
func (f *flow) holds(p *decode.Packet) bool {
	if f.proto != p.Proto {
		return false
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	return f.a == src && f.b == dst || f.a == dst && f.b == src
}

// Flow classes, each with its own LRU list and idle timeout.
const (
	classHalfOpen = iota // TCP that never got past SYN and SYN/ACK
	classClosed          // TCP that saw a RST, or a FIN in both directions
	classOpen            // everything else: established TCP, UDP, ESP
	nclasses
)

// Idle timeouts in capture time, per flow class (see idleFloor). They are
// a stateful firewall's: embryonic connections 30 s, closed connections
// 60 s, anything else 10 minutes.
var idleTimeout = [nclasses]int64{
	classHalfOpen: 30e9,
	classClosed:   60e9,
	classOpen:     600e9,
}

// idleFloor is the number of conversations the flow table may hold before
// idle conversations are evicted: a sweep that finds more evicts every
// idle one. Below it nothing is evicted, so that a
// capture of ordinary size is analyzed exactly as Wireshark does (a flow
// idle for hours that resumes stays one tcp.stream).
const idleFloor = 10_000

// sweepEvery is how many packets pass between two idle sweeps.
const sweepEvery = 4096

// MaxHalfOpen bounds the half-open TCP conversations in the flow table
// (fewer when Options.MaxFlows is smaller): beyond it the least recently
// active one is evicted, as a firewall limits embryonic connections. A
// SYN flood therefore cannot fill the table and push out real sessions.
// Each holds a whole TCP flow (about 2.6 KB), so the bound also sets a
// flood's memory: 12,288 keeps a 1M-flow flood within 64 MiB (16,384
// did not; docs/memory.md).
const MaxHalfOpen = 12_288

// lru is a doubly linked list of flows, least recently active first.
type lru struct {
	head, tail *flow
	n          int
}

func (l *lru) push(f *flow) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
	l.n++
}

func (l *lru) remove(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
	l.n--
}

// flowTable is the flow table of one analysis.
type flowTable struct {
	maxFlows int // bound on the conversations (Options.MaxFlows)
	maxHalf  int // bound on the half-open ones

	tcp    map[flowKey]*flow
	udp    map[flowKey]*flow // every UDP conversation, for udp.stream numbering
	esp    map[flowKey]*flow
	recent *[recentSlots]*flow // flows by recentSlot, for lookup; linked flows only
	lists  [nclasses]lru       // every flow in the maps, by class
	peak   int                 // the most flows the table held at once
	spare  *spare              // the maps and flows came from it; nil once released

	// Blocks that sessions kept in the report (keep), sessions' first
	// duplicate-ACK run and a run's first frames (carve) are cut from.
	kept       []Session
	runBlock   []DupAckRun
	frameBlock []uint64
}

// spare is what an analysis leaves to the next one through spares, so
// that analyzing many small files does not set up a flow table for each:
// the flow maps, emptied but keeping their room, the cache of recent
// flows, the array of the retired list, and flows, reset, to be used
// again.
type spare struct {
	tcp, udp, esp map[flowKey]*flow
	recent        [recentSlots]*flow // all nil
	done          []retired          // the tracker's (see tracker.release)
	tcpFlows      []*flow            // with their tcpConn
	flows         []*flow            // UDP and ESP
	rings         ringStore          // TCP flows' recent data segments (peer.go)
}

var spares = sync.Pool{New: func() any { return &spare{} }}

// maxSpareFlows bounds what a spare keeps: the maps of a table that held
// more flows are not kept (a map keeps the room of its largest size), and
// at most this many flows are kept for reuse.
const maxSpareFlows = 512

// init sets up ft on the maps and flows of sp, for at most maxFlows
// conversations (DefaultMaxFlows if maxFlows <= 0).
func (ft *flowTable) init(maxFlows int, sp *spare) {
	if sp.tcp == nil {
		sp.tcp = make(map[flowKey]*flow)
		sp.udp = make(map[flowKey]*flow)
		sp.esp = make(map[flowKey]*flow)
	}
	ft.tcp, ft.udp, ft.esp = sp.tcp, sp.udp, sp.esp
	ft.recent, ft.spare = &sp.recent, sp
	ft.maxFlows = maxFlows
	if ft.maxFlows <= 0 {
		ft.maxFlows = DefaultMaxFlows
	}
	ft.maxHalf = min(MaxHalfOpen, max(1, ft.maxFlows/2))
}

// release hands the maps and flows to the next analysis (see spare): the
// table must not be used any more, but peak stays readable. Flows whose
// session is in the report are not reused.
func (ft *flowTable) release() {
	sp := ft.spare
	if sp == nil {
		return
	}
	ft.spare, ft.recent = nil, nil
	clear(sp.recent[:])
	sp.rings.trim(maxSpareFlows)
	sp.tcp, sp.udp, sp.esp = nil, nil, nil
	if ft.peak <= maxSpareFlows {
		clear(ft.tcp)
		clear(ft.udp)
		clear(ft.esp)
		sp.tcp, sp.udp, sp.esp = ft.tcp, ft.udp, ft.esp
	}
	ft.tcp, ft.udp, ft.esp = nil, nil, nil
	for c := range ft.lists {
		f := ft.lists[c].head
		for f != nil && len(sp.tcpFlows)+len(sp.flows) < maxSpareFlows {
			next := f.next
			if f.tcp != nil && f.store == nil { // its session is in the report
				f = next
				continue
			}
			f.reset()
			if f.tcp != nil {
				sp.tcpFlows = append(sp.tcpFlows, f)
			} else {
				sp.flows = append(sp.flows, f)
			}
			f = next
		}
		ft.lists[c] = lru{}
	}
	spares.Put(sp)
}

// pop takes the last flow of a spare's list, nil if there is none.
func pop(l *[]*flow) *flow {
	n := len(*l)
	if n == 0 {
		return nil
	}
	f := (*l)[n-1]
	(*l)[n-1] = nil
	*l = (*l)[:n-1]
	return f
}

// tcpFlow allocates a TCP flow, its connection state and its session's
// storage together.
type tcpFlow struct {
	flow
	conn tcpConn
	sess Session
}

// allocTCP returns a TCP flow, with its connection state and session
// storage, reused from an earlier analysis if there is one.
func (ft *flowTable) allocTCP() *flow {
	if f := pop(&ft.spare.tcpFlows); f != nil {
		return f
	}
	tf := &tcpFlow{conn: tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}}}
	f := &tf.flow
	f.tcp, f.store = &tf.conn, &tf.sess
	return f
}

// alloc returns a UDP or ESP flow, reused if there is one.
func (ft *flowTable) alloc() *flow {
	if f := pop(&ft.spare.flows); f != nil {
		return f
	}
	return new(flow)
}

// live returns the number of conversations in the flow table.
func (ft *flowTable) live() int { return ft.lists[0].n + ft.lists[1].n + ft.lists[2].n }

// insert puts f, new, into m, the table of p's protocol, under p's key,
// and into the LRU list of class.
func (ft *flowTable) insert(m map[flowKey]*flow, f *flow, p *decode.Packet, class uint8, now int64) {
	m[keyFor(p)] = f
	f.proto = p.Proto
	f.lastSeen = now
	f.class = class
	f.linked = true
	ft.lists[class].push(f)
	ft.recent[f.slot()] = f
	ft.peak = max(ft.peak, ft.live())
}

// recentSlots is the size of the flow table's cache of recent flows.
const recentSlots = 1024

// recentSlot returns the slot of the cache of recent flows that a
// conversation between ports a and b uses: the same in both directions.
func recentSlot(a, b uint16) uint16 { return (a ^ b) % recentSlots }

// slot returns f's slot in the cache of recent flows.
func (f *flow) slot() uint16 { return recentSlot(f.a.Port(), f.b.Port()) }

// lookup returns the flow of p's conversation in m, the table of p's
// protocol, or nil. It looks first in the cache of recent flows, one flow
// per slot, the last one looked up or added there: consecutive packets of
// one conversation (most packets of real traffic), and most packets of a
// few hundred interleaved ones, find their flow there without building the
// key.
func (ft *flowTable) lookup(m map[flowKey]*flow, p *decode.Packet) *flow {
	slot := &ft.recent[recentSlot(p.SrcPort, p.DstPort)]
	if f := *slot; f != nil && f.holds(p) {
		return f
	}
	f := m[keyFor(p)]
	if f != nil {
		*slot = f
	}
	return f
}

// mark makes f the most recently active flow of class, its class now,
// active at time now or later.
func (ft *flowTable) mark(f *flow, now int64, class uint8) {
	if now > f.lastSeen {
		f.lastSeen = now
	}
	l := &ft.lists[f.class]
	if class == f.class && l.tail == f {
		return
	}
	l.remove(f)
	f.class = class
	ft.lists[class].push(f)
}

// unlink takes f out of the table: its LRU list and, if it is still the
// conversation its key leads to, its map.
func (ft *flowTable) unlink(f *flow) {
	if !f.linked {
		return
	}
	ft.lists[f.class].remove(f)
	f.linked = false
	if slot := &ft.recent[f.slot()]; *slot == f {
		*slot = nil
	}
	m := ft.tcp
	switch f.proto {
	case decode.ProtoUDP:
		m = ft.udp
	case decode.ProtoESP:
		m = ft.esp
	}
	k := makeKey(f.a.Addr(), f.a.Port(), f.b.Addr(), f.b.Port(), f.proto)
	if m[k] == f {
		delete(m, k)
	}
}

// overflow returns the number of flows to evict before a new conversation
// enters the table: none while it has room, a tenth of its bound when it
// is full (see coldest).
func (ft *flowTable) overflow() int {
	if ft.live() < ft.maxFlows {
		return 0
	}
	return max(1, ft.maxFlows/10)
}

// coldest returns the flow to evict first from a full table: the least
// recently active half-open conversation, else closed one, else open one;
// nil if the table is empty.
func (ft *flowTable) coldest() *flow {
	for c := range ft.lists {
		if f := ft.lists[c].head; f != nil {
			return f
		}
	}
	return nil
}

// idle returns a flow that has been idle for longer than its class's
// timeout at time now, in capture time; nil if there is none. Each list
// is ordered by activity, and a flow's activity time is the capture's
// clock (the latest packet time so far, never earlier than a flow's
// before it in the list), so only its head is looked at.
func (ft *flowTable) idle(now int64) *flow {
	for c := range ft.lists {
		if f := ft.lists[c].head; f != nil && now-f.lastSeen > idleTimeout[c] {
			return f
		}
	}
	return nil
}

// overHalfOpen returns the least recently active half-open conversation
// when the table holds more than its bound of them, else nil.
func (ft *flowTable) overHalfOpen() *flow {
	if h := &ft.lists[classHalfOpen]; h.n > ft.maxHalf {
		return h.head
	}
	return nil
}

// keep copies a session built in a flow's storage into the table's
// blocks of sessions, where it stays for the report. Only sessions the
// report lists are copied, so a block holds nothing but them; blocks grow
// from 4 to 64 sessions, so a small capture does not pay for 64.
func (ft *flowTable) keep(s *Session) *Session {
	if len(ft.kept) == cap(ft.kept) {
		ft.kept = make([]Session, 0, min(64, max(4, 2*cap(ft.kept))))
	}
	ft.kept = append(ft.kept, *s)
	return &ft.kept[len(ft.kept)-1]
}

// carve returns a slice holding v, of capacity n, from *block, starting a
// new block when it has no room (each twice the last, from 4n up to
// maxSize elements): the small slices of many sessions share a few
// allocations, and a small capture gets small blocks. Appending beyond n
// moves the slice out of the block, as append does.
func carve[T any](block *[]T, v T, n, maxSize int) []T {
	if cap(*block)-len(*block) < n {
		*block = make([]T, 0, min(maxSize, max(4*n, 2*cap(*block))))
	}
	i := len(*block)
	*block = append(*block, v)
	*block = (*block)[:i+n]
	return (*block)[i : i+1 : i+n]
}
