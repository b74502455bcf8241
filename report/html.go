package report

import (
	"bufio"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// WriteHTML writes rep as one self-contained HTML page: a heading that
// names the capture, the verdict banner (whose line names it too), the
// capture summary, the sessions table and notes, for each Graph an inline
// SVG time-sequence graph with its evidence frames, the findings, the
// ranked recommendations with their configuration in <pre><code> blocks
// and a short glossary.
//
// The page loads nothing: no scripts, fonts, stylesheets or images, only
// inline CSS, and a Content-Security-Policy meta tag forbids loading
// anything else. It reads on screen and on paper (print CSS). Every string
// from the report is HTML-escaped by html/template after control
// characters are shown escaped as in WriteText. The output depends only on
// rep.
func WriteHTML(w io.Writer, rep *Report) error {
	v := htmlView{Rep: rep, Glossary: glossary}
	if !transportsStated(rep) {
		v.Transports = transportsSentence(rep, clean)
	}
	notes, guess := sessionNotes(rep, clean)
	v.Guess = guess
	for _, n := range notes {
		hn := htmlNote{ID: n.s.ID, Transport: n.transport, Filter: n.s.WiresharkFilter, Facts: n.facts, More: n.more}
		for _, q := range n.requests {
			hn.Requests = append(hn.Requests, htmlRequest{Text: q.text, State: q.state.String(), Why: q.why, See: q.see})
		}
		v.Notes = append(v.Notes, hn)
	}
	for i := range rep.Graphs {
		v.Graphs = append(v.Graphs, htmlGraph{G: &rep.Graphs[i], SVG: layoutGraph(&rep.Graphs[i], i+1)})
	}
	for _, i := range rep.Listing.Shown {
		if i >= 0 && i < len(rep.Sessions) {
			v.Shown = append(v.Shown, &rep.Sessions[i])
		}
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, &v); err != nil {
		return err
	}
	return bw.Flush()
}

type htmlView struct {
	Rep    *Report
	Shown  []*Session
	Graphs []htmlGraph
	// Transports lists the VPN transports seen, "" when a finding does.
	Transports string
	// Notes are the session notes (sessionNotes), Guess whether a listed
	// VPN transport was only guessed.
	Notes    []htmlNote
	Guess    bool
	Glossary []glossaryEntry
}

// htmlNote is a sessionNote for the template. Its strings have been
// cleaned, not escaped: the template escapes them.
type htmlNote struct {
	ID                int
	Transport, Filter string
	Facts             []string
	Requests          []htmlRequest
	More              int
}

// htmlRequest is a requestNote for the template; State is "answered",
// "unanswered" or "inconclusive".
type htmlRequest struct {
	Text, State, Why, See string
}

type htmlGraph struct {
	G   *Graph
	SVG svgGraph
}

// OtherSessions is the line about the sessions the table leaves out, ""
// when none.
func (v *htmlView) OtherSessions() string {
	return otherSessionsSentence(v.Rep.Listing)
}

var htmlFuncs = template.FuncMap{
	"c":             clean,
	"heading":       func() string { return headingPrefix },
	"path":          func(r *Report) string { return clean(displayPath(r)) },
	"verdictLine":   func(r *Report) string { return clean(verdictLine(r)) },
	"confidenceWhy": func(r *Report) string { return clean(r.ConfidenceWhy) },
	"label":         transportLabel,
	"group":         func(n any) string { return group(toInt64(n)) },
	"noHash":        func() string { return noHash },
	"plural": func(n any, one, many string) string {
		return plural(toInt64(n), one, many)
	},
	"frames":       frameList,
	"verdictLabel": func(v string) string { return clean(verdictLabel(v)) },
	"verdictClass": func(v string) string {
		switch v {
		case "affected", "at-risk", "healthy", "no-ctcp", "inconclusive":
			return "v-" + v
		}
		return "v-other"
	},
	"sevClass": func(s string) string {
		switch s {
		case "critical", "warning", "info":
			return "sev-" + s
		}
		return "sev-other"
	},
	"upper":   func(s string) string { return strings.ToUpper(clean(s)) },
	"seconds": formatSeconds,
	"offset":  func(s float64) string { return strconv.FormatFloat(s, 'f', 6, 64) },
	"config":  func(s string) string { return strings.Join(cleanLines(s), "\n") },
	"guess": func(s *Session) bool {
		return !s.TransportSure && analyze.Transport(s.Transport).IsVPN()
	},
	"rot": func(x, y float64) string {
		return "rotate(-90 " + num(x) + " " + num(y) + ")"
	},
	"sub":  func(a, b float64) float64 { return a - b },
	"div2": func(a float64) float64 { return a / 2 },
	"add":  func(a, b float64) float64 { return a + b },
}

func toInt64(n any) int64 {
	switch n := n.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	return 0
}

var htmlTemplate = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlSource))

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>ctcpdiag: {{verdictLabel .Rep.Verdict}} - {{path .Rep}}</title>
<style>
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1b1b; background: #fff; margin: 0 auto; max-width: 1100px; padding: 0 20px 40px; }
h1 { font-size: 1.35em; margin: 1em 0 .3em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .5em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .92em; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: #f6f6f6; border: 1px solid #ddd; border-radius: 4px; padding: .7em .9em; overflow-x: auto; white-space: pre; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: .5em 0; font-size: .93em; }
th, td { border: 1px solid #d0d0d0; padding: .25em .55em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { width: 9em; }
.banner { margin: 20px 0 10px; padding: 14px 18px; border-radius: 6px; border-left: 10px solid; }
.banner .label { font-size: 1.5em; font-weight: 700; letter-spacing: .02em; }
.banner p { margin: .3em 0 0; }
.v-affected { background: #fdecea; border-color: #c62828; }
.v-affected .label { color: #b71c1c; }
.v-at-risk, .v-inconclusive { background: #fff6e0; border-color: #ef8f00; }
.v-at-risk .label, .v-inconclusive .label { color: #a55f00; }
.v-healthy { background: #e8f5e9; border-color: #2e7d32; }
.v-healthy .label { color: #1b5e20; }
.v-no-ctcp, .v-other { background: #eef1f5; border-color: #607d8b; }
.sev { font-weight: 700; font-size: .85em; padding: .05em .45em; border-radius: 3px; border: 1px solid; }
.sev-critical { color: #b71c1c; border-color: #c62828; }
.sev-warning { color: #a55f00; border-color: #ef8f00; }
.sev-info, .sev-other { color: #455a64; border-color: #90a4ae; }
.finding { margin: .9em 0; }
.finding p { margin: .25em 0; }
.unanswered { color: #b71c1c; font-weight: 600; }
.inconclusive { color: #a55f00; font-weight: 600; }
.notes { margin: .3em 0 .8em; }
.notes ul { margin: .2em 0; }
.caution { border-left: 4px solid #ef8f00; background: #fff8ea; padding: .4em .8em; margin: .5em 0; }
.muted { color: #555; }
dl.glossary dt { font-weight: 600; margin-top: .6em; }
dl.glossary dd { margin: .1em 0 0 1.5em; }
figure { margin: 1em 0; }
figcaption { font-size: .9em; color: #444; }
svg.tsg { width: 100%; height: auto; max-width: 1000px; display: block; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.tsg text { font-size: 11px; fill: #222; }
svg.tsg .title { font-size: 14px; font-weight: 700; }
svg.tsg .subtitle { fill: #555; }
svg.tsg .ptitle { font-size: 12px; font-weight: 600; }
svg.tsg .pnote { font-size: 12px; font-weight: 600; fill: #b71c1c; }
svg.tsg .plot { fill: #fcfcfc; stroke: #999; stroke-width: 1; }
svg.tsg .plot.concerned { stroke: #b71c1c; stroke-width: 1.5; }
svg.tsg .grid { stroke: #e6e6e6; stroke-width: 1; }
svg.tsg .tick { text-anchor: middle; fill: #333; }
svg.tsg .ytick { text-anchor: end; fill: #333; }
svg.tsg .axis { font-size: 12px; text-anchor: middle; fill: #333; }
svg.tsg .data { fill: none; stroke-width: 1.8; stroke-linecap: butt; }
svg.tsg .c2h .data, svg.tsg .lg-c2h { stroke: #1f5fbf; fill: #1f5fbf; }
svg.tsg .h2c .data, svg.tsg .lg-h2c { stroke: #00897b; fill: #00897b; }
svg.tsg .resent { fill: none; stroke: #e65100; stroke-width: 3.2; }
svg.tsg .lg-resent { fill: #e65100; stroke: #e65100; }
svg.tsg .ack { fill: none; stroke: #666; stroke-width: 1.1; stroke-linejoin: miter; }
svg.tsg .lg-ack { fill: #666; stroke: #666; }
svg.tsg .req { stroke-width: 3; }
svg.tsg path.req { fill: none; stroke-width: 2.5; }
svg.tsg .req.unanswered, svg.tsg .lg-unanswered { stroke: #d50000; fill: #d50000; }
svg.tsg .req.answered, svg.tsg .lg-answered { stroke: #7b1fa2; fill: #7b1fa2; }
svg.tsg .req.unknown, svg.tsg .lg-unknown { stroke: #f9a825; fill: #f9a825; }
svg.tsg .band, svg.tsg .lg-band { fill: #ff1744; fill-opacity: .22; stroke: #d50000; stroke-width: .6; stroke-dasharray: 3 2; }
svg.tsg .bandlabel { fill: #b71c1c; font-weight: 600; }
svg.tsg .marker { stroke-width: 1.3; stroke-dasharray: 5 3; }
svg.tsg .m-stall, svg.tsg .lg-stall { stroke: #222; fill: #222; }
svg.tsg .m-reset { stroke: #c62828; fill: #c62828; }
svg.tsg .m-close { stroke: #777; fill: #777; }
svg.tsg .m-reconnect { stroke: #1565c0; fill: #1565c0; }
svg.tsg text.mlabel { font-weight: 600; stroke: none; }
svg.tsg text.end { text-anchor: end; }
svg.tsg .empty { text-anchor: middle; fill: #777; font-size: 13px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; color: #000; background: #fff; }
  .banner { background: #fff !important; border-width: 2px 2px 2px 10px; border-style: solid; }
  h2 { break-after: avoid; }
  section.big { break-before: page; }
  figure, tr, .finding { break-inside: avoid; }
  svg.tsg { max-width: 100%; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; }
  code { background: none; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
{{with .Rep}}<h1>{{heading}}<code>{{path .}}</code></h1>

<header class="banner {{verdictClass .Verdict}}">
<div class="label">{{verdictLabel .Verdict}}</div>
<p>{{verdictLine .}}</p>
{{if .ConfidenceWhy}}<p class="confidence">{{confidenceWhy .}}</p>{{end}}
</header>

<section id="capture">
<h2>Capture</h2>
{{with .Capture}}<table class="kv">
<tr><th>File</th><td><code>{{c .Path}}</code></td></tr>
<tr><th>Format</th><td>{{c .Format}}{{if and .Compression (ne .Compression "none")}}, {{c .Compression}}-compressed{{end}}</td></tr>
<tr><th>Size</th><td>{{plural .Size "byte" "bytes"}}</td></tr>
<tr><th>SHA-256</th><td>{{if .SHA256}}<code>{{c .SHA256}}</code>{{else}}{{noHash}}{{end}}</td></tr>
<tr><th>Packets</th><td>{{group .Packets}}</td></tr>
<tr><th>Time span</th><td>{{if and .Start .End}}{{c .Start}} to {{c .End}} ({{seconds .Duration}}){{else}}no packets{{end}}</td></tr>
<tr><th>Link types</th><td>{{range $i, $l := .LinkTypes}}{{if $i}}, {{end}}{{c $l}}{{else}}none{{end}}</td></tr>
<tr><th>TCP analysis</th><td>{{with .Stats.TCP}}{{plural .DupAcks "dup ACK" "dup ACKs"}}, {{plural .Retransmissions "retransmission" "retransmissions"}}, {{plural .LostSegments "lost segment" "lost segments"}}, {{plural .OutOfOrder "out-of-order segment" "out-of-order segments"}}, {{plural .ZeroWindows "zero window" "zero windows"}}{{end}} in {{plural .Stats.TCPStreams "TCP stream" "TCP streams"}}</td></tr>
<tr><th>Warnings</th><td>{{if .Warnings}}<ul>{{range .Warnings}}<li>{{c .}}</li>{{end}}</ul>{{else}}none{{end}}</td></tr>
</table>{{end}}
</section>

<section id="sessions">
<h2>Sessions</h2>
{{end}}{{with .Transports}}<p>VPN transports seen: {{.}}.</p>
{{end}}{{if .Shown}}<table>
<tr><th>ID</th><th>Transport</th><th>Client</th><th>Headend</th><th>Frames</th><th>Packets</th><th>Dup ACKs</th><th>Retrans</th><th>Lost</th><th>Requests</th><th>Outcome</th></tr>
{{range .Shown}}<tr><td class="n">{{.ID}}</td><td>{{c (label .Transport)}}{{if guess .}}?{{end}}</td><td><code>{{c .Client}}</code></td><td><code>{{c .Headend}}</code></td><td class="n">{{.FirstFrame}}-{{.LastFrame}}</td><td class="n">{{group .Packets}}</td><td class="n">{{group .DupAcks}}</td><td class="n">{{group .Retransmissions}}</td><td class="n">{{group .LostSegments}}</td><td>{{len .RetransmitRequests}}{{if .Unanswered}} <span class="unanswered">({{.Unanswered}} unanswered)</span>{{end}}</td><td>{{c .Outcome}}</td></tr>
{{end}}</table>
{{else if not .Rep.Sessions}}<p>No TCP sessions or VPN flows.</p>
{{end}}{{with .OtherSessions}}<p>{{.}}</p>
{{end}}{{range .Notes}}<div class="notes"><strong>Session {{.ID}}</strong>, {{c .Transport}} <code>{{c .Filter}}</code>
<ul>
{{range .Facts}}<li>{{.}}</li>
{{end}}{{range .Requests}}<li>{{.Text}}: <span class="{{.State}}">{{.State}}</span>{{if .See}} (see finding <code>{{c .See}}</code>){{else if .Why}} ({{.Why}}){{end}}</li>
{{end}}{{with .More}}<li>... {{.}} more retransmit requests (see the JSON report)</li>
{{end}}</ul></div>
{{end}}{{if .Guess}}<p class="muted">? transport recognised from a partial pattern or the port only.</p>
{{end}}</section>
{{range .Graphs}}
<section class="big" id="{{.SVG.ID}}">
<h2>Time-sequence graph: {{c .G.Title}}</h2>
<figure>
{{with .SVG}}<svg class="tsg" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}">
<text class="title" x="{{.PlotLeft}}" y="18">{{.Title}}</text>
<text class="subtitle" x="{{.PlotLeft}}" y="34">{{.Subtitle}}</text>
{{range .Panels}}<g class="panel {{.Class}}">
<text class="ptitle" x="{{.PlotLeft}}" y="{{.TitleY}}">{{.Title}}</text>
{{if .Note}}<text class="pnote" x="{{.PlotLeft}}" y="{{.NoteY}}">{{.Note}}</text>
{{end}}<rect class="plot{{if .Concerned}} concerned{{end}}" x="{{.PlotLeft}}" y="{{.Top}}" width="{{.PlotW}}" height="{{sub .Bottom .Top}}"/>
{{$p := .}}{{range .YTicks}}<line class="grid" x1="{{$p.PlotLeft}}" x2="{{add $p.PlotLeft $p.PlotW}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text class="ytick" x="{{sub $p.PlotLeft 5}}" y="{{add .Pos 4}}">{{.Label}}</text>
{{end}}{{range .XTicks}}<line class="grid" x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$p.Top}}" y2="{{$p.Bottom}}"/><text class="tick" x="{{.Pos}}" y="{{add $p.Bottom 14}}">{{.Label}}</text>
{{end}}<text class="axis" x="{{.AxisTitleX}}" y="{{.AxisTitleY}}" transform="{{rot .AxisTitleX .AxisTitleY}}">relative sequence number (bytes)</text>
{{if .Empty}}<text class="empty" x="{{.EmptyX}}" y="{{.EmptyY}}">no data or ACKs in this direction</text>
{{end}}<g class="marks">
{{range .Bands}}<rect class="band" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/>
{{end}}{{if .Acks}}<path class="ack" d="{{.Acks}}"/>
{{end}}{{if .Data}}<path class="data" d="{{.Data}}"/>
{{end}}{{if .Resent}}<path class="resent" d="{{.Resent}}"/>
{{end}}{{range .Requests}}<g class="req {{.Class}}"><title>{{.Tip}}</title><line x1="{{.X}}" x2="{{.X2}}" y1="{{.Y}}" y2="{{.Y}}"/><circle cx="{{.X}}" cy="{{.Y}}" r="4"/></g>
{{end}}{{with .MoreAnswered}}<path class="req answered" d="{{.}}"/>
{{end}}{{with .MoreUnanswered}}<path class="req unanswered" d="{{.}}"/>
{{end}}{{with .MoreUnknown}}<path class="req unknown" d="{{.}}"/>
{{end}}{{range .Bands}}{{if .Label}}<text class="bandlabel{{if .LabelEnd}} end{{end}}" x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text>
{{end}}{{end}}</g>
</g>
{{end}}{{range .Markers}}<g class="m-{{.Kind}}"><line class="marker" x1="{{.X}}" x2="{{.X}}" y1="{{.Y1}}" y2="{{.Y2}}"/><text class="mlabel{{if .LabelEnd}} end{{end}}" x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text></g>
{{end}}<text class="axis" x="{{add .PlotLeft (div2 .PlotW)}}" y="{{.TimeY}}">time (s) from the session's first packet</text>
{{range .Legend}}<g class="legend"><rect class="{{.Class}}" x="{{.X}}" y="{{sub .Y 9}}" width="14" height="10"/><text x="{{add .X 20}}" y="{{.Y}}">{{.Label}}</text></g>
{{end}}</svg>{{end}}
<figcaption>x: time in seconds from the session's first packet ({{c .G.Start}}, {{seconds .G.Duration}} in all); y: relative sequence number in bytes, per direction. Data segments are grouped into time buckets.</figcaption>
</figure>
{{if .G.Evidence}}<h3>Evidence frames</h3>
<table>
<tr><th>Frame</th><th>Time (s)</th><th>Direction</th><th>What it shows</th></tr>
{{range .G.Evidence}}<tr><td class="n">{{.Frame}}</td><td class="n">{{if .HasTime}}{{offset .Offset}}{{end}}</td><td>{{c .Direction}}</td><td>{{c .What}}</td></tr>
{{end}}</table>
{{with .G.EvidenceOmitted}}<p class="muted">{{plural . "more retransmit request" "more retransmit requests"}} not listed (see the JSON report).</p>
{{end}}{{end}}</section>
{{end}}
{{with .Rep}}<section class="big" id="findings">
<h2>Findings</h2>
{{range .Findings}}<div class="finding">
<p><span class="sev {{sevClass .Severity}}">{{upper .Severity}}</span> <code>{{c .ID}}</code>{{with .Session}} (session {{.}}){{end}}</p>
<p>{{c .Summary}}</p>
{{if .Frames}}<p class="muted">Frames: {{frames .Frames}}</p>
{{end}}{{if .WiresharkFilter}}<p class="muted">Wireshark filter: <code>{{c .WiresharkFilter}}</code></p>
{{end}}</div>
{{else}}<p>None.</p>
{{end}}</section>

<section class="big" id="recommendations">
<h2>Recommendations</h2>
{{range .Recommendations}}<div class="rec">
<h3>{{.Rank}}. {{if .Title}}{{c .Title}}{{else}}{{c .Action}}{{end}} <code>{{c .Action}}</code></h3>
{{if .Why}}<p><strong>Why:</strong> {{c .Why}}</p>
{{end}}{{with config .Config}}<p><strong>Configuration:</strong></p>
<pre><code>{{.}}</code></pre>
{{end}}{{if .Caution}}<p class="caution"><strong>Caution:</strong> {{c .Caution}}</p>
{{end}}</div>
{{else}}<p>None.</p>
{{end}}</section>
{{end}}
<section id="glossary">
<h2>Glossary</h2>
<dl class="glossary">
{{range .Glossary}}<dt>{{.Term}}</dt><dd>{{.What}}<br>{{.Why}}</dd>
{{end}}</dl>
</section>
{{with .Rep}}
<footer><p class="muted">Report by {{c .Tool.Name}} {{c .Tool.Version}}.</p></footer>
{{end}}</body>
</html>
`
