package detect

import (
	"fmt"
	"reflect"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Thresholds for judging a retransmit request.
const (
	// DefaultDupAcks is the default Config.DupAcks: two duplicate ACKs are
	// Wireshark's own fast-retransmit trigger.
	DefaultDupAcks = 2
	// JudgeWindow is the time after the first duplicate ACK within which a
	// request is too young to call unanswered, unless the data sender sent
	// at least JudgeSegments new segments past it (about one RTO).
	JudgeWindow = 1 * second
	// JudgeSegments is the number of new data segments past the hole that
	// proves the data sender was alive even inside JudgeWindow.
	JudgeSegments = 2
)

// RetransmitRequest judges every run of at least Config.DupAcks duplicate
// ACKs as answered, unanswered or inconclusive.
//
// Its result, for detectors that require it, is a [][]Request indexed by
// session (the Capture.Sessions index), each in frame order. It reports a
// warning per cTCP session whose requests were answered (the path lost
// data), a warning per cTCP session with requests it cannot judge, an info
// finding for duplicate-ACK runs below the threshold on cTCP, and an info
// finding per non-cTCP session with requests (they do not decide the
// verdict). Unanswered requests on cTCP are reported by UnansweredRequest.
var RetransmitRequest = &Detector{
	Name: "retransmit-request",
	Doc: `judge retransmit requests (runs of duplicate ACKs)

A run of at least --dupacks duplicate ACKs from one side for one ack number
is a retransmit request, unless the other side had sent nothing beyond that
ack number when it started (then it acknowledges everything and requests
nothing). It is answered when the data sender later sends a
segment covering the ack number, or when the asking side's ACK moves past it.
It is unanswered when neither happens although the data sender went on
sending data above it. It is inconclusive when the capture ends (or the
session's last packet comes) less than 1 s after the first duplicate ACK and
the data sender sent fewer than 2 new segments, or when the data sender sent
nothing afterwards at all.`,
	ResultType: reflect.TypeFor[[][]Request](),
	Run:        runRetransmitRequest,
}

func runRetransmitRequest(p *Pass) error {
	c := p.Capture
	all := make([][]Request, len(c.Sessions))
	for i, s := range c.Sessions {
		var reqs []Request
		short := 0
		var shortFrames []uint64
		for j := range s.Requests {
			r := &s.Requests[j]
			// Runs below the threshold, and runs that acknowledge all the
			// data sent (nothing outstanding to request), are not requests.
			if r.Count < p.Config.DupAcks || r.NothingOutstanding {
				short++
				if len(r.Frames) > 0 {
					shortFrames = append(shortFrames, r.Frames[0])
				}
				continue
			}
			if reqs == nil {
				reqs = make([]Request, 0, len(s.Requests)-j)
			}
			reqs = append(reqs, judgeRequest(c, s, r))
		}
		all[i] = reqs
		reportRequests(p, s, reqs, short, shortFrames)
	}
	p.SetResult(all)
	return nil
}

// judgeRequest applies the answered / unanswered / inconclusive rule to one
// run (docs/detection.md, "Retransmit requests").
func judgeRequest(c *analyze.Capture, s *analyze.Session, r *analyze.DupAckRun) Request {
	sender := r.By.Other().Side()
	asker := r.By.Side()
	// Answered: the data sender resent the bytes (a later segment covers
	// the ack number), or the asker's ACK moved past it (the hole was
	// filled, e.g. by a reordered segment).
	if r.CoverFrame != 0 && (r.AdvanceFrame == 0 || r.CoverFrame <= r.AdvanceFrame) {
		return Request{Run: r, Answer: Answered, Why: fmt.Sprintf(
			"the %s resent the bytes at relative seq %d in frame %d, %s after the first duplicate ACK",
			sender, r.Ack, r.CoverFrame, fmtDur(r.CoverTime-r.FirstTime))}
	}
	if r.AdvanceFrame != 0 {
		return Request{Run: r, Answer: Answered, Why: fmt.Sprintf(
			"the %s's ACK moved past relative seq %d in frame %d, %s after the first duplicate ACK, so the hole was filled",
			asker, r.Ack, r.AdvanceFrame, fmtDur(r.AdvanceTime-r.FirstTime))}
	}
	// Inconclusive: too close to the end to judge.
	horizon := sessionEnd(c, s) - r.FirstTime
	if horizon < JudgeWindow && r.DataAbove < JudgeSegments {
		return Request{Run: r, Answer: AnswerUnknown, Why: fmt.Sprintf(
			"the %s ends %s after the first duplicate ACK with only %s from the %s, too soon to judge",
			endNoun(c, s), fmtDur(horizon), plural(r.DataAbove, "new data segment"), sender)}
	}
	// Inconclusive: the sender went quiet, so it may simply be gone.
	if r.DataAbove == 0 {
		return Request{Run: r, Answer: AnswerUnknown, Why: fmt.Sprintf(
			"the %s sent no data after the request, so the capture cannot tell whether it was still alive to answer",
			sender)}
	}
	return Request{Run: r, Answer: Unanswered, Why: fmt.Sprintf(
		"the %s never resent the bytes at relative seq %d but sent %s past them; %s",
		sender, r.Ack, plural(r.DataAbove, "new data segment"), whereLost(r))}
}

// endNoun says which end bounded the judgement.
func endNoun(c *analyze.Capture, s *analyze.Session) string {
	if s.LastTime != 0 && s.LastTime < c.End {
		return "session"
	}
	return "capture"
}

// whereLost explains SeenBefore.
func whereLost(r *analyze.DupAckRun) string {
	if r.SeenBefore {
		return "the bytes had crossed the capture point before the request, so they were lost beyond it"
	}
	return "the bytes never appeared in the capture, so they were lost before the capture point (or not captured)"
}

// reportRequests reports the session-level request findings described in
// RetransmitRequest's doc.
func reportRequests(p *Pass, s *analyze.Session, reqs []Request, short int, shortFrames []uint64) {
	var answered, unknown, unanswered []*Request
	for i := range reqs {
		switch reqs[i].Answer {
		case Answered:
			answered = append(answered, &reqs[i])
		case Unanswered:
			unanswered = append(unanswered, &reqs[i])
		default:
			unknown = append(unknown, &reqs[i])
		}
	}
	if !isCTCP(s) && len(reqs) == 0 {
		return
	}
	base := sessionFilter(s)
	if !isCTCP(s) {
		frames := requestFrames(reqs)
		p.Report(Finding{
			Severity: Info,
			Session:  s.ID,
			Summary: fmt.Sprintf("%s has %s (%d answered, %d unanswered, %d inconclusive, first dup ACK frame %d); it is not cTCP, so they do not decide the verdict",
				describeSession(s), plural(len(reqs), "retransmit request"), len(answered), len(unanswered), len(unknown), firstDupFrame(reqs[0].Run)),
			Frames:          frames,
			WiresharkFilter: base + " && tcp.analysis.duplicate_ack",
		})
		return
	}
	if len(answered) > 0 {
		first := answered[0]
		frames := make([]uint64, 0, 2*len(answered))
		for _, r := range answered {
			frames = append(frames, r.Run.Frames...)
			frames = append(frames, r.Run.CoverFrame, r.Run.AdvanceFrame)
		}
		p.Report(Finding{
			Severity: Warning,
			Session:  s.ID,
			Summary: fmt.Sprintf("%s: %s answered, so data was lost or reordered on the path; the first: the %s asked for relative seq %d (%s) and %s",
				describeSession(s), plural(len(answered), "retransmit request was"), first.Run.By.Side(),
				first.Run.Ack, dupAckExtent(first.Run), first.Why),
			Frames:          evidenceFrames(frames...),
			WiresharkFilter: base + " && tcp.analysis.duplicate_ack",
		})
	}
	if len(unknown) > 0 {
		first := unknown[0]
		frames := make([]uint64, 0, len(unknown)*4)
		for _, r := range unknown {
			frames = append(frames, r.Run.Frames...)
		}
		p.Report(Finding{
			Severity: Warning,
			Session:  s.ID,
			Summary: fmt.Sprintf("%s: %s could not be judged; the first: the %s asked for relative seq %d (%s) but %s",
				describeSession(s), plural(len(unknown), "retransmit request"), first.Run.By.Side(),
				first.Run.Ack, dupAckExtent(first.Run), first.Why),
			Frames:          evidenceFrames(frames...),
			WiresharkFilter: fmt.Sprintf("%s && tcp.analysis.duplicate_ack && tcp.ack == %d", base, first.Run.Ack),
		})
	}
	if short > 0 {
		frames := evidenceFrames(shortFrames...)
		p.Report(Finding{
			Severity: Info,
			Session:  s.ID,
			Summary: fmt.Sprintf("%s: %s shorter than the --dupacks threshold of %d (first at frame %s), not counted as retransmit requests",
				describeSession(s), plural(short, "duplicate-ACK run"), p.Config.DupAcks, frameSpan(frames[:min(1, len(frames))])),
			Frames:          frames,
			WiresharkFilter: base + " && tcp.analysis.duplicate_ack",
		})
	}
}

// requestFrames lists the first duplicate ACK of each request.
func requestFrames(reqs []Request) []uint64 {
	frames := make([]uint64, 0, len(reqs))
	for i := range reqs {
		if len(reqs[i].Run.Frames) > 0 {
			frames = append(frames, reqs[i].Run.Frames[0])
		}
	}
	return evidenceFrames(frames...)
}

// firstDupFrame is the request's first duplicate ACK (Wireshark's "Dup ACK
// #1"), 0 if analyze listed no frames.
func firstDupFrame(r *analyze.DupAckRun) uint64 {
	if len(r.Frames) == 0 {
		return 0
	}
	return r.Frames[0]
}
