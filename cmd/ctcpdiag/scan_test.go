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

	"github.com/ctcpdiag/ctcpdiag/internal/scan"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// scanArgs runs scan (merge: merge) with args and returns the exit status
// and both streams.
func scanArgs(t *testing.T, ctx context.Context, merge bool, args ...string) (int, string, string) {
	t.Helper()
	return scanArgsEnv(t, ctx, merge, nil, args...)
}

// scanArgsEnv is scanArgs with the environment variables environ.
func scanArgsEnv(t *testing.T, ctx context.Context, merge bool, environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return environ[k] },
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
		{"--shard-index-env", "JOB_COMPLETION_INDEX", "x"},
		{"--shards", "3", "x"},
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
		// A shard may hold no affected capture, or no capture at all
		// (status 0 too).
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

// TestScanShardIndexEnv checks --shard-index-env and --shards: the shard
// is the variable's 0-based index plus 1, and every bad combination or
// value is a usage error that names the variable and the value.
func TestScanShardIndexEnv(t *testing.T) {
	const v = "JOB_COMPLETION_INDEX"
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want scan.Shard
		err  string // substring of the usage error
	}{
		{env: map[string]string{v: "0"}, args: []string{"--shard-index-env", v, "--shards", "8"}, want: scan.Shard{K: 1, N: 8}},
		{env: map[string]string{v: "7"}, args: []string{"--shards=8", "--shard-index-env=" + v}, want: scan.Shard{K: 8, N: 8}},
		{env: map[string]string{v: "0"}, args: []string{"--shard-index-env", v, "--shards", "1"}, want: scan.Shard{K: 1, N: 1}},
		{env: nil, args: []string{"--shard-index-env", v, "--shards", "8"},
			err: "environment variable JOB_COMPLETION_INDEX (--shard-index-env) is not set or empty: want the shard's index, 0 to 7 for --shards 8"},
		{env: map[string]string{v: "two"}, args: []string{"--shard-index-env", v, "--shards", "8"},
			err: `invalid JOB_COMPLETION_INDEX="two" (--shard-index-env): want the shard's index, 0 to 7 for --shards 8`},
		{env: map[string]string{v: "8"}, args: []string{"--shard-index-env", v, "--shards", "8"},
			err: `invalid JOB_COMPLETION_INDEX="8" (--shard-index-env): want the shard's index, 0 to 7 for --shards 8`},
		{env: map[string]string{v: "-1"}, args: []string{"--shard-index-env", v, "--shards", "8"},
			err: `invalid JOB_COMPLETION_INDEX="-1"`},
		{env: map[string]string{v: " 1"}, args: []string{"--shard-index-env", v, "--shards", "8"},
			err: `invalid JOB_COMPLETION_INDEX=" 1"`},
		{env: map[string]string{v: "0"}, args: []string{"--shard-index-env", v, "--shards", "0"}, err: "invalid --shards 0: want at least 1"},
		{env: map[string]string{v: "0"}, args: []string{"--shard-index-env", v}, err: "--shard-index-env needs --shards N"},
		{env: map[string]string{v: "0"}, args: []string{"--shards", "8"}, err: "--shards needs --shard-index-env VAR"},
		{env: map[string]string{"": "0"}, args: []string{"--shard-index-env=", "--shards", "8"}, err: `invalid --shard-index-env "": want the name of an environment variable`},
		{env: map[string]string{v: "0"}, args: []string{"--shard", "1/8", "--shard-index-env", v, "--shards", "8"}, err: "not both"},
		{env: map[string]string{v: "0"}, args: []string{"--shard", "1/8", "--shards", "8"}, err: "not both"},
	} {
		args := append(tc.args, "x")
		o, _, err := parseScanFlags("scan", args, func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v with %v: error %v, want %q", args, tc.env, err, tc.err)
			}
			// The command: exit status 2, the message and the hint.
			code, stdout, stderr := scanArgsEnv(t, context.Background(), false, tc.env, args...)
			if code != exitFailure || stdout != "" || !strings.Contains(stderr, tc.err) || !strings.Contains(stderr, `Run "ctcpdiag help scan"`) {
				t.Errorf("scan %v with %v: status %d, stdout %q, stderr %q", args, tc.env, code, stdout, stderr)
			}
			continue
		}
		if err != nil || o.shard != tc.want {
			t.Errorf("%v with %v: shard %+v, error %v; want %+v", args, tc.env, o.shard, err, tc.want)
		}
	}

	// Index 1 of 3 scans exactly what --shard 2/3 scans, and the closing
	// line names the shard.
	dir := samplesDir(t)
	code, want, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", "--shard", "2/3", dir)
	code2, got, stderr := scanArgsEnv(t, context.Background(), false, map[string]string{v: "1"},
		"--format", "jsonl", "--shard-index-env", v, "--shards", "3", dir)
	if code2 != code || got != want || want == "" {
		t.Errorf("index 1 of 3: status %d, want %d; output differs from --shard 2/3: %v", code2, code, got != want)
	}
	if !strings.Contains(stderr, "ctcpdiag: shard 2/3: ") {
		t.Errorf("closing line does not name the shard: %q", stderr)
	}
}

// TestScanFailOnNone checks that --fail-on none makes affected captures a
// success, and nothing else: no capture read, an interruption and a usage
// error keep their statuses.
func TestScanFailOnNone(t *testing.T) {
	dir := samplesDir(t)
	affected := filepath.Join(dir, "ctcp-proxy-stall.pcap")
	if code, _, _ := scanArgs(t, context.Background(), false, "--format", "jsonl", affected); code != exitAffected {
		t.Fatalf("affected: status %d, want 1", code)
	}
	code, stdout, stderr := scanArgs(t, context.Background(), false, "--format", "jsonl", "--fail-on", "none", affected)
	if code != exitOK || !strings.Contains(stdout, `"verdict":"affected"`) || !strings.Contains(stderr, "1 affected") {
		t.Errorf("affected with --fail-on none: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// An unreadable input among captures does not fail a scan, with or
	// without --fail-on none; no capture read at all does.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "bad.pcap"), []byte("not a capture at all"), 0o644)
	if code, _, stderr := scanArgs(t, context.Background(), false, "--fail-on", "none", bad); code != exitFailure || !strings.Contains(stderr, "no capture could be analyzed") {
		t.Errorf("unreadable only, --fail-on none: status %d, stderr %q", code, stderr)
	}
	if code, _, _ := scanArgs(t, context.Background(), false, "--fail-on", "none", bad, affected); code != exitOK {
		t.Errorf("unreadable and affected, --fail-on none: status %d, want 0", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code, _, _ := scanArgs(t, ctx, false, "--fail-on", "none", dir); code != exitInterrupted {
		t.Errorf("interrupted with --fail-on none: status %d, want %d", code, exitInterrupted)
	}
	if code, _, stderr := scanArgs(t, context.Background(), false, "--fail-on", "never", dir); code != exitFailure || !strings.Contains(stderr, `invalid --fail-on "never": want affected, at-risk or none`) {
		t.Errorf("--fail-on never: status %d, stderr %q", code, stderr)
	}

	// merge too.
	f := filepath.Join(t.TempDir(), "a.jsonl")
	scanArgs(t, context.Background(), false, "--format", "jsonl", "-o", f, affected)
	if code, _, _ := scanArgs(t, context.Background(), true, f); code != exitAffected {
		t.Errorf("merge: status %d, want 1", code)
	}
	if code, _, _ := scanArgs(t, context.Background(), true, "--fail-on", "none", f); code != exitOK {
		t.Errorf("merge --fail-on none: status %d, want 0", code)
	}
}

// TestScanEmptyShard checks that a shard whose share holds no capture and
// nothing unreadable exits 0 (with few captures a shard may get none),
// while a share of unreadable inputs only still exits 2, and so does an
// unsharded scan without captures.
func TestScanEmptyShard(t *testing.T) {
	one := t.TempDir()
	data, err := os.ReadFile(filepath.Join(samplesDir(t), "ctcp-healthy.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(one, "a.pcap"), data, 0o644)
	os.WriteFile(filepath.Join(one, "notes.txt"), []byte("no capture here"), 0o644)
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "bad.pcap"), []byte("not a capture at all"), 0o644)

	for _, tc := range []struct {
		dir, name string
		status    int // of the shard that holds the capture or the unreadable file
	}{
		{one, "a.pcap", exitOK},
		{bad, "bad.pcap", exitFailure},
	} {
		const n = 4
		owner := 0
		for k := 1; k <= n; k++ {
			if (scan.Shard{K: k, N: n}).Has(filepath.Join(tc.dir, tc.name)) {
				owner = k
			}
		}
		if owner == 0 {
			t.Fatalf("no shard holds %s", tc.name)
		}
		for k := 1; k <= n; k++ {
			shard := fmt.Sprintf("%d/%d", k, n)
			code, _, stderr := scanArgs(t, context.Background(), false, "--format", "jsonl", "--shard", shard, tc.dir)
			switch {
			case k == owner && code != tc.status:
				t.Errorf("%s, shard %s (holds it): status %d, want %d; stderr %q", tc.name, shard, code, tc.status, stderr)
			case k != owner && (code != exitOK || !strings.Contains(stderr, "ctcpdiag: shard "+shard+" holds no capture")):
				t.Errorf("%s, shard %s (empty): status %d, want 0; stderr %q", tc.name, shard, code, stderr)
			}
		}
	}
	if code, _, _ := scanArgs(t, context.Background(), false, "--shard", "1/1", bad); code != exitFailure {
		t.Errorf("shard 1/1 of unreadable only: status %d, want 2", code)
	}
	empty := t.TempDir()
	if code, _, _ := scanArgs(t, context.Background(), false, "--shard", "1/1", empty); code != exitFailure {
		t.Errorf("shard 1/1 of nothing: status %d, want 2", code)
	}
	if code, _, stderr := scanArgs(t, context.Background(), false, "--quiet", "--shard", "1/2", empty); code != exitOK || stderr != "" {
		t.Errorf("quiet empty shard 1/2: status %d, stderr %q", code, stderr)
	}
}
