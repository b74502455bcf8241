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
	c       *analyze.Capture
	res     *Result
	s       *analyze.Session
	sr      *SessionResult
	nat     bool
	natWhy  string
	blocked []*analyze.Session
	// evidence names the evidence in the primary session, e.g. "the
	// unanswered retransmit request in session 3 (...)"; shows is "as X
	// shows" for an affected session and "which X puts at risk" wording
	// otherwise.
	evidence string
	affected bool
	dupAcks  bool // the capture shows duplicate ACKs on cTCP
	// client and headend are the addresses a configuration may name:
	// the address seen, or a placeholder where the analysis says it may
	// be a NAT's or a proxy's; clientNote and headendNote say why.
	client, headend         string
	clientNote, headendNote string
	clientKnown             bool
}

// recommend returns the ranked recommendations for an affected or at-risk
// capture; primary is the session the verdict rests on.
//
// Ranking: when the client's UDP 500/4500 attempts went unanswered,
// anyconnect first (UDP is blocked), then tcp-state-bypass, then
// ipsec-over-udp; otherwise ipsec-over-udp (NAT-T: with it the ASA
// negotiates native ESP itself where no NAT is detected, and UDP 4500
// passes more firewalls than IP protocol 50) first, tcp-state-bypass as
// the stopgap, anyconnect as the long-term fix. native-esp is listed
// after those for a client whose address is public, never above
// ipsec-over-udp. fix-packet-loss comes last, when the capture measured
// loss or shows retransmit requests.
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
	x.affected = x.sr.Verdict == Affected
	x.evidence = primaryEvidence(x.sr)
	x.addresses()

	var recs []Recommendation
	if len(x.blocked) > 0 {
		recs = append(recs, x.anyConnect(), x.stateBypass(), x.ipsecOverUDP())
	} else {
		recs = append(recs, x.ipsecOverUDP(), x.stateBypass(), x.anyConnect())
	}
	if x.clientKnown { // a public client address seen on the client side
		recs = append(recs, x.nativeESP())
	}
	if r, ok := x.fixLoss(); ok {
		recs = append(recs, r)
	}
	for i := range recs {
		recs[i].Rank = i + 1
	}
	return recs
}

// addresses decides which addresses configurations may name (see
// configAddrs).
func (x *recContext) addresses() {
	x.client, x.headend, x.clientNote, x.headendNote = configAddrs(x.s, x.sr.Path)
	x.clientKnown = x.clientNote == ""
}

// configAddrs returns the client and headend addresses a configuration
// may name, each the address seen or a placeholder, and for each
// placeholder why. The client address seen is the client's only when the
// capture was taken on the client side and it is public; otherwise a
// NAT's or a proxy's may stand in its place. The headend address seen is
// the headend's unless a TCP stack answers in the headend's name (a
// proxy may own the address) and the capture was not taken next to the
// headend.
func configAddrs(s *analyze.Session, pa *Path) (client, headend, clientNote, headendNote string) {
	if pa == nil {
		pa = &Path{CapturePoint: UnknownSide}
	}
	seenC, seenH := s.Client.Addr().Unmap(), s.Headend.Addr().Unmap()
	client, headend = seenC.String(), seenH.String()
	nat, natWhy := natReason(seenC)
	switch {
	case nat:
		client = "<CLIENT_PUBLIC_IP>"
		clientNote = fmt.Sprintf("the client's address in this capture, %s, is %s, so the client is behind NAT and its public address is not in this capture", seenC, natWhy)
	case pa.CapturePoint != ClientSide:
		client = "<CLIENT_PUBLIC_IP>"
		clientNote = fmt.Sprintf("this capture was not taken on the client side (capture point %s), so the client address seen, %s, may be a NAT's or a proxy's", pa.CapturePoint, seenC)
	}
	if pa.StackFor[analyze.ClientToHeadend] && pa.CapturePoint != HeadendSide {
		headend = "<HEADEND_IP>"
		headendNote = fmt.Sprintf("a TCP stack in the path answers in the headend's name, so the headend address seen here, %s, may be a proxy's", seenH)
	}
	return client, headend, clientNote, headendNote
}

// notes joins the address notes for a Why, "" when there are none.
func (x *recContext) notes() string {
	var n []string
	for _, s := range []string{x.clientNote, x.headendNote} {
		if s != "" {
			n = append(n, s)
		}
	}
	if len(n) == 0 {
		return ""
	}
	return " The configuration uses placeholders: " + strings.Join(n, "; ") + "."
}

// shows ends a sentence with the evidence: "as X shows" for an affected
// session, "which X shows this tunnel is exposed to" otherwise.
func (x *recContext) shows() string {
	if x.affected {
		return "as " + x.evidence + " shows"
	}
	return "the risk that " + x.evidence + " shows"
}

// primaryEvidence names the evidence in the primary session.
func primaryEvidence(sr *SessionResult) string {
	s := sr.Session
	if u := sr.FirstUnanswered; u != nil {
		return fmt.Sprintf("the unanswered retransmit request in session %d (%s)", s.ID, dupAckExtent(u.Run))
	}
	if st := sr.Stop; st != nil {
		return fmt.Sprintf("the %s->%s stream that stopped in session %d (last data at frame %d while the %s kept sending)",
			st.Dir.Side(), st.Dir.Other().Side(), s.ID, st.Silence.FromFrame, st.Dir.Other().Side())
	}
	if sr.Verdict == AtRisk && sr.Confidence == Probable {
		return fmt.Sprintf("the TCP stack answering in a cTCP endpoint's name in session %d", s.ID)
	}
	if sr.Path != nil && lossSeen(sr.Path) {
		return fmt.Sprintf("the loss in session %d (%s)", s.ID, lossText(sr.Path))
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

// aclHost is "host A" for an address or a placeholder.
func aclHost(a string) string { return "host " + a }

func (x *recContext) ipsecOverUDP() Recommendation {
	port := x.s.Headend.Port()
	var why string
	switch {
	case x.nat:
		why = fmt.Sprintf("The client's address in this capture, %s, is %s, so the client reaches the headend through NAT (judged from the address only); NAT-T carries ESP in UDP 4500, which no firewall tracks as TCP, so a lost packet costs one packet instead of stalling the tunnel, %s.",
			x.s.Client.Addr().Unmap(), x.natWhy, x.shows())
	default:
		why = fmt.Sprintf("NAT-T carries ESP in UDP 4500, which no firewall tracks as TCP, so a lost packet costs one packet instead of stalling the tunnel, %s; where IKE finds no NAT on the way, the ASA and the client use native ESP by themselves, and UDP 4500 passes more firewalls than IP protocol 50.",
			x.shows())
	}
	if len(x.blocked) > 0 {
		why += fmt.Sprintf(" This capture shows UDP to the headend blocked: %s; allow UDP 500 and 4500 from the client to the headend first.", x.blockedText())
	}
	why += x.notes()
	cfg := fmt.Sprintf(`! ASA headend %[1]s: NAT-T (on by default in recent releases; check with: show running-config all crypto)
crypto isakmp nat-traversal 20
! stop offering IPsec over TCP (here on port %[2]d); before ASA 8.4: no crypto isakmp ipsec-over-tcp
no crypto ikev1 ipsec-over-tcp
! Cisco VPN Client, connection entry > Transport: keep "Enable Transparent Tunneling" and select
! "IPsec over UDP (NAT / PAT)" instead of "IPsec over TCP"
! Cisco proprietary alternative (IKEv1 Cisco VPN Client only), per group policy:
! group-policy <GROUP_POLICY> attributes
!  ipsec-udp enable
!  ipsec-udp-port 10000`, x.headend, port)
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
	why := fmt.Sprintf("An alternative to NAT-T, not better: the client's address in this capture, %s, is public, so the capture shows no NAT between the client and the headend (judged from the address only); plain ESP (IP protocol 50) needs no TCP wrapper that a firewall could track, which removes the failure behind %s, but every firewall on the way must pass IP protocol 50, which fewer do than UDP 4500.",
		x.s.Client.Addr().Unmap(), x.evidence)
	if len(x.blocked) > 0 {
		why += fmt.Sprintf(" This capture shows UDP to the headend blocked: %s; IKE on UDP 500 and ESP must be allowed first.", x.blockedText())
	}
	why += x.notes()
	cfg := fmt.Sprintf(`! ASA headend %[2]s: stop offering IPsec over TCP; before ASA 8.4: no crypto isakmp ipsec-over-tcp
no crypto ikev1 ipsec-over-tcp
! Cisco VPN Client, connection entry > Transport: clear "Enable Transparent Tunneling"
! every firewall between client and headend must pass IKE and ESP, e.g.:
access-list <OUTSIDE_IN> extended permit udp %[1]s %[3]s eq isakmp
access-list <OUTSIDE_IN> extended permit esp %[1]s %[3]s`, aclHost(x.client), x.headend, aclHost(x.headend))
	return Recommendation{
		Action:  ActionNativeESP,
		Title:   "Alternative: native ESP without encapsulation",
		Why:     why,
		Config:  cfg,
		Caution: "Native ESP cannot pass NAT/PAT: if the client moves behind NAT, use NAT-T instead.",
	}
}

func (x *recContext) anyConnect() Recommendation {
	var why string
	if len(x.blocked) > 0 {
		why = fmt.Sprintf("The client's UDP attempts to the headend got no reply in this capture: %s; so UDP is blocked on this path and the UDP-based fixes need a firewall change; AnyConnect's TLS tunnel on TCP 443 runs over a real TCP stack that answers duplicate ACKs, so the failure behind %s cannot happen there.",
			x.blockedText(), x.evidence)
	} else {
		why = fmt.Sprintf("Long-term fix: the legacy Cisco VPN Client, the only cTCP client, is end of life; AnyConnect (Secure Client) uses TLS over real TCP, which retransmits, plus DTLS or IKEv2 over UDP, so the failure behind %s cannot happen there.",
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
	port := x.s.Headend.Port()
	client := aclHost(x.client)
	if x.nat {
		client = "any"
	}
	var why string
	if x.dupAcks || x.affected {
		why = fmt.Sprintf("Stopgap: a stateful device in the path tracks the cTCP flow as TCP and holds it on a hole the cTCP endpoint never fills, %s; turning off TCP state checks for this one flow (port %d) on that firewall stops it until the transport is changed.",
			x.shows(), port)
	} else {
		why = fmt.Sprintf("Stopgap: if a stateful firewall in the path tracks the cTCP flow as TCP, a lost segment leaves it waiting for a retransmission that cTCP never sends (%s); turning off TCP state checks for this one flow (port %d) on that firewall prevents it until the transport is changed.",
			x.shows(), port)
	}
	if client == "any" {
		why += " The ACL uses any for the client: it is behind NAT and its public address is not in this capture; replace it with host <public address> when you know it."
	}
	why += x.notes()
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
clear conn protocol tcp address %[4]s port %[3]d`, client, aclHost(x.headend), port, x.headend)
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

// fixLoss recommends fixing the loss when the capture measured any on
// cTCP, or shows retransmit requests (which only loss makes).
func (x *recContext) fixLoss() (Recommendation, bool) {
	var parts []string
	reqs := 0
	for i := range x.res.Sessions {
		sr := &x.res.Sessions[i]
		if !isCTCP(sr.Session) || sr.Path == nil {
			continue
		}
		reqs += len(sr.Requests)
		if t := lossText(sr.Path); t != "" {
			parts = append(parts, fmt.Sprintf("session %d: %s", sr.Session.ID, t))
		}
	}
	if len(parts) == 0 && reqs == 0 {
		return Recommendation{}, false
	}
	var why string
	if len(parts) > 0 {
		why = "cTCP cannot recover from a single lost segment, and this capture measured on its cTCP sessions: " + strings.Join(parts, "; ") + "."
	} else {
		why = fmt.Sprintf("cTCP cannot recover from a single lost segment; the cTCP sessions' %s (duplicate ACKs asking for missing bytes) show that segments were lost on the path, though this capture point cannot measure the loss rate.",
			plural(reqs, "retransmit request"))
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
