package evidence

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// FromCorrelation returns the Spec of the evidence capture of one side
// ("a" or "b") of the correlation corr ("ctcpdiag correlate --evidence-a
// FILE --evidence-b FILE"): c is that side's analysis, read from the file
// path, and d its detect result (nil: not judged). corr may be
// anonymized: its texts become the comments; c's real addresses find the
// frames; set Spec.Mapper to the report's mapper.
//
// It keeps the side's session of every pair that is affected or at risk
// in the side's own analysis, or has a message lost between the points or
// packets generated between them. It cites every frame of the side the
// correlation report names: the lost messages (on the upstream side), the
// messages seen at both points just before and after each hole, the
// packets seen on this side only (the device's duplicate ACKs, FINs and
// RSTs, and those it never passed on), the end of each paired session
// with a loss as the side's own analysis measured it (as the report's
// timeline tells it), the first and last frame of each
// paired session, and the frames of every finding with frames in this
// file. Each note is built from the facts the correlation report shows,
// in its words; a frame only a finding cites carries the finding's
// summary, as FromReport does.
func FromCorrelation(side string, c *analyze.Capture, corr *report.Correlation, d *detect.Result, path string) Spec {
	other := "b"
	me, them := &corr.A, &corr.B
	if side == "b" {
		other, me, them = "a", &corr.B, &corr.A
	}
	S, O := strings.ToUpper(side), strings.ToUpper(other)
	spec := Spec{
		Path:   path,
		Name:   me.Path,
		SHA256: me.SHA256,
		Tool:   corr.Tool.Name + " " + corr.Tool.Version,
	}
	sum := "SHA-256 not computed"
	if them.SHA256 != "" {
		sum = "SHA-256 " + them.SHA256
	}
	spec.Notes = append(spec.Notes,
		fmt.Sprintf("Correlation: this file is %s of \"ctcpdiag correlate\"; the other capture, %s, is %s (%s): frames named \"%s frame N\" are that file's, in its own evidence capture.",
			report.PointName(side, corr.ClientSide), report.PointName(other, corr.ClientSide), them.Path, sum, O))
	verdict := corr.Verdict
	if corr.Confidence != nil {
		verdict += " (" + *corr.Confidence + ")"
	}
	if corr.VerdictWhy != "" {
		verdict += ": " + corr.VerdictWhy
	}
	spec.Notes = append(spec.Notes, oneLine("Correlation verdict: "+verdict))

	type cited struct {
		rows      []string
		findings  []*report.CorrFinding
		summaries []string
	}
	byFrame := map[uint64]*cited{}
	get := func(f uint64) *cited {
		x := byFrame[f]
		if x == nil {
			x = &cited{}
			byFrame[f] = x
		}
		return x
	}
	row := func(f uint64, what string) {
		if f == 0 {
			return
		}
		x := get(f)
		if !slices.Contains(x.rows, what) {
			x.rows = append(x.rows, what)
		}
	}
	sideFrame := func(a, b *uint64) uint64 {
		p := a
		if side == "b" {
			p = b
		}
		if p == nil {
			return 0
		}
		return *p
	}

	for i := range corr.Pairs {
		cp := &corr.Pairs[i]
		id, oid := cp.ASession, cp.BSession
		client, headend, oclient, oheadend := cp.AClient, cp.AHeadend, cp.BClient, cp.BHeadend
		if side == "b" {
			id, oid = oid, id
			client, headend, oclient, oheadend = cp.BClient, cp.BHeadend, cp.AClient, cp.AHeadend
		}
		var s *analyze.Session
		if id >= 0 && id < len(c.Sessions) {
			s = c.Sessions[id]
		}
		var sr *detect.SessionResult
		if d != nil && id >= 0 && id < len(d.Sessions) {
			sr = &d.Sessions[id]
		}
		pair := "pair " + strconv.Itoa(i)
		dirName := func(cd *report.CorrDirection) string {
			if side == "b" {
				return cd.BFrom + " -> " + cd.BTo
			}
			return cd.From + " -> " + cd.To
		}

		// The session is kept when its own analysis or the pair shows
		// a failure.
		keep := sr != nil && (sr.Verdict == detect.Affected || sr.Verdict == detect.AtRisk) || len(cp.GeneratedBetween) > 0
		for _, cd := range cp.Directions {
			keep = keep || cd.LostCount > 0 || cd.GeneratedCount > 0
		}
		if s != nil && keep {
			label := fmt.Sprintf("%s: %s session %d: %s %s -> %s, the same session as %s session %d (%s -> %s); the pair %s",
				pair, S, id, analyze.Transport(cp.Transport).Label(), client, headend, O, oid, oclient, oheadend, cp.Verdict)
			if cp.Confidence != nil {
				label += " (" + *cp.Confidence + ")"
			}
			if sr != nil && sr.Verdict != "" {
				label += ", " + S + " alone " + string(sr.Verdict)
				if sr.Confidence != detect.NoConfidence {
					label += " (" + string(sr.Confidence) + ")"
				}
			}
			spec.Sessions = append(spec.Sessions, Session{S: s, Label: label, Filter: report.ConversationFilterOf(protoName(s.Proto), client, headend)})
		}
		if s != nil {
			row(s.FirstFrame, fmt.Sprintf("%s: first frame of %s session %d (%s -> %s), the same session as %s session %d (%s -> %s), matched on %s",
				pair, S, id, client, headend, O, oid, oclient, oheadend, cp.MatchedOn))
			if s.LastFrame != s.FirstFrame {
				row(s.LastFrame, fmt.Sprintf("%s: last frame of %s session %d", pair, S, id))
			}
		}

		// Lost messages, and the messages seen at both points around
		// each hole.
		type around struct {
			dir, msg string
			a, b     uint64
			seqs     []string
			after    bool
			stops    string // the downstream point, when nothing passed the hole
		}
		var arounds []*around
		aroundOf := map[uint64]*around{}
		for di := range cp.Directions {
			cd := &cp.Directions[di]
			dn := dirName(cd)
			for k, l := range cd.Lost {
				if f := sideFrame(l.AFrame, l.BFrame); f != 0 {
					what := fmt.Sprintf("%s, %s: ESP %s #%d passed %s here and never reached %s: lost between the two capture points",
						pair, dn, l.ESPSPI, l.ESPSeq, report.PointPhrase(side, corr.ClientSide), report.PointPhrase(other, corr.ClientSide))
					if k == 0 && cd.LostCount > 1 {
						what += fmt.Sprintf(", the first of %d ESP messages of the direction", cd.LostCount)
					}
					what += "; before: " + aroundText(l.Before) + "; after: " + aroundText(l.After)
					row(f, what)
				}
				for _, m := range []struct {
					m     *report.MessageFrames
					after bool
				}{{l.Before, false}, {l.After, true}} {
					if m.m == nil {
						continue
					}
					f := m.m.AFrame
					if side == "b" {
						f = m.m.BFrame
					}
					if f == 0 {
						continue
					}
					x := aroundOf[f]
					if x == nil {
						x = &around{dir: pair + ", " + dn, msg: fmt.Sprintf("ESP %s #%d", m.m.ESPSPI, m.m.ESPSeq), a: m.m.AFrame, b: m.m.BFrame, after: m.after}
						aroundOf[f] = x
						arounds = append(arounds, x)
					}
					if s := "#" + strconv.FormatUint(uint64(l.ESPSeq), 10); !slices.Contains(x.seqs, s) {
						x.seqs = append(x.seqs, s)
					}
					if k == 0 && !m.after && l.After == nil {
						x.stops = strings.ToUpper(report.OtherSide(cd.Upstream))
					}
				}
			}
		}
		for _, x := range arounds {
			f := x.a
			if side == "b" {
				f = x.b
			}
			where := "the last message of the direction seen at both points before "
			if x.after {
				where = "the first message of the direction seen at both points after "
			}
			what := fmt.Sprintf("%s: %s, seen at both points (A frame %d, B frame %d): %sESP %s (lost between the two capture points)",
				x.dir, x.msg, x.a, x.b, where, strings.Join(x.seqs, ", "))
			if x.stops != "" {
				what += "; nothing of the direction reached " + x.stops + " past the hole"
			}
			row(f, what)
		}

		// Packets seen on this side only.
		for _, ev := range []struct {
			events []report.CorrEvent
			words  string
		}{{cp.GeneratedBetween, "made by the device between"}, {cp.AbsorbedBetween, "never passed on by the device between"}} {
			for _, e := range ev.events {
				if e.Side != side {
					continue
				}
				dn := e.Direction
				if side == "b" {
					for di := range cp.Directions {
						if cd := &cp.Directions[di]; cd.From+"->"+cd.To == e.Direction {
							dn = cd.BFrom + "->" + cd.BTo
						}
					}
				}
				noun := eventNoun(e.Kind)
				what := fmt.Sprintf("%s, %s: %s seen in %s only (%s): %s", pair, dn, plural(e.Count, noun, noun+"s"), S, framesWord(e.Frames), ev.words)
				for _, f := range e.Frames {
					row(f, what)
				}
			}
		}

		// How the session ended, as the side's own analysis measured it:
		// the timeline tells it after a loss.
		lost := false
		for _, cd := range cp.Directions {
			lost = lost || cd.FirstLost != nil
		}
		if lost && sr != nil && sr.OutcomeFrame != 0 {
			switch sr.Outcome {
			case detect.Reset, detect.Closed, detect.Reconnected:
				word := map[detect.Outcome]string{detect.Reset: "was reset", detect.Closed: "was closed", detect.Reconnected: "was replaced by a new session"}[sr.Outcome]
				row(sr.OutcomeFrame, fmt.Sprintf("%s: %s's session %s (%s's own analysis)", pair, S, word, S))
			case detect.Stalled:
				row(sr.OutcomeFrame, fmt.Sprintf("%s: %s's session stalled to the end of its capture, its last data here (%s's own analysis)", pair, S, S))
			}
		}
	}

	// The findings with frames in this file.
	for i := range corr.Findings {
		f := &corr.Findings[i]
		if f.FrameSide != side {
			continue
		}
		for _, fr := range f.Frames {
			if fr != 0 {
				x := get(fr)
				if !slices.Contains(x.findings, f) {
					x.findings = append(x.findings, f)
				}
			}
		}
	}
	// A finding's summary goes on its first frame that no fact above
	// explains; its other frames point there.
	host := map[*report.CorrFinding]uint64{}
	for i := range corr.Findings {
		f := &corr.Findings[i]
		if f.FrameSide != side {
			continue
		}
		for _, fr := range f.Frames {
			if x := byFrame[fr]; fr != 0 && len(x.rows) == 0 {
				host[f] = fr
				x.summaries = append(x.summaries, "finding "+corrFindingName(f)+": "+f.Summary)
				break
			}
		}
	}
	frames := make([]uint64, 0, len(byFrame))
	for f := range byFrame {
		frames = append(frames, f)
	}
	slices.Sort(frames)
	for _, fr := range frames {
		x := byFrame[fr]
		parts := slices.Concat(x.rows, x.summaries)
		if c := citedBy(fr, x.findings, host, corrFindingName, nil); c != "" {
			parts = append(parts, c)
		}
		spec.Cites = append(spec.Cites, Cite{Frame: fr, Note: oneLine(strings.Join(parts, "; "))})
	}
	return spec
}

// corrFindingName names a finding of a correlation as its reports do:
// "lost-between-points (pair 0)", "one-way-stall (B session 0)".
func corrFindingName(f *report.CorrFinding) string {
	switch {
	case f.Pair != nil:
		return f.ID + " (pair " + strconv.Itoa(*f.Pair) + ")"
	case f.Session != nil:
		return f.ID + " (" + strings.ToUpper(f.Side) + " session " + strconv.Itoa(*f.Session) + ")"
	}
	return f.ID + " (" + strings.ToUpper(f.Side) + ")"
}

// aroundText is a message seen at both points, as the correlation
// report's table of lost messages shows it.
func aroundText(m *report.MessageFrames) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("#%d (A %d, B %d)", m.ESPSeq, m.AFrame, m.BFrame)
}

func eventNoun(kind string) string {
	switch kind {
	case "dup-ack":
		return "duplicate ACK"
	case "rst":
		return "RST"
	case "fin":
		return "FIN"
	case "keepalive":
		return "keep-alive"
	}
	return kind + " packet"
}

// plural is "1 one" or "n many", n grouped by thousands as the reports
// write it.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	d := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range d {
		if i > 0 && c != '-' && d[i-1] != '-' && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + " " + many
}

// framesWord is "frame N" for one frame and "frames N, M, ..." for more.
func framesWord(frames []uint64) string {
	s := make([]string, len(frames))
	for i, f := range frames {
		s[i] = strconv.FormatUint(f, 10)
	}
	if len(frames) == 1 {
		return "frame " + s[0]
	}
	return "frames " + strings.Join(s, ", ")
}

func protoName(p uint8) string {
	switch p {
	case decode.ProtoTCP:
		return "tcp"
	case decode.ProtoUDP:
		return "udp"
	}
	return ""
}
