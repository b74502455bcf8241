package analyze

import (
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// Who sent each packet (docs/domain.md, "Telling a TCP stack in the path
// from an endpoint"): a cTCP endpoint is not a TCP stack, it never
// retransmits and does not do SACK, so duplicate ACKs, SACK blocks and resent bytes come from a TCP stack in the path
// answering in its name. observePeer gathers, per direction of a TCP
// flow, the facts that tell the two apart (Session.Peer), the duplicate
// ACKs' own fingerprint (DupAckRun.SACK, TS, TTL, IPIDOutside), the frame
// that carried the bytes a run asks for (DupAckRun.RequestedFrame) and the
// three-way handshake (Session.Handshake). It costs a few comparisons per
// packet and allocates nothing per packet.
//
// The words used below:
//   - a data segment carries payload (PayloadLen > 0), whatever its flags
//     (a SYN carrying data counts as a SYN only);
//   - a pure ACK has the ACK flag, no payload and none of SYN, FIN, RST;
//     duplicate ACKs are pure ACKs, so AckTTL and AckTS/AckNoTS include
//     them (DupAckTTL has them alone);
//   - a SYN or SYN-ACK gives SYNTTL and the SYN options (the direction's
//     first) and counts as neither; a FIN or RST without payload counts
//     only in DF/NoDF; SACKAcks counts every segment with ACK set and SACK
//     blocks, data or not;
//   - only the packets the TCP analysis looks at count: not those quoted in
//     ICMP errors, nor segments shorter than their own header.
//
// IPv4 identification. A sender numbers its packets from a counter: Linux
// one per connection, for data and ACKs alike; Windows and most others one
// per host, so other traffic between two of a connection's packets makes
// the numbers jump a little. A device that sends in the endpoint's name
// uses its own counter. Per direction, the series is the last IP-ID of
// that direction's data segments, moved on by each pure ACK that continues
// it: an ID continues the series when it lies in (last, last+IPIDWindow],
// modulo 2^16. A data segment always restarts the series at its own ID
// (IPIDData counts those that continued it); a pure ACK that does not
// continue it is "outside" (IPIDAckOutside, DupAckRun.IPIDOutside) and
// leaves it as it was. Before the direction's first data segment there is
// no series and no ACK is judged. IDs of 0 with DF set say nothing (RFC
// 6864 lets such packets carry any ID, and many stacks send 0): those
// packets are left out of the series altogether. Limits: a per-host
// counter that moved by more than IPIDWindow between two packets (a busy
// host), a counter written in the wrong byte order (steps of 256) and
// packets merged by GRO (one ID for many) break a series that is in fact
// one sender's; the first data segment after such a break is not counted
// in IPIDData, and pure ACKs before it count as outside.

// segRingSize is how many of a direction's latest data segments are
// remembered for DupAckRun.RequestedFrame. A power of two.
const segRingSize = 64

// segRec is one remembered data segment: its raw sequence number, payload
// length and frame.
type segRec struct {
	seq, len uint32
	frame    uint64
}

// segRing holds the last segRingSize data segments of one direction; n
// counts the segments ever recorded (the latest is rec[(n-1)%size]).
type segRing struct {
	n   uint64
	rec [segRingSize]segRec
}

// ringStore hands out the ring pairs of a tracker's flows. A byte the
// other side has acknowledged is never requested again (a duplicate ACK
// repeats the asking side's latest ACK), so a direction's ring is emptied
// when the other side acknowledges everything it sent, and the flow gives
// its pair back when both are empty, or when it is retired; it takes one
// again with its next data segment. An analysis thus holds about as many
// pairs as it has flows with bytes in flight at once (2 KiB each), not
// one per flow, and a SYN flood none. Pairs are carved from blocks (see
// carve), and the store lives in the tracker's spare and goes with it to
// the next analysis (up to maxSpareFlows pairs): few allocations, and
// none once a reused table's store has enough.
type ringStore struct {
	free  []*[2]segRing // given back, to be used again
	block [][2]segRing  // the block new pairs are carved from
}

// get returns a pair of empty rings.
func (rs *ringStore) get() *[2]segRing {
	n := len(rs.free)
	if n == 0 {
		return &carve(&rs.block, [2]segRing{}, 1, 32)[0]
	}
	r := rs.free[n-1]
	rs.free[n-1] = nil
	rs.free = rs.free[:n-1]
	r[0].n, r[1].n = 0, 0
	return r
}

// put gives a pair back.
func (rs *ringStore) put(r *[2]segRing) { rs.free = append(rs.free, r) }

// trim keeps at most n pairs for the next analysis.
func (rs *ringStore) trim(n int) {
	if len(rs.free) > n {
		clear(rs.free[n:])
		rs.free = rs.free[:n]
	}
}

// peerHalf is the fingerprint state of one direction of a TCP flow.
type peerHalf struct {
	synSeen bool   // the direction's SYN (or SYN-ACK) was seen
	idSet   bool   // lastID holds a series
	lastID  uint16 // the IP-ID series' last value (see above)
}

// peerConn is the fingerprint state of a TCP flow, part of its tcpConn
// and indexed by flow direction as tcpConn.half is.
type peerConn struct {
	half      [2]peerHalf
	rings     *[2]segRing // nil until the flow's first data segment
	synDir    Dir         // direction of Handshake.SYNFrame, when set
	synAckDir Dir         // direction of Handshake.SYNACKFrame, when set
	hsDone    bool        // Handshake.ACKFrame is set
}

// release gives the flow's rings back to rs; the flow must get no more
// packets.
func (pc *peerConn) release(rs *ringStore) {
	if pc.rings != nil {
		rs.put(pc.rings)
		pc.rings = nil
	}
}

// record remembers a data segment sent in direction d, taking the flow's
// rings from rs on its first.
func (pc *peerConn) record(rs *ringStore, d Dir, sq, n uint32, frame uint64) {
	if pc.rings == nil {
		pc.rings = rs.get()
	}
	r := &pc.rings[d]
	r.rec[r.n&(segRingSize-1)] = segRec{seq: sq, len: n, frame: frame}
	r.n++
}

// acked empties the ring of direction d once the other side acknowledged
// (ack) everything d sent (nextseq, 0 when unknown), and gives the pair
// back to rs when both rings are empty.
func (pc *peerConn) acked(rs *ringStore, d Dir, ack uint32, nextseq seq.Value) {
	r := pc.rings
	if nextseq == 0 || seq.Value(ack).LessThan(nextseq) {
		return
	}
	r[d].n = 0
	if r[d.Other()].n == 0 {
		pc.release(rs)
	}
}

// carrier returns the frame of the latest of the data segments sent in
// direction d and still remembered that carried byte ack (seq <= ack <
// seq+len), or 0 when none of them did: the byte was never seen, or was
// sent more than segRingSize data segments earlier, or before the other
// side acknowledged everything d had sent (a duplicate ACK whose number
// went back below such an ACK, which only odd captures show).
func (pc *peerConn) carrier(d Dir, ack uint32) uint64 {
	if pc.rings == nil {
		return 0
	}
	r := &pc.rings[d]
	a := seq.Value(ack)
	for i := uint64(1); i <= min(r.n, segRingSize); i++ {
		e := &r.rec[(r.n-i)&(segRingSize-1)]
		if a.InWindow(seq.Value(e.seq), seq.Size(e.len)) {
			return e.frame
		}
	}
	return 0
}

// ipidContinues reports whether id continues a series whose last value is
// last: it lies in (last, last+IPIDWindow], modulo 2^16.
func ipidContinues(id, last uint16) bool {
	step := id - last
	return step != 0 && step <= IPIDWindow
}

// handshake follows the three-way handshake until the client's ACK
// completes it. The client is the side that sent the SYN (or, without
// one, the side that did not send the SYN-ACK), as orient decides, so
// the frames are right however the flow's directions are oriented. When
// the SYN or the SYN-ACK was sent more than once, the handshake is the
// chain the ACK completed: the client's last SYN before the SYN-ACK, the
// headend's last SYN-ACK before the ACK (a SYN sent after a SYN-ACK
// needs a new SYN-ACK), so that the time split measures one round trip
// each way, not a retransmission timeout. The ACK is the client's first
// segment after the SYN-ACK with ACK set and neither SYN nor RST, whether
// or not it carries data.
func (pc *peerConn) handshake(hs *Handshake, p *decode.Packet, d Dir) {
	switch p.Flags & (decode.FlagSYN | decode.FlagACK | decode.FlagRST) {
	case decode.FlagSYN:
		if hs.SYNFrame == 0 || d == pc.synDir {
			hs.SYNFrame, hs.SYNTime, pc.synDir = p.Frame, p.Time, d
			hs.SYNACKFrame, hs.SYNACKTime = 0, 0
		}
	case decode.FlagSYN | decode.FlagACK:
		if hs.SYNFrame != 0 && d != pc.synDir || hs.SYNFrame == 0 && (hs.SYNACKFrame == 0 || d == pc.synAckDir) {
			hs.SYNACKFrame, hs.SYNACKTime, pc.synAckDir = p.Frame, p.Time, d
		}
	case decode.FlagACK:
		if hs.SYNACKFrame != 0 && d != pc.synAckDir {
			hs.ACKFrame, hs.ACKTime = p.Frame, p.Time
			pc.hsDone = true
		}
	}
}

// observePeer records the fingerprint of segment p sent in flow direction
// d (p analyzed already, with flags ta; trackRuns has run, so a duplicate
// ACK is in Session.Requests[half[d].curRun] unless runs were capped).
func (t *tracker) observePeer(f *flow, p *decode.Packet, d Dir, ta uint16, seglen uint32) {
	s := f.sess
	c := f.tcp
	pc := &c.peer
	h := &pc.half[d]
	ps := &s.Peer[d]
	flags := p.Flags

	// IP-ID facts are IPv4's, and not those of DF packets with ID 0.
	idOK := false
	if p.IPVersion == 4 {
		if p.DF {
			ps.DF++
		} else {
			ps.NoDF++
		}
		idOK = !p.DF || p.IPID != 0
	}
	if pc.rings != nil && flags&decode.FlagACK != 0 {
		pc.acked(&t.spare.rings, d.Other(), p.Ack, c.half[d.Other()].nextseq)
	}
	if flags&decode.FlagACK != 0 && p.SACKBlocks > 0 {
		ps.SACKAcks++
		if ps.SACKFrame == 0 {
			ps.SACKFrame = p.Frame
		}
	}

	if !pc.hsDone {
		pc.handshake(&s.Handshake, p, d)
	}
	if flags&decode.FlagSYN != 0 {
		if !h.synSeen {
			h.synSeen = true
			ps.SYNTTL = p.TTL
			ps.SYNMSS, ps.SYNSACKPerm, ps.SYNTS, ps.SYNWScale = p.MSS, p.SACKPermitted, p.HasTS, p.WScale
		}
		return
	}

	if seglen > 0 {
		ps.DataTTL.Add(p.TTL)
		if p.HasTS {
			ps.DataTS++
		} else {
			ps.DataNoTS++
		}
		if idOK {
			if h.idSet && ipidContinues(p.IPID, h.lastID) {
				ps.IPIDData++
			}
			h.lastID, h.idSet = p.IPID, true
		}
		pc.record(&t.spare.rings, d, p.Seq, seglen, p.Frame)
		return
	}
	dup := ta&aDuplicateAck != 0
	if flags&(decode.FlagFIN|decode.FlagRST) != 0 || flags&decode.FlagACK == 0 && !dup {
		return // not a pure ACK
	}
	ps.AckTTL.Add(p.TTL)
	if p.HasTS {
		ps.AckTS++
	} else {
		ps.AckNoTS++
	}
	outside := false
	if idOK && h.idSet {
		if ipidContinues(p.IPID, h.lastID) {
			h.lastID = p.IPID
		} else {
			outside = true
			ps.IPIDAckOutside++
			if ps.IPIDAckOutsideFrame == 0 {
				ps.IPIDAckOutsideFrame = p.Frame
			}
		}
	}
	if !dup {
		return
	}
	ps.DupAckTTL.Add(p.TTL)
	i := c.half[d].curRun
	if i < 0 {
		return // beyond MaxRequests
	}
	r := &s.Requests[i]
	if r.Count == 1 {
		// The run starts here: which frame carried the byte it asks for?
		r.RequestedFrame = pc.carrier(d.Other(), r.AckRaw)
	}
	if p.SACKBlocks > 0 {
		r.SACK++
	}
	if p.HasTS {
		r.TS++
	}
	r.TTL.Add(p.TTL)
	if outside {
		r.IPIDOutside++
	}
}
