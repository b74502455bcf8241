package report

import (
	"net/netip"
	"strconv"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// ConversationFilter returns a Wireshark display filter that shows session
// s by its addresses and ports, as Wireshark's own conversation filter
// does: "ip.addr == A && tcp.port == P && ip.addr == B && tcp.port == Q"
// (ipv6.addr for IPv6; for ESP the two addresses and "esp"). Unlike
// Session.WiresharkFilter's tcp.stream or udp.stream number, which counts
// the conversations of one file, it finds the session in any cut of the
// capture too, such as the evidence capture of "ctcpdiag analyze
// --evidence". It is built from s.Client and s.Headend, so an anonymized
// report gives the filter of the anonymized capture. "" when they are
// not addresses.
func ConversationFilter(s *Session) string {
	return ConversationFilterOf(s.Protocol, s.Client, s.Headend)
}

// ConversationFilterOf is ConversationFilter for a session of protocol
// ("tcp", "udp" or "esp") between client and headend, written as
// Session.Client and Session.Headend are ("ip:port", "[ipv6]:port", "ip"
// for ESP): for a caller that has no Session, such as a correlation
// report naming each file's side of a matched session.
func ConversationFilterOf(protocol, client, headend string) string {
	if protocol == "esp" {
		a, errA := netip.ParseAddr(client)
		b, errB := netip.ParseAddr(headend)
		if errA != nil || errB != nil {
			return ""
		}
		ip := ipField(a)
		return ip + " == " + a.Unmap().String() + " && " + ip + " == " + b.Unmap().String() + " && esp"
	}
	if protocol != "tcp" && protocol != "udp" {
		return ""
	}
	a, errA := netip.ParseAddrPort(client)
	b, errB := netip.ParseAddrPort(headend)
	if errA != nil || errB != nil {
		return ""
	}
	ip, port := ipField(a.Addr()), protocol+".port"
	return ip + " == " + a.Addr().Unmap().String() + " && " + port + " == " + strconv.Itoa(int(a.Port())) +
		" && " + ip + " == " + b.Addr().Unmap().String() + " && " + port + " == " + strconv.Itoa(int(b.Port()))
}

func ipField(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "ip.addr"
	}
	return "ipv6.addr"
}

// ctcpPort is the TCP port Wireshark 4.0 expects cTCP on: its TCPENCAP
// dissector ("TCP Encapsulation of IPsec Packets") takes cTCP by its
// heuristic ipsec_tcp, and the ASA's default is 10000.
const ctcpPort = 10000

// DecodeAs returns, for a cTCP session whose headend port is not 10000,
// the sentence that tells Wireshark to decode the port as cTCP (Decode As
// TCPENCAP, with tshark's -d and the GUI path), so that its dissector
// shows the ESP inside whatever its heuristics decide; "" for any other
// session.
func DecodeAs(s *Session) string {
	if s.Protocol != "tcp" || s.Transport != string(analyze.TransportCTCP) {
		return ""
	}
	h, err := netip.ParseAddrPort(s.Headend)
	if err != nil || h.Port() == ctcpPort || h.Port() == 0 {
		return ""
	}
	p := strconv.Itoa(int(h.Port()))
	return "cTCP on TCP port " + p + ": to have Wireshark show the ESP inside, Decode As TCPENCAP (Analyze > Decode As..., field TCP port, value " +
		p + ", current TCPENCAP; tshark -d tcp.port==" + p + ",tcpencap)"
}
