package detect

import (
	"fmt"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// maxUnansweredFindings caps the critical findings per session; the rest
// are summed up in one more finding.
const maxUnansweredFindings = 10

// UnansweredRequest reports each unanswered retransmit request on a cTCP
// session as a critical finding: the known cTCP failure (the cTCP endpoint
// is not a real TCP stack and ignores duplicate ACKs).
//
// It reports at most maxUnansweredFindings (10) requests per session one by
// one, then one more finding that counts the rest. It publishes no result.
var UnansweredRequest = &Detector{
	Name: "unanswered-retransmit-request",
	Doc: `report unanswered retransmit requests on cTCP sessions

An unanswered request (see retransmit-request) on a cTCP session is the
failure ctcpdiag looks for: a stateful device asked for a lost segment and
the cTCP endpoint, which never retransmits, kept sending new data past the
hole. Each finding gives the asking side, the requested relative sequence
number, the duplicate ACK frames, where the bytes were lost relative to the
capture point, and what became of the session.`,
	Requires: []*Detector{SessionOutcome},
	Run:      runUnansweredRequest,
}

func runUnansweredRequest(p *Pass) error {
	outcomes, err := resultOf[[]SessionResult](p, SessionOutcome)
	if err != nil {
		return err
	}
	for i := range outcomes {
		sr := &outcomes[i]
		if !isCTCP(sr.Session) || sr.FirstUnanswered == nil {
			continue
		}
		n := 0
		var restFrames []uint64
		rest := 0
		for j := range sr.Requests {
			r := &sr.Requests[j]
			if r.Answer != Unanswered {
				continue
			}
			n++
			if n > maxUnansweredFindings {
				rest++
				restFrames = append(restFrames, firstDupFrame(r.Run))
				continue
			}
			p.Report(unansweredFinding(p.Capture, sr, r))
		}
		if rest > 0 {
			frames := evidenceFrames(restFrames...)
			p.Report(Finding{
				Severity: Critical,
				Session:  sr.Session.ID,
				Summary: fmt.Sprintf("%s: %s, first dup ACK frames %s",
					describeSession(sr.Session), plural(rest, "more unanswered retransmit request"), frameSpan(frames)),
				Frames:          frames,
				WiresharkFilter: framesFilter(frames),
			})
		}
	}
	return nil
}

// unansweredFinding builds the finding for one unanswered request, e.g.
// "session 3 (cTCP ...): a TCP stack in the path asked 64 times in the
// headend's name for relative seq 48213 (duplicate ACKs at frames 112 to
// 930 over 8.4 s); ...; the client never resent them and sent 37 new
// segments past the hole; ...; the session was reset 8.4 s later".
func unansweredFinding(c *analyze.Capture, sr *SessionResult, r *Request) Finding {
	run := r.Run
	s := sr.Session
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s for relative seq %d (%s", describeSession(s),
		asked(r), run.Ack, dupAckExtent(run))
	if r.SentBy == SentByPathDevice {
		if _, ev, ok := strings.Cut(r.SentByWhy, ": "); ok {
			fmt.Fprintf(&b, "; %s", ev)
		}
	}
	b.WriteString(")")
	fmt.Fprintf(&b, "; the %s never resent the bytes and sent %s past the hole; %s",
		run.By.Other().Side(), plural(run.DataAbove, "new segment"), whereLost(run))
	if run.RequestedFrame != 0 {
		fmt.Fprintf(&b, " (the requested bytes crossed the capture point in frame %d)", run.RequestedFrame)
	}
	if run.LostSegmentFrame != 0 {
		fmt.Fprintf(&b, " (frame %d is flagged \"previous segment not captured\")", run.LostSegmentFrame)
	}
	if d := sr.OutcomeTime - run.FirstTime; sr.Outcome != Running && d >= 0 {
		fmt.Fprintf(&b, "; the session %s, %s later", outcomeVerb(sr), fmtDur(d))
	} else if sr.Outcome != Running {
		fmt.Fprintf(&b, "; the session %s", outcomeVerb(sr))
	} else {
		b.WriteString("; the session was still running at the end of the capture")
	}
	if !s.TransportSure {
		fmt.Fprintf(&b, " (cTCP is a guess here: %s)", s.TransportWhy)
	}
	frames := make([]uint64, 0, len(run.Frames)+4)
	frames = append(frames, run.OrigFrame, run.LostSegmentFrame, run.RequestedFrame, lastDupFrame(run))
	frames = append(frames, run.Frames...)
	return Finding{
		Severity:        Critical,
		Session:         s.ID,
		Summary:         b.String(),
		Frames:          evidenceFrames(frames...),
		WiresharkFilter: fmt.Sprintf("%s && tcp.analysis.duplicate_ack && tcp.ack == %d", sessionFilter(s), run.Ack),
	}
}

// outcomeVerb is the outcome as a verb phrase for "the session ...".
func outcomeVerb(sr *SessionResult) string {
	switch sr.Outcome {
	case Reset:
		return fmt.Sprintf("was reset (frame %d)", sr.OutcomeFrame)
	case Closed:
		return fmt.Sprintf("was closed (frame %d)", sr.OutcomeFrame)
	case Stalled:
		return fmt.Sprintf("stalled (last data at frame %d)", sr.OutcomeFrame)
	case Reconnected:
		return fmt.Sprintf("was replaced by a reconnect (session %d, frame %d)", sr.NextSession, sr.OutcomeFrame)
	}
	return "kept running"
}
