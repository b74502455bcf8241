package report

import (
	"slices"

	"strings"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// This file holds the wording that the human-oriented renderers (text,
// Markdown, HTML) share, so that a sentence reads the same in each: the
// heading and verdict lines, durations, the extent of a duplicate-ACK
// run and the choice of what the notes leave to the findings. Its
// functions return unescaped text; each renderer escapes it.

// displayPath is the capture's name as the human-oriented reports write
// it: the path as given, "standard input" for "-".
func displayPath(r *Report) string {
	if r.Capture.Path == "-" {
		return "standard input"
	}
	return r.Capture.Path
}

// headingLine is the first line of every human-oriented report, which
// names the capture, so that reports pasted one after another cannot be
// confused: "ctcpdiag report: samples/ctcp-proxy-stall.pcap". Markdown
// and HTML write headingPrefix and the name as code.
func headingLine(r *Report) string {
	return headingPrefix + displayPath(r)
}

// headingPrefix starts the heading line.
const headingPrefix = "ctcpdiag report: "

// verdictLine is the verdict line of every human-oriented report, the one
// sentence a ticket quotes: "Verdict for samples/x.pcap: AFFECTED - <the
// verdict's why>". It names the capture, so that the line still says
// which capture it is about when quoted alone. Renderers escape it as a
// whole and may only style it (colour, bold, banner).
//
// verdictConfidence is where the verdict's confidence goes, right after
// the verdict word.
func verdictLine(r *Report) string {
	line := "Verdict for " + displayPath(r) + ": " + verdictLabel(r.Verdict) + verdictConfidence(r)
	if r.VerdictWhy != "" {
		line += " - " + r.VerdictWhy
	}
	return line
}

// verdictConfidence is the verdict's confidence for verdictLine, written
// " (confidence: proven)", or "" when the verdict has none. Why it is
// that sure (Report.ConfidenceWhy) follows the verdict line in every
// human-oriented report.
func verdictConfidence(r *Report) string {
	if r.Confidence == nil {
		return ""
	}
	return " (confidence: " + *r.Confidence + ")"
}

// formatDuration writes d for reading: detect.FormatDuration, the one
// format of every duration in the reports and in detect's sentences.
func formatDuration(d time.Duration) string { return detect.FormatDuration(int64(d)) }

// formatSeconds is formatDuration of a number of seconds.
func formatSeconds(s float64) string {
	return formatDuration(time.Duration(s * float64(time.Second)))
}

// dupAckExtent describes a run of duplicate ACKs by its whole extent:
// detect.DupAckExtent, with the time in seconds.
func dupAckExtent(count int, first, last uint64, seconds float64) string {
	return detect.DupAckExtent(count, first, last, int64(seconds*1e9))
}

// requestExtent is dupAckExtent of a retransmit request.
func requestExtent(q *RetransmitRequest) string {
	return dupAckExtent(q.DupAcks, q.FirstFrame, q.LastFrame, q.Duration)
}

// runLastFrame is the last duplicate ACK of run: DupAckRun.LastFrame, or
// the last listed frame when the list holds the whole run; 0 when
// unknown.
func runLastFrame(run *analyze.DupAckRun) uint64 {
	switch {
	case run.LastFrame != 0:
		return run.LastFrame
	case len(run.Frames) > 0 && run.Count <= len(run.Frames):
		return run.Frames[len(run.Frames)-1]
	}
	return 0
}

// runSeconds is the time from the first to the last duplicate ACK of run,
// in seconds (0 when the last is unknown).
func runSeconds(run *analyze.DupAckRun) float64 {
	if run.LastTime < run.FirstTime {
		return 0
	}
	return time.Duration(run.LastTime - run.FirstTime).Seconds()
}

// transportLabel is the human name of a transport value ("cTCP" for
// "ctcp"), as the human-oriented reports write it.
func transportLabel(t string) string { return analyze.Transport(t).Label() }

// findingWith returns the first finding of rep about session id (nil:
// capture-wide) made by the detector named detector ("": any) for which
// match is true (nil: any), or nil.
func findingWith(rep *Report, id *int, detector string, match func(*Finding) bool) *Finding {
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if (id == nil) != (f.Session == nil) || id != nil && *f.Session != *id {
			continue
		}
		if detector != "" && f.ID != detector {
			continue
		}
		if match == nil || match(f) {
			return f
		}
	}
	return nil
}

// transportsStated reports whether a capture-wide finding already lists
// the VPN transports seen, so the sessions section need not.
func transportsStated(rep *Report) bool {
	return findingWith(rep, nil, detect.VPNTransports.Name, nil) != nil
}

// transportsSentence lists the VPN transports seen, for the sessions
// section of a report without the capture-wide finding that lists them:
// "cTCP (1 session), NAT-T (1 session)" or "none".
func transportsSentence(rep *Report, esc func(string) string) string {
	if len(rep.Transports) == 0 {
		return "none"
	}
	parts := make([]string, len(rep.Transports))
	for i, tc := range rep.Transports {
		parts[i] = esc(transportLabel(tc.Transport)) + " (" + plural(int64(tc.Sessions), "session", "sessions") + ")"
	}
	return strings.Join(parts, ", ")
}

// minStatedLen is the shortest sentence that counts as stated by a
// finding when a finding's summary contains it.
const minStatedLen = 12

// statedIn reports whether a finding about session id states the sentence
// s (its summary contains it), and returns the finding.
func statedIn(rep *Report, id int, s string) *Finding {
	if len(s) < minStatedLen {
		return nil
	}
	return findingWith(rep, &id, "", func(f *Finding) bool { return strings.Contains(f.Summary, s) })
}

// requestStatedBy returns the finding that already tells why request q of
// session id was judged as it was: the unanswered-request finding that
// cites its first duplicate ACK, or any finding of the session whose
// summary holds q.Why. Nil when none does.
func requestStatedBy(rep *Report, id int, q *RetransmitRequest) *Finding {
	if q.Answered != nil && !*q.Answered && q.FirstFrame != 0 {
		if f := findingWith(rep, &id, detect.UnansweredRequest.Name, func(f *Finding) bool {
			_, found := slices.BinarySearch(f.Frames, q.FirstFrame)
			return found
		}); f != nil {
			return f
		}
	}
	return statedIn(rep, id, q.Why)
}

// requester names who asked for a request's bytes: "headend", or "a TCP
// stack in the path, in the headend's name," when it sent the duplicate
// ACKs.
func requester(q *RetransmitRequest) string {
	if q.SentBy == string(detect.SentByPathDevice) {
		return "a TCP stack in the path, in the " + q.RequestedBy + "'s name,"
	}
	return q.RequestedBy
}
