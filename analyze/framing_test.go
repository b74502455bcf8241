package analyze

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/lab"
)

// frMsg is one cTCP message as a sender puts it in a segment: an ESP
// packet or UDP 500 + IKE, with Cisco's trailer.
type frMsg struct {
	b   []byte
	esp bool
	seq uint32 // ESP sequence number
}

// frMessages returns, from the lab's cTCP framer (client side), two IKE
// messages followed by n ESP packets (sequence numbers 1..n) of varied
// sizes, from 52 to about 1400 bytes before the trailer.
func frMessages(n int) []frMsg {
	f := lab.NewFramer(true)
	msgs := []frMsg{{b: f.IKE(300)}, {b: f.IKE(92)}}
	for i := range n {
		b, sq := f.ESP([]int{16, 1340, 200, 48, 700, 33}[i%6])
		msgs = append(msgs, frMsg{b: b, esp: true, seq: sq})
	}
	return msgs
}

// frESP returns n ESP messages of the same size (sequence numbers 1..n),
// each 100 bytes with its trailer.
func frESP(n int) []frMsg { return frESPFrom(lab.NewFramer(true), n) }

// frIKEESP returns an IKE message and n ESP messages (sequence numbers
// 1..n), each 100 bytes with its trailer, as a cTCP stream starts.
func frIKEESP(n int) []frMsg {
	f := lab.NewFramer(true)
	return append([]frMsg{{b: f.IKE(76)}}, frESPFrom(f, n)...)
}

func frESPFrom(f *lab.Framer, n int) []frMsg {
	var msgs []frMsg
	for range n {
		b, sq := f.ESP(48) // 8 + 16 (IV) + 48 + 12 (ICV) + 16 (trailer)
		msgs = append(msgs, frMsg{b: b, esp: true, seq: sq})
	}
	return msgs
}

func frStream(msgs []frMsg) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m.b...)
	}
	return b
}

func frLens(msgs []frMsg) []int {
	var n []int
	for _, m := range msgs {
		n = append(n, len(m.b))
	}
	return n
}

// frRig feeds the data segments of one direction (0) of a cTCP flow whose
// SYN was seen to the classifier and its framer, as the tracker does.
type frRig struct {
	f     *flow
	frame uint64
	isn   uint32
}

func newFrRig(isn uint32) *frRig {
	f := &flow{
		sess: &Session{Proto: decode.ProtoTCP},
		a:    netip.MustParseAddrPort("198.51.100.7:51234"),
		b:    netip.MustParseAddrPort("203.0.113.10:10000"),
		tcp:  &tcpConn{half: [2]tcpHalf{newTCPHalf(), newTCPHalf()}},
	}
	f.cls.init()
	f.cls.synBy = 0
	f.tcp.half[0].base, f.tcp.half[0].baseSet = seq.Value(isn), true
	f.sess.Dirs[0].SYNFrame = 1
	return &frRig{f: f, frame: 1, isn: isn}
}

// send feeds a segment at relative sequence number rel (1: the first
// byte) of wire bytes, of which data was captured; it returns its frame.
func (r *frRig) send(rel uint32, data []byte, wire int) uint64 {
	r.frame++
	p := decode.Packet{
		Frame: r.frame, Src: r.f.a.Addr(), Dst: r.f.b.Addr(), SrcPort: r.f.a.Port(), DstPort: r.f.b.Port(),
		Proto: decode.ProtoTCP, HasTransport: true, Flags: decode.FlagACK,
		Seq: r.isn + rel, Payload: data, PayloadLen: wire,
	}
	r.f.cls.observeTCP(r.f, &p, 0, uint32(wire))
	return r.frame
}

// sendCut feeds stream cut into segments of lens bytes, each captured up
// to snap bytes (0: whole, -1: nothing), from relative sequence number 1, and returns
// their frames.
func (r *frRig) sendCut(stream []byte, lens []int, snap int) []uint64 {
	var frames []uint64
	off := 0
	for _, n := range lens {
		seg := stream[off : off+n]
		c := seg
		switch {
		case snap < 0:
			c = nil
		case snap > 0 && len(c) > snap:
			c = c[:snap]
		}
		frames = append(frames, r.send(uint32(off+1), c, n))
		off += n
	}
	return frames
}

func (r *frRig) fm() Framing   { return r.f.sess.Framing[0] }
func (r *frRig) esp() ESPStats { return r.f.sess.ESP[0] }

// frLayout computes, from the lengths of the messages and of the
// segments that carry them (segment i in frames[i]), the segments holding
// a message end before their last byte (Coalesced) and the messages
// spanning segments (Split), with the frames of the first ones.
func frLayout(msgs, segs []int, frames []uint64) Framing {
	var f Framing
	var ends []int
	e := 0
	for _, n := range msgs {
		e += n
		ends = append(ends, e)
	}
	segOf := func(off int) int {
		s := 0
		for i, n := range segs {
			if off < s+n {
				return i
			}
			s += n
		}
		return len(segs) - 1
	}
	s := 0
	for i, n := range segs {
		for _, e := range ends {
			if e > s && e < s+n {
				f.Coalesced++
				if f.CoalescedFrame == 0 {
					f.CoalescedFrame = frames[i]
				}
				break
			}
		}
		s += n
	}
	start := 0
	for _, e := range ends {
		if segOf(start) != segOf(e-1) {
			f.Split++
			if f.SplitFrame == 0 {
				f.SplitFrame = frames[segOf(e-1)]
			}
		}
		start = e
	}
	return f
}

// frCounts fills the message counts of msgs into f.
func frCounts(f Framing, msgs []frMsg) Framing {
	for _, m := range msgs {
		f.Messages++
		if m.esp {
			f.ESPMessages++
		} else {
			f.IKEMessages++
		}
	}
	return f
}

// checkClean checks the ESP facts of a loss-free stream of msgs.
func checkClean(t *testing.T, r *frRig, msgs []frMsg) {
	t.Helper()
	e := r.esp()
	var n uint64
	var last uint32
	for _, m := range msgs {
		if m.esp {
			n++
			last = max(last, m.seq)
		}
	}
	if e.Packets != n || e.SPIs != 1 || e.SPI != lab.ClientSPI || e.FirstSeq != 1 || e.LastSeq != last ||
		e.SeqGaps+e.SeqMissing+e.Repeats+e.Late != 0 || len(e.GapFrames)+len(e.RepeatFrames) != 0 {
		t.Errorf("ESP %+v; want %d packets 1..%d of SPI %#x, nothing missing, repeated or late", e, n, last, uint32(lab.ClientSPI))
	}
	if got, want := r.f.sess.IKEPackets[0], uint64(len(msgs))-n; got != want {
		t.Errorf("%d IKE packets, want %d", got, want)
	}
}

// TestFramingOnePerSegment: a cTCP sender's stream, one message per
// segment, frames into exactly those messages.
func TestFramingOnePerSegment(t *testing.T) {
	msgs := frMessages(12)
	r := newFrRig(1000)
	r.sendCut(frStream(msgs), frLens(msgs), 0)
	if got, want := r.fm(), frCounts(Framing{}, msgs); got != want {
		t.Errorf("framing %+v\nwant    %+v", got, want)
	}
	checkClean(t, r, msgs)
}

// TestFramingCoalesced: two or three messages per segment, as a proxy
// that forwards what it read sends them.
func TestFramingCoalesced(t *testing.T) {
	msgs := frMessages(12)
	lens := frLens(msgs)
	for _, group := range [][]int{{2}, {3}, {1, 2, 3}, {3, 1, 1, 2}} {
		var segs []int
		for i, g := 0, 0; i < len(lens); g++ {
			k := min(group[g%len(group)], len(lens)-i)
			n := 0
			for _, l := range lens[i : i+k] {
				n += l
			}
			segs = append(segs, n)
			i += k
		}
		r := newFrRig(7)
		frames := r.sendCut(frStream(msgs), segs, 0)
		want := frCounts(frLayout(lens, segs, frames), msgs)
		if want.Coalesced == 0 {
			t.Fatalf("groups %v: the layout coalesces nothing", group)
		}
		if got := r.fm(); got != want {
			t.Errorf("groups %v: framing %+v\nwant               %+v", group, got, want)
		}
		checkClean(t, r, msgs)
	}
}

// TestFramingSplitEverywhere cuts a stream of an IKE message and two ESP
// packets into two segments at every offset, and into three with a short
// middle segment (inside a trailer, inside the 8-byte ESP header,
// shorter than both): the messages come out the same each time.
func TestFramingSplitEverywhere(t *testing.T) {
	f := lab.NewFramer(true)
	msgs := []frMsg{{b: f.IKE(40)}}
	for range 2 {
		b, sq := f.ESP(16) // 68 bytes with the trailer
		msgs = append(msgs, frMsg{b: b, esp: true, seq: sq})
	}
	for _, isn := range []uint32{5000, ^uint32(0) - 100} { // the second wraps 2^32 inside the stream
		splitEverywhere(t, msgs, isn)
	}
}

func splitEverywhere(t *testing.T, msgs []frMsg, isn uint32) {
	stream, lens := frStream(msgs), frLens(msgs)
	for k := 1; k < len(stream); k++ {
		for _, mid := range []int{0, 1, 2, 5, 7, 8, 9, 15, 16, 17, 33} {
			segs := []int{k}
			if mid > 0 {
				if k+mid >= len(stream) {
					continue
				}
				segs = append(segs, mid)
			}
			segs = append(segs, len(stream)-k-mid)
			r := newFrRig(isn)
			frames := r.sendCut(stream, segs, 0)
			want := frCounts(frLayout(lens, segs, frames), msgs)
			if got := r.fm(); got != want {
				t.Fatalf("isn %d, segments %v: framing %+v\nwant %+v", isn, segs, got, want)
			}
			checkClean(t, r, msgs)
			if t.Failed() {
				t.Fatalf("isn %d, segments %v", isn, segs)
			}
		}
	}
}

// TestFramingHoleResync: a segment never captured, then framing resyncs:
// at once when the next segment starts with a message, after the next
// trailer when it starts inside one.
func TestFramingHoleResync(t *testing.T) {
	t.Run("at a message", func(t *testing.T) {
		msgs := frMessages(6) // IKE, IKE, ESP 1..6
		r := newFrRig(1)
		var frames []uint64
		off := 0
		for i, m := range msgs {
			if i != 4 { // ESP 3 is lost before the capture point
				frames = append(frames, r.send(uint32(off+1), m.b, len(m.b)))
			}
			off += len(m.b)
		}
		want := frCounts(Framing{Resyncs: 1}, slices.Delete(slices.Clone(msgs), 4, 5))
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		e := r.esp()
		if e.Packets != 5 || e.SeqGaps != 1 || e.SeqMissing != 1 || e.FirstMissing != 3 || e.FirstMissingSPI != lab.ClientSPI ||
			!slices.Equal(e.GapFrames, []uint64{frames[4]}) || e.Repeats+e.Late != 0 || e.LastSeq != 6 {
			t.Errorf("ESP %+v; want 5 packets, ESP 3 missing, the gap before frame %d", e, frames[4])
		}
	})
	t.Run("inside a message", func(t *testing.T) {
		// IKE, then eight ESP messages (all 100 bytes) re-cut into
		// 150-byte segments; the segment of ESP 4 and the head of ESP 5
		// is lost.
		msgs := frIKEESP(8)
		stream := frStream(msgs)
		r := newFrRig(1)
		frames := []uint64{r.send(1, stream[:100], 100)}
		for off := 100; off < len(stream); off += 150 {
			seg := stream[off:min(off+150, len(stream))]
			if off == 400 {
				continue
			}
			frames = append(frames, r.send(uint32(off+1), seg, len(seg)))
		}
		// Frames: IKE, [100,250) [250,400) | [550,700) [700,850)
		// [850,900). The segment after the hole starts with the last 50
		// bytes of ESP 5: unframed up to its trailer, then ESP 6 frames.
		want := Framing{
			Messages: 7, ESPMessages: 6, IKEMessages: 1,
			Coalesced: 4, CoalescedFrame: frames[1],
			Split: 2, SplitFrame: frames[2],
			UnframedSegments: 1, UnframedBytes: 50, UnframedFrame: frames[3],
			Resyncs: 1,
		}
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		e := r.esp()
		if e.Packets != 6 || e.SeqGaps != 1 || e.SeqMissing != 2 || e.FirstMissing != 4 ||
			!slices.Equal(e.GapFrames, []uint64{frames[3]}) || e.LastSeq != 8 {
			t.Errorf("ESP %+v; want 6 packets, ESP 4 and 5 missing in one gap before frame %d", e, frames[3])
		}
	})
	t.Run("cutting a message", func(t *testing.T) {
		// The hole takes the tail of ESP 2 and the head of ESP 3 (their
		// bytes 250-350 of the stream): ESP 2's header was seen.
		msgs := frIKEESP(5)
		stream := frStream(msgs)
		r := newFrRig(1)
		r.send(1, stream[:100], 100)
		f1 := r.send(101, stream[100:250], 150)
		f2 := r.send(351, stream[350:], len(stream)-350)
		want := Framing{
			Messages: 4, ESPMessages: 3, IKEMessages: 1,
			Coalesced: 2, CoalescedFrame: f1,
			UnframedSegments: 1, UnframedBytes: 50, UnframedFrame: f2,
			Resyncs: 1,
		}
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		e := r.esp()
		if e.Packets != 4 || e.SeqGaps != 1 || e.SeqMissing != 1 || e.FirstMissing != 3 ||
			!slices.Equal(e.GapFrames, []uint64{f2}) || e.LastSeq != 5 {
			t.Errorf("ESP %+v; want ESP 1, 2, 4, 5 seen and ESP 3 missing", e)
		}
	})
}

// TestFramingLate: a message that comes late fills its gap: it is late,
// neither missing nor repeated.
func TestFramingLate(t *testing.T) {
	t.Run("in the stream", func(t *testing.T) {
		// The sender put ESP 6 before 3, 4 and 5 (its ESP layer
		// reordered them): 1 2 6 4 3 5 7.
		msgs := frESP(7)
		order := []int{0, 1, 5, 3, 2, 4, 6}
		r := newFrRig(1)
		off := 0
		var frames []uint64
		step := func(i int) uint64 {
			m := msgs[order[i]]
			f := r.send(uint32(off+1), m.b, len(m.b))
			off += len(m.b)
			frames = append(frames, f)
			return f
		}
		for i := range 3 {
			step(i)
		}
		if e := r.esp(); e.SeqGaps != 1 || e.SeqMissing != 3 || e.FirstMissing != 3 || !slices.Equal(e.GapFrames, frames[2:3]) {
			t.Fatalf("after 1 2 6: ESP %+v; want one gap 3..5", e)
		}
		f4 := step(3) // splits the gap: 3 and 5 missing
		if e := r.esp(); e.SeqGaps != 2 || e.SeqMissing != 2 || e.Late != 1 || e.FirstMissing != 3 || !slices.Equal(e.GapFrames, []uint64{frames[2], f4}) {
			t.Fatalf("after 4: ESP %+v; want gaps 3 and 5, frames %d %d", e, frames[2], f4)
		}
		step(4) // 3 closes the first gap
		if e := r.esp(); e.SeqGaps != 1 || e.SeqMissing != 1 || e.Late != 2 || e.FirstMissing != 5 || !slices.Equal(e.GapFrames, frames[2:3]) {
			t.Fatalf("after 3: ESP %+v; want the gap 5 before frame %d", e, frames[2])
		}
		step(5)
		step(6)
		e := r.esp()
		if e.Packets != 7 || e.Late != 3 || e.SeqGaps+e.SeqMissing+e.Repeats != 0 || len(e.GapFrames) != 0 || e.LastSeq != 7 {
			t.Errorf("ESP %+v; want 7 packets, 3 late, nothing missing", e)
		}
		if got, want := r.fm(), frCounts(Framing{}, msgs); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
	})
	t.Run("reordered segments", func(t *testing.T) {
		// The segment of ESP 4 is captured after the one of ESP 5.
		msgs := frESP(6)
		r := newFrRig(1)
		var frames []uint64
		for _, i := range []int{0, 1, 2, 4, 3, 5} {
			frames = append(frames, r.send(uint32(100*i+1), msgs[i].b, 100))
		}
		want := frCounts(Framing{Resyncs: 1}, msgs)
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		e := r.esp()
		if e.Packets != 6 || e.Late != 1 || e.SeqGaps+e.SeqMissing+e.Repeats != 0 || len(e.GapFrames) != 0 || e.LastSeq != 6 {
			t.Errorf("ESP %+v; want 6 packets, ESP 4 late, nothing missing", e)
		}
	})
	t.Run("hole filled with bytes seen already", func(t *testing.T) {
		// ESP 4 is lost before the capture point; a TCP stack resends it
		// in one segment with ESP 5, which the capture had seen.
		msgs := frESP(6)
		stream := frStream(msgs)
		r := newFrRig(1)
		for _, i := range []int{0, 1, 2, 4, 5} {
			r.send(uint32(100*i+1), msgs[i].b, 100)
		}
		if e := r.esp(); e.SeqMissing != 1 || e.FirstMissing != 4 {
			t.Fatalf("before the resend: ESP %+v; want ESP 4 missing", e)
		}
		resend := r.send(301, stream[300:500], 200)
		e := r.esp()
		if e.Late != 1 || e.SeqGaps+e.SeqMissing != 0 || e.Repeats != 1 || !slices.Equal(e.RepeatFrames, []uint64{resend}) || e.LastSeq != 6 {
			t.Errorf("ESP %+v; want ESP 4 late, ESP 5 repeated in frame %d, nothing missing", e, resend)
		}
	})
}

// TestFramingRepeat: a retransmitted segment is not framed again, but the
// ESP packet it carries a second time is a repeat.
func TestFramingRepeat(t *testing.T) {
	msgs := frESP(6)
	stream := frStream(msgs)
	r := newFrRig(1)
	r.sendCut(stream[:400], []int{100, 100, 100, 100}, 0)
	again := r.send(201, stream[200:300], 100)   // ESP 3 again
	overlap := r.send(301, stream[300:500], 200) // ESP 4 again, ESP 5 new
	r.send(421, stream[420:450], 30)             // inside ESP 5 again: no header
	r.send(501, stream[500:], 100)               // ESP 6
	want := frCounts(Framing{}, msgs)
	if got := r.fm(); got != want {
		t.Errorf("framing %+v\nwant    %+v", got, want)
	}
	e := r.esp()
	if e.Packets != 8 || e.Repeats != 2 || !slices.Equal(e.RepeatFrames, []uint64{again, overlap}) || e.SeqGaps+e.SeqMissing+e.Late != 0 || e.LastSeq != 6 {
		t.Errorf("ESP %+v; want ESP 3 and 4 repeated in frames %d %d", e, again, overlap)
	}
}

// TestFramingSnaplen: segments the snaplen cut. At a sender (one message
// per segment) each segment is one message, known by its head; where a
// cut segment held more than one, the rest cannot be told.
func TestFramingSnaplen(t *testing.T) {
	t.Run("one per segment", func(t *testing.T) {
		msgs := frMessages(10)
		r := newFrRig(1)
		r.sendCut(frStream(msgs), frLens(msgs), 60)
		if got, want := r.fm(), frCounts(Framing{}, msgs); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		checkClean(t, r, msgs)
	})
	t.Run("coalesced", func(t *testing.T) {
		// IKE; ESP 1+2 in a segment captured through ESP 1 and 20
		// bytes of ESP 2; then ESP 3 alone.
		msgs := frIKEESP(3)
		stream := frStream(msgs)
		r := newFrRig(1)
		r.send(1, stream[:100], 100)
		f1 := r.send(101, stream[100:220], 200)
		r.send(301, stream[300:], 100)
		want := Framing{
			Messages: 3, ESPMessages: 2, IKEMessages: 1,
			Coalesced: 1, CoalescedFrame: f1,
			UnframedSegments: 1, UnframedBytes: 100, UnframedFrame: f1, Truncated: 1,
			Resyncs: 1,
		}
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		e := r.esp()
		if e.Packets != 3 || e.SeqGaps+e.SeqMissing+e.Repeats+e.Late != 0 || e.LastSeq != 3 {
			t.Errorf("ESP %+v; want ESP 1..3 (ESP 2 by its captured header)", e)
		}
	})
	t.Run("no payload", func(t *testing.T) {
		msgs := frESP(5)
		r := newFrRig(1)
		frames := r.sendCut(frStream(msgs), frLens(msgs), -1)
		want := Framing{UnframedSegments: 5, UnframedBytes: 500, UnframedFrame: frames[0], Truncated: 5}
		if got := r.fm(); got != want {
			t.Errorf("framing %+v\nwant    %+v", got, want)
		}
		if e := r.esp(); e.Packets != 0 {
			t.Errorf("ESP %+v from no payload", e)
		}
	})
}

// TestFramingSeqWrap: TCP sequence numbers wrapping 2^32 inside the
// stream change nothing (splitting at every offset across the wrap is in
// TestFramingSplitEverywhere).
func TestFramingSeqWrap(t *testing.T) {
	msgs := frMessages(12)
	stream := frStream(msgs)
	segs := []int{700, 700, 700, 700, len(stream) - 2800}
	var got [2]Framing
	var esp [2]ESPStats
	for i, isn := range []uint32{1 << 20, ^uint32(0) - 1500} {
		r := newFrRig(isn)
		r.sendCut(stream, segs, 0)
		r.send(701, stream[700:1400], 700) // a retransmission across the wrap
		got[i], esp[i] = r.fm(), r.esp()
	}
	if got[0] != got[1] || esp[0].Packets != esp[1].Packets || esp[0].SeqMissing != 0 || esp[1].SeqMissing != 0 || esp[1].LastSeq != 12 {
		t.Errorf("without wrap %+v %+v\nwith wrap    %+v %+v", got[0], esp[0], got[1], esp[1])
	}
	if got[1].Messages != uint64(len(msgs)) || got[1].Split == 0 || got[1].Coalesced == 0 {
		t.Errorf("framing across the wrap %+v", got[1])
	}
}

// TestFramingNoTrailer: a stream without Cisco's trailer whose segments
// each start with the next ESP header is framed one message per segment,
// from the segment whose head continues the previous one's.
func TestFramingNoTrailer(t *testing.T) {
	msgs := frESP(6)
	r := newFrRig(1)
	off := 0
	for _, m := range msgs {
		b := m.b[:len(m.b)-trailerLen]
		r.send(uint32(off+1), b, len(b))
		off += len(b)
	}
	if got, want := r.fm(), frCounts(Framing{}, msgs[1:]); got != want {
		t.Errorf("framing %+v\nwant    %+v", got, want)
	}
	if e := r.esp(); e.Packets != 5 || e.FirstSeq != 2 || e.LastSeq != 6 || e.SeqMissing+e.Repeats+e.Late != 0 {
		t.Errorf("ESP %+v; want ESP 2..6", e)
	}
}

// TestESPSeriesUDP: ESP over UDP (NAT-T) goes through the same
// accounting, per datagram: late datagrams fill their gaps, duplicates
// are repeats, an SPI change starts a new series.
func TestESPSeriesUDP(t *testing.T) {
	a := netip.MustParseAddrPort("198.51.100.7:4500")
	b := netip.MustParseAddrPort("203.0.113.10:4500")
	f := &flow{sess: &Session{Proto: decode.ProtoUDP}, a: a, b: b}
	f.cls.init()
	frame := uint64(0)
	send := func(spi, sq uint32) uint64 {
		frame++
		hdr := []byte{byte(spi >> 24), byte(spi >> 16), byte(spi >> 8), byte(spi), byte(sq >> 24), byte(sq >> 16), byte(sq >> 8), byte(sq), 1, 2, 3, 4}
		p := decode.Packet{Frame: frame, Src: a.Addr(), Dst: b.Addr(), SrcPort: 4500, DstPort: 4500, Proto: decode.ProtoUDP, HasTransport: true, Payload: hdr, PayloadLen: len(hdr)}
		f.cls.observeUDP(f, &p, 0)
		return frame
	}
	e := &f.sess.ESP[0]
	const o = 5000 // the first SA's numbers start above the window
	var fr []uint64
	for _, sq := range []uint32{1, 2, 3, 5, 8, 4} {
		fr = append(fr, send(0x1001, o+sq))
	}
	// 6 and 7 are missing: one gap, before ESP 8.
	if e.SeqGaps != 1 || e.SeqMissing != 2 || e.Late != 1 || e.FirstMissing != o+6 || !slices.Equal(e.GapFrames, fr[4:5]) {
		t.Fatalf("ESP %+v; want ESP 4 late, 6-7 missing before frame %d", *e, fr[4])
	}
	dup := send(0x1001, o+4)
	old := send(0x1001, o+8-espWindow) // beyond the window: not told
	send(0x1001, o+7)
	if e.Repeats != 1 || !slices.Equal(e.RepeatFrames, []uint64{dup}) || e.Late != 2 || e.SeqMissing != 1 || e.FirstMissing != o+6 || e.SeqGaps != 1 {
		t.Fatalf("ESP %+v; want ESP 4 repeated in frame %d, frame %d neither, ESP 7 late", *e, dup, old)
	}
	send(0x1001, o+9+espJump) // no tunnel jumps so far: a restart, no gap
	if e.SeqMissing != 1 || e.SeqGaps != 1 || e.LastSeq != o+9+espJump {
		t.Fatalf("ESP %+v after a jump", *e)
	}
	send(0x2002, 1) // rekey
	send(0x2002, 3)
	send(0x2002, 2)
	if e.SPIs != 2 || e.SPI != 0x2002 || e.FirstSeq != 1 || e.LastSeq != 3 || e.SeqMissing != 1 || e.SeqGaps != 1 ||
		e.FirstMissing != o+6 || e.FirstMissingSPI != 0x1001 || e.Late != 3 || e.Packets != 13 {
		t.Fatalf("ESP %+v after the rekey; want the old SA's gap kept, the new one's filled", *e)
	}
}

// frPcap writes a raw-IP pcap of IPv4 TCP segments.
type frPcap struct {
	b     []byte
	t     int64
	frame uint64
}

func newFrPcap() *frPcap {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 101) // raw IP
	return &frPcap{b: h, t: 1.7e18}
}

// tcp appends one segment, captured up to snap bytes of IP packet (0:
// whole), and returns its frame number.
func (w *frPcap) tcp(src, dst netip.AddrPort, seq, ack uint32, flags byte, payload []byte, snap int) uint64 {
	w.t += 1e5
	w.frame++
	n := 40 + len(payload)
	pkt := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0x40, 0, 64, 6, 0, 0}
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	pkt = append(append(pkt, s4[:]...), d4[:]...)
	pkt = binary.BigEndian.AppendUint16(pkt, src.Port())
	pkt = binary.BigEndian.AppendUint16(pkt, dst.Port())
	pkt = binary.BigEndian.AppendUint32(pkt, seq)
	pkt = binary.BigEndian.AppendUint32(pkt, ack)
	pkt = append(pkt, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	pkt = append(pkt, payload...)
	if snap > 0 && len(pkt) > snap {
		pkt = pkt[:snap]
	}
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(w.t/1e9))
	binary.LittleEndian.PutUint32(h[4:], uint32(w.t%1e9/1e3))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(pkt)))
	binary.LittleEndian.PutUint32(h[12:], uint32(n))
	w.b = append(append(w.b, h[:]...), pkt...)
	return w.frame
}

// TestAnalyzeResegmented analyzes a loss-free cTCP session whose client
// stream a proxy re-cut into 1000-byte segments: the trailers in the
// stream make it cTCP, and the ESP sequence numbers inside are whole
// (reading only each segment's head invented missing ones).
func TestAnalyzeResegmented(t *testing.T) {
	const syn, ack, psh = 0x02, 0x10, 0x18
	cl := netip.MustParseAddrPort("198.51.100.7:51234")
	he := netip.MustParseAddrPort("203.0.113.10:10000")
	w := newFrPcap()
	cseq, hseq := uint32(0xfffff000), uint32(77) // the client's wraps 2^32
	w.tcp(cl, he, cseq, 0, syn, nil, 0)
	w.tcp(he, cl, hseq, cseq+1, syn|ack, nil, 0)
	cseq, hseq = cseq+1, hseq+1
	w.tcp(cl, he, cseq, hseq, ack, nil, 0)

	msgs := frMessages(40)
	stream := frStream(msgs)
	var segs []int
	var frames []uint64
	for off := 0; off < len(stream); off += 1000 {
		seg := stream[off:min(off+1000, len(stream))]
		segs = append(segs, len(seg))
		frames = append(frames, w.tcp(cl, he, cseq, hseq, psh, seg, 0))
		cseq += uint32(len(seg))
		w.tcp(he, cl, hseq, cseq, ack, nil, 0)
	}
	hf := lab.NewFramer(false)
	for range 3 {
		m, _ := hf.ESP(100)
		w.tcp(he, cl, hseq, cseq, psh, m, 0)
		hseq += uint32(len(m))
		w.tcp(cl, he, cseq, hseq, ack, nil, 0)
	}

	c, err := Reader(bytes.NewReader(w.b), "reseg.pcap", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 1 {
		t.Fatalf("%d sessions", len(c.Sessions))
	}
	s := c.Sessions[0]
	if s.Transport != TransportCTCP || !s.TransportSure || !strings.Contains(s.TransportWhy, "re-segmented") || s.Client != cl {
		t.Fatalf("transport %s (sure %v: %s), client %s", s.Transport, s.TransportSure, s.TransportWhy, s.Client)
	}
	if got, want := s.Framing[ClientToHeadend], frCounts(frLayout(frLens(msgs), segs, frames), msgs); got != want {
		t.Errorf("client framing %+v\nwant            %+v", got, want)
	}
	if got, want := s.Framing[HeadendToClient], (Framing{Messages: 3, ESPMessages: 3}); got != want {
		t.Errorf("headend framing %+v, want %+v", got, want)
	}
	e := s.ESP[ClientToHeadend]
	if e.Packets != 40 || e.SPIs != 1 || e.LastSeq != 40 || e.SeqMissing+e.SeqGaps+e.Repeats+e.Late != 0 {
		t.Errorf("client ESP %+v; want 40 packets, nothing missing", e)
	}
	if e := s.ESP[HeadendToClient]; e.Packets != 3 || e.SPI != lab.ServerSPI || e.SeqMissing != 0 {
		t.Errorf("headend ESP %+v", e)
	}
	if s.IKEPackets != [2]uint64{2, 0} {
		t.Errorf("IKE packets %v, want [2 0]", s.IKEPackets)
	}
}

// TestFramingNotCTCP: a TCP stream of other bytes frames nothing, the
// classifier gives up after a few segments and the flow keeps no cTCP
// facts.
func TestFramingNotCTCP(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 64*1460)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	copy(data[3000:], []byte{0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4, 5, 50, 0, 0}) // one trailer by chance
	lens := make([]int, 64)
	for i := range lens {
		lens[i] = 1460
	}
	r := newFrRig(1)
	r.sendCut(data, lens, 0)
	fc := &r.f.cls
	if fr := &r.f.tcp.fr[0]; !fc.notCTCP || fr.seen > 16*1460 {
		t.Errorf("not cTCP %v after %d bytes framed", fc.notCTCP, fr.seen)
	}
	fc.decide(newTracker(Options{}), r.f)
	s := r.f.sess
	if s.Transport != TransportTCP || s.Framing != [2]Framing{} || s.ESP[0].Packets != 0 || s.IKEPackets != [2]uint64{} {
		t.Errorf("transport %s, framing %+v, ESP %+v", s.Transport, s.Framing, s.ESP)
	}
}

// FuzzFraming cuts a valid cTCP stream at arbitrary segment boundaries
// (cuts: segment lengths less one, used in turn), from an arbitrary
// initial sequence number: the messages must come out as from one message
// per segment. With junk set, the stream is junk instead, optionally cut
// by a snaplen: framing must not panic and its counts must hold together.
func FuzzFraming(f *testing.F) {
	msgs := frMessages(9)
	stream := frStream(msgs)
	ref := newFrRig(0)
	ref.sendCut(stream, frLens(msgs), 0)
	f.Add([]byte{}, []byte{}, uint32(0), byte(0))
	f.Add([]byte{99}, []byte{}, uint32(1), byte(0))
	f.Add([]byte{0, 6, 14, 15, 16, 200}, []byte{}, ^uint32(0)-300, byte(0))
	f.Add([]byte{7, 30}, stream[:500], uint32(9), byte(0))
	f.Add([]byte{40}, append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0x32, 0, 0, 1, 0xf4, 1, 0xf4, 0, 9}, stream[100:300]...), uint32(9), byte(30))
	f.Fuzz(func(t *testing.T, cuts, junk []byte, isn uint32, snap byte) {
		data, valid := stream, len(junk) == 0
		if !valid {
			data = junk
		}
		var lens []int
		for off, i := 0, 0; off < len(data); i++ {
			n := len(data) - off
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			lens = append(lens, n)
			off += n
		}
		r := newFrRig(isn)
		if valid {
			// The framer alone: the classifier may give up on a stream
			// of tiny segments, which is not the property here.
			off := 0
			var frames []uint64
			for _, n := range lens {
				r.frame++
				frames = append(frames, r.frame)
				p := decode.Packet{Frame: r.frame, Seq: isn + 1 + uint32(off), Payload: data[off : off+n], PayloadLen: n}
				r.f.cls.frame(r.f, &p, 0, uint32(n), true)
				off += n
			}
			want := frCounts(frLayout(frLens(msgs), lens, frames), msgs)
			if got := r.fm(); got != want {
				t.Fatalf("segments %v: framing %+v\nwant %+v", lens, got, want)
			}
			e, we := r.esp(), ref.esp()
			if e.Packets != we.Packets || e.SPIs != we.SPIs || e.SPI != we.SPI || e.FirstSeq != we.FirstSeq || e.LastSeq != we.LastSeq ||
				e.SeqGaps+e.SeqMissing+e.Repeats+e.Late != 0 || r.f.sess.IKEPackets != ref.f.sess.IKEPackets {
				t.Fatalf("segments %v: ESP %+v, IKE %v\nwant %+v, IKE %v", lens, e, r.f.sess.IKEPackets, we, ref.f.sess.IKEPackets)
			}
			return
		}
		r.sendCut(data, lens, int(snap))
		s := r.f.sess
		checkFraming(t, &s.Framing[0], len(lens), uint64(len(data)))
		checkESP(t, &s.ESP[0], uint64(len(data))/(minBody+trailerLen)+uint64(len(lens)))
		if s.IKEPackets[0] != s.Framing[0].IKEMessages {
			t.Fatalf("%d IKE packets, %d IKE messages", s.IKEPackets[0], s.Framing[0].IKEMessages)
		}
	})
}

// TestFramingMidStream: a capture that starts inside a connection (no
// SYN) does not know where the stream's messages begin: framing hunts
// for the first trailer and frames from there.
func TestFramingMidStream(t *testing.T) {
	msgs := frESP(6)
	r := newFrRig(5000)
	r.f.sess.Dirs[0].SYNFrame = 0
	frames := r.sendCut(frStream(msgs), frLens(msgs), 0)
	want := frCounts(Framing{UnframedSegments: 1, UnframedBytes: 100, UnframedFrame: frames[0], Resyncs: 1}, msgs[1:])
	if got := r.fm(); got != want {
		t.Errorf("framing %+v\nwant    %+v", got, want)
	}
	if e := r.esp(); e.Packets != 5 || e.FirstSeq != 2 || e.LastSeq != 6 || e.SeqMissing+e.Repeats+e.Late != 0 {
		t.Errorf("ESP %+v; want ESP 2..6", e)
	}
}

// TestFramingZeroBodies: messages whose bodies are zeros (as in an
// anonymized copy) frame as the originals do, although the zeros before
// a trailer whose counter byte is 17 or 50 look like a trailer starting
// 8 bytes early.
func TestFramingZeroBodies(t *testing.T) {
	msgs := frIKEESP(60) // trailer counters 1..61
	for _, m := range msgs {
		head := 8
		if !m.esp {
			head = 36
		}
		clear(m.b[head : len(m.b)-trailerLen])
	}
	stream, lens := frStream(msgs), frLens(msgs)
	for _, seg := range []int{300, 150, 1000} {
		var segs []int
		for off := 0; off < len(stream); off += seg {
			segs = append(segs, min(seg, len(stream)-off))
		}
		r := newFrRig(1)
		frames := r.sendCut(stream, segs, 0)
		if got, want := r.fm(), frCounts(frLayout(lens, segs, frames), msgs); got != want {
			t.Errorf("%d-byte segments: framing %+v\nwant %+v", seg, got, want)
		}
		checkClean(t, r, msgs)
	}
}
