package report

import (
	"bytes"
	"html/template"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// sampleFiles lists the committed samples.
func sampleFiles(t testing.TB) []string { return testcaps.Samples(t) }

// buildSample runs the whole pipeline on the capture at path, naming it
// name in the report (so that no path of this machine reaches the golden
// files): analyze, detect, the series of detect's focus sessions, and
// BuildWith.
func buildSample(t testing.TB, path, name string) *Report {
	t.Helper()
	rep, _ := buildSamples(t, path, name)
	return rep
}

// buildSamples is buildSample that also returns the report Build makes
// of the same analysis without the series (no graphs), as "ctcpdiag
// analyze" does for every format but HTML.
func buildSamples(t testing.TB, path, name string) (graphed, bare *Report) {
	t.Helper()
	open := func() *os.File {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := open()
	c, err := analyze.Reader(f, name, analyze.Options{})
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatalf("%s: detect: %v", name, err)
	}
	var specs []analyze.SeriesSpec
	for _, i := range res.Focus {
		specs = append(specs, analyze.SeriesSpec{Session: c.Sessions[i]})
	}
	var series []analyze.TimeSeq
	if len(specs) > 0 {
		f := open()
		series, err = analyze.SeriesReader(f, name, specs)
		f.Close()
		if err != nil {
			t.Fatalf("%s: series: %v", name, err)
		}
	}
	return BuildWith(c, res, testTool, Extras{Series: series}), Build(c, res, testTool)
}

// TestSampleGolden renders every committed sample, with its graphs, as
// text, Markdown and HTML and compares with testdata/<sample>.txt.golden,
// .md.golden and .html.golden. Every format shows every evidence row,
// with or without the series: without them, text and Markdown are the
// same and HTML shows the evidence without the graphs.
func TestSampleGolden(t *testing.T) {
	for _, path := range sampleFiles(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			rep, bare := buildSamples(t, path, "samples/"+base)
			var text, md, html bytes.Buffer
			if err := WriteText(&text, rep, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&html, rep); err != nil {
				t.Fatal(err)
			}
			golden(t, base+".txt.golden", text.Bytes())
			golden(t, base+".md.golden", md.Bytes())
			golden(t, base+".html.golden", html.Bytes())
			for _, se := range rep.Evidence {
				for _, e := range se.Rows {
					if !strings.Contains(text.String(), e.What) || !strings.Contains(md.String(), mdText(e.What)) ||
						!strings.Contains(html.String(), template.HTMLEscapeString(e.What)) {
						t.Errorf("evidence row of frame %d (%q) missing from a format", e.Frame, e.What)
					}
				}
			}

			// Without the series: the same evidence, the same text and
			// Markdown; HTML without graphs but with every evidence row.
			if !reflect.DeepEqual(bare.Evidence, rep.Evidence) {
				t.Errorf("evidence without the series differs:\n%+v\nwith them:\n%+v", bare.Evidence, rep.Evidence)
			}
			var btext, bmd, bhtml bytes.Buffer
			if err := WriteText(&btext, bare, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&bmd, bare); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&bhtml, bare); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(btext.Bytes(), text.Bytes()) || !bytes.Equal(bmd.Bytes(), md.Bytes()) {
				t.Error("text or Markdown differs without the series")
			}
			if strings.Contains(bhtml.String(), "<svg") {
				t.Error("HTML without the series draws a graph")
			}
			for _, se := range bare.Evidence {
				for _, e := range se.Rows {
					if !strings.Contains(bhtml.String(), template.HTMLEscapeString(e.What)) {
						t.Errorf("evidence row of frame %d (%q) missing from the HTML without graphs", e.Frame, e.What)
					}
				}
			}

			// Byte-identical across runs.
			rep2 := buildSample(t, path, "samples/"+base)
			var md2, html2 bytes.Buffer
			if err := WriteMarkdown(&md2, rep2); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&html2, rep2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(md.Bytes(), md2.Bytes()) || !bytes.Equal(html.Bytes(), html2.Bytes()) {
				t.Error("output differs between two runs")
			}
			if len(rep.Graphs) > 0 && !strings.Contains(html.String(), "<svg") {
				t.Error("graphed session but no SVG in the HTML")
			}
		})
	}
}

// TestMarkdownNoEntities scans every Markdown golden file (the sample
// reports and the notes fixture) for HTML entities and character
// references: Markdown reports escape with backslashes and code spans
// only, so that they read the same pasted raw or rendered.
func TestMarkdownNoEntities(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.md.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(sampleFiles(t)) {
		t.Fatalf("%d Markdown golden files, want at least one per sample", len(files))
	}
	for _, f := range files {
		md, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(md), "\n") {
			if m := mdEntityRE.FindString(line); m != "" {
				t.Errorf("%s:%d: HTML entity %q in %q", f, i+1, m, line)
			}
		}
	}
}
