package detect

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// TransportCount is the number of sessions of one transport.
type TransportCount struct {
	Transport analyze.Transport
	Sessions  int
}

// vpnTransports lists the VPN transports in report order.
var vpnTransports = [...]analyze.Transport{
	analyze.TransportCTCP,
	analyze.TransportIKETCP,
	analyze.TransportIPsecUDP,
	analyze.TransportNATT,
	analyze.TransportIKE,
	analyze.TransportESP,
	analyze.TransportTLS,
	analyze.TransportDTLS,
}

// maxClassFindings caps the per-session cTCP classification findings.
const maxClassFindings = 32

// VPNTransports lists the VPN transports in the capture.
//
// Its result is a []TransportCount in the order of the analyze.Transport
// constants, only transports with at least one session. It reports one
// capture-wide info finding with the inventory (also when there is no
// cTCP, so the report can say what the client used instead), and one info
// finding per cTCP session (at most 32) saying how it was recognised.
var VPNTransports = &Detector{
	Name: "vpn-transports",
	Doc: `list the VPN transports seen

Counts the sessions of each VPN transport (cTCP, IKE over TCP, Cisco IPsec
over UDP, NAT-T, IKE, ESP, AnyConnect TLS and DTLS) and says how each cTCP
session was recognised, and whether that is sure or a port-based guess.`,
	ResultType: reflect.TypeFor[[]TransportCount](),
	Run:        runVPNTransports,
}

func runVPNTransports(p *Pass) error {
	c := p.Capture
	var counts []TransportCount
	var vpn []*analyze.Session
	for _, t := range vpnTransports {
		n := 0
		for _, s := range c.Sessions {
			if s.Transport == t {
				n++
			}
		}
		if n > 0 {
			counts = append(counts, TransportCount{Transport: t, Sessions: n})
		}
	}
	for _, s := range c.Sessions {
		if s.Transport.IsVPN() {
			vpn = append(vpn, s)
		}
	}
	p.SetResult(counts)

	f := Finding{Severity: Info, Session: -1}
	if len(counts) == 0 {
		f.Summary = fmt.Sprintf("no VPN transport seen in %s", plural(len(c.Sessions), "session"))
	} else {
		parts := make([]string, len(counts))
		for i, tc := range counts {
			parts[i] = tc.Transport.Label() + " (" + plural(tc.Sessions, "session") + ")"
		}
		f.Summary = "VPN transports seen: " + strings.Join(parts, ", ")
		frames := make([]uint64, 0, min(len(vpn), maxFindingFrames))
		for _, s := range vpn[:min(len(vpn), maxFindingFrames)] {
			frames = append(frames, s.FirstFrame)
		}
		f.Frames = evidenceFrames(frames...)
		f.WiresharkFilter = streamsFilter(vpn[:min(len(vpn), maxFindingFrames)])
	}
	p.Report(f)

	n := 0
	for _, s := range vpn {
		if !isCTCP(s) {
			continue
		}
		if n++; n > maxClassFindings {
			break
		}
		sure := "recognised by content"
		if !s.TransportSure {
			sure = "a guess, not proven by content"
		}
		why := s.TransportWhy
		if why == "" {
			why = "no reason recorded"
		}
		p.Report(Finding{
			Severity:        Info,
			Session:         s.ID,
			Summary:         describeSession(s) + " is cTCP (" + sure + "): " + why + framingSentence(s),
			Frames:          evidenceFrames(s.FirstFrame),
			WiresharkFilter: sessionFilter(s),
		})
	}
	return nil
}

// UDPBlockedMinPackets is how many client packets without a reply make an
// IKE or NAT-T flow "blocked" (IKE retransmits; one lone packet may just be
// the end of the capture).
const UDPBlockedMinPackets = 2

// UDPBlocked finds the client's IKE (UDP 500) and NAT-T (UDP 4500) flows
// that got no reply: evidence that UDP to the headend is blocked, so the
// UDP-based fixes need a firewall change and AnyConnect (TLS) comes first.
//
// Its result is a []int of Capture.Sessions indexes in session order. It
// reports one info finding listing them.
var UDPBlocked = &Detector{
	Name: "udp-blocked",
	Doc: `find the client's unanswered IKE and NAT-T attempts (UDP blocked)

A UDP flow to port 500 or 4500 (or classified IKE or NAT-T) with at least 2
packets from the client and none from the headend means UDP to the headend
does not get through: IPsec over UDP and native ESP will not work until it
does, so AnyConnect over TLS is recommended first.`,
	ResultType: reflect.TypeFor[[]int](),
	Run:        runUDPBlocked,
}

func runUDPBlocked(p *Pass) error {
	var blocked []int
	var sessions []*analyze.Session
	var frames []uint64
	var parts []string
	for i, s := range p.Capture.Sessions {
		if !isBlockedUDP(s) {
			continue
		}
		blocked = append(blocked, i)
		sessions = append(sessions, s)
		frames = append(frames, s.FirstFrame, s.LastFrame)
		parts = append(parts, fmt.Sprintf("%s to %s (session %d, frames %d-%d)",
			plural(s.Dirs[analyze.ClientToHeadend].Packets, "packet"), s.Headend, s.ID, s.FirstFrame, s.LastFrame))
	}
	p.SetResult(blocked)
	if len(blocked) == 0 {
		return nil
	}
	session := -1
	if len(blocked) == 1 {
		session = blocked[0]
	}
	p.Report(Finding{
		Severity: Info,
		Session:  session,
		Summary: fmt.Sprintf("the client %s sent %s and got no reply: UDP to the headend appears blocked",
			sessions[0].Client.Addr(), strings.Join(parts, ", ")),
		Frames:          evidenceFrames(frames...),
		WiresharkFilter: streamsFilter(sessions[:min(len(sessions), maxFindingFrames)]),
	})
	return nil
}

// isBlockedUDP applies the UDPBlocked rule to one session.
func isBlockedUDP(s *analyze.Session) bool {
	if s.Proto != 17 {
		return false
	}
	port := s.Headend.Port()
	if s.Transport != analyze.TransportIKE && s.Transport != analyze.TransportNATT && port != 500 && port != 4500 {
		return false
	}
	return s.Dirs[analyze.HeadendToClient].Packets == 0 &&
		s.Dirs[analyze.ClientToHeadend].Packets >= UDPBlockedMinPackets
}

// framingSentence says, for a cTCP session, how its byte streams framed
// into messages where that is worth a sentence: messages sharing or
// spanning segments, and what could not be framed. "" when every segment
// carried exactly one message.
func framingSentence(s *analyze.Session) string {
	var parts []string
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		f := &s.Framing[d]
		var dp []string
		if f.Coalesced > 0 {
			dp = append(dp, fmt.Sprintf("%s carried more than one message (first at frame %d)", plural(f.Coalesced, "segment"), f.CoalescedFrame))
		}
		if f.Split > 0 {
			dp = append(dp, fmt.Sprintf("%s spanned segments (first completed at frame %d)", plural(f.Split, "message"), f.SplitFrame))
		}
		if f.UnframedSegments > 0 {
			why := "inside a message after a hole"
			if f.Truncated == f.UnframedSegments {
				why = "cut by the snaplen"
			} else if f.Truncated > 0 {
				why = fmt.Sprintf("%d cut by the snaplen, the rest inside a message after a hole", f.Truncated)
			}
			dp = append(dp, fmt.Sprintf("%s could not be framed (%s; first at frame %d)", plural(f.UnframedSegments, "segment"), why, f.UnframedFrame))
		}
		if len(dp) > 0 {
			parts = append(parts, fmt.Sprintf("%s->%s: %s cTCP messages, %s", d.Side(), d.Other().Side(), strconv.FormatUint(f.Messages, 10), strings.Join(dp, ", ")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; framing: " + strings.Join(parts, "; ")
}
