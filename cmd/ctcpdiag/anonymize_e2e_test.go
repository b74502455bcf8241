package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
	"net/netip"
)

// captureAddrs decodes every frame of a capture and returns the distinct
// IP addresses in it (the innermost IP header of each frame, which is what
// reports name), leaving out those the mapping keeps by design.
func captureAddrs(t *testing.T, path string) []netip.Addr {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		return nil
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var p decode.Packet
	seen := map[netip.Addr]bool{}
	for src.Next() {
		info := src.Info()
		p.CapLen, p.OrigLen = info.CapLen, info.OrigLen
		if dec.Decode(src.Data(), info.LinkType, &p) != nil || p.IPVersion == 0 {
			continue
		}
		for _, a := range []netip.Addr{p.Src, p.Dst} {
			if a.IsValid() && !anon.Kept(a) {
				seen[a.Unmap()] = true
			}
		}
	}
	out := make([]netip.Addr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	return out
}

// containsAddr reports whether text holds a in any of its textual forms,
// not as part of a longer number (10.1.1.1 is not in 10.1.1.10).
func containsAddr(text string, a netip.Addr) (string, bool) {
	forms := []string{a.String()}
	if a.Is6() {
		forms = append(forms, a.StringExpanded())
	}
	for _, f := range forms {
		for i := 0; ; {
			j := strings.Index(text[i:], f)
			if j < 0 {
				break
			}
			j += i
			before, after := byte(' '), byte(' ')
			if j > 0 {
				before = text[j-1]
			}
			if end := j + len(f); end < len(text) {
				after = text[end]
			}
			if !addrByte(before) && !addrByte(after) {
				return f, true
			}
			i = j + 1
		}
	}
	return "", false
}

func addrByte(b byte) bool {
	return b >= '0' && b <= '9' || b == '.' || b == ':' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// TestAnonymizeEveryFormat runs analyze --anonymize in every format on
// every sample and every public capture: no original address may appear
// in the output, and the verdict must equal the one without anonymizing.
func TestAnonymizeEveryFormat(t *testing.T) {
	files := testcaps.Samples(t)
	if d, err := testcaps.Locate(t); err == nil {
		for _, e := range testcaps.Manifest(t) {
			if e.Fields["link_type"] != "unreadable" {
				files = append(files, e.Path)
			}
		}
		_ = d
	} else {
		t.Logf("public captures not found (%v): checking the samples only", err)
	}
	if testing.Short() {
		files = files[:3]
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			addrs := captureAddrs(t, path)
			_, plain, _ := runArgs(t, nil, "analyze", "--format", "json", path)
			var want struct{ Verdict string }
			if err := json.Unmarshal([]byte(plain), &want); err != nil {
				t.Fatalf("plain JSON: %v", err)
			}
			for _, format := range []string{"text", "json", "markdown", "html"} {
				_, out, stderr := runArgs(t, nil, "analyze", "--anonymize", "--anon-key", "test key", "--color", "always", "--format", format, path)
				if out == "" {
					t.Fatalf("%s: no output (stderr %q)", format, stderr)
				}
				for _, a := range addrs {
					if f, ok := containsAddr(out, a); ok {
						t.Errorf("%s: original address %s appears in the anonymized report", format, f)
					}
				}
				if strings.Contains(out, filepath.Dir(path)) {
					t.Errorf("%s: the capture's directory appears in the anonymized report", format)
				}
				if format == "json" {
					var got struct{ Verdict string }
					if err := json.Unmarshal([]byte(out), &got); err != nil {
						t.Fatal(err)
					}
					if got.Verdict != want.Verdict {
						t.Errorf("anonymized verdict %q, plain %q", got.Verdict, want.Verdict)
					}
				}
			}
		})
	}
}

// TestHTMLFromStdin checks that the HTML report draws its graphs when the
// capture comes from standard input (it is read twice through a temporary
// copy), and that the copy is removed.
func TestHTMLFromStdin(t *testing.T) {
	path := filepath.Join(testcaps.SamplesDir(t), "ctcp-proxy-stall.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	code, fromFile, _ := runArgs(t, nil, "analyze", "--format", "html", path)
	if code != exitAffected {
		t.Fatalf("exit %d", code)
	}
	code, fromStdin, stderr := runArgs(t, data, "analyze", "--format", "html", "-")
	if code != exitAffected {
		t.Fatalf("stdin: exit %d, stderr %q", code, stderr)
	}
	n1, n2 := strings.Count(fromFile, "<svg"), strings.Count(fromStdin, "<svg")
	if n1 == 0 || n1 != n2 {
		t.Errorf("graphs: %d from the file, %d from stdin", n1, n2)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "ctcpdiag-stdin-*")); len(left) != 0 {
		t.Errorf("temporary copies left behind: %v", left)
	}
}
