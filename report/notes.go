package report

import (
	"strconv"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// sessionNote is what the reports say under their sessions table about
// one listed session: a VPN session, or one with retransmit requests or a
// stall. Each fact is said once: what a finding about the session already
// says is left out here.
type sessionNote struct {
	// ID is the session's ID; Transport names its transport as the
	// reports do, Filter is its Wireshark display filter (code).
	ID                int
	Transport, Filter string
	// Facts are the lines before the requests: how the transport was
	// recognised, the stall, the reconnection, the time to the outcome.
	Facts []string
	// Requests are the first maxTextRequests retransmit requests; More
	// says how many are left out ("... 2 more retransmit requests"), ""
	// when none.
	Requests []requestNote
	More     string
}

// requestNote is one retransmit request: Text ("headend asked for ack 1
// with 3 duplicate ACKs, frames 5-9 over 12 ms"), its State ("answered",
// "unanswered" or "inconclusive"), then After: why, if known, or, when a
// finding already says why, that finding ("(see finding x)"); nil when
// neither.
type requestNote struct {
	Text, State string
	After       phrase
}

// sessionNotes returns the notes of the listed sessions shown that have
// something to say, and whether a VPN transport among them was only
// guessed.
func sessionNotes(rep *Report, shown []*Session) (notes []sessionNote, guess bool) {
	for _, s := range shown {
		vpn := analyze.Transport(s.Transport).IsVPN()
		if !s.TransportSure && vpn {
			guess = true
		}
		if !vpn && len(s.RetransmitRequests) == 0 && s.Stall == nil {
			continue
		}
		n := sessionNote{ID: s.ID, Transport: clean(transportLabel(s.Transport)), Filter: clean(s.WiresharkFilter)}
		if vpn && s.TransportWhy != "" && statedIn(rep, s.ID, s.TransportWhy) == nil {
			n.Facts = append(n.Facts, clean(s.TransportWhy))
		}
		if d := DecodeAs(s); d != "" {
			n.Facts = append(n.Facts, clean(d))
		}
		if st := s.Stall; st != nil && findingWith(rep, &s.ID, detect.OneWayStall.Name, nil) == nil {
			n.Facts = append(n.Facts, clean(st.Side+" "+stallPhrase(st)))
		}
		outcomeStated := findingWith(rep, &s.ID, detect.SessionOutcome.Name, nil) != nil
		if s.NextSession != nil && !outcomeStated {
			n.Facts = append(n.Facts, "reconnected as session "+strconv.Itoa(*s.NextSession))
		}
		// The time to the outcome means nothing for a session still
		// running at the end of the capture.
		if s.TimeToOutcome != nil && !outcomeStated && s.Outcome != string(detect.Running) {
			n.Facts = append(n.Facts, clean(s.Outcome+" "+formatSeconds(*s.TimeToOutcome)+" after the first unanswered retransmit request"))
		}
		if len(s.RetransmitRequests) > 0 {
			n.Requests = make([]requestNote, 0, min(len(s.RetransmitRequests), maxTextRequests))
		}
		for k := range s.RetransmitRequests {
			if k == maxTextRequests {
				n.More = "... " + strconv.Itoa(len(s.RetransmitRequests)-k) + " more retransmit requests"
				break
			}
			n.Requests = append(n.Requests, newRequestNote(rep, s.ID, &s.RetransmitRequests[k]))
		}
		if len(n.Facts) == 0 && len(n.Requests) == 0 {
			continue
		}
		notes = append(notes, n)
	}
	return notes, guess
}

func newRequestNote(rep *Report, id int, q *RetransmitRequest) requestNote {
	r := requestNote{
		Text:  clean(requester(q) + " asked for ack " + strconv.FormatUint(uint64(q.Ack), 10) + " with " + requestExtent(q)),
		State: "answered",
	}
	switch {
	case q.Answered == nil:
		r.State = "inconclusive"
	case !*q.Answered:
		r.State = "unanswered"
	}
	if f := requestStatedBy(rep, id, q); f != nil {
		r.After = phrase{{S: "(see finding "}, {S: clean(f.ID), Code: true}, {S: ")"}}
	} else if q.Why != "" {
		r.After = prose("(" + q.Why + ")")
	}
	return r
}
