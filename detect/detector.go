package detect

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

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
	// Requires lists the detectors whose results Run reads (with
	// resultOf). Each must come earlier in the registry and declare a
	// ResultType.
	Requires []*Detector
	// ResultType is the type of the value Run publishes with
	// Pass.SetResult, nil for a detector that publishes none (as
	// go/analysis's Analyzer.ResultType). The runner checks that Run
	// published exactly this type, so a detector that requires this one
	// reads it with resultOf and never sees a missing or mistyped value.
	ResultType reflect.Type
	// Run applies the detector. It reads the capture through the Pass,
	// reports findings with Pass.Report and publishes its result, if it
	// has a ResultType, with Pass.SetResult. It must not modify the
	// capture.
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
	// published with SetResult, of its ResultType. Read it with resultOf.
	// The values are shared: read them only.
	ResultOf map[*Detector]any
	// Report records a finding. Its ID is set to the detector's name and
	// its Frames are sorted, without repeats.
	Report func(Finding)

	result    any
	hasResult bool
}

// SetResult publishes v as this detector's result, for the detectors that
// require it. v must be of the detector's ResultType; the runner checks.
func (p *Pass) SetResult(v any) {
	p.result = v
	p.hasResult = true
}

// resultOf returns the result that d published, for the detector of p,
// which must require d. The runner has checked the result's type against
// d.ResultType; an error here means the caller reads a detector it does
// not require, or as another type than d declares: a programming error,
// reported rather than read as a zero value.
func resultOf[T any](p *Pass, d *Detector) (T, error) {
	var zero T
	v, ok := p.ResultOf[d]
	if !ok {
		return zero, fmt.Errorf("detector %q reads the result of %q, which it does not require", p.Detector.Name, d.Name)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("detector %q reads the result of %q as %v; it is a %v", p.Detector.Name, d.Name, reflect.TypeFor[T](), d.ResultType)
	}
	return t, nil
}

// Detectors is the registry: every detector Run applies, in the order it
// applies them. Validate(Detectors) holds.
var Detectors = []*Detector{
	RetransmitRequest,
	PathBehaviour,
	SessionOutcome,
	UnansweredRequest,
	PacketLoss,
	VPNTransports,
	UDPBlocked,
	CaptureVerdict,
	OneWayStall,
}

// Validate checks a registry: every detector is non-nil, has a valid and
// unique Name, a Doc and a Run function, and every detector it requires
// comes earlier in the list (so there are no cycles) and declares a
// ResultType. Run also needs CaptureVerdict in the registry.
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
			if r.ResultType == nil {
				return fmt.Errorf("detector %q requires %q, which publishes no result", d.Name, r.Name)
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
// the order reported) and each detector's published result, checked
// against its ResultType.
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
			f.Frames = sortedFrames(f.Frames)
			findings = append(findings, f)
		}
		if err := d.Run(p); err != nil {
			return nil, nil, fmt.Errorf("detector %s: %w", d.Name, err)
		}
		switch {
		case d.ResultType == nil && p.hasResult:
			return nil, nil, fmt.Errorf("detector %s published a %T but declares no result type", d.Name, p.result)
		case d.ResultType == nil:
		case !p.hasResult:
			return nil, nil, fmt.Errorf("detector %s published no result; it declares a %v", d.Name, d.ResultType)
		case reflect.TypeOf(p.result) != d.ResultType:
			return nil, nil, fmt.Errorf("detector %s published a %T; it declares a %v", d.Name, p.result, d.ResultType)
		default:
			results[d] = p.result
		}
	}
	return findings, results, nil
}

// sortedFrames returns frames sorted and without repeats: frames itself
// when it already is, else a sorted copy (frames may point into the
// capture, which detectors never modify).
func sortedFrames(frames []uint64) []uint64 {
	for i := 1; i < len(frames); i++ {
		if frames[i] <= frames[i-1] {
			return slices.Compact(slices.Sorted(slices.Values(frames)))
		}
	}
	return frames
}
