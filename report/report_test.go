package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var testTool = Tool{Name: "ctcpdiag", Version: "v0.0.0-test"}

// t0 is the start of the synthetic captures.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC).UnixNano()

func ms(n int64) int64 { return t0 + n*int64(time.Millisecond) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// affectedCase is a capture with one affected cTCP session, a NAT-T flow,
// an ESP flow, one lossy plain TCP session, an IPv6 session and clean TCP
// sessions that the text report only counts.
func affectedCase() (*analyze.Capture, *detect.Result) {
	ctcp := &analyze.Session{
		ID: 0, Stream: 0, Proto: 6, Transport: analyze.TransportCTCP,
		TransportWhy: "Cisco cTCP trailer on 40 of 40 segments", TransportSure: true,
		Client: ap("198.51.100.7:51234"), Headend: ap("203.0.113.10:10000"), ClientBy: "syn",
		FirstFrame: 1, LastFrame: 60, FirstTime: ms(0), LastTime: ms(95000), Packets: 48,
		Counts: analyze.TCPCounts{DupAcks: 4, LostSegments: 1},
	}
	run1 := analyze.DupAckRun{By: analyze.HeadendToClient, Ack: 14601, Count: 3, Frames: []uint64{25, 27, 29}, LastFrame: 29, FirstTime: ms(20000), LastTime: ms(20004)}
	run2 := analyze.DupAckRun{By: analyze.ClientToHeadend, Ack: 901, Count: 2, Frames: []uint64{44, 45}, LastFrame: 45, FirstTime: ms(40000), LastTime: ms(40001)}
	run3 := analyze.DupAckRun{By: analyze.HeadendToClient, Ack: 30001, Count: 2, Frames: []uint64{58, 59}, LastFrame: 59, FirstTime: ms(94800), LastTime: ms(94802)}
	natt := &analyze.Session{
		ID: 1, Stream: 0, Proto: 17, Transport: analyze.TransportNATT,
		TransportWhy: "UDP 4500 with non-ESP marker and ESP", TransportSure: true,
		Client: ap("198.51.100.7:4500"), Headend: ap("203.0.113.10:4500"), ClientBy: "port",
		FirstFrame: 2, LastFrame: 50, FirstTime: ms(1), LastTime: ms(80000), Packets: 12,
	}
	esp := &analyze.Session{
		ID: 2, Stream: -1, Proto: 50, Transport: analyze.TransportESP,
		TransportWhy: "IP protocol 50", TransportSure: true,
		Client: ap("198.51.100.8:0"), Headend: ap("203.0.113.10:0"), ClientBy: "first",
		FirstFrame: 3, LastFrame: 5, FirstTime: ms(2), LastTime: ms(4), Packets: 3,
	}
	lossy := &analyze.Session{
		ID: 3, Stream: 1, Proto: 6, Transport: analyze.TransportTCP,
		Client: ap("[2001:db8::1]:40000"), Headend: ap("[2001:db8::2]:443"), ClientBy: "syn",
		FirstFrame: 6, LastFrame: 40, FirstTime: ms(5), LastTime: ms(30000), Packets: 20,
		Counts: analyze.TCPCounts{DupAcks: 1, Retransmissions: 2},
	}
	c := &analyze.Capture{
		Path:        "cap\x1b[31m.pcapng.gz",
		SHA256:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Size:        123456,
		Format:      "pcapng",
		Compression: "gzip",
		LinkTypes:   []string{"raw", "ethernet"},
		Packets:     2105,
		Start:       ms(0),
		End:         ms(95432),
		Warnings:    []string{"frame 2105: truncated\x07 TCP header", "3 IPv4 fragments not reassembled"},
		Sessions:    []*analyze.Session{ctcp, natt, esp, lossy},
		Stats: analyze.Stats{
			IPPackets: 2100, TCPPackets: 2080, UDPPackets: 12, ESPPackets: 3, NonIP: 5,
			TCPStreams: 4, Fragments: 3, Truncated: 1,
			TCP: analyze.TCPCounts{DupAcks: 5, Retransmissions: 2, LostSegments: 1},
		},
	}
	for i := range 3 {
		c.Sessions = append(c.Sessions, &analyze.Session{
			ID: 4 + i, Stream: 2 + i, Proto: 6, Transport: analyze.TransportTCP,
			Client: ap("192.0.2.1:50000"), Headend: ap("192.0.2.2:80"), ClientBy: "syn",
			FirstFrame: uint64(100 + i), LastFrame: uint64(200 + i), Packets: 10,
		})
	}
	r := &detect.Result{
		Verdict:    detect.Affected,
		VerdictWhy: "cTCP session 0 never answered the headend's request for ack 14601 and stalled 75s later",
		Sessions: []detect.SessionResult{
			{Session: ctcp, Outcome: detect.Stalled, OutcomeFrame: 60, TimeToOutcome: int64(75 * time.Second),
				FirstUnanswered: &detect.Request{Run: &run1, Answer: detect.Unanswered},
				Stall: &detect.Stall{Dir: analyze.ClientToHeadend, Silence: analyze.Silence{
					FromFrame: 30, From: ms(21000), To: ms(95432), OtherSegments: 9, OtherFirstFrame: 31, Open: true}},
				Requests: []detect.Request{
					{Run: &run3, Answer: detect.AnswerUnknown, Why: "too close to the end of the capture"},
					{Run: &run1, Answer: detect.Unanswered, Why: "the client sent 12 segments above ack 14601 and never covered it"},
					{Run: &run2, Answer: detect.Answered, Why: "frame 46 covers ack 901"},
				}},
			{Session: natt, Outcome: detect.Running},
			{Session: esp, Outcome: detect.Running},
			{Session: lossy, Outcome: detect.Closed, OutcomeFrame: 40},
			{Session: c.Sessions[4], Outcome: detect.Closed},
			{Session: c.Sessions[5], Outcome: detect.Closed},
			{Session: c.Sessions[6], Outcome: detect.Reset},
		},
		Transports: []detect.TransportCount{{Transport: analyze.TransportCTCP, Sessions: 1}, {Transport: analyze.TransportNATT, Sessions: 1}, {Transport: analyze.TransportESP, Sessions: 1}},
		// In detect's order, which Build keeps.
		Findings: []detect.Finding{
			{ID: "unanswered-retransmit-request", Severity: detect.Critical, Session: 0, Summary: "The headend asked 3 times for ack 14601; the client never resent it", Frames: []uint64{25, 27, 29}, WiresharkFilter: "tcp.stream eq 0 && tcp.analysis.duplicate_ack"},
			{ID: "packet-loss", Severity: detect.Warning, Session: 0, Summary: "1 segment lost before the capture point", Frames: []uint64{24}, WiresharkFilter: "tcp.stream eq 0 && tcp.analysis.lost_segment"},
			{ID: "vpn-transports", Severity: detect.Info, Session: -1, Summary: "VPN transports seen: ctcp, nat-t, esp"},
		},
		Recommendations: []detect.Recommendation{
			{Action: detect.ActionTCPStateBypass, Rank: 2, Title: "Bypass TCP state checks for the cTCP flow", Why: "a stateful device asked for a retransmission", Config: "access-list CTCP extended permit tcp any host 203.0.113.10 eq 10000\nclass-map CM_CTCP\n match access-list CTCP\n", Caution: "disables inspection and the TCP normalizer for the flow"},
			{Action: detect.ActionIPsecOverUDP, Rank: 1, Title: "Move the client to IPsec over UDP (NAT-T)", Why: "cTCP cannot retransmit", Config: "crypto isakmp nat-traversal 20\nno crypto isakmp ipsec-over-tcp"},
		},
	}
	return c, r
}

func emptyCase() (*analyze.Capture, *detect.Result) {
	c := &analyze.Capture{
		Path: "empty.pcap", SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		Size: 24, Format: "pcap", Compression: "none",
	}
	return c, &detect.Result{Verdict: detect.NoCTCP, VerdictWhy: "no cTCP session found"}
}

func healthyCase() (*analyze.Capture, *detect.Result) {
	s := &analyze.Session{
		ID: 0, Stream: 0, Proto: 6, Transport: analyze.TransportCTCP,
		TransportWhy: "ESP header pattern on port 10000 (trailer cut by snaplen)", TransportSure: false,
		Client: ap("10.0.0.2:1025"), Headend: ap("10.0.0.1:10000"), ClientBy: "port",
		FirstFrame: 1, LastFrame: 1000, FirstTime: ms(0), LastTime: ms(600), Packets: 1000,
	}
	c := &analyze.Capture{
		Path: "healthy.pcap", SHA256: strings.Repeat("ab", 32), Size: 5000, Format: "pcap-nsec",
		Compression: "none", LinkTypes: []string{"ethernet"}, Packets: 1000, Start: ms(0), End: ms(600),
		Sessions: []*analyze.Session{s},
		Stats:    analyze.Stats{IPPackets: 1000, TCPPackets: 1000, TCPStreams: 1},
	}
	for i := range 12 {
		c.Sessions = append(c.Sessions, &analyze.Session{ID: 1 + i, Stream: 1 + i, Proto: 6, Transport: analyze.TransportTCP,
			Client: ap("10.0.0.3:2000"), Headend: ap("10.0.0.4:80"), FirstFrame: 2, LastFrame: 3, Packets: 2})
	}
	r := &detect.Result{Verdict: detect.Healthy, VerdictWhy: "cTCP without loss, duplicate ACKs or stalls",
		Sessions: []detect.SessionResult{{Session: s, Outcome: detect.Running}}}
	return c, r
}

var cases = []struct {
	name string
	make func() (*analyze.Capture, *detect.Result)
}{
	{"affected", affectedCase},
	{"empty", emptyCase},
	{"healthy", healthyCase},
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, r := tc.make()
			rep := Build(c, r, testTool)
			var text, colored, js bytes.Buffer
			if err := WriteText(&text, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteText(&colored, rep, TextOptions{Color: true}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, rep, JSONOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt.golden", text.Bytes())
			golden(t, tc.name+".color.golden", colored.Bytes())
			golden(t, tc.name+".json.golden", js.Bytes())

			if bytes.Contains(text.Bytes(), []byte("\x1b")) {
				t.Error("text without colour contains ESC")
			}
			if !bytes.Contains(colored.Bytes(), []byte("\x1b[")) {
				t.Error("coloured text contains no colour")
			}
			// The JSON is stable: building and writing again gives the
			// same bytes.
			var again bytes.Buffer
			if err := WriteJSON(&again, Build(c, r, testTool), JSONOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(js.Bytes(), again.Bytes()) {
				t.Error("JSON differs between two runs")
			}
		})
	}
}

// TestJSONContract checks the contract's field names and that arrays are
// never null.
func TestJSONContract(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, r := tc.make()
			var buf bytes.Buffer
			if err := WriteJSON(&buf, Build(c, r, testTool), JSONOptions{}); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			requireKeys(t, "report", m, "schema", "tool", "capture", "verdict", "sessions", "findings", "recommendations")
			if m["schema"] != "ctcpdiag.report/v1" {
				t.Errorf("schema = %v", m["schema"])
			}
			requireKeys(t, "tool", m["tool"].(map[string]any), "name", "version")
			requireKeys(t, "capture", m["capture"].(map[string]any), "path", "sha256", "format", "compression", "link_types", "packets", "start", "end", "warnings")
			for _, s := range m["sessions"].([]any) {
				sm := s.(map[string]any)
				requireKeys(t, "session", sm, "id", "transport", "client", "headend", "first_frame", "last_frame", "packets", "dup_acks", "retransmissions", "lost_segments", "outcome", "retransmit_requests")
				for _, q := range sm["retransmit_requests"].([]any) {
					requireKeys(t, "request", q.(map[string]any), "requested_by", "ack", "dup_acks", "first_frame", "frames", "answered")
				}
			}
			for _, f := range m["findings"].([]any) {
				requireKeys(t, "finding", f.(map[string]any), "id", "severity", "session", "summary", "frames", "wireshark_filter")
			}
			for _, rc := range m["recommendations"].([]any) {
				requireKeys(t, "recommendation", rc.(map[string]any), "action", "rank", "why", "config")
			}
			noNullArrays(t, "$", m)
		})
	}
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing key %q", what, k)
		}
	}
}

// arrayKeys are the contract's array fields: they must never be null.
var arrayKeys = map[string]bool{"$.capture.link_types": true, "$.capture.warnings": true, "$.transports": true,
	"$.sessions": true, "$.findings": true, "$.recommendations": true, "$.sessions[].retransmit_requests": true,
	"$.sessions[].retransmit_requests[].frames": true, "$.findings[].frames": true}

func noNullArrays(t *testing.T, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if arrayKeys[path+"."+k] {
				if _, ok := e.([]any); !ok {
					t.Errorf("%s.%s = %v, want an array", path, k, e)
				}
			}
			noNullArrays(t, path+"."+k, e)
		}
	case []any:
		for _, e := range v {
			noNullArrays(t, path+"[]", e)
		}
	}
}

func TestBuild(t *testing.T) {
	c, r := affectedCase()
	rep := Build(c, r, testTool)

	if got, want := rep.Listing, (Listing{Shown: []int{0, 1, 2, 3}, OtherTCP: 3}); !cmp.Equal(got, want) {
		t.Errorf("Listing = %+v, want %+v", got, want)
	}
	var order []string
	for _, f := range rep.Findings {
		order = append(order, f.ID)
	}
	if diff := cmp.Diff([]string{"unanswered-retransmit-request", "packet-loss", "vpn-transports"}, order); diff != "" {
		t.Errorf("finding order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{25, 27, 29}, rep.Findings[0].Frames); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	if rep.Recommendations[0].Rank != 1 {
		t.Errorf("recommendations not ranked: %+v", rep.Recommendations)
	}
	s := rep.Sessions[0]
	if s.Unanswered != 1 || len(s.RetransmitRequests) != 3 || s.RetransmitRequests[0].FirstFrame != 25 {
		t.Errorf("requests = %+v", s.RetransmitRequests)
	}
	if s.RetransmitRequests[2].Answered != nil {
		t.Errorf("inconclusive request answered = %v, want nil", *s.RetransmitRequests[2].Answered)
	}
	if got := rep.Sessions[3].Client; got != "[2001:db8::1]:40000" {
		t.Errorf("IPv6 client = %q", got)
	}
	if got := rep.Sessions[2].WiresharkFilter; got != "ip.addr eq 198.51.100.8 && ip.addr eq 203.0.113.10 && esp" {
		t.Errorf("ESP filter = %q", got)
	}
	if rep.Sessions[2].Stream != nil {
		t.Errorf("ESP stream = %d, want nil", *rep.Sessions[2].Stream)
	}
	if got := *rep.Capture.Start; got != "2024-05-01T10:00:00.123456789Z" {
		t.Errorf("start = %q", got)
	}

	// Build copies: changing the inputs afterwards does not change the report.
	c.Sessions[0].Requests = nil
	r.Findings[0].Frames[0] = 1
	c.LinkTypes[0] = "changed"
	if rep.Findings[0].Frames[0] != 25 || rep.Capture.LinkTypes[1] == "changed" || rep.Capture.LinkTypes[0] == "changed" {
		t.Error("Report shares memory with its inputs")
	}
}

func TestBuildReconnected(t *testing.T) {
	c, r := affectedCase()
	r.Sessions[0].Outcome = detect.Reconnected
	r.Sessions[0].NextSession = 3
	r.Sessions[1].NextSession = 2 // not reconnected: ignored
	rep := Build(c, r, testTool)
	if p := rep.Sessions[0].NextSession; p == nil || *p != 3 {
		t.Errorf("NextSession = %v, want 3", p)
	}
	if p := rep.Sessions[1].NextSession; p != nil {
		t.Errorf("NextSession of a running session = %d, want nil", *p)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "reconnected as session 3") {
		t.Errorf("text report does not show the reconnection:\n%s", buf.String())
	}
}

func TestBuildNilResult(t *testing.T) {
	c, _ := affectedCase()
	rep := Build(c, nil, testTool)
	if rep.Verdict != "inconclusive" {
		t.Errorf("verdict = %q", rep.Verdict)
	}
	for _, s := range rep.Sessions {
		if s.Outcome != "running" || s.RetransmitRequests == nil {
			t.Errorf("session %d: outcome %q, requests %v", s.ID, s.Outcome, s.RetransmitRequests)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain.pcap", "plain.pcap"},
		{"a\x1b[31mb", `a\x1b[31mb`},
		{"tab\there\nnl", `tab\x09here\x0anl`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085x", `c1\u0085x`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"ünïcödé ✓", "ünïcödé ✓"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1990: "1,990", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrors(t *testing.T) {
	c, r := affectedCase()
	rep := Build(c, r, testTool)
	if err := WriteText(errWriter{}, rep, TextOptions{}); err == nil {
		t.Error("WriteText to a failing writer: no error")
	}
	if err := WriteJSON(errWriter{}, rep, JSONOptions{}); err == nil {
		t.Error("WriteJSON to a failing writer: no error")
	}
}

func TestOtherSessionsLine(t *testing.T) {
	tests := []struct {
		l    Listing
		want string
	}{
		{Listing{Shown: []int{0}, OtherTCP: 1990}, "+ 1,990 other TCP sessions without"},
		{Listing{Shown: []int{0}, OtherTCP: 1}, "+ 1 other TCP session without"},
		{Listing{Shown: []int{0}, OtherUDP: 2}, "+ 2 other UDP flows without"},
		{Listing{Shown: []int{0}, OtherTCP: 1, OtherUDP: 2}, "+ 3 other sessions without"},
		{Listing{Shown: []int{}, OtherTCP: 5}, "\n  5 TCP sessions without"},
	}
	for _, tt := range tests {
		rep := &Report{Verdict: "no-ctcp", Sessions: []Session{{Transport: "tcp", Protocol: "tcp"}}, Listing: tt.l}
		var buf bytes.Buffer
		if err := WriteText(&buf, rep, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("%+v: output lacks %q:\n%s", tt.l, tt.want, buf.String())
		}
	}
}
