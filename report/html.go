package report

import (
	"bufio"
	"html/template"
	"io"
	"sync"
)

// WriteHTML writes rep as one self-contained HTML page: a heading that
// names the capture, the verdict banner (whose line names it too), the
// capture summary, the sessions table and notes, for each Graph an inline
// SVG time-sequence graph with its session's evidence frames, the
// evidence frames of the sessions in Report.Evidence without a graph, the
// findings, the ranked recommendations with their configuration in
// <pre><code> blocks and a short glossary.
//
// The page loads nothing: no scripts, fonts, stylesheets or images, only
// inline CSS, and a Content-Security-Policy meta tag forbids loading
// anything else. It reads on screen and on paper (print CSS). Every string
// from the report is HTML-escaped by html/template after control
// characters are shown escaped as in WriteText. The output depends only on
// rep.
func WriteHTML(w io.Writer, rep *Report) error {
	v := htmlView{view: newView(rep), Graphs: make([]htmlGraph, len(rep.Graphs))}
	for i := range rep.Graphs {
		g := &rep.Graphs[i]
		v.Graphs[i] = htmlGraph{SVG: layoutGraph(g, i+1), Evidence: v.graphEvidence(g)}
	}
	for i := range v.Evidence {
		if e := &v.Evidence[i]; len(e.Rows) > 0 && !graphed(rep, e.Session) {
			v.Ungraphed = append(v.Ungraphed, e)
		}
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate().Execute(bw, &v); err != nil {
		return err
	}
	return bw.Flush()
}

// htmlView is the view with the graphs drawn: each graph with its
// session's evidence, then the evidence of the sessions without a graph
// (the report was built without their series).
type htmlView struct {
	*view
	Graphs    []htmlGraph
	Ungraphed []*evidenceView
}

type htmlGraph struct {
	SVG      svgGraph
	Evidence *evidenceView
}

// graphEvidence is the evidence of g's session; one without rows, for
// the caption, if the report lists none for it (Build lists it for every
// graphed session).
func (v *htmlView) graphEvidence(g *Graph) *evidenceView {
	for i := range v.Evidence {
		if v.Evidence[i].Session == g.Session {
			return &v.Evidence[i]
		}
	}
	ev := newEvidenceView(&SessionEvidence{Session: g.Session, Title: g.Title, Start: g.Start, Duration: g.Duration})
	return &ev
}

// graphed says whether rep has a graph of the session with ID id.
func graphed(rep *Report, id int) bool {
	for i := range rep.Graphs {
		if rep.Graphs[i].Session == id {
			return true
		}
	}
	return false
}

// htmlFuncs choose CSS classes and place the graphs' text; they compose
// no sentence.
var htmlFuncs = template.FuncMap{
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
	"rot": func(x, y float64) string {
		return "rotate(-90 " + num(x) + " " + num(y) + ")"
	},
	"sub":  func(a, b float64) float64 { return a - b },
	"div2": func(a float64) float64 { return a / 2 },
	"add":  func(a, b float64) float64 { return a + b },
}

// htmlTemplate is parsed on first use: parsing it at package
// initialization cost every run of the binary, HTML or not, about 1.5 ms
// and 3,600 allocations of its start-up (docs/performance.md).
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlSource))
})

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
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
<h1>{{template "phrase" .Heading}}</h1>

<header class="banner {{verdictClass .Verdict}}">
<div class="label">{{.VerdictLabel}}</div>
<p>{{.VerdictLine}}</p>
{{with .ConfidenceWhy}}<p class="confidence">{{.}}</p>{{end}}
</header>

<section id="capture">
<h2>Capture</h2>
<table class="kv">
{{range .Capture}}<tr><th>{{.Label}}</th><td>{{template "phrase" .Value}}</td></tr>
{{end}}<tr><th>Warnings</th><td>{{with .Warnings}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{else}}none{{end}}</td></tr>
</table>
</section>

<section id="sessions">
<h2>Sessions</h2>
{{with .Transports}}<p>{{.}}.</p>
{{end}}{{if .Sessions}}<table>
<tr><th>ID</th><th>Transport</th><th>Client</th><th>Headend</th><th>Frames</th><th>Packets</th><th>Dup ACKs</th><th>Retrans</th><th>Lost</th><th>Requests</th><th>Outcome</th></tr>
{{range .Sessions}}<tr><td class="n">{{.ID}}</td><td>{{.Transport}}</td><td><code>{{.Client}}</code></td><td><code>{{.Headend}}</code></td><td class="n">{{.Frames}}</td><td class="n">{{.Packets}}</td><td class="n">{{.DupAcks}}</td><td class="n">{{.Retrans}}</td><td class="n">{{.Lost}}</td><td>{{.Requests}}{{with .Unanswered}} <span class="unanswered">({{.}})</span>{{end}}</td><td>{{.Outcome}}</td></tr>
{{end}}</table>
{{else if .NoSessions}}<p>No TCP sessions or VPN flows.</p>
{{end}}{{with .Others}}<p>{{if $.OthersAfter}}Plus {{end}}{{.}}.</p>
{{end}}{{range .Notes}}<div class="notes"><strong>Session {{.ID}}</strong>, {{.Transport}} <code>{{.Filter}}</code>
<ul>
{{range .Facts}}<li>{{.}}</li>
{{end}}{{range .Requests}}<li>{{.Text}}: <span class="{{.State}}">{{.State}}</span>{{with .After}} {{template "phrase" .}}{{end}}</li>
{{end}}{{with .More}}<li>{{.}} (see the JSON report)</li>
{{end}}</ul></div>
{{end}}{{if .Guess}}<p class="muted">? transport recognised from a partial pattern or the port only.</p>
{{end}}</section>
{{range .Graphs}}
<section class="big" id="{{.SVG.ID}}">
<h2>Time-sequence graph: {{.Evidence.Title}}</h2>
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
<figcaption>x: time in seconds from the session's first packet ({{.Evidence.Start}}, {{.Evidence.Duration}} in all); y: relative sequence number in bytes, per direction. Data segments are grouped into time buckets.</figcaption>
</figure>
{{with .Evidence}}{{if .Rows}}<h3>Evidence frames</h3>
{{template "evidence" .}}{{end}}{{end}}</section>
{{end}}{{range .Ungraphed}}
<section class="big" id="evidence-{{.Session}}">
<h2>Evidence: {{.Title}}</h2>
<p>{{.Note}}</p>
{{template "evidence" .}}</section>
{{end}}
<section class="big" id="findings">
<h2>Findings</h2>
{{range .Findings}}<div class="finding">
<p><span class="sev {{sevClass .Severity}}">{{.Label}}</span> <code>{{.ID}}</code>{{with .Session}} ({{.}}){{end}}</p>
<p>{{.Summary}}</p>
{{with .Frames}}<p class="muted">Frames: {{.}}</p>
{{end}}{{with .Filter}}<p class="muted">Wireshark filter: <code>{{.}}</code></p>
{{end}}</div>
{{else}}<p>None.</p>
{{end}}</section>

<section class="big" id="recommendations">
<h2>Recommendations</h2>
{{range .Recommendations}}<div class="rec">
<h3>{{.Rank}}. {{.Title}} <code>{{.Action}}</code></h3>
{{with .Why}}<p><strong>Why:</strong> {{.}}</p>
{{end}}{{with .Config}}<p><strong>Configuration:</strong></p>
<pre><code>{{range $i, $l := .}}{{if $i}}
{{end}}{{$l}}{{end}}</code></pre>
{{end}}{{with .Caution}}<p class="caution"><strong>Caution:</strong> {{.}}</p>
{{end}}</div>
{{else}}<p>None.</p>
{{end}}</section>

<section id="glossary">
<h2>Glossary</h2>
<dl class="glossary">
{{range .Glossary}}<dt>{{.Term}}</dt><dd>{{.What}}<br>{{.Why}}</dd>
{{end}}</dl>
</section>

<footer><p class="muted">{{.Footer}}</p></footer>
</body>
</html>
{{define "phrase"}}{{range .}}{{if .Code}}<code>{{.S}}</code>{{else}}{{.S}}{{end}}{{end}}{{end}}{{define "evidence"}}<table>
<tr><th>Frame</th><th>Time (s)</th><th>Direction</th><th>What it shows</th></tr>
{{range .Rows}}<tr><td class="n">{{.Frame}}</td><td class="n">{{.Time}}</td><td>{{.Direction}}</td><td>{{.What}}</td></tr>
{{end}}</table>
{{with .Omitted}}<p class="muted">{{.}}</p>
{{end}}{{with .Wireshark}}<p>{{template "phrase" .}}</p>
{{end}}{{end}}`
