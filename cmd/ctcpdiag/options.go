package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

const mainUsage = `Usage: ctcpdiag <command> [arguments]

ctcpdiag reads pcap and pcapng captures and tells whether a Cisco
IPsec-over-TCP (cTCP) VPN session failed because cTCP never answers the
duplicate ACKs of a stateful TCP device in the path, and what to change.

Commands:
  analyze   analyze capture files and print a report
  scan      find and analyze every capture under directories, patterns and archives
  merge     combine the jsonl outputs of scan shards into one output and summary
  anonymize write an anonymized copy of a capture (pcapng) to share it
  correlate read two captures of the same traffic taken at two points
            and tell what the device between them did
  version   print the version (also: ctcpdiag --version, -V)
  help      show help for a command

Run "ctcpdiag help <command>" or "ctcpdiag <command> --help" for details.

Exit status: 0 nothing affected, 1 at least one capture affected,
2 usage error or a capture that could not be read (2 wins over 1),
130 scan interrupted.
`

const analyzeUsage = `Usage: ctcpdiag analyze [flags] FILE...

Analyze each capture FILE (pcap or pcapng, plain or compressed with gzip
or zstd; "-" reads standard input) and print a report. Flags may come
before or after the file names; "--" ends the flags.

Flags:
  --format FORMAT  report format: text (default), json, markdown (for
                   tickets) or html (one self-contained file with a
                   time-sequence graph per affected or at-risk session;
                   one capture per report)
  -o FILE          write the report to FILE instead of standard output;
                   FILE is replaced atomically, and only when at least one
                   capture was analyzed
  --port N         also expect cTCP on TCP port N (1-65535, repeatable);
                   port 10000 and recognition by content are always on
  --dupacks N      duplicate ACKs for one ack number that make a
                   retransmit request (at least 1; default 2)
  --color WHEN     colour the text report: auto (default; only when
                   standard output is a terminal and NO_COLOR is unset or
                   empty), always or never
  --max-flows N    bound the flow table to N conversations (default 0: the
                   built-in bound of 4,000,000); beyond it, and for idle
                   flows in large captures, flows are evicted and quiet
                   evicted sessions are counted but not listed
                   (docs/memory.md)
  --no-hash        leave capture.sha256 empty instead of hashing the file:
                   the SHA-256 of a large capture takes longer than its
                   analysis (docs/performance.md)
  --anonymize      replace IP addresses (prefix-preserving, keyed) and MAC
                   addresses in the report and drop the capture's
                   directory; decisions are taken on the real addresses
  --anon-key KEY   key for --anonymize (implies it), so the mapping is the
                   same across reports and "ctcpdiag anonymize"; without
                   it a random key is used and never printed
  --evidence FILE  also write FILE, a pcapng evidence capture to attach to
                   a ticket: the frames of the affected and at-risk cTCP
                   sessions (a long session trimmed to its start, the
                   frames around each cited frame and its end) and every
                   frame the report cites, each with a comment saying what
                   it shows and its frame number in the capture; with
                   --anonymize its packets are anonymized as by "ctcpdiag
                   anonymize". It reads the capture a second time, so it
                   takes one FILE and not standard input. Written
                   atomically (docs/evidence.md)
  --threads N      use N cores (default: all of this machine's): with 3
                   or more, one reads the file and the others analyze it
                   split by conversation; with 1 or 2, reading and
                   analysis each take one. The report is the same for
                   any N. Standard input, and a flood that reaches the
                   flow table's bounds (docs/memory.md), are analyzed as
                   with 2 (docs/performance.md)
  -q, --quiet      no progress bar (one is drawn on standard error, when
                   it is a terminal, while a file larger than 64 MiB or
                   compressed is read, and on standard input after 64 MiB)
  -h, --help       show this help

Several files: text reports follow one another, separated by a blank
line; JSON is one indented object per capture, each followed by a
newline (a stream of JSON values, not an array); Markdown reports are
separated by a horizontal rule. HTML takes one file.

Each report starts with a heading line that names its file, and its
verdict line names the file too.

A file that cannot be read at all is named on standard error as
"ctcpdiag: FILE: reason" and skipped: the other files are still analyzed
and reported, and the exit status is 2. A file readable in part is
analyzed up to the damage and its report carries a warning.

Exit status: 0 nothing affected; 1 at least one capture affected; 2 usage
error, a file that could not be read at all, or the report could not be
written. 2 wins over 1: a run with an affected capture and an unreadable
file exits 2 (as grep and diff do when a file is missing).
`

const versionUsage = `Usage: ctcpdiag version
       ctcpdiag --version (or -version, -V)

Print the version of ctcpdiag.
`

// Commands.
const (
	cmdAnalyze   = "analyze"
	cmdScan      = "scan"
	cmdMerge     = "merge"
	cmdAnonymize = "anonymize"
	cmdVersion   = "version"
	cmdHelp      = "help"
)

// Options is the parsed command line. parseArgs fills it; nothing in it
// has been acted upon yet.
type Options struct {
	// Command is "analyze", "version" or "help".
	Command string
	// Usage is the text to print for Command "help" (to standard output).
	Usage string

	// Files are the captures to analyze, in order; "-" is standard input.
	Files []string
	// Format is "text" or "json".
	Format string
	// Output is the file to write the report to ("" for standard output).
	Output string
	// Ports are extra cTCP ports (--port), in the order given.
	Ports []uint16
	// DupAcks is the retransmit request threshold (--dupacks, >= 1).
	DupAcks int
	// Color is "auto", "always" or "never".
	Color string
	// MaxFlows bounds the flow table (0: the default).
	MaxFlows int
	// NoHash skips the SHA-256 of each capture (--no-hash).
	NoHash bool
	// Anonymize maps addresses in the report (--anonymize); AnonKey is the
	// key (--anon-key, "" for a random one).
	Anonymize bool
	AnonKey   string
	// Evidence is the evidence capture to write (--evidence, analyze
	// only; "" for none).
	Evidence string
	// EvidenceA and EvidenceB are the evidence captures of correlate's
	// two files (--evidence-a, --evidence-b; "" for none).
	EvidenceA, EvidenceB string
	// Quiet turns the progress bar off (--quiet, analyze and correlate).
	Quiet bool
	// Threads is the number of cores analyze uses (--threads; 0: all).
	Threads int
}

// shards returns the analyze.Options.Threads for --threads n: one
// goroutine reads, the others analyze by conversation; with two cores or
// fewer the single-threaded analysis (which reads ahead on a goroutine of
// its own) uses them both already.
func shards(n int) int {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if n <= 2 {
		return 1
	}
	return n - 1
}

// usageError is a command line that cannot be run: exit status 2, the
// message and a hint on standard error.
type usageError struct {
	msg string
	// command names the command whose usage the hint points to ("" for
	// the main usage).
	command string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(command, format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), command: command}
}

// parseArgs parses the arguments after the program name. A request for
// help gives Options{Command: "help"} with the usage text; a bad command
// line gives a *usageError.
func parseArgs(args []string) (*Options, error) {
	if len(args) == 0 {
		return nil, usageErrorf("", "no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help":
		return &Options{Command: cmdHelp, Usage: mainUsage}, nil
	case cmdHelp:
		if len(rest) == 0 {
			return &Options{Command: cmdHelp, Usage: mainUsage}, nil
		}
		if len(rest) > 1 {
			return nil, usageErrorf("", "help takes at most one command, got %d", len(rest))
		}
		u, ok := commandUsage(rest[0])
		if !ok {
			return nil, usageErrorf("", "unknown command %q", rest[0])
		}
		return &Options{Command: cmdHelp, Usage: u}, nil
	case cmdVersion, "--version", "-version", "-V":
		for _, a := range rest {
			if isHelpFlag(a) {
				return &Options{Command: cmdHelp, Usage: versionUsage}, nil
			}
		}
		if len(rest) > 0 {
			return nil, usageErrorf(cmdVersion, "version takes no arguments")
		}
		return &Options{Command: cmdVersion}, nil
	case cmdAnalyze:
		return parseAnalyze(rest)
	default:
		if strings.HasPrefix(cmd, "-") {
			return nil, usageErrorf("", "flag %s given before a command", cmd)
		}
		return nil, usageErrorf("", "unknown command %q", cmd)
	}
}

func commandUsage(cmd string) (string, bool) {
	switch cmd {
	case cmdAnalyze:
		return analyzeUsage, true
	case cmdVersion:
		return versionUsage, true
	case cmdScan:
		return scanUsage, true
	case cmdMerge:
		return mergeUsage, true
	case cmdAnonymize:
		return anonymizeUsage, true
	case cmdCorrelate:
		return correlateUsage, true
	case cmdHelp:
		return mainUsage, true
	}
	return "", false
}

func isHelpFlag(a string) bool {
	return a == "-h" || a == "--help" || a == "-help" || a == "--h"
}

// parseAnalyze parses the arguments of "analyze". Flags and file names may
// be mixed; "--" ends the flags.
func parseAnalyze(args []string) (*Options, error) {
	o, err := parseAnalyzeWith(cmdAnalyze, analyzeUsage, args, func(fs *flag.FlagSet, o *Options) {
		fs.StringVar(&o.Evidence, "evidence", "", "")
		fs.BoolVar(&o.Quiet, "quiet", false, "")
		fs.BoolVar(&o.Quiet, "q", false, "")
		fs.IntVar(&o.Threads, "threads", 0, "")
	})
	if err != nil || o.Command == cmdHelp {
		return o, err
	}
	if o.Threads < 0 {
		return nil, usageErrorf(cmdAnalyze, "--threads %d: want a number of cores, at least 1 (0: all)", o.Threads)
	}
	if o.Format == "html" && len(o.Files) > 1 {
		return nil, usageErrorf(cmdAnalyze, "--format html makes one self-contained page per capture: give one FILE (run once per capture)")
	}
	if o.Evidence != "" {
		if err := checkEvidence(cmdAnalyze, "--evidence", o.Evidence, o.Output, o.Files); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// checkEvidence checks the evidence capture evidence, given by the flag
// flagName, against the output and the captures of the command cmd.
func checkEvidence(cmd, flagName, evidence, output string, files []string) error {
	if len(files) > 1 {
		return usageErrorf(cmd, "%s writes the evidence of one capture: give one FILE (run once per capture)", flagName)
	}
	if evidence == "-" {
		return usageErrorf(cmd, "%s needs a file name (the evidence capture is written atomically)", flagName)
	}
	for _, f := range files {
		if f == "-" {
			return usageErrorf(cmd, "%s reads the capture a second time (the analysis decides which frames to keep), and standard input cannot be read twice: save the capture to a file and give its name", flagName)
		}
		if sameFile(f, evidence) {
			return usageErrorf(cmd, "%s %s is the capture itself", flagName, evidence)
		}
	}
	if output != "" && (sameFile(output, evidence) || filepath.Clean(output) == filepath.Clean(evidence)) {
		return usageErrorf(cmd, "%s and -o name the same file", flagName)
	}
	return nil
}

// parseAnalyzeAs parses the flags analyze shares with correlate for
// command cmd (whose usage is usage) and the file names.
func parseAnalyzeAs(cmd, usage string, args []string) (*Options, error) {
	return parseAnalyzeWith(cmd, usage, args, nil)
}

// parseAnalyzeWith is parseAnalyzeAs with the command's own flags, which
// extra (if not nil) defines on the flag set, filling o.
func parseAnalyzeWith(cmd, usage string, args []string, extra func(fs *flag.FlagSet, o *Options)) (*Options, error) {
	o := &Options{Command: cmd}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if extra != nil {
		extra(fs, o)
	}
	fs.StringVar(&o.Format, "format", "text", "")
	fs.StringVar(&o.Output, "o", "", "")
	fs.BoolVar(&o.Anonymize, "anonymize", false, "")
	fs.StringVar(&o.AnonKey, "anon-key", "", "")
	fs.Var((*portList)(&o.Ports), "port", "")
	fs.IntVar(&o.DupAcks, "dupacks", 2, "")
	fs.StringVar(&o.Color, "color", "auto", "")
	fs.IntVar(&o.MaxFlows, "max-flows", 0, "")
	fs.BoolVar(&o.NoHash, "no-hash", false, "")

	rest := args
	for {
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			return &Options{Command: cmdHelp, Usage: usage}, nil
		}
		if err != nil {
			return nil, usageErrorf(cmd, "%v", err)
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		// Parse stops at the first non-flag argument, or after "--"
		// (which it consumes): everything after "--" is a file name.
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			o.Files = append(o.Files, left...)
			break
		}
		o.Files = append(o.Files, left[0])
		rest = left[1:]
	}

	switch o.Format {
	case "text", "json", "markdown", "html":
	default:
		return nil, usageErrorf(cmd, "invalid --format %q: want text, json, markdown or html", o.Format)
	}
	if o.AnonKey != "" {
		o.Anonymize = true
	}
	if o.DupAcks < 1 {
		return nil, usageErrorf(cmd, "invalid --dupacks %d: want at least 1", o.DupAcks)
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return nil, usageErrorf(cmd, "invalid --color %q: want auto, always or never", o.Color)
	}
	if o.MaxFlows < 0 {
		return nil, usageErrorf(cmd, "invalid --max-flows %d: want 0 or more", o.MaxFlows)
	}
	if len(o.Files) == 0 {
		return nil, usageErrorf(cmd, "no capture file given")
	}
	stdin := 0
	for _, f := range o.Files {
		if f == "" {
			return nil, usageErrorf(cmd, "empty file name")
		}
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, usageErrorf(cmd, `standard input ("-") given more than once`)
	}
	return o, nil
}

// portList is the repeatable --port flag.
type portList []uint16

func (p *portList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, v := range *p {
		s[i] = strconv.Itoa(int(v))
	}
	return strings.Join(s, ",")
}

func (p *portList) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return errors.New("want a port number from 1 to 65535")
	}
	*p = append(*p, uint16(n))
	return nil
}
