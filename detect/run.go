package detect

import (
	"cmp"
	"fmt"
	"reflect"
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

// Run applies every detector in Detectors to c; the last, CaptureVerdict,
// decides the verdict and the recommendations. It reads c and never
// modifies it; the Result points into c (Request.Run,
// SessionResult.Session), so c must stay unchanged while the Result is
// used. Run is deterministic: the same capture and config give the same
// Result. It is safe to call concurrently on different or the same
// captures.
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
	res, ok := results[CaptureVerdict].(*Result)
	if !ok {
		return nil, fmt.Errorf("detect: the registry has no %s detector", CaptureVerdict.Name)
	}
	sortFindings(findings)
	res.Findings = findings
	return res, nil
}

// CaptureVerdict judges every cTCP session and the capture (the rules are
// judgeSession's), and recommends what to change.
//
// Its result is the *Result that Run returns, without the findings: the
// sessions (SessionOutcome's, with PacketLoss's Loss and the verdict of
// each cTCP session), the transports, the blocked UDP flows, the verdict,
// Focus and Recommendations. It reports no finding.
var CaptureVerdict = &Detector{
	Name: "verdict",
	Doc: `judge each cTCP session and the capture, and recommend the fix

Each cTCP session is affected (proven by an unanswered request, or probable
when seen beyond the device), healthy, at-risk (probable or possible),
inconclusive or healthy, in that order of rules; the capture takes the worst
session's verdict and confidence. For an affected or at-risk capture it
recommends IPsec over UDP (NAT-T) first, AnyConnect first when UDP is shown
blocked, TCP state bypass as a stopgap, and removing the loss.`,
	Requires:   []*Detector{SessionOutcome, PacketLoss, VPNTransports, UDPBlocked},
	ResultType: reflect.TypeFor[*Result](),
	Run:        runCaptureVerdict,
}

func runCaptureVerdict(p *Pass) error {
	outcomes, err := resultOf[[]SessionResult](p, SessionOutcome)
	if err != nil {
		return err
	}
	losses, err := resultOf[[]*Loss](p, PacketLoss)
	if err != nil {
		return err
	}
	res := &Result{Sessions: slices.Clone(outcomes)}
	if res.Transports, err = resultOf[[]TransportCount](p, VPNTransports); err != nil {
		return err
	}
	if res.UDPBlocked, err = resultOf[[]int](p, UDPBlocked); err != nil {
		return err
	}
	for i := range res.Sessions {
		if i < len(losses) {
			res.Sessions[i].Loss = losses[i]
		}
	}
	primary := decideVerdict(p.Capture, res)
	res.Focus = focus(res)
	if primary >= 0 && (res.Verdict == Affected || res.Verdict == AtRisk) {
		res.Recommendations = recommend(p.Capture, res, primary)
	}
	p.SetResult(res)
	return nil
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

// sortFindings puts findings in report order (sorted once, here): the one
// order every format shows, report does not sort them again. Worst first,
// then capture-wide before per-session, then by session, then by first
// evidence frame (Frames are sorted), then by ID. The sort is stable, so
// findings that still tie keep the order their detector reported them in.
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
		if c := cmp.Compare(fa, fb); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
