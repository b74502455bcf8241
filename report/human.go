package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// This file holds the wording of the human-oriented reports, which
// newView puts together: the heading and verdict lines, numbers,
// durations, the extent of a duplicate-ACK run, the stall, and the choice
// of what the notes leave to the findings. Its functions return unescaped
// text; newView cleans it.

// Limits of the human-oriented reports; the JSON report has everything.
const (
	maxTextFrames   = 20 // frames listed per finding
	maxTextRequests = 10 // retransmit requests listed per session
)

// displayPath is the capture's name as the human-oriented reports write
// it: the path as given, "standard input" for "-".
func displayPath(r *Report) string {
	if r.Capture.Path == "-" {
		return "standard input"
	}
	return r.Capture.Path
}

// headingPrefix starts the first line of every human-oriented report,
// which names the capture (as code), so that reports pasted one after
// another cannot be confused: "ctcpdiag report: samples/x.pcap".
const headingPrefix = "ctcpdiag report: "

// verdictLabels are the headline words of each verdict.
var verdictLabels = map[string]string{
	"affected":     "AFFECTED",
	"at-risk":      "AT RISK",
	"healthy":      "HEALTHY",
	"no-ctcp":      "NO cTCP",
	"inconclusive": "INCONCLUSIVE",
}

func verdictLabel(v string) string {
	if l, ok := verdictLabels[v]; ok {
		return l
	}
	return strings.ToUpper(v)
}

// verdictLine is the verdict line of every human-oriented report, the one
// sentence a ticket quotes: "Verdict for samples/x.pcap: AFFECTED - <the
// verdict's why>". It names the capture, so that the line still says
// which capture it is about when quoted alone. Renderers may only style
// it (colour, bold, banner).
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
func transportsSentence(rep *Report) string {
	if len(rep.Transports) == 0 {
		return "none"
	}
	parts := make([]string, len(rep.Transports))
	for i, tc := range rep.Transports {
		parts[i] = transportLabel(tc.Transport) + " (" + plural(int64(tc.Sessions), "session", "sessions") + ")"
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

// frameList writes frames as "1, 2, 3", the first maxTextFrames of them.
func frameList(frames []uint64) string {
	var b strings.Builder
	for i, f := range frames {
		if i == maxTextFrames {
			fmt.Fprintf(&b, " ... (%d more)", len(frames)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatUint(f, 10))
	}
	return b.String()
}

// group writes n with commas between groups of three digits.
func group(n int64) string {
	if n >= 0 && n < 1000 {
		return strconv.FormatInt(n, 10)
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return group(n) + " " + many
}

// stallPhrase describes a stall after the side's name: "sent no data for
// 44.7 s after frame 141 until the end of the capture, while the other
// side sent 3 data segments".
func stallPhrase(st *Stall) string {
	until := "until the end of the capture"
	switch {
	case st.Open && st.ToFrame != 0:
		until = fmt.Sprintf("until the session ended at frame %d", st.ToFrame)
	case !st.Open:
		until = fmt.Sprintf("until frame %d", st.ToFrame)
	}
	after := "from its start"
	if st.FromFrame > 0 {
		after = fmt.Sprintf("after frame %d", st.FromFrame)
	}
	return fmt.Sprintf("sent no data for %s %s %s, while the other side sent %s",
		formatSeconds(st.Seconds), after, until,
		plural(int64(st.OtherSegments), "data segment", "data segments"))
}

// otherSessionsNoun names the sessions left out of the sessions table:
// "TCP sessions", "UDP flows" or "sessions", singular for one.
func otherSessionsNoun(l Listing) string {
	what := "TCP sessions"
	switch {
	case l.OtherTCP == 0:
		what = "UDP flows"
	case l.OtherUDP > 0:
		what = "sessions"
	}
	if l.OtherTCP+l.OtherUDP == 1 {
		what = strings.TrimSuffix(what, "s")
	}
	return what
}

// tcpAnalysisPhrase summarises the capture's TCP analysis counts.
func tcpAnalysisPhrase(c *Capture) string {
	tc := c.Stats.TCP
	return fmt.Sprintf("%s, %s, %s, %s, %s in %s",
		plural(int64(tc.DupAcks), "dup ACK", "dup ACKs"),
		plural(int64(tc.Retransmissions), "retransmission", "retransmissions"),
		plural(int64(tc.LostSegments), "lost segment", "lost segments"),
		plural(int64(tc.OutOfOrder), "out-of-order segment", "out-of-order segments"),
		plural(int64(tc.ZeroWindows), "zero window", "zero windows"),
		plural(int64(c.Stats.TCPStreams), "TCP stream", "TCP streams"))
}

// noHash stands for the SHA-256 of a capture analyzed with --no-hash
// (capture.sha256 is "" in JSON).
const noHash = "not computed (--no-hash)"

// formatPhrase is the capture's format: "pcapng, gzip-compressed".
func formatPhrase(c *Capture) string {
	switch c.Compression {
	case "", "none":
		return c.Format
	}
	return c.Format + ", " + c.Compression + "-compressed"
}

// linkTypesPhrase lists the capture's link types ("none" without any).
func linkTypesPhrase(c *Capture) string {
	if len(c.LinkTypes) == 0 {
		return "none"
	}
	return strings.Join(c.LinkTypes, ", ")
}
