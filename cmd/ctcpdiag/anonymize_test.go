package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

func TestAnonymizeCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap")
	out1, out2 := filepath.Join(dir, "a.pcapng"), filepath.Join(dir, "b.pcapng")
	var stdout, stderr bytes.Buffer
	if rc := runAnonymizeCmd([]string{"--anon-key", "k", in, out1}, nil, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	// From standard input, flags after the names: same key, same bytes.
	if rc := runAnonymizeCmd([]string{"-", out2, "--anon-key=k"}, bytes.NewReader(raw), &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Error("same key, different copies")
	}
	c, err := analyze.File(out1, analyze.Options{})
	if err != nil || c.Packets != 146 {
		t.Fatalf("copy: %v, %+v", err, c)
	}
	if bytes.Contains(a, []byte{192, 168, 1, 23}) {
		t.Error("client address left in the copy")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{in}, "want IN and OUT"},
		{[]string{in, "-"}, "OUT must be a file"},
		{[]string{"--anon-key", "", in, out1}, "anon-key"},
		{[]string{"--bogus", in, out1}, "bogus"},
		{[]string{filepath.Join(dir, "missing.pcap"), filepath.Join(dir, "x.pcapng")}, "missing.pcap"},
		{[]string{out1, out1}, "same file"},
	} {
		stderr.Reset()
		if rc := runAnonymizeCmd(tc.args, nil, &stdout, &stderr); rc != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, rc, stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.pcapng")); err == nil {
		t.Error("output written for an unreadable input")
	}
	stdout.Reset()
	if rc := runAnonymizeCmd([]string{"--help"}, nil, &stdout, &stderr); rc != 0 || !strings.Contains(stdout.String(), "Usage: ctcpdiag anonymize") {
		t.Error("--help")
	}
}
