package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// maxFindingFrames caps Finding.Frames.
const maxFindingFrames = 64

// second is one second in nanoseconds (capture timestamps are ns).
const second = int64(1e9)

// fmtDur formats a duration in nanoseconds for a summary: "41.2 s", or
// "350 ms" below one second.
func fmtDur(ns int64) string {
	if ns < 0 {
		ns = 0
	}
	if ns < second {
		return strconv.FormatInt(ns/1e6, 10) + " ms"
	}
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 1, 64) + " s"
}

// fmtPercent formats a rate in [0, 1] as a percentage with two decimals.
func fmtPercent(r float64) string {
	return strconv.FormatFloat(r*100, 'f', 2, 64) + " %"
}

// plural returns n and the noun, with an "s" unless n is 1.
func plural[T int | int64 | uint64](n T, noun string) string {
	var num string
	if n < 0 {
		num = strconv.FormatInt(int64(n), 10)
	} else {
		num = strconv.FormatUint(uint64(n), 10)
	}
	if n == 1 {
		return num + " " + noun
	}
	return num + " " + noun + "s"
}

// frameSpan formats a sorted frame list as "112" or "112-130".
func frameSpan(frames []uint64) string {
	switch len(frames) {
	case 0:
		return "none"
	case 1:
		return strconv.FormatUint(frames[0], 10)
	}
	return strconv.FormatUint(frames[0], 10) + "-" + strconv.FormatUint(frames[len(frames)-1], 10)
}

// evidenceFrames returns the non-zero frames, sorted ascending without
// duplicates and capped at maxFindingFrames. It does not modify frames.
func evidenceFrames(frames ...uint64) []uint64 {
	out := make([]uint64, 0, len(frames))
	for _, f := range frames {
		if f != 0 {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxFindingFrames {
		out = out[:maxFindingFrames:maxFindingFrames]
	}
	return out
}

// framesFilter returns a display filter matching exactly the given frames.
func framesFilter(frames []uint64) string {
	if len(frames) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("frame.number in {")
	for i, f := range frames {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(f, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// sessionFilter returns a display filter that selects the session's packets:
// tcp.stream / udp.stream where Wireshark numbers the flow, the two
// addresses otherwise.
func sessionFilter(s *analyze.Session) string {
	switch {
	case s.Proto == 6 && s.Stream >= 0:
		return "tcp.stream eq " + strconv.Itoa(s.Stream)
	case s.Proto == 17 && s.Stream >= 0:
		return "udp.stream eq " + strconv.Itoa(s.Stream)
	}
	f := addrPairFilter(s.Client.Addr(), s.Headend.Addr())
	switch s.Proto {
	case 50:
		return "esp && " + f
	case 6:
		return fmt.Sprintf("%s && tcp.port == %d && tcp.port == %d", f, s.Client.Port(), s.Headend.Port())
	case 17:
		return fmt.Sprintf("%s && udp.port == %d && udp.port == %d", f, s.Client.Port(), s.Headend.Port())
	}
	return f
}

// addrPairFilter matches packets between a and b.
func addrPairFilter(a, b netip.Addr) string {
	field := "ip.addr"
	if a.Is6() && !a.Is4In6() {
		field = "ipv6.addr"
	}
	return fmt.Sprintf("%s == %s && %s == %s", field, a.Unmap(), field, b.Unmap())
}

// streamsFilter selects several sessions; sessions must be non-empty.
func streamsFilter(sessions []*analyze.Session) string {
	var tcp, udp []string
	var other []string
	for _, s := range sessions {
		switch {
		case s.Proto == 6 && s.Stream >= 0:
			tcp = append(tcp, strconv.Itoa(s.Stream))
		case s.Proto == 17 && s.Stream >= 0:
			udp = append(udp, strconv.Itoa(s.Stream))
		default:
			other = append(other, "("+sessionFilter(s)+")")
		}
	}
	var parts []string
	if len(tcp) == 1 {
		parts = append(parts, "tcp.stream eq "+tcp[0])
	} else if len(tcp) > 1 {
		parts = append(parts, "tcp.stream in {"+strings.Join(tcp, " ")+"}")
	}
	if len(udp) == 1 {
		parts = append(parts, "udp.stream eq "+udp[0])
	} else if len(udp) > 1 {
		parts = append(parts, "udp.stream in {"+strings.Join(udp, " ")+"}")
	}
	parts = append(parts, other...)
	return strings.Join(parts, " || ")
}

// describeSession names a session for a sentence: "session 3 (cTCP
// 10.0.0.5:51000 -> 203.0.113.5:10000)".
func describeSession(s *analyze.Session) string {
	var buf [128]byte
	b := append(buf[:0], "session "...)
	b = strconv.AppendInt(b, int64(s.ID), 10)
	b = append(b, " ("...)
	b = append(b, s.Transport.Label()...)
	b = append(b, ' ')
	b = appendAddrPort(b, s.Client)
	b = append(b, " -> "...)
	b = appendAddrPort(b, s.Headend)
	return string(append(b, ')'))
}

// appendAddrPort appends ap.String() to b.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	if !ap.Addr().IsValid() {
		return append(b, ap.String()...)
	}
	return ap.AppendTo(b)
}

// isCTCP reports whether the session decides the verdict.
func isCTCP(s *analyze.Session) bool { return s.Transport == analyze.TransportCTCP }

// sessionEnd is the time of the session's last packet, bounded by the
// capture's end.
func sessionEnd(c *analyze.Capture, s *analyze.Session) int64 {
	end := s.LastTime
	if end == 0 || (c.End != 0 && c.End < end) {
		end = c.End
	}
	return end
}
