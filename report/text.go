package report

import (
	"bufio"
	"fmt"
	"io"
	"reflect"

	"github.com/fatih/color"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// TextOptions configure WriteText.
type TextOptions struct {
	// Color enables ANSI colours. The caller decides (--color, NO_COLOR,
	// whether the output is a terminal); WriteText never looks at the
	// environment or at fatih/color's global NoColor.
	Color bool
}

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

// WriteText writes rep for a terminal: a heading line that names the
// capture, the verdict line (which names it too), then the capture
// summary, the sessions table and notes, the findings, the evidence frames
// of each session of Report.Evidence and the ranked recommendations. Strings that
// come from the capture are printed with control characters escaped. The
// output ends with a newline.
func WriteText(w io.Writer, rep *Report, opts TextOptions) error {
	v := newView(rep)
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw, p: newPalette(opts.Color)}
	t.color(t.p.bold, "%s", v.Heading.String())
	t.printf("\n")
	t.color(t.p.verdict(v.Verdict), "%s", v.VerdictLine)
	t.printf("\n")
	if v.ConfidenceWhy != "" {
		t.printf("%s\n", v.ConfidenceWhy)
	}
	t.capture(v)
	t.sessions(v)
	t.findings(v)
	t.evidence(v)
	t.recommendations(v)
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

func (t *textWriter) capture(v *view) {
	t.heading("Capture")
	for _, f := range v.Capture {
		t.printf("  %-13s %s\n", f.Name, f.Value.String())
	}
	if len(v.Warnings) == 0 {
		t.printf("  %-13s %s\n", "warnings", "none")
		return
	}
	for i, wn := range v.Warnings {
		name := ""
		if i == 0 {
			name = "warnings"
		}
		t.printf("  %-13s ", name)
		t.color(t.p.yellow, "%s", wn)
		t.printf("\n")
	}
}

func (t *textWriter) sessions(v *view) {
	t.heading("Sessions")
	if v.Transports != "" {
		t.printf("  %s\n", v.Transports)
	}
	if v.NoSessions {
		t.printf("  no TCP sessions or VPN flows\n")
		return
	}
	if len(v.Sessions) > 0 {
		R, L := tw.AlignRight, tw.AlignLeft
		t.table(nil, []string{"ID", "TRANSPORT", "CLIENT", "HEADEND", "FRAMES", "PACKETS", "DUP ACKS", "RETRANS", "LOST", "REQUESTS", "OUTCOME"},
			[]tw.Align{R, L, L, L, R, R, R, R, R, L, L}, len(v.Sessions), func(i int) []string {
				s := &v.Sessions[i]
				req := s.Requests
				if s.Unanswered != "" {
					req += " (" + s.Unanswered + ")"
				}
				return []string{s.ID, s.Transport, s.Client, s.Headend, s.Frames, s.Packets, s.DupAcks, s.Retrans, s.Lost, req, s.Outcome}
			})
	}
	switch {
	case v.Others == "":
	case v.OthersAfter:
		t.printf("+ %s\n", v.Others)
	default:
		t.printf("  %s\n", v.Others)
	}
	t.sessionNotes(v)
}

// table writes an ASCII table of n rows (row(i) is the i-th) under
// header, each column aligned as align says. With reuse non-nil, the
// tablewriter.Table is kept in *reuse for the next call with the same
// columns, which resets it: a new Table allocates a large cache, and the
// evidence prints one table per session.
func (t *textWriter) table(reuse **tablewriter.Table, header []string, align []tw.Align, n int, row func(int) []string) {
	if t.err != nil {
		return
	}
	var table *tablewriter.Table
	if reuse != nil && *reuse != nil {
		table = *reuse
		table.Reset()
	} else {
		cellCfg := func(per []tw.Align) tw.CellConfig {
			return tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone, AutoFormat: tw.Off},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft, PerColumn: per},
				Padding:    tw.CellPadding{Global: tw.Padding{Left: " ", Right: " "}},
			}
		}
		table = tablewriter.NewTable(t.w,
			tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
			tablewriter.WithHeaderConfig(cellCfg(nil)),
			tablewriter.WithRowConfig(cellCfg(align)),
			// Cells are strings: no stringer, no cache to clear on Reset.
			tablewriter.WithStringerCacheCustom(noCache{}),
		)
		if reuse != nil {
			*reuse = table
		}
	}
	table.Header(header)
	for i := range n {
		if err := table.Append(row(i)); err != nil {
			t.err = err
			return
		}
	}
	t.err = table.Render()
}

// noCache is a tablewriter stringer cache that keeps nothing.
type noCache struct{}

func (noCache) Add(reflect.Type, reflect.Value) bool        { return false }
func (noCache) Get(reflect.Type) (v reflect.Value, ok bool) { return v, false }
func (noCache) Purge()                                      {}

// sessionNotes prints the notes under the sessions table.
func (t *textWriter) sessionNotes(v *view) {
	for k, n := range v.Notes {
		if k == 0 {
			t.printf("\n")
		}
		t.printf("  session %d, %s [%s]\n", n.ID, n.Transport, n.Filter)
		for _, f := range n.Facts {
			t.printf("    %s\n", f)
		}
		for _, q := range n.Requests {
			t.printf("    %s: ", q.Text)
			switch q.State {
			case "inconclusive":
				t.color(t.p.yellow, "%s", q.State)
			case "unanswered":
				t.color(t.p.red, "%s", q.State)
			default:
				t.printf("%s", q.State)
			}
			if q.After != nil {
				t.printf(" %s", q.After.String())
			}
			t.printf("\n")
		}
		if n.More != "" {
			t.printf("    %s\n", n.More)
		}
	}
	if v.Guess {
		t.printf("  ? transport recognised from a partial pattern or the port only\n")
	}
}

func (t *textWriter) findings(v *view) {
	t.heading("Findings")
	if len(v.Findings) == 0 {
		t.printf("  none\n")
		return
	}
	for i, f := range v.Findings {
		if i > 0 {
			t.printf("\n")
		}
		t.printf("  ")
		t.color(t.p.severity(f.Severity), "%s", f.Label)
		t.printf(" %s", f.ID)
		if f.Session != "" {
			t.printf(" (%s)", f.Session)
		}
		t.printf("\n    %s\n", f.Summary)
		if f.Frames != "" {
			t.printf("    frames: %s\n", f.Frames)
		}
		if f.Filter != "" {
			t.printf("    filter: %s\n", f.Filter)
		}
	}
}

// evidence prints, for each session of Report.Evidence with evidence
// frames, a table of them.
func (t *textWriter) evidence(v *view) {
	R, L := tw.AlignRight, tw.AlignLeft
	var table *tablewriter.Table
	for _, e := range v.Evidence {
		if len(e.Rows) == 0 {
			continue
		}
		t.heading("Evidence: " + e.Title)
		t.printf("  %s\n", e.Note)
		t.table(&table, []string{"FRAME", "TIME (S)", "DIRECTION", "WHAT IT SHOWS"}, []tw.Align{R, R, L, L}, len(e.Rows), func(i int) []string {
			r := &e.Rows[i]
			return []string{r.Frame, r.Time, r.Direction, r.What}
		})
		if e.Omitted != "" {
			t.printf("  %s\n", e.Omitted)
		}
		if e.Wireshark != nil {
			t.printf("  %s\n", e.Wireshark.String())
		}
	}
}

func (t *textWriter) recommendations(v *view) {
	t.heading("Recommendations")
	if len(v.Recommendations) == 0 {
		t.printf("  none\n")
		return
	}
	for i, r := range v.Recommendations {
		if i > 0 {
			t.printf("\n")
		}
		t.printf("  %s. ", r.Rank)
		t.color(t.p.bold, "%s", r.Title)
		t.printf(" [%s]\n", r.Action)
		if r.Why != "" {
			t.printf("     Why: %s\n", r.Why)
		}
		if len(r.Config) > 0 {
			t.printf("     Configuration:\n")
			for _, l := range r.Config {
				t.printf("         %s\n", l)
			}
		}
		if r.Caution != "" {
			t.printf("     ")
			t.color(t.p.yellow, "Caution:")
			t.printf(" %s\n", r.Caution)
		}
	}
}
