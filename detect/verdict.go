package detect

import (
	"fmt"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Stop is one direction's stream stopping while the other kept sending,
// seen from beyond the device: the failure as it looks where no duplicate
// ACK is visible.
type Stop struct {
	// Dir is the direction that stopped.
	Dir analyze.Dir
	// Silence runs from Dir's last data segment to the end of the session
	// or of the capture.
	Silence analyze.Silence
	// HoleFrame is the last frame of Dir flagged "previous segment not
	// captured" before the stop (the stream stopped at a visible hole),
	// 0 if none.
	HoleFrame uint64
}

// rank orders (verdict, confidence) pairs, worst first.
func rank(v Verdict, c Confidence) int {
	switch {
	case v == Affected && c == Proven:
		return 0
	case v == Affected:
		return 1
	case v == AtRisk && c == Probable:
		return 2
	case v == AtRisk:
		return 3
	case v == Inconclusive:
		return 4
	case v == Healthy:
		return 5
	}
	return 6
}

// decideVerdict judges every cTCP session (SessionResult.Verdict,
// Confidence, Why, Stop), sets the capture's verdict to the worst of them
// and returns the index of the session it rests on (-1 when there is
// none, or for healthy, inconclusive and no-ctcp captures).
func decideVerdict(c *analyze.Capture, res *Result) int {
	var ctcp []*SessionResult
	for i := range res.Sessions {
		if isCTCP(res.Sessions[i].Session) {
			ctcp = append(ctcp, &res.Sessions[i])
		}
	}
	if len(ctcp) == 0 {
		res.Verdict = NoCTCP
		res.VerdictWhy = noCTCPWhy(c, res)
		res.ConfidenceWhy = "no session carried Cisco's cTCP trailer or its ESP header pattern"
		return -1
	}
	var worst *SessionResult
	same := 0
	for _, sr := range ctcp {
		judgeSession(c, sr)
		switch {
		case worst == nil || rank(sr.Verdict, sr.Confidence) < rank(worst.Verdict, worst.Confidence):
			worst, same = sr, 1
		case sr.Verdict == worst.Verdict && sr.Confidence == worst.Confidence:
			same++
		}
	}
	res.Verdict, res.Confidence = worst.Verdict, worst.Confidence
	res.VerdictWhy = worst.Why
	if same > 1 {
		res.VerdictWhy += fmt.Sprintf(" (%d of %s judged the same)", same, plural(len(ctcp), "cTCP session"))
	}
	res.ConfidenceWhy = confidenceWhy(worst)
	if res.Verdict == Affected || res.Verdict == AtRisk {
		return worst.Session.ID
	}
	return -1
}

// judgeSession applies the verdict rules (docs/detection.md, "The
// verdict") to one cTCP session, in order: affected/proven (an unanswered
// request), affected/probable (seen beyond the device: one direction
// stops while the other keeps sending, then teardown), healthy (a sender
// resends: real TCP carries the framing), at-risk/probable (a TCP stack
// answers in a cTCP endpoint's name), at-risk/possible (loss or a stall
// whose effect the capture cannot judge), inconclusive (a guess, or no
// data), healthy.
func judgeSession(c *analyze.Capture, sr *SessionResult) {
	s := sr.Session
	pa := sr.Path
	if pa == nil {
		pa = &Path{}
	}
	if u := sr.FirstUnanswered; u != nil {
		r := u.Run
		sr.Verdict, sr.Confidence = Affected, Proven
		n := 0
		for i := range sr.Requests {
			if sr.Requests[i].Answer == Unanswered {
				n++
			}
		}
		sr.Why = fmt.Sprintf("%s: %s for relative seq %d (%s); the %s never resent it and sent %s past it",
			describeSession(s), asked(u), r.Ack, dupAckExtent(r),
			r.By.Other().Side(), plural(r.DataAbove, "new segment"))
		if n > 1 {
			sr.Why += fmt.Sprintf(" (%s unanswered in this session)", plural(n, "request"))
		}
		if sr.Outcome != Running && sr.TimeToOutcome > 0 {
			sr.Why += fmt.Sprintf("; the session %s %s later", outcomeVerb(sr), fmtDur(sr.TimeToOutcome))
		}
		return
	}
	if st := findStop(c, sr); st != nil {
		sr.Stop = st
		sr.Verdict, sr.Confidence = Affected, Probable
		sr.Why = fmt.Sprintf("%s: %s", describeSession(s), stopSentence(sr, st))
		return
	}
	if pa.Resends[0] || pa.Resends[1] {
		d := analyze.ClientToHeadend
		if !pa.Resends[d] {
			d = d.Other()
		}
		how := resendText(s, d)
		for i := range sr.Requests {
			if r := sr.Requests[i].Run; r.By == d.Other() && r.CoverFrame != 0 && sr.Requests[i].Answer == Answered {
				how = fmt.Sprintf("it resent the bytes the %s asked for in frame %d", r.By.Side(), r.CoverFrame)
				break
			}
		}
		sr.Verdict = Healthy
		sr.Why = fmt.Sprintf("%s: the %s resends lost bytes (%s), so a real TCP stack carries the cTCP framing and a device in the path cannot be left waiting for bytes that never come",
			describeSession(s), d.Side(), how)
		return
	}
	if pa.TCPStack != nil && *pa.TCPStack {
		sr.Verdict, sr.Confidence = AtRisk, Probable
		sr.Why = fmt.Sprintf("%s: %s; one lost segment will stall this tunnel, as the cTCP endpoint never resends (this capture shows no unanswered request)",
			describeSession(s), pa.stackSentence())
		return
	}
	if why := unjudgedLoss(c, sr); why != "" {
		sr.Verdict, sr.Confidence = AtRisk, Possible
		sr.Why = fmt.Sprintf("%s: %s", describeSession(s), why)
		return
	}
	if !s.TransportSure {
		sr.Verdict = Inconclusive
		sr.Why = fmt.Sprintf("%s is cTCP only by a guess (%s) and shows nothing to judge", describeSession(s), s.TransportWhy)
		return
	}
	if s.Dirs[0].DataSegments+s.Dirs[1].DataSegments == 0 {
		sr.Verdict = Inconclusive
		sr.Why = fmt.Sprintf("%s carried no data to judge", describeSession(s))
		return
	}
	sr.Verdict = Healthy
	data := s.Dirs[0].DataSegments + s.Dirs[1].DataSegments
	if lossSeen(pa) {
		sr.Why = fmt.Sprintf("%s carried %s; %s, and the data went on past every hole, so nothing in the path held the flow",
			describeSession(s), plural(data, "data segment"), lossText(pa))
		return
	}
	sr.Why = fmt.Sprintf("%s carried %s with no loss, retransmit request or one-way stall visible here",
		describeSession(s), plural(data, "data segment"))
}

// asked says who asked for the bytes: "a TCP stack in the path asked,
// in the headend's name,", "the headend asked" when its endpoint did, or
// "the headend side asked" when the capture cannot tell which.
func asked(r *Request) string {
	switch r.SentBy {
	case SentByPathDevice:
		return "a TCP stack in the path asked, in the " + r.Run.By.Side() + "'s name,"
	case SentByEndpoint:
		return "the " + r.Run.By.Side() + " asked"
	}
	return "the " + r.Run.By.Side() + " side asked"
}

// dupAckExtent gives a run's whole extent (DupAckExtent): never a
// capped list of frames.
func dupAckExtent(r *analyze.DupAckRun) string {
	return DupAckExtent(r.Count, firstDupFrame(r), lastDupFrame(r), r.LastTime-r.FirstTime)
}

// lastDupFrame is the run's last duplicate ACK.
func lastDupFrame(r *analyze.DupAckRun) uint64 {
	if r.LastFrame != 0 {
		return r.LastFrame
	}
	if len(r.Frames) == 0 {
		return 0
	}
	return r.Frames[len(r.Frames)-1]
}

// findStop applies the affected/probable rule: a direction that had been
// sending stops (its last data at least JudgeWindow before the session's
// end) while the other direction sends at least StallOtherSegments data
// segments, no request for its bytes is visible, and the session is then
// torn down by the side that kept sending or by a reset, replaced by a
// reconnect, or silent to the end of the capture for StallMin or more.
func findStop(c *analyze.Capture, sr *SessionResult) *Stop {
	s := sr.Session
	var best *Stop
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		ds := &s.Dirs[d]
		si := ds.EndSilence
		if ds.DataSegments < StallOtherSegments || si.FromFrame == 0 || si.OtherSegments < StallOtherSegments {
			continue
		}
		end := si.To
		if end <= si.From {
			end = sessionEnd(c, s)
		}
		quiet := end - si.From
		if quiet < JudgeWindow {
			continue
		}
		torn := false
		switch sr.Outcome {
		case Reset, Reconnected:
			torn = true
		case Closed:
			// The side that kept sending gave up on the silent one after
			// a while (a clean close, where one side sends its last
			// messages before the FIN, is not that).
			torn = s.Dirs[d.Other()].FINFrame != 0 && (s.Dirs[d].FINFrame == 0 || s.Dirs[d.Other()].FINFrame < s.Dirs[d].FINFrame) &&
				quiet >= 2*JudgeWindow && si.OtherSegments >= 3*StallOtherSegments
		case Stalled:
			torn = quiet >= StallMin
		}
		if !torn {
			continue
		}
		// Not beyond the device when its requests are visible here.
		visible := false
		for i := range sr.Requests {
			if sr.Requests[i].Run.By == d.Other() {
				visible = true
			}
		}
		if visible {
			continue
		}
		st := &Stop{Dir: d, Silence: si}
		st.Silence.To = end
		if n := len(ds.LostSegmentFrames); n > 0 {
			st.HoleFrame = ds.LostSegmentFrames[n-1]
		}
		if best == nil || st.Silence.Duration() > best.Silence.Duration() {
			best = st
		}
	}
	return best
}

// stopSentence describes a Stop and what became of the session.
func stopSentence(sr *SessionResult, st *Stop) string {
	d := st.Dir
	var b strings.Builder
	fmt.Fprintf(&b, "the %s->%s stream stops at frame %d", d.Side(), d.Other().Side(), st.Silence.FromFrame)
	if st.HoleFrame != 0 {
		fmt.Fprintf(&b, " (after a hole: frame %d is flagged \"previous segment not captured\")", st.HoleFrame)
	}
	fmt.Fprintf(&b, " while the %s keeps sending (%s from frame %d over %s); no duplicate ACK is visible from here, and %s",
		d.Other().Side(), plural(st.Silence.OtherSegments, "data segment"), st.Silence.OtherFirstFrame,
		fmtDur(st.Silence.Duration()), stopOutcome(sr, d))
	return b.String()
}

// stopOutcome says how a stopped session ended.
func stopOutcome(sr *SessionResult, d analyze.Dir) string {
	if sr.Outcome == Stalled {
		return fmt.Sprintf("the %s sent no more data up to the end of the capture", d.Side())
	}
	return "the session " + outcomeVerb(sr)
}

// unjudgedLoss returns why the session's loss or stall cannot be judged,
// "" when there is none or it was tolerated.
func unjudgedLoss(c *analyze.Capture, sr *SessionResult) string {
	s := sr.Session
	for i := range sr.Requests {
		if r := &sr.Requests[i]; r.Answer == AnswerUnknown {
			return fmt.Sprintf("%s for relative seq %d (%s) but %s; whether the path holds the flow on that hole this capture cannot tell",
				asked(r), r.Run.Ack, dupAckExtent(r.Run), r.Why)
		}
	}
	if st := sr.Stall; st != nil && !st.Silence.Open {
		return "a one-way stall the capture cannot explain: " + stallSentence(st)
	}
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		// A stream that stopped while the other went on, too short
		// before the end of the capture to call it.
		si := s.Dirs[d].EndSilence
		if si.Open && si.ToFrame == 0 && si.FromFrame != 0 && s.Dirs[d].DataSegments >= StallOtherSegments &&
			si.OtherSegments >= StallOtherSegments && c.End-si.From >= 2*JudgeWindow {
			return fmt.Sprintf("the %s->%s stream stops at frame %d while the %s keeps sending (%s from frame %d) until the end of the capture %s later; the capture ends too soon to tell whether the tunnel recovers",
				d.Side(), d.Other().Side(), si.FromFrame, d.Other().Side(), plural(si.OtherSegments, "data segment"), si.OtherFirstFrame, fmtDur(c.End-si.From))
		}
	}
	pa := sr.Path
	if pa == nil {
		return ""
	}
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		acc := &pa.Dirs[d]
		ds := &s.Dirs[d]
		if acc.LostBeforeCapture > 0 && !holesPassed(s, d, sr.Requests) {
			return fmt.Sprintf("the %s's stream has %s (last at frame %d) and no data after the last one, so whether anything held the flow there this capture cannot tell",
				d.Side(), plural(acc.LostBeforeCapture, "hole"), ds.LostSegmentFrames[len(ds.LostSegmentFrames)-1])
		}
	}
	return ""
}

// lossSeen reports whether the accounting shows loss in either direction.
func lossSeen(pa *Path) bool {
	for d := range pa.Dirs {
		a := &pa.Dirs[d]
		if a.LostBeforeCapture > 0 || a.LostAfterCapture > 0 || a.ESPMissing > 0 {
			return true
		}
	}
	return false
}

// lossText states the measured loss per direction, each with its
// numerator and denominator: "client->headend: 1 of 230 ESP sequence
// numbers missing (0.43 %), 1 hole before the capture point".
func lossText(pa *Path) string {
	var parts []string
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		if t := pa.Dirs[d].text(); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "; ")
}

// text states one direction's loss, "" when none was seen.
func (a *DirAccount) text() string {
	var dp []string
	if a.Basis == "esp" && a.Num > 0 {
		dp = append(dp, fmt.Sprintf("%d of %s missing (%s)", a.Num, plural(a.Den, "ESP sequence number"), fmtPercent(a.Rate())))
	}
	if a.LostBeforeCapture > 0 {
		s := fmt.Sprintf("%s lost before the capture point", plural(a.LostBeforeCapture, "hole"))
		if a.Basis == "tcp" {
			s += fmt.Sprintf(" (%d of %s, %s)", a.Num, plural(a.Den, "data segment"), fmtPercent(a.Rate()))
		}
		dp = append(dp, s)
	}
	if a.LostAfterCapture > 0 {
		dp = append(dp, fmt.Sprintf("%s for bytes seen here (lost after the capture point)", plural(a.LostAfterCapture, "retransmit request")))
	}
	switch {
	case a.AckedUnseen > 0 && a.LostBeforeCapture > 0:
		// A cTCP receiver acknowledges the highest byte it got, holes
		// and all; a TCP receiver only bytes it has: then the capture
		// missed them. One capture cannot tell the two apart.
		dp = append(dp, fmt.Sprintf("%s past the holes (a cTCP receiver acknowledges past a hole; otherwise the capture missed the bytes)",
			plural(a.AckedUnseen, "ACK")))
	case a.AckedUnseen > 0:
		dp = append(dp, fmt.Sprintf("%s of bytes never captured (capture loss or asymmetric routing)", plural(a.AckedUnseen, "ACK")))
	}
	if len(dp) == 0 {
		return ""
	}
	return fmt.Sprintf("%s->%s: %s", a.Dir.Side(), a.Dir.Other().Side(), strings.Join(dp, ", "))
}

// confidenceWhy says how sure the verdict is, what the capture cannot see
// from where it was taken, and what to capture next.
func confidenceWhy(sr *SessionResult) string {
	pa := sr.Path
	if pa == nil {
		pa = &Path{CapturePoint: UnknownSide}
	}
	where := fmt.Sprintf("Capture point: %s: %s.", pa.CapturePoint, pa.CapturePointWhy)
	var next string
	switch pa.CapturePoint {
	case ClientSide:
		next = "capture on the headend side of the device in the path too (" + asaCapture(sr) + ") to see what it delivers"
	case HeadendSide:
		next = "capture on the client side of the device in the path (on the client, or on the ASA's outside interface: " + asaCapture(sr) + ") to see its duplicate ACKs"
	default:
		next = "capture on both sides of the device in the path (" + asaCapture(sr) + ")"
	}
	switch {
	case sr.Verdict == Affected && sr.Confidence == Proven:
		return "Proven: the capture holds the unanswered retransmit request itself. " + where + " Next: " + next + "."
	case sr.Verdict == Affected:
		return "Probable, not proven: from beyond the device no duplicate ACK is visible, and a client that vanished looks alike from here. " + where + " To prove it, " + next + "."
	case sr.Verdict == AtRisk && sr.Confidence == Probable:
		return "Probable: the failure needs one lost segment, which this capture did not show unanswered. " + where + " Next: " + next + "."
	case sr.Verdict == AtRisk:
		return "Possible: the capture shows a sign of the failure (see the verdict) but not its effect. " + where + " Next: " + next + "."
	case sr.Verdict == Healthy:
		return "Healthy as far as this capture shows; loss beyond the capture point would show only as requests or holes on the far side. " + where + " Next, if the tunnel still fails: " + next + "."
	}
	return where + " Next: " + next + "."
}

// asaCapture is the ASA capture command for the session's flow, with
// placeholders where the addresses seen may be a NAT's or a proxy's.
func asaCapture(sr *SessionResult) string {
	s := sr.Session
	client, headend, _, _ := configAddrs(s, sr.Path)
	return fmt.Sprintf("capture CTCP interface <IF> match tcp host %s host %s eq %d", client, headend, s.Headend.Port())
}

// noCTCPWhy explains a no-ctcp verdict with the transports seen.
func noCTCPWhy(c *analyze.Capture, res *Result) string {
	if len(res.Transports) == 0 {
		return fmt.Sprintf("no cTCP and no other VPN transport among %s", plural(len(c.Sessions), "session"))
	}
	parts := make([]string, len(res.Transports))
	for i, tc := range res.Transports {
		parts[i] = fmt.Sprintf("%s (%s)", tc.Transport.Label(), plural(tc.Sessions, "session"))
	}
	return "no cTCP session; VPN transports seen: " + strings.Join(parts, ", ")
}
