package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// scanArgs runs scan (merge: merge) with args and returns the exit status
// and both streams.
func scanArgs(t *testing.T, ctx context.Context, merge bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		isTerminal: func(io.Writer) bool { return false }}
	var code int
	if merge {
		code = runMerge(args, e)
	} else {
		code = runScan(ctx, args, e)
	}
	return code, stdout.String(), stderr.String()
}

func samplesDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sampleVerdicts returns the verdict internal/testkit/samplegen expects for each
// committed sample, by file name.
func sampleVerdicts() map[string]string {
	m := map[string]string{}
	for _, s := range samplegen.Scenarios() {
		m[s.File] = s.Expect
	}
	for _, p := range samplegen.PairScenarios() {
		m[filepath.Join(samplegen.PairDir, p.FileA)] = p.VerdictA
		m[filepath.Join(samplegen.PairDir, p.FileB)] = p.VerdictB
	}
	return m
}

// atRiskSample is the committed sample used where a test needs an at-risk
// capture.
const atRiskSample = "ctcp-proxy-resegmented.pcap"

func TestScanUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--jobs", "0", "x"},
		{"--shard", "4/3", "x"},
		{"--shard", "1-3", "x"},
		{"--format", "json", "x"},
		{"--fail-on", "healthy", "x"},
		{"--dupacks", "0", "x"},
		{"--max-flows", "-1", "x"},
		{"--port", "0", "x"},
		{"-"},
		{"[bad"},
		{"--nope", "x"},
	} {
		code, stdout, stderr := scanArgs(t, context.Background(), false, args...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, `Run "ctcpdiag help scan"`) {
			t.Errorf("scan %q: status %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := scanArgs(t, context.Background(), false, "--help")
	if code != exitOK || stdout != scanUsage {
		t.Errorf("scan --help: status %d, %q", code, stdout)
	}
	code, stdout, _ = scanArgs(t, context.Background(), true, "-h")
	if code != exitOK || stdout != mergeUsage {
		t.Errorf("merge -h: status %d, %q", code, stdout)
	}
	if code, _, _ := scanArgs(t, context.Background(), true); code != exitFailure {
		t.Errorf("merge without files: status %d", code)
	}
}

func TestScanSamples(t *testing.T) {
	dir := samplesDir(t)
	code, stdout, stderr := scanArgs(t, context.Background(), false, "--format", "csv", "--jobs", "2", dir)
	if code != exitAffected {
		t.Errorf("status %d, want %d; stderr %s", code, exitAffected, stderr)
	}
	// One row per committed sample, with the verdict samplegen expects.
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("csv: %v:\n%s", err, stdout)
	}
	if h := strings.Join(rows[0], ","); h != "path,verdict,sessions,unanswered_requests,first_evidence_frame,top_recommendation,error" {
		t.Errorf("csv header %q", h)
	}
	expect := sampleVerdicts()
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[strings.TrimPrefix(r[0], dir+string(filepath.Separator))] = r[1]
	}
	if d := cmp.Diff(expect, got); d != "" {
		t.Errorf("verdicts (-samplegen +scan):\n%s", d)
	}
	// The proxy-stall row: its lost segment, asked for by duplicate ACKs
	// from frame 132 on (samples/README.md), and the recommendation for
	// a client whose UDP went unanswered.
	want := filepath.Join(dir, "ctcp-proxy-stall.pcap") + ",affected,1,1,132,anyconnect,"
	if !strings.Contains(stdout, want+"\n") {
		t.Errorf("csv lacks %q:\n%s", want, stdout)
	}
	counts := map[string]int{}
	for _, v := range expect {
		counts[v]++
	}
	closing := fmt.Sprintf("%d captures (%d affected, %d at-risk)", len(expect), counts["affected"], counts["at-risk"])
	if !strings.Contains(stderr, closing) {
		t.Errorf("closing line: %q, want %q", stderr, closing)
	}

	// Text: the table, then the summary.
	code, stdout, _ = scanArgs(t, context.Background(), false, dir)
	if code != exitAffected || !strings.Contains(stdout, "Affected captures\n") || !strings.Contains(stdout, "client 192.168.1.23:52739  headend 203.0.113.10:10000  frame 132") {
		t.Errorf("text: status %d:\n%s", code, stdout)
	}
}

func TestScanExitStatus(t *testing.T) {
	dir := samplesDir(t)
	if v := sampleVerdicts()[atRiskSample]; v != "at-risk" {
		t.Fatalf("%s: samplegen expects %q, want at-risk", atRiskSample, v)
	}
	atRisk := filepath.Join(dir, atRiskSample)
	if code, _, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", atRisk); code != exitOK {
		t.Errorf("at-risk: status %d, want 0", code)
	}
	if code, _, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", "--fail-on", "at-risk", atRisk); code != exitAffected {
		t.Errorf("at-risk with --fail-on at-risk: status %d, want 1", code)
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("no capture here"), 0o644)
	if code, _, stderr := scanArgs(t, context.Background(), false, empty); code != exitFailure || !strings.Contains(stderr, "no capture could be analyzed") {
		t.Errorf("no capture: status %d, stderr %q", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, stdout, stderr := scanArgs(t, ctx, false, dir)
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted") || !strings.Contains(stdout, "Summary:") {
		t.Errorf("interrupted: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestScanShardsMerge(t *testing.T) {
	dir := samplesDir(t)
	out := t.TempDir()
	code, whole, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", dir)
	if code != exitAffected {
		t.Fatalf("status %d", code)
	}
	var files []string
	for _, k := range []string{"1/3", "2/3", "3/3"} {
		f := filepath.Join(out, "shard"+k[:1]+".jsonl")
		files = append(files, f)
		// A shard may hold no capture (status 2) or no affected one.
		scanArgs(t, context.Background(), false, "--format", "jsonl", "--shard", k, "-o", f, dir)
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("shard %s: %v", k, err)
		}
	}
	code, merged, stderr := scanArgs(t, context.Background(), true, append([]string{"--format", "jsonl"}, files...)...)
	if code != exitAffected {
		t.Errorf("merge: status %d, stderr %s", code, stderr)
	}
	if d := cmp.Diff(whole, merged); d != "" {
		t.Errorf("merged shards differ from one scan (-scan +merge):\n%s", d)
	}
	_, wholeText, _ := scanArgs(t, context.Background(), false, dir)
	_, mergedText, _ := scanArgs(t, context.Background(), true, files...)
	if d := cmp.Diff(wholeText, mergedText); d != "" {
		t.Errorf("text (-scan +merge):\n%s", d)
	}
	bad := filepath.Join(out, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"x\":1}\n"), 0o644)
	if code, _, stderr := scanArgs(t, context.Background(), true, bad); code != exitFailure || !strings.Contains(stderr, "bad.jsonl: line 1") {
		t.Errorf("bad input: status %d, %q", code, stderr)
	}
}

// TestScanJSONLIsAnalyzeJSON checks that a scan's jsonl line is analyze's
// JSON object, compacted.
func TestScanJSONLIsAnalyzeJSON(t *testing.T) {
	p := filepath.Join(samplesDir(t), "ctcp-proxy-stall.pcap")
	code, indented, _ := runArgs(t, nil, "analyze", "--format", "json", p)
	if code != exitAffected {
		t.Fatalf("analyze: status %d", code)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(indented)); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	_, got, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", p)
	if d := cmp.Diff(want.String(), got); d != "" {
		t.Errorf("(-analyze +scan):\n%s", d)
	}
}
