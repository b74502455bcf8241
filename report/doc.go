// Package report turns what analyze and detect found about one capture into
// a single immutable [Report] value, and renders it.
//
// # Building
//
// [Build] (and [BuildWith], which also takes the time-sequence series of
// the sessions to graph) does all the choosing: it copies, sorts and
// counts, formats addresses and times, decides which sessions a
// human-oriented renderer lists and which it summarises in one line,
// which frames prove what happened to the sessions the verdict rests on
// (Report.Evidence, for the TCP sessions of detect.Result.Focus: built
// from the analysis and the judgement alone, so Build makes it without
// the series) and what each graph shows. Findings keep the order detect
// gave them (the one order every format shows); Build does not sort them
// again. The result is never modified afterwards; the anonymizer (later)
// works on a copy of a Report, never inside a renderer.
//
// # Rendering
//
// Renderers take an [io.Writer], a *Report and their options and only
// render: [WriteJSON] writes the stable "ctcpdiag.report/v1" JSON contract
// described in docs/json.md, [WriteText] a terminal report, [WriteMarkdown]
// GitHub-flavoured Markdown for tickets and [WriteHTML] one self-contained
// HTML page with an SVG time-sequence graph of each session in
// Report.Graphs. Every renderer prints the same facts about the capture
// (the text, Markdown and HTML reports cap long lists of frames and
// requests, JSON has them all), with one exception, the evidence table:
// the text, Markdown and HTML reports list the evidence frames of
// Report.Evidence whether or not the report has graphs (HTML beside the
// session's graph when BuildWith drew one, in a section of its own
// otherwise); JSON has no such table, only the requests, stalls and
// outcomes it is drawn from, without some of the frames it cites (the ACK
// that the duplicates repeat, the resend, the ACK that fills the hole).
// Graphs are drawn only in HTML, and only from the series given to
// BuildWith. Markdown and HTML end with a glossary and name the tool.
//
// # One view for the human formats
//
// The text, Markdown and HTML renderers print one view of the Report
// (view.go), which newView builds once per render: the heading and
// verdict lines, the capture summary, the sessions table and the notes
// under it, the findings, the evidence rows of each session of
// Report.Evidence and the recommendations, every sentence as a plain
// string, the parts that Markdown and HTML set as code (file names,
// addresses, filters, identifiers) marked as such. The renderers only lay the view out
// (sections, tables, colours, markup) and escape it for their format; no
// sentence is composed in a renderer or in a template function. Only the
// drawing of the HTML graphs (svg.go) and their captions belong to the HTML
// renderer alone. So the wording is the same in every format: each report
// starts with a heading line and a verdict line that both name the
// capture, durations have one format ("350 ms", "8.4 s", "2 min 5 s"), a
// run of duplicate ACKs is always shown by its whole extent ("64 duplicate
// ACKs, frames 2055-2190 over 8.4 s"), and the notes under the sessions
// table leave out what a finding already says. JSON is not a view: it is
// the contract, written from the Report itself.
//
// # Untrusted text
//
// Every string that comes from a capture (file names, warnings, anything
// derived from packets) is shown with control characters escaped in every
// format, and escaped for Markdown and HTML in those formats, so that a
// crafted capture cannot inject terminal escapes, markup, links or script.
// The escaping is per format: newView escapes control characters in every
// string of the view (all the text report needs), Markdown then escapes
// its markup with backslashes and code spans, and HTML leaves the rest to
// html/template.
//
// # JSON contract
//
// Field names never change within a schema version; fields may be added.
// Arrays are never null. Addresses are "ip:port" or "[ipv6]:port", times
// are RFC 3339 in UTC with nine fractional digits, sequence numbers are
// relative (as Wireshark shows them), frames are Wireshark frame numbers.
// A retransmit request's "answered" is true, false, or null when the
// capture cannot tell (inconclusive).
package report
