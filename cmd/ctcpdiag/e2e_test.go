package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/internal/testcaps"
)

var update = flag.Bool("update", false, "rewrite testdata/e2e/*.golden")

func compareGolden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/ctcpdiag -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestEndToEnd runs "ctcpdiag analyze" on every committed sample capture
// (samples/*.pcap*) and compares the text and JSON reports with
// testdata/e2e/<sample>.{txt,json}.golden. The samples are named relative
// to the repository root, so the reports do not depend on the checkout's
// location.
func TestEndToEnd(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	samples := testcaps.Samples(t)
	t.Chdir(testcaps.RepoRoot(t))
	for _, abs := range samples {
		name := filepath.Base(abs)
		rel := filepath.ToSlash(filepath.Join("samples", name))
		t.Run(name, func(t *testing.T) {
			code, text, stderr := runArgs(t, nil, "analyze", "--color", "never", rel)
			if code == 2 {
				t.Fatalf("exit 2: %s", stderr)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			compareGolden(t, filepath.Join(golden, name+".txt.golden"), text)

			jcode, js, _ := runArgs(t, nil, "analyze", "--format", "json", rel)
			compareGolden(t, filepath.Join(golden, name+".json.golden"), js)
			if jcode != code {
				t.Errorf("exit %d with --format json, %d with text", jcode, code)
			}
			var rep struct{ Verdict string }
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[rep.Verdict == "affected"]; code != want {
				t.Errorf("verdict %s, exit %d, want %d", rep.Verdict, code, want)
			}
		})
	}
}

// TestPublicCaptures runs the command over the public captures beside the
// repository (../shared/captures/public): none holds cTCP, so none may be
// reported affected, every capture tshark reads is analyzed, and a damaged
// one either names itself in one line on stderr or carries a warning.
// (Per-file counts against tshark are analyze's tests.)
func TestPublicCaptures(t *testing.T) {
	for _, row := range testcaps.Manifest(t) {
		path := row.Path
		t.Run(row.Name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, nil, "analyze", "--format", "json", path)
			if code == 1 {
				t.Errorf("exit 1 (affected) on a capture without cTCP")
			}
			if code == 2 {
				if row.Status() == "ok" {
					t.Errorf("exit 2 on a capture tshark reads: %s", stderr)
				} else if !strings.HasPrefix(stderr, "ctcpdiag: "+path+": ") || strings.Count(stderr, "\n") != 1 {
					t.Errorf("unreadable capture: stderr %q, want one line naming it", stderr)
				}
				return
			}
			var rep struct {
				Verdict string
				Capture struct {
					Warnings []string
				}
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if rep.Verdict == "affected" {
				t.Errorf("verdict affected on a capture without cTCP")
			}
			if row.Status() != "ok" && len(rep.Capture.Warnings) == 0 {
				t.Errorf("damaged capture (%s) analyzed without a warning", row.Status())
			}
		})
	}
}
