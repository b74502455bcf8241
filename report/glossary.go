package report

// glossaryEntry is one term of the glossary at the end of the Markdown and
// HTML reports, for the customer who reads a report pasted into a ticket:
// what the term is, then why it matters here. Plain text, no markup.
type glossaryEntry struct {
	Term, What, Why string
}

// glossary is the same in every report, in reading order. It follows
// docs/detection.md and docs/domain.md.
var glossary = []glossaryEntry{
	{"cTCP",
		"Cisco IPsec over TCP: the legacy Cisco VPN Client and the ASA carry IPsec (IKE and ESP) in segments that look like TCP, by default on TCP port 10000.",
		"It is not a real TCP stack: it never resends a lost segment and ignores duplicate ACKs."},
	{"duplicate ACK",
		"A TCP acknowledgement without data that repeats the previous one (same ack number, same window); Wireshark flags it tcp.analysis.duplicate_ack.",
		"A receiver sends them when a segment is missing and later ones arrive: each one asks again for the bytes at that number."},
	{"retransmit request",
		"A run of duplicate ACKs (2 or more, --dupacks) from one side for the same ack number: that side asks for missing bytes.",
		"Answered when the other side resends them or the hole is filled; unanswered when it goes on sending new data past the hole instead."},
	{"TCP proxy / normalizer",
		"A stateful device in the path (an ASA with inspection, TCP normalization or an IPS module, a proxy) that tracks the flow as real TCP and holds later segments until a hole is filled.",
		"cTCP never fills the hole, so the device delivers nothing more and the tunnel stalls (Cisco TAC document 113578)."},
	{"NAT-T",
		"NAT traversal (RFC 3947/3948): IPsec ESP carried in UDP port 4500, which passes NAT and PAT; on the ASA, crypto isakmp nat-traversal.",
		"No device tracks it as TCP, so a lost packet costs that one packet, not the tunnel."},
	{"native ESP",
		"IPsec ESP directly over IP (protocol 50), with no UDP or TCP around it.",
		"It cannot pass PAT; with NAT-T enabled, the peers use it by themselves where they find no NAT."},
	{"TCP state bypass",
		"An ASA policy (set connection advanced-options tcp-state-bypass) that stops a firewall in the transit path from tracking the matched flow as TCP; it does not apply to traffic to the ASA itself.",
		"For that flow it also switches off inspection, the TCP normalizer and redirection to an IPS module: keep its access list narrow."},
	{"capture point",
		"Where the capture was taken: near the client, near the headend, or on one interface of a firewall.",
		"Loss and duplicate ACKs on the far side of a device may not show in it; a second capture on the other side shows where packets are lost."},
	{"confidence",
		"How sure the verdict is. Proven: this capture shows the failure itself, an unanswered retransmit request.",
		"Probable: it shows strong signs but not the failure itself (a capture at another point can prove it); possible: there is cTCP loss whose effect this capture cannot show."},
}
