package detect

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Loss is what shows loss on one cTCP session: the flags Wireshark sets
// and the ESP packets missing or carried twice. Arrays are indexed by
// analyze.Dir (the direction the lost data was sent in). The loss rate is
// per direction, in Path.Dirs (DirAccount), never one figure for both.
type Loss struct {
	// LostSegments counts Wireshark's "previous segment not captured"
	// flags.
	LostSegments [2]int
	// Retransmissions counts the segments Wireshark flags as
	// retransmissions (fast and spurious included), both directions.
	Retransmissions int
	// ESPGaps counts the gaps in the ESP sequence numbers carried inside
	// the session.
	ESPGaps [2]uint64
	// ESPRepeats counts ESP packets carried a second time (same SPI and
	// sequence number): the tunnel packet was resent, so one was lost.
	ESPRepeats [2]uint64
	// OutOfOrder counts segments Wireshark flags out-of-order: a hole that
	// a late segment filled (reordering, or a quick retransmission).
	OutOfOrder int
	// DupAcks counts Wireshark's duplicate ACKs on the session, also those
	// in runs shorter than --dupacks: each shows the receiver saw a hole.
	DupAcks int
}

// Any reports whether the session shows any loss or retransmission.
func (l *Loss) Any() bool {
	return l.LostSegments[0]+l.LostSegments[1] > 0 || l.ESPGaps[0]+l.ESPGaps[1] > 0 || l.Retransmissions > 0 ||
		l.ESPRepeats[0]+l.ESPRepeats[1] > 0 || l.OutOfOrder > 0 || l.DupAcks > 0
}

// PacketLoss measures the loss on each cTCP session: lost segments,
// retransmissions and ESP sequence gaps, with a rate per direction.
//
// Its result is a []*Loss indexed by session, nil for sessions that are not
// cTCP. It reports a warning for each cTCP session that shows any of them.
var PacketLoss = &Detector{
	Name: "packet-loss",
	Doc: `measure packet loss on cTCP sessions

Counts Wireshark's lost-segment, retransmission, out-of-order and
duplicate-ACK flags, the gaps in the ESP sequence numbers inside the tunnel
and the ESP packets carried twice, per direction, and states the loss of
each direction with its rate (path-behaviour's accounting: missing ESP
sequence numbers over those expected, or holes over data segments). cTCP
cannot recover from any loss, so every lost segment is a chance to hit
the failure.`,
	Requires:   []*Detector{PathBehaviour},
	ResultType: reflect.TypeFor[[]*Loss](),
	Run:        runPacketLoss,
}

func runPacketLoss(p *Pass) error {
	c := p.Capture
	paths, err := resultOf[[]*Path](p, PathBehaviour)
	if err != nil {
		return err
	}
	all := make([]*Loss, len(c.Sessions))
	for i, s := range c.Sessions {
		if !isCTCP(s) {
			continue
		}
		l := measureLoss(s)
		all[i] = l
		if !l.Any() {
			continue
		}
		frames := make([]uint64, 0, len(s.Dirs[0].LostSegmentFrames)+len(s.Dirs[1].LostSegmentFrames))
		frames = append(frames, s.Dirs[0].LostSegmentFrames...)
		frames = append(frames, s.Dirs[1].LostSegmentFrames...)
		filter := sessionFilter(s) + " && (tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.analysis.duplicate_ack)"
		p.Report(Finding{
			Severity:        Warning,
			Session:         s.ID,
			Summary:         describeSession(s) + ": " + l.sentence(paths[i]),
			Frames:          evidenceFrames(frames...),
			WiresharkFilter: filter,
		})
	}
	p.SetResult(all)
	return nil
}

// measureLoss collects the loss facts of one session.
func measureLoss(s *analyze.Session) *Loss {
	l := &Loss{Retransmissions: s.Counts.Retransmissions, OutOfOrder: s.Counts.OutOfOrder, DupAcks: s.Counts.DupAcks}
	for d := range 2 {
		l.LostSegments[d] = s.Dirs[d].Counts.LostSegments
		l.ESPGaps[d] = s.ESP[d].SeqGaps
		l.ESPRepeats[d] = s.ESP[d].Repeats
	}
	return l
}

// sentence describes the loss per direction, each rate with its
// numerator and denominator (lossText), then the Wireshark flags that
// show the receiver saw a hole.
func (l *Loss) sentence(pa *Path) string {
	var parts []string
	if pa != nil {
		if t := lossText(pa); t != "" {
			parts = append(parts, t)
		}
	}
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		if l.ESPRepeats[d] > 0 {
			parts = append(parts, fmt.Sprintf("%s->%s: %s carried twice (resent by a TCP stack)",
				d.Side(), d.Other().Side(), plural(l.ESPRepeats[d], "ESP packet")))
		}
	}
	if l.Retransmissions > 0 {
		parts = append(parts, plural(l.Retransmissions, "retransmission")+" flagged")
	}
	if l.OutOfOrder > 0 {
		parts = append(parts, plural(l.OutOfOrder, "out-of-order segment")+" flagged")
	}
	if l.DupAcks > 0 {
		parts = append(parts, plural(l.DupAcks, "duplicate ACK")+" (the receiver saw a hole)")
	}
	return strings.Join(parts, "; ")
}
