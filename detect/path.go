package detect

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// SentBy says who sent a retransmit request's duplicate ACKs (contract
// values).
type SentBy string

// Who sent a request.
const (
	// SentByEndpoint: the asking side's own stack, as far as the capture
	// shows (the duplicate ACKs match its data, adjacent to the capture
	// point, and nothing shows a TCP stack in the path).
	SentByEndpoint SentBy = "endpoint"
	// SentByPathDevice: a TCP stack in the path answering in the asking
	// side's name while the data sender is a cTCP endpoint.
	SentByPathDevice SentBy = "path-device"
	// SentByUnknown: the capture cannot tell.
	SentByUnknown SentBy = "unknown"
)

// CapturePoint says on which side of the device in the path the capture
// was taken (contract values).
type CapturePoint string

// Capture points.
const (
	ClientSide  CapturePoint = "client-side"
	HeadendSide CapturePoint = "headend-side"
	UnknownSide CapturePoint = "unknown"
)

// Evidence kinds of a TCP stack in the path (PathEvidence.Kind).
const (
	EvSACK        = "sack"        // ACKs carrying SACK blocks: a SACK-capable TCP stack
	EvResent      = "resent"      // a side resent bytes (Wireshark retransmissions)
	EvTTL         = "ttl"         // a side's duplicate ACKs have another TTL than its data
	EvIPID        = "ip-id"       // a side's duplicate ACKs are outside its data's IP-ID series
	EvTimestamps  = "timestamps"  // a side's duplicate ACKs and data differ in the timestamp option
	EvMSSClamp    = "mss-clamp"   // a SYN or SYN-ACK with MSS 1380, the ASA's default clamp
	EvResegmented = "resegmented" // cTCP messages spanning segments: a TCP stack re-sent the bytes
	EvHoleAcked   = "hole-acked"  // the receiver acknowledged past a hole: nothing held the flow there
)

// ASAMSS is the Cisco ASA's default TCP MSS clamp (sysopt connection
// tcpmss 1380).
const ASAMSS = 1380

// PathEvidence is one fact about what sits in the path.
type PathEvidence struct {
	// Kind is one of the Ev* constants.
	Kind string
	// Dir is the direction of the packets that show it.
	Dir    analyze.Dir
	Frames []uint64
	Detail string
}

// DirAccount is the per-direction accounting of a session: what was sent,
// what the capture saw missing and where it was lost.
type DirAccount struct {
	Dir          analyze.Dir
	DataSegments uint64
	Bytes        uint64
	// ESPMessages counts the distinct ESP messages seen (SPI and
	// sequence number), ESPRepeated the copies carried again, ESPMissing
	// the sequence numbers never seen.
	ESPMessages, ESPMissing, ESPRepeated uint64
	// LostBeforeCapture counts holes in the stream (Wireshark "previous
	// segment not captured"): bytes lost between the sender and the
	// capture point. LostAfterCapture counts retransmit requests for
	// bytes the capture saw: lost between the capture point and the
	// receiver. AckedUnseen counts ACKs of bytes the capture never saw
	// (capture loss or asymmetric routing).
	LostBeforeCapture, LostAfterCapture, AckedUnseen int
	// Resent counts the segments Wireshark flags as retransmissions.
	Resent int
	// HoleFrames are the first frames after the holes (capped).
	HoleFrames []uint64
	// Rate is the loss rate measured in this direction, Num / Den, with
	// Basis "esp" (ESP sequence numbers missing over expected) or "tcp"
	// (holes over data segments); Den is 0 when nothing was measured.
	Num, Den uint64
	Basis    string
}

// Rate returns Num/Den, 0 when Den is 0.
func (a *DirAccount) Rate() float64 {
	if a.Den == 0 {
		return 0
	}
	return float64(a.Num) / float64(a.Den)
}

// Path is what one TCP session shows about the path between its
// endpoints and where the capture was taken.
type Path struct {
	// Evidence lists the facts, in the order of the Ev* constants.
	Evidence []PathEvidence
	// StackFor[d] is set when a TCP stack answers in the name of the
	// receiver of direction d (the side that gets d's data): its ACKs
	// carry SACK blocks, it resent bytes, its duplicate ACKs differ from
	// its data, or d's stream was re-segmented before it.
	StackFor [2]bool
	// Resends[d] is set when the data sender of direction d resent bytes:
	// a real TCP stack carries that direction.
	Resends [2]bool
	// TCPStack is true when a TCP stack in the path answers in a cTCP
	// endpoint's name, false when the capture shows that nothing held the
	// flow on a hole, nil when it cannot tell.
	TCPStack *bool
	// CapturePoint and CapturePointWhy say where the capture was taken.
	CapturePoint    CapturePoint
	CapturePointWhy string
	// SentBy and SentByWhy are parallel to the session's requests.
	SentBy    []SentBy
	SentByWhy []string
	// Dirs is the per-direction accounting.
	Dirs [2]DirAccount
}

// PathBehaviour decides, for each TCP VPN session, who answers in the
// endpoints' names, where the capture point stands and where the loss was.
//
// Its result is a []*Path indexed by session, nil for sessions that are
// not TCP. It reports an info finding for each cTCP session with evidence
// of a TCP stack in the path.
var PathBehaviour = &Detector{
	Name: "path-behaviour",
	Doc: `decide who answers in the endpoints' names and where the capture was taken

A cTCP endpoint is not a TCP stack: it never retransmits and does not
do SACK. ACKs with SACK blocks, resent bytes, duplicate ACKs whose TTL,
IP-ID or timestamp option differ from the same side's data, a SYN's MSS
clamped to 1380 (the ASA default) and cTCP messages spanning segments all
show a TCP stack in the path answering in an endpoint's name. The capture
point is placed from the TTLs (the side whose packets arrive with an
initial TTL is next to it) and the handshake's time split. Loss is placed
per direction: a hole in the stream was lost before the capture point,
bytes seen and then asked for again after it, an ACK of unseen bytes is
capture loss.`,
	Requires:   []*Detector{RetransmitRequest},
	ResultType: reflect.TypeFor[[]*Path](),
	Run:        runPathBehaviour,
}

func runPathBehaviour(p *Pass) error {
	c := p.Capture
	reqs, err := resultOf[[][]Request](p, RetransmitRequest)
	if err != nil {
		return err
	}
	all := make([]*Path, len(c.Sessions))
	for i, s := range c.Sessions {
		if s.Proto != 6 {
			continue
		}
		var rs []Request
		if i < len(reqs) {
			rs = reqs[i]
		}
		pa := buildPath(s, rs)
		all[i] = pa
		if isCTCP(s) && pa.TCPStack != nil && *pa.TCPStack {
			frames := make([]uint64, 0, 8)
			for _, e := range pa.Evidence {
				if e.Kind != EvHoleAcked {
					frames = append(frames, e.Frames...)
				}
			}
			p.Report(Finding{
				Severity:        Info,
				Session:         s.ID,
				Summary:         describeSession(s) + ": " + pa.stackSentence(),
				Frames:          evidenceFrames(frames...),
				WiresharkFilter: sessionFilter(s) + " && (tcp.options.sack_le || tcp.analysis.retransmission || tcp.analysis.duplicate_ack)",
			})
		}
	}
	p.SetResult(all)
	return nil
}

// buildPath collects the evidence of one TCP session.
func buildPath(s *analyze.Session, reqs []Request) *Path {
	pa := &Path{}
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		// Resent bytes: retransmissions, ESP messages carried twice, or a
		// hole filled later (Wireshark flags the filling segment
		// out-of-order when it comes within the handshake round trip):
		// a cTCP sender never fills a hole.
		pa.Resends[d] = s.Dirs[d].Counts.Retransmissions > 0 || s.ESP[d].Repeats > 0 ||
			s.Dirs[d].Counts.OutOfOrder > 0 && s.Dirs[d].Counts.LostSegments > 0
		pa.Dirs[d] = account(s, d, reqs)
	}
	for i := range reqs {
		// A request answered by a segment covering the requested byte:
		// the data sender resent it.
		if r := reqs[i].Run; reqs[i].Answer == Answered && r.CoverFrame != 0 && (r.AdvanceFrame == 0 || r.CoverFrame <= r.AdvanceFrame) {
			pa.Resends[r.By.Other()] = true
		}
	}
	// Evidence per direction of the packets that show it. Packets sent
	// in direction d come from the sender of d, which is the receiver of
	// d.Other(): a TCP stack there answers for d.Other()'s data.
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		pe := &s.Peer[d]
		o := d.Other()
		if pe.SACKAcks > 0 {
			pa.add(EvSACK, d, []uint64{pe.SACKFrame}, fmt.Sprintf("the %s side sent %s with SACK blocks (first at frame %d); a cTCP endpoint does not do SACK",
				d.Side(), plural(pe.SACKAcks, "ACK"), pe.SACKFrame))
			pa.StackFor[o] = true
		}
		if pa.Resends[d] && !pa.Resends[o] {
			// analyze keeps no frame list of retransmissions: the
			// finding's filter shows them.
			pa.add(EvResent, d, nil, fmt.Sprintf("the %s side resent bytes (%s), which a cTCP endpoint never does",
				d.Side(), resendText(s, d)))
			pa.StackFor[o] = true
		}
		if pe.SYNMSS == ASAMSS {
			pa.add(EvMSSClamp, d, []uint64{s.Dirs[d].SYNFrame}, fmt.Sprintf("the %s side's SYN carries MSS %d, the Cisco ASA's default clamp: an ASA probably normalizes this flow (a host may use that MSS too)",
				d.Side(), ASAMSS))
		}
		if f := &s.Framing[d]; f.Split > 0 {
			pa.add(EvResegmented, d, []uint64{f.SplitFrame}, fmt.Sprintf("%s from the %s spanned TCP segments (first completed at frame %d); a cTCP sender puts one message in each segment, so a TCP stack between the %s and the capture point re-sent the bytes",
				plural(f.Split, "cTCP message"), d.Side(), f.SplitFrame, d.Side()))
			pa.StackFor[d] = true
		}
	}
	// Duplicate ACKs that differ from the same side's data.
	for i := range reqs {
		r := reqs[i].Run
		d := r.By
		pe := &s.Peer[d]
		if why, kind := fingerprintDiffers(r, pe); kind != "" {
			pa.add(kind, d, []uint64{firstDupFrame(r)}, why)
			pa.StackFor[d.Other()] = true
		}
	}
	// A hole the receiver acknowledged past without the bytes being
	// resent: nothing held the flow on it.
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		if acc := &pa.Dirs[d]; acc.LostBeforeCapture > 0 && !pa.Resends[d] && holesPassed(s, d, reqs) {
			pa.add(EvHoleAcked, d, acc.HoleFrames[:min(1, len(acc.HoleFrames))], fmt.Sprintf("the %s's stream has %s and its data went on past every one without the bytes being resent or asked for: nothing in the path held the flow on them",
				d.Side(), plural(acc.LostBeforeCapture, "hole")))
		}
	}
	// A sender that resends makes that direction real TCP: then the
	// capture shows TCP stacks, not necessarily one in the path, and the
	// session is judged by the resends (docs/detection.md, "The verdict":
	// healthy).
	resends := pa.Resends[0] || pa.Resends[1]
	stack := !resends && (pa.StackFor[0] || pa.StackFor[1])
	switch {
	case stack:
		t := true
		pa.TCPStack = &t
	case !resends && pa.has(EvHoleAcked) && !pa.StackFor[0] && !pa.StackFor[1]:
		f := false
		pa.TCPStack = &f
	}
	pa.CapturePoint, pa.CapturePointWhy = capturePoint(s, pa)
	pa.SentBy = make([]SentBy, len(reqs))
	pa.SentByWhy = make([]string, len(reqs))
	for i := range reqs {
		pa.SentBy[i], pa.SentByWhy[i] = sentBy(s, pa, reqs[i].Run)
	}
	return pa
}

func (pa *Path) add(kind string, d analyze.Dir, frames []uint64, detail string) {
	pa.Evidence = append(pa.Evidence, PathEvidence{Kind: kind, Dir: d, Frames: evidenceFrames(frames...), Detail: detail})
}

func (pa *Path) has(kind string) bool {
	for _, e := range pa.Evidence {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// stackSentence says in one sentence that a TCP stack answers in an
// endpoint's name, and why.
func (pa *Path) stackSentence() string {
	var names []string
	for d := analyze.ClientToHeadend; d <= analyze.HeadendToClient; d++ {
		if pa.StackFor[d] {
			names = append(names, d.Other().Side())
		}
	}
	var why []string
	for _, e := range pa.Evidence {
		if e.Kind != EvHoleAcked && e.Kind != EvMSSClamp {
			why = append(why, e.Detail)
		}
	}
	return fmt.Sprintf("a TCP stack in the path answers in the %s's name, not the cTCP endpoint itself: %s",
		strings.Join(names, " and the "), strings.Join(why, "; "))
}

// resendText says how direction d resent bytes: "2 retransmissions
// flagged", "a hole filled later", "1 ESP message carried twice".
func resendText(s *analyze.Session, d analyze.Dir) string {
	var parts []string
	if n := s.Dirs[d].Counts.Retransmissions; n > 0 {
		parts = append(parts, plural(n, "retransmission")+" flagged")
	}
	if s.Dirs[d].Counts.OutOfOrder > 0 && s.Dirs[d].Counts.LostSegments > 0 {
		parts = append(parts, "a hole filled later")
	}
	if n := s.ESP[d].Repeats; n > 0 {
		parts = append(parts, plural(n, "ESP message")+" carried twice")
	}
	if len(parts) == 0 {
		parts = append(parts, "requested bytes sent again")
	}
	return strings.Join(parts, ", ")
}

// fingerprintDiffers compares a run's duplicate ACKs with the data the
// same side sent: a different TTL, IP-IDs outside its series, or the
// timestamp option on one and not the other mean another originator.
func fingerprintDiffers(r *analyze.DupAckRun, pe *analyze.PeerStats) (string, string) {
	side := r.By.Side()
	if pe.DataTTL.N > 0 && r.TTL.N > 0 && (r.TTL.Max < pe.DataTTL.Min || r.TTL.Min > pe.DataTTL.Max) {
		return fmt.Sprintf("the duplicate ACKs in the %s's name (from frame %d) arrive with TTL %s, its data with TTL %s: another device sent them",
			side, firstDupFrame(r), ttlText(r.TTL), ttlText(pe.DataTTL)), EvTTL
	}
	if r.IPIDOutside > 0 && pe.IPIDData >= 8 {
		return fmt.Sprintf("%s of %s in the %s's name (from frame %d) carry IP-IDs outside the series of its data: another device sent them",
			plural(r.IPIDOutside, "duplicate ACK"), plural(r.Count, "duplicate ACK"), side, firstDupFrame(r)), EvIPID
	}
	if dataTS, dataNoTS := pe.DataTS, pe.DataNoTS; dataTS+dataNoTS >= 4 {
		switch {
		case dataNoTS == 0 && r.TS == 0:
			return fmt.Sprintf("the %s's data carry TCP timestamps but its duplicate ACKs (from frame %d) do not: another device sent them",
				side, firstDupFrame(r)), EvTimestamps
		case dataTS == 0 && r.TS == r.Count:
			return fmt.Sprintf("the %s's duplicate ACKs (from frame %d) carry TCP timestamps but its data do not: another device sent them",
				side, firstDupFrame(r)), EvTimestamps
		}
	}
	return "", ""
}

func ttlText(r analyze.TTLRange) string {
	if r.Min == r.Max {
		return fmt.Sprint(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// account fills the accounting of direction d.
func account(s *analyze.Session, d analyze.Dir, reqs []Request) DirAccount {
	ds := &s.Dirs[d]
	e := &s.ESP[d]
	a := DirAccount{
		Dir:               d,
		DataSegments:      ds.DataSegments,
		Bytes:             ds.Bytes,
		ESPMessages:       e.Packets - min(e.Packets, e.Repeats),
		ESPMissing:        e.SeqMissing,
		ESPRepeated:       e.Repeats,
		LostBeforeCapture: ds.Counts.LostSegments,
		AckedUnseen:       s.Dirs[d.Other()].Counts.AckedUnseen,
		Resent:            ds.Counts.Retransmissions,
		HoleFrames:        ds.LostSegmentFrames,
	}
	for i := range reqs {
		r := reqs[i].Run
		// Bytes seen here and asked for again were lost after the
		// capture point, unless a late segment filled the hole (the
		// asker's ACK moved on without a resend).
		filled := r.AdvanceFrame != 0 && (r.CoverFrame == 0 || r.AdvanceFrame < r.CoverFrame)
		if r.By == d.Other() && r.SeenBefore && !r.NothingOutstanding && !filled {
			a.LostAfterCapture++
		}
	}
	switch {
	case e.Packets > 0:
		a.Num, a.Den, a.Basis = e.SeqMissing, a.ESPMessages+e.SeqMissing, "esp"
	case ds.DataSegments > 0:
		a.Num, a.Den, a.Basis = uint64(max(0, a.LostBeforeCapture)), ds.DataSegments, "tcp"
	}
	return a
}

// holesPassed reports whether direction d's data went on past every hole
// without a retransmit request holding it: the last hole came before the
// direction's last data, and no request for d's bytes is unanswered or
// open.
func holesPassed(s *analyze.Session, d analyze.Dir, reqs []Request) bool {
	ds := &s.Dirs[d]
	if len(ds.LostSegmentFrames) == 0 {
		return false
	}
	last := ds.LostSegmentFrames[len(ds.LostSegmentFrames)-1]
	if ds.LastDataFrame <= last {
		return false
	}
	for i := range reqs {
		if reqs[i].Run.By == d.Other() && reqs[i].Answer != Answered {
			return false
		}
	}
	return true
}

// initialTTL reports whether ttl is a common initial TTL (64 Linux/macOS,
// 128 Windows, 255 network gear), i.e. whether the packet crossed no
// router before the capture point.
func initialTTL(ttl uint8) bool { return ttl == 64 || ttl == 128 || ttl == 255 }

// capturePoint places the capture point from the data TTLs and the
// handshake's time split.
func capturePoint(s *analyze.Session, pa *Path) (CapturePoint, string) {
	ct, ht := s.Peer[analyze.ClientToHeadend].DataTTL, s.Peer[analyze.HeadendToClient].DataTTL
	if ct.N == 0 {
		ct = s.Peer[analyze.ClientToHeadend].AckTTL
	}
	if ht.N == 0 {
		ht = s.Peer[analyze.HeadendToClient].AckTTL
	}
	var byTTL CapturePoint = UnknownSide
	var ttlWhy string
	if ct.N > 0 && ht.N > 0 {
		cNear, hNear := ct.Min == ct.Max && initialTTL(ct.Max), ht.Min == ht.Max && initialTTL(ht.Max)
		switch {
		case cNear && !hNear:
			byTTL = ClientSide
			ttlWhy = fmt.Sprintf("the client's packets arrive with TTL %d, so no router lies between the client and the capture point; the headend side's arrive with TTL %s", ct.Max, ttlText(ht))
		case hNear && !cNear:
			byTTL = HeadendSide
			ttlWhy = fmt.Sprintf("the headend's packets arrive with TTL %d, so no router lies between the headend and the capture point; the client side's arrive with TTL %s", ht.Max, ttlText(ct))
		}
	}
	var byRTT CapturePoint = UnknownSide
	var rttWhy string
	h := &s.Handshake
	if h.SYNFrame != 0 && h.SYNACKFrame != 0 && h.ACKFrame != 0 {
		toHeadend := h.SYNACKTime - h.SYNTime
		toClient := h.ACKTime - h.SYNACKTime
		const floor = int64(1e6) // 1 ms: below it, the split says nothing
		switch {
		case toHeadend >= floor && toHeadend >= 4*toClient:
			byRTT = ClientSide
			rttWhy = fmt.Sprintf("the handshake's round trip lies toward the headend (SYN to SYN-ACK %s, SYN-ACK to ACK %s)", fmtDur(toHeadend), fmtDur(toClient))
		case toClient >= floor && toClient >= 4*toHeadend:
			byRTT = HeadendSide
			rttWhy = fmt.Sprintf("the handshake's round trip lies toward the client (SYN to SYN-ACK %s, SYN-ACK to ACK %s)", fmtDur(toHeadend), fmtDur(toClient))
		}
	}
	// A TTL at its initial value means no router between that sender
	// and the capture point, which outweighs the handshake's split: an
	// endpoint that is slow to answer a SYN skews the split, not the TTL.
	switch {
	case byTTL != UnknownSide && byRTT == byTTL:
		return byTTL, ttlWhy + "; " + rttWhy
	case byTTL != UnknownSide && byRTT != UnknownSide:
		return byTTL, ttlWhy + " (the handshake's time split points the other way, which a slow endpoint can cause: " + rttWhy + ")"
	case byTTL != UnknownSide:
		return byTTL, ttlWhy
	case byRTT != UnknownSide:
		return byRTT, rttWhy
	}
	return UnknownSide, "neither the TTLs nor the handshake's time split place the capture point"
}

// sentBy decides who sent a run's duplicate ACKs.
func sentBy(s *analyze.Session, pa *Path, r *analyze.DupAckRun) (SentBy, string) {
	asker := r.By
	data := asker.Other() // the direction whose bytes are requested
	side := asker.Side()
	var reasons []string
	if r.SACK > 0 {
		reasons = append(reasons, fmt.Sprintf("%d of the %s carry SACK blocks", r.SACK, plural(r.Count, "duplicate ACK")))
	}
	for _, e := range pa.Evidence {
		if e.Dir != asker {
			continue
		}
		switch e.Kind {
		case EvTTL, EvIPID, EvTimestamps:
			reasons = append(reasons, e.Detail)
		case EvResent:
			reasons = append(reasons, fmt.Sprintf("the same peer resent %s", plural(s.Dirs[asker].Counts.Retransmissions, "segment")))
		case EvSACK:
			if r.SACK == 0 {
				reasons = append(reasons, "the same peer sent ACKs with SACK blocks")
			}
		}
	}
	if pa.StackFor[data] && len(reasons) == 0 {
		for _, e := range pa.Evidence {
			if e.Kind == EvResegmented && e.Dir == data {
				reasons = append(reasons, e.Detail)
			}
		}
	}
	// With a data sender that resends, both ends behave as TCP stacks:
	// SACK blocks and resends no longer tell a proxy from the endpoint,
	// only a fingerprint that differs from the side's own data does.
	var other []string
	for _, e := range pa.Evidence {
		if e.Dir == asker && (e.Kind == EvTTL || e.Kind == EvIPID || e.Kind == EvTimestamps) {
			other = append(other, e.Detail)
		}
	}
	if pa.Resends[data] && len(other) > 0 {
		return SentByPathDevice, fmt.Sprintf("another device than the %s's TCP stack sent them: %s", side, strings.Join(other, "; "))
	}
	if len(reasons) > 0 && !pa.Resends[data] {
		return SentByPathDevice, fmt.Sprintf("a TCP stack in the path sent them in the %s's name, not the %s's cTCP endpoint, which never does SACK or resends: %s",
			side, side, strings.Join(reasons, "; "))
	}
	if pa.Resends[data] {
		return SentByUnknown, fmt.Sprintf("the %s resends bytes, so a TCP stack answers on both sides here; nothing in the duplicate ACKs tells the %s's own stack from a TCP proxy in the path",
			data.Side(), side)
	}
	pe := &s.Peer[asker]
	near := (pa.CapturePoint == ClientSide && asker == analyze.ClientToHeadend) || (pa.CapturePoint == HeadendSide && asker == analyze.HeadendToClient)
	if near && pe.DataTTL.N > 0 && r.TTL.N > 0 && r.TTL.Min >= pe.DataTTL.Min && r.TTL.Max <= pe.DataTTL.Max {
		return SentByEndpoint, fmt.Sprintf("the duplicate ACKs match the %s's data (TTL %s) and the capture was taken next to the %s", side, ttlText(r.TTL), side)
	}
	return SentByUnknown, fmt.Sprintf("nothing in the duplicate ACKs tells whether the %s's endpoint or a TCP stack in the path sent them", side)
}
