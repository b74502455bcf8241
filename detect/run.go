package detect

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// withDefaults returns cfg with zero values replaced by the defaults, or an
// error for a value out of range.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.DupAcks == 0:
		cfg.DupAcks = DefaultDupAcks
	case cfg.DupAcks < 1:
		return cfg, fmt.Errorf("dupacks must be at least 1, got %d", cfg.DupAcks)
	}
	return cfg, nil
}

// Run applies every detector in Detectors to c, then decides the verdict
// and the recommendations. It reads c and never modifies it; the Result
// points into c (Request.Run, SessionResult.Session), so c must stay
// unchanged while the Result is used. Run is deterministic: the same
// capture and config give the same Result. It is safe to call
// concurrently on different or the same captures.
func Run(c *analyze.Capture, cfg Config) (*Result, error) {
	if c == nil {
		return nil, errNilCapture
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	findings, results, err := runDetectors(c, cfg, Detectors)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	res.Sessions, _ = results[SessionOutcome].([]SessionResult)
	losses, _ := results[PacketLoss].([]*Loss)
	for i := range res.Sessions {
		if i < len(losses) {
			res.Sessions[i].Loss = losses[i]
		}
	}
	res.Transports, _ = results[VPNTransports].([]TransportCount)
	res.UDPBlocked, _ = results[UDPBlocked].([]int)
	primary := decideVerdict(c, res)
	findings = stopFindings(res, findings)
	sortFindings(findings)
	res.Findings = findings
	res.Focus = focus(res)
	if primary >= 0 && (res.Verdict == Affected || res.Verdict == AtRisk) {
		res.Recommendations = recommend(c, res, primary)
	}
	return res, nil
}

// stopFindings adds a critical finding for each session whose stream
// stopped as the failure looks beyond the device (SessionResult.Stop), in
// place of the one-way-stall warning for the same session, which says
// less.
func stopFindings(res *Result, findings []Finding) []Finding {
	stopped := map[int]bool{}
	for i := range res.Sessions {
		if res.Sessions[i].Stop != nil {
			stopped[res.Sessions[i].Session.ID] = true
		}
	}
	if len(stopped) == 0 {
		return findings
	}
	out := findings[:0]
	for _, f := range findings {
		if f.ID == OneWayStall.Name && stopped[f.Session] {
			continue
		}
		out = append(out, f)
	}
	for i := range res.Sessions {
		sr := &res.Sessions[i]
		st := sr.Stop
		if st == nil {
			continue
		}
		s := sr.Session
		out = append(out, Finding{
			ID:              OneWayStall.Name,
			Severity:        Critical,
			Session:         s.ID,
			Summary:         describeSession(s) + ": " + stopSentence(sr, st) + "; probable, not proven: " + "a client that vanished looks alike from here",
			Frames:          evidenceFrames(st.Silence.FromFrame, st.Silence.OtherFirstFrame, st.HoleFrame, sr.OutcomeFrame),
			WiresharkFilter: fmt.Sprintf("%s && frame.number >= %d", sessionFilter(s), st.Silence.FromFrame),
		})
	}
	return out
}

// focus picks Result.Focus: affected cTCP sessions, then at-risk ones,
// else the first cTCP session with data.
func focus(res *Result) []int {
	var affected, atRisk []int
	fallback := -1
	for i := range res.Sessions {
		sr := &res.Sessions[i]
		s := sr.Session
		if !isCTCP(s) {
			continue
		}
		switch {
		case sr.Verdict == Affected:
			affected = append(affected, s.ID)
		case sr.Verdict == AtRisk:
			atRisk = append(atRisk, s.ID)
		case fallback < 0 && s.Dirs[0].DataSegments+s.Dirs[1].DataSegments > 0:
			fallback = s.ID
		}
	}
	out := append(affected, atRisk...)
	if len(out) == 0 && fallback >= 0 {
		out = []int{fallback}
	}
	return out
}

// severityRank orders severities, worst first.
func severityRank(s Severity) int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// sortFindings orders findings worst first, then capture-wide before
// per-session, then by session, then by first frame. The sort is stable,
// so findings that tie keep the detectors' order.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Session, b.Session); c != 0 {
			return c
		}
		var fa, fb uint64
		if len(a.Frames) > 0 {
			fa = a.Frames[0]
		}
		if len(b.Frames) > 0 {
			fb = b.Frames[0]
		}
		return cmp.Compare(fa, fb)
	})
}
