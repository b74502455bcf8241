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
// (domain-reference.md §1). A zero nextseq or maxseqtobeacked means
// "unknown", exactly as there.
type tcpHalf struct {
	baseSet bool
	base    uint32 // base sequence number for relative values

	nextseq      uint32 // highest seq+len seen
	nextseqFrame uint64
	nextseqTime  int64

	maxseqtobeacked uint32 // highest contiguous seq seen

	lastack     uint32 // ack of the previous segment in this direction
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
	lastLostFrame uint64 // last frame flagged lost_segment in this direction
	lastLostFrom  uint32 // nextseq before that frame (start of the hole)
	lastLostTo    uint32 // seq of that frame (end of the hole)
	curRun        int    // index in Session.Requests of the open dup-ACK run, -1 none
	curRunOrig    uint64 // lastnondupack the open run belongs to
	open          []int  // indexes of runs asked in this direction not yet answered
	openBuf       [4]int // open's first room, so that few runs need no allocation
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
	s, ack, window := p.Seq, p.Ack, p.Window
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
		if fwd.nextseq != 0 && seq.Value(s).GreaterThan(seq.Value(fwd.nextseq)) && flags&decode.FlagRST == 0 {
			ta |= aLostPacket
			fwd.lastLostFrame = p.Frame
			fwd.lastLostFrom = fwd.nextseq
			fwd.lastLostTo = s
		}
		// tcp.analysis.keep_alive: 0 or 1 byte one before nextseq.
		if (seglen == 0 || seglen == 1) && s == fwd.nextseq-1 && flags&synFinRst == 0 {
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
			if s+seglen == rev.lastack+uint32(rev.window)<<uint(shift) {
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
	if rev.maxseqtobeacked != 0 && seq.Value(ack).GreaterThan(seq.Value(rev.maxseqtobeacked)) && flags&decode.FlagACK != 0 {
		if seq.Value(rev.maxseqtobeacked).LessThan(seq.Value(rev.nextseq)) {
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
			notAdvanced := fwd.nextseq != 0 && seq.Value(s).LessThan(seq.Value(fwd.nextseq))
			if ta&aKeepAlive != 0 {
				return
			}
			// Data following a 1-byte zero-window probe adds new data.
			if seglen > 1 && fwd.nextseq-1 == s {
				notAdvanced = false
			}
			// tcp.analysis.spurious_retransmission: all of it was ACKed.
			if seglen > 0 && rev.lastack != 0 && seq.Value(s+seglen).LessThanEq(seq.Value(rev.lastack)) {
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
			extra := uint32(0)
			if flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
				extra = 1
			}
			if notAdvanced && since(p.Time, fwd.nextseqTime) < thres && fwd.nextseq != s+seglen+extra {
				ta |= aOutOfOrder
				return
			}
			if notAdvanced {
				ta |= aRetransmission
			}
		}()
	}

	next := s + seglen
	if flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
		next++
	}
	if seq.Value(next).GreaterThan(seq.Value(fwd.nextseq)) || fwd.nextseq == 0 {
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
