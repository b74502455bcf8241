package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Layout of a graph, in SVG user units (CSS pixels at 100%).
const (
	svgWidth      = 1000.0
	svgLeft       = 92.0  // room for the y tick labels and the axis title
	svgRight      = 24.0  // room for the last x tick label
	svgPlotHeight = 230.0 // height of one panel's plot area
	svgPanelGap   = 52.0  // panel title above, x tick labels below
	svgLabelRow   = 15.0  // height of one row of marker labels
	svgMaxRows    = 4     // rows of marker labels
	svgCharWidth  = 6.4   // estimated width of one 11px character
	svgMinBar     = 2.0   // minimum bar height, so that one segment shows
	svgBandHeight = 8.0   // height of the never-resent band
	svgMaxTips    = 30    // requests drawn with a tooltip, per panel
)

// svgGraph is a Graph scaled to the page: every number is a coordinate.
type svgGraph struct {
	ID       string
	Title    string
	Subtitle string
	Width    float64
	Height   float64
	Panels   []svgPanel
	Markers  []svgMarker
	Legend   []svgLegend
	LegendY  float64
	PlotLeft float64
	PlotW    float64
	TimeY    float64 // baseline of the "time (s)" axis title
}

type svgPanel struct {
	Title, Note   string
	Class         string // "c2h" or "h2c": the colour of the data
	Top, Bottom   float64
	TitleY, NoteY float64
	AxisTitleX    float64
	AxisTitleY    float64
	Data, Resent  string // path data of the bars
	Acks          string // path data of the ACK line
	Requests      []svgRequest
	// MoreAnswered etc. draw the requests beyond the first svgMaxTips.
	MoreAnswered, MoreUnanswered, MoreUnknown string
	Bands                                     []svgBand
	XTicks, YTicks                            []svgTick
	Empty                                     bool
	EmptyX, EmptyY                            float64
	Concerned                                 bool
	PlotLeft, PlotW                           float64
}

type svgTick struct {
	Pos   float64 // x for XTicks, y for YTicks
	Label string
}

type svgRequest struct {
	X, Y, X2 float64
	Class    string // "answered", "unanswered" or "unknown"
	Tip      string
}

type svgBand struct {
	X, Y, W, H     float64
	Label          string
	LabelX, LabelY float64
	LabelEnd       bool // anchor the label at its end
}

type svgMarker struct {
	X, Y1, Y2      float64
	Kind           string
	Label          string
	LabelX, LabelY float64
	LabelEnd       bool
}

type svgLegend struct {
	X, Y  float64
	Class string
	Label string
}

// layoutGraph scales g to SVG coordinates; n numbers it within the page.
func layoutGraph(g *Graph, n int) svgGraph {
	plotW := svgWidth - svgLeft - svgRight
	dur := g.Duration
	if !(dur > 0) {
		dur = 1
	}
	xOf := func(t float64) float64 { return svgLeft + min(max(t, 0), dur)/dur*plotW }

	sg := svgGraph{
		ID:       "graph-" + strconv.Itoa(n),
		Title:    clean(g.Title),
		Subtitle: fmt.Sprintf("Wireshark: %s; times from %s", clean(g.WiresharkFilter), clean(g.Start)),
		Width:    svgWidth,
		PlotLeft: svgLeft,
		PlotW:    plotW,
	}

	// Marker labels go in rows above the panels, each in the first row
	// where it does not overlap another.
	type span struct{ a, b float64 }
	var rows [svgMaxRows][]span
	used := 0
	for _, m := range g.Markers {
		x := xOf(m.Time)
		label := clean(m.Label)
		w := float64(len(label)) * svgCharWidth
		end := x+4+w > svgWidth-4
		a, b := x+4, x+4+w
		if end {
			a, b = x-4-w, x-4
		}
		row := svgMaxRows - 1
		for r := range svgMaxRows {
			free := true
			for _, s := range rows[r] {
				if a < s.b+8 && s.a < b+8 {
					free = false
					break
				}
			}
			if free {
				row = r
				break
			}
		}
		rows[row] = append(rows[row], span{a, b})
		used = max(used, row+1)
		lx := a
		if end {
			lx = b
		}
		sg.Markers = append(sg.Markers, svgMarker{X: round1(x), Kind: markerKind(m.Kind), Label: label, LabelX: round1(lx), LabelY: float64(row), LabelEnd: end})
	}
	top := 52.0 + float64(used)*svgLabelRow
	for i := range sg.Markers {
		sg.Markers[i].LabelY = 46 + (sg.Markers[i].LabelY+1)*svgLabelRow - 4
	}

	y := top
	for i := range g.Panels {
		p := &g.Panels[i]
		y += 20 // panel title
		if p.Unanswered > 0 || len(p.Requests) > 0 {
			y += 15 // and its note
		}
		sp := layoutPanel(p, g, y, xOf, plotW)
		sg.Panels = append(sg.Panels, sp)
		y = sp.Bottom + svgPanelGap - 20
	}
	if len(sg.Panels) > 0 {
		first, last := sg.Panels[0], sg.Panels[len(sg.Panels)-1]
		for i := range sg.Markers {
			sg.Markers[i].Y1 = first.TitleY - 14
			sg.Markers[i].Y2 = last.Bottom
		}
		sg.TimeY = last.Bottom + 34
	}
	y = sg.TimeY + 14

	// Legend: two columns of entries.
	items := []struct{ class, label string }{
		{"lg-c2h", "data client -> headend (bar: one time bucket, lowest to highest byte)"},
		{"lg-h2c", "data headend -> client"},
		{"lg-resent", "bucket with resent or out-of-order segments"},
		{"lg-ack", "ACK line: highest byte the receiver acknowledged"},
		{"lg-unanswered", "duplicate ACKs: retransmit request, never answered"},
		{"lg-answered", "duplicate ACKs: retransmit request, answered"},
		{"lg-unknown", "duplicate ACKs: too close to the end to judge"},
		{"lg-band", "requested bytes never resent (to the end of the session)"},
		{"lg-stall", "stall, reset, close or reconnection"},
	}
	for i, it := range items {
		col, row := i%2, i/2
		sg.Legend = append(sg.Legend, svgLegend{X: svgLeft + float64(col)*(plotW/2), Y: y + float64(row)*16, Class: it.class, Label: it.label})
	}
	sg.LegendY = y
	sg.Height = y + float64((len(items)+1)/2)*16 + 6
	return sg
}

func layoutPanel(p *GraphPanel, g *Graph, titleY float64, xOf func(float64) float64, plotW float64) svgPanel {
	cls := "c2h"
	if p.Sender == "headend" {
		cls = "h2c"
	}
	sender, receiver := clean(p.Sender), clean(p.Receiver)
	sp := svgPanel{
		Title:    fmt.Sprintf("%s data (%s) and the %s's ACKs", clean(p.Label), panelAddrs(p, g), receiver),
		Class:    cls,
		TitleY:   titleY - 6,
		Top:      titleY,
		Bottom:   titleY + svgPlotHeight,
		PlotLeft: svgLeft,
		PlotW:    plotW,
	}
	switch {
	case p.Unanswered > 0:
		sp.Note = fmt.Sprintf("The %s's retransmit requests concern this direction: it asked for bytes the %s never resent.", receiver, sender)
		sp.Concerned = true
	case len(p.Requests) > 0:
		sp.Note = fmt.Sprintf("The %s's retransmit requests concern this direction.", receiver)
		sp.Concerned = true
	}
	sp.NoteY = sp.TitleY
	if sp.Note != "" {
		sp.TitleY -= 15
	}
	sp.AxisTitleX = 14
	sp.AxisTitleY = (sp.Top + sp.Bottom) / 2

	lo, hi := p.YMin, p.YMax
	if len(p.Data) == 0 && len(p.Acks) == 0 && len(p.Requests) == 0 {
		lo, hi = 0, 1
		sp.Empty = true
		sp.EmptyX, sp.EmptyY = svgLeft+plotW/2, (sp.Top+sp.Bottom)/2
	}
	step := max(niceStep(float64(hi-lo), 6), 1)
	ylo := math.Floor(float64(lo)/step) * step
	yhi := math.Ceil(float64(hi)/step) * step
	if yhi <= ylo {
		yhi = ylo + step
	}
	yOf := func(v int64) float64 {
		return sp.Bottom - (float64(v)-ylo)/(yhi-ylo)*svgPlotHeight
	}
	for k := 0; ; k++ {
		v := ylo + float64(k)*step
		if v > yhi+step/2 {
			break
		}
		sp.YTicks = append(sp.YTicks, svgTick{Pos: round1(sp.Bottom - (v-ylo)/(yhi-ylo)*svgPlotHeight), Label: group(int64(v))})
	}
	dur := g.Duration
	if !(dur > 0) {
		dur = 1
	}
	xstep := niceStep(dur, 10)
	for k := 0; ; k++ {
		t := float64(k) * xstep
		if t > dur+xstep/1e6 {
			break
		}
		sp.XTicks = append(sp.XTicks, svgTick{Pos: round1(xOf(t)), Label: tickLabel(t, xstep)})
	}

	var data, resent strings.Builder
	for _, b := range p.Data {
		x := round1((xOf(b.From) + xOf(b.To)) / 2)
		y1, y2 := yOf(b.Lo), yOf(b.Hi)
		if y1-y2 < svgMinBar {
			mid := (y1 + y2) / 2
			y1, y2 = mid+svgMinBar/2, mid-svgMinBar/2
		}
		out := &data
		if b.Resent > 0 {
			out = &resent
		}
		fmt.Fprintf(out, "M%s %sV%s", num(x), num(round1(y1)), num(round1(y2)))
	}
	sp.Data, sp.Resent = data.String(), resent.String()

	if len(p.Acks) > 0 {
		var acks strings.Builder
		for i, a := range p.Acks {
			x, y := num(round1(xOf(a.Time))), num(round1(yOf(a.Seq)))
			if i == 0 {
				fmt.Fprintf(&acks, "M%s %s", x, y)
			} else {
				fmt.Fprintf(&acks, "H%sV%s", x, y)
			}
		}
		fmt.Fprintf(&acks, "H%s", num(round1(xOf(dur))))
		sp.Acks = acks.String()
	}

	labels := 0
	more := map[string]*strings.Builder{"answered": {}, "unanswered": {}, "unknown": {}}
	for _, q := range p.Requests {
		x1, x2, y := round1(xOf(q.From)), round1(xOf(q.To)), round1(yOf(q.Seq))
		x2 = max(x2, x1+4)
		cls, state := "unknown", "too close to the end of the capture to judge"
		if q.Answered != nil {
			cls, state = "answered", "answered"
			if !*q.Answered {
				cls, state = "unanswered", "never answered"
			}
		}
		if len(sp.Requests) < svgMaxTips {
			sp.Requests = append(sp.Requests, svgRequest{X: x1, X2: x2, Y: y, Class: cls,
				Tip: fmt.Sprintf("the %s asks for ack %d: %s; %s", receiver, q.Ack,
					dupAckExtent(q.DupAcks, q.FirstFrame, q.LastFrame, q.Seconds), state)})
		} else {
			// Beyond the first requests, one path per state, without
			// tooltips: a line and a ring.
			out := more[cls]
			fmt.Fprintf(out, "M%s %sH%sM%s %sa3 3 0 1 0 6 0a3 3 0 1 0-6 0", num(x1), num(y), num(x2), num(round1(x1-3)), num(y))
		}
		if q.Answered != nil && !*q.Answered {
			bx := x1
			bw := round1(xOf(dur)) - bx
			b := svgBand{X: bx, Y: round1(y - svgBandHeight), W: max(bw, 2), H: svgBandHeight}
			if labels == 0 {
				b.Label = fmt.Sprintf("ack %d: requested, never resent", q.Ack)
				if p.Unanswered > 1 {
					b.Label += fmt.Sprintf(" (and %d more)", p.Unanswered-1)
				}
				b.LabelY = round1(y - svgBandHeight - 4)
				b.LabelX = bx + 6
				if bx+6+float64(len(b.Label))*svgCharWidth > svgWidth-svgRight {
					b.LabelX, b.LabelEnd = bx-6, true
				}
				if b.LabelY < sp.Top+10 {
					b.LabelY = round1(y + 14)
				}
				labels++
			}
			sp.Bands = append(sp.Bands, b)
		}
	}
	sp.MoreAnswered, sp.MoreUnanswered, sp.MoreUnknown = more["answered"].String(), more["unanswered"].String(), more["unknown"].String()
	return sp
}

// markerKind is k if it is one of the marker kinds the CSS knows, "stall"
// otherwise.
func markerKind(k string) string {
	switch k {
	case "stall", "reset", "close", "reconnect":
		return k
	}
	return "stall"
}

// panelAddrs names the panel's sender and receiver addresses.
func panelAddrs(p *GraphPanel, g *Graph) string {
	if p.Sender == "client" {
		return clean(g.Client) + " -> " + clean(g.Headend)
	}
	return clean(g.Headend) + " -> " + clean(g.Client)
}

// niceStep returns a step of 1, 2 or 5 times a power of ten that divides
// span into about n intervals.
func niceStep(span float64, n int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// tickLabel formats t with as many decimals as step needs.
func tickLabel(t, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(t, 'f', dec, 64)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// num writes v with at most one decimal.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
