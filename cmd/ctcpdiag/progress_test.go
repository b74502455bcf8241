package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgressPlan checks when analyze draws a progress bar: on a
// terminal, for a compressed file or one larger than 64 MiB, and for
// standard input after 64 MiB; never with --quiet or off a terminal.
func TestProgressPlan(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap")
	gz := gzipFile(t, small, dir)
	large := filepath.Join(dir, "large.pcap")
	if err := os.WriteFile(large, []byte{0xd4, 0xc3, 0xb2, 0xa1}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(large, progressMin+1); err != nil {
		t.Fatal(err)
	}
	gzSize := fileSize(t, gz)
	for _, tc := range []struct {
		path            string
		quiet, terminal bool
		ok              bool
		total, min      int64
	}{
		{small, false, true, false, 0, 0},
		{gz, false, true, true, gzSize, 0},
		{large, false, true, true, progressMin + 1, 0},
		{"-", false, true, true, 0, progressMin},
		{gz, true, true, false, 0, 0},
		{large, false, false, false, 0, 0},
		{"-", true, true, false, 0, 0},
		{filepath.Join(dir, "missing.pcap"), false, true, false, 0, 0},
		{dir, false, true, false, 0, 0},
	} {
		total, min, ok := progressPlan(tc.path, tc.quiet, tc.terminal)
		if ok != tc.ok || total != tc.total || min != tc.min {
			t.Errorf("%s quiet=%v terminal=%v: %d, %d, %v; want %d, %d, %v", filepath.Base(tc.path), tc.quiet, tc.terminal, total, min, ok, tc.total, tc.min, tc.ok)
		}
	}
}

// TestProgressBar checks the bar of one input as a fake terminal receives
// it: drawn at the start, redrawn from the bytes the analysis reports,
// with the total or, for standard input, only once enough was read; and
// analyze on a terminal: the bar of a compressed capture is drawn and
// erased before the report, which is the same as without it, and none is
// drawn with --quiet or off a terminal.
func TestProgressBar(t *testing.T) {
	var term bytes.Buffer
	now := time.Unix(1000, 0)
	p := newReadProgress(&term, filepath.Join("x", "capture.pcapng.gz"), 100<<20, 0)
	p.bar.Now = func() time.Time { return now }
	p.bar.Start()
	p.tick()
	now = now.Add(2 * time.Second)
	p.read.Store(50 << 20)
	p.tick()
	want := "\r[--------------------]  0.0/100.0 MiB  capture.pcapng.gz\x1b[K" +
		"\r[##########----------]  50.0/100.0 MiB  25.0 MiB/s  ETA 0:02  capture.pcapng.gz\x1b[K"
	if term.String() != want {
		t.Errorf("got  %q\nwant %q", term.String(), want)
	}

	term.Reset()
	p = newReadProgress(&term, "-", 0, progressMin)
	p.bar.Now = func() time.Time { return now }
	p.bar.Start()
	p.tick()
	if term.Len() != 0 {
		t.Errorf("standard input: drawn before %d bytes: %q", progressMin, term.String())
	}
	now = now.Add(4 * time.Second)
	p.read.Store(progressMin)
	p.tick()
	if want := "\r  64.0 MiB  16.0 MiB/s  standard input\x1b[K"; term.String() != want {
		t.Errorf("standard input: got %q, want %q", term.String(), want)
	}
	if got := progressName(strings.Repeat("a", 50) + ".pcap"); len(got) != 40 || !strings.HasSuffix(got, "...") {
		t.Errorf("long name shown as %q", got)
	}

	gz := gzipFile(t, filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap"), t.TempDir())
	_, plain, _ := runArgs(t, nil, "analyze", gz)
	for _, tc := range []struct {
		args     []string
		terminal bool
		bar      bool
	}{
		{[]string{"analyze", gz}, true, true},
		{[]string{"analyze", "--quiet", gz}, true, false},
		{[]string{"analyze", "-q", gz}, true, false},
		{[]string{"analyze", gz}, false, false},
		{[]string{"analyze", "--evidence", filepath.Join(t.TempDir(), "e.pcapng"), gz}, true, true},
		{[]string{"analyze", "-q", "--evidence", filepath.Join(t.TempDir(), "e.pcapng"), gz}, true, false},
	} {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
			isTerminal: func(w io.Writer) bool { return tc.terminal && w == &stderr }}
		if code := runEnv(tc.args, e); code != 1 {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
		if stdout.String() != plain {
			t.Errorf("%v: the report differs", tc.args)
		}
		drawn := strings.HasPrefix(stderr.String(), "\r[") && strings.HasSuffix(stderr.String(), "\r\x1b[K")
		if ev := strings.Contains(stderr.String(), "(evidence)"); ev != (tc.bar && len(tc.args) > 2 && tc.args[1] == "--evidence") {
			t.Errorf("%v: evidence bar %v: %q", tc.args, ev, stderr.String())
		}
		if drawn != tc.bar || !tc.bar && stderr.Len() != 0 {
			t.Errorf("%v terminal=%v: stderr %q", tc.args, tc.terminal, stderr.String())
		}
	}
}

func gzipFile(t *testing.T, path, dir string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	out := filepath.Join(dir, filepath.Base(path)+".gz")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
