package detect

import (
	"errors"
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// Detector is one small, independent check over a capture, in the style of
// golang.org/x/tools/go/analysis.Analyzer. Detectors are package-level
// values collected in the Detectors registry.
type Detector struct {
	// Name identifies the detector: lower-case ASCII letters and digits in
	// hyphen-separated words, starting with a letter. It is the ID of every
	// Finding the detector reports.
	Name string
	// Doc documents the detector. Its first line is the title.
	Doc string
	// Requires lists the detectors whose results Run reads through
	// Pass.ResultOf. Each must come earlier in the registry.
	Requires []*Detector
	// Run applies the detector. It reads the capture through the Pass,
	// reports findings with Pass.Report and may publish a result for later
	// detectors with Pass.SetResult. It must not modify the capture.
	Run func(*Pass) error
}

// Pass is what a Detector's Run sees. A Pass is used by one detector on
// one capture and is not safe for concurrent use.
type Pass struct {
	// Detector is the detector being run.
	Detector *Detector
	// Capture is the analyzed capture. It is shared: read it, never write it.
	Capture *analyze.Capture
	// Config holds the thresholds, with defaults applied.
	Config Config
	// ResultOf maps each detector in Detector.Requires to the result it
	// published with SetResult. The values are shared: read them only.
	ResultOf map[*Detector]any
	// Report records a finding. Its ID is set to the detector's name.
	Report func(Finding)

	result    any
	hasResult bool
}

// SetResult publishes v as this detector's result, for the detectors that
// require it.
func (p *Pass) SetResult(v any) {
	p.result = v
	p.hasResult = true
}

// Detectors is the registry: every detector Run applies, in the order it
// applies them. Validate(Detectors) holds.
var Detectors = []*Detector{
	RetransmitRequest,
	PathBehaviour,
	OneWayStall,
	SessionOutcome,
	UnansweredRequest,
	PacketLoss,
	VPNTransports,
	UDPBlocked,
}

// Validate checks a registry: every detector is non-nil, has a valid and
// unique Name, a Doc and a Run function, and every detector it requires
// comes earlier in the list (so there are no cycles).
func Validate(detectors []*Detector) error {
	seen := make(map[*Detector]bool, len(detectors))
	names := make(map[string]bool, len(detectors))
	for i, d := range detectors {
		if d == nil {
			return fmt.Errorf("detector %d is nil", i)
		}
		if !validName(d.Name) {
			return fmt.Errorf("detector %d: invalid name %q", i, d.Name)
		}
		if names[d.Name] {
			return fmt.Errorf("detector %q registered twice", d.Name)
		}
		names[d.Name] = true
		if d.Doc == "" {
			return fmt.Errorf("detector %q has no doc", d.Name)
		}
		if d.Run == nil {
			return fmt.Errorf("detector %q has no run function", d.Name)
		}
		for _, r := range d.Requires {
			if r == nil || !seen[r] {
				name := "<nil>"
				if r != nil {
					name = r.Name
				}
				return fmt.Errorf("detector %q requires %q, which does not come before it", d.Name, name)
			}
		}
		seen[d] = true
	}
	return nil
}

// validName reports whether s is lower-case words of [a-z0-9] joined by
// single hyphens, starting with a letter.
func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// errNilCapture is returned by Run for a nil capture.
var errNilCapture = errors.New("detect: nil capture")

// runDetectors applies detectors in order and returns the findings (in
// report order) and each detector's published result.
func runDetectors(c *analyze.Capture, cfg Config, detectors []*Detector) ([]Finding, map[*Detector]any, error) {
	results := make(map[*Detector]any, len(detectors))
	var findings []Finding
	passes := make([]Pass, len(detectors))
	for i, d := range detectors {
		p := &passes[i]
		*p = Pass{
			Detector: d,
			Capture:  c,
			Config:   cfg,
			ResultOf: make(map[*Detector]any, len(d.Requires)),
		}
		for _, r := range d.Requires {
			v, ok := results[r]
			if !ok {
				return nil, nil, fmt.Errorf("detector %q requires %q, which has not run", d.Name, r.Name)
			}
			p.ResultOf[r] = v
		}
		name := d.Name
		p.Report = func(f Finding) {
			f.ID = name
			findings = append(findings, f)
		}
		if err := d.Run(p); err != nil {
			return nil, nil, fmt.Errorf("detector %s: %w", d.Name, err)
		}
		if p.hasResult {
			results[d] = p.result
		}
	}
	return findings, results, nil
}
