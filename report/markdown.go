package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes rep as GitHub-flavoured Markdown, to paste into a
// ticket: a heading that names the capture, the verdict in one sentence
// (which names it too), then the capture summary, the sessions table with
// each listed session's retransmit requests, the findings with their
// frames and Wireshark display filters, the evidence frames of each
// session of Report.Evidence, the ranked recommendations with their configuration in
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
	v := newView(rep)
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw}
	m.printf("# %s\n\n", mdPhrase(v.Heading, false))
	m.printf("**%s**\n", mdText(v.VerdictLine))
	if v.ConfidenceWhy != "" {
		m.printf("\n%s\n", mdText(v.ConfidenceWhy))
	}
	m.capture(v)
	m.sessions(v)
	m.findings(v)
	m.evidence(v)
	m.recommendations(v)
	m.printf("\n## Glossary\n\n")
	for _, g := range v.Glossary {
		m.printf("- **%s**: %s  \n  %s\n", mdText(g.Term), mdText(g.What), mdText(g.Why))
	}
	m.printf("\n---\n\n*%s*\n", mdText(v.Footer))
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

// row writes a table row of cells, already escaped.
func (m *mdWriter) row(cells ...string) {
	m.printf("|")
	for _, c := range cells {
		m.printf(" %s |", c)
	}
	m.printf("\n")
}

func (m *mdWriter) capture(v *view) {
	m.printf("\n## Capture\n\n| | |\n|---|---|\n")
	for _, f := range v.Capture {
		m.row(f.Label, mdPhrase(f.Value, true))
	}
	if len(v.Warnings) == 0 {
		m.row("Warnings", "none")
		return
	}
	m.row("Warnings", mdText(v.WarningCount)+" (below)")
	m.printf("\nWarnings:\n\n")
	for _, wn := range v.Warnings {
		m.printf("- %s\n", mdText(wn))
	}
}

func (m *mdWriter) sessions(v *view) {
	m.printf("\n## Sessions\n")
	if v.Transports != "" {
		m.printf("\n%s.\n", mdText(v.Transports))
	}
	if v.NoSessions {
		m.printf("\nNo TCP sessions or VPN flows.\n")
		return
	}
	if len(v.Sessions) > 0 {
		m.printf("\n| ID | Transport | Client | Headend | Frames | Packets | Dup ACKs | Retrans | Lost | Requests | Outcome |\n")
		m.printf("|---:|---|---|---|---:|---:|---:|---:|---:|---|---|\n")
		for _, s := range v.Sessions {
			req := mdText(s.Requests)
			if s.Unanswered != "" {
				req += " (**" + mdText(s.Unanswered) + "**)"
			}
			m.row(mdText(s.ID), mdText(s.Transport), mdCode(s.Client, true), mdCode(s.Headend, true),
				mdText(s.Frames), mdText(s.Packets), mdText(s.DupAcks), mdText(s.Retrans), mdText(s.Lost),
				req, mdText(s.Outcome))
		}
	}
	switch {
	case v.Others == "":
	case v.OthersAfter:
		m.printf("\nPlus %s.\n", mdText(v.Others))
	default:
		m.printf("\n%s.\n", mdText(v.Others))
	}
	for _, n := range v.Notes {
		m.printf("\n**Session %d** (%s, %s)\n\n", n.ID, mdText(n.Transport), mdCode(n.Filter, false))
		for _, f := range n.Facts {
			m.printf("- %s\n", mdText(f))
		}
		for _, q := range n.Requests {
			state := q.State
			if state != "answered" {
				state = "**" + state + "**"
			}
			m.printf("- %s: %s", mdText(q.Text), state)
			if q.After != nil {
				m.printf(" %s", mdPhrase(q.After, false))
			}
			m.printf("\n")
		}
		if n.More != "" {
			m.printf("- %s (see the JSON report)\n", mdText(n.More))
		}
	}
	if v.Guess {
		m.printf("\n? transport recognised from a partial pattern or the port only.\n")
	}
}

func (m *mdWriter) findings(v *view) {
	m.printf("\n## Findings\n\n")
	if len(v.Findings) == 0 {
		m.printf("None.\n")
		return
	}
	for i, f := range v.Findings {
		if i > 0 {
			m.printf("\n")
		}
		m.printf("**%s** %s", mdText(f.Label), mdCode(f.ID, false))
		if f.Session != "" {
			m.printf(" (%s)", mdText(f.Session))
		}
		m.printf("  \n%s\n", mdText(f.Summary))
		if f.Frames != "" {
			m.printf("- Frames: %s\n", mdText(f.Frames))
		}
		if f.Filter != "" {
			m.printf("- Wireshark filter: %s\n", mdCode(f.Filter, false))
		}
	}
}

func (m *mdWriter) evidence(v *view) {
	for _, e := range v.Evidence {
		if len(e.Rows) == 0 {
			continue
		}
		m.printf("\n## Evidence: %s\n\n", mdText(e.Title))
		m.printf("%s\n\n", mdText(e.Note))
		m.printf("| Frame | Time (s) | Direction | What it shows |\n|---:|---:|---|---|\n")
		for _, r := range e.Rows {
			m.row(mdText(r.Frame), mdText(r.Time), mdText(r.Direction), mdText(r.What))
		}
		if e.Omitted != "" {
			m.printf("\n%s\n", mdText(e.Omitted))
		}
		if e.Wireshark != nil {
			m.printf("\n%s\n", mdPhrase(e.Wireshark, false))
		}
	}
}

func (m *mdWriter) recommendations(v *view) {
	m.printf("\n## Recommendations\n\n")
	if len(v.Recommendations) == 0 {
		m.printf("None.\n")
		return
	}
	for i, r := range v.Recommendations {
		if i > 0 {
			m.printf("\n")
		}
		m.printf("### %s. %s (%s)\n", r.Rank, mdText(r.Title), mdCode(r.Action, false))
		if r.Why != "" {
			m.printf("\n**Why:** %s\n", mdText(r.Why))
		}
		if len(r.Config) > 0 {
			m.printf("\n**Configuration:**\n\n%s", mdFence(r.Config))
		}
		if r.Caution != "" {
			m.printf("\n> **Caution:** %s\n", mdText(r.Caution))
		}
	}
}

// mdPhrase writes p: its prose with mdText, its code with mdCode (inTable:
// in a table cell).
func mdPhrase(p phrase, inTable bool) string {
	if len(p) == 1 && !p[0].Code {
		return mdText(p[0].S)
	}
	var b strings.Builder
	for _, s := range p {
		if s.Code {
			b.WriteString(mdCode(s.S, inTable))
		} else {
			b.WriteString(mdText(s.S))
		}
	}
	return b.String()
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
	escaped, last := false, 0
	for i := 0; i < len(s); i++ {
		if !mdEscapes(s, i) {
			continue
		}
		if !escaped {
			b.Grow(len(s) + 8)
			escaped = true
		}
		b.WriteString(s[last:i])
		b.WriteByte('\\')
		last = i
	}
	if !escaped {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// mdEscapes reports whether mdText escapes s[i].
func mdEscapes(s string, i int) bool {
	switch s[i] {
	case '\\', '`', '*', '_', '[', ']', '|', '~', '#', '!', '<':
		return true
	case '&':
		return startsReference(s[i+1:])
	case ':':
		return i > 0 && isLetter(s[i-1]) && i+1 < len(s) && s[i+1] != ' '
	case '-', '+', '=', '>':
		// List, heading, quote and thematic-break markers only matter
		// where the text starts a line.
		return i == 0
	case '.', ')':
		// An ordered list marker: digits, then "." or ")".
		return i > 0 && allDigits(s[:i]) && (i+1 == len(s) || s[i+1] == ' ')
	}
	return false
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
