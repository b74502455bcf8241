package analyze

import (
	"io"
	"net/netip"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// SeriesBuckets is the default number of time buckets of a TimeSeq.
const SeriesBuckets = 600

// TimeSeq is the time-sequence picture of one TCP session (tcptrace's and
// Wireshark's Stevens graph), aggregated into time buckets so that its
// size does not depend on the number of packets. Directions are indexed by
// Dir; sequence and ack numbers are relative (Session.BaseSeq) and
// unwrapped: 64-bit positions that keep growing past 2^32, placed segment
// by segment with seq.Unwrapper, so that a bucket may span any stretch of
// sequence space.
type TimeSeq struct {
	// Session is the Capture.Sessions index it belongs to.
	Session int
	// Start and End bound the buckets (ns since the Unix epoch): the
	// session's first and last packet.
	Start, End int64
	// Data holds, per direction, the non-empty buckets of data segments.
	Data [2][]SeqBucket
	// Acks holds, per direction, the highest ACK sent in each non-empty
	// bucket: Acks[ClientToHeadend] acknowledges the headend's data.
	Acks [2][]AckPoint
}

// SeqBucket aggregates the data segments of one direction in one time
// bucket.
type SeqBucket struct {
	From, To int64 // time of the first and last segment in the bucket (ns)
	Lo, Hi   int64 // lowest relative seq and highest relative seq+len (unwrapped)
	Segments int   // data segments
	// Resent counts segments that started below the highest seq+len seen
	// before them (retransmissions, out-of-order).
	Resent int
}

// AckPoint is the highest ACK in a time bucket.
type AckPoint struct {
	Time int64 // time of that ACK (ns)
	Ack  int64 // relative, unwrapped
}

// SeriesSpec selects a TCP session for Series.
type SeriesSpec struct {
	Session *Session
	// Buckets is the number of time buckets (0: SeriesBuckets).
	Buckets int
}

// Series reads the capture at path a second time and builds the
// time-sequence picture of each selected TCP session. It keeps nothing
// per packet: memory is bounded by the buckets.
func Series(path string, specs []SeriesSpec) ([]TimeSeq, error) {
	src, err := capfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return series(src, specs)
}

// SeriesReader is Series for a capture read from r.
func SeriesReader(r io.Reader, name string, specs []SeriesSpec) ([]TimeSeq, error) {
	src, err := capfile.New(r, name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return series(src, specs)
}

type seriesState struct {
	spec    SeriesSpec
	n       int
	out     TimeSeq
	cur     [2]*SeqBucket
	curIdx  [2]int
	ackIdx  [2]int
	highest [2]int64 // highest seq+len placed, per direction
	seen    [2]bool
	// data places each direction's segments; acks each direction's ACKs,
	// near the data they acknowledge once that is known.
	data, acks [2]seq.Unwrapper
}

func series(src *capfile.Source, specs []SeriesSpec) ([]TimeSeq, error) {
	states := make([]*seriesState, 0, len(specs))
	type key struct{ a, b netip.AddrPort }
	byKey := map[key][]*seriesState{}
	for _, sp := range specs {
		s := sp.Session
		if s == nil || s.Proto != decode.ProtoTCP {
			continue
		}
		n := sp.Buckets
		if n <= 0 {
			n = SeriesBuckets
		}
		st := &seriesState{spec: sp, n: n, out: TimeSeq{Session: s.ID, Start: s.FirstTime, End: s.LastTime}, curIdx: [2]int{-1, -1}, ackIdx: [2]int{-1, -1}}
		states = append(states, st)
		k := key{s.Client, s.Headend}
		byKey[k] = append(byKey[k], st)
	}
	dec := decode.NewDecoder()
	var p decode.Packet
	for src.Next() {
		info := src.Info()
		p.Frame, p.Time, p.CapLen, p.OrigLen = info.Frame, info.Time, info.CapLen, info.OrigLen
		if dec.Decode(src.Data(), info.LinkType, &p) != nil || !p.HasTransport || p.Proto != decode.ProtoTCP || p.InError || p.PayloadLen < 0 {
			continue
		}
		a, b := p.SrcAddrPort(), p.DstAddrPort()
		d := ClientToHeadend
		list := byKey[key{a, b}]
		if list == nil {
			d = HeadendToClient
			list = byKey[key{b, a}]
		}
		for _, st := range list {
			s := st.spec.Session
			if p.Frame < s.FirstFrame || p.Frame > s.LastFrame {
				continue
			}
			st.add(&p, d)
		}
	}
	if err := src.Err(); err != nil && len(states) > 0 && src.Frames() == 0 {
		return nil, err
	}
	out := make([]TimeSeq, len(states))
	for i, st := range states {
		out[i] = st.out
	}
	return out, nil
}

func (st *seriesState) bucket(t int64) int {
	span := st.out.End - st.out.Start + 1
	i := int((t - st.out.Start) * int64(st.n) / span)
	return min(max(i, 0), st.n-1)
}

func (st *seriesState) add(p *decode.Packet, d Dir) {
	s := st.spec.Session
	i := st.bucket(p.Time)
	if n := seq.Size(p.PayloadLen); n > 0 {
		lo := st.data[d].Unwrap(seq.Value(p.Seq - s.BaseSeq[d]))
		hi := lo + int64(n)
		st.data[d].Reach(hi)
		if st.curIdx[d] != i {
			st.out.Data[d] = append(st.out.Data[d], SeqBucket{From: p.Time, Lo: lo, Hi: hi})
			st.cur[d] = &st.out.Data[d][len(st.out.Data[d])-1]
			st.curIdx[d] = i
		}
		b := st.cur[d]
		b.To = p.Time
		b.Segments++
		b.Lo, b.Hi = min(b.Lo, lo), max(b.Hi, hi)
		if st.seen[d] && lo < st.highest[d] {
			b.Resent++
		}
		if !st.seen[d] || hi > st.highest[d] {
			st.highest[d], st.seen[d] = hi, true
		}
	}
	if p.Flags&decode.FlagACK != 0 && p.Flags&decode.FlagRST == 0 {
		o := d.Other()
		if st.seen[o] {
			// Place the ACK near the data it acknowledges.
			st.acks[d].Reach(st.highest[o])
		}
		ack := st.acks[d].Unwrap(seq.Value(p.Ack - s.BaseSeq[o]))
		acks := &st.out.Acks[d]
		if st.ackIdx[d] != i {
			*acks = append(*acks, AckPoint{Time: p.Time, Ack: ack})
			st.ackIdx[d] = i
		} else if last := &(*acks)[len(*acks)-1]; ack > last.Ack {
			*last = AckPoint{Time: p.Time, Ack: ack}
		}
	}
}
