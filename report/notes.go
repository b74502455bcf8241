package report

import (
	"fmt"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// sessionNote is what the text and Markdown reports say under their
// session table about one listed session: a VPN session, or one with
// retransmit requests or a stall. Capture-derived text in it has been
// passed through the renderer's escaping function.
type sessionNote struct {
	s *Session
	// facts are the lines before the requests: how the transport was
	// recognised, the stall, the reconnection, the time to the outcome.
	facts []string
	// requests are the first maxTextRequests retransmit requests; more
	// is how many are left out.
	requests []requestNote
	more     int
}

// requestNote is one retransmit request: text ("client asked for ack 1
// with 3 dup ACKs from frame 5"), then its state, then why, if known.
type requestNote struct {
	text  string
	state answerState
	why   string
}

type answerState int

const (
	answered answerState = iota
	unanswered
	inconclusive
)

// sessionNotes returns the notes of rep's listed sessions, and whether a
// VPN transport among them was only guessed.
func sessionNotes(rep *Report, esc func(string) string) (notes []sessionNote, guess bool) {
	for _, i := range rep.Listing.Shown {
		s := &rep.Sessions[i]
		vpn := analyze.Transport(s.Transport).IsVPN()
		if !vpn && len(s.RetransmitRequests) == 0 && s.Stall == nil {
			continue
		}
		n := sessionNote{s: s}
		if vpn && s.TransportWhy != "" {
			n.facts = append(n.facts, esc(s.TransportWhy))
		}
		if !s.TransportSure && vpn {
			guess = true
		}
		if st := s.Stall; st != nil {
			n.facts = append(n.facts, esc(st.Side)+" "+stallPhrase(st))
		}
		if s.NextSession != nil {
			n.facts = append(n.facts, fmt.Sprintf("reconnected as session %d", *s.NextSession))
		}
		if s.TimeToOutcome != nil {
			n.facts = append(n.facts, fmt.Sprintf("%s %s after the first unanswered retransmit request",
				esc(s.Outcome), formatDuration(time.Duration(*s.TimeToOutcome*float64(time.Second)))))
		}
		for k, q := range s.RetransmitRequests {
			if k == maxTextRequests {
				n.more = len(s.RetransmitRequests) - k
				break
			}
			r := requestNote{
				text: fmt.Sprintf("%s asked for ack %d with %s from frame %d", esc(q.RequestedBy), q.Ack,
					plural(int64(q.DupAcks), "dup ACK", "dup ACKs"), q.FirstFrame),
				state: answered,
			}
			switch {
			case q.Answered == nil:
				r.state = inconclusive
			case !*q.Answered:
				r.state = unanswered
			}
			if q.Why != "" {
				r.why = esc(q.Why)
			}
			n.requests = append(n.requests, r)
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
