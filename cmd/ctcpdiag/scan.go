package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/scan"
	"github.com/ctcpdiag/ctcpdiag/report"
)

const scanUsage = `Usage: ctcpdiag scan [flags] PATH...

Find and analyze every capture under each PATH: directories are walked
recursively (following symbolic links, each directory once), shell-style
patterns are expanded (also when quoted), and .tar, .tar.gz, .tgz and
.zip archives are read in place, archives inside archives included.
Captures are recognised by their magic bytes (pcap, pcapng, also
compressed with gzip or zstd); other files are counted as skipped. An
archive entry prints as "archive.tgz:inner/path.pcap".

Results are printed sorted by path (archive entries by their path inside
the archive), whatever --jobs. Flags may come before or after the paths;
"--" ends the flags.

Flags:
  --format FORMAT  text (default: a table as results come in, then a
                   summary), jsonl (one report object per line, as
                   "analyze --format json" but on one line, and
                   {"path","error"} / {"path","skipped"} lines) or csv
  -o FILE          write the output to FILE, replaced atomically at the
                   end (also after an interruption)
  --jobs N         analyze N captures at a time (default: the number of
                   CPUs)
  --shard K/N      scan only the inputs whose path hashes into shard K of
                   N (1 <= K <= N); "ctcpdiag merge" combines the shards
  --shard-index-env VAR
                   take the shard from the environment variable VAR, a
                   0-based index (Kubernetes' JOB_COMPLETION_INDEX): shard
                   index+1 of --shards N
  --shards N       the number of shards, with --shard-index-env
  --fail-on WHAT   which captures give exit status 1: affected (default),
                   at-risk (also at-risk captures) or none (exit status 0
                   whatever the verdicts, for a job controller that takes
                   any other status for a failure)
  --quiet          no progress bar and no closing line on standard error
                   (the bar is drawn only when standard error is a
                   terminal)
  --port N         also expect cTCP on TCP port N (repeatable)
  --dupacks N      duplicate ACKs that make a retransmit request (default 2)
  --max-flows N    flow-table bound per capture (default 0: 4,000,000)
  --no-hash        leave capture.sha256 empty instead of hashing each file
  -h, --help       show this help

A file that cannot be read is reported and the scan goes on. A file named
like a capture (.pcap, .pcapng, .cap, optionally .gz or .zst) or named on
the command line is reported as unreadable when it is empty or not a
capture; other such files are skipped.

Ctrl-C (or SIGTERM) stops the scan: nothing new is started, the running
analyses are abandoned, and what was scanned is printed with the summary.

Exit status: 0 nothing affected (with --fail-on none: whatever the
verdicts); 1 at least one capture affected (or at-risk with --fail-on
at-risk); 2 usage error, no capture could be read or the output could
not be written; 130 interrupted. A shard of several (N > 1) whose share
holds no capture and nothing unreadable exits 0: merge judges the whole.
`

const mergeUsage = `Usage: ctcpdiag merge [flags] FILE.jsonl...

Combine the jsonl outputs of "ctcpdiag scan --format jsonl" (typically
the shards of one scan, --shard 1/N to N/N) into one output, in the order
a single scan gives, with its summary. "-" reads standard input.

Flags:
  --format FORMAT  text (default), jsonl or csv, as for scan
  -o FILE          write the output to FILE, replaced atomically
  --fail-on WHAT   affected (default), at-risk or none, as for scan
  -h, --help       show this help

Exit status: 0 nothing affected (with --fail-on none: whatever the
verdicts); 1 at least one capture affected (or at-risk with --fail-on
at-risk); 2 usage error, an input that cannot be read or parsed, no
capture in the inputs, or the output could not be written.
`

// exitInterrupted is the exit status of a scan stopped by a signal
// (128 + SIGINT, as shells report it).
const exitInterrupted = 130

// scanOptions is the parsed command line of scan and merge.
type scanOptions struct {
	paths    []string
	format   string
	output   string
	jobs     int
	shard    scan.Shard
	failOn   string
	quiet    bool
	ports    []uint16
	dupAcks  int
	maxFlows int
	noHash   bool
}

// runScanCmd runs "ctcpdiag scan" with args (after the command name).
func runScanCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal kills the program the default way.
	context.AfterFunc(ctx, stop)
	return runScan(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: isTerminal})
}

// runMergeCmd runs "ctcpdiag merge" with args (after the command name).
func runMergeCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runMerge(args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: isTerminal})
}

func scanUsageError(e *env, command, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "ctcpdiag: %s\nRun %q for usage.\n", report.Printable(fmt.Sprintf(format, a...)), "ctcpdiag help "+command)
	return exitFailure
}

// parseScanFlags parses the flags of scan or merge; help is true for
// -h/--help. getenv reads the variable of --shard-index-env.
func parseScanFlags(command string, args []string, getenv func(string) string) (o *scanOptions, help bool, err error) {
	o = &scanOptions{}
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.format, "format", "text", "")
	fs.StringVar(&o.output, "o", "", "")
	fs.StringVar(&o.failOn, "fail-on", "affected", "")
	var shard, shardEnv string
	var shards int
	if command == "scan" {
		fs.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "")
		fs.StringVar(&shard, "shard", "", "")
		fs.StringVar(&shardEnv, "shard-index-env", "", "")
		fs.IntVar(&shards, "shards", 0, "")
		fs.BoolVar(&o.quiet, "quiet", false, "")
		fs.Var((*portList)(&o.ports), "port", "")
		fs.IntVar(&o.dupAcks, "dupacks", 2, "")
		fs.IntVar(&o.maxFlows, "max-flows", 0, "")
		fs.BoolVar(&o.noHash, "no-hash", false, "")
	}
	rest := args
	for {
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			o.paths = append(o.paths, left...)
			break
		}
		o.paths = append(o.paths, left[0])
		rest = left[1:]
	}
	switch o.format {
	case "text", "jsonl", "csv":
	default:
		return nil, false, fmt.Errorf("invalid --format %q: want text, jsonl or csv", o.format)
	}
	switch o.failOn {
	case "affected", "at-risk", "none":
	default:
		return nil, false, fmt.Errorf("invalid --fail-on %q: want affected, at-risk or none", o.failOn)
	}
	if command == "scan" {
		if o.jobs < 1 {
			return nil, false, fmt.Errorf("invalid --jobs %d: want at least 1", o.jobs)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		switch {
		case set["shard"] && (set["shard-index-env"] || set["shards"]):
			return nil, false, errors.New("--shard K/N names the shard itself: give it or --shard-index-env VAR --shards N, not both")
		case set["shard"]:
			if o.shard, err = scan.ParseShard(shard); err != nil {
				return nil, false, err
			}
		case set["shard-index-env"] || set["shards"]:
			if o.shard, err = shardFromEnv(shardEnv, shards, set["shard-index-env"], set["shards"], getenv); err != nil {
				return nil, false, err
			}
		}
		if o.dupAcks < 1 {
			return nil, false, fmt.Errorf("invalid --dupacks %d: want at least 1", o.dupAcks)
		}
		if o.maxFlows < 0 {
			return nil, false, fmt.Errorf("invalid --max-flows %d: want 0 or more", o.maxFlows)
		}
	}
	if len(o.paths) == 0 {
		if command == "scan" {
			return nil, false, errors.New("no path given")
		}
		return nil, false, errors.New("no jsonl file given")
	}
	for _, p := range o.paths {
		if p == "" {
			return nil, false, errors.New("empty path")
		}
		if p == "-" && command == "scan" {
			return nil, false, errors.New(`scan does not read standard input ("-"); use "ctcpdiag analyze -"`)
		}
	}
	return o, false, nil
}

// shardFromEnv returns the shard of --shard-index-env name --shards n:
// the variable holds a 0-based index (as Kubernetes' JOB_COMPLETION_INDEX
// in an Indexed Job), shard index+1 of n. hasName and hasN tell which of
// the two flags were given.
func shardFromEnv(name string, n int, hasName, hasN bool, getenv func(string) string) (scan.Shard, error) {
	switch {
	case !hasN:
		return scan.Shard{}, errors.New("--shard-index-env needs --shards N, the number of shards")
	case !hasName:
		return scan.Shard{}, errors.New("--shards needs --shard-index-env VAR, the variable that holds the shard's index (or give --shard K/N)")
	case name == "":
		return scan.Shard{}, fmt.Errorf("invalid --shard-index-env %q: want the name of an environment variable", name)
	case n < 1:
		return scan.Shard{}, fmt.Errorf("invalid --shards %d: want at least 1", n)
	}
	v := getenv(name)
	if v == "" {
		return scan.Shard{}, fmt.Errorf("environment variable %s (--shard-index-env) is not set or empty: want the shard's index, 0 to %d for --shards %d", name, n-1, n)
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= n {
		return scan.Shard{}, fmt.Errorf("invalid %s=%q (--shard-index-env): want the shard's index, 0 to %d for --shards %d", name, v, n-1, n)
	}
	return scan.Shard{K: i + 1, N: n}, nil
}

// runScan is runScanCmd with a context (canceled by a signal) and an env.
func runScan(ctx context.Context, args []string, e *env) int {
	o, help, err := parseScanFlags("scan", args, e.getenv)
	if help {
		fmt.Fprint(e.stdout, scanUsage)
		return exitOK
	}
	if err != nil {
		return scanUsageError(e, "scan", "%v", err)
	}
	w, commit, status := openScanWriter(o, e, "scan")
	if w == nil {
		return status
	}
	opts := scan.Options{
		Jobs:    o.jobs,
		Analyze: analyze.Options{Ports: o.ports, MaxFlows: o.maxFlows, NoHash: o.noHash},
		Detect:  detect.Config{DupAcks: o.dupAcks},
		Tool:    report.Tool{Name: "ctcpdiag", Version: versionFunc()},
		Shard:   o.shard,
	}
	if !o.quiet && e.isTerminal(e.stderr) {
		opts.Progress = scan.NewProgress(e.stderr)
	}
	// Name the unreadable inputs on standard error too, unless the text
	// table does on the same terminal.
	var sw scan.Writer = w
	if o.format != "text" || o.output != "" {
		sw = &stderrNamer{Writer: w, stderr: e.stderr}
	}
	sum, err := scan.Scan(ctx, o.paths, opts, sw)
	if sum == nil {
		commit(err)
		return scanUsageError(e, "scan", "%v", err)
	}
	return finish(e, o, w, sum, err, commit, true)
}

// finish writes the summary, commits the output and decides the exit
// status of scan and merge, the only place that does.
func finish(e *env, o *scanOptions, w scan.Writer, sum *scan.Summary, err error, commit func(error) error, isScan bool) int {
	if err == nil {
		err = w.Finish(sum)
	}
	if cerr := commit(err); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: writing the output: %s\n", report.Printable(err.Error()))
		return exitFailure
	}
	// A shard of several names itself (its pod's log shows which one it
	// was when the shard came from the environment).
	var shardName string
	if o.shard.N > 1 {
		shardName = fmt.Sprintf("shard %d/%d: ", o.shard.K, o.shard.N)
	}
	if !o.quiet && o.format != "text" || o.output != "" && !o.quiet {
		fmt.Fprintf(e.stderr, "ctcpdiag: %s%d inputs: %d captures (%d affected, %d at-risk), %d unreadable, %d skipped\n",
			shardName, sum.Files(), sum.Captures, sum.Count("affected"), sum.Count("at-risk"), sum.Unreadable, sum.Skipped)
	}
	if sum.Interrupted {
		fmt.Fprintf(e.stderr, "ctcpdiag: interrupted; %d inputs not scanned\n", sum.NotScanned)
		return exitInterrupted
	}
	switch {
	case sum.Captures == 0 && isScan && o.shard.N > 1 && sum.Unreadable == 0:
		// Nothing of this shard's share failed; with few captures a
		// shard may hold none. Merge judges the whole scan.
		if !o.quiet {
			fmt.Fprintf(e.stderr, "ctcpdiag: shard %d/%d holds no capture\n", o.shard.K, o.shard.N)
		}
		return exitOK
	case sum.Captures == 0:
		if isScan {
			fmt.Fprintln(e.stderr, "ctcpdiag: no capture could be analyzed")
		} else {
			fmt.Fprintln(e.stderr, "ctcpdiag: no capture in the inputs")
		}
		return exitFailure
	case o.failOn == "none":
	case sum.Count("affected") > 0, o.failOn == "at-risk" && sum.Count("at-risk") > 0:
		return exitAffected
	}
	return exitOK
}

// stderrNamer names each unreadable input on standard error as it is
// written ("ctcpdiag: PATH: reason").
type stderrNamer struct {
	scan.Writer
	stderr io.Writer
}

func (s *stderrNamer) Write(r *scan.Result) error {
	if r.Kind == scan.KindUnreadable {
		fmt.Fprintf(s.stderr, "ctcpdiag: %s: %s\n", report.Printable(r.Path), report.Printable(r.Error))
	}
	return s.Writer.Write(r)
}

// runMerge runs "ctcpdiag merge".
func runMerge(args []string, e *env) int {
	o, help, err := parseScanFlags("merge", args, e.getenv)
	if help {
		fmt.Fprint(e.stdout, mergeUsage)
		return exitOK
	}
	if err != nil {
		return scanUsageError(e, "merge", "%v", err)
	}
	o.quiet = true
	var inputs []scan.Input
	stdin := false
	for _, p := range o.paths {
		if p == "-" {
			if stdin {
				return scanUsageError(e, "merge", `standard input ("-") given more than once`)
			}
			stdin = true
			inputs = append(inputs, scan.Input{Name: "-", R: e.stdin})
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(err.Error()))
			return exitFailure
		}
		defer f.Close()
		inputs = append(inputs, scan.Input{Name: p, R: f})
	}
	w, commit, status := openScanWriter(o, e, "merge")
	if w == nil {
		return status
	}
	sum, err := scan.Merge(inputs, w)
	if err != nil && sum == nil {
		commit(err)
		fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(err.Error()))
		return exitFailure
	}
	return finish(e, o, w, sum, err, commit, false)
}

// openOutput returns where to write: stdout, or for path a temporary
// file in the same directory that commit(nil) syncs and renames over path
// (commit(err) with a non-nil err removes it and leaves path as it was).
func openOutput(path string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if path == "" {
		return stdout, func(error) error { return nil }, nil
	}
	a, err := createAtomic(path)
	if err != nil {
		return nil, nil, err
	}
	commit := func(werr error) error {
		if werr != nil {
			a.Abort()
			return nil
		}
		return a.Commit()
	}
	return a, commit, nil
}

// openScanWriter opens the output of scan or merge (-o, atomically) and
// the writer for its format. On failure it reports the problem and returns
// a nil writer and the exit status.
func openScanWriter(o *scanOptions, e *env, cmd string) (scan.Writer, func(error) error, int) {
	out, commit, err := openOutput(o.output, e.stdout)
	if err != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: %s\n", report.Printable(err.Error()))
		return nil, nil, exitFailure
	}
	w, err := scan.NewWriter(o.format, out, scan.WriterOptions{
		Terminal:     o.output == "" && e.isTerminal(e.stdout),
		FailOnAtRisk: o.failOn == "at-risk",
	})
	if err != nil {
		commit(err)
		return nil, nil, scanUsageError(e, cmd, "%v", err)
	}
	return w, commit, exitOK
}
