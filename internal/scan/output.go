package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ctcpdiag/ctcpdiag/report"
)

// Formats of NewWriter.
var Formats = []string{"text", "jsonl", "csv"}

// WriterOptions configure NewWriter.
type WriterOptions struct {
	// Terminal says the output is a terminal: the csv writer then escapes
	// control characters in paths and errors too (text always does;
	// jsonl relies on JSON escaping).
	Terminal bool
	// FailOnAtRisk lists at-risk captures with the affected ones in the
	// text summary.
	FailOnAtRisk bool
}

// NewWriter returns the writer for format ("text", "jsonl" or "csv") on
// w. Writers do not buffer: each result is written when given.
func NewWriter(format string, w io.Writer, opts WriterOptions) (Writer, error) {
	switch format {
	case "text":
		return &textWriter{w: w, opts: opts}, nil
	case "jsonl":
		return &jsonlWriter{w: w}, nil
	case "csv":
		return &csvWriter{cw: csv.NewWriter(w), opts: opts}, nil
	}
	return nil, fmt.Errorf("unknown format %q: want text, jsonl or csv", format)
}

// jsonlWriter writes one compact JSON object per line: the capture's
// report (report.WriteJSON's object), {"path","error"} for an unreadable
// input, {"path","skipped"} for a skipped one.
type jsonlWriter struct {
	w   io.Writer
	buf bytes.Buffer
	// line is the buffer reports are encoded into, kept from one to the
	// next.
	line []byte
}

// errorLine and skipLine are the jsonl objects for inputs without a
// report.
type errorLine struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

type skipLine struct {
	Path    string `json:"path"`
	Skipped string `json:"skipped"`
}

func (j *jsonlWriter) Write(r *Result) error {
	if r.raw != nil {
		j.buf.Reset()
		j.buf.Write(r.raw)
		j.buf.WriteByte('\n')
		_, err := j.w.Write(j.buf.Bytes())
		return err
	}
	switch r.Kind {
	case KindCapture:
		b, err := report.AppendJSON(j.line[:0], r.Report, report.JSONOptions{Compact: true})
		if err != nil {
			return err
		}
		j.line = b
		if cap(b) > 1<<20 {
			j.line = nil // a large report's line is not kept for the small ones
		}
		_, err = j.w.Write(b)
		return err
	case KindUnreadable:
		return j.encode(errorLine{Path: r.Path, Error: r.Error})
	default:
		return j.encode(skipLine{Path: r.Path, Skipped: r.Reason})
	}
}

func (j *jsonlWriter) encode(v any) error {
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := j.w.Write(j.buf.Bytes())
	return err
}

func (j *jsonlWriter) Finish(*Summary) error { return nil }

// csvHeader is the first row of the csv output.
var csvHeader = []string{"path", "verdict", "sessions", "unanswered_requests", "first_evidence_frame", "top_recommendation", "error"}

// csvWriter writes one row per capture or unreadable input; skipped
// inputs are only counted.
type csvWriter struct {
	cw     *csv.Writer
	opts   WriterOptions
	header bool
	row    [7]string
}

func (c *csvWriter) Write(r *Result) error {
	if r.Kind == KindSkipped {
		return nil
	}
	if err := c.writeHeader(); err != nil {
		return err
	}
	row := c.row[:]
	clear(row)
	row[0] = c.text(r.Path)
	if r.Kind == KindCapture {
		s, u := CTCPCounts(r.Report)
		ev := FirstEvidence(r.Report)
		row[1] = r.Report.Verdict
		row[2] = strconv.Itoa(s)
		row[3] = strconv.Itoa(u)
		if ev.Frame > 0 {
			row[4] = strconv.FormatUint(ev.Frame, 10)
		}
		row[5] = TopRecommendation(r.Report)
	} else {
		row[6] = c.text(r.Error)
	}
	if err := c.cw.Write(row); err != nil {
		return err
	}
	c.cw.Flush()
	return c.cw.Error()
}

func (c *csvWriter) text(s string) string {
	if c.opts.Terminal {
		return report.Printable(s)
	}
	return s
}

func (c *csvWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	return c.cw.Write(csvHeader)
}

// Finish writes the header if no row was written.
func (c *csvWriter) Finish(*Summary) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.cw.Flush()
	return c.cw.Error()
}

// textWriter prints a table row per result as it comes, then the summary.
type textWriter struct {
	w      io.Writer
	opts   WriterOptions
	header bool
	err    error
	// row is the buffer rows are formatted in, kept from one to the next.
	row []byte
}

func (t *textWriter) printf(format string, a ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, a...)
	}
}

func (t *textWriter) Write(r *Result) error {
	if r.Kind == KindSkipped {
		return nil
	}
	if !t.header {
		t.header = true
		t.writeRow("VERDICT", "SESSIONS", "UNANSWERED", "EVIDENCE", "FILE")
	}
	if r.Kind == KindUnreadable {
		t.writeRow("unreadable", "-", "-", "-", report.Printable(r.Path)+": "+report.Printable(r.Error))
		return t.err
	}
	s, u := CTCPCounts(r.Report)
	ev := FirstEvidence(r.Report)
	frame := "-"
	if ev.Frame > 0 {
		frame = "#" + strconv.FormatUint(ev.Frame, 10)
	}
	t.writeRow(report.Printable(r.Report.Verdict), strconv.Itoa(s), strconv.Itoa(u), frame, report.Printable(r.Path))
	return t.err
}

// writeRow writes one row of the table, as fmt's "%-12s %8s %10s %8s  %s\n"
// would: widths count runes.
func (t *textWriter) writeRow(verdict, sessions, unanswered, evidence, file string) {
	if t.err != nil {
		return
	}
	b := padRight(t.row[:0], verdict, 12)
	b = padLeft(append(b, ' '), sessions, 8)
	b = padLeft(append(b, ' '), unanswered, 10)
	b = padLeft(append(b, ' '), evidence, 8)
	b = append(append(b, "  "...), file...)
	t.row = append(b, '\n')
	_, t.err = t.w.Write(t.row)
}

// padRight appends s and then spaces up to width runes.
func padRight(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

// padLeft appends spaces up to width runes and then s.
func padLeft(b []byte, s string, width int) []byte {
	for n := utf8.RuneCountInString(s); n < width; n++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// Finish prints the summary.
func (t *textWriter) Finish(s *Summary) error {
	if t.header {
		t.printf("\n")
	}
	t.printf("Summary: %s: %s analyzed, %d unreadable, %d skipped\n",
		plural(s.Files(), "input", "inputs"), plural(s.Captures, "capture", "captures"), s.Unreadable, s.Skipped)
	if s.Interrupted {
		t.printf("  INTERRUPTED: %d not scanned\n", s.NotScanned)
	}
	for _, v := range Verdicts {
		t.printf("  %-13s %d\n", v, s.Verdicts[v])
	}
	for v, n := range sortedExtra(s.Verdicts) {
		t.printf("  %-13s %d\n", report.Printable(v), n)
	}
	t.hits(s, "affected", "Affected captures")
	if t.opts.FailOnAtRisk {
		t.hits(s, "at-risk", "At-risk captures")
	}
	if len(s.Failures) > 0 {
		t.printf("\nUnreadable\n")
		for _, f := range s.Failures {
			t.printf("  %s: %s\n", report.Printable(f.Path), report.Printable(f.Error))
		}
	}
	if len(s.SkipReasons) > 0 {
		t.printf("\nSkipped\n")
		for _, rc := range s.SkipReasons {
			t.printf("  %6d  %s\n", rc.Count, report.Printable(rc.Reason))
		}
	}
	return t.err
}

func (t *textWriter) hits(s *Summary, verdict, title string) {
	first := true
	for _, h := range s.Affected {
		if h.Verdict != verdict {
			continue
		}
		if first {
			t.printf("\n%s\n", title)
			first = false
		}
		t.printf("  %s\n", report.Printable(h.Path))
		var parts []string
		if h.Client != "" {
			parts = append(parts, "client "+report.Printable(h.Client), "headend "+report.Printable(h.Headend))
		}
		if h.Frame > 0 {
			parts = append(parts, "frame "+strconv.FormatUint(h.Frame, 10))
		}
		if len(parts) > 0 {
			t.printf("    %s\n", strings.Join(parts, "  "))
		}
		if h.Text != "" {
			t.printf("    %s\n", report.Printable(h.Text))
		}
	}
}

// sortedExtra yields the verdicts of m not in Verdicts, sorted.
func sortedExtra(m map[string]int) func(yield func(string, int) bool) {
	return func(yield func(string, int) bool) {
		var extra []string
		for v := range m {
			known := false
			for _, k := range Verdicts {
				known = known || k == v
			}
			if !known {
				extra = append(extra, v)
			}
		}
		sortStrings(extra)
		for _, v := range extra {
			if !yield(v, m[v]) {
				return
			}
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
