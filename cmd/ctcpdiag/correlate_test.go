package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// pairPaths returns the committed pairs' files relative to the
// repository root (the test runs there), so reports hold no path of
// this machine.
func pairPaths(t *testing.T) []samplegen.PairScenario {
	t.Helper()
	t.Chdir(testcaps.RepoRoot(t))
	return samplegen.PairScenarios()
}

func pairRel(name string) string {
	return filepath.ToSlash(filepath.Join("samples", samplegen.PairDir, name))
}

// corrJSON is what the tests read of the JSON report.
type corrJSON struct {
	Schema     string
	Verdict    string
	Confidence *string
	ClientSide string  `json:"client_side"`
	Offset     float64 `json:"clock_offset_seconds"`
	A, B       struct{ Path string }
	Pairs      []struct {
		ASession    int    `json:"a_session"`
		BSession    int    `json:"b_session"`
		MatchedBy   string `json:"matched_by"`
		TCPRelation string `json:"tcp_relation"`
		Directions  []struct {
			From, To, Upstream string
			Both               int
			AOnly              int `json:"a_only"`
			BOnly              int `json:"b_only"`
			FirstLost          *struct {
				ESPSPI string  `json:"esp_spi"`
				ESPSeq uint32  `json:"esp_seq"`
				AFrame *uint64 `json:"a_frame"`
				BFrame *uint64 `json:"b_frame"`
			} `json:"first_lost"`
			Delay *struct{ Median, P99, Max float64 } `json:"delay_ms"`
		}
		Generated []struct {
			Kind, Side string
			Count      int
			Frames     []uint64
		} `json:"generated_between"`
	}
	Recommendations []struct{ Action, Why string }
}

func parseCorr(t *testing.T, js string) corrJSON {
	t.Helper()
	var c corrJSON
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	return c
}

// TestCorrelateGolden runs "ctcpdiag correlate" on each committed pair
// and compares the text and JSON reports with
// testdata/correlate/<pair>.{txt,json}.golden.
func TestCorrelateGolden(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "correlate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range pairPaths(t) {
		t.Run(s.Name, func(t *testing.T) {
			a, b := pairRel(s.FileA), pairRel(s.FileB)
			code, text, stderr := runArgs(t, nil, "correlate", "--color", "never", a, b)
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			compareGolden(t, filepath.Join(golden, s.Name+".txt.golden"), text)
			jcode, js, _ := runArgs(t, nil, "correlate", "--format", "json", a, b)
			compareGolden(t, filepath.Join(golden, s.Name+".json.golden"), js)
			if jcode != code {
				t.Errorf("exit %d with json, %d with text", jcode, code)
			}
			c := parseCorr(t, js)
			if c.Schema != "ctcpdiag.correlation/v1" {
				t.Errorf("schema %q", c.Schema)
			}
			if want := map[bool]int{true: 1, false: 0}[c.Verdict == "affected"]; code != want {
				t.Errorf("verdict %s, exit %d, want %d", c.Verdict, code, want)
			}
		})
	}
}

func TestCorrelateProxyLoss(t *testing.T) {
	pairPaths(t)
	a, b := pairRel("pair-proxy-loss-client-side.pcap"), pairRel("pair-proxy-loss-headend-side.pcap")
	code, js, stderr := runArgs(t, nil, "correlate", "--format", "json", a, b)
	if code != exitAffected {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	c := parseCorr(t, js)
	if c.Verdict != "affected" || c.Confidence == nil || *c.Confidence != "proven" || c.ClientSide != "a" {
		t.Errorf("verdict %s %v, client side %q", c.Verdict, c.Confidence, c.ClientSide)
	}
	if len(c.Pairs) != 1 {
		t.Fatalf("%d pairs", len(c.Pairs))
	}
	p := c.Pairs[0]
	if p.MatchedBy != "esp-spi" || p.TCPRelation != "terminated" {
		t.Errorf("matched by %s, relation %s", p.MatchedBy, p.TCPRelation)
	}
	up := p.Directions[0]
	if up.Upstream != "a" || up.FirstLost == nil || up.FirstLost.ESPSPI != "0x8d3a5c01" || up.FirstLost.ESPSeq != 9 ||
		up.FirstLost.AFrame == nil || up.FirstLost.BFrame != nil {
		t.Errorf("client->headend %+v", up)
	}
	if p.Directions[1].FirstLost != nil || p.Directions[1].AOnly+p.Directions[1].BOnly != 0 {
		t.Errorf("loss-free direction reports loss: %+v", p.Directions[1])
	}
	dup := false
	for _, g := range p.Generated {
		if g.Kind == "dup-ack" && g.Side == "a" && g.Count == 8 {
			dup = true
		}
	}
	if !dup {
		t.Errorf("generated %+v: want the proxy's 8 duplicate ACKs in A", p.Generated)
	}
	if len(c.Recommendations) == 0 || !strings.Contains(c.Recommendations[0].Why, "between A (client side) and B (headend side)") {
		t.Errorf("recommendations %+v: want the device located", c.Recommendations)
	}
	// The text names the timeline from measured facts.
	_, text, _ := runArgs(t, nil, "correlate", "--color", "never", a, b)
	for _, want := range []string{
		"ESP 0x8d3a5c01 #9 passed the client-side point A (frame 38) and never reached the headend-side point B",
		"the device between answered with 8 duplicate ACKs (A frames 40–67)",
		"B's stream stops at frame 34",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

// TestCorrelateSwapped gives the files in the other order: the same
// facts, the sides swapped.
func TestCorrelateSwapped(t *testing.T) {
	for _, s := range pairPaths(t) {
		t.Run(s.Name, func(t *testing.T) {
			a, b := pairRel(s.FileA), pairRel(s.FileB)
			c1, js1, _ := runArgs(t, nil, "correlate", "--format", "json", a, b)
			c2, js2, _ := runArgs(t, nil, "correlate", "--format", "json", b, a)
			if c1 != c2 {
				t.Errorf("exit %d and %d", c1, c2)
			}
			x, y := parseCorr(t, js1), parseCorr(t, js2)
			if x.Verdict != y.Verdict || (x.Confidence == nil) != (y.Confidence == nil) || len(x.Pairs) != len(y.Pairs) {
				t.Fatalf("verdicts %s/%v and %s/%v", x.Verdict, x.Confidence, y.Verdict, y.Confidence)
			}
			if x.A.Path != y.B.Path || x.ClientSide == y.ClientSide || x.Offset+y.Offset > 0.001 || x.Offset+y.Offset < -0.001 {
				t.Errorf("sides not swapped: client side %s/%s, offsets %v/%v", x.ClientSide, y.ClientSide, x.Offset, y.Offset)
			}
			for i := range x.Pairs {
				px, py := x.Pairs[i], y.Pairs[i]
				if px.TCPRelation != py.TCPRelation || px.MatchedBy != py.MatchedBy {
					t.Errorf("pair %d: %s/%s vs %s/%s", i, px.TCPRelation, px.MatchedBy, py.TCPRelation, py.MatchedBy)
				}
				for d := range px.Directions {
					dx, dy := px.Directions[d], py.Directions[d]
					if dx.Both != dy.Both || dx.AOnly != dy.BOnly || dx.BOnly != dy.AOnly || dx.Upstream == dy.Upstream && dx.Upstream != "" {
						t.Errorf("direction %d: %+v vs %+v", d, dx, dy)
					}
					if (dx.FirstLost == nil) != (dy.FirstLost == nil) {
						t.Errorf("direction %d: first lost %v vs %v", d, dx.FirstLost, dy.FirstLost)
					} else if dx.FirstLost != nil && (dx.FirstLost.ESPSeq != dy.FirstLost.ESPSeq || *dx.FirstLost.AFrame != *dy.FirstLost.BFrame) {
						t.Errorf("direction %d: first lost %+v vs %+v", d, *dx.FirstLost, *dy.FirstLost)
					}
				}
			}
		})
	}
}

func TestCorrelateNoMatch(t *testing.T) {
	pairPaths(t)
	a, b := pairRel("pair-proxy-loss-client-side.pcap"), pairRel("pair-nat-seqrand-outside.pcap")
	for _, f := range []string{"text", "json", "markdown", "html"} {
		code, out, stderr := runArgs(t, nil, "correlate", "--format", f, a, b)
		if code != exitOK || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", f, code, stderr)
		}
		if f == "json" {
			if c := parseCorr(t, out); c.Verdict != "no-match" || len(c.Pairs) != 0 || c.Confidence != nil {
				t.Errorf("verdict %s, %d pairs", c.Verdict, len(c.Pairs))
			}
		} else if !strings.Contains(out, "NO MATCH") {
			t.Errorf("%s: no NO MATCH in\n%s", f, out)
		}
	}
}

func TestCorrelateErrors(t *testing.T) {
	pairPaths(t)
	a := pairRel("pair-proxy-loss-client-side.pcap")
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{a, bad}, {bad, a}} {
		code, out, stderr := runArgs(t, nil, append([]string{"correlate"}, args...)...)
		if code != exitFailure || out != "" || !strings.Contains(stderr, "bad.pcap") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 naming bad.pcap", args, code, out, stderr)
		}
	}
	code, _, stderr := runArgs(t, nil, "correlate", a, filepath.Join(t.TempDir(), "missing.pcap"))
	if code != exitFailure || !strings.Contains(stderr, "missing.pcap") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"correlate"}, {"correlate", a}, {"correlate", a, a, a}, {"correlate", "--format", "xml", a, a}, {"correlate", "-", "-"}} {
		code, _, stderr := runArgs(t, nil, args...)
		if code != exitFailure || !strings.Contains(stderr, "ctcpdiag help correlate") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	for _, args := range [][]string{{"correlate", "-h"}, {"correlate", "--help"}, {"help", "correlate"}} {
		code, out, _ := runArgs(t, nil, args...)
		if code != exitOK || !strings.HasPrefix(out, "Usage: ctcpdiag correlate") {
			t.Errorf("%q: exit %d, %q", args, code, out)
		}
	}
	if _, out, _ := runArgs(t, nil, "help"); !strings.Contains(out, "correlate") {
		t.Error("the main usage does not list correlate")
	}
}

// TestCorrelateStdin reads one file from standard input: the same report
// but for its name.
func TestCorrelateStdin(t *testing.T) {
	pairPaths(t)
	a, b := pairRel("pair-proxy-loss-client-side.pcap"), pairRel("pair-proxy-loss-headend-side.pcap")
	data, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	code, js, stderr := runArgs(t, data, "correlate", "--format", "json", a, "-")
	if code != exitAffected {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if c := parseCorr(t, js); c.B.Path != "-" || c.Verdict != "affected" {
		t.Errorf("b %q, verdict %s", c.B.Path, c.Verdict)
	}
}

// TestCorrelateAnonymize checks that no address of either capture is in
// any format, and that the verdict is unchanged.
func TestCorrelateAnonymize(t *testing.T) {
	pairPaths(t)
	for _, s := range samplegen.PairScenarios() {
		a, b := pairRel(s.FileA), pairRel(s.FileB)
		addrs := append(captureAddrs(t, a), captureAddrs(t, b)...)
		if len(addrs) == 0 {
			t.Fatal("no addresses read")
		}
		plainCode, _, _ := runArgs(t, nil, "correlate", a, b)
		for _, f := range []string{"text", "json", "markdown", "html"} {
			code, out, stderr := runArgs(t, nil, "correlate", "--anon-key", "k", "--color", "never", "--format", f, a, b)
			if code != plainCode || stderr != "" {
				t.Errorf("%s %s: exit %d (plain %d), stderr %q", s.Name, f, code, plainCode, stderr)
			}
			for _, ad := range addrs {
				if form, ok := containsAddr(out, ad); ok {
					t.Errorf("%s %s: address %s in the anonymized report", s.Name, f, form)
				}
			}
			if strings.Contains(out, "samples/pairs") {
				t.Errorf("%s %s: directory kept", s.Name, f)
			}
		}
	}
}

// TestCorrelateOutput writes -o atomically: the whole report, no
// temporary file left, nothing written when a file cannot be read.
func TestCorrelateOutput(t *testing.T) {
	pairPaths(t)
	a, b := pairRel("pair-proxy-loss-client-side.pcap"), pairRel("pair-proxy-loss-headend-side.pcap")
	dir := t.TempDir()
	out := filepath.Join(dir, "c.html")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runArgs(t, nil, "correlate", "--format", "html", "-o", out, a, b)
	if code != exitAffected || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(got)
	if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.HasSuffix(html, "</html>\n") || !strings.Contains(html, `<svg class="ladder"`) {
		t.Errorf("report not whole or without the ladder:\n%.300s", html)
	}
	if code, _, _ := runArgs(t, nil, "correlate", "-o", out, a, filepath.Join(dir, "missing.pcap")); code != exitFailure {
		t.Errorf("exit %d, want 2", code)
	}
	if again, _ := os.ReadFile(out); string(again) != html {
		t.Error("the output was changed by a failed run")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}
}
