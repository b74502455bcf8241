package rewrite_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
	"github.com/ctcpdiag/ctcpdiag/report"
)

var mapper = anon.NewMapper(anon.KeyFromString("rewrite test"))

// captures lists the committed samples and, when present, the public
// captures.
func captures(t *testing.T) []string {
	root := testcaps.RepoRoot(t)
	paths, _ := filepath.Glob(filepath.Join(root, "samples", "*.pcap*"))
	if len(paths) == 0 {
		t.Fatal("no samples found")
	}
	d := filepath.Join(root, "..", "shared", "captures", "public")
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Log("public captures not found at ../shared/captures/public relative to the repository: only the samples are checked")
		return paths
	}
	pub, _ := filepath.Glob(filepath.Join(d, "*"))
	for _, p := range pub {
		if b := filepath.Base(p); b != "MANIFEST.tsv" && !strings.HasSuffix(b, ".md") {
			paths = append(paths, p)
		}
	}
	return paths
}

// ipcomp names the captures holding IPComp packets: the copy keeps only
// the IPComp header (the compressed inner packet would reveal its
// addresses), so the analysis of the copy sees those packets without
// their inner transport. Only the frame and leak checks apply to them.
var ipcomp = map[string]bool{"libpcap__AH-IPcomp-IPv4.pcap": true}

// coincidences are byte patterns that a capture's kept non-address
// fields hold by themselves, per capture (addresses as IPv4 text, MACs as
// 12 hex digits): the fuzzer that made ndpi__fuzz-2006-09-29-28586.pcap
// filled headers with 0xaa, so ports and sequence numbers read
// aa aa aa aa, the bytes of its (mapped) address 170.170.170.170; the
// crafted tcpdump__tcp_header_heapoverflow.pcap is made of "0" (0x30)
// bytes, in its ports and options as in its addresses.
var coincidences = map[string]map[string]bool{
	"ndpi__fuzz-2006-09-29-28586.pcap":      {"170.170.170.170": true},
	"tcpdump__tcp_header_heapoverflow.pcap": {"48.48.48.48": true, "303030303030": true},
}

func build(t *testing.T, c *analyze.Capture) *report.Report {
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		res = nil
	}
	return report.Build(c, res, report.Tool{Name: "ctcpdiag", Version: "test"})
}

// TestAnonymizeCaptures anonymizes every sample and public capture and
// checks the copy: its frames, its analysis, that no address is left, and
// (where tshark is installed) that tshark's TCP analysis of it is the
// original's, on the samples and on a representative subset of the public
// captures unless testcaps.Exhaustive (tshark runs twice per file).
func TestAnonymizeCaptures(t *testing.T) {
	paths := captures(t)
	if _, err := exec.LookPath("tshark"); err == nil && !testcaps.Exhaustive() {
		n := 0
		for _, p := range paths {
			if !isSample(p) && !testcaps.IsRepresentative(t, filepath.Base(p)) {
				n++
			}
		}
		t.Logf("tshark compares the copy with the original on the samples and the representative public captures; %s=1 adds the other %d", testcaps.ExhaustiveEnv, n)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			orig, err := analyze.File(path, analyze.Options{})
			if err != nil {
				t.Skipf("not analyzable: %v", err)
			}
			var out bytes.Buffer
			st, err := rewrite.AnonymizeFile(path, &out, mapper)
			var ie *capfile.InputError
			if err != nil && !errorsAs(err, &ie) {
				t.Fatal(err)
			}
			if st.Frames != orig.Packets {
				t.Errorf("wrote %d frames, the original has %d", st.Frames, orig.Packets)
			}
			got, err := analyze.Reader(bytes.NewReader(out.Bytes()), "anon.pcapng", analyze.Options{})
			if err != nil {
				t.Fatalf("analyzing the copy: %v", err)
			}
			if got.Packets != orig.Packets {
				t.Errorf("copy has %d frames, original %d", got.Packets, orig.Packets)
			}
			checkFrames(t, path, out.Bytes())
			if !ipcomp[filepath.Base(path)] {
				want := report.Anonymize(build(t, orig), mapper)
				have := build(t, got)
				opts := cmp.Options{
					cmpopts.IgnoreFields(report.Capture{}, "Path", "SHA256", "Size", "Format", "Compression", "Warnings"),
					cmpopts.EquateEmpty(),
				}
				if d := cmp.Diff(want, have, opts); d != "" {
					t.Errorf("analysis of the copy differs from the original's (-want +got):\n%s", d)
				}
			}
			checkNoLeak(t, path, out.Bytes())
			if isSample(path) || testcaps.IsRepresentative(t, filepath.Base(path)) {
				checkTshark(t, path, out.Bytes())
			}
		})
	}
}

// isSample reports whether path is one of the committed samples (in
// samples/ under the repository root).
func isSample(path string) bool {
	return filepath.Base(filepath.Dir(path)) == "samples"
}

func errorsAs(err error, ie **capfile.InputError) bool {
	e, ok := err.(*capfile.InputError)
	if ok {
		*ie = e
	}
	return ok
}

// checkFrames compares frame numbers, times, lengths and link types of
// the original and the copy.
func checkFrames(t *testing.T, path string, out []byte) {
	t.Helper()
	a, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := capfile.New(bytes.NewReader(out), "copy")
	if err != nil {
		t.Fatal(err)
	}
	for a.Next() {
		if !b.Next() {
			t.Fatalf("copy ends before frame %d: %v", a.Info().Frame, b.Err())
		}
		ia, ib := a.Info(), b.Info()
		ib.Iface = ia.Iface // interfaces are renumbered in order of use
		if ia.Time < 0 {
			ia.Time = 0
		}
		if ia != ib {
			t.Fatalf("frame %+v became %+v", ia, ib)
		}
	}
	if b.Next() {
		t.Fatalf("copy has more frames (frame %d)", b.Info().Frame)
	}
	if b.Err() != nil || b.Frames() != a.Frames() {
		t.Fatalf("copy: %d frame numbers, err %v; original %d", b.Frames(), b.Err(), a.Frames())
	}
}

// originalAddrs collects the original's addresses independently of the
// rewriter: gopacket's full decoding (every IPv4, IPv6, Ethernet, ARP,
// 802.11 and Linux cooked layer it finds, tunnels included) and our
// decoder's innermost addresses (ICMP-quoted headers included).
func originalAddrs(t *testing.T, path string) (ips map[netip.Addr]bool, macs map[[6]byte]bool) {
	ips, macs = map[netip.Addr]bool{}, map[[6]byte]bool{}
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var p decode.Packet
	addIP := func(b []byte) {
		if a, ok := netip.AddrFromSlice(b); ok {
			ips[a.Unmap()] = true
		}
	}
	addMAC := func(b []byte) {
		if len(b) == 6 {
			macs[[6]byte(b)] = true
		}
	}
	for src.Next() {
		info := src.Info()
		data := src.Data()
		p.OrigLen, p.CapLen = info.OrigLen, info.CapLen
		dec.Decode(data, info.LinkType, &p)
		if p.Src.IsValid() {
			ips[p.Src.Unmap()] = true
			ips[p.Dst.Unmap()] = true
		}
		pkt := gopacket.NewPacket(data, layers.LinkType(info.LinkType), gopacket.DecodeOptions{Lazy: false, NoCopy: true})
		for _, l := range pkt.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				addIP(l.SrcIP)
				addIP(l.DstIP)
			case *layers.IPv6:
				addIP(l.SrcIP)
				addIP(l.DstIP)
			case *layers.Ethernet:
				addMAC(l.SrcMAC)
				addMAC(l.DstMAC)
			case *layers.ARP:
				addMAC(l.SourceHwAddress)
				addMAC(l.DstHwAddress)
				addIP(l.SourceProtAddress)
				addIP(l.DstProtAddress)
			case *layers.Dot11:
				addMAC(l.Address1)
				addMAC(l.Address2)
				addMAC(l.Address3)
				addMAC(l.Address4)
			case *layers.LinuxSLL:
				if l.AddrLen == 6 {
					addMAC(l.Addr)
				}
			}
		}
	}
	return ips, macs
}

// checkNoLeak searches the copy for the bytes of every original address.
// Exclusions, by design: addresses the mapping keeps (anon.Kept:
// 0.0.0.0, 127.0.0.1, 255.255.255.255, ::, ::1; the broadcast and
// all-zero MACs); a mapped address that happens to equal another
// original address (reported as a collision only if the mapping is not a
// pseudonym of something in the capture).
func checkNoLeak(t *testing.T, path string, out []byte) {
	t.Helper()
	ips, macs := originalAddrs(t, path)
	mappedIPs := map[netip.Addr]bool{}
	for a := range ips {
		mappedIPs[mapper.Addr(a)] = true
	}
	mappedMACs := map[[6]byte]bool{}
	for m := range macs {
		mappedMACs[mapper.MAC(m)] = true
	}
	packets := packetBytes(t, out)
	orig := framesOf(t, path)
	for a := range ips {
		if anon.Kept(a) || mappedIPs[a] || coincidences[filepath.Base(path)][a.String()] {
			continue
		}
		var pat []byte
		if a.Is4() {
			b := a.As4()
			pat = b[:]
		} else {
			b := a.As16()
			pat = b[:]
		}
		if n := countIn(packets, orig, pat); n > 0 {
			t.Errorf("%s still appears %d times in the copy", a, n)
		}
	}
	for m := range macs {
		if m == [6]byte{} || m == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} || mappedMACs[m] || coincidences[filepath.Base(path)][fmt.Sprintf("%x", m[:])] {
			continue
		}
		if n := countIn(packets, orig, m[:]); n > 0 {
			t.Errorf("MAC %x still appears %d times in the copy", m, n)
		}
	}
}

// packetBytes returns the packet data of every frame of a capture.
func packetBytes(t *testing.T, out []byte) [][]byte {
	src, err := capfile.New(bytes.NewReader(out), "copy")
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	for src.Next() {
		all = append(all, bytes.Clone(src.Data()))
	}
	return all
}

// countIn counts the places where pat occurs in a frame of the copy and,
// at the same offset, in the same frame of the original: a pattern the
// rewriting produced by chance (a checksum next to an option) is not a
// leak.
func countIn(frames, orig [][]byte, pat []byte) int {
	n := 0
	for k, f := range frames {
		for off := 0; ; {
			i := bytes.Index(f[off:], pat)
			if i < 0 {
				break
			}
			i += off
			if k < len(orig) && i+len(pat) <= len(orig[k]) && bytes.Equal(orig[k][i:i+len(pat)], pat) {
				n++
			}
			off = i + 1
		}
	}
	return n
}

// framesOf returns the packet data of every frame of the capture at path.
func framesOf(t *testing.T, path string) [][]byte {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var all [][]byte
	for src.Next() {
		all = append(all, bytes.Clone(src.Data()))
	}
	return all
}
