// Package testcaps finds the public captures shared beside the repository
// (../shared/captures/public) and reads their MANIFEST.tsv, for tests.
package testcaps

import (
	"bufio"
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

// Dir returns the public-captures directory, or skips the test with a
// message when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared", "captures", "public")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.tsv")); err != nil {
		t.Skipf("public captures not found at ../shared/captures/public relative to the repository (%v); these tests compare against them", err)
	}
	return d
}

// Manifest reads MANIFEST.tsv, skipping the test when it is absent.
func Manifest(t testing.TB) []Entry {
	t.Helper()
	d := Dir(t)
	f, err := os.Open(filepath.Join(d, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
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
		t.Fatal(err)
	}
	return out
}
