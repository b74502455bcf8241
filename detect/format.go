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

// fmtDur is FormatDuration.
func fmtDur(ns int64) string { return FormatDuration(ns) }

// FormatDuration writes a duration in nanoseconds for reading, the one
// format of every duration in detect's sentences and in the reports: "350
// ms" below one second (whole milliseconds, truncated), "8.4 s" below one
// minute (tenths, rounded), then "2 min 5 s", "2 min", "1 h 3 min 20 s"
// (whole seconds, rounded; parts that are zero left out). A negative
// duration is written as 0 ms.
func FormatDuration(ns int64) string {
	if ns < 0 {
		ns = 0
	}
	if ns < second {
		return strconv.FormatInt(ns/1e6, 10) + " ms"
	}
	if s := strconv.FormatFloat(float64(ns)/1e9, 'f', 1, 64); ns < 60*second && s != "60.0" {
		return s + " s"
	}
	secs := (ns + second/2) / second
	h, m, sec := secs/3600, secs%3600/60, secs%60
	var parts []string
	if h > 0 {
		parts = append(parts, strconv.FormatInt(h, 10)+" h")
	}
	if m > 0 {
		parts = append(parts, strconv.FormatInt(m, 10)+" min")
	}
	if sec > 0 {
		parts = append(parts, strconv.FormatInt(sec, 10)+" s")
	}
	return strings.Join(parts, " ")
}

// DupAckExtent describes a run of duplicate ACKs by its whole extent, the
// same wherever one is shown: "64 duplicate ACKs, frames 2055-2190 over
// 8.4 s", "1 duplicate ACK, frame 2055". first and last are its first and
// last duplicate ACK (last 0 when unknown: "64 duplicate ACKs from frame
// 2055"), ns the time between them.
func DupAckExtent(count int, first, last uint64, ns int64) string {
	n := plural(count, "duplicate ACK")
	switch {
	case first == 0:
		return n
	case count <= 1 || last == first:
		return n + ", frame " + strconv.FormatUint(first, 10)
	case last == 0:
		return n + " from frame " + strconv.FormatUint(first, 10)
	}
	return n + ", frames " + strconv.FormatUint(first, 10) + "-" + strconv.FormatUint(last, 10) +
		" over " + FormatDuration(ns)
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
