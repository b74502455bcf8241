package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/evidence"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// writeEvidence writes the evidence capture of --evidence to path: the
// frames of the report rep of capture c that prove it, read a second time
// from file (docs/evidence.md), anonymized with m when it is set (the
// report's mapper). Problems are named on standard error; the error makes
// the exit status 2. Damage part-way through the capture is not one: the
// report already warns of it, and the evidence capture holds the frames
// before it, as the analysis did.
func writeEvidence(path string, c *analyze.Capture, rep *report.Report, file string, m *anon.Mapper, quiet bool, e *env) error {
	spec := evidence.FromReport(c, rep, file)
	spec.Mapper = m
	return writeEvidenceSpec(path, spec, len(rep.Capture.Warnings) > 0, quiet, e)
}

// writeEvidenceSpec writes the evidence capture spec to path, with a
// progress bar for the second read of spec.Path where the first had one;
// damaged is true when the analysis met damage part-way through the
// capture (the report warns of it).
func writeEvidenceSpec(path string, spec evidence.Spec, damaged, quiet bool, e *env) error {
	file := spec.Path
	// The second read of a large capture takes as long as the first: it
	// gets a progress bar too.
	var bar *readProgress
	if total, min, ok := progressPlan(file, quiet, e.isTerminal(e.stderr)); ok {
		bar = newReadProgress(e.stderr, file, total, min)
		bar.name += " (evidence)"
		spec.Read = &bar.read
		bar.start()
	}
	var st evidence.Stats
	err := writeStreamAtomic(path, func(w io.Writer) error {
		var err error
		st, err = evidence.Write(w, spec)
		var ie *capfile.InputError
		if err != nil && errors.As(err, &ie) && st.Opened && damaged {
			return nil // damage part-way, which the analysis met too
		}
		return err
	})
	if bar != nil {
		bar.end()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ctcpdiag: writing the evidence capture %s: %s\n", report.Printable(path), report.Printable(err.Error()))
		return err
	}
	if len(st.Missing) > 0 {
		s := make([]string, len(st.Missing))
		for i, f := range st.Missing {
			s[i] = strconv.FormatUint(f, 10)
		}
		fmt.Fprintf(e.stderr, "ctcpdiag: warning: %s: cited frames not found in the second read: %s\n",
			report.Printable(path), strings.Join(s, ", "))
	}
	return nil
}
