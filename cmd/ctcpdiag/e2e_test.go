package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
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

// TestSeveralInputs runs "ctcpdiag analyze" on two committed samples (one
// affected, one healthy) with unreadable inputs between them (a missing
// file, a file that is not a capture, an empty file), in every format that
// takes several files, to a pipe and to -o: each readable capture is
// analyzed and reported, in order, under a heading line that names it;
// each unreadable one is named in one line on stderr; and the exit status
// is 2, which wins over the 1 of the affected capture.
func TestSeveralInputs(t *testing.T) {
	root := testcaps.RepoRoot(t)
	dir := t.TempDir()
	t.Chdir(root)
	affected := "samples/ctcp-proxy-stall.pcap"
	healthy := "samples/ctcp-healthy.pcap"
	missing := filepath.Join(dir, "missing.pcap")
	notCapture := filepath.Join(dir, "notes.txt")
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(notCapture, []byte("this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := []string{missing, notCapture, empty}
	args := []string{affected, missing, notCapture, healthy, empty}

	// The affected sample alone exits 1; with the unreadable files, 2.
	if code, _, stderr := runArgs(t, nil, "analyze", "--color", "never", affected, healthy); code != 1 {
		t.Fatalf("readable inputs only: exit %d, want 1 (stderr %q)", code, stderr)
	}

	checkStderr := func(t *testing.T, stderr string) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if len(lines) != len(bad) {
			t.Fatalf("stderr has %d lines, want one per unreadable file:\n%s", len(lines), stderr)
		}
		for i, p := range bad {
			if !strings.HasPrefix(lines[i], "ctcpdiag: "+p+": ") {
				t.Errorf("stderr line %d %q, want it to name %s", i+1, lines[i], p)
			}
		}
	}
	// heading is the first two lines of each report, as each format writes them.
	heading := map[string]func(path string) string{
		"text": func(p string) string {
			return "ctcpdiag report: " + p + "\nVerdict for " + p + ": "
		},
		"markdown": func(p string) string {
			return "# ctcpdiag report: `" + p + "`\n\n**Verdict for " + p + ": "
		},
	}
	for _, format := range []string{"text", "markdown", "json"} {
		for _, toFile := range []bool{false, true} {
			name := format
			if toFile {
				name += " -o"
			}
			t.Run(name, func(t *testing.T) {
				a := append([]string{"analyze", "--color", "never", "--format", format}, args...)
				out := filepath.Join(dir, "report-"+strings.ReplaceAll(name, " ", ""))
				if toFile {
					a = append(a, "-o", out)
				}
				code, stdout, stderr := runArgs(t, nil, a...)
				if code != 2 {
					t.Errorf("exit %d, want 2", code)
				}
				checkStderr(t, stderr)
				if toFile {
					if stdout != "" {
						t.Errorf("stdout %q with -o", stdout)
					}
					data, err := os.ReadFile(out)
					if err != nil {
						t.Fatalf("-o: %v", err)
					}
					stdout = string(data)
				}
				if format == "json" {
					var paths []string
					dec := json.NewDecoder(strings.NewReader(stdout))
					for dec.More() {
						var rep struct {
							Verdict string
							Capture struct{ Path string }
						}
						if err := dec.Decode(&rep); err != nil {
							t.Fatal(err)
						}
						paths = append(paths, rep.Capture.Path)
					}
					if diff := cmp.Diff([]string{affected, healthy}, paths); diff != "" {
						t.Errorf("JSON reports (-want +got):\n%s", diff)
					}
					return
				}
				h := heading[format]
				if !strings.HasPrefix(stdout, h(affected)) {
					t.Errorf("output does not start with the heading of %s:\n%.300s", affected, stdout)
				}
				i := strings.Index(stdout, "\n"+h(healthy))
				if i < 0 || strings.Count(stdout, h(affected)) != 1 {
					t.Fatalf("no heading for %s after the first report:\n%s", healthy, stdout)
				}
				if !strings.Contains(stdout[:i], ": AFFECTED") || !strings.Contains(stdout[i:], ": HEALTHY") {
					t.Errorf("verdicts not in input order")
				}
				for _, p := range bad {
					if strings.Contains(stdout, p) {
						t.Errorf("report mentions the unreadable %s", p)
					}
				}
			})
		}
	}
}
