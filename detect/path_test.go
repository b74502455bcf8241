package detect

import (
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// vantage sets the data TTLs of a session as a capture point next to the
// client (client TTL 64, headend side one router away) or next to the
// headend sees them.
func vantage(s *analyze.Session, cp CapturePoint) {
	near, far := analyze.TTLRange{Min: 64, Max: 64, N: 480}, analyze.TTLRange{Min: 63, Max: 63, N: 480}
	if cp == ClientSide {
		s.Peer[0].DataTTL, s.Peer[1].DataTTL = near, far
	} else {
		s.Peer[0].DataTTL, s.Peer[1].DataTTL = far, near
	}
}

// TestPathRules checks the verdict rules that rest on who answers in the
// endpoints' names and where the capture point stands, one rule per case,
// with the evidence a real capture gives them (the lab test shows each on
// real kernel stacks).
func TestPathRules(t *testing.T) {
	const client, headend = "198.51.100.7:51000", "203.0.113.5:10000"
	tests := []struct {
		name       string
		s          *analyze.Session
		verdict    Verdict
		confidence Confidence
		point      CapturePoint
		stack      *bool
		sentBy     SentBy
		first      Action
		check      func(t *testing.T, r *Result)
	}{
		{
			name: "proxy's SACK duplicate ACKs seen on the client side",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, ClientSide)
				r := unansweredRun()
				r.SACK, r.TTL = 5, analyze.TTLRange{Min: 63, Max: 63, N: 5}
				s.Requests = []analyze.DupAckRun{r}
				s.Peer[1].SACKAcks, s.Peer[1].SACKFrame = 5, 112
			}),
			verdict: Affected, confidence: Proven, point: ClientSide, stack: new(true), sentBy: SentByPathDevice,
			first: ActionIPsecOverUDP,
			check: func(t *testing.T, r *Result) {
				for _, rec := range r.Recommendations {
					if strings.Contains(rec.Config, "203.0.113.5") {
						t.Errorf("%s config names the headend address seen behind a TCP stack answering in its name:\n%s", rec.Action, rec.Config)
					}
				}
				if !strings.Contains(r.VerdictWhy, "a TCP stack in the path asked, in the headend's name,") {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
		{
			name: "beyond the device: the client's stream stops, the headend keeps sending, then resets",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, HeadendSide)
				s.Dirs[0].LastDataFrame, s.Dirs[0].LastDataTime = 300, 20*sec
				s.Dirs[0].EndSilence = analyze.Silence{FromFrame: 300, From: 20 * sec, To: 23 * sec, ToFrame: 360, OtherSegments: 30, OtherFirstFrame: 301, Open: true}
				s.Dirs[1].RSTFrame, s.Dirs[1].RSTTime = 360, 23*sec
				s.LastFrame, s.LastTime = 360, 23*sec
			}),
			verdict: Affected, confidence: Probable, point: HeadendSide, sentBy: "",
			first: ActionIPsecOverUDP,
			check: func(t *testing.T, r *Result) {
				if r.Sessions[0].Stop == nil || r.Sessions[0].Stop.Dir != analyze.ClientToHeadend {
					t.Fatalf("stop = %+v", r.Sessions[0].Stop)
				}
				for _, rec := range r.Recommendations {
					if strings.Contains(rec.Config, "198.51.100.7") {
						t.Errorf("%s config names the client address seen from the headend side:\n%s", rec.Action, rec.Config)
					}
				}
				if !strings.Contains(r.ConfidenceWhy, "capture on the client side") {
					t.Errorf("ConfidenceWhy = %q", r.ConfidenceWhy)
				}
			},
		},
		{
			name: "SACK-capable stack answers for the headend, no loss yet",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, ClientSide)
				s.Peer[1].SACKAcks, s.Peer[1].SACKFrame = 2, 40
			}),
			verdict: AtRisk, confidence: Probable, point: ClientSide, stack: new(true),
			first: ActionIPsecOverUDP,
		},
		{
			name: "cTCP messages spanning segments on the headend side",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, HeadendSide)
				s.Framing[0] = analyze.Framing{Messages: 480, Split: 12, SplitFrame: 77}
			}),
			verdict: AtRisk, confidence: Probable, point: HeadendSide, stack: new(true),
			first: ActionIPsecOverUDP,
		},
		{
			name: "the client resends: real TCP carries the framing",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, ClientSide)
				r := unansweredRun()
				r.SACK = 5
				r.CoverFrame, r.CoverTime = 131, 11*sec
				s.Requests = []analyze.DupAckRun{r}
				s.Peer[1].SACKAcks, s.Peer[1].SACKFrame = 5, 112
				s.Dirs[0].Counts.Retransmissions = 1
				s.Counts.Retransmissions = 1
			}),
			verdict: Healthy, point: ClientSide, sentBy: SentByUnknown,
		},
		{
			name: "holes passed and acknowledged: nothing holds the flow",
			s: with(ctcp(client, headend, 1), func(s *analyze.Session) {
				vantage(s, ClientSide)
				s.Dirs[1].Counts.LostSegments = 2
				s.Dirs[1].LostSegmentFrames = []uint64{74, 124}
				s.ESP[1].SeqMissing, s.ESP[1].SeqGaps = 2, 2
			}),
			verdict: Healthy, point: ClientSide, stack: new(false),
			check: func(t *testing.T, r *Result) {
				if !strings.Contains(r.VerdictWhy, "headend->client: 2 of 482 ESP sequence numbers missing (0.41 %), 2 holes lost before the capture point") {
					t.Errorf("VerdictWhy = %q", r.VerdictWhy)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(capture(tt.s), Config{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict || r.Confidence != tt.confidence {
				t.Errorf("verdict %s/%q (%s), want %s/%q", r.Verdict, r.Confidence, r.VerdictWhy, tt.verdict, tt.confidence)
			}
			pa := r.Sessions[0].Path
			if pa.CapturePoint != tt.point {
				t.Errorf("capture point %s (%s), want %s", pa.CapturePoint, pa.CapturePointWhy, tt.point)
			}
			switch {
			case tt.stack == nil && pa.TCPStack != nil, tt.stack != nil && (pa.TCPStack == nil || *pa.TCPStack != *tt.stack):
				t.Errorf("tcp stack in path = %v, want %v (evidence %+v)", pa.TCPStack, tt.stack, pa.Evidence)
			}
			if tt.sentBy != "" {
				if q := r.Sessions[0].Requests; len(q) == 0 || q[0].SentBy != tt.sentBy {
					t.Errorf("sent_by: %+v, want %s", q, tt.sentBy)
				}
			}
			if tt.first != "" && (len(r.Recommendations) == 0 || r.Recommendations[0].Action != tt.first) {
				t.Errorf("recommendations %v, want %s first", actions(r.Recommendations), tt.first)
			}
			if r.ConfidenceWhy == "" {
				t.Error("no ConfidenceWhy")
			}
			checkInvariants(t, r)
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}
