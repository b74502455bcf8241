package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// buildPair correlates a committed pair and builds its Correlation, the
// files named as given (relative to the samples directory).
func buildPairCorrelation(t *testing.T, fileA, fileB string) *Correlation {
	t.Helper()
	t.Chdir(testcaps.SamplesDir(t))
	a, b := filepath.ToSlash(filepath.Join(samplegen.PairDir, fileA)), filepath.ToSlash(filepath.Join(samplegen.PairDir, fileB))
	res, err := correlate.Files(a, b, correlate.Options{NoHash: true})
	if err != nil {
		t.Fatal(err)
	}
	da, err := detect.Run(res.A, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := detect.Run(res.B, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return BuildCorrelation(res, da, db, Tool{Name: "ctcpdiag", Version: "test"})
}

// TestCorrelationGolden holds the Markdown and HTML correlation reports of
// each committed pair to testdata/correlate/<pair>.{md,html}.golden.
func TestCorrelationGolden(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "correlate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samplegen.PairScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			c := buildPairCorrelation(t, s.FileA, s.FileB)
			var md, html bytes.Buffer
			if err := WriteCorrelationMarkdown(&md, c); err != nil {
				t.Fatal(err)
			}
			if err := WriteCorrelationHTML(&html, c); err != nil {
				t.Fatal(err)
			}
			goldenAt(t, filepath.Join(dir, s.Name+".md.golden"), md.Bytes())
			goldenAt(t, filepath.Join(dir, s.Name+".html.golden"), html.Bytes())
		})
	}
}

// goldenAt is golden for an absolute path.
func goldenAt(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", filepath.Base(path), diff)
	}
}

// TestCorrelationJSON checks the contract's fields and that the lists
// are arrays, never null.
func TestCorrelationJSON(t *testing.T) {
	c := buildPairCorrelation(t, "pair-proxy-loss-client-side.pcap", "pair-proxy-loss-headend-side.pcap")
	var buf bytes.Buffer
	if err := WriteCorrelationJSON(&buf, c); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "tool", "a", "b", "clock_offset_seconds", "verdict", "confidence", "pairs", "findings", "recommendations"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
	p := m["pairs"].([]any)[0].(map[string]any)
	for _, k := range []string{"a_session", "b_session", "matched_by", "tcp_relation", "directions", "generated_between"} {
		if _, ok := p[k]; !ok {
			t.Errorf("pair: no %q", k)
		}
	}
	d := p["directions"].([]any)[0].(map[string]any)
	for _, k := range []string{"from", "to", "upstream", "both", "a_only", "b_only", "first_lost", "delay_ms"} {
		if _, ok := d[k]; !ok {
			t.Errorf("direction: no %q", k)
		}
	}
	fl := d["first_lost"].(map[string]any)
	for _, k := range []string{"esp_spi", "esp_seq", "a_frame", "b_frame"} {
		if _, ok := fl[k]; !ok {
			t.Errorf("first_lost: no %q", k)
		}
	}
	dl := d["delay_ms"].(map[string]any)
	for _, k := range []string{"median", "p99", "max"} {
		if _, ok := dl[k]; !ok {
			t.Errorf("delay_ms: no %q", k)
		}
	}
	g := p["generated_between"].([]any)[0].(map[string]any)
	for _, k := range []string{"kind", "side", "count", "frames"} {
		if _, ok := g[k]; !ok {
			t.Errorf("generated_between: no %q", k)
		}
	}
	for _, k := range []string{"unpaired_a", "unpaired_b", "cannot_see", "findings", "recommendations"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s is %v, want an array", k, m[k])
		}
	}
}

// TestCorrelationEscaping gives the files crafted names: no markup or
// terminal escape gets through any format.
func TestCorrelationEscaping(t *testing.T) {
	c := buildPairCorrelation(t, "pair-proxy-loss-client-side.pcap", "pair-proxy-loss-headend-side.pcap")
	c.A.Path = "<script>alert(1)</script>\x1b[31m.pcap"
	c.B.Path = "*b* [x](http://e).pcap"
	var txt, md, html bytes.Buffer
	if err := WriteCorrelationText(&txt, c, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteCorrelationMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteCorrelationHTML(&html, c); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": txt.String(), "markdown": md.String(), "html": html.String()} {
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: raw ESC", name)
		}
	}
	if strings.Contains(html.String(), "<script>") {
		t.Error("html: script tag got through")
	}
	outside := ""
	for i, part := range strings.Split(md.String(), "`") {
		if i%2 == 0 {
			outside += part
		}
	}
	if strings.Contains(strings.ReplaceAll(outside, `\<`, ""), "<script>") {
		t.Error("markdown: markup got through")
	}
}
