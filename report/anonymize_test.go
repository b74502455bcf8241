package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

var testMapper = anon.NewMapper(anon.KeyFromString("report anonymize test"))

func TestAnonymizeText(t *testing.T) {
	m := testMapper
	v4 := func(s string) string { return m.Addr(netip.MustParseAddr(s)).String() }
	mac := func(b [6]byte, sep string) string {
		r := m.MAC(b)
		var parts []string
		for _, x := range r {
			parts = append(parts, fmt.Sprintf("%02x", x))
		}
		return strings.Join(parts, sep)
	}
	for _, tc := range []struct{ in, want string }{
		{"tshark 4.0.17 at 09:14:27 on 2024-05-01", "tshark 4.0.17 at 09:14:27 on 2024-05-01"},
		{"version 1.2.3.4.5 and 10.0.0.1234 and 256.1.1.1", "version 1.2.3.4.5 and 10.0.0.1234 and 256.1.1.1"},
		{"cTCP 192.168.1.23:52739 -> 203.0.113.10:10000", "cTCP " + v4("192.168.1.23") + ":52739 -> " + v4("203.0.113.10") + ":10000"},
		{"the headend 203.0.113.10.", "the headend " + v4("203.0.113.10") + "."},
		{"host 203.0.113.10 eq 10000", "host " + v4("203.0.113.10") + " eq 10000"},
		{"[2001:db8::1]:4500", "[" + v4("2001:db8::1") + "]:4500"},
		{"ipv6.addr eq 2001:0db8:0000:0000:0000:0000:0000:0002 && esp", "ipv6.addr eq " + v4("2001:db8::2") + " && esp"},
		{"::ffff:192.0.2.1 and fe80::", v4("::ffff:192.0.2.1") + " and " + v4("fe80::")},
		{"mapped ::ffff:192.0.2.1 equals 192.0.2.1", "mapped ::ffff:" + v4("192.0.2.1") + " equals " + v4("192.0.2.1")},
		{"gw 2001:db8::1: down", "gw " + v4("2001:db8::1") + ": down"},
		{"mac 00:1b:54:0a:0b:0c or 00-1B-54-0A-0B-0C", "mac " + mac([6]byte{0, 0x1b, 0x54, 0xa, 0xb, 0xc}, ":") + " or " + mac([6]byte{0, 0x1b, 0x54, 0xa, 0xb, 0xc}, "-")},
		{"0.0.0.0 and 255.255.255.255 stay", "0.0.0.0 and 255.255.255.255 stay"},
		{"no address: a:b", "no address: a:b"},
		{"shared space (RFC 6598, 100.64.0.0/10) and fc00::/7", "shared space (RFC 6598, 100.64.0.0/10) and fc00::/7"},
		{"subnet 198.51.100.0/24", "subnet " + v4("198.51.100.0") + "/24"},
	} {
		if got := AnonymizeText(tc.in, m); got != tc.want {
			t.Errorf("AnonymizeText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestSensitiveFields pins the field rules: only the capture path is
// special today; a field added later whose name says it holds a host name
// or an identity is dropped.
func TestSensitiveFields(t *testing.T) {
	var got []string
	var walk func(reflect.Type, map[reflect.Type]bool)
	walk = func(typ reflect.Type, seen map[reflect.Type]bool) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if r := sensitiveField(typ, f); r != "" {
				got = append(got, typ.Name()+"."+f.Name+"="+r)
			}
			walk(f.Type, seen)
		}
	}
	walk(reflect.TypeFor[Report](), map[reflect.Type]bool{})
	if want := []string{"Capture.Path=base"}; !reflect.DeepEqual(got, want) {
		t.Errorf("field rules %v, want %v", got, want)
	}
	type future struct {
		ServerName string `json:"sni"`
		IKEID      string `json:"ike_identity"`
		PeerHost   string `json:"peer_host"`
	}
	typ := reflect.TypeFor[future]()
	for i := range typ.NumField() {
		if r := sensitiveField(typ, typ.Field(i)); r != "drop" {
			t.Errorf("%s: rule %q, want drop", typ.Field(i).Name, r)
		}
	}
}

func TestAnonymizeDeepCopy(t *testing.T) {
	c, r := affectedCase()
	c.Path = "/home/someone/cases/10.1.2.3/cap.pcap"
	c.Warnings = []string{"frame 7 from 198.51.100.7 cut short"}
	rep := Build(c, r, testTool)
	before := Anonymize(rep, anon.NewMapper([]byte("x"))) // warm: must not touch rep
	_ = before
	orig := Build(c, r, testTool)
	if !cmp.Equal(rep, orig) {
		t.Fatal("Anonymize modified its input")
	}
	a := Anonymize(rep, testMapper)
	if a.Capture.Path != "cap.pcap" {
		t.Errorf("path %q, want the base name", a.Capture.Path)
	}
	if a.Verdict != rep.Verdict || len(a.Findings) != len(rep.Findings) || !reflect.DeepEqual(a.Listing, rep.Listing) {
		t.Error("verdict, findings or listing changed")
	}
	var text, js bytes.Buffer
	if err := WriteText(&text, a, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, a, JSONOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"198.51.100.7", "198.51.100.8", "203.0.113.10", "2001:db8::1", "2001:db8::2", "someone"} {
		for _, out := range []string{text.String(), js.String()} {
			if strings.Contains(out, s) {
				t.Errorf("%s left in the anonymized report", s)
			}
		}
	}
}

// TestAnonymizeCaptures anonymizes the report of every committed sample and
// every public capture and checks that no original address is left in the
// text or JSON rendering, in any spelling, and that the judgement is the
// same.
func TestAnonymizeCaptures(t *testing.T) {
	root := testcaps.RepoRoot(t)
	var paths []string
	samples, _ := filepath.Glob(filepath.Join(root, "samples", "*.pcap*"))
	paths = append(paths, samples...)
	if d := filepath.Join(root, "..", "shared", "captures", "public"); dirExists(d) {
		pub, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, p := range pub {
			if b := filepath.Base(p); b != "MANIFEST.tsv" && !strings.HasSuffix(b, ".md") {
				paths = append(paths, p)
			}
		}
	} else {
		t.Log("public captures not found at ../shared/captures/public relative to the repository: only the samples are checked")
	}
	if len(samples) == 0 {
		t.Fatal("no samples found")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			c, err := analyze.File(path, analyze.Options{})
			if err != nil {
				t.Skipf("not analyzable: %v", err)
			}
			res, err := detect.Run(c, detect.Config{})
			if err != nil {
				res = nil
			}
			rep := Build(c, res, testTool)
			a := Anonymize(rep, testMapper)
			if a.Verdict != rep.Verdict {
				t.Errorf("verdict %s, want %s", a.Verdict, rep.Verdict)
			}
			if len(a.Findings) != len(rep.Findings) || len(a.Sessions) != len(rep.Sessions) {
				t.Fatal("findings or sessions changed")
			}
			for i := range a.Findings {
				if a.Findings[i].ID != rep.Findings[i].ID || !reflect.DeepEqual(a.Findings[i].Frames, rep.Findings[i].Frames) {
					t.Errorf("finding %d changed", i)
				}
			}
			var text, js bytes.Buffer
			if err := WriteText(&text, a, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, a, JSONOptions{}); err != nil {
				t.Fatal(err)
			}
			addrs := captureAddrs(t, path, c)
			// The check must be able to fail: the plain report names the
			// sessions' addresses.
			var plain bytes.Buffer
			if err := WriteJSON(&plain, rep, JSONOptions{}); err != nil {
				t.Fatal(err)
			}
			if len(c.Sessions) > 0 {
				a := c.Sessions[0].Client.Addr().Unmap()
				if !anon.Kept(a) && !containsToken(plain.String(), a.String()) {
					t.Errorf("plain report lacks %s: the leak check cannot work", a)
				}
			}
			for a := range addrs {
				if anon.Kept(a) {
					continue // left as it is by design (0.0.0.0, 127.0.0.1, ...)
				}
				for _, form := range addrForms(a) {
					for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
						if containsToken(out, form) {
							t.Errorf("%s report still holds %s (%s)", name, form, a)
						}
					}
				}
			}
		})
	}
}

func dirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}

// captureAddrs returns every IP address of the capture: the sessions'
// endpoints and the source and destination of every decoded frame.
func captureAddrs(t *testing.T, path string, c *analyze.Capture) map[netip.Addr]bool {
	t.Helper()
	addrs := map[netip.Addr]bool{}
	for _, s := range c.Sessions {
		addrs[s.Client.Addr().Unmap()] = true
		addrs[s.Headend.Addr().Unmap()] = true
	}
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var p decode.Packet
	for src.Next() {
		info := src.Info()
		p.Frame, p.Time, p.CapLen, p.OrigLen = info.Frame, info.Time, info.CapLen, info.OrigLen
		dec.Decode(src.Data(), info.LinkType, &p)
		if p.Src.IsValid() {
			addrs[p.Src.Unmap()] = true
		}
		if p.Dst.IsValid() {
			addrs[p.Dst.Unmap()] = true
		}
	}
	delete(addrs, netip.Addr{})
	return addrs
}

// addrForms lists the textual spellings of a: dotted quad (and its
// IPv4-mapped IPv6 form) for IPv4; compressed and fully expanded for
// IPv6.
func addrForms(a netip.Addr) []string {
	if a.Is4() {
		return []string{a.String(), "::ffff:" + a.String()}
	}
	return []string{a.String(), a.StringExpanded()}
}

// containsToken reports whether form occurs in s as a whole token: not
// continued by further digits, hex digits, dots or colons on either side
// (so 10.0.0.1 is not found in 110.0.0.15).
func containsToken(s, form string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], form)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(form)
		before := i > 0 && (isHex(s[i-1]) || s[i-1] == ':' || s[i-1] == '.' && i >= 2 && isDigit(s[i-2]))
		after := j < len(s) && (isHex(s[j]) || s[j] == ':' && strings.Contains(form, ":") || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]))
		if !before && !after {
			return true
		}
		off = i + 1
	}
}
