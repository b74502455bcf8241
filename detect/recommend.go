package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// cgnat is the RFC 6598 shared address space used by carrier-grade NAT.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// natReason reports whether the client address shows that the client sits
// behind NAT, and why. It looks at the address only: RFC 1918 private,
// RFC 6598 CGNAT or IPv6 unique-local (fc00::/7) addresses are not routed
// on the internet, so a client using one reaches a headend elsewhere
// through NAT.
func natReason(a netip.Addr) (bool, string) {
	a = a.Unmap()
	switch {
	case a.Is4() && a.IsPrivate():
		return true, "private (RFC 1918)"
	case a.Is4() && cgnat.Contains(a):
		return true, "carrier-grade NAT shared space (RFC 6598, 100.64.0.0/10)"
	case a.Is6() && a.IsPrivate():
		return true, "IPv6 unique local (fc00::/7)"
	}
	return false, "public"
}

// recContext is what the recommendation rules draw on.
type recContext struct {
	c        *analyze.Capture
	res      *Result
	s        *analyze.Session
	sr       *SessionResult
	nat      bool
	natWhy   string
	blocked  []*analyze.Session
	evidence string // "the unanswered request in session 3 (dup ACK frames 112-130)"
	dupAcks  bool   // the capture shows duplicate ACKs on cTCP
}

// recommend returns the ranked recommendations for an affected or at-risk
// capture; primary is the session the verdict rests on.
//
// Ranking: when the client's UDP 500/4500 attempts went unanswered,
// anyconnect first (UDP is blocked), then tcp-state-bypass, then the UDP
// transports; otherwise ipsec-over-udp first behind NAT, native-esp first
// (then ipsec-over-udp) without NAT, then tcp-state-bypass as the stopgap,
// then anyconnect as the long-term fix. fix-packet-loss comes last, when
// the capture shows loss or retransmit requests.
func recommend(c *analyze.Capture, res *Result, primary int) []Recommendation {
	x := &recContext{c: c, res: res, s: c.Sessions[primary], sr: &res.Sessions[primary]}
	x.nat, x.natWhy = natReason(x.s.Client.Addr())
	for _, i := range res.UDPBlocked {
		x.blocked = append(x.blocked, c.Sessions[i])
	}
	for i := range res.Sessions {
		if isCTCP(res.Sessions[i].Session) && len(res.Sessions[i].Requests) > 0 {
			x.dupAcks = true
		}
	}
	x.evidence = primaryEvidence(x.sr)

	var recs []Recommendation
	switch {
	case len(x.blocked) > 0:
		recs = append(recs, x.anyConnect(), x.stateBypass(), x.ipsecOverUDP())
		if !x.nat {
			recs = append(recs, x.nativeESP())
		}
	case x.nat:
		recs = append(recs, x.ipsecOverUDP(), x.stateBypass(), x.anyConnect())
	default:
		recs = append(recs, x.nativeESP(), x.ipsecOverUDP(), x.stateBypass(), x.anyConnect())
	}
	if r, ok := x.fixLoss(); ok {
		recs = append(recs, r)
	}
	for i := range recs {
		recs[i].Rank = i + 1
	}
	return recs
}

// primaryEvidence names the evidence in the primary session.
func primaryEvidence(sr *SessionResult) string {
	s := sr.Session
	if u := sr.FirstUnanswered; u != nil {
		return fmt.Sprintf("the %s's unanswered retransmit request in session %d (dup ACK frames %s)",
			u.Run.By.Side(), s.ID, frameSpan(u.Run.Frames))
	}
	e := sessionEvidence(sr)
	switch {
	case e.answered != nil:
		return fmt.Sprintf("the retransmit request in session %d (dup ACK frames %s)", s.ID, frameSpan(e.answered.Run.Frames))
	case e.stall:
		return fmt.Sprintf("the one-way stall in session %d (the %s sent no data for %s from frame %d)",
			s.ID, sr.Stall.Dir.Side(), fmtDur(sr.Stall.Silence.Duration()), sr.Stall.Silence.FromFrame)
	case e.loss:
		return fmt.Sprintf("the loss in session %d (measured %s)", s.ID, fmtPercent(sr.Loss.Rate))
	}
	return fmt.Sprintf("session %d", s.ID)
}

// blockedText describes the unanswered UDP attempts.
func (x *recContext) blockedText() string {
	parts := make([]string, 0, len(x.blocked))
	for _, s := range x.blocked {
		parts = append(parts, fmt.Sprintf("%s to %s in session %d, frames %d-%d",
			plural(s.Dirs[analyze.ClientToHeadend].Packets, "packet"), s.Headend, s.ID, s.FirstFrame, s.LastFrame))
	}
	return strings.Join(parts, ", ")
}

// aclHost is "host A" for an address, in IPv4 or IPv6 syntax.
func aclHost(a netip.Addr) string { return "host " + a.Unmap().String() }

func (x *recContext) ipsecOverUDP() Recommendation {
	client, headend, port := x.s.Client.Addr().Unmap(), x.s.Headend.Addr().Unmap(), x.s.Headend.Port()
	var why string
	switch {
	case x.nat:
		why = fmt.Sprintf("The client's address in this capture, %s, is %s, so the client reaches the headend %s through NAT (judged from the address only); NAT-T carries ESP in UDP 4500, which no firewall tracks as TCP, so a lost packet costs one packet instead of stalling the tunnel as %s shows.",
			client, x.natWhy, headend, x.evidence)
	default:
		why = fmt.Sprintf("If ESP (IP protocol 50) cannot pass a firewall between %s and %s, IPsec over UDP carries it in UDP, which no firewall tracks as TCP, so a lost packet no longer stalls the tunnel as %s shows.",
			client, headend, x.evidence)
	}
	if len(x.blocked) > 0 {
		why += fmt.Sprintf(" This capture shows UDP to the headend blocked: %s; allow UDP 500 and 4500 from the client to %s first.", x.blockedText(), headend)
	}
	cfg := fmt.Sprintf(`! ASA headend %[1]s: NAT-T (on by default in recent releases; check with: show running-config all crypto)
crypto isakmp nat-traversal 20
! stop offering IPsec over TCP (here on port %[2]d); before ASA 8.4: no crypto isakmp ipsec-over-tcp
no crypto ikev1 ipsec-over-tcp
! Cisco VPN Client, connection entry > Transport: keep "Enable Transparent Tunneling" and select
! "IPsec over UDP (NAT / PAT)" instead of "IPsec over TCP"
! Cisco proprietary alternative (IKEv1 Cisco VPN Client only), per group policy:
! group-policy <GROUP_POLICY> attributes
!  ipsec-udp enable
!  ipsec-udp-port 10000`, headend, port)
	return Recommendation{
		Action: ActionIPsecOverUDP,
		Title:  "Move the client to IPsec over UDP (NAT-T)",
		Why:    why,
		Config: cfg,
		Caution: "While IPsec over TCP is enabled on the ASA and selected on the client it takes precedence over NAT-T and IPsec over UDP, so remove it or change the client's transport; " +
			"UDP 500 and 4500 must be allowed from the client to the headend.",
	}
}

func (x *recContext) nativeESP() Recommendation {
	client, headend := x.s.Client.Addr().Unmap(), x.s.Headend.Addr().Unmap()
	why := fmt.Sprintf("The client's address in this capture, %s, is public, so the capture shows no NAT between the client and the headend %s (judged from the address only); without NAT, plain ESP (IP protocol 50) needs no TCP wrapper that a firewall could track, which removes the failure behind %s.",
		client, headend, x.evidence)
	if len(x.blocked) > 0 {
		why += fmt.Sprintf(" This capture shows UDP to the headend blocked: %s; IKE on UDP 500 and ESP must be allowed first.", x.blockedText())
	}
	cfg := fmt.Sprintf(`! ASA headend %[2]s: stop offering IPsec over TCP; before ASA 8.4: no crypto isakmp ipsec-over-tcp
no crypto ikev1 ipsec-over-tcp
! Cisco VPN Client, connection entry > Transport: clear "Enable Transparent Tunneling"
! every firewall between client and headend must pass IKE and ESP, e.g.:
access-list <OUTSIDE_IN> extended permit udp %[1]s %[3]s eq isakmp
access-list <OUTSIDE_IN> extended permit esp %[1]s %[3]s`, aclHost(client), headend, aclHost(headend))
	return Recommendation{
		Action:  ActionNativeESP,
		Title:   "Use native ESP without encapsulation",
		Why:     why,
		Config:  cfg,
		Caution: "Native ESP cannot pass NAT/PAT: if the client moves behind NAT, use NAT-T instead.",
	}
}

func (x *recContext) anyConnect() Recommendation {
	headend := x.s.Headend.Addr().Unmap()
	var why string
	if len(x.blocked) > 0 {
		why = fmt.Sprintf("The client's UDP attempts to the headend got no reply in this capture: %s; so UDP is blocked on this path and the UDP-based fixes need a firewall change; AnyConnect's TLS tunnel on TCP 443 to %s runs over a real TCP stack that answers duplicate ACKs, so %s cannot recur.",
			x.blockedText(), headend, x.evidence)
	} else {
		why = fmt.Sprintf("Long-term fix: the legacy Cisco VPN Client, the only cTCP client, is end of life; AnyConnect (Secure Client) uses TLS over real TCP, which retransmits, plus DTLS or IKEv2 over UDP, so the failure behind %s cannot happen.",
			x.evidence)
	}
	cfg := `! ASA headend: enable the SSL VPN client (sketch; see the ASA VPN configuration guide)
webvpn
 enable <outside>
 anyconnect image disk0:/<secure-client-package>.pkg 1
 anyconnect enable
 tunnel-group-list enable
group-policy <GROUP_POLICY> attributes
 vpn-tunnel-protocol ssl-client ikev2
tunnel-group <TUNNEL_GROUP> webvpn-attributes
 group-alias <ALIAS> enable`
	return Recommendation{
		Action:  ActionAnyConnect,
		Title:   "Migrate to AnyConnect / Secure Client (TLS and DTLS, or IKEv2)",
		Why:     why,
		Config:  cfg,
		Caution: "Needs AnyConnect licences and a client rollout; where UDP is blocked DTLS (UDP 443) falls back to the TLS tunnel.",
	}
}

func (x *recContext) stateBypass() Recommendation {
	headend, port := x.s.Headend.Addr().Unmap(), x.s.Headend.Port()
	client := aclHost(x.s.Client.Addr())
	clientNote := fmt.Sprintf("the ACL names the client %s as seen in this capture", x.s.Client.Addr().Unmap())
	if x.nat {
		client = "any"
		clientNote = fmt.Sprintf("the client's address in this capture, %s, is %s, so the client is behind NAT and its public address, which the transit firewall sees, is unknown: the ACL uses any; replace it with host <public address> when you know it",
			x.s.Client.Addr().Unmap(), x.natWhy)
	}
	var why string
	if x.dupAcks {
		why = fmt.Sprintf("The duplicate ACKs on the cTCP flow come from a stateful device that tracks it as TCP and holds it on a hole the cTCP endpoint never fills, as %s shows; turning off TCP state checks for this one flow (%s to %s port %d) on that firewall stops it until the transport is changed; %s.",
			x.evidence, x.s.Client.Addr().Unmap(), headend, port, clientNote)
	} else {
		why = fmt.Sprintf("If a stateful firewall in the path tracks the cTCP flow as TCP, a lost segment leaves it waiting for a retransmission that cTCP never sends, which may explain %s; turning off TCP state checks for this one flow (%s to %s port %d) on that firewall prevents it until the transport is changed; %s.",
			x.evidence, x.s.Client.Addr().Unmap(), headend, port, clientNote)
	}
	cfg := fmt.Sprintf(`! on the firewall in the transit path that inspects the flow (not for traffic to the ASA itself)
access-list CTCP-BYPASS extended permit tcp %[1]s %[2]s eq %[3]d
access-list CTCP-BYPASS extended permit tcp %[2]s eq %[3]d %[1]s
class-map CTCP-BYPASS-CLASS
 match access-list CTCP-BYPASS
policy-map global_policy
 class CTCP-BYPASS-CLASS
  set connection advanced-options tcp-state-bypass
service-policy global_policy global
! only new connections are bypassed: clear the existing cTCP connection
clear conn protocol tcp address %[4]s port %[3]d`, client, aclHost(headend), port, headend)
	return Recommendation{
		Action: ActionTCPStateBypass,
		Title:  "Stopgap: TCP state bypass for the cTCP flow on the transit firewall",
		Why:    why,
		Config: cfg,
		Caution: "TCP state bypass switches off, for the matched flow: application inspection, the TCP normalizer, " +
			"redirection to the IPS, CX or CSC module, TCP Intercept and embryonic connection limits, TCP sequence number randomization " +
			"and AAA authentication; stateful failover of the flow may not be supported. It affects only new connections " +
			"(clear the existing conn; bypassed conns show flag b in show conn). Keep the ACL as narrow as possible. " +
			"It does not apply to traffic that terminates on the ASA itself.",
	}
}

// fixLoss recommends fixing the loss when the capture shows any on cTCP:
// lost segments, ESP gaps, retransmissions or retransmit requests.
func (x *recContext) fixLoss() (Recommendation, bool) {
	var total Loss
	var reqs int
	for i := range x.res.Sessions {
		sr := &x.res.Sessions[i]
		if !isCTCP(sr.Session) {
			continue
		}
		reqs += len(sr.Requests)
		l := sr.Loss
		if l == nil {
			continue
		}
		for d := range 2 {
			total.LostSegments[d] += l.LostSegments[d]
			total.DataSegments[d] += l.DataSegments[d]
			total.ESPGaps[d] += l.ESPGaps[d]
			total.ESPMissing[d] += l.ESPMissing[d]
			total.ESPPackets[d] += l.ESPPackets[d]
		}
		total.Retransmissions += l.Retransmissions
	}
	total.setRate()
	if !total.Any() && reqs == 0 {
		return Recommendation{}, false
	}
	var why string
	if total.Any() {
		why = "cTCP cannot recover from a single lost segment, and this capture measured on its cTCP sessions: " + total.sentence()
		if reqs > 0 {
			why += fmt.Sprintf("; plus %s", plural(reqs, "retransmit request"))
		}
		why += "."
	} else {
		why = fmt.Sprintf("cTCP cannot recover from a single lost segment; the cTCP sessions' %s (%s) show that segments were lost on the path, though the loss rate cannot be measured from this capture point.",
			plural(reqs, "retransmit request"), "duplicate ACKs asking for missing bytes")
	}
	return Recommendation{
		Action: ActionFixPacketLoss,
		Title:  "Find and fix the packet loss on the path",
		Why:    why,
		Config: `! no configuration change; where to look:
show interface <interface>      ! input errors, overruns, no buffer, output drops
show asp drop                   ! e.g. tcp-buffer-full, tcp-buffer-timeout on a tracking ASA
capture CAP_ASP type asp-drop all`,
	}, true
}
