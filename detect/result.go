package detect

import "github.com/ctcpdiag/ctcpdiag/analyze"

// Verdict is the capture-level answer (the JSON contract's values,
// docs/json.md).
type Verdict string

// Verdicts, from worst to best.
const (
	Affected     Verdict = "affected"     // a cTCP session has an unanswered retransmit request
	AtRisk       Verdict = "at-risk"      // cTCP with loss, dup ACKs or a one-way stall, nothing unanswered
	Inconclusive Verdict = "inconclusive" // cTCP seen but the capture cannot decide
	Healthy      Verdict = "healthy"      // cTCP without loss, dup ACKs or stalls
	NoCTCP       Verdict = "no-ctcp"      // no cTCP session found
)

// Severity of a Finding.
type Severity string

// Severities (contract values).
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Outcome is how a session ended (contract values).
type Outcome string

// Outcomes.
const (
	Stalled     Outcome = "stalled"
	Reset       Outcome = "reset"
	Closed      Outcome = "closed"
	Reconnected Outcome = "reconnected"
	Running     Outcome = "running"
)

// Answer is the judgement of one retransmit request.
type Answer int

// Answers. AnswerUnknown is "inconclusive": too close to the end of the
// capture to judge.
const (
	AnswerUnknown Answer = iota
	Answered
	Unanswered
)

// Config holds the detection thresholds. Zero values mean the defaults.
type Config struct {
	// DupAcks is the minimum run of duplicate ACKs that makes a retransmit
	// request (--dupacks, default 2).
	DupAcks int
}

// Request is one judged retransmit request: a run of >= Config.DupAcks
// duplicate ACKs for one ack number.
type Request struct {
	Run    *analyze.DupAckRun
	Answer Answer
	// Why explains the judgement in one sentence.
	Why string
	// SentBy says who sent the duplicate ACKs: the asking endpoint, a
	// TCP stack in the path answering in its name, or unknown; SentByWhy
	// gives the evidence in one sentence.
	SentBy    SentBy
	SentByWhy string
}

// Confidence says how sure a verdict is (contract values).
type Confidence string

// Confidences; NoConfidence is written as null.
const (
	Proven       Confidence = "proven"
	Probable     Confidence = "probable"
	Possible     Confidence = "possible"
	NoConfidence Confidence = ""
)

// SessionResult is what detect concluded about one session.
type SessionResult struct {
	Session *analyze.Session
	Outcome Outcome
	// OutcomeFrame is the frame that shows the outcome (the RST, the FIN, the
	// last data frame before a stall, the first frame of the new session),
	// 0 for running.
	OutcomeFrame uint64
	OutcomeTime  int64
	// FirstUnanswered is the first unanswered request, nil if none;
	// TimeToOutcome is the time from its first duplicate ACK to the outcome
	// in nanoseconds (0 when there is none).
	FirstUnanswered *Request
	TimeToOutcome   int64
	// Requests are the session's retransmit requests in frame order.
	Requests []Request

	// NextSession is, for a reconnected session, the Capture.Sessions index
	// of the session that replaced it; -1 otherwise.
	NextSession int
	// Stall is the session's longest one-way stall, nil if none (only VPN
	// transports are examined).
	Stall *Stall
	// Loss holds the loss facts of a cTCP session, nil for other sessions.
	Loss *Loss
	// Path holds who answers in the endpoints' names, the capture point
	// and the per-direction accounting (TCP sessions; nil otherwise).
	Path *Path
	// Verdict, Confidence and Why judge this session alone (cTCP
	// sessions; empty otherwise); the capture's verdict is the worst.
	Verdict    Verdict
	Confidence Confidence
	Why        string
	// Stop is, for a session affected/probable, the direction whose
	// stream stopped while the other kept sending; nil otherwise.
	Stop *Stop
}

// Finding is one piece of evidence, with the frames that prove it.
type Finding struct {
	// ID names the detector that made it (e.g. "unanswered-retransmit-request").
	ID       string
	Severity Severity
	// Session is the Capture.Sessions index, -1 for capture-wide findings.
	Session int
	// Summary is one sentence for the report.
	Summary string
	// Frames are the evidence frame numbers, ascending.
	Frames []uint64
	// WiresharkFilter is a display filter that shows the evidence.
	WiresharkFilter string
}

// Action is a recommendation's identifier (contract values).
type Action string

// Actions.
const (
	ActionIPsecOverUDP   Action = "ipsec-over-udp"
	ActionNativeESP      Action = "native-esp"
	ActionAnyConnect     Action = "anyconnect"
	ActionTCPStateBypass Action = "tcp-state-bypass"
	ActionFixPacketLoss  Action = "fix-packet-loss"
)

// Recommendation is one ranked fix.
type Recommendation struct {
	Action Action
	// Rank is 1 for the first thing to do.
	Rank int
	// Title is a short heading ("Move the client to IPsec over UDP (NAT-T)").
	Title string
	// Why is drawn from this capture's evidence.
	Why string
	// Config is the configuration to apply, filled in with this capture's
	// addresses and ports where it names them.
	Config string
	// Caution is a plain warning of what the change switches off, if any.
	Caution string
}

// Result is the output of Run.
type Result struct {
	Verdict Verdict
	// VerdictWhy explains the verdict in one sentence.
	VerdictWhy string
	// Confidence says how sure the verdict is; ConfidenceWhy why, what
	// the capture cannot see from where it was taken, and what to
	// capture next.
	Confidence    Confidence
	ConfidenceWhy string
	Sessions      []SessionResult // parallel to Capture.Sessions
	// Transports counts the sessions of each VPN transport seen, in the
	// order of the analyze.Transport constants.
	Transports []TransportCount
	// UDPBlocked lists the Capture.Sessions indexes of the client's IKE
	// (UDP 500) and NAT-T (UDP 4500) flows that got no reply.
	UDPBlocked      []int
	Findings        []Finding
	Recommendations []Recommendation
	// Focus lists the Capture.Sessions indexes a reader should look at
	// first, in order: the affected cTCP sessions, then the at-risk ones;
	// when there are none, the first cTCP session that carried data.
	// Reports draw their graphs for these.
	Focus []int
}
