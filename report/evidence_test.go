package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// focusCase is the affected case with detect's focus on the cTCP session
// and on the lossy IPv6 session, which gets a FIN and an RST to show.
func focusCase() (*analyze.Capture, *Report, *Report) {
	c, r := affectedCase()
	lossy := c.Sessions[3]
	lossy.Dirs[analyze.ClientToHeadend].FINFrame, lossy.Dirs[analyze.ClientToHeadend].FINTime = 39, ms(29000)
	lossy.Dirs[analyze.HeadendToClient].RSTFrame, lossy.Dirs[analyze.HeadendToClient].RSTTime = 40, ms(30000)
	r.Focus = []int{0, 3}
	bare := Build(c, r, testTool)
	graphed := BuildWith(c, r, testTool, Extras{Series: []analyze.TimeSeq{syntheticSeries(0, ms(0), ms(95000), 50)}})
	return c, bare, graphed
}

// TestEvidenceWithoutSeries: Build lists the evidence of detect's focus
// sessions without the series, the same rows BuildWith lists with them,
// and every human format prints it.
func TestEvidenceWithoutSeries(t *testing.T) {
	_, bare, graphed := focusCase()
	if len(bare.Graphs) != 0 || len(graphed.Graphs) != 1 {
		t.Fatalf("%d and %d graphs, want 0 and 1", len(bare.Graphs), len(graphed.Graphs))
	}
	if len(bare.Evidence) != 2 || bare.Evidence[0].Session != 0 || bare.Evidence[1].Session != 3 {
		t.Fatalf("evidence %+v, want sessions 0 and 3 in focus order", bare.Evidence)
	}
	if !reflect.DeepEqual(bare.Evidence, graphed.Evidence) {
		t.Errorf("evidence differs with the series:\n%+v\n%+v", bare.Evidence, graphed.Evidence)
	}
	e, g := bare.Evidence[0], graphed.Graphs[0]
	if e.Title != g.Title || e.Start != g.Start || e.Duration != g.Duration {
		t.Errorf("evidence names %q from %s (%g s), the graph %q from %s (%g s)", e.Title, e.Start, e.Duration, g.Title, g.Start, g.Duration)
	}
	if e.Start != bare.Sessions[0].Start {
		t.Errorf("evidence starts at %s, the session at %s", e.Start, bare.Sessions[0].Start)
	}
	for _, r := range e.Rows {
		if r.Frame == 25 && (!r.HasTime || r.Offset != 20) {
			t.Errorf("frame 25 at %g s (known: %v), want 20 s from the session's first packet", r.Offset, r.HasTime)
		}
	}

	btext, bmd, bhtml := renderAll(t, bare)
	gtext, gmd, ghtml := renderAll(t, graphed)
	if !bytes.Equal(btext, gtext) || !bytes.Equal(bmd, gmd) {
		t.Error("text or Markdown depends on the series")
	}
	for _, s := range []string{"Evidence: session 0: cTCP", "Evidence: session 3: TCP", "FIN from the client", "RST from the headend"} {
		for name, out := range map[string][]byte{"text": btext, "markdown": bmd, "html": bhtml, "html with graphs": ghtml} {
			want := s
			if name == "html with graphs" && strings.HasPrefix(s, "Evidence: session 0") {
				want = "Time-sequence graph: session 0: cTCP"
			}
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	// HTML: the evidence of a session without a graph in its own section;
	// with the graph, beside it.
	if bytes.Contains(bhtml, []byte("<svg")) || !bytes.Contains(bhtml, []byte(`id="evidence-0"`)) || !bytes.Contains(bhtml, []byte(`id="evidence-3"`)) {
		t.Error("HTML without series: want the evidence sections of sessions 0 and 3 and no graph")
	}
	if !bytes.Contains(ghtml, []byte(`id="graph-1"`)) || bytes.Contains(ghtml, []byte(`id="evidence-0"`)) || !bytes.Contains(ghtml, []byte(`id="evidence-3"`)) {
		t.Error("HTML with a graph of session 0: want its graph, no separate evidence of it, and the evidence of session 3")
	}
	checkSafe(t, btext, bmd, bhtml)
	checkSafe(t, gtext, gmd, ghtml)
}

// TestEvidenceTables: the text report reuses one table for the evidence
// of every session; each prints as it does alone.
func TestEvidenceTables(t *testing.T) {
	_, rep, _ := focusCase()
	section := func(text, title string) string {
		i := strings.Index(text, "Evidence: "+title)
		if i < 0 {
			t.Fatalf("no evidence of %s in\n%s", title, text)
		}
		j := strings.Index(text[i+1:], "\n\n")
		if j < 0 {
			t.Fatalf("evidence of %s does not end", title)
		}
		return text[i : i+1+j]
	}
	var both bytes.Buffer
	if err := WriteText(&both, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range rep.Evidence {
		alone := *rep
		alone.Evidence = rep.Evidence[i : i+1]
		var one bytes.Buffer
		if err := WriteText(&one, &alone, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		title := rep.Evidence[i].Title
		if a, b := section(both.String(), title), section(one.String(), title); a != b {
			t.Errorf("evidence of %s differs beside another:\n%s\nalone:\n%s", title, a, b)
		}
	}
}

// TestAnonymizeEvidence: the anonymizer maps the addresses in the
// evidence as it maps the graph's, and leaves the rows' frames and times.
func TestAnonymizeEvidence(t *testing.T) {
	_, _, rep := focusCase()
	a := Anonymize(rep, testMapper)
	if a.Evidence[0].Title != a.Graphs[0].Title || a.Evidence[0].Start != a.Graphs[0].Start {
		t.Errorf("anonymized evidence %q from %s, graph %q from %s", a.Evidence[0].Title, a.Evidence[0].Start, a.Graphs[0].Title, a.Graphs[0].Start)
	}
	if a.Evidence[0].Title == rep.Evidence[0].Title {
		t.Error("the evidence title keeps its addresses")
	}
	for i := range a.Evidence {
		if want := AnonymizeText(rep.Evidence[i].Title, testMapper); a.Evidence[i].Title != want {
			t.Errorf("evidence %d title %q, want %q", i, a.Evidence[i].Title, want)
		}
		if !reflect.DeepEqual(a.Evidence[i].Rows, rep.Evidence[i].Rows) {
			t.Errorf("evidence %d rows changed:\n%+v\n%+v", i, a.Evidence[i].Rows, rep.Evidence[i].Rows)
		}
	}
	text, md, html := renderAll(t, a)
	for _, addr := range []string{"198.51.100.7", "203.0.113.10", "2001:db8::1", "2001:db8::2"} {
		for name, out := range map[string][]byte{"text": text, "markdown": md, "html": html} {
			if containsToken(string(out), addr) {
				t.Errorf("%s report still holds %s", name, addr)
			}
		}
	}
}
