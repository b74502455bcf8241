package report

import (
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// sessionNote is what the text, Markdown and HTML reports say under their
// session table about one listed session: a VPN session, or one with
// retransmit requests or a stall. Each fact is said once: what a finding
// about the session already says is left out here. Capture-derived text
// in it has been passed through the renderer's escaping function.
type sessionNote struct {
	s *Session
	// transport is the session's transport, as the reports name it.
	transport string
	// facts are the lines before the requests: how the transport was
	// recognised, the stall, the reconnection, the time to the outcome.
	facts []string
	// requests are the first maxTextRequests retransmit requests; more
	// is how many are left out.
	requests []requestNote
	more     int
}

// requestNote is one retransmit request: text ("headend asked for ack 1
// with 3 duplicate ACKs, frames 5-9 over 12 ms"), then its state, then
// why, if known, or, when a finding already says why, that finding's ID
// (see, not escaped: renderers write it as they write finding IDs).
type requestNote struct {
	text  string
	state answerState
	why   string
	see   string
}

type answerState int

const (
	answered answerState = iota
	unanswered
	inconclusive
)

// sessionNotes returns the notes of rep's listed sessions that have
// something to say, and whether a VPN transport among the listed sessions
// was only guessed.
func sessionNotes(rep *Report, esc func(string) string) (notes []sessionNote, guess bool) {
	for _, i := range rep.Listing.Shown {
		s := &rep.Sessions[i]
		vpn := analyze.Transport(s.Transport).IsVPN()
		if !s.TransportSure && vpn {
			guess = true
		}
		if !vpn && len(s.RetransmitRequests) == 0 && s.Stall == nil {
			continue
		}
		n := sessionNote{s: s, transport: esc(transportLabel(s.Transport))}
		if vpn && s.TransportWhy != "" && statedIn(rep, s.ID, s.TransportWhy) == nil {
			n.facts = append(n.facts, esc(s.TransportWhy))
		}
		if st := s.Stall; st != nil && findingWith(rep, &s.ID, detect.OneWayStall.Name, nil) == nil {
			n.facts = append(n.facts, esc(st.Side)+" "+stallPhrase(st))
		}
		outcomeStated := findingWith(rep, &s.ID, detect.SessionOutcome.Name, nil) != nil
		if s.NextSession != nil && !outcomeStated {
			n.facts = append(n.facts, fmt.Sprintf("reconnected as session %d", *s.NextSession))
		}
		// The time to the outcome means nothing for a session still
		// running at the end of the capture.
		if s.TimeToOutcome != nil && !outcomeStated && s.Outcome != string(detect.Running) {
			n.facts = append(n.facts, fmt.Sprintf("%s %s after the first unanswered retransmit request",
				esc(s.Outcome), formatSeconds(*s.TimeToOutcome)))
		}
		for k := range s.RetransmitRequests {
			if k == maxTextRequests {
				n.more = len(s.RetransmitRequests) - k
				break
			}
			q := &s.RetransmitRequests[k]
			r := requestNote{
				text:  fmt.Sprintf("%s asked for ack %d with %s", esc(requester(q)), q.Ack, requestExtent(q)),
				state: answered,
			}
			switch {
			case q.Answered == nil:
				r.state = inconclusive
			case !*q.Answered:
				r.state = unanswered
			}
			if f := requestStatedBy(rep, s.ID, q); f != nil {
				r.see = f.ID
			} else if q.Why != "" {
				r.why = esc(q.Why)
			}
			n.requests = append(n.requests, r)
		}
		if len(n.facts) == 0 && len(n.requests) == 0 {
			continue
		}
		notes = append(notes, n)
	}
	return notes, guess
}

// String returns the state's word.
func (a answerState) String() string {
	switch a {
	case unanswered:
		return "unanswered"
	case inconclusive:
		return "inconclusive"
	}
	return "answered"
}
