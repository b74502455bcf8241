package evidence

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// FromReport returns the Spec of the evidence capture of rep, the report
// of the capture c read from the file path (rep may be anonymized: its
// texts become the comments; c's real addresses find the frames; set
// Spec.Mapper to the report's mapper). It keeps the affected and at-risk
// cTCP sessions and cites every frame the report cites: the evidence
// frames of Report.Evidence, the frames of every finding and, of the kept
// sessions and those with evidence rows, the frames of their path
// evidence and the first duplicate ACK of each retransmit request. Each
// cited frame's note is the report's own sentence about it: the evidence
// row's "what it shows" (with its session and direction), the findings
// that cite it (a frame only a finding cites gets the finding's summary,
// on the finding's first such frame; its other frames point there), the
// path evidence's detail and the request's judgement.
func FromReport(c *analyze.Capture, rep *report.Report, path string) Spec {
	spec := Spec{
		Path:   path,
		Name:   rep.Capture.Path,
		SHA256: rep.Capture.SHA256,
		Tool:   rep.Tool.Name + " " + rep.Tool.Version,
	}
	for i := range rep.Sessions {
		rs := &rep.Sessions[i]
		if rs.Protocol != "tcp" || rs.Transport != string(analyze.TransportCTCP) ||
			rs.Verdict != string(detect.Affected) && rs.Verdict != string(detect.AtRisk) ||
			rs.ID < 0 || rs.ID >= len(c.Sessions) || c.Sessions[rs.ID] == nil {
			continue
		}
		spec.Sessions = append(spec.Sessions, Session{S: c.Sessions[rs.ID], Label: sessionLabel(rs), Filter: report.ConversationFilter(rs)})
	}
	for i := range rep.Sessions {
		if d := report.DecodeAs(&rep.Sessions[i]); d != "" {
			spec.Notes = append(spec.Notes, "Session "+strconv.Itoa(rep.Sessions[i].ID)+": "+d+".")
		}
	}

	type cited struct {
		session   string            // its session and direction, from its evidence row
		row       string            // the evidence row, with session and direction
		findings  []*report.Finding // the findings that cite the frame, in order
		summaries []string          // the findings whose summary this frame carries
		facts     []string          // the session's path evidence and requests the rows leave out
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
	for _, se := range rep.Evidence {
		for _, r := range se.Rows {
			if r.Frame == 0 {
				continue
			}
			x := get(r.Frame)
			x.session = "session " + strconv.Itoa(se.Session)
			if r.Direction != "" {
				x.session += ", " + r.Direction
			}
			// A row that only says which finding cites the frame leaves
			// it to the finding's summary.
			if !strings.HasPrefix(r.What, "cited by finding ") {
				x.row = x.session + ": " + r.What
			}
		}
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		for _, fr := range f.Frames {
			if fr != 0 {
				x := get(fr)
				if !slices.Contains(x.findings, f) {
					x.findings = append(x.findings, f)
				}
			}
		}
	}
	// The path evidence of the kept sessions and of those with evidence
	// rows, and their retransmit requests the rows leave out (beyond
	// their cap): frames the JSON report names too.
	named := map[int]bool{}
	for _, ks := range spec.Sessions {
		named[ks.S.ID] = true
	}
	for _, se := range rep.Evidence {
		named[se.Session] = true
	}
	for i := range rep.Sessions {
		rs := &rep.Sessions[i]
		if !named[rs.ID] {
			continue
		}
		prefix := "session " + strconv.Itoa(rs.ID)
		fact := func(fr uint64, what string) {
			x := get(fr)
			if x.session == "" {
				x.session = prefix
			}
			if !slices.Contains(x.facts, what) {
				x.facts = append(x.facts, what)
			}
		}
		if rs.Path != nil {
			for _, pe := range rs.Path.Evidence {
				var first uint64
				for _, fr := range pe.Frames {
					if fr == 0 {
						continue
					}
					what := "path evidence " + pe.Kind + " (" + pe.Direction + "): " + pe.Detail
					if first != 0 {
						what = "path evidence " + pe.Kind + " (" + pe.Direction + "; see original frame " + strconv.FormatUint(first, 10) + ")"
					} else {
						first = fr
					}
					fact(fr, what)
				}
			}
		}
		for _, q := range rs.RetransmitRequests {
			if q.FirstFrame == 0 || byFrame[q.FirstFrame] != nil && byFrame[q.FirstFrame].row != "" {
				continue
			}
			state := "inconclusive"
			if q.Answered != nil {
				state = "answered"
				if !*q.Answered {
					state = "unanswered"
				}
			}
			what := "retransmit request by the " + q.RequestedBy + " for ack " + strconv.FormatUint(uint64(q.Ack), 10) + " (" +
				strconv.Itoa(q.DupAcks) + " duplicate ACKs; " + state + ")"
			if q.Why != "" {
				what += ": " + q.Why
			}
			fact(q.FirstFrame, what)
		}
	}

	// A finding's summary goes on its first frame that no evidence row
	// explains; its other frames point there.
	host := map[*report.Finding]uint64{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		for _, fr := range f.Frames {
			if x := byFrame[fr]; fr != 0 && x.row == "" {
				host[f] = fr
				x.summaries = append(x.summaries, "finding "+findingName(f)+": "+f.Summary)
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
		var parts []string
		if x.row != "" {
			parts = append(parts, x.row)
		} else if x.session != "" {
			parts = append(parts, x.session)
		}
		parts = append(parts, x.summaries...)
		parts = append(parts, x.facts...)
		if c := citedBy(fr, x.findings, host, findingName, func(f *report.Finding) bool {
			return x.row != "" && strings.Contains(x.row, "finding "+f.ID)
		}); c != "" {
			parts = append(parts, c)
		}
		spec.Cites = append(spec.Cites, Cite{Frame: fr, Note: oneLine(strings.Join(parts, "; "))})
	}
	return spec
}

// findingName names a finding as the reports do: its ID, and its session
// when it has one ("packet-loss (session 2)").
func findingName(f *report.Finding) string {
	if f.Session == nil {
		return f.ID
	}
	return f.ID + " (session " + strconv.Itoa(*f.Session) + ")"
}

// sessionLabel names a kept session in the section comment.
func sessionLabel(s *report.Session) string {
	l := "session " + strconv.Itoa(s.ID) + ": " + analyze.Transport(s.Transport).Label() + " " + s.Client + " -> " + s.Headend + ", " + s.Verdict
	if s.SessionConfidence != nil {
		l += " (" + *s.SessionConfidence + ")"
	}
	if s.Stream != nil {
		l += ", source " + s.Protocol + ".stream " + strconv.Itoa(*s.Stream)
	}
	return l
}

// oneLine keeps a note on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// citedBy is the clause of frame fr's comment that names the findings
// citing it whose summary is not on fr itself ("cited by finding
// packet-loss (session 2) (summary at original frame 40)"), "" when
// none; shown reports whether fr's comment already says a finding's
// part.
func citedBy[F comparable](fr uint64, findings []F, host map[F]uint64, name func(F) string, shown func(F) bool) string {
	var others []string
	for _, f := range findings {
		h, hosted := host[f]
		if hosted && h == fr || shown != nil && shown(f) {
			continue
		}
		n := name(f)
		if hosted {
			n += " (summary at original frame " + strconv.FormatUint(h, 10) + ")"
		}
		others = append(others, n)
	}
	if len(others) == 0 {
		return ""
	}
	return "cited by finding " + strings.Join(others, ", ")
}
