// Package report turns what analyze and detect found about one capture into
// a single immutable [Report] value, and renders it.
//
// # Building
//
// [Build] does all the choosing: it copies, sorts and counts, formats
// addresses and times, decides which sessions a human-oriented renderer
// lists and which it summarises in one line. The result is never modified
// afterwards; the anonymizer (later) works on a copy of a Report, never
// inside a renderer.
//
// # Rendering
//
// Renderers take an [io.Writer], a *Report and their options and only
// render: [WriteJSON] writes the stable "ctcpdiag.report/v1" JSON contract
// described in DESIGN.md, [WriteText] a terminal report. Every renderer
// prints the same facts.
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
