// Package testcaps finds, for tests, the repository root, its committed
// sample captures (samples/*.pcap*) and the public captures shared beside
// the repository (../shared/captures/public) with their MANIFEST.tsv, and
// the representative subset of those that the slow sweeps (the
// comparisons with tshark) check unless CTCPDIAG_EXHAUSTIVE=1.
package testcaps

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Entry is one row of MANIFEST.tsv: tshark 4.0.17's figures for one file.
type Entry struct {
	Name   string // base name of the file
	Path   string // path to read it from
	Fields map[string]string
}

// Int returns the integer value of a column (0 when absent or not a
// number).
func (e Entry) Int(col string) int {
	n, _ := strconv.Atoi(e.Fields[col])
	return n
}

// Status returns the tshark_status column: "ok", or how tshark found the
// file damaged ("cut-short...", "corrupt...", "unsupported-record...").
func (e Entry) Status() string { return e.Fields["tshark_status"] }

// Col returns the value of a column, failing the test when the row has no
// such column.
func (e Entry) Col(t testing.TB, col string) string {
	t.Helper()
	v, ok := e.Fields[col]
	if !ok {
		t.Fatalf("MANIFEST.tsv: %s: no %q column", e.Name, col)
	}
	return v
}

// MustInt returns the integer value of a column, failing the test when the
// column is absent or not a number.
func (e Entry) MustInt(t testing.TB, col string) int {
	t.Helper()
	n, err := strconv.Atoi(e.Col(t, col))
	if err != nil {
		t.Fatalf("MANIFEST.tsv: %s: column %s: %v", e.Name, col, err)
	}
	return n
}

// RepoRoot returns the directory holding go.mod, walking up from the
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// SamplesDir returns the directory of the committed sample captures
// (samples/ under the repository root). It may not hold them yet.
func SamplesDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "samples")
}

// Samples returns the paths of the committed sample captures
// (samples/*.pcap*) in name order, or skips the test with a message when
// there are none.
func Samples(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(SamplesDir(t), "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no sample captures in samples/ (generate them with go run ./samples/gen)")
	}
	return paths
}

// Locate returns the public-captures directory and a non-nil error when it
// or its MANIFEST.tsv is absent, without skipping: for optional uses such
// as fuzz seeds.
func Locate(t testing.TB) (string, error) {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared", "captures", "public")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.tsv")); err != nil {
		return d, fmt.Errorf("public captures not found at ../shared/captures/public relative to the repository: %w", err)
	}
	return d, nil
}

// Dir returns the public-captures directory, or skips the test with a
// message when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := Locate(t)
	if err != nil {
		t.Skipf("%v; these tests compare against them", err)
	}
	return d
}

// Manifest reads MANIFEST.tsv, skipping the test when it is absent. Rows
// whose file is not in the directory are left out. Each row holds every
// column of the header that the line has.
func Manifest(t testing.TB) []Entry {
	t.Helper()
	out, err := readManifest(Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readManifest reads MANIFEST.tsv in the public-captures directory d, as
// Manifest does.
func readManifest(d string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(d, "MANIFEST.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cols []string
	var out []Entry
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = row
			continue
		}
		e := Entry{Fields: map[string]string{}}
		for i, c := range cols {
			if i < len(row) {
				e.Fields[c] = row[i]
			}
		}
		e.Name = filepath.Base(e.Fields["file"])
		e.Path = filepath.Join(d, e.Name)
		if _, err := os.Stat(e.Path); err != nil {
			continue // listed but not shipped here
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("MANIFEST.tsv: %w", err)
	}
	return out, nil
}
