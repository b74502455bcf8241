package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/pipeline"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// Exit statuses (docs/design.md, "Exit status").
const (
	exitOK       = 0 // analyzed, nothing affected
	exitAffected = 1 // at least one capture affected
	exitFailure  = 2 // usage error, an input not readable at all, report not written
)

// env is what a run sees of the outside world; tests substitute it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// getenv reads an environment variable.
	getenv func(string) string
	// isTerminal reports whether w is a terminal.
	isTerminal func(w io.Writer) bool
}

// run runs ctcpdiag with args (without the program name) and returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case cmdScan:
			return runScanCmd(args[1:], stdin, stdout, stderr)
		case cmdMerge:
			return runMergeCmd(args[1:], stdin, stdout, stderr)
		case cmdAnonymize:
			return runAnonymizeCmd(args[1:], stdin, stdout, stderr)
		case cmdCorrelate:
			return runCorrelateCmd(args[1:], stdin, stdout, stderr)
		}
	}
	return runEnv(args, &env{
		stdin:      stdin,
		stdout:     stdout,
		stderr:     stderr,
		getenv:     os.Getenv,
		isTerminal: isTerminal,
	})
}

func runEnv(args []string, e *env) int {
	opts, err := parseArgs(args)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			hint := "ctcpdiag help"
			if ue.command != "" {
				hint = "ctcpdiag help " + ue.command
			}
			fmt.Fprintf(e.stderr, "ctcpdiag: %s\nRun %q for usage.\n", report.Printable(ue.msg), hint)
		} else {
			fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(err.Error()))
		}
		return exitFailure
	}
	switch opts.Command {
	case cmdHelp:
		fmt.Fprint(e.stdout, opts.Usage)
		return exitOK
	case cmdVersion:
		fmt.Fprintf(e.stdout, "ctcpdiag %s\n", versionFunc())
		return exitOK
	}
	return runAnalyze(opts, e)
}

// outcome is what became of one input file.
type outcome struct {
	// err is set when the file could not be read at all.
	err     error
	verdict detect.Verdict
}

// exitStatus decides the exit status of an analyze run, the only place
// that does (docs/design.md, "Exit status"): 2 when an input could not be
// read at all, when there was no input, or when the report could not be
// written; otherwise 1 when at least one capture is affected, else 0. 2
// wins over 1, as in grep and diff: an unreadable file among affected
// captures still gives 2. The other inputs are analyzed and reported all
// the same, and each unreadable one is named on standard error.
func exitStatus(outcomes []outcome, writeErr error) int {
	if writeErr != nil || len(outcomes) == 0 {
		return exitFailure
	}
	affected := false
	for _, o := range outcomes {
		if o.err != nil {
			return exitFailure
		}
		if o.verdict == detect.Affected {
			affected = true
		}
	}
	if affected {
		return exitAffected
	}
	return exitOK
}

func runAnalyze(opts *Options, e *env) int {
	color := false
	if opts.Format == "text" {
		color = useColor(opts.Color, opts.Output, e)
	}
	popts := pipeline.Options{
		Analyze: analyze.Options{Ports: opts.Ports, MaxFlows: opts.MaxFlows, NoHash: opts.NoHash, Threads: shards(opts.Threads)},
		Detect:  detect.Config{DupAcks: opts.DupAcks},
		Tool:    report.Tool{Name: "ctcpdiag", Version: versionFunc()},
		Graphs:  opts.Format == "html",
	}
	// One mapping for the whole run: the same address maps alike in every
	// report. A random key is never printed.
	if opts.Anonymize {
		key := anon.RandomKey()
		if opts.AnonKey != "" {
			key = anon.KeyFromString(opts.AnonKey)
		}
		popts.Mapper = anon.NewMapper(key)
	}

	// Reports go straight to standard output, one after another, or are
	// collected for the atomic write of -o.
	var out io.Writer = e.stdout
	var buf bytes.Buffer
	if opts.Output != "" {
		out = &buf
	}

	var outcomes []outcome
	var writeErr, evidenceErr error
	for _, path := range opts.Files {
		in, err := openInput(path, e.stdin, popts.Graphs)
		if err != nil {
			fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(inputErrorText(path, err)))
			outcomes = append(outcomes, outcome{err: err})
			continue
		}
		aopts := popts
		var bar *readProgress
		if total, min, ok := progressPlan(path, opts.Quiet, e.isTerminal(e.stderr)); ok {
			bar = newReadProgress(e.stderr, path, total, min)
			aopts.Analyze.Read = &bar.read
			bar.start()
		}
		c, err := pipeline.Analyze(in.Input, aopts)
		if bar != nil {
			bar.end()
		}
		if err != nil {
			in.close()
			fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(inputErrorText(path, err)))
			outcomes = append(outcomes, outcome{err: err})
			continue
		}
		res := pipeline.Report(c, in.Input, popts)
		if opts.Evidence != "" && evidenceErr == nil {
			evidenceErr = writeEvidence(opts.Evidence, c, res.Report, in.File, popts.Mapper, opts.Quiet, e)
		}
		in.close()
		if res.DetectErr != nil {
			fmt.Fprintf(e.stderr, "ctcpdiag: %s: %s\n", report.Printable(path), report.Printable(res.DetectErr.Error()))
		}
		if res.GraphErr != nil {
			fmt.Fprintf(e.stderr, "ctcpdiag: %s: drawing the graphs: %s\n", report.Printable(path), report.Printable(res.GraphErr.Error()))
		}
		first := len(outcomes) == 0 || allFailed(outcomes)
		outcomes = append(outcomes, outcome{verdict: detect.Verdict(res.Report.Verdict)})
		if writeErr == nil {
			writeErr = render(out, res.Report, opts.Format, color, first)
		}
	}
	if writeErr == nil && opts.Output != "" && !allFailed(outcomes) {
		writeErr = writeFileAtomic(opts.Output, buf.Bytes())
	}
	if writeErr != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: writing the report: %s\n", report.Printable(writeErr.Error()))
	}
	if writeErr == nil {
		writeErr = evidenceErr // named on standard error already
	}
	return exitStatus(outcomes, writeErr)
}

func allFailed(outcomes []outcome) bool {
	for _, o := range outcomes {
		if o.err == nil {
			return false
		}
	}
	return true
}

// render writes one report; first is false for the reports after the first
// written one, which text separates with a blank line.
func render(w io.Writer, rep *report.Report, format string, color, first bool) error {
	switch format {
	case "json":
		return report.WriteJSON(w, rep, report.JSONOptions{})
	case "html":
		return report.WriteHTML(w, rep)
	case "markdown":
		if !first {
			if _, err := io.WriteString(w, "\n---\n\n"); err != nil {
				return err
			}
		}
		return report.WriteMarkdown(w, rep)
	default:
		if !first {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		return report.WriteText(w, rep, report.TextOptions{Color: color})
	}
}

// input is one capture to analyze: a file, or standard input, which is
// copied to a temporary file first when it must be read twice (the graphs
// of the HTML report need a second read).
type input struct {
	pipeline.Input
	temp bool // File is a temporary copy to remove
}

func openInput(path string, stdin io.Reader, twice bool) (*input, error) {
	in := &input{Input: pipeline.Input{Path: path, File: path}}
	if path != "-" {
		return in, nil
	}
	if !twice {
		in.File, in.R = "", stdin
		return in, nil
	}
	f, err := os.CreateTemp("", "ctcpdiag-stdin-*")
	if err != nil {
		// The container image has no /tmp, for one.
		return nil, fmt.Errorf("standard input is read twice for --format html, through a temporary file: %w (TMPDIR names a writable directory for it)", err)
	}
	in.File, in.temp = f.Name(), true
	if _, err := io.Copy(f, stdin); err != nil {
		f.Close()
		in.close()
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if err := f.Close(); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (in *input) close() {
	if in.temp {
		os.Remove(in.File)
		in.temp = false
	}
}

// inputErrorText is the message for a capture that could not be read: the
// error itself when it names the file (analyze's InputError does),
// otherwise prefixed with the file name.
func inputErrorText(path string, err error) string {
	msg := err.Error()
	if len(msg) > len(path) && msg[:len(path)] == path && msg[len(path)] == ':' {
		return msg
	}
	return path + ": " + msg
}

// useColor decides once whether the text report is coloured: "always" and
// "never" are obeyed; "auto" colours only when the report goes to standard
// output, that is a terminal, and NO_COLOR is unset or empty.
func useColor(mode, output string, e *env) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if output != "" || e.getenv("NO_COLOR") != "" {
		return false
	}
	return e.isTerminal(e.stdout)
}

// isTerminal reports whether w is a terminal (a Cygwin/MSYS one included).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
