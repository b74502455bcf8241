package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// evidenceComments reads an evidence capture and returns its packets and
// the frames with a "ctcpdiag: original frame" comment.
func evidenceComments(t *testing.T, path string) (packets, comments int) {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for src.Next() {
		packets++
		for code, v := range src.Options() {
			if code == capfile.OptComment && strings.HasPrefix(string(v), "ctcpdiag: original frame ") {
				comments++
			}
		}
	}
	if src.Err() != nil {
		t.Fatal(src.Err())
	}
	return packets, comments
}

// TestCorrelateEvidence checks "correlate --evidence-a FILE --evidence-b
// FILE": the report is the one written without them, each file's
// evidence capture is written (atomically: no temporary file left) with
// its cited frames commented, either flag alone writes its side only,
// --anonymize rewrites the packets; the command lines it cannot serve
// are usage errors, and an evidence capture that cannot be written makes
// the exit status 2, the report written all the same.
func TestCorrelateEvidence(t *testing.T) {
	a := filepath.Join("..", "..", "samples", "pairs", "pair-proxy-loss-client-side.pcap")
	b := filepath.Join("..", "..", "samples", "pairs", "pair-proxy-loss-headend-side.pcap")
	dir := t.TempDir()
	ea, eb := filepath.Join(dir, "a.pcapng"), filepath.Join(dir, "b.pcapng")

	code, plain, _ := runArgs(t, nil, "correlate", a, b)
	code2, out, stderr := runArgs(t, nil, "correlate", "--evidence-a", ea, a, b, "--evidence-b", eb)
	if code != 1 || code2 != 1 || stderr != "" {
		t.Fatalf("exit %d and %d, stderr %q; want 1, 1, nothing", code, code2, stderr)
	}
	if out != plain {
		t.Error("--evidence-a and --evidence-b changed the report")
	}
	// A: session 0 whole (67 of the file's 69 packets), 21 frames cited;
	// B: session 0 whole (50 of 52), 4 cited.
	for _, x := range []struct {
		path              string
		packets, comments int
	}{{ea, 67, 21}, {eb, 50, 4}} {
		p, c := evidenceComments(t, x.path)
		if p != x.packets || c != x.comments {
			t.Errorf("%s: %d packets, %d comments; want %d, %d", filepath.Base(x.path), p, c, x.packets, x.comments)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files in the directory: %v", entries)
	}

	// One side only, the other from standard input.
	only := filepath.Join(t.TempDir(), "only-a.pcapng")
	stdinB, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runArgs(t, stdinB, "correlate", "--evidence-a", only, a, "-"); code != 1 || stderr != "" || out == "" {
		t.Fatalf("B on standard input: exit %d, stderr %q", code, stderr)
	}
	if p, c := evidenceComments(t, only); p != 67 || c != 21 {
		t.Errorf("A's evidence with B on standard input: %d packets, %d comments", p, c)
	}

	// Anonymized, with -o: the client's address is in neither file.
	rep := filepath.Join(dir, "report.txt")
	if code, _, stderr := runArgs(t, nil, "correlate", a, b, "--anon-key", "k", "-o", rep, "--evidence-a", ea, "--evidence-b", eb); code != 1 || stderr != "" {
		t.Fatalf("anonymized: exit %d, stderr %q", code, stderr)
	}
	for _, p := range []string{ea, eb, rep} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{"192.168.1.23", "198.51.100.77", "203.0.113.10"} {
			if bytes.Contains(data, []byte(addr)) {
				t.Errorf("anonymized %s holds %s", filepath.Base(p), addr)
			}
		}
		if bytes.Contains(data, []byte{192, 168, 1, 23}) || bytes.Contains(data, []byte{198, 51, 100, 77}) {
			t.Errorf("anonymized %s holds a client address", filepath.Base(p))
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--evidence-a", ea, "-", b}, "--evidence-a reads the capture a second time"},
		{[]string{"--evidence-b", eb, a, "-"}, "--evidence-b reads the capture a second time"},
		{[]string{"--evidence-a", "-", a, b}, "--evidence-a needs a file name"},
		{[]string{"--evidence-a", a, a, b}, "is the capture itself"},
		{[]string{"--evidence-b", a, a, b}, "is the other capture"},
		{[]string{"--evidence-b", eb, "-o", eb, a, b}, "--evidence-b and -o name the same file"},
		{[]string{"--evidence-a", ea, "--evidence-b", ea, a, b}, "name the same file"},
	} {
		code, _, stderr := runArgs(t, nil, append([]string{"correlate"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "ctcpdiag help correlate") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}

	// An evidence capture that cannot be written: exit 2, named; the
	// report is written.
	code, out, stderr = runArgs(t, nil, "correlate", "--evidence-b", filepath.Join(dir, "missing", "e.pcapng"), a, b)
	if code != 2 || !strings.Contains(stderr, "writing the evidence capture") || out != plain {
		t.Errorf("unwritable: exit %d, stderr %q, report written %v", code, stderr, out == plain)
	}
}

// TestCorrelateProgress checks when correlate draws a progress bar: on a
// terminal, when either file is compressed or large, the two files'
// bytes together; never with --quiet or off a terminal; and through the
// command with a fake terminal: the bar is drawn and erased before the
// report, which is the same as without it, and the evidence captures'
// second reads get bars of their own.
func TestCorrelateProgress(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join("..", "..", "samples", "pairs", "pair-proxy-loss-client-side.pcap")
	b := filepath.Join("..", "..", "samples", "pairs", "pair-proxy-loss-headend-side.pcap")
	gz := gzipFile(t, a, dir)
	for _, tc := range []struct {
		a, b            string
		quiet, terminal bool
		ok              bool
		total, min      int64
	}{
		{a, b, false, true, false, 0, 0},
		{gz, b, false, true, true, fileSize(t, gz) + fileSize(t, b), 0},
		{b, gz, false, true, true, fileSize(t, gz) + fileSize(t, b), 0},
		{a, "-", false, true, true, 0, progressMin},
		{gz, b, true, true, false, 0, 0},
		{gz, b, false, false, false, 0, 0},
	} {
		total, min, ok := correlateProgressPlan(tc.a, tc.b, tc.quiet, tc.terminal)
		if ok != tc.ok || total != tc.total || min != tc.min {
			t.Errorf("%s %s quiet=%v terminal=%v: %d, %d, %v; want %d, %d, %v", filepath.Base(tc.a), filepath.Base(tc.b), tc.quiet, tc.terminal, total, min, ok, tc.total, tc.min, tc.ok)
		}
	}
	if got := progressNames(a, "-"); got != "pair-proxy-loss-clien... + standard input" {
		t.Errorf("progressNames: %q", got)
	}

	_, plain, _ := runArgs(t, nil, "correlate", gz, b)
	for _, tc := range []struct {
		args     []string
		terminal bool
		bar      bool
		evidence bool
	}{
		{[]string{gz, b}, true, true, false},
		{[]string{"--quiet", gz, b}, true, false, false},
		{[]string{"-q", gz, b}, true, false, false},
		{[]string{gz, b}, false, false, false},
		{[]string{"--evidence-a", filepath.Join(t.TempDir(), "e.pcapng"), gz, b}, true, true, true},
		{[]string{"-q", "--evidence-a", filepath.Join(t.TempDir(), "e.pcapng"), gz, b}, true, false, false},
	} {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
			isTerminal: func(w io.Writer) bool { return tc.terminal && w == &stderr }}
		if code := runCorrelateEnv(tc.args, e); code != 1 {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
		if stdout.String() != plain {
			t.Errorf("%v: the report differs", tc.args)
		}
		s := stderr.String()
		drawn := strings.HasPrefix(s, "\r[") && strings.HasSuffix(s, "\r\x1b[K") && strings.Contains(s, "pair-proxy-loss-clien... + pair-proxy-loss-heade...")
		if drawn != tc.bar || !tc.bar && stderr.Len() != 0 {
			t.Errorf("%v terminal=%v: stderr %q", tc.args, tc.terminal, s)
		}
		if ev := strings.Contains(s, "(evidence)"); ev != tc.evidence {
			t.Errorf("%v: evidence bar %v: %q", tc.args, ev, s)
		}
	}
}
