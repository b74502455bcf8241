package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// Extras are inputs of BuildWith beyond the capture and its judgement.
type Extras struct {
	// Series are the time-sequence pictures of the sessions to graph
	// (analyze.Series for detect.Result.Focus), in the order to show them.
	// Series of sessions that are not TCP sessions of the capture are
	// ignored.
	Series []analyze.TimeSeq
}

// Graph is the time-sequence graph of one TCP session (tcptrace's and
// Wireshark's Stevens graph), with everything a renderer draws already
// chosen: times are seconds from the session's first packet, sequence
// numbers are relative and unwrapped (they keep growing past 2^32).
// Scaling to pixels is left to the renderer.
type Graph struct {
	// Session is the session's ID (Report.Sessions[i].ID).
	Session int
	// Title names the session and its transport, e.g. "session 2: cTCP
	// 192.168.1.23:52739 -> 203.0.113.10:10000".
	Title           string
	Transport       string
	Client, Headend string
	WiresharkFilter string
	// Start is the time of the session's first packet (TimeLayout);
	// Duration is its length in seconds.
	Start    string
	Duration float64
	// Panels are the two directions of data, the one that retransmit
	// requests concern (unanswered first) first.
	Panels []GraphPanel
	// Markers are the moments the session stalled, was reset, closed or
	// replaced, by time.
	Markers []GraphMarker
}

// GraphPanel is one direction of a Graph: the data one side sent, the
// other side's ACKs of it and the other side's retransmit requests.
type GraphPanel struct {
	// Sender and Receiver are "client" or "headend".
	Sender, Receiver string
	// Label names the direction, e.g. "client -> headend".
	Label string
	// Data are the time buckets of data segments, by time.
	Data []GraphBucket
	// Acks are the receiver's highest ACK per time bucket, by time: the
	// ACK line.
	Acks []GraphPoint
	// Requests are the receiver's retransmit requests for this data, by
	// time.
	Requests []GraphRequest
	// YMin and YMax bound every sequence number of the panel.
	YMin, YMax int64
	// Segments and Resent total the buckets' counts.
	Segments, Resent int
	// Unanswered counts the requests with Answered == false.
	Unanswered int
}

// GraphBucket is the data segments of one time bucket: a bar from Lo to
// Hi between From and To.
type GraphBucket struct {
	From, To float64 // seconds from the session start
	Lo, Hi   int64   // lowest seq and highest seq+len, relative
	Segments int
	// Resent counts the segments that started below the highest seq+len
	// seen before them (retransmissions, out of order).
	Resent int
}

// GraphPoint is one point of the ACK line.
type GraphPoint struct {
	Time float64 // seconds from the session start
	Seq  int64   // relative ack
}

// GraphRequest is one retransmit request: a run of duplicate ACKs for Seq
// from From to To.
type GraphRequest struct {
	Seq      int64   // the requested relative sequence number (unwrapped)
	Ack      uint32  // the same, as in RetransmitRequest.Ack
	From, To float64 // first and last duplicate ACK, seconds from the start
	DupAcks  int
	// FirstFrame and LastFrame are the first and last duplicate ACK frames
	// of the whole run (LastFrame 0 when unknown); Seconds is the time
	// between them.
	FirstFrame, LastFrame uint64
	Seconds               float64
	// Answered is true, false, or nil when the capture cannot tell.
	Answered *bool
}

// GraphMarker is a moment to mark across the graph.
type GraphMarker struct {
	Time  float64 // seconds from the session start
	Frame uint64  // 0 when no single frame shows it
	// Kind is "stall", "reset", "close" or "reconnect".
	Kind  string
	Label string
}

// dirLabel names a direction with an ASCII arrow.
func dirLabel(d analyze.Dir) string {
	if d == analyze.ClientToHeadend {
		return "client -> headend"
	}
	return "headend -> client"
}

// buildGraphs builds the graph of each series, in their order, skipping
// the series of sessions that are not TCP sessions of the report.
func buildGraphs(c *analyze.Capture, r *detect.Result, rep *Report, series []analyze.TimeSeq) []Graph {
	graphs := make([]Graph, 0, len(series))
	for i := range series {
		ts := &series[i]
		s, sr, rs := tcpSession(c, r, rep, ts.Session)
		if s == nil {
			continue
		}
		graphs = append(graphs, buildGraph(c, s, sr, rs, ts))
	}
	return graphs
}

func buildGraph(c *analyze.Capture, s *analyze.Session, sr *detect.SessionResult, rs *Session, ts *analyze.TimeSeq) Graph {
	start := ts.Start
	sec := func(t int64) float64 { return time.Duration(t - start).Seconds() }
	dur := max(sec(ts.End), 0)
	clamp := func(x float64) float64 { return min(max(x, 0), dur) }
	g := Graph{
		Session:         s.ID,
		Title:           sessionTitle(s, rs),
		Transport:       rs.Transport,
		Client:          rs.Client,
		Headend:         rs.Headend,
		WiresharkFilter: rs.WiresharkFilter,
		Start:           FormatTime(start),
		Duration:        dur,
		Markers:         []GraphMarker{},
	}

	var requests []detect.Request
	if sr != nil {
		requests = sr.Requests
	}
	for _, d := range []analyze.Dir{analyze.ClientToHeadend, analyze.HeadendToClient} {
		p := GraphPanel{
			Sender:   d.Side(),
			Receiver: d.Other().Side(),
			Label:    dirLabel(d),
			Data:     make([]GraphBucket, 0, len(ts.Data[d])),
			Acks:     make([]GraphPoint, 0, len(ts.Acks[d.Other()])),
			Requests: []GraphRequest{},
		}
		// The series' positions are unwrapped already (analyze.TimeSeq).
		for _, b := range ts.Data[d] {
			p.Data = append(p.Data, GraphBucket{From: clamp(sec(b.From)), To: clamp(sec(b.To)), Lo: b.Lo, Hi: b.Hi, Segments: b.Segments, Resent: b.Resent})
			p.Segments += b.Segments
			p.Resent += b.Resent
		}
		for _, a := range ts.Acks[d.Other()] {
			p.Acks = append(p.Acks, GraphPoint{Time: clamp(sec(a.Time)), Seq: a.Ack})
		}
		for _, q := range requests {
			run := q.Run
			if run == nil || run.By != d.Other() {
				continue
			}
			gq := GraphRequest{
				Seq:     seq.Near(seq.Value(run.Ack), seqRef(&p, sec(run.FirstTime))),
				Ack:     run.Ack,
				From:    clamp(sec(run.FirstTime)),
				To:      clamp(sec(max(run.LastTime, run.FirstTime))),
				DupAcks: run.Count,
				Seconds: runSeconds(run),
			}
			if len(run.Frames) > 0 {
				gq.FirstFrame, gq.LastFrame = run.Frames[0], runLastFrame(run)
			}
			switch q.Answer {
			case detect.Answered:
				gq.Answered = new(true)
			case detect.Unanswered:
				gq.Answered = new(false)
				p.Unanswered++
			}
			p.Requests = append(p.Requests, gq)
		}
		slices.SortStableFunc(p.Requests, func(a, b GraphRequest) int {
			return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.FirstFrame, b.FirstFrame))
		})
		p.YMin, p.YMax = panelRange(&p)
		g.Panels = append(g.Panels, p)
	}
	// The direction the requests concern comes first: unanswered, then
	// any requests, then client -> headend before headend -> client.
	slices.SortStableFunc(g.Panels, func(a, b GraphPanel) int {
		return cmp.Or(cmp.Compare(b.Unanswered, a.Unanswered), cmp.Compare(len(b.Requests), len(a.Requests)))
	})

	g.Markers = graphMarkers(c, s, sr, sec, clamp)
	return g
}

// seqRef is the panel's data sequence number at time t (seconds), to
// unwrap a value seen then; 0 without data.
func seqRef(p *GraphPanel, t float64) int64 {
	if len(p.Data) == 0 {
		if len(p.Acks) > 0 {
			return p.Acks[0].Seq
		}
		return 0
	}
	ref := p.Data[0].Lo
	for _, b := range p.Data {
		if b.From > t {
			break
		}
		ref = b.Hi
	}
	return ref
}

func panelRange(p *GraphPanel) (lo, hi int64) {
	first := true
	see := func(v int64) {
		if first {
			lo, hi, first = v, v, false
			return
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	for _, b := range p.Data {
		see(b.Lo)
		see(b.Hi)
	}
	for _, a := range p.Acks {
		see(a.Seq)
	}
	for _, q := range p.Requests {
		see(q.Seq)
	}
	return lo, hi
}

func graphMarkers(c *analyze.Capture, s *analyze.Session, sr *detect.SessionResult, sec func(int64) float64, clamp func(float64) float64) []GraphMarker {
	ms := []GraphMarker{}
	if sr != nil && sr.Stall != nil {
		st := sr.Stall.Silence
		t := 0.0
		if st.FromFrame != 0 {
			t = clamp(sec(st.From))
		}
		ms = append(ms, GraphMarker{Time: t, Frame: st.FromFrame, Kind: "stall",
			Label: fmt.Sprintf("%s stops sending data (silent %s)", sr.Stall.Dir.Side(), formatDuration(time.Duration(st.Duration())))})
	}
	for _, d := range []analyze.Dir{analyze.ClientToHeadend, analyze.HeadendToClient} {
		ds := &s.Dirs[d]
		if ds.RSTFrame != 0 {
			ms = append(ms, GraphMarker{Time: clamp(sec(ds.RSTTime)), Frame: ds.RSTFrame, Kind: "reset",
				Label: fmt.Sprintf("RST from the %s (frame %d)", d.Side(), ds.RSTFrame)})
		}
		if ds.FINFrame != 0 {
			ms = append(ms, GraphMarker{Time: clamp(sec(ds.FINTime)), Frame: ds.FINFrame, Kind: "close",
				Label: fmt.Sprintf("FIN from the %s (frame %d)", d.Side(), ds.FINFrame)})
		}
	}
	if sr != nil {
		switch sr.Outcome {
		case detect.Stalled:
			if sr.OutcomeFrame != 0 {
				ms = append(ms, GraphMarker{Time: clamp(sec(sr.OutcomeTime)), Frame: sr.OutcomeFrame, Kind: "stall",
					Label: fmt.Sprintf("stalled: last data (frame %d)", sr.OutcomeFrame)})
			}
		case detect.Reconnected:
			label := "reconnected"
			if sr.NextSession >= 0 && sr.NextSession < len(c.Sessions) {
				label = fmt.Sprintf("reconnected as session %d", c.Sessions[sr.NextSession].ID)
			}
			if sr.OutcomeFrame != 0 {
				label += fmt.Sprintf(" (frame %d)", sr.OutcomeFrame)
			}
			ms = append(ms, GraphMarker{Time: clamp(sec(sr.OutcomeTime)), Frame: sr.OutcomeFrame, Kind: "reconnect", Label: label})
		}
	}
	slices.SortStableFunc(ms, func(a, b GraphMarker) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Frame, b.Frame))
	})
	return ms
}
