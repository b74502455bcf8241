package detect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// evidence is what one cTCP session contributes to the verdict.
type evidence struct {
	unanswered bool
	answered   *Request // first answered request
	unknown    *Request // first inconclusive request
	stall      bool
	loss       bool
}

func (e evidence) atRisk() bool { return e.answered != nil || e.stall || e.loss }

func sessionEvidence(sr *SessionResult) evidence {
	var e evidence
	for i := range sr.Requests {
		r := &sr.Requests[i]
		switch r.Answer {
		case Unanswered:
			e.unanswered = true
		case Answered:
			if e.answered == nil {
				e.answered = r
			}
		default:
			if e.unknown == nil {
				e.unknown = r
			}
		}
	}
	e.stall = sr.Stall != nil
	e.loss = sr.Loss != nil && sr.Loss.Any()
	return e
}

// decideVerdict sets res.Verdict and res.VerdictWhy and returns the index
// of the session the verdict rests on (the first affected, else the first
// at-risk cTCP session), -1 when there is none.
//
// Only cTCP sessions decide. In order: affected when one has an unanswered
// request; at-risk when one has an answered request, loss or a one-way
// stall; inconclusive when one has a request that cannot be judged, or
// when no cTCP session is both recognised by content and carrying data;
// healthy otherwise; no-ctcp without cTCP sessions.
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
		return -1
	}
	// Affected.
	var affected []*SessionResult
	for _, sr := range ctcp {
		if sr.FirstUnanswered != nil {
			affected = append(affected, sr)
		}
	}
	if len(affected) > 0 {
		sr := affected[0]
		r := sr.FirstUnanswered.Run
		why := fmt.Sprintf("%s: the %s asked %s (dup ACK frames %s) for relative seq %d and the %s never resent it but sent %s past it",
			describeSession(sr.Session), r.By.Side(), plural(r.Count, "time"), frameSpan(r.Frames), r.Ack,
			r.By.Other().Side(), plural(r.DataAbove, "new segment"))
		if len(affected) > 1 {
			why += fmt.Sprintf(" (%d of %d cTCP sessions affected)", len(affected), len(ctcp))
		}
		res.Verdict, res.VerdictWhy = Affected, why
		return sr.Session.ID
	}
	// At risk.
	for _, sr := range ctcp {
		e := sessionEvidence(sr)
		if !e.atRisk() {
			continue
		}
		var parts []string
		if e.answered != nil {
			parts = append(parts, fmt.Sprintf("an answered retransmit request from the %s (dup ACK frames %s)",
				e.answered.Run.By.Side(), frameSpan(e.answered.Run.Frames)))
		}
		if e.stall {
			parts = append(parts, "a one-way stall: "+stallSentence(sr.Stall))
		}
		if e.loss {
			parts = append(parts, "loss: "+sr.Loss.sentence())
		}
		res.Verdict = AtRisk
		res.VerdictWhy = fmt.Sprintf("%s shows %s, but no unanswered retransmit request", describeSession(sr.Session), strings.Join(parts, "; "))
		return sr.Session.ID
	}
	// Inconclusive: requests that cannot be judged.
	for _, sr := range ctcp {
		if e := sessionEvidence(sr); e.unknown != nil {
			r := e.unknown.Run
			res.Verdict = Inconclusive
			res.VerdictWhy = fmt.Sprintf("%s: the %s asked %s (dup ACK frames %s) for relative seq %d but %s, and nothing else shows a problem",
				describeSession(sr.Session), r.By.Side(), plural(r.Count, "time"), frameSpan(r.Frames), r.Ack, e.unknown.Why)
			return -1
		}
	}
	// Healthy needs a cTCP session recognised by content that carried data.
	var good []*SessionResult
	for _, sr := range ctcp {
		s := sr.Session
		if s.TransportSure && s.Dirs[0].DataSegments+s.Dirs[1].DataSegments > 0 {
			good = append(good, sr)
		}
	}
	if len(good) == 0 {
		s := ctcp[0].Session
		res.Verdict = Inconclusive
		if !s.TransportSure {
			res.VerdictWhy = fmt.Sprintf("%s is cTCP only by a guess (%s) and shows no retransmit request, loss or stall",
				describeSession(s), s.TransportWhy)
		} else {
			res.VerdictWhy = fmt.Sprintf("%s carried no data to judge", describeSession(s))
		}
		return -1
	}
	var ids []string
	var data uint64
	for _, sr := range good {
		ids = append(ids, strconv.Itoa(sr.Session.ID))
		data += sr.Session.Dirs[0].DataSegments + sr.Session.Dirs[1].DataSegments
	}
	res.Verdict = Healthy
	if len(good) == 1 {
		res.VerdictWhy = fmt.Sprintf("%s carried %s with no retransmit request, loss or one-way stall",
			describeSession(good[0].Session), plural(data, "data segment"))
	} else {
		res.VerdictWhy = fmt.Sprintf("%d cTCP sessions (%s) carried %s with no retransmit request, loss or one-way stall",
			len(good), strings.Join(ids, ", "), plural(data, "data segment"))
	}
	return -1
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
