// Package detect turns the sessions that analyze built into findings, a
// verdict and ranked recommendations.
//
// Run applies the detectors in the Detectors registry to an
// analyze.Capture, in order; the verdict detector judges the sessions and
// the capture and, for affected and at-risk captures, ranks the
// recommendations. Detection only reads the capture; it uses the capture's
// timestamps as its only clock and never iterates a map into its output, so
// the same capture always gives the same Result. Run also puts the findings
// in the one order every report format shows (sortFindings).
//
// # Detectors
//
// Detectors work like golang.org/x/tools/go/analysis analyzers: each is a
// package-level *Detector with a Name (the ID of its findings), a Doc whose
// first line is its title, optional Requires, the ResultType it publishes
// (nil for none) and a Run(*Pass) error. A Pass gives read-only access to
// the capture, the results of the required detectors (read with resultOf,
// which returns an error rather than a zero value for a detector not
// required or a type not declared) and a Report function; SetResult
// publishes the result, which the runner checks against ResultType.
// Validate checks a registry: names, order, and that every required
// detector publishes a result. One detector per file:
//
//   - retransmit-request (request.go): judges the retransmit requests.
//   - path-behaviour (path.go): who answers in the endpoints' names, the
//     capture point, where the loss was.
//   - session-outcome (outcome.go): reset, closed, reconnected, stalled,
//     running; the longest one-way stall of each VPN session.
//   - unanswered-retransmit-request (unanswered.go): the critical findings.
//   - packet-loss (loss.go): lost segments, retransmissions, ESP gaps.
//   - vpn-transports (transports.go): the VPN transports seen.
//   - udp-blocked (transports.go): unanswered IKE / NAT-T from the client.
//   - verdict (run.go, verdict.go, recommend.go): the verdict of each cTCP
//     session and of the capture, the recommendations; no findings.
//   - one-way-stall (stall.go): one side silent while the other sends,
//     reported after the verdict as what it proves (critical where the
//     verdict rests on it, else a warning).
//
// # Retransmit requests
//
// A run of at least Config.DupAcks (--dupacks, default 2, Wireshark's
// fast-retransmit trigger) duplicate ACKs from one side for one ack number
// A is a retransmit request. Shorter runs are reported as info only and do
// not count. A request is:
//
//   - answered when the data sender later sent a segment covering A
//     (DupAckRun.CoverFrame), or the asking side's ACK moved past A
//     (DupAckRun.AdvanceFrame: the hole was filled, e.g. by reordering);
//   - inconclusive when the session's last packet (or the capture's end)
//     comes less than JudgeWindow (1 s) after the first duplicate ACK and
//     the data sender sent fewer than JudgeSegments (2) new segments past
//     A; or when the data sender sent no data past A at all (it may simply
//     be gone, so the capture cannot show it was alive);
//   - unanswered otherwise: the data sender never covered A but went on
//     sending data above it.
//
// Each judgement states which side asked, and whether the requested bytes
// were seen at the capture point before the request (lost beyond it) or
// never (lost before it, or not captured).
//
// # One-way stall
//
// A direction of a VPN session that sends no data for at least StallMin
// (5 s: longer than the 5 s cTCP keepalive and the ASA's 4 s out-of-order
// queue timeout) while the other direction sends at least
// StallOtherSegments (3) data segments is stalled. The longest such
// silence (DirStats.Silence or EndSilence) is kept. Seen from beyond the
// proxy, this is the only trace of the failure. Stalls are reported for
// cTCP sessions only, as warnings, or as critical findings where the
// affected/probable verdict rests on them; on other VPN transports they only
// feed the session outcome.
//
// # Session outcome
//
// In order: reset (an RST; the outcome frame is the first RST), closed (a
// FIN), stalled (no data from either side for the last QuietMin (5 s) of
// the capture while it continued, or an open one-way stall; the outcome
// frame is the last data frame before the stall), running. A reset,
// closed or stalled session is reconnected instead when a later session of
// the same protocol from the same client address to the same headend
// address and port starts at or after the stop; its first frame is the
// outcome frame. TimeToOutcome runs from the first unanswered request's
// first duplicate ACK to the outcome (0 when negative or none).
//
// # Loss
//
// For each cTCP session: Wireshark's lost-segment and retransmission
// flags, and ESP sequence gaps inside the tunnel, per direction, placed
// before the capture point, after it or as capture loss (path-behaviour).
// Each direction's rate names its numerator and denominator: missing ESP
// sequence numbers over those expected where ESP was framed, holes over
// data segments otherwise; rates of the two directions are never mixed.
//
// # Transports and blocked UDP
//
// An info finding lists the VPN transports seen, also when there is no
// cTCP. A client UDP flow to port 500 or 4500 (or classified IKE or NAT-T)
// with at least UDPBlockedMinPackets (2) packets and no reply shows that
// UDP to the headend is blocked.
//
// # Verdict
//
// Only sessions with Transport analyze.TransportCTCP decide; duplicate
// ACKs on other transports are info findings. Each cTCP session is judged
// alone (judgeSession) and the capture takes the worst verdict and its
// confidence. The rules, in order (docs/detection.md, "The verdict"):
//
//   - affected/proven: an unanswered request;
//   - affected/probable: seen beyond the device, one direction stops while
//     the other keeps sending, then the session is torn down (Stop);
//   - healthy: a sender resends lost bytes (a real TCP stack carries the
//     framing);
//   - at-risk/probable: a TCP stack in the path answers in a cTCP
//     endpoint's name;
//   - at-risk/possible: loss or a stall whose effect the capture cannot
//     judge;
//   - inconclusive: cTCP only by a port-based guess, or no data;
//   - healthy: otherwise (loss, if any, was tolerated);
//   - no-ctcp: no cTCP session at all.
//
// # Findings
//
// Severity is critical for an unanswered request on cTCP and for a stream
// that stopped as the affected/probable rule says, warning for at-risk
// evidence on cTCP (answered or inconclusive requests, loss, one-way
// stalls) and info otherwise. Run sorts the findings once, in the order
// every report format shows (sortFindings). Frames are ascending and
// capped at 64; each finding carries a Wireshark display filter that shows
// its evidence, using relative ack numbers and tcp.stream / udp.stream.
// At most 10 unanswered requests per session get their own finding; one
// more finding counts the rest.
//
// # Recommendations
//
// Only for affected and at-risk captures, built around the session the
// verdict rests on (recommend; docs/detection.md, "Recommendations"):
// anyconnect first when the client's UDP 500/4500 went unanswered, else
// ipsec-over-udp (NAT-T) first, then tcp-state-bypass and anyconnect;
// native-esp only as an alternative after those, for a public client seen
// from the client side; fix-packet-loss last whenever the capture shows
// loss or requests. A configuration never names an address that may be a
// NAT's or a proxy's: placeholders (<CLIENT_PUBLIC_IP>, <HEADEND_IP>) with
// the reason take its place.
package detect
