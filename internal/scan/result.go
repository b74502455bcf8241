package scan

import (
	"cmp"
	"slices"

	"github.com/ctcpdiag/ctcpdiag/report"
)

// Kinds of Result.
const (
	// KindCapture is an analyzed capture: Report is set.
	KindCapture = "capture"
	// KindUnreadable is an input that could not be read: Error is set.
	KindUnreadable = "unreadable"
	// KindSkipped is an input that is not a capture: Reason is set.
	KindSkipped = "skipped"
)

// Result is what became of one input: a capture file, an archive entry, a
// file that could not be read or one that was skipped.
type Result struct {
	// Path is the printed path: the file's path as found, an archive entry
	// as "archive.tgz:inner/path.pcap". It is not escaped.
	Path string
	// Kind is KindCapture, KindUnreadable or KindSkipped.
	Kind string
	// Report is the capture's report (KindCapture only). It is shared and
	// must not be modified.
	Report *report.Report
	// Error says why the input could not be read (KindUnreadable), without
	// the path.
	Error string
	// Reason says why the input was skipped (KindSkipped).
	Reason string

	// raw is the JSON line the result was read from (merge), reused
	// verbatim by the jsonl writer.
	raw []byte
}

// Evidence is the first piece of evidence behind a capture's verdict.
type Evidence struct {
	// Frame is the Wireshark frame number (0: none).
	Frame uint64
	// Client and Headend are the addresses of the session concerned ("" if
	// the evidence concerns no session).
	Client, Headend string
	// Text explains the verdict in one sentence (the report's verdict_why).
	Text string
}

// FirstEvidence picks the evidence a summary shows for rep: for an
// affected capture the first unanswered retransmit request of a cTCP
// session (its first duplicate ACK); otherwise the first critical or
// warning finding that names frames (its first frame).
func FirstEvidence(rep *report.Report) Evidence {
	ev := Evidence{Text: rep.VerdictWhy}
	var best *report.Session
	for i := range rep.Sessions {
		s := &rep.Sessions[i]
		if s.Transport != "ctcp" {
			continue
		}
		for _, rr := range s.RetransmitRequests {
			if rr.Answered != nil && !*rr.Answered && (ev.Frame == 0 || rr.FirstFrame < ev.Frame) {
				ev.Frame, best = rr.FirstFrame, s
			}
		}
	}
	if best == nil {
		for _, f := range rep.Findings {
			if (f.Severity == "critical" || f.Severity == "warning") && len(f.Frames) > 0 {
				ev.Frame = f.Frames[0]
				if f.Session != nil {
					best = sessionByID(rep, *f.Session)
				}
				break
			}
		}
	}
	if best != nil {
		ev.Client, ev.Headend = best.Client, best.Headend
	}
	return ev
}

func sessionByID(rep *report.Report, id int) *report.Session {
	for i := range rep.Sessions {
		if rep.Sessions[i].ID == id {
			return &rep.Sessions[i]
		}
	}
	return nil
}

// CTCPCounts returns the number of cTCP sessions of rep and their
// unanswered retransmit requests.
func CTCPCounts(rep *report.Report) (sessions, unanswered int) {
	for i := range rep.Sessions {
		if rep.Sessions[i].Transport == "ctcp" {
			sessions++
			unanswered += rep.Sessions[i].Unanswered
		}
	}
	return sessions, unanswered
}

// TopRecommendation returns the action of the best-ranked recommendation
// ("" when there is none).
func TopRecommendation(rep *report.Report) string {
	if len(rep.Recommendations) == 0 {
		return ""
	}
	return rep.Recommendations[0].Action
}

// Verdicts lists the verdicts in the order summaries print them.
var Verdicts = []string{"affected", "at-risk", "inconclusive", "healthy", "no-ctcp"}

// Summary totals a scan. Add results in delivery order; the lists are in
// that order.
type Summary struct {
	// Captures, Unreadable and Skipped count the results of each kind.
	Captures, Unreadable, Skipped int
	// Verdicts counts the captures per verdict (keys from Verdicts; an
	// unknown verdict from a newer version is counted under its own name).
	Verdicts map[string]int
	// Affected lists the affected and the at-risk captures (Hit.Verdict
	// tells which).
	Affected []Hit
	// Failures lists the unreadable inputs.
	Failures []Failure
	// SkipReasons counts the skipped inputs per reason, sorted by reason.
	SkipReasons []ReasonCount
	// Interrupted is set when the scan was stopped before the end (a
	// signal); NotScanned counts the inputs known but not finished then.
	Interrupted bool
	NotScanned  int
}

// Hit is one affected capture in a Summary.
type Hit struct {
	Path    string
	Verdict string
	Evidence
}

// Failure is one unreadable input in a Summary.
type Failure struct {
	Path, Error string
}

// ReasonCount is the number of inputs skipped for one reason.
type ReasonCount struct {
	Reason string
	Count  int
}

// Add counts r.
func (s *Summary) Add(r *Result) {
	switch r.Kind {
	case KindCapture:
		s.Captures++
		if s.Verdicts == nil {
			s.Verdicts = make(map[string]int)
		}
		v := r.Report.Verdict
		s.Verdicts[v]++
		if v == "affected" || v == "at-risk" {
			s.Affected = append(s.Affected, Hit{Path: r.Path, Verdict: v, Evidence: FirstEvidence(r.Report)})
		}
	case KindUnreadable:
		s.Unreadable++
		s.Failures = append(s.Failures, Failure{Path: r.Path, Error: r.Error})
	case KindSkipped:
		s.Skipped++
		i, found := slices.BinarySearchFunc(s.SkipReasons, r.Reason, func(rc ReasonCount, t string) int { return cmp.Compare(rc.Reason, t) })
		if found {
			s.SkipReasons[i].Count++
		} else {
			s.SkipReasons = slices.Insert(s.SkipReasons, i, ReasonCount{Reason: r.Reason, Count: 1})
		}
	}
}

// Files is the number of results added.
func (s *Summary) Files() int { return s.Captures + s.Unreadable + s.Skipped }

// Count returns the number of captures with verdict v.
func (s *Summary) Count(v string) int { return s.Verdicts[v] }

func sortStrings(s []string) { slices.Sort(s) }
