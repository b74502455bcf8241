package detect

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// QuietMin is how long before the end of the capture a session must have
// gone without data, while the capture continued, to be stalled. It equals
// StallMin.
const QuietMin = StallMin

// SessionOutcome decides how each session ended: reset, closed,
// reconnected, stalled or running, and the time from its first unanswered
// retransmit request to that outcome.
//
// Its result is a []SessionResult parallel to Capture.Sessions, with
// Requests, Stall, Outcome, OutcomeFrame, OutcomeTime, NextSession,
// FirstUnanswered and TimeToOutcome filled in. It reports an info finding
// for each cTCP session that was reset, stalled or reconnected.
var SessionOutcome = &Detector{
	Name: "session-outcome",
	Doc: `decide how each session ended

In order: reset (an RST was seen; the outcome frame is the first RST),
closed (a FIN; for UDP and ESP flows, which have none: both sides sent
data and fell quiet together for the last 5 s or more of the capture),
stalled (no data
from either side for the last 5 s or more of the capture while the capture
continued, or an open one-way stall),
running otherwise. A reset, closed or stalled session whose client address
opened a later session to the same headend address and port, starting after
the RST, the FIN or the last data, is reconnected instead (the outcome frame
is the new session's first frame).`,
	Requires:   []*Detector{RetransmitRequest, PathBehaviour},
	ResultType: reflect.TypeFor[[]SessionResult](),
	Run:        runSessionOutcome,
}

func runSessionOutcome(p *Pass) error {
	c := p.Capture
	reqs, err := resultOf[[][]Request](p, RetransmitRequest)
	if err != nil {
		return err
	}
	paths, err := resultOf[[]*Path](p, PathBehaviour)
	if err != nil {
		return err
	}
	out := make([]SessionResult, len(c.Sessions))
	peers := &peerChain{c: c}
	for i, s := range c.Sessions {
		sr := &out[i]
		sr.Session = s
		sr.NextSession = -1
		if i < len(reqs) && len(reqs[i]) > 0 {
			sr.Requests = slices.Clone(reqs[i])
		}
		if i < len(paths) && paths[i] != nil {
			pa := paths[i]
			sr.Path = pa
			for j := range sr.Requests {
				if j < len(pa.SentBy) {
					sr.Requests[j].SentBy, sr.Requests[j].SentByWhy = pa.SentBy[j], pa.SentByWhy[j]
				}
			}
		}
		if s.Transport.IsVPN() {
			sr.Stall = findStall(s)
		}
		decideOutcome(c, peers, i, sr)
		for j := range sr.Requests {
			if sr.Requests[j].Answer == Unanswered {
				sr.FirstUnanswered = &sr.Requests[j]
				break
			}
		}
		if sr.FirstUnanswered != nil && sr.Outcome != Running {
			if d := sr.OutcomeTime - sr.FirstUnanswered.Run.FirstTime; d > 0 {
				sr.TimeToOutcome = d
			}
		}
		if isCTCP(s) {
			reportOutcome(p, sr)
		}
	}
	p.SetResult(out)
	return nil
}

// peerKey groups the sessions a reconnect may join: same protocol, client
// address and headend address and port.
type peerKey struct {
	proto   uint8
	client  netip.Addr
	headend netip.AddrPort
}

// peerChain leads from a session to the later sessions of its peerKey,
// in index order. It indexes the capture when first asked: sessions that
// are still running, all of them in many small captures, never ask.
type peerChain struct {
	c *analyze.Capture
	// next[i] is the index of the next session with session i's key, -1
	// after the last.
	next []int
}

// after returns the index of the first session after session i with its
// key, -1 if there is none.
func (p *peerChain) after(i int) int {
	if p.next == nil {
		p.next = make([]int, len(p.c.Sessions))
		// last is only looked up, never iterated, so output order does
		// not depend on it.
		last := make(map[peerKey]int, len(p.c.Sessions))
		for j := len(p.c.Sessions) - 1; j >= 0; j-- {
			s := p.c.Sessions[j]
			k := peerKey{s.Proto, s.Client.Addr(), s.Headend}
			if n, ok := last[k]; ok {
				p.next[j] = n
			} else {
				p.next[j] = -1
			}
			last[k] = j
		}
	}
	return p.next[i]
}

// decideOutcome fills the outcome fields of sr for session i.
func decideOutcome(c *analyze.Capture, peers *peerChain, i int, sr *SessionResult) {
	s := sr.Session
	rst, rstTime := firstEvent(s.Dirs[0].RSTFrame, s.Dirs[0].RSTTime, s.Dirs[1].RSTFrame, s.Dirs[1].RSTTime)
	fin, finTime := firstEvent(s.Dirs[0].FINFrame, s.Dirs[0].FINTime, s.Dirs[1].FINFrame, s.Dirs[1].FINTime)
	lastFrame, lastTime := lastData(s)
	switch {
	case rst != 0:
		sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Reset, rst, rstTime
	case fin != 0:
		sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Closed, fin, finTime
	case c.End-lastTime >= QuietMin && s.Proto != decode.ProtoTCP && (sr.Stall == nil || !sr.Stall.Silence.Open) &&
		s.Dirs[0].DataSegments > 0 && s.Dirs[1].DataSegments > 0:
		// A UDP or ESP flow has no FIN: when both sides exchanged data and
		// fell quiet together (an IKE exchange that moved to port 4500, a
		// finished tunnel) it ended rather than stalled.
		sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Closed, s.LastFrame, s.LastTime
	case c.End-lastTime >= QuietMin:
		sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Stalled, lastFrame, lastTime
	case sr.Stall != nil && sr.Stall.Silence.Open:
		from := sr.Stall.Silence.FromFrame
		t := sr.Stall.Silence.From
		if from == 0 {
			from, t = s.FirstFrame, s.FirstTime
		}
		sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Stalled, from, t
	default:
		sr.Outcome = Running
		return
	}
	stop := sr.OutcomeTime
	for j := peers.after(i); j >= 0; j = peers.after(j) {
		n := c.Sessions[j]
		if n.FirstFrame > s.FirstFrame && n.FirstTime >= stop {
			sr.Outcome, sr.OutcomeFrame, sr.OutcomeTime = Reconnected, n.FirstFrame, n.FirstTime
			sr.NextSession = j
			return
		}
	}
}

// firstEvent returns the earlier of two optional events (frame 0: none).
func firstEvent(f1 uint64, t1 int64, f2 uint64, t2 int64) (uint64, int64) {
	switch {
	case f1 == 0:
		return f2, t2
	case f2 == 0 || f1 <= f2:
		return f1, t1
	}
	return f2, t2
}

// lastData returns the session's last data frame and its time, or its last
// packet when it carried no data.
func lastData(s *analyze.Session) (uint64, int64) {
	f, t := s.Dirs[0].LastDataFrame, s.Dirs[0].LastDataTime
	if s.Dirs[1].LastDataFrame > f {
		f, t = s.Dirs[1].LastDataFrame, s.Dirs[1].LastDataTime
	}
	if f == 0 {
		return s.LastFrame, s.LastTime
	}
	return f, t
}

// outcomeSentence describes the outcome: "was reset (first RST at frame
// 400)".
func outcomeSentence(c *analyze.Capture, sr *SessionResult) string {
	s := sr.Session
	switch sr.Outcome {
	case Reset:
		by := analyze.ClientToHeadend
		if s.Dirs[0].RSTFrame != sr.OutcomeFrame {
			by = analyze.HeadendToClient
		}
		return fmt.Sprintf("was reset by the %s (first RST at frame %d)", by.Side(), sr.OutcomeFrame)
	case Closed:
		by := analyze.ClientToHeadend
		if s.Dirs[0].FINFrame != sr.OutcomeFrame {
			by = analyze.HeadendToClient
		}
		return fmt.Sprintf("was closed by the %s (first FIN at frame %d)", by.Side(), sr.OutcomeFrame)
	case Stalled:
		return fmt.Sprintf("stalled (last data before the stall at frame %d, %s before the end of the capture)",
			sr.OutcomeFrame, fmtDur(c.End-sr.OutcomeTime))
	case Reconnected:
		return fmt.Sprintf("was replaced: the client reconnected to the same headend in session %d (frame %d)",
			sr.NextSession, sr.OutcomeFrame)
	}
	return "was still running at the end of the capture"
}

// reportOutcome reports a cTCP session that did not end normally.
func reportOutcome(p *Pass, sr *SessionResult) {
	s := sr.Session
	var filter string
	switch sr.Outcome {
	case Reset:
		filter = sessionFilter(s) + " && tcp.flags.reset == 1"
	case Stalled:
		filter = fmt.Sprintf("%s && frame.number >= %d", sessionFilter(s), sr.OutcomeFrame)
	case Reconnected:
		filter = streamsFilter([]*analyze.Session{s, p.Capture.Sessions[sr.NextSession]})
	default:
		return
	}
	summary := describeSession(s) + " " + outcomeSentence(p.Capture, sr)
	frames := []uint64{sr.OutcomeFrame}
	if u := sr.FirstUnanswered; u != nil {
		summary += fmt.Sprintf(", %s after its first unanswered retransmit request (frame %d)",
			fmtDur(sr.TimeToOutcome), firstDupFrame(u.Run))
		frames = append(frames, firstDupFrame(u.Run))
	}
	p.Report(Finding{
		Severity:        Info,
		Session:         s.ID,
		Summary:         summary,
		Frames:          evidenceFrames(frames...),
		WiresharkFilter: filter,
	})
}
