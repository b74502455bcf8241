package detect

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// readTSV reads the first two tab-separated columns of a file, skipping
// blank lines, # comments and a header whose second column is "verdict".
func readTSV(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 2 || cols[1] == "verdict" {
			continue
		}
		rows = append(rows, [2]string{strings.TrimSpace(cols[0]), strings.TrimSpace(cols[1])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// analyzeOrSkip analyzes a capture, skipping the test while analyze.File
// is not implemented yet.
func analyzeOrSkip(t *testing.T, path string) *analyze.Capture {
	t.Helper()
	c, err := analyze.File(path, analyze.Options{})
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("analyze.File is not implemented yet")
	}
	if err != nil && c == nil {
		t.Fatalf("analyze.File(%s): %v", path, err)
	}
	return c
}

// TestSamples checks each committed sample's verdict against
// samples/expected.tsv (written by the samples generator) or, without it,
// testdata/expected_verdicts.tsv (taken from samples/README.md). Both list
// a file name relative to samples/ and the expected verdict.
func TestSamples(t *testing.T) {
	samples := testcaps.SamplesDir(t)
	list := filepath.Join(samples, "expected.tsv")
	if _, err := os.Stat(list); err != nil {
		list = filepath.Join("testdata", "expected_verdicts.tsv")
	}
	if _, err := os.Stat(list); err != nil {
		t.Skip("no samples/expected.tsv nor testdata/expected_verdicts.tsv yet")
	}
	rows := readTSV(t, list)
	if len(rows) == 0 {
		t.Skipf("%s lists no samples", filepath.Base(list))
	}
	for _, row := range rows {
		name, want := row[0], Verdict(row[1])
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := filepath.Join(samples, name)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("sample %s not generated yet", name)
			}
			c := analyzeOrSkip(t, path)
			r, err := Run(c, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != want {
				t.Errorf("verdict = %s (%s), want %s", r.Verdict, r.VerdictWhy, want)
			}
			checkInvariants(t, r)
		})
	}
}

// TestPublicCaptures runs detection over the public real captures. None of
// them holds cTCP (TCP port 10000 appears only as nmap SYN probes), so every
// readable one must come out no-ctcp, whatever duplicate ACKs it has.
func TestPublicCaptures(t *testing.T) {
	for _, e := range testcaps.Manifest(t) {
		if e.Status() != "ok" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			c := analyzeOrSkip(t, e.Path)
			r, err := Run(c, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != NoCTCP {
				t.Errorf("verdict = %s (%s), want no-ctcp", r.Verdict, r.VerdictWhy)
			}
			checkInvariants(t, r)
		})
	}
}
