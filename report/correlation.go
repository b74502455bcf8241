package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// CorrelationSchema is the value of Correlation.Schema.
const CorrelationSchema = "ctcpdiag.correlation/v1"

// Verdict of a correlation with nothing in common.
const VerdictNoMatch = "no-match"

// Correlation is everything any renderer prints about two captures of
// the same traffic taken at two points (ctcpdiag correlate A B).
// BuildCorrelation makes it; nothing modifies it afterwards. The JSON
// contract is docs/json.md, "ctcpdiag.correlation/v1".
type Correlation struct {
	Schema string  `json:"schema"`
	Tool   Tool    `json:"tool"`
	A      Capture `json:"a"`
	B      Capture `json:"b"`
	// ClockOffset is B's clock minus A's, in seconds; ClockOffsetKnown
	// is false when no pair matched traffic both ways (then 0, the
	// clocks assumed in step).
	ClockOffset      float64 `json:"clock_offset_seconds"`
	ClockOffsetKnown bool    `json:"clock_offset_known"`
	// JudgedMargin is how far inside both captures' windows, after the
	// offset, a message must lie to be judged, in seconds.
	JudgedMargin float64 `json:"judged_margin_seconds"`
	// Verdict is "affected", "at-risk", "healthy", "no-ctcp" (pairs, none
	// of them cTCP) or "no-match" (nothing in common).
	Verdict       string  `json:"verdict"`
	VerdictWhy    string  `json:"verdict_why"`
	Confidence    *string `json:"confidence"`
	ConfidenceWhy string  `json:"confidence_why"`
	// Timeline tells the failure (or the pair) in one paragraph, from
	// measured facts only; "" when there is no pair.
	Timeline string `json:"timeline"`
	// AVerdict and BVerdict are each file's verdict analyzed alone.
	AVerdict SideVerdict `json:"a_verdict"`
	BVerdict SideVerdict `json:"b_verdict"`
	// ClientSide is "a" or "b": the capture point nearer the client, ""
	// when no pair tells.
	ClientSide string     `json:"client_side"`
	Pairs      []CorrPair `json:"pairs"`
	// UnpairedA and UnpairedB are the session IDs (in each file's own
	// analysis) of the VPN sessions that matched nothing.
	UnpairedA []int `json:"unpaired_a"`
	UnpairedB []int `json:"unpaired_b"`
	// CannotSee lists what the two captures cannot see, in sentences.
	CannotSee       []string         `json:"cannot_see"`
	Findings        []CorrFinding    `json:"findings"`
	Recommendations []Recommendation `json:"recommendations"`
	// Messages is the number of messages read per file.
	MessagesA int `json:"messages_a"`
	MessagesB int `json:"messages_b"`
	// HeldPeak is the most messages of each file held at once while
	// streaming (memory use); Forced counts those forced out by the
	// matcher's cap before their counterpart could be looked for (not
	// judged).
	HeldPeakA int `json:"held_peak_a"`
	HeldPeakB int `json:"held_peak_b"`
	ForcedA   int `json:"forced_a"`
	ForcedB   int `json:"forced_b"`
}

// SideVerdict is one file's verdict analyzed alone.
type SideVerdict struct {
	Verdict    string  `json:"verdict"`
	Confidence *string `json:"confidence"`
	Why        string  `json:"verdict_why"`
}

// CorrPair is one session of A matched with one of B.
type CorrPair struct {
	ASession int `json:"a_session"`
	BSession int `json:"b_session"`
	// Transport is A's session's transport.
	Transport string `json:"transport"`
	// AClient etc. are the endpoints as each file saw them.
	AClient  string `json:"a_client"`
	AHeadend string `json:"a_headend"`
	BClient  string `json:"b_client"`
	BHeadend string `json:"b_headend"`
	// MatchedBy is "esp-spi", "ike-spi", "addresses" or "payload";
	// MatchedOn says what exactly, in words; SPIs lists them (hex).
	MatchedBy   string   `json:"matched_by"`
	MatchedOn   string   `json:"matched_on"`
	SPIs        []string `json:"spis"`
	TCPRelation string   `json:"tcp_relation"`
	RelationWhy []string `json:"relation_why"`
	// Verdict, Confidence and VerdictWhy judge this pair.
	Verdict    string  `json:"verdict"`
	Confidence *string `json:"confidence"`
	VerdictWhy string  `json:"verdict_why"`
	// Directions: client->headend first (as seen in A).
	Directions []CorrDirection `json:"directions"`
	// GeneratedBetween are packets seen at the downstream point of their
	// direction only (the device between made them); AbsorbedBetween
	// those seen at the upstream point only (the device did not pass
	// them on).
	GeneratedBetween []CorrEvent `json:"generated_between"`
	AbsorbedBetween  []CorrEvent `json:"absorbed_between"`
}

// CorrDirection is one direction of a pair, as seen in A.
type CorrDirection struct {
	From  string `json:"from"`
	To    string `json:"to"`
	BFrom string `json:"b_from"`
	BTo   string `json:"b_to"`
	// Upstream is "a" or "b", "" when no message of the direction was
	// seen at both points.
	Upstream string `json:"upstream"`
	// Both, AOnly and BOnly count ESP messages (judged ones only).
	Both  int `json:"both"`
	AOnly int `json:"a_only"`
	BOnly int `json:"b_only"`
	// LostCount (upstream only) and GeneratedCount (downstream only).
	LostCount      int `json:"lost_count"`
	GeneratedCount int `json:"generated_count"`
	NotJudged      int `json:"not_judged"`
	Repeats        int `json:"repeats"`
	IKEBoth        int `json:"ike_both"`
	IKEAOnly       int `json:"ike_a_only"`
	IKEBOnly       int `json:"ike_b_only"`
	// FirstLost is Lost[0], nil when none.
	FirstLost *LostMessage  `json:"first_lost"`
	Lost      []LostMessage `json:"lost"`
	// Delay is nil when no message was seen at both points.
	Delay *DelayMS `json:"delay_ms"`
	// SequenceOffset is B's TCP sequence number minus A's for the same
	// message (signed 32-bit), nil when not one constant value.
	SequenceOffset *int64 `json:"sequence_offset"`
}

// LostMessage is one ESP message seen at the upstream point only.
type LostMessage struct {
	ESPSPI string  `json:"esp_spi"`
	ESPSeq uint32  `json:"esp_seq"`
	AFrame *uint64 `json:"a_frame"`
	BFrame *uint64 `json:"b_frame"`
	// Time is its time at the upstream point (that file's clock).
	Time string `json:"time"`
	// Before and After are the nearest messages of the direction seen
	// at both points, nil when none.
	Before *MessageFrames `json:"before"`
	After  *MessageFrames `json:"after"`
}

// MessageFrames is one message seen at both points.
type MessageFrames struct {
	ESPSPI string `json:"esp_spi"`
	ESPSeq uint32 `json:"esp_seq"`
	AFrame uint64 `json:"a_frame"`
	BFrame uint64 `json:"b_frame"`
}

// DelayMS is the one-way delay between the points, in milliseconds.
type DelayMS struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
}

// CorrEvent is a group of TCP control packets seen at one point only.
type CorrEvent struct {
	Kind      string   `json:"kind"`
	Side      string   `json:"side"`
	Direction string   `json:"direction"`
	Count     int      `json:"count"`
	Frames    []uint64 `json:"frames"`
	FirstTime string   `json:"first_time"`
}

// CorrFinding is a finding of the correlation (Side "pair") or of one
// file's own analysis (Side "a" or "b", Session in that file).
type CorrFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	// Side is "a", "b" (frames in that file) or "pair".
	Side string `json:"side"`
	// Pair is the index in pairs, nil for a file's own finding.
	Pair            *int     `json:"pair"`
	Session         *int     `json:"session"`
	Summary         string   `json:"summary"`
	Frames          []uint64 `json:"frames"`
	FrameSide       string   `json:"frames_in"`
	WiresharkFilter string   `json:"wireshark_filter"`
}

// BuildCorrelation makes the Correlation of res, with da and db the
// detect results of res.A and res.B (nil: not judged).
func BuildCorrelation(res *correlate.Result, da, db *detect.Result, tool Tool) *Correlation {
	if da == nil {
		da = &detect.Result{Verdict: detect.Inconclusive, VerdictWhy: "the capture was not judged"}
	}
	if db == nil {
		db = &detect.Result{Verdict: detect.Inconclusive, VerdictWhy: "the capture was not judged"}
	}
	c := &Correlation{
		Schema:           CorrelationSchema,
		Tool:             tool,
		A:                buildCapture(res.A),
		B:                buildCapture(res.B),
		ClockOffset:      time.Duration(res.ClockOffset).Seconds(),
		ClockOffsetKnown: res.OffsetKnown,
		JudgedMargin:     time.Duration(res.Margin).Seconds(),
		AVerdict:         sideVerdict(da),
		BVerdict:         sideVerdict(db),
		Pairs:            []CorrPair{},
		UnpairedA:        append([]int{}, res.UnpairedA...),
		UnpairedB:        append([]int{}, res.UnpairedB...),
		CannotSee:        []string{},
		Findings:         []CorrFinding{},
		Recommendations:  []Recommendation{},
		MessagesA:        res.MessagesA,
		MessagesB:        res.MessagesB,
		HeldPeakA:        res.PeakHeldA,
		HeldPeakB:        res.PeakHeldB,
		ForcedA:          res.ForcedA,
		ForcedB:          res.ForcedB,
	}
	best := -1 // the pair the verdict rests on
	for i := range res.Pairs {
		p := &res.Pairs[i]
		cp := buildPair(res, p, da, db)
		c.Pairs = append(c.Pairs, cp)
		if c.ClientSide == "" {
			c.ClientSide = p.Directions[analyze.ClientToHeadend].Upstream
			if c.ClientSide == "" && p.Directions[analyze.HeadendToClient].Upstream != "" {
				c.ClientSide = OtherSide(p.Directions[analyze.HeadendToClient].Upstream)
			}
		}
		if best < 0 || worse(cp.Verdict, cp.Confidence, c.Pairs[best].Verdict, c.Pairs[best].Confidence) {
			best = i
		}
	}
	if best < 0 {
		c.Verdict = VerdictNoMatch
		c.VerdictWhy = fmt.Sprintf("the two captures have no session in common: no ESP SPI, IKE SPI or TCP connection of A (%s) is in B (%s)", plural(int64(len(res.UnpairedA)), "VPN session", "VPN sessions"), plural(int64(len(res.UnpairedB)), "VPN session", "VPN sessions"))
		c.ConfidenceWhy = "they may be captures of different traffic, or of different times; check that both were taken during the same connection attempt"
	} else {
		bp := &c.Pairs[best]
		c.Verdict, c.Confidence = bp.Verdict, bp.Confidence
		c.VerdictWhy = fmt.Sprintf("pair %d (A session %d, B session %d): %s", best, bp.ASession, bp.BSession, bp.VerdictWhy)
		c.ConfidenceWhy = confidenceWhy(bp)
		c.Timeline = timeline(res, &res.Pairs[best], bp, da, db, c.ClientSide)
	}
	c.CannotSee = cannotSee(res, c)
	c.Findings = corrFindings(res, c, da, db)
	c.Recommendations = corrRecommendations(c, da, db)
	return c
}

func sideVerdict(r *detect.Result) SideVerdict {
	v := SideVerdict{Verdict: string(r.Verdict), Why: r.VerdictWhy}
	if r.Confidence != detect.NoConfidence {
		v.Confidence = new(string(r.Confidence))
	}
	return v
}

// OtherSide is "b" for "a" and "a" for "b" (the sides of a
// correlation), "" for anything else.
func OtherSide(s string) string {
	switch s {
	case "a":
		return "b"
	case "b":
		return "a"
	}
	return ""
}

// verdictRank orders verdicts from best (0) to worst.
func verdictRank(v string, conf *string) int {
	r := map[string]int{"no-match": 0, "no-ctcp": 1, "healthy": 2, "inconclusive": 3, "at-risk": 10, "affected": 20}[v]
	if conf != nil {
		r += map[string]int{"possible": 1, "probable": 2, "proven": 3}[*conf]
	}
	return r
}

func worse(v string, c *string, than string, thanC *string) bool {
	return verdictRank(v, c) > verdictRank(than, thanC)
}

func spiHex(x uint32) string { return fmt.Sprintf("0x%08x", x) }

func dirIndex(d analyze.Dir) int { return int(d) }

func buildPair(res *correlate.Result, p *correlate.Pair, da, db *detect.Result) CorrPair {
	cp := CorrPair{
		ASession:         p.A.ID,
		BSession:         p.B.ID,
		Transport:        string(p.A.Transport),
		AClient:          FormatAddr(p.A.Client, p.A.Proto),
		AHeadend:         FormatAddr(p.A.Headend, p.A.Proto),
		BClient:          FormatAddr(p.B.Client, p.B.Proto),
		BHeadend:         FormatAddr(p.B.Headend, p.B.Proto),
		MatchedBy:        p.MatchedBy,
		SPIs:             []string{},
		TCPRelation:      p.Relation,
		RelationWhy:      append([]string{}, p.RelationWhy...),
		Directions:       []CorrDirection{},
		GeneratedBetween: []CorrEvent{},
		AbsorbedBetween:  []CorrEvent{},
	}
	for _, s := range p.SPIs {
		cp.SPIs = append(cp.SPIs, spiHex(s))
	}
	switch p.MatchedBy {
	case correlate.MatchedESPSPI:
		cp.MatchedOn = "the ESP SPIs " + strings.Join(cp.SPIs, " and ") + ", seen in both files"
	case correlate.MatchedIKESPI:
		cp.MatchedOn = "the IKE initiator SPI (first 4 bytes " + strings.Join(cp.SPIs, ", ") + "), seen in both files"
	case correlate.MatchedAddresses:
		cp.MatchedOn = "the same addresses and ports at both points, at overlapping times"
	case correlate.MatchedPayload:
		cp.MatchedOn = "the same first 32 bytes of a TCP direction's stream at both points (e.g. a TLS hello with its random), no direction differing"
	default:
		cp.MatchedOn = p.MatchedBy
	}
	if cp.AClient != cp.BClient || cp.AHeadend != cp.BHeadend {
		cp.MatchedOn += fmt.Sprintf("; the addresses differ (A %s -> %s, B %s -> %s): NAT between the points", cp.AClient, cp.AHeadend, cp.BClient, cp.BHeadend)
	}
	for d := range p.Directions {
		cp.Directions = append(cp.Directions, buildCorrDirection(res, p, &p.Directions[d]))
	}
	for _, e := range p.Generated {
		cp.GeneratedBetween = append(cp.GeneratedBetween, buildCorrEvent(p, e))
	}
	for _, e := range p.Absorbed {
		cp.AbsorbedBetween = append(cp.AbsorbedBetween, buildCorrEvent(p, e))
	}
	pairVerdict(p, &cp, da, db)
	return cp
}

func buildCorrEvent(p *correlate.Pair, e correlate.Event) CorrEvent {
	d := &p.Directions[dirIndex(e.Dir)]
	return CorrEvent{
		Kind: e.Kind, Side: e.Side, Count: e.Count,
		Direction: FormatAddr(d.From, p.A.Proto) + "->" + FormatAddr(d.To, p.A.Proto),
		Frames:    append([]uint64{}, e.Frames...), FirstTime: FormatTime(e.FirstTime),
	}
}

func buildCorrDirection(res *correlate.Result, p *correlate.Pair, d *correlate.Direction) CorrDirection {
	cd := CorrDirection{
		From: FormatAddr(d.From, p.A.Proto), To: FormatAddr(d.To, p.A.Proto),
		Upstream: d.Upstream, Both: d.Both, AOnly: d.AOnly, BOnly: d.BOnly,
		LostCount: d.Lost, GeneratedCount: d.Generated, NotJudged: d.NotJudged, Repeats: d.Repeats,
		IKEBoth: d.IKEBoth, IKEAOnly: d.IKEAOnly, IKEBOnly: d.IKEBOnly,
		Lost: []LostMessage{},
	}
	bf, bt := p.B.Client, p.B.Headend
	if d.BDir == analyze.HeadendToClient {
		bf, bt = bt, bf
	}
	cd.BFrom, cd.BTo = FormatAddr(bf, p.B.Proto), FormatAddr(bt, p.B.Proto)
	for _, l := range d.LostMessages {
		cd.Lost = append(cd.Lost, buildLost(l))
	}
	if len(cd.Lost) > 0 {
		cd.FirstLost = &cd.Lost[0]
	}
	if d.Delay.N > 0 {
		ms := func(ns int64) float64 { return float64(ns/1000) / 1000 }
		cd.Delay = &DelayMS{N: d.Delay.N, Median: ms(d.Delay.Median), P99: ms(d.Delay.P99), Max: ms(d.Delay.Max)}
	}
	if d.SeqOffsetConstant {
		cd.SequenceOffset = new(int64(int32(d.SeqOffset)))
	}
	return cd
}

func buildLost(l correlate.Lost) LostMessage {
	m := LostMessage{ESPSPI: spiHex(l.SPI), ESPSeq: l.Seq, Time: FormatTime(l.Time)}
	if l.AFrame != 0 {
		m.AFrame = new(l.AFrame)
	}
	if l.BFrame != 0 {
		m.BFrame = new(l.BFrame)
	}
	fr := func(f correlate.Frames) *MessageFrames {
		if f.AFrame == 0 && f.BFrame == 0 {
			return nil
		}
		return &MessageFrames{ESPSPI: spiHex(f.SPI), ESPSeq: f.Seq, AFrame: f.AFrame, BFrame: f.BFrame}
	}
	m.Before, m.After = fr(l.Before), fr(l.After)
	return m
}

// sessionResult returns r's result for session id, nil when none.
func sessionResult(r *detect.Result, id int) *detect.SessionResult {
	if id >= 0 && id < len(r.Sessions) {
		return &r.Sessions[id]
	}
	return nil
}

// lossDir returns the direction of p with the earliest loss between the
// points, nil when none.
func lossDir(p *correlate.Pair) *correlate.Direction {
	var out *correlate.Direction
	for d := range p.Directions {
		x := &p.Directions[d]
		if x.FirstLost != nil && (out == nil || x.FirstLost.Time < out.FirstLost.Time) {
			out = x
		}
	}
	return out
}

// deviceDupAcks returns the duplicate ACKs the device between sent to
// the sender of direction d (seen at d's upstream point only), nil when
// none.
func deviceDupAcks(p *correlate.Pair, d *correlate.Direction) *correlate.Event {
	for i := range p.Generated {
		e := &p.Generated[i]
		if e.Kind == correlate.EventDupAck && e.Side == d.Upstream && &p.Directions[dirIndex(e.Dir)] != d {
			return e
		}
	}
	return nil
}

// pairVerdict judges one pair (docs/json.md, "Verdict of a pair").
func pairVerdict(p *correlate.Pair, cp *CorrPair, da, db *detect.Result) {
	set := func(v string, conf detect.Confidence, why string) {
		cp.Verdict, cp.VerdictWhy = v, why
		cp.Confidence = nil
		if conf != detect.NoConfidence {
			cp.Confidence = new(string(conf))
		}
	}
	ctcp := p.A.Transport == analyze.TransportCTCP || p.B.Transport == analyze.TransportCTCP
	if !ctcp {
		set(string(detect.NoCTCP), detect.NoConfidence, fmt.Sprintf("a %s session, not cTCP: the cTCP failure cannot happen here", transportLabel(string(p.A.Transport))))
		return
	}
	sa, sb := sessionResult(da, p.A.ID), sessionResult(db, p.B.ID)
	side := func() (string, *detect.SessionResult) {
		var best *detect.SessionResult
		name := ""
		for _, x := range []struct {
			n string
			s *detect.SessionResult
		}{{"A", sa}, {"B", sb}} {
			if x.s == nil || x.s.Verdict == "" {
				continue
			}
			var bc *string
			if best != nil && best.Confidence != detect.NoConfidence {
				bc = new(string(best.Confidence))
			}
			var xc *string
			if x.s.Confidence != detect.NoConfidence {
				xc = new(string(x.s.Confidence))
			}
			if best == nil || worse(string(x.s.Verdict), xc, string(best.Verdict), bc) {
				best, name = x.s, x.n
			}
		}
		return name, best
	}
	sideName, sr := side()
	if ld := lossDir(p); ld != nil {
		fl := ld.FirstLost
		stopped := fl.After.AFrame == 0 && fl.After.BFrame == 0
		dup := deviceDupAcks(p, ld)
		what := fmt.Sprintf("ESP %s #%d was lost between the two capture points", spiHex(fl.SPI), fl.Seq)
		switch {
		case dup != nil && stopped:
			set(string(detect.Affected), detect.Proven, fmt.Sprintf("%s; the device between answered with %s (seen in %s only) and passed nothing of the direction past the hole: a TCP-terminating device waited for a resend that cTCP never sends",
				what, plural(int64(dup.Count), "duplicate ACK", "duplicate ACKs"), strings.ToUpper(dup.Side)))
		case sr != nil && sr.Verdict == detect.Affected:
			set(string(detect.Affected), sr.Confidence, fmt.Sprintf("%s; %s analyzed alone: %s", what, sideName, sr.Why))
		case stopped && p.Relation == correlate.RelationTerminated:
			set(string(detect.Affected), detect.Probable, what+"; the device between terminates TCP and passed nothing of the direction past the hole")
		case stopped:
			set(string(detect.AtRisk), detect.Possible, what+"; the downstream capture saw nothing of the direction past the hole, but no device between is seen holding the stream")
		case p.Relation == correlate.RelationTerminated:
			set(string(detect.AtRisk), detect.Probable, what+"; data went on past the hole, but the device between terminates TCP: one lost segment it must resend for the endpoint will stall this tunnel")
		default:
			set(string(detect.Healthy), detect.NoConfidence, what+"; data went on past every hole and the device between does not terminate TCP: the loss was tolerated")
		}
		return
	}
	switch {
	case sr != nil && (sr.Verdict == detect.Affected || sr.Verdict == detect.AtRisk):
		set(string(sr.Verdict), sr.Confidence, fmt.Sprintf("no message was lost between the two capture points; %s analyzed alone: %s", sideName, sr.Why))
	case p.Relation == correlate.RelationTerminated:
		set(string(detect.AtRisk), detect.Probable, "no message was lost between the two capture points, but the device between terminates TCP (a proxy): one lost segment will stall this tunnel")
	default:
		set(string(detect.Healthy), detect.NoConfidence, "no message was lost between the two capture points and the device between does not hold the stream")
	}
}

func confidenceWhy(cp *CorrPair) string {
	if cp.Confidence == nil {
		return ""
	}
	switch *cp.Confidence {
	case string(detect.Proven):
		return "both captures show it: the message left one point and never reached the other, and the device between answered in the endpoint's name"
	case string(detect.Probable):
		return "the captures show the loss or the device between, not both the loss and its unanswered request"
	}
	return "the captures cannot tell whether the loss stalled the tunnel"
}

// PointName names a side for prose: "A (client side)".
func PointName(side, clientSide string) string {
	s := strings.ToUpper(side)
	switch {
	case clientSide == "":
		return s
	case side == clientSide:
		return s + " (client side)"
	}
	return s + " (headend side)"
}

// PointPhrase names a side inside a sentence: "the client-side point A".
func PointPhrase(side, clientSide string) string {
	s := strings.ToUpper(side)
	switch {
	case clientSide == "":
		return "point " + s
	case side == clientSide:
		return "the client-side point " + s
	}
	return "the headend-side point " + s
}

// toA converts a time of side's clock into A's.
func toA(res *correlate.Result, side string, t int64) int64 {
	if side == "b" {
		return t - res.ClockOffset
	}
	return t
}

// timeline tells the pair's story from measured facts only.
func timeline(res *correlate.Result, p *correlate.Pair, cp *CorrPair, da, db *detect.Result, clientSide string) string {
	var b strings.Builder
	ld := lossDir(p)
	if ld == nil {
		fmt.Fprintf(&b, "A session %d and B session %d are one %s session seen at both points, matched on %s.", p.A.ID, p.B.ID, transportLabel(cp.Transport), cp.MatchedOn)
		for d := range p.Directions {
			x := &p.Directions[d]
			fmt.Fprintf(&b, " %s->%s: %d ESP messages seen at both points, none lost between them", FormatAddr(x.From, p.A.Proto), FormatAddr(x.To, p.A.Proto), x.Both)
			if x.NotJudged > 0 {
				fmt.Fprintf(&b, " (%d not judged)", x.NotJudged)
			}
			b.WriteString(".")
		}
		return b.String()
	}
	fl := ld.FirstLost
	up, down := ld.Upstream, OtherSide(ld.Upstream)
	frame := fl.AFrame
	if up == "b" {
		frame = fl.BFrame
	}
	fmt.Fprintf(&b, "ESP %s #%d passed %s (frame %d) and never reached %s", spiHex(fl.SPI), fl.Seq, PointPhrase(up, clientSide), frame, PointPhrase(down, clientSide))
	if ld.Lost > 1 {
		fmt.Fprintf(&b, " (%d messages of the direction in all)", ld.Lost)
	}
	b.WriteString(";")
	if dup := deviceDupAcks(p, ld); dup != nil {
		fmt.Fprintf(&b, " the device between answered with %s (%s frames %s)", plural(int64(dup.Count), "duplicate ACK", "duplicate ACKs"), strings.ToUpper(dup.Side), corrFrameRange(dup.Frames, dup.Count))
	} else {
		b.WriteString(" no duplicate ACK of the device between was seen")
	}
	dirName := FormatAddr(ld.From, p.A.Proto) + "->" + FormatAddr(ld.To, p.A.Proto)
	if fl.After.AFrame == 0 && fl.After.BFrame == 0 {
		last := fl.Before.BFrame
		if down == "a" {
			last = fl.Before.AFrame
		}
		if last != 0 {
			fmt.Fprintf(&b, " and nothing of %s reached %s past the hole (%s's stream stops at frame %d, ESP #%d)", dirName, strings.ToUpper(down), strings.ToUpper(down), last, fl.Before.Seq)
		} else {
			fmt.Fprintf(&b, " and nothing of %s reached %s past the hole", dirName, strings.ToUpper(down))
		}
	} else {
		af := fl.After.BFrame
		if down == "a" {
			af = fl.After.AFrame
		}
		fmt.Fprintf(&b, " and data went on past the hole (ESP #%d reached %s at frame %d)", fl.After.Seq, strings.ToUpper(down), af)
	}
	lossA := toA(res, up, fl.Time)
	// Packets the device made or swallowed that close a leg.
	told := map[string]bool{}
	for _, e := range append(slices.Clone(p.Generated), p.Absorbed...) {
		for _, f := range e.Frames {
			told[fmt.Sprint(e.Side, f)] = true
		}
	}
	for _, e := range p.Generated {
		if e.Kind == correlate.EventFIN || e.Kind == correlate.EventRST {
			fmt.Fprintf(&b, "; the device between sent a %s on %s's leg (%s frame %d) %s after the loss", strings.ToUpper(e.Kind), strings.ToUpper(e.Side), strings.ToUpper(e.Side), e.Frames[0], sinceText(toA(res, e.Side, e.FirstTime)-lossA))
		}
	}
	for _, e := range p.Absorbed {
		if e.Kind == correlate.EventFIN || e.Kind == correlate.EventRST {
			fmt.Fprintf(&b, "; a %s seen at %s (frame %d) never reached %s", strings.ToUpper(e.Kind), strings.ToUpper(e.Side), e.Frames[0], strings.ToUpper(OtherSide(e.Side)))
		}
	}
	// How each file's session ended, as its own analysis measured it.
	for _, x := range []struct {
		side string
		r    *detect.Result
		s    *analyze.Session
	}{{"a", da, p.A}, {"b", db, p.B}} {
		sr := sessionResult(x.r, x.s.ID)
		if sr == nil || sr.OutcomeFrame == 0 || told[fmt.Sprint(x.side, sr.OutcomeFrame)] {
			continue
		}
		switch sr.Outcome {
		case detect.Reset, detect.Closed, detect.Reconnected:
			word := map[detect.Outcome]string{detect.Reset: "was reset", detect.Closed: "was closed", detect.Reconnected: "was replaced by a new session"}[sr.Outcome]
			fmt.Fprintf(&b, "; %s's session %s (%s frame %d)", strings.ToUpper(x.side), word, strings.ToUpper(x.side), sr.OutcomeFrame)
			if sr.OutcomeTime != 0 {
				if dt := toA(res, x.side, sr.OutcomeTime) - lossA; dt >= 0 {
					fmt.Fprintf(&b, " %s after the loss", sinceText(dt))
				}
			}
		case detect.Stalled:
			fmt.Fprintf(&b, "; %s's session stalled to the end of its capture (last data at %s frame %d)", strings.ToUpper(x.side), strings.ToUpper(x.side), sr.OutcomeFrame)
		}
	}
	b.WriteString(".")
	return b.String()
}

func sinceText(ns int64) string {
	if ns < 0 {
		ns = 0
	}
	return detect.FormatDuration(ns)
}

// frameRange writes frames as "first–last" (or one frame), with the
// count when the list was capped.
func corrFrameRange(frames []uint64, count int) string {
	if len(frames) == 0 {
		return ""
	}
	s := fmt.Sprint(frames[0])
	if len(frames) > 1 {
		s += "–" + fmt.Sprint(frames[len(frames)-1])
	}
	if count > len(frames) {
		s += fmt.Sprintf(", the first %d listed", len(frames))
	}
	return s
}

func cannotSee(res *correlate.Result, c *Correlation) []string {
	out := []string{
		"Loss before the upstream point or after the downstream point is not between them: each file's own analysis (a_verdict, b_verdict) judges it.",
		"The device between is located, not named: it lies between the two capture points, whatever it is.",
	}
	if len(c.Pairs) > 0 && !c.ClockOffsetKnown {
		out = append(out, "No pair matched traffic both ways, so the clock offset could not be measured: the clocks are assumed in step, and delays are apparent ones.")
	}
	nj := 0
	for _, p := range c.Pairs {
		for _, d := range p.Directions {
			nj += d.NotJudged
		}
	}
	forced := res.ForcedA + res.ForcedB
	if nj -= forced; nj > 0 {
		out = append(out, fmt.Sprintf("%s seen in one file only were not judged: they lay outside the other capture's time window (with a margin of %s) or before the other capture's first message or TCP control segment in their session direction; two captures never start and stop at the same instant.",
			plural(int64(nj), "message", "messages"), detect.FormatDuration(res.Margin)))
	}
	if forced > 0 {
		out = append(out, fmt.Sprintf("%s (%d of A, %d of B) waited longer for a counterpart than the matcher holds messages (its cap on messages in flight) and were not judged.",
			plural(int64(forced), "message", "messages"), res.ForcedA, res.ForcedB))
	}
	for _, p := range c.Pairs {
		if p.TCPRelation == correlate.RelationTerminated {
			out = append(out, "A TCP-terminating device between keeps two connections: what it resends or holds on one leg shows on that leg only.")
			break
		}
	}
	if n := len(c.UnpairedA) + len(c.UnpairedB); n > 0 && len(c.Pairs) > 0 {
		out = append(out, fmt.Sprintf("%d VPN sessions (%d of A, %d of B) matched nothing in the other file and are judged by that file's own analysis only.", n, len(c.UnpairedA), len(c.UnpairedB)))
	}
	return out
}

func corrFindings(res *correlate.Result, c *Correlation, da, db *detect.Result) []CorrFinding {
	out := []CorrFinding{}
	for i := range c.Pairs {
		cp := &c.Pairs[i]
		p := &res.Pairs[i]
		pair := new(i)
		for d := range p.Directions {
			x := &p.Directions[d]
			cd := &cp.Directions[d]
			if x.Lost == 0 || x.FirstLost == nil {
				continue
			}
			var frames []uint64
			for _, l := range x.LostMessages {
				frames = append(frames, max(l.AFrame, l.BFrame))
			}
			slices.Sort(frames)
			sev := "warning"
			if cp.Verdict == string(detect.Affected) {
				sev = "critical"
			}
			out = append(out, CorrFinding{
				ID: "lost-between-points", Severity: sev, Side: "pair", Pair: pair,
				Summary: fmt.Sprintf("%s->%s: %s seen at %s only, lost between the two capture points (first: ESP %s #%d)",
					cd.From, cd.To, plural(int64(x.Lost), "ESP message", "ESP messages"), strings.ToUpper(x.Upstream), spiHex(x.FirstLost.SPI), x.FirstLost.Seq),
				Frames: frames, FrameSide: x.Upstream,
				WiresharkFilter: fmt.Sprintf("esp.spi == %s && esp.sequence >= %d", spiHex(x.FirstLost.SPI), x.FirstLost.Seq),
			})
		}
		for _, e := range cp.GeneratedBetween {
			out = append(out, CorrFinding{
				ID: "generated-between-points", Severity: "warning", Side: "pair", Pair: pair,
				Summary: fmt.Sprintf("%s: %s seen in %s only: the device between the two capture points sent them", e.Direction, plural(int64(e.Count), eventNoun(e.Kind), eventNoun(e.Kind)+"s"), strings.ToUpper(e.Side)),
				Frames:  e.Frames, FrameSide: e.Side, WiresharkFilter: frameFilter(e.Frames),
			})
		}
		if cp.TCPRelation == correlate.RelationTerminated {
			out = append(out, CorrFinding{
				ID: "tcp-terminated-between", Severity: "warning", Side: "pair", Pair: pair,
				Summary: "the device between the two capture points terminates TCP (two connections): " + strings.Join(cp.RelationWhy, "; "),
				Frames:  []uint64{},
			})
		}
	}
	for _, x := range []struct {
		side string
		r    *detect.Result
	}{{"a", da}, {"b", db}} {
		for _, f := range x.r.Findings {
			cf := CorrFinding{ID: f.ID, Severity: string(f.Severity), Side: x.side, Summary: f.Summary,
				Frames: append([]uint64{}, f.Frames...), FrameSide: x.side, WiresharkFilter: f.WiresharkFilter}
			if f.Session >= 0 {
				cf.Session = new(f.Session)
			}
			out = append(out, cf)
		}
	}
	slices.SortStableFunc(out, func(a, b CorrFinding) int {
		return cmp.Compare(sevRank(a.Severity), sevRank(b.Severity))
	})
	return out
}

func sevRank(s string) int { return map[string]int{"critical": 0, "warning": 1, "info": 2}[s] }

func eventNoun(kind string) string {
	switch kind {
	case correlate.EventDupAck:
		return "duplicate ACK"
	case correlate.EventRST:
		return "RST"
	case correlate.EventFIN:
		return "FIN"
	case correlate.EventKeepAlive:
		return "keep-alive"
	}
	return kind + " packet"
}

func frameFilter(frames []uint64) string {
	if len(frames) == 0 {
		return ""
	}
	s := make([]string, len(frames))
	for i, f := range frames {
		s[i] = fmt.Sprint(f)
	}
	return "frame.number in {" + strings.Join(s, " ") + "}"
}

// corrRecommendations are the recommendations of the file that shows
// the failure best (its verdict the worse; A on a tie), each with the
// device located.
func corrRecommendations(c *Correlation, da, db *detect.Result) []Recommendation {
	if c.Verdict != string(detect.Affected) && c.Verdict != string(detect.AtRisk) {
		return []Recommendation{}
	}
	r, side := da, "a"
	if worse(c.BVerdict.Verdict, c.BVerdict.Confidence, c.AVerdict.Verdict, c.AVerdict.Confidence) || len(da.Recommendations) == 0 {
		r, side = db, "b"
	}
	if len(r.Recommendations) == 0 {
		r, side = da, "a"
	}
	where := fmt.Sprintf(" Located by correlating the two captures: the device that holds the stream is between %s and %s.",
		PointName("a", c.ClientSide), PointName("b", c.ClientSide))
	out := []Recommendation{}
	for _, rc := range r.Recommendations {
		out = append(out, Recommendation{Action: string(rc.Action), Rank: rc.Rank, Title: rc.Title,
			Why: rc.Why + where + " (From " + strings.ToUpper(side) + "'s own analysis.)", Config: rc.Config, Caution: rc.Caution})
	}
	slices.SortStableFunc(out, func(a, b Recommendation) int { return cmp.Compare(a.Rank, b.Rank) })
	return out
}

// AnonymizeCorrelation returns a deep copy of c with every address
// mapped under m and the capture paths reduced to their base names, as
// Anonymize does for a Report.
func AnonymizeCorrelation(c *Correlation, m *anon.Mapper) *Correlation {
	if c == nil {
		return nil
	}
	return anonValue(reflect.ValueOf(c), m, "").Interface().(*Correlation)
}

// WriteCorrelationJSON writes c as one indented JSON object followed by
// a newline (encoding/json, HTML characters not escaped). The output
// depends only on c.
func WriteCorrelationJSON(w io.Writer, c *Correlation) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
