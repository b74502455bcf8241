package detect

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const sec = int64(1e9)

// capture builds a synthetic capture of the given sessions, 60 s long,
// numbering them in order.
func capture(sessions ...*analyze.Session) *analyze.Capture {
	c := &analyze.Capture{Path: "synthetic.pcap", Start: 0, End: 60 * sec, Packets: 10000}
	for i, s := range sessions {
		s.ID = i
		if s.Stream == 0 && s.Proto != 50 {
			s.Stream = i
		}
		c.Sessions = append(c.Sessions, s)
	}
	return c
}

// ctcp returns a healthy cTCP session between client and headend with data
// flowing both ways from frame first (time 0) to the end of the capture.
func ctcp(client, headend string, first uint64) *analyze.Session {
	s := &analyze.Session{
		Proto:         6,
		Transport:     analyze.TransportCTCP,
		TransportWhy:  "Cisco cTCP trailer on 1000 of 1000 segments",
		TransportSure: true,
		Client:        netip.MustParseAddrPort(client),
		Headend:       netip.MustParseAddrPort(headend),
		ClientBy:      "syn",
		FirstFrame:    first,
		LastFrame:     first + 999,
		FirstTime:     0,
		LastTime:      60 * sec,
		Packets:       1000,
	}
	for d := range 2 {
		s.Dirs[d] = analyze.DirStats{
			Packets: 500, DataSegments: 480, Bytes: 480 * 1000,
			FirstDataFrame: first + 3 + uint64(d), LastDataFrame: first + 998 + uint64(d),
			FirstDataTime: sec / 10, LastDataTime: 60 * sec,
		}
		s.ESP[d] = analyze.ESPStats{Packets: 480, SPIs: 1, SPI: 0x1000 + uint32(d), FirstSeq: 1, LastSeq: 480}
	}
	s.Dirs[0].SYNFrame = first
	s.Dirs[1].SYNFrame = first + 1
	return s
}

// unansweredRun is a request by the headend for client bytes, never
// answered, with the client sending 37 segments past it.
func unansweredRun() analyze.DupAckRun {
	return analyze.DupAckRun{
		By: analyze.HeadendToClient, Ack: 48213, AckRaw: 1048213, OrigFrame: 110,
		Count: 5, Frames: []uint64{112, 115, 118, 124, 130},
		FirstTime: 10 * sec, LastTime: 11 * sec,
		DataAbove: 37, DataAboveLastTime: 18 * sec,
		SenderNextSeqAtRequest: 60000, SeenBefore: true,
	}
}

func with(s *analyze.Session, f func(*analyze.Session)) *analyze.Session {
	f(s)
	return s
}

// requestWhy returns a check that the Why of session 0's first request
// mentions each of want.
func requestWhy(want ...string) func(*testing.T, *Result) {
	return func(t *testing.T, r *Result) {
		t.Helper()
		why := r.Sessions[0].Requests[0].Why
		for _, w := range want {
			if !strings.Contains(why, w) {
				t.Errorf("Why = %q, want it to mention %q", why, w)
			}
		}
	}
}

func actions(recs []Recommendation) []Action {
	var out []Action
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

func severities(fs []Finding, sev Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.ID)
		}
	}
	return out
}

func TestRun(t *testing.T) {
	const client, headend = "192.168.1.20:51000", "203.0.113.5:10000"
	const public = "198.51.100.7:51000"
	// oneRequest is a capture of one cTCP session from client to headend
	// whose only request is unansweredRun() changed by edit.
	oneRequest := func(edit func(r *analyze.DupAckRun)) *analyze.Capture {
		r := unansweredRun()
		edit(&r)
		return capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
			s.Requests = []analyze.DupAckRun{r}
		}))
	}
	tests := []struct {
		name     string
		cap      *analyze.Capture
		cfg      Config
		verdict  Verdict
		answers  []Answer // of session 0's requests
		outcome  Outcome  // of session 0
		actions  []Action
		critical []string
		check    func(t *testing.T, r *Result)
	}{
		{
			name:    "healthy",
			cap:     capture(ctcp(client, headend, 1)),
			verdict: Healthy,
			outcome: Running,
		},
		{
			name: "answered by cover",
			cap: oneRequest(func(r *analyze.DupAckRun) {
				r.CoverFrame, r.CoverTime = 131, 11*sec
			}),
			verdict: Healthy, // the client resent: real TCP carries the framing
			answers: []Answer{Answered},
			outcome: Running,
			check:   requestWhy("resent", "frame 131"),
		},
		{
			name: "answered by ack advance",
			cap: oneRequest(func(r *analyze.DupAckRun) {
				r.AdvanceFrame, r.AdvanceTime = 140, 12*sec
			}),
			verdict: Healthy, // a late segment filled the hole: nothing held the flow
			answers: []Answer{Answered},
			outcome: Running,
			check:   requestWhy("headend's ACK moved past"),
		},
		{
			name: "unanswered then reset",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.Requests = []analyze.DupAckRun{unansweredRun()}
				s.Dirs[1].RSTFrame, s.Dirs[1].RSTTime = 900, 51*sec+2*sec/10
			})),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Reset,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				sr := r.Sessions[0]
				if sr.OutcomeFrame != 900 || sr.TimeToOutcome != 41*sec+2*sec/10 {
					t.Errorf("outcome frame %d, time to outcome %d", sr.OutcomeFrame, sr.TimeToOutcome)
				}
				f := r.Findings[0]
				want := Finding{
					ID:       "unanswered-retransmit-request",
					Severity: Critical,
					Session:  0,
					Summary: "session 0 (cTCP 192.168.1.20:51000 -> 203.0.113.5:10000): the headend side asked for relative seq 48213 " +
						"(5 duplicate ACKs, frames 112-130 over 1.0 s); the client never resent the bytes and sent 37 new segments past the hole; " +
						"the bytes had crossed the capture point before the request, so they were lost beyond it; " +
						"the session was reset (frame 900), 41.2 s later",
					Frames:          []uint64{110, 112, 115, 118, 124, 130},
					WiresharkFilter: "tcp.stream eq 0 && tcp.analysis.duplicate_ack && tcp.ack == 48213",
				}
				if diff := cmp.Diff(want, f); diff != "" {
					t.Errorf("first finding (-want +got):\n%s", diff)
				}
				if !strings.Contains(r.VerdictWhy, "(5 duplicate ACKs, frames 112-130 over 1.0 s)") || r.Confidence != Proven {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
		{
			name: "inconclusive near end",
			cap: oneRequest(func(r *analyze.DupAckRun) {
				r.FirstTime, r.LastTime = 59*sec+5*sec/10, 59*sec+6*sec/10
				r.DataAbove = 1
			}),
			verdict: AtRisk, // possible: loss whose effect the capture cannot judge
			answers: []Answer{AnswerUnknown},
			outcome: Running,
			actions: []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			check:   requestWhy("too soon to judge"),
		},
		{
			name: "near end but sender clearly alive",
			cap: oneRequest(func(r *analyze.DupAckRun) {
				r.FirstTime, r.LastTime = 59*sec+5*sec/10, 59*sec+6*sec/10
				r.DataAbove = 2
			}),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Running,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
		},
		{
			name: "sender silent afterwards",
			cap: oneRequest(func(r *analyze.DupAckRun) {
				r.DataAbove = 0
			}),
			verdict: AtRisk, // possible
			answers: []Answer{AnswerUnknown},
			outcome: Running,
			actions: []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			check:   requestWhy("still alive"),
		},
		{
			name: "below dupacks threshold",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.Requests = []analyze.DupAckRun{unansweredRun()}
			})),
			cfg:     Config{DupAcks: 6},
			verdict: Healthy,
			outcome: Running,
			check: func(t *testing.T, r *Result) {
				if len(r.Sessions[0].Requests) != 0 {
					t.Errorf("requests = %d, want 0", len(r.Sessions[0].Requests))
				}
				found := false
				for _, f := range r.Findings {
					found = found || (f.ID == "retransmit-request" && f.Severity == Info && strings.Contains(f.Summary, "--dupacks threshold of 6"))
				}
				if !found {
					t.Errorf("no info finding for the short run: %+v", r.Findings)
				}
			},
		},
		{
			name: "one-way stall to the end",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.Dirs[1].LastDataFrame, s.Dirs[1].LastDataTime = 400, 20*sec
				s.Dirs[1].EndSilence = analyze.Silence{FromFrame: 400, From: 20 * sec, To: 60 * sec, OtherSegments: 120, OtherFirstFrame: 401, Open: true}
				s.Dirs[1].Silence = s.Dirs[1].EndSilence
			})),
			verdict:  Affected, // probable: seen beyond the device
			outcome:  Stalled,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect},
			critical: []string{"one-way-stall"},
			check: func(t *testing.T, r *Result) {
				st := r.Sessions[0].Stall
				if st == nil || st.Dir != analyze.HeadendToClient {
					t.Fatalf("stall = %+v", st)
				}
				if r.Sessions[0].OutcomeFrame != 400 {
					t.Errorf("outcome frame = %d, want 400", r.Sessions[0].OutcomeFrame)
				}
				if !strings.Contains(r.VerdictWhy, "the headend->client stream stops at frame 400 while the client keeps sending (120 data segments from frame 401 over 40.0 s)") || r.Confidence != Probable {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
		{
			name: "short silence is no stall",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.Dirs[1].Silence = analyze.Silence{FromFrame: 400, ToFrame: 450, From: 20 * sec, To: 24 * sec, OtherSegments: 40, OtherFirstFrame: 401}
			})),
			verdict: Healthy,
			outcome: Running,
		},
		{
			name: "reconnected after unanswered request",
			cap: capture(
				with(ctcp(client, headend, 1), func(s *analyze.Session) {
					s.Requests = []analyze.DupAckRun{unansweredRun()}
					s.LastFrame, s.LastTime = 500, 30*sec
					for d := range 2 {
						s.Dirs[d].LastDataFrame, s.Dirs[d].LastDataTime = 490+uint64(d), 29*sec
					}
					s.Dirs[0].RSTFrame, s.Dirs[0].RSTTime = 500, 30*sec
				}),
				with(ctcp("192.168.1.20:51001", headend, 501), func(s *analyze.Session) {
					s.FirstTime = 31 * sec
				}),
			),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Reconnected,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				sr := r.Sessions[0]
				if sr.OutcomeFrame != 501 || sr.NextSession != 1 || sr.TimeToOutcome != 21*sec {
					t.Errorf("outcome frame %d, next %d, time %d", sr.OutcomeFrame, sr.NextSession, sr.TimeToOutcome)
				}
				if r.Sessions[1].Outcome != Running {
					t.Errorf("session 1 outcome %s", r.Sessions[1].Outcome)
				}
			},
		},
		{
			name: "public client seen on the client side: NAT-T first, native ESP after",
			cap: capture(with(ctcp(public, headend, 1), func(s *analyze.Session) {
				s.Requests = []analyze.DupAckRun{unansweredRun()}
				s.Peer[0].DataTTL = analyze.TTLRange{Min: 64, Max: 64, N: 480}
				s.Peer[1].DataTTL = analyze.TTLRange{Min: 52, Max: 52, N: 480}
			})),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Running,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionNativeESP, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				if cp := r.Sessions[0].Path.CapturePoint; cp != ClientSide {
					t.Errorf("capture point %s", cp)
				}
				cfg := r.Recommendations[1].Config
				for _, want := range []string{
					"access-list CTCP-BYPASS extended permit tcp host 198.51.100.7 host 203.0.113.5 eq 10000",
					"access-list CTCP-BYPASS extended permit tcp host 203.0.113.5 eq 10000 host 198.51.100.7",
					"set connection advanced-options tcp-state-bypass",
					"service-policy global_policy global",
				} {
					if !strings.Contains(cfg, want) {
						t.Errorf("bypass config lacks %q:\n%s", want, cfg)
					}
				}
			},
		},
		{
			name: "NAT client: bypass uses any",
			cap: capture(with(ctcp("100.64.3.4:51000", headend, 1), func(s *analyze.Session) {
				s.Requests = []analyze.DupAckRun{unansweredRun()}
			})),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Running,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				rec := r.Recommendations[1]
				if !strings.Contains(rec.Config, "permit tcp any host 203.0.113.5 eq 10000") || !strings.Contains(rec.Why, "RFC 6598") {
					t.Errorf("bypass: %s\n%s", rec.Why, rec.Config)
				}
				for _, w := range []string{"inspection", "TCP normalizer", "IPS", "TCP Intercept", "sequence number randomization", "AAA", "new connections"} {
					if !strings.Contains(rec.Caution, w) {
						t.Errorf("caution lacks %q", w)
					}
				}
			},
		},
		{
			name: "IPv6 client",
			cap: capture(with(ctcp("[2001:db8::20]:51000", "[2001:db8:1::5]:10000", 1), func(s *analyze.Session) {
				s.Requests = []analyze.DupAckRun{unansweredRun()}
				s.Peer[0].DataTTL = analyze.TTLRange{Min: 64, Max: 64, N: 480}
				s.Peer[1].DataTTL = analyze.TTLRange{Min: 52, Max: 52, N: 480}
			})),
			verdict:  Affected,
			answers:  []Answer{Unanswered},
			outcome:  Running,
			actions:  []Action{ActionIPsecOverUDP, ActionTCPStateBypass, ActionAnyConnect, ActionNativeESP, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				if cfg := r.Recommendations[1].Config; !strings.Contains(cfg, "permit tcp host 2001:db8::20 host 2001:db8:1::5 eq 10000") {
					t.Errorf("bypass config:\n%s", cfg)
				}
			},
		},
		{
			name: "UDP blocked: AnyConnect first",
			cap: capture(
				&analyze.Session{
					Proto: 17, Transport: analyze.TransportIKE, TransportSure: true,
					Client:     netip.MustParseAddrPort("192.168.1.20:500"),
					Headend:    netip.MustParseAddrPort("203.0.113.5:500"),
					FirstFrame: 1, LastFrame: 9, LastTime: 8 * sec, Packets: 4,
					Dirs: [2]analyze.DirStats{{Packets: 4, DataSegments: 4}},
				},
				with(ctcp(client, headend, 10), func(s *analyze.Session) {
					s.Requests = []analyze.DupAckRun{unansweredRun()}
				}),
			),
			verdict:  Affected,
			outcome:  Stalled, // the IKE flow went quiet 52 s before the end
			actions:  []Action{ActionAnyConnect, ActionTCPStateBypass, ActionIPsecOverUDP, ActionFixPacketLoss},
			critical: []string{"unanswered-retransmit-request"},
			check: func(t *testing.T, r *Result) {
				if diff := cmp.Diff([]int{0}, r.UDPBlocked); diff != "" {
					t.Errorf("UDPBlocked (-want +got):\n%s", diff)
				}
				if !strings.Contains(r.Recommendations[0].Why, "got no reply") {
					t.Errorf("anyconnect why = %q", r.Recommendations[0].Why)
				}
			},
		},
		{
			name: "plain TCP with dup ACKs",
			cap: capture(with(ctcp(client, "203.0.113.5:443", 1), func(s *analyze.Session) {
				s.Transport, s.TransportWhy = analyze.TransportTCP, ""
				s.Requests = []analyze.DupAckRun{unansweredRun()}
			})),
			verdict: NoCTCP,
			answers: []Answer{Unanswered},
			outcome: Running,
			check: func(t *testing.T, r *Result) {
				if got := severities(r.Findings, Info); len(got) != 2 {
					t.Errorf("info findings %v, want the request summary and the inventory", got)
				}
				if r.VerdictWhy != "no cTCP and no other VPN transport among 1 session" {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
		{
			name: "port-based guess",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.TransportSure, s.TransportWhy = false, "TCP port 10000 only; snaplen cut every payload"
			})),
			verdict: Inconclusive,
			outcome: Running,
		},
		{
			// ESP sequence numbers missing with the data going on: the
			// loss was tolerated, and the report says it per direction
			// with numerator and denominator.
			name: "ESP loss only",
			cap: capture(with(ctcp(client, headend, 1), func(s *analyze.Session) {
				s.ESP[0].SeqGaps, s.ESP[0].SeqMissing = 2, 3
				s.ESP[0].Packets = 297
			})),
			verdict: Healthy,
			outcome: Running,
			check: func(t *testing.T, r *Result) {
				if !strings.Contains(r.VerdictWhy, "client->headend: 3 of 300 ESP sequence numbers missing (1.00 %)") {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
				if l := r.Sessions[0].Loss; l == nil || l.ESPGaps[0] != 2 {
					t.Fatalf("loss = %+v", l)
				}
				if a := r.Sessions[0].Path.Dirs[0]; a.Basis != "esp" || a.Num != 3 || a.Den != 300 {
					t.Errorf("client->headend accounting %+v, want 3 of 300 ESP sequence numbers", a)
				}
			},
		},
		{
			name:    "NAT-T only",
			cap:     capture(with(ctcp(client, "203.0.113.5:4500", 1), func(s *analyze.Session) { s.Proto, s.Transport = 17, analyze.TransportNATT })),
			verdict: NoCTCP,
			outcome: Running,
			check: func(t *testing.T, r *Result) {
				if r.VerdictWhy != "no cTCP session; VPN transports seen: NAT-T (1 session)" {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(tt.cap, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s (%s), want %s", r.Verdict, r.VerdictWhy, tt.verdict)
			}
			if r.VerdictWhy == "" {
				t.Error("empty VerdictWhy")
			}
			var answers []Answer
			for _, q := range r.Sessions[0].Requests {
				answers = append(answers, q.Answer)
				if q.Why == "" {
					t.Error("request without Why")
				}
			}
			if diff := cmp.Diff(tt.answers, answers); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if got := r.Sessions[0].Outcome; got != tt.outcome {
				t.Errorf("outcome = %s, want %s", got, tt.outcome)
			}
			if diff := cmp.Diff(tt.actions, actions(r.Recommendations)); diff != "" {
				t.Errorf("recommendations (-want +got):\n%s", diff)
			}
			if tt.critical != nil {
				if diff := cmp.Diff(tt.critical, severities(r.Findings, Critical)); diff != "" {
					t.Errorf("critical findings (-want +got):\n%s", diff)
				}
			} else if got := severities(r.Findings, Critical); len(got) > 0 {
				t.Errorf("unexpected critical findings %v", got)
			}
			checkInvariants(t, r)
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// checkInvariants checks what every Result must satisfy.
func checkInvariants(t *testing.T, r *Result) {
	t.Helper()
	for i, f := range r.Findings {
		if f.ID == "" || f.Summary == "" {
			t.Errorf("finding %d lacks ID or summary: %+v", i, f)
		}
		for j := 1; j < len(f.Frames); j++ {
			if f.Frames[j] <= f.Frames[j-1] {
				t.Errorf("finding %d frames not ascending: %v", i, f.Frames)
			}
		}
		if len(f.Frames) > maxFindingFrames {
			t.Errorf("finding %d has %d frames", i, len(f.Frames))
		}
		if len(f.Frames) > 0 && f.WiresharkFilter == "" {
			t.Errorf("finding %d has frames but no filter", i)
		}
		if i > 0 && severityRank(r.Findings[i-1].Severity) > severityRank(f.Severity) {
			t.Errorf("findings not ordered by severity at %d", i)
		}
	}
	for i, rec := range r.Recommendations {
		if rec.Rank != i+1 || rec.Why == "" || rec.Title == "" {
			t.Errorf("recommendation %d: %+v", i, rec)
		}
	}
	if r.Verdict != Affected && r.Verdict != AtRisk && len(r.Recommendations) > 0 {
		t.Errorf("%s capture has recommendations", r.Verdict)
	}
}

func TestRunDeterministic(t *testing.T) {
	c := benchCapture(200)
	a, err := Run(c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := Run(c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
			t.Fatalf("second run differs (-first +second):\n%s", diff)
		}
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(nil, Config{}); err == nil {
		t.Error("Run(nil) succeeded")
	}
	if _, err := Run(capture(), Config{DupAcks: -1}); err == nil || err.Error() != "dupacks must be at least 1, got -1" {
		t.Errorf("Run with DupAcks -1: %v", err)
	}
	r, err := Run(capture(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != NoCTCP || len(r.Findings) != 1 {
		t.Errorf("empty capture: %s, %+v", r.Verdict, r.Findings)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(Detectors); err != nil {
		t.Fatalf("Validate(Detectors): %v", err)
	}
	run := func(*Pass) error { return nil }
	a := &Detector{Name: "a", Doc: "a", Run: run, ResultType: reflect.TypeFor[int]()}
	none := &Detector{Name: "none", Doc: "x", Run: run}
	tests := []struct {
		name string
		ds   []*Detector
		want string
	}{
		{"nil", []*Detector{nil}, "detector 0 is nil"},
		{"bad name", []*Detector{{Name: "Bad_Name", Doc: "x", Run: run}}, `detector 0: invalid name "Bad_Name"`},
		{"double hyphen", []*Detector{{Name: "a--b", Doc: "x", Run: run}}, `detector 0: invalid name "a--b"`},
		{"trailing hyphen", []*Detector{{Name: "a-", Doc: "x", Run: run}}, `detector 0: invalid name "a-"`},
		{"empty name", []*Detector{{Doc: "x", Run: run}}, `detector 0: invalid name ""`},
		{"duplicate", []*Detector{a, {Name: "a", Doc: "x", Run: run}}, `detector "a" registered twice`},
		{"no doc", []*Detector{{Name: "b", Run: run}}, `detector "b" has no doc`},
		{"no run", []*Detector{{Name: "b", Doc: "x"}}, `detector "b" has no run function`},
		{"requires later", []*Detector{{Name: "b", Doc: "x", Run: run, Requires: []*Detector{a}}, a}, `detector "b" requires "a", which does not come before it`},
		{"requires no result", []*Detector{none, {Name: "b", Doc: "x", Run: run, Requires: []*Detector{none}}}, `detector "b" requires "none", which publishes no result`},
		{"ok", []*Detector{a, {Name: "b-2", Doc: "x", Run: run, Requires: []*Detector{a}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.ds)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestResultTypes checks that the runner holds every detector to its
// declared ResultType and that resultOf reads only what a detector requires,
// as the type it is: a wrong or missing result is an error, never a zero
// value.
func TestResultTypes(t *testing.T) {
	c := &analyze.Capture{}
	publish := func(v any) func(*Pass) error {
		return func(p *Pass) error { p.SetResult(v); return nil }
	}
	nothing := func(*Pass) error { return nil }
	intType := reflect.TypeFor[int]()
	a := &Detector{Name: "a", Doc: "x", ResultType: intType, Run: publish(7)}
	b := &Detector{Name: "b", Doc: "x", ResultType: intType, Run: publish(8)}
	read := func(from *Detector, as string) *Detector {
		return &Detector{Name: "reader", Doc: "x", Requires: []*Detector{a}, ResultType: intType, Run: func(p *Pass) error {
			var v int
			var err error
			switch as {
			case "int":
				v, err = resultOf[int](p, from)
			case "string":
				_, err = resultOf[string](p, from)
			}
			if err != nil {
				return err
			}
			p.SetResult(v * 10)
			return nil
		}}
	}
	tests := []struct {
		name string
		ds   []*Detector
		want string
	}{
		{"wrong type", []*Detector{{Name: "w", Doc: "x", ResultType: intType, Run: publish("seven")}}, "detector w published a string; it declares a int"},
		{"missing", []*Detector{{Name: "m", Doc: "x", ResultType: intType, Run: nothing}}, "detector m published no result; it declares a int"},
		{"undeclared", []*Detector{{Name: "u", Doc: "x", Run: publish(1)}}, "detector u published a int but declares no result type"},
		{"not required", []*Detector{a, b, read(b, "int")}, `detector reader: detector "reader" reads the result of "b", which it does not require`},
		{"read as other type", []*Detector{a, read(a, "string")}, `detector reader: detector "reader" reads the result of "a" as string; it is a int`},
		{"ok", []*Detector{a, read(a, "int")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, results, err := runDetectors(c, Config{DupAcks: 2}, tt.ds)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("runDetectors = %q, want %q", got, tt.want)
			}
			if err == nil && results[tt.ds[len(tt.ds)-1]] != 70 {
				t.Errorf("reader published %v, want 70", results[tt.ds[len(tt.ds)-1]])
			}
		})
	}
}

// TestDetectorDocs checks that each detector's Doc title is one line that
// starts in lower case, as the report prints it.
func TestDetectorDocs(t *testing.T) {
	for _, d := range Detectors {
		title, _, _ := strings.Cut(d.Doc, "\n")
		if title == "" || strings.HasSuffix(title, ".") || title[0] < 'a' || title[0] > 'z' {
			t.Errorf("%s: doc title %q", d.Name, title)
		}
	}
}

// benchCapture has n sessions: cTCP sessions with unanswered and answered
// requests and loss, NAT-T flows, and plain TCP.
func benchCapture(n int) *analyze.Capture {
	sessions := make([]*analyze.Session, 0, n)
	for i := range n {
		client := fmt.Sprintf("10.%d.%d.%d:%d", i/65536%256, i/256%256, i%256, 40000+i%20000)
		s := ctcp(client, "203.0.113.5:10000", uint64(i*1000+1))
		switch i % 4 {
		case 0:
			for k := range 8 {
				r := unansweredRun()
				r.Ack += uint32(k * 1000)
				if k%2 == 1 {
					r.CoverFrame, r.CoverTime = 131, 11*sec
				}
				s.Requests = append(s.Requests, r)
			}
			s.Dirs[0].Counts.LostSegments = 3
			s.Dirs[0].LostSegmentFrames = []uint64{100, 200, 300}
		case 1:
			s.Transport = analyze.TransportNATT
			s.Proto = 17
		case 2:
			s.Transport = analyze.TransportTCP
			s.Requests = []analyze.DupAckRun{unansweredRun()}
		}
		sessions = append(sessions, s)
	}
	return capture(sessions...)
}

func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		c := benchCapture(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(c, Config{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFocus checks Result.Focus on the committed samples: the affected
// session first, and the healthy cTCP session when nothing is wrong.
func TestFocus(t *testing.T) {
	root := testcaps.RepoRoot(t)
	for _, tt := range []struct {
		file string
		want analyze.Transport
		n    int
	}{
		{"ctcp-proxy-reset.pcap", analyze.TransportCTCP, 1}, // the reconnect is healthy: only the affected one
		{"ctcp-healthy.pcap", analyze.TransportCTCP, 1},
		{"natt.pcap", "", 0},
	} {
		c, err := analyze.File(filepath.Join(root, "samples", tt.file), analyze.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Focus) != tt.n {
			t.Fatalf("%s: focus %v, want %d sessions", tt.file, res.Focus, tt.n)
		}
		if tt.n > 0 {
			s := c.Sessions[res.Focus[0]]
			if s.Transport != tt.want {
				t.Errorf("%s: focus on a %s session", tt.file, s.Transport)
			}
			if res.Verdict == Affected && res.Sessions[s.ID].FirstUnanswered == nil {
				t.Errorf("%s: affected, but the focus session %d has no unanswered request", tt.file, s.ID)
			}
		}
	}
}
