package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// WriteMarkdown writes rep as GitHub-flavoured Markdown, to paste into a
// ticket: a heading that names the capture, the verdict in one sentence
// (which names it too), then the capture summary, the sessions table with
// each listed session's retransmit requests, the findings with their
// frames and Wireshark display filters, the evidence frames of each
// graphed session, the ranked recommendations with their configuration in
// fenced code blocks and a short glossary. Graphs are not drawn (see
// WriteHTML).
//
// Every string from the report is escaped for Markdown and for the inline
// HTML GitHub renders, with backslashes and code spans only, never HTML
// entities: control characters are shown escaped as in WriteText, text
// cannot open links, images, emphasis, headings, lists, quotes, entities
// or HTML tags (a colon after a letter and before a non-space, as in a URL
// scheme, is escaped too), and code spans and fences are longer than any
// backtick run they hold. The output depends only on rep and ends with a
// newline.
func WriteMarkdown(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw}
	m.printf("# %s%s\n\n", headingPrefix, mdCode(displayPath(rep), false))
	m.verdict(rep)
	m.capture(rep)
	m.sessions(rep)
	m.findings(rep)
	m.evidence(rep)
	m.recommendations(rep)
	m.glossary()
	m.printf("\n---\n\n*Report by %s %s.*\n", mdText(rep.Tool.Name), mdText(rep.Tool.Version))
	if m.err != nil {
		return m.err
	}
	return bw.Flush()
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, a ...any) {
	if m.err != nil {
		return
	}
	_, m.err = fmt.Fprintf(m.w, format, a...)
}

func verdictLabel(v string) string {
	if l, ok := verdictLabels[v]; ok {
		return l
	}
	return strings.ToUpper(v)
}

func (m *mdWriter) verdict(rep *Report) {
	m.printf("**%s**\n", mdText(verdictLine(rep)))
	if rep.ConfidenceWhy != "" {
		m.printf("\n%s\n", mdText(rep.ConfidenceWhy))
	}
}

func (m *mdWriter) row(cells ...string) {
	m.printf("|")
	for _, c := range cells {
		m.printf(" %s |", c)
	}
	m.printf("\n")
}

func (m *mdWriter) capture(rep *Report) {
	c := &rep.Capture
	m.printf("\n## Capture\n\n| | |\n|---|---|\n")
	m.row("File", mdCode(c.Path, true))
	m.row("Format", formatPhrase(c, mdText))
	m.row("Size", plural(c.Size, "byte", "bytes"))
	if c.SHA256 == "" {
		m.row("SHA-256", noHash)
	} else {
		m.row("SHA-256", mdCode(c.SHA256, true))
	}
	m.row("Packets", group(int64(c.Packets)))
	if c.Start != nil && c.End != nil {
		m.row("Time span", fmt.Sprintf("%s to %s (%s)", mdText(*c.Start), mdText(*c.End), formatSeconds(c.Duration)))
	} else {
		m.row("Time span", "no packets")
	}
	m.row("Link types", linkTypesPhrase(c, mdText))
	m.row("TCP analysis", tcpAnalysisPhrase(c))
	if len(c.Warnings) == 0 {
		m.row("Warnings", "none")
		return
	}
	m.row("Warnings", plural(int64(len(c.Warnings)), "warning", "warnings")+" (below)")
	m.printf("\nWarnings:\n\n")
	for _, wn := range c.Warnings {
		m.printf("- %s\n", mdText(wn))
	}
}

func (m *mdWriter) sessions(rep *Report) {
	m.printf("\n## Sessions\n")
	if !transportsStated(rep) {
		m.printf("\nVPN transports seen: %s.\n", transportsSentence(rep, mdText))
	}
	if len(rep.Sessions) == 0 {
		m.printf("\nNo TCP sessions or VPN flows.\n")
		return
	}
	l := rep.Listing
	if len(l.Shown) > 0 {
		m.printf("\n| ID | Transport | Client | Headend | Frames | Packets | Dup ACKs | Retrans | Lost | Requests | Outcome |\n")
		m.printf("|---:|---|---|---|---:|---:|---:|---:|---:|---|---|\n")
		for _, i := range l.Shown {
			s := &rep.Sessions[i]
			transport := mdText(transportLabel(s.Transport))
			if !s.TransportSure && analyze.Transport(s.Transport).IsVPN() {
				transport += "?"
			}
			req := strconv.Itoa(len(s.RetransmitRequests))
			if s.Unanswered > 0 {
				req += fmt.Sprintf(" (**%d unanswered**)", s.Unanswered)
			}
			m.row(strconv.Itoa(s.ID), transport, mdCode(s.Client, true), mdCode(s.Headend, true),
				fmt.Sprintf("%d-%d", s.FirstFrame, s.LastFrame), group(int64(s.Packets)),
				group(int64(s.DupAcks)), group(int64(s.Retransmissions)), group(int64(s.LostSegments)),
				req, mdText(s.Outcome))
		}
	}
	if s := otherSessionsSentence(l); s != "" {
		m.printf("\n%s\n", s)
	}
	m.sessionNotes(rep)
}

func (m *mdWriter) sessionNotes(rep *Report) {
	notes, guess := sessionNotes(rep, mdText)
	for _, n := range notes {
		s := n.s
		m.printf("\n**Session %d** (%s, %s)\n\n", s.ID, n.transport, mdCode(s.WiresharkFilter, false))
		for _, f := range n.facts {
			m.printf("- %s\n", f)
		}
		for _, q := range n.requests {
			state := q.state.String()
			if q.state != answered {
				state = "**" + state + "**"
			}
			m.printf("- %s: %s", q.text, state)
			switch {
			case q.see != "":
				m.printf(" (see finding %s)", mdCode(q.see, false))
			case q.why != "":
				m.printf(" (%s)", q.why)
			}
			m.printf("\n")
		}
		if n.more > 0 {
			m.printf("- ... %d more retransmit requests (see the JSON report)\n", n.more)
		}
	}
	if guess {
		m.printf("\n? transport recognised from a partial pattern or the port only.\n")
	}
}

func (m *mdWriter) findings(rep *Report) {
	m.printf("\n## Findings\n\n")
	if len(rep.Findings) == 0 {
		m.printf("None.\n")
		return
	}
	for i, f := range rep.Findings {
		if i > 0 {
			m.printf("\n")
		}
		m.printf("**%s** %s", mdText(strings.ToUpper(f.Severity)), mdCode(f.ID, false))
		if f.Session != nil {
			m.printf(" (session %d)", *f.Session)
		}
		m.printf("  \n%s\n", mdText(f.Summary))
		if len(f.Frames) > 0 {
			m.printf("- Frames: %s\n", frameList(f.Frames))
		}
		if f.WiresharkFilter != "" {
			m.printf("- Wireshark filter: %s\n", mdCode(f.WiresharkFilter, false))
		}
	}
}

func (m *mdWriter) evidence(rep *Report) {
	for _, g := range rep.Graphs {
		if len(g.Evidence) == 0 {
			continue
		}
		m.printf("\n## Evidence: %s\n\n", mdText(g.Title))
		m.printf("Times are seconds from the session's first packet (%s).\n\n", mdText(g.Start))
		m.printf("| Frame | Time (s) | Direction | What it shows |\n|---:|---:|---|---|\n")
		for _, e := range g.Evidence {
			t := ""
			if e.HasTime {
				t = strconv.FormatFloat(e.Offset, 'f', 6, 64)
			}
			m.row(strconv.FormatUint(e.Frame, 10), t, mdText(e.Direction), mdText(e.What))
		}
		if g.EvidenceOmitted > 0 {
			m.printf("\n%s not listed (see the JSON report).\n",
				plural(int64(g.EvidenceOmitted), "more retransmit request", "more retransmit requests"))
		}
	}
}

func (m *mdWriter) recommendations(rep *Report) {
	m.printf("\n## Recommendations\n\n")
	if len(rep.Recommendations) == 0 {
		m.printf("None.\n")
		return
	}
	for i, r := range rep.Recommendations {
		if i > 0 {
			m.printf("\n")
		}
		title := r.Title
		if title == "" {
			title = r.Action
		}
		m.printf("### %d. %s (%s)\n", r.Rank, mdText(title), mdCode(r.Action, false))
		if r.Why != "" {
			m.printf("\n**Why:** %s\n", mdText(r.Why))
		}
		if lines := cleanLines(r.Config); len(lines) > 0 {
			m.printf("\n**Configuration:**\n\n%s", mdFence(lines))
		}
		if r.Caution != "" {
			m.printf("\n> **Caution:** %s\n", mdText(r.Caution))
		}
	}
}

// mdText escapes s (after clean) for Markdown prose and table cells with
// backslashes, never with HTML entities: every character that could start
// markup is backslash-escaped ("<" always, so that no HTML tag or autolink
// can open; "&" where it could start an entity or character reference),
// "scheme:" colons are escaped so that no link can form, and a leading
// list, heading or quote marker is escaped. ">" elsewhere is left as it
// is: with "<" escaped it closes nothing.
func mdText(s string) string {
	s = clean(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '~', '#', '!', '<':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '&':
			if startsReference(s[i+1:]) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case ':':
			if i > 0 && isLetter(s[i-1]) && i+1 < len(s) && s[i+1] != ' ' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '-', '+', '=', '>', '.', ')':
			// List, heading, quote and thematic-break markers only
			// matter where the text starts a line.
			if i == 0 && c != '.' && c != ')' || (c == '.' || c == ')') && i > 0 && allDigits(s[:i]) && (i+1 == len(s) || s[i+1] == ' ') {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// startsReference reports whether s, the text after an "&", would make it
// an entity or numeric character reference ("amp;", "#38;", "#x26;"):
// letters, digits or "#" up to a ";".
func startsReference(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ';':
			return i > 0
		case isLetter(c) || '0' <= c && c <= '9' || c == '#':
		default:
			return false
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mdCode writes s (after clean) as an inline code span, delimited by more
// backticks than any run inside it. In a table cell (inTable) "|" is
// escaped, which GitHub's table parser requires even inside code.
func mdCode(s string, inTable bool) string {
	s = clean(s)
	if s == "" {
		return ""
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdFence writes lines (already cleaned) as a fenced code block, with a
// fence longer than any backtick run inside.
func mdFence(lines []string) string {
	n := 3
	for _, l := range lines {
		n = max(n, longestRun(l, '`')+1)
	}
	fence := strings.Repeat("`", n)
	var b strings.Builder
	b.WriteString(fence)
	b.WriteString("text\n")
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString(fence)
	b.WriteByte('\n')
	return b.String()
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
