package report_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// TestDecodeAs checks the Decode As hint: given for cTCP on a port other
// than 10000 only, and, where tshark is installed, that its -d option
// makes tshark 4.0 show the ESP inside on ctcp-port-8000.pcap without the
// TCPENCAP heuristic (ipsec_tcp), which alone shows none.
func TestDecodeAs(t *testing.T) {
	for _, tc := range []struct {
		s    report.Session
		want string
	}{
		{report.Session{Protocol: "tcp", Transport: "ctcp", Headend: "203.0.113.10:8000"}, "tshark -d tcp.port==8000,tcpencap"},
		{report.Session{Protocol: "tcp", Transport: "ctcp", Headend: "[2001:db8::1]:443"}, "value 443, current TCPENCAP"},
		{report.Session{Protocol: "tcp", Transport: "ctcp", Headend: "203.0.113.10:10000"}, ""},
		{report.Session{Protocol: "tcp", Transport: "ike-tcp", Headend: "203.0.113.10:4500"}, ""},
		{report.Session{Protocol: "udp", Transport: "nat-t", Headend: "203.0.113.10:4500"}, ""},
	} {
		got := report.DecodeAs(&tc.s)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}

	path := filepath.Join("..", "samples", "ctcp-port-8000.pcap")
	c, err := analyze.File(path, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(c, res, report.Tool{Name: "ctcpdiag", Version: "test"})
	var hint string
	for i := range rep.Sessions {
		if d := report.DecodeAs(&rep.Sessions[i]); d != "" {
			hint = d
		}
	}
	var md bytes.Buffer
	if err := report.WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if hint == "" || !strings.Contains(md.String(), "tcp.port==8000,tcpencap") {
		t.Fatalf("no Decode As hint for cTCP on port 8000 (%q)", hint)
	}
	m := regexp.MustCompile(`tshark (-d \S+)\)$`).FindStringSubmatch(hint)
	if m == nil {
		t.Fatalf("hint %q gives no tshark option", hint)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: the Decode As hint is not tried")
	}
	esp := func(args ...string) int {
		out, err := exec.Command(tshark, append([]string{"-r", path, "--disable-heuristic", "ipsec_tcp", "-Y", "esp", "-T", "fields", "-e", "frame.number"}, args...)...).Output()
		if err != nil {
			t.Fatalf("tshark %v: %v", args, err)
		}
		return strings.Count(string(out), "\n")
	}
	opt := strings.Fields(m[1])
	if n := esp(); n != 0 {
		t.Errorf("tshark shows %d ESP frames without the heuristic and without Decode As", n)
	}
	if n := esp(opt...); n < 100 {
		t.Errorf("tshark %s shows %d ESP frames, want the session's ESP (more than 100)", m[1], n)
	}
}

func TestConversationFilter(t *testing.T) {
	for _, tc := range []struct {
		proto, client, headend, want string
	}{
		{"tcp", "192.168.1.23:52739", "203.0.113.10:10000", "ip.addr == 192.168.1.23 && tcp.port == 52739 && ip.addr == 203.0.113.10 && tcp.port == 10000"},
		{"udp", "[2001:db8::1]:500", "[2001:db8::2]:500", "ipv6.addr == 2001:db8::1 && udp.port == 500 && ipv6.addr == 2001:db8::2 && udp.port == 500"},
		{"esp", "198.51.100.7", "203.0.113.10", "ip.addr == 198.51.100.7 && ip.addr == 203.0.113.10 && esp"},
		{"tcp", "x", "203.0.113.10:10000", ""},
		{"icmp", "198.51.100.7:1", "203.0.113.10:1", ""},
	} {
		if got := report.ConversationFilterOf(tc.proto, tc.client, tc.headend); got != tc.want {
			t.Errorf("%s %s %s: %q, want %q", tc.proto, tc.client, tc.headend, got, tc.want)
		}
	}
}
