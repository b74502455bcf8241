package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/evidence"
	"github.com/ctcpdiag/ctcpdiag/report"
)

const cmdCorrelate = "correlate"

const correlateUsage = `Usage: ctcpdiag correlate [flags] A B

Read two captures of the same traffic taken at two points (the client
side and the headend side of a proxy, the inside and the outside of a
firewall) and tell what happened between them: which sessions are the
same (matched by ESP SPI, IKE SPI or addresses, whatever NAT, sequence
randomization or a TCP proxy did between the points), the clock offset
between the files, per direction the messages seen at both points, lost
between them (with their frames in both files) or generated between
them, the one-way delay, the relation of the two TCP views (the same
connection, a sequence offset, or terminated by a proxy), the packets
the device between made (its duplicate ACKs, FINs, RSTs), and one
verdict for the pair with the recommendations, the device located.
A and B may be given in either order; "-" reads one of them from
standard input. Flags may come before or after the file names.

Flags:
  --format FORMAT  text (default), json (schema ctcpdiag.correlation/v1,
                   docs/json.md), markdown or html (with a ladder diagram
                   around the first loss)
  -o FILE          write the report to FILE (replaced atomically)
  --port N         also expect cTCP on TCP port N (repeatable)
  --dupacks N      duplicate ACKs that make a retransmit request in each
                   file's own analysis (default 2)
  --color WHEN     auto (default), always or never (text; NO_COLOR)
  --max-flows N    bound each file's flow table (default 0: built-in)
  --no-hash        leave a.sha256 and b.sha256 empty
  --anonymize      replace IP and MAC addresses in the report and keep
                   only the files' base names
  --anon-key KEY   key for --anonymize (implies it)
  --evidence-a FILE, --evidence-b FILE
                   also write FILE, a pcapng evidence capture of file A
                   (or B) to attach to a ticket: that file's session of
                   each pair affected or at risk in the file's own
                   analysis or with a loss or packets generated between
                   the points (a long
                   session trimmed as by "analyze --evidence") and every
                   frame of that file the report cites (lost messages, the
                   messages around each hole, packets seen on that side
                   only, the findings' frames), each with a comment saying
                   what it shows and its frame number in the capture; with
                   --anonymize its packets are anonymized as by "ctcpdiag
                   anonymize". It reads that file a second time, so not
                   standard input. Written atomically (docs/evidence.md)
  -q, --quiet      no progress bar (one, for the bytes of both files
                   together, is drawn on standard error when it is a
                   terminal, while the files are read if either is larger
                   than 64 MiB or compressed; with standard input, once
                   64 MiB have been read)
  -h, --help       show this help

Verdict: affected (the cTCP failure between the points, e.g. a message
lost between them, the device between asking for it with duplicate ACKs
and passing nothing past the hole; or either file shows the failure on
the pair's session), at-risk, healthy, no-ctcp (the matched sessions
are not cTCP) or no-match (the files have no session in common).

Exit status: 0 the pair is not affected (no-match included); 1 the
pair's verdict is affected; 2 usage error, a file that could not be read
(named on standard error), the report could not be written, or an
evidence capture could not be written (the report is written all the
same); 2 wins over 1.
`

// parseCorrelate parses the arguments of "correlate": the flags of
// analyze that apply, its own, and exactly two files.
func parseCorrelate(args []string) (*Options, error) {
	o, err := parseAnalyzeWith(cmdCorrelate, correlateUsage, args, func(fs *flag.FlagSet, o *Options) {
		fs.StringVar(&o.EvidenceA, "evidence-a", "", "")
		fs.StringVar(&o.EvidenceB, "evidence-b", "", "")
		fs.BoolVar(&o.Quiet, "quiet", false, "")
		fs.BoolVar(&o.Quiet, "q", false, "")
	})
	if err != nil || o.Command == cmdHelp {
		return o, err
	}
	if len(o.Files) != 2 {
		return nil, usageErrorf(cmdCorrelate, "correlate takes two capture files, got %d", len(o.Files))
	}
	for i, x := range []struct{ flag, ev string }{{"--evidence-a", o.EvidenceA}, {"--evidence-b", o.EvidenceB}} {
		if x.ev == "" {
			continue
		}
		if err := checkEvidence(cmdCorrelate, x.flag, x.ev, o.Output, o.Files[i:i+1]); err != nil {
			return nil, err
		}
		if other := o.Files[1-i]; other != "-" && sameFile(other, x.ev) {
			return nil, usageErrorf(cmdCorrelate, "%s %s is the other capture", x.flag, x.ev)
		}
	}
	if o.EvidenceA != "" && o.EvidenceB != "" && (sameFile(o.EvidenceA, o.EvidenceB) || filepath.Clean(o.EvidenceA) == filepath.Clean(o.EvidenceB)) {
		return nil, usageErrorf(cmdCorrelate, "--evidence-a and --evidence-b name the same file: the evidence capture of each file is its own")
	}
	return o, nil
}

func runCorrelateCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runCorrelateEnv(args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: isTerminal})
}

// runCorrelateEnv runs "correlate" with args (after the command name) in
// e.
func runCorrelateEnv(args []string, e *env) int {
	stderr, stdout := e.stderr, e.stdout
	opts, err := parseCorrelate(args)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "ctcpdiag: %s\nRun %q for usage.\n", report.Printable(ue.msg), "ctcpdiag help correlate")
		} else {
			fmt.Fprintf(stderr, "ctcpdiag: %s\n", report.Printable(err.Error()))
		}
		return exitFailure
	}
	if opts.Command == cmdHelp {
		fmt.Fprint(stdout, opts.Usage)
		return exitOK
	}
	return runCorrelate(opts, e)
}

// correlateFiles runs the engine on the two files; "-" is standard
// input.
func correlateFiles(a, b string, stdin io.Reader, o correlate.Options) (*correlate.Result, error) {
	if a != "-" && b != "-" {
		return correlate.Files(a, b, o)
	}
	open := func(p string) (io.Reader, func(), error) {
		if p == "-" {
			return stdin, func() {}, nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		return f, func() { f.Close() }, nil
	}
	ra, ca, err := open(a)
	if err != nil {
		return nil, err
	}
	defer ca()
	rb, cb, err := open(b)
	if err != nil {
		return nil, err
	}
	defer cb()
	return correlate.Readers(ra, a, rb, b, o)
}

func runCorrelate(opts *Options, e *env) int {
	a, b := opts.Files[0], opts.Files[1]
	copts := correlate.Options{Ports: opts.Ports, MaxFlows: opts.MaxFlows, NoHash: opts.NoHash}
	var bar *readProgress
	if total, min, ok := correlateProgressPlan(a, b, opts.Quiet, e.isTerminal(e.stderr)); ok {
		bar = newReadProgress(e.stderr, a, total, min)
		bar.name = progressNames(a, b)
		copts.ReadA, copts.ReadB = &bar.read, &bar.readB
		bar.start()
	}
	res, err := correlateFiles(a, b, e.stdin, copts)
	if bar != nil {
		bar.end()
	}
	if err != nil {
		msg := err.Error()
		// The engine's errors name the file; name it when they do not.
		if !bytes.Contains([]byte(msg), []byte(a)) && !bytes.Contains([]byte(msg), []byte(b)) {
			msg = a + ", " + b + ": " + msg
		}
		fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(msg))
		return exitFailure
	}
	cfg := detect.Config{DupAcks: opts.DupAcks}
	da, errA := detect.Run(res.A, cfg)
	if errA != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: %s: %s\n", report.Printable(a), report.Printable(errA.Error()))
		da = nil
	}
	db, errB := detect.Run(res.B, cfg)
	if errB != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: %s: %s\n", report.Printable(b), report.Printable(errB.Error()))
		db = nil
	}
	c := report.BuildCorrelation(res, da, db, report.Tool{Name: "ctcpdiag", Version: versionFunc()})
	var m *anon.Mapper
	if opts.Anonymize {
		key := anon.RandomKey()
		if opts.AnonKey != "" {
			key = anon.KeyFromString(opts.AnonKey)
		}
		m = anon.NewMapper(key)
		c = report.AnonymizeCorrelation(c, m)
	}
	color := opts.Format == "text" && useColor(opts.Color, opts.Output, e)
	var buf bytes.Buffer
	var werr error
	switch opts.Format {
	case "json":
		werr = report.WriteCorrelationJSON(&buf, c)
	case "markdown":
		werr = report.WriteCorrelationMarkdown(&buf, c)
	case "html":
		werr = report.WriteCorrelationHTML(&buf, c)
	default:
		werr = report.WriteCorrelationText(&buf, c, report.TextOptions{Color: color})
	}
	if werr == nil {
		if opts.Output != "" {
			werr = writeFileAtomic(opts.Output, buf.Bytes())
		} else {
			_, werr = e.stdout.Write(buf.Bytes())
		}
	}
	if werr != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: writing the report: %s\n", report.Printable(werr.Error()))
		return exitFailure
	}
	// The evidence capture of each side, after the report: a failure
	// is named on standard error and makes the exit status 2, the report
	// written all the same.
	var everr error
	for _, x := range []struct {
		side, path, file string
		c                *analyze.Capture
		d                *detect.Result
		cp               *report.Capture
	}{{"a", opts.EvidenceA, a, res.A, da, &c.A}, {"b", opts.EvidenceB, b, res.B, db, &c.B}} {
		if x.path == "" {
			continue
		}
		spec := evidence.FromCorrelation(x.side, x.c, c, x.d, x.file)
		spec.Mapper = m
		if err := writeEvidenceSpec(x.path, spec, len(x.cp.Warnings) > 0, opts.Quiet, e); err != nil {
			everr = err
		}
	}
	if everr != nil {
		return exitFailure
	}
	if c.Verdict == string(detect.Affected) {
		return exitAffected
	}
	return exitOK
}
