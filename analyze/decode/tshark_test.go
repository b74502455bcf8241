package decode

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// tsharkFields are the fields TestAgainstTshark asks tshark for, in order.
var tsharkFields = []string{
	"frame.number", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
	"udp.srcport", "udp.dstport", "esp.spi", "icmp.type", "icmpv6.type",
	"ip.ttl", "ip.id", "ip.flags.df", "ipv6.hlim", "tcp.options.timestamp.tsval",
}

// tsharkFrame holds the last value of each field (the innermost or
// ICMP-quoted header when a frame has several).
type tsharkFrame map[string]string

func (f tsharkFrame) has(k string) bool { return f[k] != "" }

func (f tsharkFrame) uint(k string) uint64 {
	v := f[k]
	base := 10
	if strings.HasPrefix(v, "0x") {
		v, base = v[2:], 16
	}
	n, _ := strconv.ParseUint(v, base, 64)
	return n
}

// runTshark returns tshark's view of every frame of path, keyed by frame
// number. IP reassembly is off so that tshark reports the transport of a
// fragmented datagram on its first fragment, as Decode does.
func runTshark(t *testing.T, path string) map[int]tsharkFrame {
	args := []string{"-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-T", "fields"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil && len(out) == 0 {
		t.Skipf("tshark cannot read %s: %v", filepath.Base(path), err)
	}
	frames := map[int]tsharkFrame{}
	for _, line := range readLines(out) {
		cols := strings.Split(line, "\t")
		f := tsharkFrame{}
		for i, name := range tsharkFields {
			if i < len(cols) {
				v := cols[i]
				if j := strings.LastIndexByte(v, ','); j >= 0 {
					v = v[j+1:]
				}
				f[name] = v
			}
		}
		n, err := strconv.Atoi(f["frame.number"])
		if err != nil {
			continue
		}
		frames[n] = f
	}
	return frames
}

// compareFrame returns a description of how p (decoded with error err)
// differs from tshark's view of the same frame, or "": its transport
// header and, where both have it, the innermost IP header's TTL (hop
// limit), identification and Don't Fragment flag and the presence of the
// TCP timestamp option.
func compareFrame(p *Packet, err error, ts tsharkFrame) string {
	if diff := compareTransport(p, err, ts); diff != "" || err != nil || !p.HasTransport {
		return diff
	}
	return compareIP(p, ts)
}

// compareIP compares the IP fingerprint fields of p, whose transport
// agrees with tshark's, with tshark's last (innermost or ICMP-quoted)
// values. The timestamp option is compared outside ICMP errors only: a
// frame with a TCP header and a quoted one lists their options' fields
// together, and which header they belong to cannot be told.
func compareIP(p *Packet, ts tsharkFrame) string {
	switch {
	case p.IPVersion == 4 && ts.has("ip.ttl"):
		if uint64(p.TTL) != ts.uint("ip.ttl") || uint64(p.IPID) != ts.uint("ip.id") || p.DF != (ts["ip.flags.df"] == "1") {
			return fmt.Sprintf("IPv4 ttl %s id %s df %s, got ttl %d id %#04x df %v",
				ts["ip.ttl"], ts["ip.id"], ts["ip.flags.df"], p.TTL, p.IPID, p.DF)
		}
	case p.IPVersion == 6 && ts.has("ipv6.hlim"):
		if uint64(p.TTL) != ts.uint("ipv6.hlim") {
			return fmt.Sprintf("IPv6 hop limit %s, got %d", ts["ipv6.hlim"], p.TTL)
		}
	}
	if p.Proto == ProtoTCP && !p.InError && p.HasTS != ts.has("tcp.options.timestamp.tsval") {
		return fmt.Sprintf("TCP timestamp option %v, got %v", ts.has("tcp.options.timestamp.tsval"), p.HasTS)
	}
	return ""
}

// compareTransport compares the transport header of p (decoded with
// error err) with tshark's.
func compareTransport(p *Packet, err error, ts tsharkFrame) string {
	got := func() string {
		if err != nil {
			return "error " + err.Error()
		}
		return fmt.Sprintf("proto %d transport %v ports %d>%d seq %d ack %d len %d inerror %v",
			p.Proto, p.HasTransport, p.SrcPort, p.DstPort, p.Seq, p.Ack, p.PayloadLen, p.InError)
	}
	switch {
	case ts.has("tcp.srcport") && ts.has("tcp.seq_raw"):
		if err != nil || !p.HasTransport || p.Proto != ProtoTCP {
			return "tshark has TCP, got " + got()
		}
		if uint64(p.SrcPort) != ts.uint("tcp.srcport") || uint64(p.DstPort) != ts.uint("tcp.dstport") ||
			uint64(p.Seq) != ts.uint("tcp.seq_raw") {
			return fmt.Sprintf("TCP %s>%s seq %s, got %s", ts["tcp.srcport"], ts["tcp.dstport"], ts["tcp.seq_raw"], got())
		}
		if ts.has("tcp.ack_raw") && uint64(p.Ack) != ts.uint("tcp.ack_raw") {
			return fmt.Sprintf("TCP ack %s, got %s", ts["tcp.ack_raw"], got())
		}
		if !p.InError && ts.has("tcp.len") && uint64(p.PayloadLen) != ts.uint("tcp.len") {
			return fmt.Sprintf("TCP len %s, got %s", ts["tcp.len"], got())
		}
	case ts.has("tcp.srcport"):
		// tshark stopped inside a bogus TCP header: nothing to compare
		// beyond the ports, when we have them.
		if err == nil && p.HasTransport && p.Proto == ProtoTCP &&
			(uint64(p.SrcPort) != ts.uint("tcp.srcport") || uint64(p.DstPort) != ts.uint("tcp.dstport")) {
			return fmt.Sprintf("TCP %s>%s, got %s", ts["tcp.srcport"], ts["tcp.dstport"], got())
		}
	case ts.has("udp.srcport"):
		if err != nil || !p.HasTransport || p.Proto != ProtoUDP {
			return "tshark has UDP, got " + got()
		}
		if uint64(p.SrcPort) != ts.uint("udp.srcport") || uint64(p.DstPort) != ts.uint("udp.dstport") {
			return fmt.Sprintf("UDP %s>%s, got %s", ts["udp.srcport"], ts["udp.dstport"], got())
		}
	case ts.has("esp.spi"):
		if err != nil || !p.HasTransport || p.Proto != ProtoESP || len(p.Payload) < 8 {
			return "tshark has ESP, got " + got()
		}
		if spi := binary.BigEndian.Uint32(p.Payload); uint64(spi) != ts.uint("esp.spi") {
			return fmt.Sprintf("ESP SPI %s, got %#x", ts["esp.spi"], spi)
		}
	default:
		if err == nil && p.HasTransport && (p.Proto == ProtoTCP || p.Proto == ProtoUDP) {
			return "tshark has no transport, got " + got()
		}
	}
	if p.HasTransport && p.Proto == ProtoUDP && ts.has("tcp.srcport") {
		return "tshark has TCP inside UDP, got " + got()
	}
	return ""
}

// knownDifferences lists captures where Decode is known to disagree with
// tshark, with the number of frames and the reason.
var knownDifferences = map[string]struct {
	frames int
	why    string
}{}

// TestAgainstTshark decodes every frame of every public capture that
// tshark reads (a representative subset of them unless
// testcaps.Exhaustive) and compares the transport header with tshark's.
func TestAgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs tshark over the public captures")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: skipping the comparison with tshark")
	}
	var readable []testcaps.Entry
	for _, row := range testcaps.Manifest(t) {
		if row.Status() == "ok" {
			readable = append(readable, row)
		}
	}
	for _, row := range testcaps.Representative(t, readable) {
		t.Run(row.Name, func(t *testing.T) {
			t.Parallel()
			path := row.Path
			frames, err := readCapture(path)
			if err != nil {
				t.Logf("reading stopped after %d frames: %v", len(frames), err)
			}
			want := runTshark(t, path)
			d := NewDecoder()
			var p Packet
			bad := 0
			for _, f := range frames {
				err := decodeFrame(d, f, &p)
				ts, ok := want[f.num]
				if !ok {
					continue
				}
				if diff := compareFrame(&p, err, ts); diff != "" {
					bad++
					if bad <= 5 {
						t.Logf("frame %d: %s", f.num, diff)
					}
				}
			}
			if known, ok := knownDifferences[row.Name]; ok {
				if bad != known.frames {
					t.Errorf("%d frames disagree with tshark, want %d (%s)", bad, known.frames, known.why)
				}
				return
			}
			if bad > 0 {
				t.Errorf("%d of %d frames disagree with tshark", bad, len(frames))
			}
		})
	}
}
