package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// corrView is what the text, Markdown and HTML correlation reports say,
// every sentence built once by newCorrView from a Correlation; the
// renderers lay it out and escape it. Every string has been cleaned.
type corrView struct {
	// Heading names both files: "ctcpdiag correlation: " A " and " B.
	Heading phrase
	Title   string
	// Verdict is the value (for colours), VerdictLabel the headline word,
	// VerdictLine the line that names both files.
	Verdict, VerdictLabel, VerdictLine, ConfidenceWhy string
	// Files summarise A and B, one row each.
	Files []corrFileRow
	// Offset is the clock offset sentence.
	Offset string
	// Timeline is the story in one paragraph.
	Timeline string
	Pairs    []corrPairView
	// Unpaired names the sessions that matched nothing, "" when none.
	Unpaired  string
	CannotSee []string
	Findings  []findingView
	// Recs is a view holding only the recommendations, for the shared
	// renderers.
	Recs   *view
	Footer string
}

type corrFileRow struct {
	Side, Role, Path, Packets, Span, Alone string
}

type corrPairView struct {
	Title, Verdict, MatchedOn, Relation string
	RelationWhy                         []string
	Dirs                                []corrDirView
	Lost                                []corrLostView
	LostMore                            string
	Events                              []string
	Ladder                              *ladder
}

type corrDirView struct {
	Name, BName, Upstream, Both, AOnly, BOnly, Lost, Generated, NotJudged, IKE, Delay string
}

type corrLostView struct {
	Dir, Message, AFrame, BFrame, Before, After string
}

const corrHeadingPrefix = "ctcpdiag correlation: "

func newCorrView(c *Correlation) *corrView {
	pa, pb := clean(corrPath(c.A.Path)), clean(corrPath(c.B.Path))
	label := clean(corrVerdictLabel(c.Verdict))
	v := &corrView{
		Heading:       phrase{{S: corrHeadingPrefix + "A "}, {S: pa, Code: true}, {S: " and B "}, {S: pb, Code: true}},
		Verdict:       c.Verdict,
		VerdictLabel:  label,
		ConfidenceWhy: clean(c.ConfidenceWhy),
		Timeline:      clean(c.Timeline),
		Footer:        clean("Report by " + c.Tool.Name + " " + c.Tool.Version + "."),
		Recs:          &view{},
	}
	v.Title = "ctcpdiag correlate: " + label + " - " + pa + " / " + pb
	line := "Verdict for A " + pa + " and B " + pb + ": " + label
	if c.Confidence != nil {
		line += " (" + *c.Confidence + ")"
	}
	if c.VerdictWhy != "" {
		line += " - " + c.VerdictWhy
	}
	v.VerdictLine = clean(line)
	for _, x := range []struct {
		side string
		cp   *Capture
		sv   SideVerdict
	}{{"a", &c.A, c.AVerdict}, {"b", &c.B, c.BVerdict}} {
		span := "no packets"
		if x.cp.Start != nil && x.cp.End != nil {
			span = *x.cp.Start + " to " + *x.cp.End + " (" + formatSeconds(x.cp.Duration) + ")"
		}
		alone := x.sv.Verdict
		if x.sv.Confidence != nil {
			alone += " (" + *x.sv.Confidence + ")"
		}
		v.Files = append(v.Files, corrFileRow{
			Side: strings.ToUpper(x.side), Role: sideRole(x.side, c.ClientSide),
			Path: clean(corrPath(x.cp.Path)), Packets: group(int64(x.cp.Packets)), Span: clean(span), Alone: clean(alone),
		})
	}
	switch {
	case len(c.Pairs) == 0:
		v.Offset = "Clock offset: not measured (nothing in common)."
	case c.ClockOffsetKnown:
		v.Offset = clean(fmt.Sprintf("Clock offset: B's clock is %s A's (measured from the minimum one-way delays both ways); messages within %s of either capture's start or end are not judged.",
			offsetWords(c.ClockOffset), formatDuration(time.Duration(c.JudgedMargin*1e9))))
	default:
		v.Offset = "Clock offset: not measured (no traffic matched both ways); the clocks are assumed in step."
	}
	for i := range c.Pairs {
		v.Pairs = append(v.Pairs, newCorrPairView(c, i))
	}
	if n := len(c.UnpairedA) + len(c.UnpairedB); n > 0 {
		v.Unpaired = clean(fmt.Sprintf("Sessions that matched nothing: A %s; B %s.", intList(c.UnpairedA), intList(c.UnpairedB)))
	}
	for _, s := range c.CannotSee {
		v.CannotSee = append(v.CannotSee, clean(s))
	}
	for i := range c.Findings {
		f := &c.Findings[i]
		fv := newFindingView(&Finding{ID: f.ID, Severity: f.Severity, Summary: f.Summary, Frames: f.Frames, WiresharkFilter: f.WiresharkFilter})
		switch {
		case f.Pair != nil:
			fv.Session = "pair " + strconv.Itoa(*f.Pair)
		case f.Session != nil:
			fv.Session = strings.ToUpper(f.Side) + " session " + strconv.Itoa(*f.Session)
		default:
			fv.Session = strings.ToUpper(f.Side)
		}
		if fv.Frames != "" && f.FrameSide != "" {
			fv.Frames = strings.ToUpper(f.FrameSide) + " " + fv.Frames
		}
		v.Findings = append(v.Findings, fv)
	}
	for i := range c.Recommendations {
		v.Recs.Recommendations = append(v.Recs.Recommendations, newRecommendationView(&c.Recommendations[i]))
	}
	return v
}

// sideRole is "client side", "headend side" or "unknown".
func sideRole(side, clientSide string) string {
	switch {
	case clientSide == "":
		return "unknown"
	case side == clientSide:
		return "client side"
	}
	return "headend side"
}

func corrPath(p string) string {
	if p == "-" {
		return "standard input"
	}
	return p
}

func corrVerdictLabel(v string) string {
	if v == VerdictNoMatch {
		return "NO MATCH"
	}
	return verdictLabel(v)
}

func offsetWords(s float64) string {
	ms := strconv.FormatFloat(math.Abs(s)*1000, 'f', 3, 64) + " ms"
	switch {
	case s > 0:
		return ms + " ahead of"
	case s < 0:
		return ms + " behind"
	}
	return "in step with"
}

func intList(x []int) string {
	if len(x) == 0 {
		return "none"
	}
	s := make([]string, len(x))
	for i, n := range x {
		s[i] = "session " + strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func newCorrPairView(c *Correlation, i int) corrPairView {
	p := &c.Pairs[i]
	pv := corrPairView{
		Title:     clean(fmt.Sprintf("Pair %d: A session %d (%s -> %s) = B session %d (%s -> %s), %s", i, p.ASession, p.AClient, p.AHeadend, p.BSession, p.BClient, p.BHeadend, transportLabel(p.Transport))),
		MatchedOn: clean("Matched on " + p.MatchedOn + "."),
		Relation:  clean("TCP views: " + relationWords(p.TCPRelation) + "."),
	}
	verdict := corrVerdictLabel(p.Verdict)
	if p.Confidence != nil {
		verdict += " (" + *p.Confidence + ")"
	}
	pv.Verdict = clean(verdict + " - " + p.VerdictWhy)
	for _, w := range p.RelationWhy {
		pv.RelationWhy = append(pv.RelationWhy, clean(w))
	}
	for _, d := range p.Directions {
		dv := corrDirView{
			Name: clean(d.From + " -> " + d.To), BName: clean(d.BFrom + " -> " + d.BTo),
			Upstream: "unknown", Both: group(int64(d.Both)), AOnly: group(int64(d.AOnly)), BOnly: group(int64(d.BOnly)),
			Lost: group(int64(d.LostCount)), Generated: group(int64(d.GeneratedCount)), NotJudged: group(int64(d.NotJudged)),
			IKE:   fmt.Sprintf("%d / %d / %d", d.IKEBoth, d.IKEAOnly, d.IKEBOnly),
			Delay: "-",
		}
		if d.Upstream != "" {
			dv.Upstream = strings.ToUpper(d.Upstream) + " first"
		}
		if d.Delay != nil {
			dv.Delay = fmt.Sprintf("%s / %s / %s ms", msText(d.Delay.Median), msText(d.Delay.P99), msText(d.Delay.Max))
		}
		pv.Dirs = append(pv.Dirs, dv)
		for k, l := range d.Lost {
			if k >= 20 {
				pv.LostMore = clean(fmt.Sprintf("%d more lost messages are in the JSON report.", len(d.Lost)-k))
				break
			}
			pv.Lost = append(pv.Lost, corrLostView{
				Dir: dv.Name, Message: clean(fmt.Sprintf("ESP %s #%d", l.ESPSPI, l.ESPSeq)),
				AFrame: optFrame(l.AFrame), BFrame: optFrame(l.BFrame),
				Before: aroundText(l.Before), After: aroundText(l.After),
			})
		}
	}
	for _, e := range p.GeneratedBetween {
		pv.Events = append(pv.Events, clean(fmt.Sprintf("%s: %s seen in %s only (%s): made by the device between", e.Direction, plural(int64(e.Count), eventNoun(e.Kind), eventNoun(e.Kind)+"s"), strings.ToUpper(e.Side), framesWord(e.Frames))))
	}
	for _, e := range p.AbsorbedBetween {
		pv.Events = append(pv.Events, clean(fmt.Sprintf("%s: %s seen in %s only (%s): never passed on by the device between", e.Direction, plural(int64(e.Count), eventNoun(e.Kind), eventNoun(e.Kind)+"s"), strings.ToUpper(e.Side), framesWord(e.Frames))))
	}
	pv.Ladder = newLadder(c, i)
	return pv
}

func msText(ms float64) string { return strconv.FormatFloat(ms, 'f', 3, 64) }

func optFrame(f *uint64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatUint(*f, 10)
}

func aroundText(m *MessageFrames) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("#%d (A %d, B %d)", m.ESPSeq, m.AFrame, m.BFrame)
}

func relationWords(r string) string {
	switch r {
	case "same-connection":
		return "the same connection (same sequence and ACK numbers at both points)"
	case "sequence-offset":
		return "the same connection with sequence numbers offset (a sequence randomizer, e.g. an ASA's default)"
	case "terminated":
		return "terminated: two TCP connections (a TCP proxy or other TCP-terminating device between)"
	case "not-tcp":
		return "not TCP"
	}
	return r
}

// WriteCorrelationText writes c for a terminal.
func WriteCorrelationText(w io.Writer, c *Correlation, opts TextOptions) error {
	v := newCorrView(c)
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw, p: newPalette(opts.Color)}
	t.color(t.p.bold, "%s", v.Heading.String())
	t.printf("\n")
	t.color(t.p.verdict(v.Verdict), "%s", v.VerdictLine)
	t.printf("\n")
	if v.ConfidenceWhy != "" {
		t.printf("%s\n", v.ConfidenceWhy)
	}
	t.heading("Files")
	for _, f := range v.Files {
		t.printf("  %s (%s): %s, %s packets, %s; alone: %s\n", f.Side, f.Role, f.Path, f.Packets, f.Span, f.Alone)
	}
	t.printf("  %s\n", v.Offset)
	if v.Timeline != "" {
		t.heading("Timeline")
		t.printf("  %s\n", v.Timeline)
	}
	for _, p := range v.Pairs {
		t.heading(p.Title)
		t.printf("  Verdict: %s\n  %s\n  %s\n", p.Verdict, p.MatchedOn, p.Relation)
		for _, w := range p.RelationWhy {
			t.printf("    - %s\n", w)
		}
		for _, d := range p.Dirs {
			t.printf("  %s (in B %s), %s: both %s, A only %s, B only %s, lost between %s, generated between %s, not judged %s; IKE both/A/B %s; delay median/p99/max %s\n",
				d.Name, d.BName, d.Upstream, d.Both, d.AOnly, d.BOnly, d.Lost, d.Generated, d.NotJudged, d.IKE, d.Delay)
		}
		if len(p.Lost) > 0 {
			t.printf("  Lost between the points:\n")
			for _, l := range p.Lost {
				t.printf("    %s %s: A frame %s, B frame %s; before: %s; after: %s\n", l.Dir, l.Message, l.AFrame, l.BFrame, l.Before, l.After)
			}
			if p.LostMore != "" {
				t.printf("    %s\n", p.LostMore)
			}
		}
		if len(p.Events) > 0 {
			t.printf("  Seen on one side only:\n")
			for _, e := range p.Events {
				t.printf("    %s\n", e)
			}
		}
	}
	if v.Unpaired != "" {
		t.printf("\n%s\n", v.Unpaired)
	}
	t.heading("What these captures cannot see")
	for _, s := range v.CannotSee {
		t.printf("  - %s\n", s)
	}
	t.findings(&view{Findings: v.Findings})
	t.recommendations(v.Recs)
	if t.err != nil {
		return t.err
	}
	return bw.Flush()
}

// WriteCorrelationMarkdown writes c as GitHub-flavoured Markdown, escaped
// as WriteMarkdown escapes.
func WriteCorrelationMarkdown(w io.Writer, c *Correlation) error {
	v := newCorrView(c)
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw}
	m.printf("# %s\n\n", mdPhrase(v.Heading, false))
	m.printf("**%s**\n", mdText(v.VerdictLine))
	if v.ConfidenceWhy != "" {
		m.printf("\n%s\n", mdText(v.ConfidenceWhy))
	}
	m.printf("\n## Files\n\n")
	m.row("Side", "Point", "File", "Packets", "Time span", "Verdict alone")
	m.row("---", "---", "---", "---:", "---", "---")
	for _, f := range v.Files {
		m.row(f.Side, mdText(f.Role), mdCode(f.Path, true), f.Packets, mdText(f.Span), mdText(f.Alone))
	}
	m.printf("\n%s\n", mdText(v.Offset))
	if v.Timeline != "" {
		m.printf("\n## Timeline\n\n%s\n", mdText(v.Timeline))
	}
	for _, p := range v.Pairs {
		m.printf("\n## %s\n\n**Verdict:** %s\n\n%s\n\n%s\n", mdText(p.Title), mdText(p.Verdict), mdText(p.MatchedOn), mdText(p.Relation))
		if len(p.RelationWhy) > 0 {
			m.printf("\n")
			for _, w := range p.RelationWhy {
				m.printf("- %s\n", mdText(w))
			}
		}
		m.printf("\n")
		m.row("Direction (A)", "Direction (B)", "Upstream", "Both", "A only", "B only", "Lost between", "Generated between", "Not judged", "IKE both/A/B", "Delay median/p99/max")
		m.row("---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---")
		for _, d := range p.Dirs {
			m.row(mdCode(d.Name, true), mdCode(d.BName, true), d.Upstream, d.Both, d.AOnly, d.BOnly, d.Lost, d.Generated, d.NotJudged, d.IKE, d.Delay)
		}
		if len(p.Lost) > 0 {
			m.printf("\n### Lost between the points\n\n")
			m.row("Direction", "Message", "A frame", "B frame", "Before (both)", "After (both)")
			m.row("---", "---", "---:", "---:", "---", "---")
			for _, l := range p.Lost {
				m.row(mdCode(l.Dir, true), mdCode(l.Message, true), l.AFrame, l.BFrame, mdText(l.Before), mdText(l.After))
			}
			if p.LostMore != "" {
				m.printf("\n%s\n", mdText(p.LostMore))
			}
		}
		if len(p.Events) > 0 {
			m.printf("\n### Seen on one side only\n\n")
			for _, e := range p.Events {
				m.printf("- %s\n", mdText(e))
			}
		}
	}
	if v.Unpaired != "" {
		m.printf("\n%s\n", mdText(v.Unpaired))
	}
	m.printf("\n## What these captures cannot see\n\n")
	for _, s := range v.CannotSee {
		m.printf("- %s\n", mdText(s))
	}
	m.findings(&view{Findings: v.Findings})
	m.recommendations(v.Recs)
	m.printf("\n---\n\n*%s*\n", mdText(v.Footer))
	if m.err != nil {
		return m.err
	}
	return bw.Flush()
}

// WriteCorrelationHTML writes c as one self-contained HTML page, with a
// two-lane ladder diagram around the first loss of each pair that has
// one. It loads nothing; every string is escaped by html/template.
func WriteCorrelationHTML(w io.Writer, c *Correlation) error {
	v := newCorrView(c)
	bw := bufio.NewWriter(w)
	if err := corrHTMLTemplate().Execute(bw, struct {
		*corrView
		CSS template.CSS
	}{v, template.CSS(htmlCSS())}); err != nil {
		return err
	}
	return bw.Flush()
}

// htmlCSS is the style sheet of the analyze report's page.
func htmlCSS() string {
	s := htmlSource
	i, j := strings.Index(s, "<style>"), strings.Index(s, "</style>")
	if i < 0 || j < i {
		return ""
	}
	return s[i+len("<style>") : j]
}

// corrHTMLTemplate is parsed on first use, not at start-up (see
// htmlTemplate).
var corrHTMLTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("correlation").Funcs(htmlFuncs).Parse(corrHTMLSource))
})

const corrHTMLSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>{{.CSS}}
.ladder text { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: #1b1b1b; }
.ladder .lane { stroke: #455a64; stroke-width: 2; }
.ladder .dev { stroke: #9e9e9e; stroke-dasharray: 4 4; }
.ladder .msg { stroke: #1565c0; stroke-width: 1.5; }
.ladder .lost { stroke: #c62828; stroke-width: 2; }
.ladder .gen { stroke: #ef8f00; stroke-width: 1.5; }
</style>
</head>
<body>
<h1>{{template "phrase" .Heading}}</h1>
<div class="banner {{verdictClass .Verdict}}"><div class="label">{{.VerdictLabel}}</div><p>{{.VerdictLine}}</p>
{{with .ConfidenceWhy}}<p class="confidence">{{.}}</p>{{end}}</div>
<h2>Files</h2>
<table><tr><th>Side</th><th>Point</th><th>File</th><th>Packets</th><th>Time span</th><th>Verdict alone</th></tr>
{{range .Files}}<tr><td>{{.Side}}</td><td>{{.Role}}</td><td><code>{{.Path}}</code></td><td class="n">{{.Packets}}</td><td>{{.Span}}</td><td>{{.Alone}}</td></tr>
{{end}}</table>
<p>{{.Offset}}</p>
{{with .Timeline}}<h2>Timeline</h2>
<p>{{.}}</p>{{end}}
{{range .Pairs}}<h2>{{.Title}}</h2>
<p><strong>Verdict:</strong> {{.Verdict}}</p>
<p>{{.MatchedOn}}</p>
<p>{{.Relation}}</p>
{{with .RelationWhy}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table><tr><th>Direction (A)</th><th>Direction (B)</th><th>Upstream</th><th>Both</th><th>A only</th><th>B only</th><th>Lost between</th><th>Generated between</th><th>Not judged</th><th>IKE both/A/B</th><th>Delay median/p99/max</th></tr>
{{range .Dirs}}<tr><td><code>{{.Name}}</code></td><td><code>{{.BName}}</code></td><td>{{.Upstream}}</td><td class="n">{{.Both}}</td><td class="n">{{.AOnly}}</td><td class="n">{{.BOnly}}</td><td class="n">{{.Lost}}</td><td class="n">{{.Generated}}</td><td class="n">{{.NotJudged}}</td><td>{{.IKE}}</td><td>{{.Delay}}</td></tr>
{{end}}</table>
{{with .Ladder}}<h3>Around the first loss</h3>
<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Caption}}">
<line class="lane" x1="{{.XA}}" y1="40" x2="{{.XA}}" y2="{{.Bottom}}"/><line class="lane" x1="{{.XB}}" y1="40" x2="{{.XB}}" y2="{{.Bottom}}"/><line class="dev" x1="{{.XM}}" y1="40" x2="{{.XM}}" y2="{{.Bottom}}"/>
<text x="{{.XA}}" y="20" text-anchor="middle">{{.LabelA}}</text><text x="{{.XB}}" y="20" text-anchor="middle">{{.LabelB}}</text><text x="{{.XM}}" y="34" text-anchor="middle">device between</text>
{{range .Lines}}<line class="{{.Class}}" x1="{{.X1}}" y1="{{.Y1}}" x2="{{.X2}}" y2="{{.Y2}}"/>{{if .Cross}}<path class="lost" d="M{{sub .X2 5}} {{sub .Y2 5}} l10 10 m0 -10 l-10 10"/>{{end}}<text x="{{.TX}}" y="{{.TY}}" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}</svg>
<p class="note">{{.Caption}}</p>{{end}}
{{with .Lost}}<h3>Lost between the points</h3>
<table><tr><th>Direction</th><th>Message</th><th>A frame</th><th>B frame</th><th>Before (both)</th><th>After (both)</th></tr>
{{range .}}<tr><td><code>{{.Dir}}</code></td><td><code>{{.Message}}</code></td><td class="n">{{.AFrame}}</td><td class="n">{{.BFrame}}</td><td>{{.Before}}</td><td>{{.After}}</td></tr>
{{end}}</table>{{end}}
{{with .LostMore}}<p>{{.}}</p>{{end}}
{{with .Events}}<h3>Seen on one side only</h3>
<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{with .Unpaired}}<p>{{.}}</p>{{end}}
<h2>What these captures cannot see</h2>
<ul>{{range .CannotSee}}<li>{{.}}</li>{{end}}</ul>
<h2>Findings</h2>
{{range .Findings}}<div class="finding"><p><span class="sev {{sevClass .Severity}}">{{.Label}}</span> <code>{{.ID}}</code>{{with .Session}} ({{.}}){{end}}: {{.Summary}}</p>
{{with .Frames}}<p>Frames: {{.}}</p>{{end}}{{with .Filter}}<p>Filter: <code>{{.}}</code></p>{{end}}</div>
{{else}}<p>None.</p>{{end}}
<h2>Recommendations</h2>
{{range .Recs.Recommendations}}<h3>{{.Rank}}. {{.Title}} (<code>{{.Action}}</code>)</h3>
{{with .Why}}<p><strong>Why:</strong> {{.}}</p>{{end}}
{{with .Config}}<pre><code>{{range .}}{{.}}
{{end}}</code></pre>{{end}}
{{with .Caution}}<p><strong>Caution:</strong> {{.}}</p>{{end}}
{{else}}<p>None.</p>{{end}}
<footer><p>{{.Footer}}</p></footer>
</body>
</html>
{{define "phrase"}}{{range .}}{{if .Code}}<code>{{.S}}</code>{{else}}{{.S}}{{end}}{{end}}{{end}}`

// framesWord is "frame N" for one frame and "frames N, M, ..." for more.
func framesWord(frames []uint64) string {
	if len(frames) == 1 {
		return "frame " + frameList(frames)
	}
	return "frames " + frameList(frames)
}
