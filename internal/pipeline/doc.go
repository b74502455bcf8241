// Package pipeline is the one path from a capture to its report. Both
// drivers call it: "ctcpdiag analyze" for each file it is given, and
// internal/scan for each capture its workers take, so that a capture gives
// the same report whichever command reads it.
//
// # Steps
//
// [Run] reads the capture once ([analyze.File] or [analyze.Reader]), judges
// it ([detect.Run]), reads it a second time for the time-sequence graphs of
// the sessions the verdict rests on when [Options.Graphs] asks for them
// ([analyze.Series]), builds the report ([report.BuildWith], which lists
// the evidence frames of those sessions with or without the series) and,
// with [Options.Mapper], anonymizes it ([report.Anonymize]). [Analyze] is
// Run's first read and [Report] the rest, for a caller that needs the
// analyzed capture too (the evidence capture, internal/evidence).
//
// What the drivers do differently stays with them: where the bytes come
// from (files, standard input, archive entries), how a failure is shown,
// and how reports are written. docs/design.md describes the packages and
// the pipeline as a whole.
//
// # Errors
//
// A capture that cannot be read at all is Run's error (an
// *analyze.InputError when the file is at fault), and there is no report.
// Everything later is reported beside a report that is still written: a
// detector that fails leaves the capture unjudged (verdict inconclusive,
// as [report.BuildWith] does for a nil result) and a second read that
// fails leaves the report without graphs.
//
// Run is safe for concurrent use with distinct Inputs; an Options value
// (its Mapper included) may be shared.
package pipeline
