package report

import (
	"net/netip"
	"strconv"
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
	if s.Protocol == "esp" {
		a, errA := netip.ParseAddr(s.Client)
		b, errB := netip.ParseAddr(s.Headend)
		if errA != nil || errB != nil {
			return ""
		}
		ip := ipField(a)
		return ip + " == " + a.Unmap().String() + " && " + ip + " == " + b.Unmap().String() + " && esp"
	}
	if s.Protocol != "tcp" && s.Protocol != "udp" {
		return ""
	}
	a, errA := netip.ParseAddrPort(s.Client)
	b, errB := netip.ParseAddrPort(s.Headend)
	if errA != nil || errB != nil {
		return ""
	}
	ip, port := ipField(a.Addr()), s.Protocol+".port"
	return ip + " == " + a.Addr().Unmap().String() + " && " + port + " == " + strconv.Itoa(int(a.Port())) +
		" && " + ip + " == " + b.Addr().Unmap().String() + " && " + port + " == " + strconv.Itoa(int(b.Port()))
}

func ipField(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "ip.addr"
	}
	return "ipv6.addr"
}
