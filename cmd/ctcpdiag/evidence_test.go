package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// TestEvidenceFlag checks "analyze --evidence": the report is the one
// written without it, the evidence capture is written (atomically: no
// temporary file left) with the report's cited frames commented, and
// --anonymize rewrites its packets; the command lines it cannot serve are
// usage errors.
func TestEvidenceFlag(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap")
	ev := filepath.Join(dir, "evidence.pcapng")

	code, plain, _ := runArgs(t, nil, "analyze", in)
	code2, out, stderr := runArgs(t, nil, "analyze", "--evidence", ev, in)
	if code != 1 || code2 != 1 || stderr != "" {
		t.Fatalf("exit %d and %d, stderr %q; want 1, 1, nothing", code, code2, stderr)
	}
	if out != plain {
		t.Error("--evidence changed the report")
	}
	src, err := capfile.Open(ev)
	if err != nil {
		t.Fatal(err)
	}
	packets, comments := 0, 0
	for src.Next() {
		packets++
		for code, v := range src.Options() {
			if code == capfile.OptComment && strings.HasPrefix(string(v), "ctcpdiag: original frame ") {
				comments++
			}
		}
	}
	src.Close()
	// Session 2 whole (137 packets), and frames 3, 5, 6 and 7 cited by
	// udp-blocked and vpn-transports; 14 cited frames (the report's 13
	// and the path evidence of frame 9).
	if packets != 141 || comments != 14 {
		t.Errorf("%d packets, %d comments; want 141, 14", packets, comments)
	}

	// Anonymized, with -o: the client's address is in neither file.
	rep := filepath.Join(dir, "report.txt")
	if code, _, stderr := runArgs(t, nil, "analyze", in, "--anon-key", "k", "-o", rep, "--evidence", ev); code != 1 || stderr != "" {
		t.Fatalf("anonymized: exit %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(ev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte{192, 168, 1, 23}) || bytes.Contains(b, []byte("192.168.1.23")) {
		t.Error("the anonymized evidence holds the client's address")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left in the directory: %v", entries)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--evidence", ev, "-"}, "standard input cannot be read twice"},
		{[]string{"analyze", "--evidence", ev, in, in}, "one FILE"},
		{[]string{"analyze", "--evidence", "-", in}, "needs a file name"},
		{[]string{"analyze", "--evidence", in, in}, "is the capture itself"},
		{[]string{"analyze", "--evidence", ev, "-o", ev, in}, "the same file"},
	} {
		code, _, stderr := runArgs(t, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}

	// An evidence capture that cannot be written: exit 2, named.
	code, _, stderr = runArgs(t, nil, "analyze", "--evidence", filepath.Join(dir, "missing", "e.pcapng"), in)
	if code != 2 || !strings.Contains(stderr, "writing the evidence capture") {
		t.Errorf("unwritable: exit %d, stderr %q", code, stderr)
	}
}

// TestEvidenceDamaged checks a capture damaged part-way: the evidence
// capture holds the frames before the damage and the run succeeds as the
// analysis does (the report warns).
func TestEvidenceDamaged(t *testing.T) {
	ev := filepath.Join(t.TempDir(), "e.pcapng")
	in := filepath.Join("..", "..", "samples", "ctcp-truncated.pcap")
	code, _, stderr := runArgs(t, nil, "analyze", "--evidence", ev, in)
	if code != 1 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	src, err := capfile.Open(ev)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	for src.Next() {
		n++
	}
	if n == 0 || src.Err() != nil {
		t.Errorf("%d packets, error %v", n, src.Err())
	}
}
