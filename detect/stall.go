package detect

import (
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Thresholds for a one-way stall.
const (
	// StallMin is the shortest silence of one direction that counts as a
	// one-way stall: longer than a cTCP keepalive interval (5 s by default
	// on IOS) and than the ASA's 4 s out-of-order queue timeout.
	StallMin = 5 * second
	// StallOtherSegments is the fewest data segments the other direction
	// must send during the silence: it shows that side was alive and the
	// tunnel was in use.
	StallOtherSegments = 3
)

// Stall is a one-way stall: direction Dir sent no data for the silence
// while the other direction kept sending.
type Stall struct {
	// Dir is the direction that went silent; Dir.Side() names the side.
	Dir analyze.Dir
	// Silence is the silence, as analyze measured it. Silence.Open is set
	// when it lasted until the end of the capture.
	Silence analyze.Silence
}

// OneWayStall reports the one-way stalls of cTCP sessions: one side's data
// stopped for at least StallMin while the other side sent at least
// StallOtherSegments data segments (findStall; SessionOutcome records the
// longest one of every VPN session in SessionResult.Stall).
//
// It runs after the verdict so that each stall is reported once, as what
// it proves: a critical finding where the verdict rests on it (the stream
// stopped as the failure looks beyond the device: SessionResult.Stop),
// else a warning. It publishes no result.
var OneWayStall = &Detector{
	Name: "one-way-stall",
	Doc: `find one-way stalls: one side's data stops while the other keeps sending

A direction that sends no data for at least 5 s while the other direction
sends at least 3 data segments is stalled. From a capture point beyond the
stateful proxy no duplicate ACK is seen, and the failure shows only this way:
where the stream stopped and the session was then torn down, replaced or
silent to the end (the affected/probable rule), the finding is critical.`,
	Requires: []*Detector{CaptureVerdict},
	Run:      runOneWayStall,
}

func runOneWayStall(p *Pass) error {
	res, err := resultOf[*Result](p, CaptureVerdict)
	if err != nil {
		return err
	}
	for i := range res.Sessions {
		sr := &res.Sessions[i]
		s := sr.Session
		if !isCTCP(s) {
			continue
		}
		if st := sr.Stop; st != nil {
			p.Report(Finding{
				Severity:        Critical,
				Session:         s.ID,
				Summary:         describeSession(s) + ": " + stopSentence(sr, st) + "; probable, not proven: a client that vanished looks alike from here",
				Frames:          evidenceFrames(st.Silence.FromFrame, st.Silence.OtherFirstFrame, st.HoleFrame, sr.OutcomeFrame),
				WiresharkFilter: fmt.Sprintf("%s && frame.number >= %d", sessionFilter(s), st.Silence.FromFrame),
			})
			continue
		}
		if st := sr.Stall; st != nil {
			p.Report(Finding{
				Severity:        Warning,
				Session:         s.ID,
				Summary:         describeSession(s) + ": " + stallSentence(st),
				Frames:          evidenceFrames(st.Silence.FromFrame, st.Silence.OtherFirstFrame, st.Silence.ToFrame),
				WiresharkFilter: stallFilter(s, st),
			})
		}
	}
	return nil
}

// isStall applies the thresholds to one silence.
func isStall(si analyze.Silence) bool {
	return si.Duration() >= StallMin && si.OtherSegments >= StallOtherSegments
}

// findStall returns the session's longest one-way stall, nil if none.
func findStall(s *analyze.Session) *Stall {
	var best *Stall
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		for _, si := range [2]analyze.Silence{s.Dirs[d].Silence, s.Dirs[d].EndSilence} {
			if !isStall(si) {
				continue
			}
			if best == nil || si.Duration() > best.Silence.Duration() ||
				(si.Duration() == best.Silence.Duration() && si.Open && !best.Silence.Open) {
				best = &Stall{Dir: d, Silence: si}
			}
		}
	}
	return best
}

// stallSentence describes a stall: "the client sent no data for 41.2 s
// (after frame 130, until the end of the capture) while the headend sent 57
// data segments (from frame 131)".
func stallSentence(st *Stall) string {
	si := st.Silence
	var span string
	switch {
	case si.FromFrame != 0 && si.Open && si.ToFrame != 0:
		span = fmt.Sprintf("after frame %d, until the session ended at frame %d", si.FromFrame, si.ToFrame)
	case si.Open && si.ToFrame != 0:
		span = fmt.Sprintf("from its start until the session ended at frame %d", si.ToFrame)
	case si.FromFrame != 0 && si.Open:
		span = fmt.Sprintf("after frame %d, until the end of the capture", si.FromFrame)
	case si.FromFrame != 0:
		span = fmt.Sprintf("frames %d to %d", si.FromFrame, si.ToFrame)
	case si.Open:
		span = "from its start to the end of the capture"
	default:
		span = fmt.Sprintf("from its start to frame %d", si.ToFrame)
	}
	return fmt.Sprintf("the %s sent no data for %s (%s) while the %s sent %s (from frame %d)",
		st.Dir.Side(), fmtDur(si.Duration()), span, st.Dir.Other().Side(),
		plural(si.OtherSegments, "data segment"), si.OtherFirstFrame)
}

// stallFilter shows the session's packets during the silence.
func stallFilter(s *analyze.Session, st *Stall) string {
	f := sessionFilter(s)
	if st.Silence.FromFrame != 0 {
		f += fmt.Sprintf(" && frame.number >= %d", st.Silence.FromFrame)
	}
	if st.Silence.ToFrame != 0 {
		f += fmt.Sprintf(" && frame.number <= %d", st.Silence.ToFrame)
	}
	return f
}
