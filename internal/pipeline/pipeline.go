package pipeline

import (
	"errors"
	"io"
	"os"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// Input is one capture to analyze.
type Input struct {
	// Path names the capture in the report (capture.path) and in errors:
	// the name the user gave, "-" for standard input, "archive.tgz:a.pcap"
	// for an archive entry.
	Path string
	// R, when set, is the capture's bytes; Run reads it once, to its end
	// or to the damage.
	R io.Reader
	// File is the file that holds the capture: read when R is nil, and
	// read a second time for the graphs. ""
	// when the capture cannot be read again. It differs from Path for a
	// copy, e.g. standard input saved to a temporary file.
	File string
}

// Options configure Run. The zero Options analyze with the defaults, draw
// no graphs and keep the real addresses.
type Options struct {
	// Analyze and Detect are passed to the analysis and to detection;
	// Analyze.NoHash leaves capture.sha256 empty.
	Analyze analyze.Options
	Detect  detect.Config
	// Tool names the program in the report.
	Tool report.Tool
	// Graphs asks for the time-sequence graphs of the sessions the verdict
	// rests on (detect.Result.Focus), which need a second read of
	// Input.File. Only the HTML report shows them. The evidence frames of
	// those sessions (report.Report.Evidence) need no second read: every
	// report has them, with or without Graphs.
	Graphs bool
	// Mapper, when set, anonymizes the report (report.Anonymize) after
	// every decision has been made on the real addresses.
	Mapper *anon.Mapper
}

// Result is the report of one capture and what went wrong on the way
// without stopping it.
type Result struct {
	// Report is never nil.
	Report *report.Report
	// DetectErr is set when a detector failed: the report then shows what
	// the analysis found, unjudged.
	DetectErr error
	// GraphErr is set when the graphs were asked for and could not be
	// drawn: the report has none.
	GraphErr error
}

// errReadOnce is GraphErr for an Input that cannot be read again.
var errReadOnce = errors.New("the capture was read once and cannot be read again")

// Run analyzes the capture of in and builds its report. The error is
// non-nil only when the capture could not be read at all; the Result is
// then empty. A capture that breaks part-way is analyzed up to the damage
// and its report carries a warning.
func Run(in Input, opts Options) (Result, error) {
	c, err := Analyze(in, opts)
	if err != nil {
		return Result{}, err
	}
	return Report(c, in, opts), nil
}

// Analyze is Run's first read alone: the analysis of in, for a caller
// that needs the capture itself afterwards (the evidence capture of
// "ctcpdiag analyze --evidence" matches frames on its sessions) and then
// calls Report. The error is Run's.
func Analyze(in Input, opts Options) (*analyze.Capture, error) {
	return in.analyze(opts.Analyze)
}

// Report is Run after the analysis: c is the analyzed capture of in. It
// judges c, draws the graphs when opts asks for them (reading in.File
// again), builds the report and anonymizes it when opts asks. c is not
// modified.
func Report(c *analyze.Capture, in Input, opts Options) Result {
	var out Result
	res, err := detect.Run(c, opts.Detect)
	if err != nil {
		// Reported unjudged: BuildWith makes a nil result inconclusive.
		out.DetectErr, res = err, nil
	}
	var x report.Extras
	if opts.Graphs && res != nil && len(res.Focus) > 0 {
		x.Series, out.GraphErr = in.series(c, res.Focus)
	}
	out.Report = report.BuildWith(c, res, opts.Tool, x)
	if opts.Mapper != nil {
		out.Report = report.Anonymize(out.Report, opts.Mapper)
	}
	return out
}

// analyze runs the first read.
func (in Input) analyze(opts analyze.Options) (*analyze.Capture, error) {
	switch {
	case in.R != nil:
		return analyze.Reader(in.R, in.Path, opts)
	case in.File == in.Path:
		return analyze.File(in.File, opts)
	}
	// A copy: read it under the capture's own name.
	f, err := os.Open(in.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return analyze.Reader(f, in.Path, opts)
}

// series runs the second read, for the sessions of c at the indexes
// focus.
func (in Input) series(c *analyze.Capture, focus []int) ([]analyze.TimeSeq, error) {
	if in.File == "" {
		return nil, errReadOnce
	}
	specs := make([]analyze.SeriesSpec, len(focus))
	for i, id := range focus {
		specs[i] = analyze.SeriesSpec{Session: c.Sessions[id]}
	}
	return analyze.Series(in.File, specs)
}
