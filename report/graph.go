package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
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
	// Evidence lists the session's evidence frames, ascending;
	// EvidenceOmitted counts the retransmit requests left out of it.
	Evidence        []EvidenceRow
	EvidenceOmitted int
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

// EvidenceRow is one frame of evidence.
type EvidenceRow struct {
	Frame uint64
	// Time is the frame's time (TimeLayout) and Offset its seconds from
	// the session start; HasTime is false when the report does not know
	// the frame's time (Time is then "").
	Time    string
	Offset  float64
	HasTime bool
	// Direction is "client -> headend", "headend -> client" or "" when
	// unknown.
	Direction string
	// What says what the frame shows.
	What string
}

// maxEvidenceRequests caps the retransmit requests listed in a Graph's
// Evidence.
const maxEvidenceRequests = 20

// maxEvidenceDups is the longest run of duplicate ACKs whose frames are all
// listed in Evidence; of a longer run, the first and the last listed.
const maxEvidenceDups = 5

// dirLabel names a direction with an ASCII arrow.
func dirLabel(d analyze.Dir) string {
	if d == analyze.ClientToHeadend {
		return "client -> headend"
	}
	return "headend -> client"
}

// unwrap turns relative sequence numbers into int64 values that keep
// growing past 2^32: each value is placed within 2^31 of the previous one.
type unwrap struct {
	last int64
	ok   bool
}

func (u *unwrap) at(v uint32) int64 {
	if !u.ok {
		u.last, u.ok = int64(v), true
		return u.last
	}
	u.last += int64(int32(v - uint32(u.last)))
	return u.last
}

// near places v within 2^31 of ref.
func near(v uint32, ref int64) int64 { return ref + int64(int32(v-uint32(ref))) }

func buildGraphs(c *analyze.Capture, r *detect.Result, rep *Report, series []analyze.TimeSeq) []Graph {
	graphs := make([]Graph, 0, len(series))
	for i := range series {
		ts := &series[i]
		if ts.Session < 0 || ts.Session >= len(c.Sessions) {
			continue
		}
		s := c.Sessions[ts.Session]
		if s == nil || s.Proto != 6 {
			continue
		}
		var sr *detect.SessionResult
		for j := range r.Sessions {
			if r.Sessions[j].Session == s {
				sr = &r.Sessions[j]
				break
			}
		}
		var rs *Session
		for j := range rep.Sessions {
			if rep.Sessions[j].ID == s.ID {
				rs = &rep.Sessions[j]
				break
			}
		}
		if rs == nil {
			continue
		}
		graphs = append(graphs, buildGraph(c, s, sr, rs, rep.Findings, ts))
	}
	return graphs
}

func buildGraph(c *analyze.Capture, s *analyze.Session, sr *detect.SessionResult, rs *Session, findings []Finding, ts *analyze.TimeSeq) Graph {
	start := ts.Start
	sec := func(t int64) float64 { return time.Duration(t - start).Seconds() }
	dur := max(sec(ts.End), 0)
	clamp := func(x float64) float64 { return min(max(x, 0), dur) }
	g := Graph{
		Session:         s.ID,
		Title:           fmt.Sprintf("session %d: %s %s -> %s", s.ID, s.Transport.Label(), rs.Client, rs.Headend),
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
		var u unwrap
		for _, b := range ts.Data[d] {
			lo := u.at(b.Lo)
			hi := near(b.Hi, lo)
			u.last = max(u.last, hi)
			p.Data = append(p.Data, GraphBucket{From: clamp(sec(b.From)), To: clamp(sec(b.To)), Lo: lo, Hi: hi, Segments: b.Segments, Resent: b.Resent})
			p.Segments += b.Segments
			p.Resent += b.Resent
		}
		// The ACK line starts near the data; without data, at its own
		// first value.
		ua := unwrap{}
		if len(p.Data) > 0 {
			ua = unwrap{last: p.Data[0].Lo, ok: true}
		}
		for _, a := range ts.Acks[d.Other()] {
			p.Acks = append(p.Acks, GraphPoint{Time: clamp(sec(a.Time)), Seq: ua.at(a.Ack)})
		}
		for _, q := range requests {
			run := q.Run
			if run == nil || run.By != d.Other() {
				continue
			}
			gq := GraphRequest{
				Seq:     near(run.Ack, seqRef(&p, sec(run.FirstTime))),
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
	g.Evidence, g.EvidenceOmitted = evidence(s, sr, findings, start)
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

// evidence lists the frames that show what happened to session s.
func evidence(s *analyze.Session, sr *detect.SessionResult, findings []Finding, start int64) ([]EvidenceRow, int) {
	var rows []EvidenceRow
	add := func(frame uint64, t int64, d string, what string) {
		if frame == 0 {
			return
		}
		r := EvidenceRow{Frame: frame, Direction: d, What: what}
		if t != 0 {
			r.Time, r.Offset, r.HasTime = FormatTime(t), time.Duration(t-start).Seconds(), true
		}
		rows = append(rows, r)
	}
	omitted := 0
	if sr != nil {
		n := 0
		for _, q := range sr.Requests {
			run := q.Run
			if run == nil {
				continue
			}
			if n == maxEvidenceRequests {
				omitted++
				continue
			}
			n++
			by, data := dirLabel(run.By), dirLabel(run.By.Other())
			state := "answered"
			switch q.Answer {
			case detect.Unanswered:
				state = "unanswered"
			case detect.AnswerUnknown:
				state = "inconclusive"
			}
			add(run.OrigFrame, 0, by, fmt.Sprintf("the ACK (ack %d) that the duplicate ACKs repeat", run.Ack))
			if len(run.Frames) > 0 {
				last := runLastFrame(run)
				add(run.Frames[0], run.FirstTime, by, fmt.Sprintf("dup ACK #1 for ack %d: the %s asks for a retransmission (%s; %s)",
					run.Ack, run.By.Side(), dupAckExtent(run.Count, run.Frames[0], last, runSeconds(run)), state))
				// Every duplicate of a short run; the last of a long one,
				// which may lie beyond the listed frames.
				if run.Count <= maxEvidenceDups && run.Count == len(run.Frames) {
					for k, f := range run.Frames[1:] {
						var t int64
						if k+2 == len(run.Frames) {
							t = run.LastTime
						}
						add(f, t, by, fmt.Sprintf("dup ACK #%d for ack %d", k+2, run.Ack))
					}
				} else if last != 0 && last != run.Frames[0] {
					add(last, run.LastTime, by, fmt.Sprintf("dup ACK #%d for ack %d, the last of the run", run.Count, run.Ack))
				}
			}
			add(run.LostSegmentFrame, 0, data, fmt.Sprintf("previous segment not captured (hole at %d)", run.Ack))
			add(run.CoverFrame, run.CoverTime, data, fmt.Sprintf("the %s resends the bytes at %d", run.By.Other().Side(), run.Ack))
			add(run.AdvanceFrame, run.AdvanceTime, by, fmt.Sprintf("the %s's ACK moves past %d: the hole is filled", run.By.Side(), run.Ack))
		}
		if st := sr.Stall; st != nil {
			si := st.Silence
			side, other := st.Dir.Side(), st.Dir.Other().Side()
			add(si.FromFrame, si.From, dirLabel(st.Dir), fmt.Sprintf("last data from the %s before %s without data", side, formatDuration(time.Duration(si.Duration()))))
			add(si.OtherFirstFrame, 0, dirLabel(st.Dir.Other()), fmt.Sprintf("first of %d data segments the %s sent meanwhile", si.OtherSegments, other))
			if !si.Open {
				add(si.ToFrame, si.To, dirLabel(st.Dir), fmt.Sprintf("data from the %s again", side))
			}
		}
		switch sr.Outcome {
		case detect.Stalled:
			add(sr.OutcomeFrame, sr.OutcomeTime, "", "last data before the session stalled")
		case detect.Reconnected:
			add(sr.OutcomeFrame, sr.OutcomeTime, "", "first frame of the session that replaced this one")
		}
	}
	for _, d := range []analyze.Dir{analyze.ClientToHeadend, analyze.HeadendToClient} {
		ds := &s.Dirs[d]
		add(ds.RSTFrame, ds.RSTTime, dirLabel(d), fmt.Sprintf("RST from the %s", d.Side()))
		add(ds.FINFrame, ds.FINTime, dirLabel(d), fmt.Sprintf("FIN from the %s", d.Side()))
		for _, f := range ds.LostSegmentFrames {
			add(f, 0, dirLabel(d), fmt.Sprintf("previous segment not captured: data from the %s lost before the capture point", d.Side()))
		}
	}
	slices.SortStableFunc(rows, func(a, b EvidenceRow) int { return cmp.Compare(a.Frame, b.Frame) })
	// Frames that findings cite and nothing above explains.
	for _, f := range findings {
		if f.Session == nil || *f.Session != s.ID {
			continue
		}
		for _, fr := range f.Frames {
			if _, found := slices.BinarySearchFunc(rows, fr, func(r EvidenceRow, fr uint64) int { return cmp.Compare(r.Frame, fr) }); found {
				continue
			}
			i, _ := slices.BinarySearchFunc(rows, fr, func(r EvidenceRow, fr uint64) int { return cmp.Compare(r.Frame, fr) })
			rows = slices.Insert(rows, i, EvidenceRow{Frame: fr, What: "cited by finding " + f.ID})
		}
	}
	// One row per frame.
	out := make([]EvidenceRow, 0, len(rows))
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].Frame == r.Frame {
			last := &out[n-1]
			if last.What != r.What {
				last.What += "; " + r.What
			}
			if !last.HasTime && r.HasTime {
				last.Time, last.Offset, last.HasTime = r.Time, r.Offset, true
			}
			if last.Direction == "" {
				last.Direction = r.Direction
			}
			continue
		}
		out = append(out, r)
	}
	return out, omitted
}
