package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fatih/color"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// TextOptions configure WriteText.
type TextOptions struct {
	// Color enables ANSI colours. The caller decides (--color, NO_COLOR,
	// whether the output is a terminal); WriteText never looks at the
	// environment or at fatih/color's global NoColor.
	Color bool
}

// Limits of the text report; the JSON report has everything.
const (
	maxTextFrames   = 20 // frames listed per finding
	maxTextRequests = 10 // retransmit requests listed per session
)

// palette holds the colour objects of one WriteText call, each explicitly
// enabled or disabled.
type palette struct {
	red, yellow, green, plain, bold, dim *color.Color
}

func newPalette(on bool) palette {
	p := palette{
		red:    color.New(color.FgRed, color.Bold),
		yellow: color.New(color.FgYellow, color.Bold),
		green:  color.New(color.FgGreen, color.Bold),
		plain:  color.New(color.Bold),
		bold:   color.New(color.Bold),
		dim:    color.New(color.Faint),
	}
	for _, c := range []*color.Color{p.red, p.yellow, p.green, p.plain, p.bold, p.dim} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

func (p palette) verdict(v string) *color.Color {
	switch v {
	case "affected":
		return p.red
	case "at-risk", "inconclusive":
		return p.yellow
	case "healthy":
		return p.green
	}
	return p.plain
}

func (p palette) severity(s string) *color.Color {
	switch s {
	case "critical":
		return p.red
	case "warning":
		return p.yellow
	}
	return p.plain
}

// verdictLabels are the headline words of each verdict.
var verdictLabels = map[string]string{
	"affected":     "AFFECTED",
	"at-risk":      "AT RISK",
	"healthy":      "HEALTHY",
	"no-ctcp":      "NO cTCP",
	"inconclusive": "INCONCLUSIVE",
}

// WriteText writes rep for a terminal: a heading line that names the
// capture, the verdict line (which names it too), then the capture
// summary, the sessions table, the findings and the ranked
// recommendations. Strings that come from the capture are printed with
// control characters escaped. The output ends with a newline.
func WriteText(w io.Writer, rep *Report, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw, p: newPalette(opts.Color)}
	t.color(t.p.bold, "%s", clean(headingLine(rep)))
	t.printf("\n")
	t.verdict(rep)
	t.capture(rep)
	t.sessions(rep)
	t.findings(rep)
	t.recommendations(rep)
	if t.err != nil {
		return t.err
	}
	return bw.Flush()
}

// textWriter remembers the first write error, so the sections can be
// written without checking each call.
type textWriter struct {
	w   *bufio.Writer
	p   palette
	err error
}

func (t *textWriter) printf(format string, a ...any) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.w, format, a...)
}

func (t *textWriter) color(c *color.Color, format string, a ...any) {
	if t.err != nil {
		return
	}
	_, t.err = c.Fprintf(t.w, format, a...)
}

func (t *textWriter) heading(s string) {
	t.printf("\n")
	t.color(t.p.bold, "%s", s)
	t.printf("\n")
}

func (t *textWriter) verdict(rep *Report) {
	t.color(t.p.verdict(rep.Verdict), "%s", clean(verdictLine(rep)))
	t.printf("\n")
	if rep.ConfidenceWhy != "" {
		t.printf("%s\n", clean(rep.ConfidenceWhy))
	}
}

func (t *textWriter) field(name, value string) {
	t.printf("  %-13s %s\n", name, value)
}

func (t *textWriter) capture(rep *Report) {
	c := &rep.Capture
	t.heading("Capture")
	t.field("file", clean(c.Path))
	t.field("format", formatPhrase(c, clean))
	t.field("size", plural(c.Size, "byte", "bytes"))
	if c.SHA256 == "" {
		t.field("sha256", noHash)
	} else {
		t.field("sha256", clean(c.SHA256))
	}
	t.field("packets", group(int64(c.Packets)))
	if c.Start != nil && c.End != nil {
		t.field("time", fmt.Sprintf("%s to %s (%s)", clean(*c.Start), clean(*c.End), formatSeconds(c.Duration)))
	} else {
		t.field("time", "no packets")
	}
	t.field("link types", linkTypesPhrase(c, clean))
	t.field("tcp analysis", tcpAnalysisPhrase(c))
	if len(c.Warnings) == 0 {
		t.field("warnings", "none")
		return
	}
	for i, wn := range c.Warnings {
		name := ""
		if i == 0 {
			name = "warnings"
		}
		t.printf("  %-13s ", name)
		t.color(t.p.yellow, "%s", clean(wn))
		t.printf("\n")
	}
}

func (t *textWriter) sessions(rep *Report) {
	t.heading("Sessions")
	l := rep.Listing
	if !transportsStated(rep) {
		t.printf("  VPN transports seen: %s\n", transportsSentence(rep, clean))
	}
	if len(rep.Sessions) == 0 {
		t.printf("  no TCP sessions or VPN flows\n")
		return
	}
	if len(l.Shown) > 0 {
		t.table(rep)
	}
	if other := l.OtherTCP + l.OtherUDP; other > 0 {
		what := otherSessionsNoun(l)
		prefix := "+ " + group(int64(other)) + " other "
		if len(l.Shown) == 0 {
			prefix = "  " + group(int64(other)) + " "
		}
		t.printf("%s%s without dup ACKs, retransmissions or lost segments\n", prefix, what)
	}
	t.sessionNotes(rep)
}

func (t *textWriter) table(rep *Report) {
	if t.err != nil {
		return
	}
	cellCfg := func(align tw.Align, per []tw.Align) tw.CellConfig {
		return tw.CellConfig{
			Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone, AutoFormat: tw.Off},
			Alignment:  tw.CellAlignment{Global: align, PerColumn: per},
			Padding:    tw.CellPadding{Global: tw.Padding{Left: " ", Right: " "}},
		}
	}
	R, L := tw.AlignRight, tw.AlignLeft
	table := tablewriter.NewTable(t.w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderConfig(cellCfg(L, nil)),
		tablewriter.WithRowConfig(cellCfg(L, []tw.Align{R, L, L, L, R, R, R, R, R, L, L})),
	)
	table.Header("ID", "TRANSPORT", "CLIENT", "HEADEND", "FRAMES", "PACKETS", "DUP ACKS", "RETRANS", "LOST", "REQUESTS", "OUTCOME")
	for _, i := range rep.Listing.Shown {
		s := &rep.Sessions[i]
		transport := clean(transportLabel(s.Transport))
		if !s.TransportSure && analyze.Transport(s.Transport).IsVPN() {
			transport += "?"
		}
		req := strconv.Itoa(len(s.RetransmitRequests))
		if s.Unanswered > 0 {
			req += fmt.Sprintf(" (%d unanswered)", s.Unanswered)
		}
		if err := table.Append([]string{
			strconv.Itoa(s.ID),
			transport,
			clean(s.Client),
			clean(s.Headend),
			fmt.Sprintf("%d-%d", s.FirstFrame, s.LastFrame),
			group(int64(s.Packets)),
			group(int64(s.DupAcks)),
			group(int64(s.Retransmissions)),
			group(int64(s.LostSegments)),
			req,
			clean(s.Outcome),
		}); err != nil {
			t.err = err
			return
		}
	}
	t.err = table.Render()
}

// sessionNotes prints, under the table, how each listed VPN session was
// recognised and its retransmit requests.
func (t *textWriter) sessionNotes(rep *Report) {
	notes, guess := sessionNotes(rep, clean)
	for k, n := range notes {
		if k == 0 {
			t.printf("\n")
		}
		s := n.s
		t.printf("  session %d, %s [%s]\n", s.ID, n.transport, clean(s.WiresharkFilter))
		for _, f := range n.facts {
			t.printf("    %s\n", f)
		}
		for _, q := range n.requests {
			t.printf("    %s: ", q.text)
			switch q.state {
			case inconclusive:
				t.color(t.p.yellow, "inconclusive")
			case unanswered:
				t.color(t.p.red, "unanswered")
			default:
				t.printf("answered")
			}
			switch {
			case q.see != "":
				t.printf(" (see finding %s)", clean(q.see))
			case q.why != "":
				t.printf(" (%s)", q.why)
			}
			t.printf("\n")
		}
		if n.more > 0 {
			t.printf("    ... %d more retransmit requests\n", n.more)
		}
	}
	if guess {
		t.printf("  ? transport recognised from a partial pattern or the port only\n")
	}
}

func (t *textWriter) findings(rep *Report) {
	t.heading("Findings")
	if len(rep.Findings) == 0 {
		t.printf("  none\n")
		return
	}
	for i, f := range rep.Findings {
		if i > 0 {
			t.printf("\n")
		}
		t.printf("  ")
		t.color(t.p.severity(f.Severity), "%s", strings.ToUpper(clean(f.Severity)))
		t.printf(" %s", clean(f.ID))
		if f.Session != nil {
			t.printf(" (session %d)", *f.Session)
		}
		t.printf("\n    %s\n", clean(f.Summary))
		if len(f.Frames) > 0 {
			t.printf("    frames: %s\n", frameList(f.Frames))
		}
		if f.WiresharkFilter != "" {
			t.printf("    filter: %s\n", clean(f.WiresharkFilter))
		}
	}
}

func (t *textWriter) recommendations(rep *Report) {
	t.heading("Recommendations")
	if len(rep.Recommendations) == 0 {
		t.printf("  none\n")
		return
	}
	for i, r := range rep.Recommendations {
		if i > 0 {
			t.printf("\n")
		}
		title := clean(r.Title)
		if title == "" {
			title = clean(r.Action)
		}
		t.printf("  %d. ", r.Rank)
		t.color(t.p.bold, "%s", title)
		t.printf(" [%s]\n", clean(r.Action))
		if r.Why != "" {
			t.printf("     Why: %s\n", clean(r.Why))
		}
		if lines := cleanLines(r.Config); len(lines) > 0 {
			t.printf("     Configuration:\n")
			for _, l := range lines {
				t.printf("         %s\n", l)
			}
		}
		if r.Caution != "" {
			t.printf("     ")
			t.color(t.p.yellow, "Caution:")
			t.printf(" %s\n", clean(r.Caution))
		}
	}
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

// stallPhrase describes a stall after the side's name, the same in every
// renderer: "sent no data for 44.7 s after frame 141 until the end of the
// capture, while the other side sent 3 data segments". It holds only
// numbers, so it needs no escaping.
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

// tcpAnalysisPhrase summarises the capture's TCP analysis counts, the same
// in every renderer (numbers only: no escaping needed).
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

// otherSessionsSentence is the Markdown and HTML line under the sessions
// table for the sessions left out of it ("" when none).
func otherSessionsSentence(l Listing) string {
	other := l.OtherTCP + l.OtherUDP
	if other == 0 {
		return ""
	}
	prefix := "Plus " + group(int64(other)) + " other "
	if len(l.Shown) == 0 {
		prefix = group(int64(other)) + " "
	}
	return prefix + otherSessionsNoun(l) + " without dup ACKs, retransmissions or lost segments."
}

// noHash stands for the SHA-256 in the text, Markdown and HTML reports
// of a capture analyzed with --no-hash (capture.sha256 is "" in JSON).
const noHash = "not computed (--no-hash)"

// formatPhrase is the capture's format, "pcapng, gzip-compressed"; esc
// escapes capture-derived text for the renderer.
func formatPhrase(c *Capture, esc func(string) string) string {
	format := esc(c.Format)
	switch c.Compression {
	case "", "none":
	default:
		format += ", " + esc(c.Compression) + "-compressed"
	}
	return format
}

// linkTypesPhrase lists the capture's link types ("none" without any),
// each escaped with esc.
func linkTypesPhrase(c *Capture, esc func(string) string) string {
	if len(c.LinkTypes) == 0 {
		return "none"
	}
	cl := make([]string, len(c.LinkTypes))
	for i, l := range c.LinkTypes {
		cl[i] = esc(l)
	}
	return strings.Join(cl, ", ")
}
