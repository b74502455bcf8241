package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// Schema is the value of Report.Schema for this version of the JSON
// contract.
const Schema = "ctcpdiag.report/v1"

// TimeLayout is the layout of every time in a Report: RFC 3339 in UTC with
// nine fractional digits, so that times sort as strings.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Report is everything any renderer prints about one capture. Build makes
// it; nothing modifies it afterwards, so a Report may be rendered
// concurrently by several renderers.
type Report struct {
	Schema  string  `json:"schema"`
	Tool    Tool    `json:"tool"`
	Capture Capture `json:"capture"`
	// Verdict is one of "affected", "at-risk", "healthy", "no-ctcp",
	// "inconclusive".
	Verdict string `json:"verdict"`
	// VerdictWhy explains the verdict in one sentence.
	VerdictWhy string `json:"verdict_why"`
	// Confidence is "proven", "probable", "possible", or nil (healthy,
	// no-ctcp, inconclusive); ConfidenceWhy says why, what the capture
	// cannot see from where it was taken and what to capture next.
	Confidence    *string `json:"confidence"`
	ConfidenceWhy string  `json:"confidence_why"`
	// Transports counts the sessions of each VPN transport seen, in the
	// order of the contract's transport list.
	Transports []TransportCount `json:"transports"`
	// Sessions are all TCP sessions and VPN flows of the capture, by ID.
	Sessions []Session `json:"sessions"`
	// Findings are in detect's order, the one every format shows.
	Findings        []Finding        `json:"findings"`
	Recommendations []Recommendation `json:"recommendations"`

	// Listing says which sessions human-oriented renderers list; it is not
	// part of the JSON contract.
	Listing Listing `json:"-"`
	// Evidence is the evidence frames of the TCP sessions the verdict
	// rests on (detect.Result.Focus), in that order, then of any other
	// session BuildWith graphs: what the text, Markdown and HTML reports
	// list under "Evidence". Build makes it without the series, so a
	// report has it with or without graphs. Not part of the JSON
	// contract. Never nil.
	Evidence []SessionEvidence `json:"-"`
	// Graphs are the time-sequence graphs of the sessions BuildWith was
	// given series for, in that order; only the HTML report draws them,
	// each beside its session's Evidence. Not part of the JSON contract.
	// Never nil.
	Graphs []Graph `json:"-"`
}

// Tool names the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Capture describes the input file.
type Capture struct {
	// Path is the name the capture was opened under ("-" for stdin).
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of the bytes as stored.
	SHA256 string `json:"sha256"`
	// Size is the file size in bytes, as stored.
	Size int64 `json:"size"`
	// Format is "pcap", "pcap-nsec" or "pcapng".
	Format string `json:"format"`
	// Compression is "none", "gzip" or "zstd".
	Compression string   `json:"compression"`
	LinkTypes   []string `json:"link_types"`
	Packets     uint64   `json:"packets"`
	// Start and End are the first and last packet times (TimeLayout), nil
	// for a capture without packets.
	Start *string `json:"start"`
	End   *string `json:"end"`
	// Duration is End - Start in seconds (0 without packets).
	Duration float64  `json:"duration_seconds"`
	Warnings []string `json:"warnings"`
	Stats    Stats    `json:"stats"`
}

// Stats are capture-wide counters.
type Stats struct {
	IPPackets    uint64 `json:"ip_packets"`
	TCPPackets   uint64 `json:"tcp_packets"`
	UDPPackets   uint64 `json:"udp_packets"`
	ESPPackets   uint64 `json:"esp_packets"`
	NonIP        uint64 `json:"non_ip_packets"`
	Undecodable  uint64 `json:"undecodable_packets"`
	Fragments    uint64 `json:"fragments"`
	Truncated    uint64 `json:"truncated_packets"`
	TCPStreams   int    `json:"tcp_streams"`
	EvictedFlows uint64 `json:"evicted_flows"`
	// DroppedSessions counts evicted sessions that showed nothing worth
	// listing: counted in the stats, not in sessions.
	DroppedSessions uint64            `json:"dropped_sessions"`
	TCP             analyze.TCPCounts `json:"tcp_analysis"`
}

// TransportCount is the number of sessions of one VPN transport.
type TransportCount struct {
	Transport string `json:"transport"`
	Sessions  int    `json:"sessions"`
}

// Session is one TCP connection or VPN flow.
type Session struct {
	// ID is the session's index in the capture.
	ID int `json:"id"`
	// Stream is Wireshark's tcp.stream or udp.stream index, nil for ESP.
	Stream *int `json:"stream"`
	// Protocol is "tcp", "udp" or "esp".
	Protocol  string `json:"protocol"`
	Transport string `json:"transport"`
	// TransportWhy says how the transport was recognised; TransportSure is
	// false when it is a guess.
	TransportWhy  string `json:"transport_why"`
	TransportSure bool   `json:"transport_sure"`
	// Client and Headend are "ip:port" or "[ipv6]:port" ("ip" alone for
	// ESP, which has no ports).
	Client  string `json:"client"`
	Headend string `json:"headend"`
	// ClientBy says how the client was chosen: "syn", "port" or "first".
	ClientBy        string `json:"client_by"`
	FirstFrame      uint64 `json:"first_frame"`
	LastFrame       uint64 `json:"last_frame"`
	Start           string `json:"start"`
	End             string `json:"end"`
	Packets         uint64 `json:"packets"`
	DupAcks         int    `json:"dup_acks"`
	Retransmissions int    `json:"retransmissions"`
	LostSegments    int    `json:"lost_segments"`
	// Outcome is "stalled", "reset", "closed", "reconnected" or "running";
	// OutcomeFrame is the frame that shows it (0 for running).
	Outcome      string `json:"outcome"`
	OutcomeFrame uint64 `json:"outcome_frame"`
	// NextSession is, for a reconnected session, the ID of the session
	// that replaced it; nil otherwise.
	NextSession *int `json:"next_session"`
	// TimeToOutcome is the time in seconds from the first unanswered
	// retransmit request to the outcome; nil without one.
	TimeToOutcome *float64 `json:"time_to_outcome_seconds"`
	// Stall is the session's longest one-way stall, nil if none.
	Stall *Stall `json:"stall"`
	// RetransmitRequests are the judged requests in frame order.
	RetransmitRequests []RetransmitRequest `json:"retransmit_requests"`
	// Unanswered counts the requests with Answered == false.
	Unanswered int `json:"unanswered_requests"`
	// WiresharkFilter shows the session in Wireshark.
	WiresharkFilter string `json:"wireshark_filter"`

	// Verdict, Confidence and VerdictWhy judge this session alone (cTCP
	// sessions; "" and nil otherwise).
	Verdict           string  `json:"verdict"`
	SessionConfidence *string `json:"confidence"`
	SessionWhy        string  `json:"verdict_why"`
	// CapturePoint is "client-side", "headend-side" or "unknown" (TCP
	// sessions; "" otherwise); CapturePointWhy says how it was placed.
	CapturePoint    string `json:"capture_point"`
	CapturePointWhy string `json:"capture_point_why"`
	// Path is what the session shows about the path (TCP sessions).
	Path *PathInfo `json:"path"`
	// Directions is the per-direction accounting, client->headend first
	// (TCP sessions; empty otherwise).
	Directions []Direction `json:"directions"`
}

// PathInfo says whether a TCP stack in the path answers in a cTCP
// endpoint's name, and the evidence.
type PathInfo struct {
	// TCPStackInPath is true, false, or nil when the capture cannot tell.
	TCPStackInPath *bool          `json:"tcp_stack_in_path"`
	Evidence       []PathEvidence `json:"evidence"`
}

// PathEvidence is one fact about the path.
type PathEvidence struct {
	// Kind is "sack", "resent", "ttl", "ip-id", "timestamps",
	// "mss-clamp", "resegmented" or "hole-acked".
	Kind string `json:"kind"`
	// Direction is "client->headend" or "headend->client": the packets
	// that show it.
	Direction string   `json:"direction"`
	Frames    []uint64 `json:"frames"`
	Detail    string   `json:"detail"`
}

// Direction is the accounting of one direction of a session.
type Direction struct {
	// From and To are the sender's and receiver's addresses as in
	// Session.Client and Session.Headend.
	From         string `json:"from"`
	To           string `json:"to"`
	DataSegments uint64 `json:"data_segments"`
	Bytes        uint64 `json:"bytes"`
	ESPMessages  uint64 `json:"esp_messages"`
	ESPMissing   uint64 `json:"esp_missing"`
	ESPRepeated  uint64 `json:"esp_repeated"`
	// LostBeforeCapture counts holes in the stream (lost between the
	// sender and the capture point), LostAfterCapture requests for bytes
	// seen here (lost between the capture point and the receiver),
	// AckedUnseen ACKs of bytes never captured (capture loss).
	LostBeforeCapture int `json:"lost_before_capture"`
	LostAfterCapture  int `json:"lost_after_capture"`
	AckedUnseen       int `json:"acked_unseen"`
	// LossRate is LossNum / LossDen, nil when nothing was measured;
	// LossBasis is "esp" or "tcp".
	LossNum   uint64   `json:"loss_numerator"`
	LossDen   uint64   `json:"loss_denominator"`
	LossRate  *float64 `json:"loss_rate"`
	LossBasis string   `json:"loss_basis"`
	// CTCPMessages, Coalesced, Split and Unframed describe the cTCP
	// framing of this direction's byte stream.
	CTCPMessages     uint64 `json:"ctcp_messages"`
	Coalesced        uint64 `json:"coalesced_segments"`
	Split            uint64 `json:"split_messages"`
	UnframedSegments uint64 `json:"unframed_segments"`
}

// Stall is a stretch of time in which one side sent no data while the other
// side kept sending.
type Stall struct {
	// Side is "client" or "headend": the side that went silent.
	Side string `json:"side"`
	// FromFrame is its last data frame before the silence; ToFrame its
	// first data frame after it, 0 when the silence lasted to the end of
	// the capture (Open).
	FromFrame uint64  `json:"from_frame"`
	ToFrame   uint64  `json:"to_frame"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Seconds   float64 `json:"seconds"`
	Open      bool    `json:"open"`
	// OtherSegments are the data segments the other side sent meanwhile,
	// the first in OtherFirstFrame.
	OtherSegments   uint64 `json:"other_segments"`
	OtherFirstFrame uint64 `json:"other_first_frame"`
}

// RetransmitRequest is one run of duplicate ACKs asking for the same bytes.
type RetransmitRequest struct {
	// RequestedBy is "client" or "headend": the side that sent the
	// duplicate ACKs.
	RequestedBy string `json:"requested_by"`
	// Ack is the requested sequence number, relative.
	Ack uint32 `json:"ack"`
	// DupAcks is the number of duplicate ACKs; Frames lists the first of
	// them (capped), FirstFrame is Frames[0] ("Dup ACK #1").
	DupAcks    int      `json:"dup_acks"`
	FirstFrame uint64   `json:"first_frame"`
	FirstTime  string   `json:"first_time"`
	Frames     []uint64 `json:"frames"`
	// LastFrame is the last duplicate ACK of the run, of all DupAcks
	// (Frames may stop before it), 0 when unknown; Duration is the time in
	// seconds from the first duplicate ACK to the last. The human-oriented
	// reports print the run's extent from them.
	LastFrame uint64  `json:"last_frame"`
	Duration  float64 `json:"duration_seconds"`
	// SentBy is "endpoint", "path-device" or "unknown": who sent the
	// duplicate ACKs; SentByWhy gives the evidence.
	SentBy    string `json:"sent_by"`
	SentByWhy string `json:"sent_by_why"`
	// RequestedBytesFrame is the frame that carried the requested bytes
	// before the request, 0 when the capture never saw them.
	RequestedBytesFrame uint64 `json:"requested_bytes_frame"`
	// Answered is true, false, or nil when the capture cannot tell.
	Answered *bool `json:"answered"`
	// Why explains the judgement.
	Why string `json:"why"`
}

// Finding is one piece of evidence.
type Finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	// Session is the session ID, nil for capture-wide findings.
	Session *int   `json:"session"`
	Summary string `json:"summary"`
	// Frames are ascending, without repeats.
	Frames          []uint64 `json:"frames"`
	WiresharkFilter string   `json:"wireshark_filter"`
}

// Recommendation is one ranked fix.
type Recommendation struct {
	Action  string `json:"action"`
	Rank    int    `json:"rank"`
	Title   string `json:"title"`
	Why     string `json:"why"`
	Config  string `json:"config"`
	Caution string `json:"caution"`
}

// Listing is the choice of sessions that human-oriented renderers list in
// full: all VPN sessions, and the other sessions that show duplicate ACKs,
// retransmissions or lost segments. The rest are only counted.
type Listing struct {
	// Shown are indexes into Report.Sessions, ascending.
	Shown []int
	// OtherTCP and OtherUDP count the sessions not shown, by protocol.
	OtherTCP, OtherUDP int
}

// Build makes the Report for capture c as judged by r. r may be nil (no
// judgement: verdict "inconclusive", sessions "running"). Build copies
// everything it keeps; c and r are not modified and may be discarded. It
// is BuildWith without extras: the Report has its Evidence but no
// graphs.
func Build(c *analyze.Capture, r *detect.Result, tool Tool) *Report {
	return BuildWith(c, r, tool, Extras{})
}

// BuildWith is Build that also builds a Graph for each series in x (see
// Extras), and lists the Evidence of a graphed session that is not in
// r.Focus too. It copies everything it keeps; c, r and x are not modified and
// may be discarded.
func BuildWith(c *analyze.Capture, r *detect.Result, tool Tool, x Extras) *Report {
	if r == nil {
		r = &detect.Result{Verdict: detect.Inconclusive, VerdictWhy: "the capture was not judged"}
	}
	rep := &Report{
		Schema:          Schema,
		Tool:            tool,
		Capture:         buildCapture(c),
		Verdict:         string(r.Verdict),
		VerdictWhy:      r.VerdictWhy,
		ConfidenceWhy:   r.ConfidenceWhy,
		Transports:      make([]TransportCount, 0, len(r.Transports)),
		Sessions:        make([]Session, 0, len(c.Sessions)),
		Findings:        make([]Finding, 0, len(r.Findings)),
		Recommendations: make([]Recommendation, 0, len(r.Recommendations)),
	}
	if r.Confidence != detect.NoConfidence {
		rep.Confidence = new(string(r.Confidence))
	}
	for _, tc := range r.Transports {
		rep.Transports = append(rep.Transports, TransportCount{Transport: string(tc.Transport), Sessions: tc.Sessions})
	}
	streams := make([]int, len(c.Sessions))
	for i, s := range c.Sessions {
		var sr *detect.SessionResult
		if i < len(r.Sessions) && r.Sessions[i].Session == s {
			sr = &r.Sessions[i]
		} else {
			for j := range r.Sessions {
				if r.Sessions[j].Session == s {
					sr = &r.Sessions[j]
					break
				}
			}
		}
		rep.Sessions = append(rep.Sessions, buildSession(s, sr, &streams[i]))
	}
	byID := func(a, b Session) int { return cmp.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(rep.Sessions, byID) {
		slices.SortStableFunc(rep.Sessions, byID)
	}

	rep.Listing = buildListing(rep.Sessions)

	findingSessions := make([]int, len(r.Findings))
	for i, f := range r.Findings {
		rf := Finding{
			ID:              f.ID,
			Severity:        string(f.Severity),
			Summary:         f.Summary,
			Frames:          append([]uint64{}, f.Frames...),
			WiresharkFilter: f.WiresharkFilter,
		}
		if f.Session >= 0 {
			findingSessions[i] = f.Session
			rf.Session = &findingSessions[i]
		}
		rep.Findings = append(rep.Findings, rf)
	}

	for _, rc := range r.Recommendations {
		rep.Recommendations = append(rep.Recommendations, Recommendation{
			Action:  string(rc.Action),
			Rank:    rc.Rank,
			Title:   rc.Title,
			Why:     rc.Why,
			Config:  rc.Config,
			Caution: rc.Caution,
		})
	}
	slices.SortStableFunc(rep.Recommendations, func(a, b Recommendation) int { return cmp.Compare(a.Rank, b.Rank) })

	rep.Evidence = buildEvidence(c, r, rep, x.Series)
	rep.Graphs = buildGraphs(c, r, rep, x.Series)
	return rep
}

func buildCapture(c *analyze.Capture) Capture {
	rc := Capture{
		Path:        c.Path,
		SHA256:      c.SHA256,
		Size:        c.Size,
		Format:      c.Format,
		Compression: c.Compression,
		LinkTypes:   append([]string{}, c.LinkTypes...),
		Packets:     c.Packets,
		Warnings:    append([]string{}, c.Warnings...),
		Stats: Stats{
			IPPackets:       c.Stats.IPPackets,
			TCPPackets:      c.Stats.TCPPackets,
			UDPPackets:      c.Stats.UDPPackets,
			ESPPackets:      c.Stats.ESPPackets,
			NonIP:           c.Stats.NonIP,
			Undecodable:     c.Stats.Undecodable,
			Fragments:       c.Stats.Fragments,
			Truncated:       c.Stats.Truncated,
			TCPStreams:      c.Stats.TCPStreams,
			EvictedFlows:    c.Stats.EvictedFlows,
			DroppedSessions: c.Stats.DroppedSessions,
			TCP:             c.Stats.TCP,
		},
	}
	slices.Sort(rc.LinkTypes)
	if c.Packets > 0 {
		rc.Start = new(FormatTime(c.Start))
		rc.End = new(FormatTime(c.End))
		rc.Duration = time.Duration(c.End - c.Start).Seconds()
	}
	return rc
}

// buildSession makes the Session for s. stream is where it keeps the
// value of Session.Stream, so that the sessions of a report share one
// allocation for it.
func buildSession(s *analyze.Session, sr *detect.SessionResult, stream *int) Session {
	rs := Session{
		ID:              s.ID,
		Protocol:        protocolName(s.Proto),
		Transport:       string(s.Transport),
		TransportWhy:    s.TransportWhy,
		TransportSure:   s.TransportSure,
		ClientBy:        s.ClientBy,
		FirstFrame:      s.FirstFrame,
		LastFrame:       s.LastFrame,
		Packets:         s.Packets,
		DupAcks:         s.Counts.DupAcks,
		Retransmissions: s.Counts.Retransmissions,
		LostSegments:    s.Counts.LostSegments,
		Outcome:         string(detect.Running),
	}
	rs.Client, rs.Headend, rs.Start, rs.End, rs.WiresharkFilter = sessionStrings(s)
	if s.Proto != 50 && s.Stream >= 0 {
		*stream = s.Stream
		rs.Stream = stream
	}
	rs.RetransmitRequests = []RetransmitRequest{}
	rs.Directions = []Direction{}
	if sr == nil {
		return rs
	}
	if sr.Outcome != "" {
		rs.Outcome = string(sr.Outcome)
	}
	rs.OutcomeFrame = sr.OutcomeFrame
	if sr.Outcome == detect.Reconnected && sr.NextSession >= 0 {
		rs.NextSession = new(sr.NextSession)
	}
	if sr.FirstUnanswered != nil {
		rs.TimeToOutcome = new(time.Duration(sr.TimeToOutcome).Seconds())
	}
	if st := sr.Stall; st != nil {
		rs.Stall = &Stall{
			Side:            st.Dir.Side(),
			FromFrame:       st.Silence.FromFrame,
			ToFrame:         st.Silence.ToFrame,
			From:            FormatTime(st.Silence.From),
			To:              FormatTime(st.Silence.To),
			Seconds:         time.Duration(st.Silence.Duration()).Seconds(),
			Open:            st.Silence.Open,
			OtherSegments:   st.Silence.OtherSegments,
			OtherFirstFrame: st.Silence.OtherFirstFrame,
		}
	}
	for _, q := range sr.Requests {
		if q.Run == nil {
			continue
		}
		rq := RetransmitRequest{
			RequestedBy: q.Run.By.Side(),
			Ack:         q.Run.Ack,
			DupAcks:     q.Run.Count,
			FirstTime:   FormatTime(q.Run.FirstTime),
			Frames:      append([]uint64{}, q.Run.Frames...),
			LastFrame:   runLastFrame(q.Run),
			Duration:    runSeconds(q.Run),
			Why:         q.Why,
			SentBy:      string(q.SentBy),
			SentByWhy:   q.SentByWhy,

			RequestedBytesFrame: q.Run.RequestedFrame,
		}
		if rq.SentBy == "" {
			rq.SentBy = string(detect.SentByUnknown)
		}
		if len(q.Run.Frames) > 0 {
			rq.FirstFrame = q.Run.Frames[0]
		}
		switch q.Answer {
		case detect.Answered:
			rq.Answered = new(true)
		case detect.Unanswered:
			rq.Answered = new(false)
			rs.Unanswered++
		}
		rs.RetransmitRequests = append(rs.RetransmitRequests, rq)
	}
	slices.SortStableFunc(rs.RetransmitRequests, func(a, b RetransmitRequest) int {
		return cmp.Compare(a.FirstFrame, b.FirstFrame)
	})
	if sr.Verdict != "" {
		rs.Verdict, rs.SessionWhy = string(sr.Verdict), sr.Why
		if sr.Confidence != detect.NoConfidence {
			rs.SessionConfidence = new(string(sr.Confidence))
		}
	}
	if pa := sr.Path; pa != nil {
		rs.CapturePoint, rs.CapturePointWhy = string(pa.CapturePoint), pa.CapturePointWhy
		pi := &PathInfo{Evidence: make([]PathEvidence, 0, len(pa.Evidence))}
		if pa.TCPStack != nil {
			pi.TCPStackInPath = new(*pa.TCPStack)
		}
		for _, e := range pa.Evidence {
			pi.Evidence = append(pi.Evidence, PathEvidence{
				Kind: e.Kind, Direction: dirName(e.Dir), Frames: append([]uint64{}, e.Frames...), Detail: e.Detail,
			})
		}
		rs.Path = pi
		for d := range pa.Dirs {
			a := &pa.Dirs[d]
			f := &s.Framing[d]
			rd := Direction{
				From: rs.Client, To: rs.Headend,
				DataSegments: a.DataSegments, Bytes: a.Bytes,
				ESPMessages: a.ESPMessages, ESPMissing: a.ESPMissing, ESPRepeated: a.ESPRepeated,
				LostBeforeCapture: a.LostBeforeCapture, LostAfterCapture: a.LostAfterCapture, AckedUnseen: a.AckedUnseen,
				LossNum: a.Num, LossDen: a.Den, LossBasis: a.Basis,
				CTCPMessages: f.Messages, Coalesced: f.Coalesced, Split: f.Split, UnframedSegments: f.UnframedSegments,
			}
			if a.Dir == analyze.HeadendToClient {
				rd.From, rd.To = rs.Headend, rs.Client
			}
			if a.Den > 0 {
				rd.LossRate = new(a.Rate())
			}
			rs.Directions = append(rs.Directions, rd)
		}
	}
	return rs
}

// dirName is "client->headend" or "headend->client".
func dirName(d analyze.Dir) string { return d.Side() + "->" + d.Other().Side() }

func buildListing(rs []Session) Listing {
	var l Listing
	for i := range rs {
		switch {
		case listed(&rs[i]):
		case rs[i].Protocol == "tcp":
			l.OtherTCP++
		default:
			l.OtherUDP++
		}
	}
	l.Shown = make([]int, 0, len(rs)-l.OtherTCP-l.OtherUDP)
	for i := range rs {
		if listed(&rs[i]) {
			l.Shown = append(l.Shown, i)
		}
	}
	return l
}

// listed says whether human-oriented renderers list s in full (see
// Listing).
func listed(s *Session) bool {
	vpn := analyze.Transport(s.Transport).IsVPN()
	return vpn || s.DupAcks > 0 || s.Retransmissions > 0 || s.LostSegments > 0 || len(s.RetransmitRequests) > 0
}

// FormatTime formats ns (nanoseconds since the Unix epoch) with TimeLayout.
func FormatTime(ns int64) string {
	var buf [len("2006-01-02T15:04:05.000000000Z")]byte
	return string(appendTime(buf[:0], ns))
}

// appendTime appends ns formatted with TimeLayout to b, as
// time.Time.AppendFormat does but without interpreting the layout: it is
// on the path of every session of every report. Every int64 of
// nanoseconds falls in the years 1677 to 2262, so the year has four digits.
func appendTime(b []byte, ns int64) []byte {
	t := time.Unix(0, ns).UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	frac := t.Nanosecond()
	return append(b,
		digit(year/1000), digit(year/100), digit(year/10), digit(year), '-',
		digit(int(month)/10), digit(int(month)), '-',
		digit(day/10), digit(day), 'T',
		digit(hour/10), digit(hour), ':',
		digit(minute/10), digit(minute), ':',
		digit(sec/10), digit(sec), '.',
		digit(frac/1e8), digit(frac/1e7), digit(frac/1e6),
		digit(frac/1e5), digit(frac/1e4), digit(frac/1e3),
		digit(frac/100), digit(frac/10), digit(frac), 'Z')
}

// digit returns the last decimal digit of n >= 0.
func digit(n int) byte { return byte('0' + n%10) }

// FormatAddr writes ap as "ip:port" ("[ipv6]:port"); for ESP (proto 50),
// which has no ports, the address alone. An invalid address is written
// as "".
func FormatAddr(ap netip.AddrPort, proto uint8) string {
	var buf [64]byte
	return string(appendAddr(buf[:0], ap, proto))
}

// appendAddr appends ap formatted as FormatAddr does to b.
func appendAddr(b []byte, ap netip.AddrPort, proto uint8) []byte {
	if !ap.Addr().IsValid() {
		return b
	}
	if proto == 50 {
		return ap.Addr().Unmap().AppendTo(b)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(b)
}

// sessionStrings formats the client, the headend, the start and end times
// and the Wireshark filter of s. They share one allocation, as they live
// as long as the report.
func sessionStrings(s *analyze.Session) (client, headend, start, end, filter string) {
	var buf [256]byte
	var ends [4]int
	b := appendAddr(buf[:0], s.Client, s.Proto)
	ends[0] = len(b)
	b = appendAddr(b, s.Headend, s.Proto)
	ends[1] = len(b)
	b = appendTime(b, s.FirstTime)
	ends[2] = len(b)
	b = appendTime(b, s.LastTime)
	ends[3] = len(b)
	b = appendSessionFilter(b, s)
	all := string(b)
	return all[:ends[0]], all[ends[0]:ends[1]], all[ends[1]:ends[2]], all[ends[2]:ends[3]], all[ends[3]:]
}

func protocolName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 50:
		return "esp"
	}
	return fmt.Sprintf("ip-proto-%d", p)
}

// appendSessionFilter appends a Wireshark display filter that shows
// session s to b.
func appendSessionFilter(b []byte, s *analyze.Session) []byte {
	switch {
	case s.Proto == 6 && s.Stream >= 0:
		return strconv.AppendInt(append(b, "tcp.stream eq "...), int64(s.Stream), 10)
	case s.Proto == 17 && s.Stream >= 0:
		return strconv.AppendInt(append(b, "udp.stream eq "...), int64(s.Stream), 10)
	}
	client, headend := s.Client.Addr().Unmap(), s.Headend.Addr().Unmap()
	if !client.IsValid() || !headend.IsValid() {
		return b
	}
	ip := "ip"
	if client.Is6() {
		ip = "ipv6"
	}
	b = append(append(b, ip...), ".addr eq "...)
	b = client.AppendTo(b)
	b = append(append(append(b, " && "...), ip...), ".addr eq "...)
	b = headend.AppendTo(b)
	return append(b, " && esp"...)
}
