package samplegen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

func build(t *testing.T, s Scenario) []byte {
	t.Helper()
	b, err := s.Build()
	if err != nil {
		t.Fatalf("%s: build: %v", s.File, err)
	}
	return b
}

func TestScenariosUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		if seen[s.File] || seen[s.Name] {
			t.Errorf("duplicate scenario %s", s.File)
		}
		seen[s.File], seen[s.Name] = true, true
		switch s.Expect {
		case "affected", "at-risk", "healthy", "no-ctcp", "inconclusive":
		default:
			t.Errorf("%s: bad verdict %q", s.File, s.Expect)
		}
		if s.Doc == "" {
			t.Errorf("%s: no doc", s.File)
		}
	}
}

func TestDeterministic(t *testing.T) {
	total := 0
	for _, s := range Scenarios() {
		a, b := build(t, s), build(t, s)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", s.File)
		}
		if len(a) > 400<<10 {
			t.Errorf("%s: %d bytes, want a few hundred KB at most", s.File, len(a))
		}
		total += len(a)
	}
	if total > 2<<20 {
		t.Errorf("samples total %d bytes, want under 2 MB", total)
	}
}

func TestCommittedSamplesMatchGenerator(t *testing.T) {
	dir := testcaps.SamplesDir(t)
	if _, err := os.Stat(filepath.Join(dir, Scenarios()[0].File)); err != nil {
		t.Skipf("committed samples not found in %s: run go run ./samples/gen", dir)
	}
	for _, s := range Scenarios() {
		got, err := os.ReadFile(filepath.Join(dir, s.File))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if !bytes.Equal(got, build(t, s)) {
			t.Errorf("%s: committed file differs from the generator; run go run ./samples/gen", s.File)
		}
	}
}

// readAll decodes every packet of a pcap or pcapng file with gopacket. It
// reads the file format itself (pcapgo would need golang.org/x/net, which
// is not in go.sum) and reports whether the file ends inside a record.
func readAll(t *testing.T, name string, b []byte) (pkts []gopacket.Packet, truncated bool) {
	t.Helper()
	le := binary.LittleEndian
	add := func(data []byte, lt layers.LinkType, ts time.Time, caplen, length int) {
		p := gopacket.NewPacket(data, lt, gopacket.Default)
		md := p.Metadata()
		md.Timestamp, md.CaptureLength, md.Length = ts, caplen, length
		pkts = append(pkts, p)
	}
	if len(b) >= 4 && le.Uint32(b) == 0xa1b2c3d4 {
		lt := layers.LinkType(le.Uint32(b[20:]))
		for off := 24; off < len(b); {
			if off+16 > len(b) {
				return pkts, true
			}
			n := int(le.Uint32(b[off+8:]))
			if off+16+n > len(b) {
				return pkts, true
			}
			ts := time.Unix(int64(le.Uint32(b[off:])), int64(le.Uint32(b[off+4:]))*1000)
			add(b[off+16:off+16+n], lt, ts, n, int(le.Uint32(b[off+12:])))
			off += 16 + n
		}
		return pkts, false
	}
	if len(b) < 4 || le.Uint32(b) != 0x0a0d0d0a {
		t.Fatalf("%s: unknown format", name)
	}
	var lts []layers.LinkType
	for off := 0; off < len(b); {
		if off+12 > len(b) {
			return pkts, true
		}
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			return pkts, true
		}
		body := b[off+8 : off+n-4]
		switch typ {
		case 1:
			lts = append(lts, layers.LinkType(le.Uint16(body)))
		case 6:
			us := int64(le.Uint32(body[4:]))<<32 | int64(le.Uint32(body[8:]))
			c := int(le.Uint32(body[12:]))
			add(body[20:20+c], lts[le.Uint32(body)], time.UnixMicro(us), c, int(le.Uint32(body[16:])))
		}
		off += n
	}
	return pkts, false
}

func TestSamplesParseWithValidChecksums(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			pkts, truncated := readAll(t, s.File, build(t, s))
			if truncated != (s.Name == "ctcp-truncated") {
				t.Errorf("truncated = %v", truncated)
			}
			if len(pkts) < 50 {
				t.Errorf("only %d packets", len(pkts))
			}
			var last int64
			for i, p := range pkts {
				ci := p.Metadata().CaptureInfo
				if ns := ci.Timestamp.UnixNano(); ns < last {
					t.Errorf("frame %d: time goes backwards", i+1)
				} else {
					last = ns
				}
				if ci.CaptureLength < ci.Length {
					continue // cut by the snaplen: checksums cannot be checked
				}
				if err := checkPacket(p); err != nil {
					t.Errorf("frame %d: %v", i+1, err)
				}
			}
		})
	}
}

func checkPacket(p gopacket.Packet) error {
	if el := p.ErrorLayer(); el != nil {
		return fmt.Errorf("decode: %v", el.Error())
	}
	var nl gopacket.NetworkLayer
	if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		nl = ip4
		h := append([]byte(nil), ip4.Contents...)
		if csumFold(csumAdd(0, h)) != 0 {
			return errors.New("bad IPv4 header checksum")
		}
		if int(ip4.Length) != len(ip4.Contents)+len(ip4.Payload) {
			return errors.New("bad IPv4 total length")
		}
	} else if ip6, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		nl = ip6
	} else {
		return errors.New("no IP layer")
	}
	src, dst := nl.NetworkFlow().Endpoints()
	check := func(proto byte, seg []byte) error {
		sa, da := addrOf(src.Raw()), addrOf(dst.Raw())
		if csumFold(csumAdd(pseudoSum(sa, da, proto, len(seg)), seg)) != 0 {
			return fmt.Errorf("bad protocol %d checksum", proto)
		}
		return nil
	}
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return check(6, append(append([]byte(nil), tcp.Contents...), tcp.Payload...))
	}
	if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.Checksum != 0 {
		return check(17, append(append([]byte(nil), udp.Contents...), udp.Payload...))
	}
	return nil
}

func TestLargeDeterministicAndParses(t *testing.T) {
	var a, b bytes.Buffer
	if err := Large(&a, 20000, 7); err != nil {
		t.Fatal(err)
	}
	if err := Large(&b, 20000, 7); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("Large is not deterministic")
	}
	pkts, truncated := readAll(t, "large", a.Bytes())
	if truncated || len(pkts) != 20000 {
		t.Fatalf("got %d packets (truncated %v), want 20000", len(pkts), truncated)
	}
	for i, p := range pkts[:5000] {
		if err := checkPacket(p); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
	}
}

func BenchmarkLarge(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Large(io.Discard, 100000, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// tsharkFilters are counted by tsharkCounts, in this order.
var tsharkFilters = []string{
	"tcp.analysis.duplicate_ack",
	"tcp.analysis.retransmission",
	"tcp.analysis.fast_retransmission",
	"tcp.analysis.lost_segment",
	"tcpencap",
	"_ws.malformed || _ws.expert.severity == error",
}

// tsharkCounts runs tshark once on file and returns the number of frames
// matching each of tsharkFilters, and tshark's standard error.
func tsharkCounts(t *testing.T, file string) ([]int, string, error) {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", file, "-q", "-z", "io,stat,0,"+strings.Join(tsharkFilters, ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var row string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(l, "<>") {
			row = l
		}
	}
	var counts []int
	for i, f := range strings.Split(row, "|") {
		if i < 2 || i%2 == 1 {
			continue // interval column, byte columns
		}
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err == nil {
			counts = append(counts, n)
		}
	}
	if len(counts) != len(tsharkFilters) {
		t.Fatalf("cannot parse tshark output for %s: %q (stderr %s)", file, row, stderr.String())
	}
	return counts, stderr.String(), err
}

func TestTsharkAnalysis(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark")
	}
	type want struct {
		dupMin, dupMax    int // duplicate_ack range
		retrans, fastRetr int // exact counts
		lostMin, lostMax  int
		ctcpMin           int // frames Wireshark dissects as tcpencap
	}
	wants := map[string]want{
		"ctcp-proxy-stall":           {3, 3, 0, 0, 0, 0, 20},
		"ctcp-proxy-reset":           {3, 3, 0, 0, 0, 0, 20},
		"ctcp-healthy":               {0, 0, 0, 0, 0, 0, 20},
		"ctcp-loss-no-proxy":         {0, 0, 0, 0, 2, 2, 20},
		"tcp-dupack-answered":        {3, 1 << 20, 1, 1, 0, 0, 0},
		"natt":                       {0, 0, 0, 0, 0, 0, 0},
		"esp":                        {0, 0, 0, 0, 0, 0, 0},
		"ike-tcp-rfc8229":            {2, 3, 1, 1, 0, 0, 0},
		"ctcp-port-8000":             {3, 3, 0, 0, 0, 0, 0},
		"ctcp-two-interfaces-snap96": {3, 3, 0, 0, 1, 1, 0},
		"ctcp-truncated":             {3, 3, 0, 0, 0, 0, 20},
		"anyconnect":                 {0, 0, 0, 0, 0, 0, 0},
		"ctcp-oneway-stall":          {0, 0, 0, 0, 0, 0, 20},
		"ctcp-proxy-resegmented":     {0, 0, 0, 0, 0, 0, 20},
	}
	dir := t.TempDir()
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			w, ok := wants[s.Name]
			if !ok {
				t.Fatalf("no expectation for %s", s.Name)
			}
			f := filepath.Join(dir, s.File)
			if err := os.WriteFile(f, build(t, s), 0o644); err != nil {
				t.Fatal(err)
			}
			n, stderr, err := tsharkCounts(t, f)
			stderr = strings.ReplaceAll(stderr, "Running as user \"root\" and group \"root\". This could be dangerous.\n", "")
			if s.Name == "ctcp-truncated" {
				if !strings.Contains(stderr, "cut short") {
					t.Errorf("tshark did not report the cut: %v %s", err, stderr)
				}
			} else if err != nil || strings.TrimSpace(stderr) != "" {
				t.Errorf("tshark: %v %s", err, stderr)
			}
			if n[5] != 0 {
				t.Errorf("%d malformed or error frames", n[5])
			}
			if n[0] < w.dupMin || n[0] > w.dupMax {
				t.Errorf("duplicate_ack = %d, want %d..%d", n[0], w.dupMin, w.dupMax)
			}
			if n[1] != w.retrans {
				t.Errorf("retransmission = %d, want %d", n[1], w.retrans)
			}
			if n[2] != w.fastRetr {
				t.Errorf("fast_retransmission = %d, want %d", n[2], w.fastRetr)
			}
			if n[3] < w.lostMin || n[3] > w.lostMax {
				t.Errorf("lost_segment = %d, want %d..%d", n[3], w.lostMin, w.lostMax)
			}
			if n[4] < w.ctcpMin {
				t.Errorf("tcpencap frames = %d, want >= %d", n[4], w.ctcpMin)
			}
		})
	}
}

func addrOf(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}
