package report

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// SessionEvidence is the evidence of one TCP session: the frames that show
// what happened to it, each with what it shows. Build makes it from the
// analysis and the judgement alone (no second read of the capture); every
// human-oriented format prints it, HTML beside the session's graph when
// there is one. It is not part of the JSON contract (see the package
// documentation).
type SessionEvidence struct {
	// Session is the session's ID (Report.Sessions[i].ID).
	Session int
	// Title names the session and its transport, as Graph.Title does,
	// e.g. "session 2: cTCP 192.168.1.23:52739 -> 203.0.113.10:10000".
	Title string
	// Start is the time of the session's first packet (TimeLayout), from
	// which the rows' offsets count; Duration is the session's length in
	// seconds.
	Start    string
	Duration float64
	// Rows list the evidence frames, ascending, one row per frame;
	// Omitted counts the retransmit requests left out of them.
	Rows    []EvidenceRow
	Omitted int
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

// maxEvidenceRequests caps the retransmit requests listed in a
// SessionEvidence's Rows.
const maxEvidenceRequests = 20

// maxEvidenceDups is the longest run of duplicate ACKs whose frames are all
// listed in Rows; of a longer run, the first and the last listed.
const maxEvidenceDups = 5

// buildEvidence lists the evidence of the sessions the report shows it
// for: the TCP sessions of r.Focus (the sessions the verdict rests on), in
// that order, then the sessions of series that are not among them, in
// theirs, so that every graph has its evidence. Never nil.
func buildEvidence(c *analyze.Capture, r *detect.Result, rep *Report, series []analyze.TimeSeq) []SessionEvidence {
	out := make([]SessionEvidence, 0, len(r.Focus))
	add := func(i int) {
		s, sr, rs := tcpSession(c, r, rep, i)
		if s == nil {
			return
		}
		for k := range out {
			if out[k].Session == s.ID {
				return
			}
		}
		e := SessionEvidence{
			Session:  s.ID,
			Title:    sessionTitle(s, rs),
			Start:    rs.Start,
			Duration: max(time.Duration(s.LastTime-s.FirstTime).Seconds(), 0),
		}
		e.Rows, e.Omitted = evidence(s, sr, rep.Findings, s.FirstTime)
		out = append(out, e)
	}
	for _, i := range r.Focus {
		add(i)
	}
	for i := range series {
		add(series[i].Session)
	}
	return out
}

// tcpSession returns the TCP session at index i of c.Sessions, its
// judgement in r (nil when r has none) and its Session in rep; s is nil
// when there is no such TCP session.
func tcpSession(c *analyze.Capture, r *detect.Result, rep *Report, i int) (s *analyze.Session, sr *detect.SessionResult, rs *Session) {
	if i < 0 || i >= len(c.Sessions) {
		return nil, nil, nil
	}
	s = c.Sessions[i]
	if s == nil || s.Proto != 6 {
		return nil, nil, nil
	}
	// rep.Sessions are sorted by ID.
	k, found := slices.BinarySearchFunc(rep.Sessions, s.ID, func(rs Session, id int) int { return cmp.Compare(rs.ID, id) })
	if !found {
		return nil, nil, nil
	}
	if i < len(r.Sessions) && r.Sessions[i].Session == s {
		return s, &r.Sessions[i], &rep.Sessions[k]
	}
	for j := range r.Sessions {
		if r.Sessions[j].Session == s {
			return s, &r.Sessions[j], &rep.Sessions[k]
		}
	}
	return s, nil, &rep.Sessions[k]
}

// sessionTitle names session s (rs in the report) and its transport:
// "session 2: cTCP 192.168.1.23:52739 -> 203.0.113.10:10000".
func sessionTitle(s *analyze.Session, rs *Session) string {
	return "session " + strconv.Itoa(s.ID) + ": " + s.Transport.Label() + " " + rs.Client + " -> " + rs.Headend
}

// evidence lists the frames that show what happened to session s, with
// their offsets from start (ns since the Unix epoch), and counts the
// retransmit requests it leaves out. It runs for every report, so it
// composes a row's text only for a frame that is there.
func evidence(s *analyze.Session, sr *detect.SessionResult, findings []Finding, start int64) ([]EvidenceRow, int) {
	var rows []EvidenceRow
	add := func(frame uint64, t int64, d string, what string) {
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
			ack := strconv.FormatUint(uint64(run.Ack), 10)
			if run.OrigFrame != 0 {
				add(run.OrigFrame, 0, by, "the ACK (ack "+ack+") that the duplicate ACKs repeat")
			}
			if len(run.Frames) > 0 {
				last := runLastFrame(run)
				if run.Frames[0] != 0 {
					state := "answered"
					switch q.Answer {
					case detect.Unanswered:
						state = "unanswered"
					case detect.AnswerUnknown:
						state = "inconclusive"
					}
					add(run.Frames[0], run.FirstTime, by, "dup ACK #1 for ack "+ack+": the "+run.By.Side()+" asks for a retransmission ("+
						dupAckExtent(run.Count, run.Frames[0], last, runSeconds(run))+"; "+state+")")
				}
				// Every duplicate of a short run; the last of a long one,
				// which may lie beyond the listed frames.
				if run.Count <= maxEvidenceDups && run.Count == len(run.Frames) {
					for k, f := range run.Frames[1:] {
						if f == 0 {
							continue
						}
						var t int64
						if k+2 == len(run.Frames) {
							t = run.LastTime
						}
						add(f, t, by, "dup ACK #"+strconv.Itoa(k+2)+" for ack "+ack)
					}
				} else if last != 0 && last != run.Frames[0] {
					add(last, run.LastTime, by, "dup ACK #"+strconv.Itoa(run.Count)+" for ack "+ack+", the last of the run")
				}
			}
			if run.LostSegmentFrame != 0 {
				add(run.LostSegmentFrame, 0, data, "previous segment not captured (hole at "+ack+")")
			}
			if run.CoverFrame != 0 {
				add(run.CoverFrame, run.CoverTime, data, "the "+run.By.Other().Side()+" resends the bytes at "+ack)
			}
			if run.AdvanceFrame != 0 {
				add(run.AdvanceFrame, run.AdvanceTime, by, "the "+run.By.Side()+"'s ACK moves past "+ack+": the hole is filled")
			}
		}
		if st := sr.Stall; st != nil {
			si := st.Silence
			side, other := st.Dir.Side(), st.Dir.Other().Side()
			if si.FromFrame != 0 {
				add(si.FromFrame, si.From, dirLabel(st.Dir), "last data from the "+side+" before "+formatDuration(time.Duration(si.Duration()))+" without data")
			}
			if si.OtherFirstFrame != 0 {
				add(si.OtherFirstFrame, 0, dirLabel(st.Dir.Other()), "first of "+strconv.FormatUint(si.OtherSegments, 10)+" data segments the "+other+" sent meanwhile")
			}
			if !si.Open && si.ToFrame != 0 {
				add(si.ToFrame, si.To, dirLabel(st.Dir), "data from the "+side+" again")
			}
		}
		if sr.OutcomeFrame != 0 {
			switch sr.Outcome {
			case detect.Stalled:
				add(sr.OutcomeFrame, sr.OutcomeTime, "", "last data before the session stalled")
			case detect.Reconnected:
				add(sr.OutcomeFrame, sr.OutcomeTime, "", "first frame of the session that replaced this one")
			}
		}
	}
	for _, d := range []analyze.Dir{analyze.ClientToHeadend, analyze.HeadendToClient} {
		ds := &s.Dirs[d]
		if ds.RSTFrame != 0 {
			add(ds.RSTFrame, ds.RSTTime, dirLabel(d), "RST from the "+d.Side())
		}
		if ds.FINFrame != 0 {
			add(ds.FINFrame, ds.FINTime, dirLabel(d), "FIN from the "+d.Side())
		}
		for _, f := range ds.LostSegmentFrames {
			if f != 0 {
				add(f, 0, dirLabel(d), "previous segment not captured: data from the "+d.Side()+" lost before the capture point")
			}
		}
	}
	byFrame := func(r EvidenceRow, fr uint64) int { return cmp.Compare(r.Frame, fr) }
	slices.SortStableFunc(rows, func(a, b EvidenceRow) int { return cmp.Compare(a.Frame, b.Frame) })
	// Frames that findings cite and nothing above explains.
	for _, f := range findings {
		if f.Session == nil || *f.Session != s.ID {
			continue
		}
		for _, fr := range f.Frames {
			if i, found := slices.BinarySearchFunc(rows, fr, byFrame); !found {
				rows = slices.Insert(rows, i, EvidenceRow{Frame: fr, What: "cited by finding " + f.ID})
			}
		}
	}
	// One row per frame, merged in place.
	out := rows[:0]
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
	if out == nil {
		out = []EvidenceRow{}
	}
	return slices.Clip(out), omitted
}
