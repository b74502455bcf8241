package detect

import (
	"fmt"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Loss is the loss measured on one cTCP session. Arrays are indexed by
// analyze.Dir (the direction the lost data was sent in).
type Loss struct {
	// LostSegments counts Wireshark's "previous segment not captured" flags;
	// DataSegments the data segments seen.
	LostSegments [2]int
	DataSegments [2]uint64
	// Retransmissions counts the segments Wireshark flags as
	// retransmissions (fast and spurious included), both directions.
	Retransmissions int
	// ESPGaps counts jumps in the ESP sequence numbers carried inside the
	// session; ESPMissing the sequence numbers skipped; ESPPackets the ESP
	// packets seen.
	ESPGaps, ESPMissing, ESPPackets [2]uint64
	// ESPRepeats counts ESP packets carried a second time (same SPI and
	// sequence number): the tunnel packet was resent, so one was lost.
	ESPRepeats [2]uint64
	// OutOfOrder counts segments Wireshark flags out-of-order: a hole that
	// a late segment filled (reordering, or a quick retransmission).
	OutOfOrder int
	// DupAcks counts Wireshark's duplicate ACKs on the session, also those
	// in runs shorter than --dupacks: each shows the receiver saw a hole.
	DupAcks int
	// Rate is the measured loss rate in [0, 1], the larger of two
	// measures: missing ESP sequence numbers over the ESP sequence numbers
	// expected (seen + missing), Basis "esp"; lost-segment flags over data
	// segments, Basis "tcp". (A loss before the capture point leaves the ESP
	// sequence unbroken in the capture, a loss after it shows no TCP hole,
	// so the larger measure is the better estimate.)
	Rate  float64
	Basis string
}

// Any reports whether the session shows any loss or retransmission.
func (l *Loss) Any() bool {
	return l.LostSegments[0]+l.LostSegments[1] > 0 || l.ESPGaps[0]+l.ESPGaps[1] > 0 || l.Retransmissions > 0 ||
		l.ESPRepeats[0]+l.ESPRepeats[1] > 0 || l.OutOfOrder > 0 || l.DupAcks > 0
}

// PacketLoss measures the loss on each cTCP session: lost segments,
// retransmissions and ESP sequence gaps, and a loss rate.
//
// Its result is a []*Loss indexed by session, nil for sessions that are not
// cTCP. It reports a warning for each cTCP session that shows any of them.
var PacketLoss = &Detector{
	Name: "packet-loss",
	Doc: `measure packet loss on cTCP sessions

Counts Wireshark's lost-segment, retransmission, out-of-order and
duplicate-ACK flags, the gaps in the ESP sequence numbers inside the tunnel
and the ESP packets carried twice, per direction, and computes a loss
rate: the larger of missing ESP sequence numbers over those expected and
lost-segment flags over data segments. cTCP cannot
recover from any loss, so every lost segment is a chance to hit the failure.`,
	Requires: []*Detector{PathBehaviour},
	Run:      runPacketLoss,
}

func runPacketLoss(p *Pass) error {
	c := p.Capture
	paths := pathsOf(p)
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

// lossesOf returns the PacketLoss result from a pass that requires it.
func lossesOf(p *Pass) []*Loss {
	v, _ := p.ResultOf[PacketLoss].([]*Loss)
	return v
}

// measureLoss collects the loss facts of one session.
func measureLoss(s *analyze.Session) *Loss {
	l := &Loss{Retransmissions: s.Counts.Retransmissions, OutOfOrder: s.Counts.OutOfOrder, DupAcks: s.Counts.DupAcks}
	for d := range 2 {
		l.LostSegments[d] = s.Dirs[d].Counts.LostSegments
		l.DataSegments[d] = s.Dirs[d].DataSegments
		l.ESPGaps[d] = s.ESP[d].SeqGaps
		l.ESPMissing[d] = s.ESP[d].SeqMissing
		l.ESPPackets[d] = s.ESP[d].Packets
		l.ESPRepeats[d] = s.ESP[d].Repeats
	}
	l.setRate()
	return l
}

// setRate computes Rate and Basis from the counts.
func (l *Loss) setRate() {
	var espSeen, espMissing, lost, data uint64
	for d := range 2 {
		espSeen += l.ESPPackets[d]
		espMissing += l.ESPMissing[d]
		lost += uint64(max(0, l.LostSegments[d]))
		data += l.DataSegments[d]
	}
	var espRate, tcpRate float64
	if espSeen > 0 {
		espRate = float64(espMissing) / float64(espSeen+espMissing)
	}
	if data > 0 {
		tcpRate = min(1, float64(lost)/float64(data))
	}
	l.Basis, l.Rate = "tcp", tcpRate
	if espSeen > 0 && espRate >= tcpRate {
		l.Basis, l.Rate = "esp", espRate
	}
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
