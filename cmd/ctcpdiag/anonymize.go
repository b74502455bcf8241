package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/report"
)

const anonymizeUsage = `Usage: ctcpdiag anonymize [--anon-key KEY] IN OUT

Write an anonymized copy of the capture IN (pcap or pcapng, plain or
compressed with gzip or zstd; "-" reads standard input) to OUT as
pcapng: every IP and MAC address is replaced by a pseudonym (IP
addresses prefix-preserving, private ones staying private), payloads are
zeroed except the few header bytes the analysis reads, and interface
names, comments and other metadata are dropped. Timestamps, lengths and
frame numbers are kept, so "ctcpdiag analyze OUT" gives the same verdict
and findings as for IN, with the pseudonyms. OUT is replaced atomically
and only when the copy is complete.

Flags:
  --anon-key KEY  derive the pseudonyms from KEY: the same KEY gives the
                  same pseudonyms in every capture and report (use it with
                  "analyze --anonymize"); without it a random key is used,
                  never shown, and the pseudonyms cannot be linked to
                  anything else
  -h, --help      show this help

A capture damaged part-way is copied up to the damage; the damage is
named on standard error.

Exit status: 0 the copy was written; 2 usage error, IN unreadable, or OUT
not written.
`

// runAnonymizeCmd runs "ctcpdiag anonymize" with the arguments after the
// command name and returns the exit status.
func runAnonymizeCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ctcpdiag: %s\nRun \"ctcpdiag help anonymize\" for usage.\n",
			report.Printable(fmt.Sprintf(format, a...)))
		return exitFailure
	}
	fs := flag.NewFlagSet("anonymize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var key string
	var keySet bool
	fs.Func("anon-key", "", func(v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		key, keySet = v, true
		return nil
	})
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	// Flags may follow the file names.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return usageErr("anonymize: %v", err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			files = append(files, rest[1:]...)
			break
		}
		files = append(files, rest[0])
		rest = rest[1:]
	}
	if *help {
		fmt.Fprint(stdout, anonymizeUsage)
		return exitOK
	}
	if len(files) != 2 {
		return usageErr("anonymize: want IN and OUT, got %d file names", len(files))
	}
	in, out := files[0], files[1]
	if out == "-" {
		return usageErr("anonymize: OUT must be a file (it is written atomically)")
	}
	if in != "-" && sameFile(in, out) {
		return usageErr("anonymize: IN and OUT are the same file")
	}

	var m *anon.Mapper
	if keySet {
		m = anon.NewMapper(anon.KeyFromString(key))
	} else {
		m = anon.NewMapper(anon.RandomKey())
	}

	var st rewrite.Stats
	var inErr error
	werr := writeStreamAtomic(out, func(w io.Writer) error {
		var err error
		if in == "-" {
			st, err = rewrite.Anonymize(stdin, "-", w, m)
		} else {
			st, err = rewrite.AnonymizeFile(in, w, m)
		}
		var ie *capfile.InputError
		if err != nil && errors.As(err, &ie) {
			if st.Frames == 0 && st.Bytes == 0 {
				return err // unreadable: nothing to keep
			}
			inErr = err // damage part-way: the frames before it are a complete copy
			return nil
		}
		return err
	})
	var ie *capfile.InputError
	switch {
	case werr != nil && errors.As(werr, &ie):
		fmt.Fprintf(stderr, "ctcpdiag: %s\n", report.Printable(inputErrorText(in, werr)))
		return exitFailure
	case werr != nil:
		fmt.Fprintf(stderr, "ctcpdiag: writing %s: %s\n", report.Printable(out), report.Printable(werr.Error()))
		return exitFailure
	case inErr != nil:
		fmt.Fprintf(stderr, "ctcpdiag: warning: %s (the %d frames before the damage were copied)\n",
			report.Printable(inputErrorText(in, inErr)), st.Frames)
	}
	return exitOK
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}
