package report

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

func TestBuildWithGraph(t *testing.T) {
	c, r := affectedCase()
	series := []analyze.TimeSeq{
		syntheticSeries(0, ms(0), ms(95000), 20),
		syntheticSeries(1, ms(1), ms(80000), 5),  // UDP: ignored
		syntheticSeries(99, ms(1), ms(80000), 5), // no such session: ignored
	}
	rep := BuildWith(c, r, testTool, Extras{Series: series})
	if len(rep.Graphs) != 1 {
		t.Fatalf("%d graphs, want 1", len(rep.Graphs))
	}
	g := rep.Graphs[0]
	if g.Session != 0 || g.Title != "session 0: cTCP 198.51.100.7:51234 -> 203.0.113.10:10000" || g.Duration != 95 {
		t.Errorf("graph = %q session %d, %g s", g.Title, g.Session, g.Duration)
	}
	// The headend's unanswered request concerns the client's data: that
	// panel comes first.
	p := g.Panels[0]
	if p.Sender != "client" || p.Unanswered != 1 || len(p.Requests) != 2 {
		t.Errorf("first panel: sender %s, %d unanswered of %d requests", p.Sender, p.Unanswered, len(p.Requests))
	}
	if q := p.Requests[0]; q.Ack != 14601 || q.Seq != 14601 || q.From != 20 || q.Answered == nil || *q.Answered {
		t.Errorf("first request = %+v", q)
	}
	if len(p.Data) != 20 || len(p.Acks) != 20 || p.YMin > 1 || p.YMax < p.Data[19].Hi {
		t.Errorf("panel data: %d buckets, %d acks, y %d..%d", len(p.Data), len(p.Acks), p.YMin, p.YMax)
	}
	if g.Panels[1].Sender != "headend" || len(g.Panels[1].Requests) != 1 {
		t.Errorf("second panel: %+v", g.Panels[1].Requests)
	}
	var kinds []string
	for _, m := range g.Markers {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Contains(kinds, "stall") {
		t.Errorf("markers %v lack the stall", kinds)
	}
	// The graphed session's evidence is listed though r has no focus.
	if len(rep.Evidence) != 1 || rep.Evidence[0].Session != 0 || rep.Evidence[0].Title != g.Title ||
		rep.Evidence[0].Start != g.Start || rep.Evidence[0].Duration != g.Duration {
		t.Fatalf("evidence %+v, want the graphed session's", rep.Evidence)
	}
	ev := rep.Evidence[0].Rows
	for i := 1; i < len(ev); i++ {
		if ev[i-1].Frame >= ev[i].Frame {
			t.Errorf("evidence not ascending and unique: %d then %d", ev[i-1].Frame, ev[i].Frame)
		}
	}

	// The JSON contract does not change with graphs.
	var a, b bytes.Buffer
	if err := WriteJSON(&a, Build(c, r, testTool), JSONOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, rep, JSONOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("graphs changed the JSON")
	}
	if g := Build(c, r, testTool).Graphs; g == nil || len(g) != 0 {
		t.Errorf("Build: Graphs = %v, want empty", g)
	}
}

// TestGraphWrap checks that sequence numbers keep growing across 2^32:
// the series' positions (unwrapped by analyze) are drawn as they are.
func TestGraphWrap(t *testing.T) {
	c, r := affectedCase()
	r.Sessions[0].Requests = nil
	ts := analyze.TimeSeq{Session: 0, Start: ms(0), End: ms(3000)}
	ts.Data[0] = []analyze.SeqBucket{
		{From: ms(0), To: ms(1), Lo: 0xffff_f000, Hi: 0xffff_ff00, Segments: 2},
		{From: ms(1000), To: ms(1001), Lo: 0xffff_ff00, Hi: 0x1_0000_1000, Segments: 3},
		{From: ms(2000), To: ms(2001), Lo: 0x1_0000_1000, Hi: 0x1_0000_2000, Segments: 3},
	}
	ts.Acks[1] = []analyze.AckPoint{{Time: ms(500), Ack: 0xffff_ff00}, {Time: ms(2500), Ack: 0x1_0000_2000}}
	rep := BuildWith(c, r, testTool, Extras{Series: []analyze.TimeSeq{ts}})
	var p *GraphPanel
	for i := range rep.Graphs[0].Panels {
		if rep.Graphs[0].Panels[i].Sender == "client" {
			p = &rep.Graphs[0].Panels[i]
		}
	}
	const base = int64(0xffff_f000)
	if p.Data[1].Hi != base+0x1000+0x1000 || p.Data[2].Hi != base+0x3000 || p.Acks[1].Seq != base+0x3000 {
		t.Errorf("unwrapped: data %+v, acks %+v", p.Data, p.Acks)
	}
	if p.YMin != base || p.YMax != base+0x3000 {
		t.Errorf("y range %d..%d", p.YMin, p.YMax)
	}
}

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct {
		span float64
		n    int
		want float64
	}{{10, 10, 1}, {95, 10, 10}, {38.2, 10, 5}, {0.3, 10, 0.05}, {80000000, 6, 20000000}, {0, 6, 1}} {
		if got := niceStep(tt.span, tt.n); got != tt.want {
			t.Errorf("niceStep(%g, %d) = %g, want %g", tt.span, tt.n, got, tt.want)
		}
	}
	if got := tickLabel(0.15, 0.05); got != "0.15" {
		t.Errorf("tickLabel = %q", got)
	}
}
