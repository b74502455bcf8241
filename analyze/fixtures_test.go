package analyze_test

import (
	"os/exec"
	"strings"
	"sync"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// fixture is one capture file analyzed once per test binary, with the
// TCP analysis flags of each frame, and tshark's fields for it, each
// computed on first use: TestManifestCounts, TestTsharkFrames and
// TestPeerAgainstTshark share them. The tests only read them.
type fixture struct {
	once  sync.Once
	c     *analyze.Capture
	flags map[uint64]uint16
	err   error

	tsOnce sync.Once
	tsOut  []byte
	tsErr  error
}

var fixtures sync.Map // path -> *fixture

func fixtureOf(path string) *fixture {
	f, _ := fixtures.LoadOrStore(path, &fixture{})
	return f.(*fixture)
}

// analyzed returns the analysis of the capture at path (with default
// options) and the analysis flags of its TCP frames, computing them once.
func analyzed(path string) (*analyze.Capture, map[uint64]uint16, error) {
	f := fixtureOf(path)
	f.once.Do(func() {
		flags := map[uint64]uint16{}
		f.c, f.err = analyze.File(path, analyze.WithTrace(analyze.Options{}, func(n uint64, fl uint16) { flags[n] |= fl }))
		f.flags = flags
	})
	return f.c, f.flags, f.err
}

// tsharkAllFields are the fields of one tshark run per file shared by
// TestTsharkFrames (tsharkFlagFields) and TestPeerAgainstTshark
// (peerFields), without repeats.
var tsharkAllFields = func() []string {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	add("frame.number")
	for _, f := range tsharkFlagFields {
		add(f.name)
	}
	for _, f := range peerFields {
		add(f)
	}
	return out
}()

// tsharkColumns returns, for the capture at path, tshark's values of
// fields (each among tsharkAllFields) for each frame it printed, one
// slice per line in fields' order, and tshark's error. tshark runs once
// per file and test binary ("-n -r path -T fields" with every field of
// tsharkAllFields).
func tsharkColumns(path string, fields []string) ([][]string, error) {
	f := fixtureOf(path)
	f.tsOnce.Do(func() {
		args := []string{"-n", "-r", path, "-T", "fields"}
		for _, name := range tsharkAllFields {
			args = append(args, "-e", name)
		}
		f.tsOut, f.tsErr = exec.Command("tshark", args...).Output()
	})
	idx := make([]int, len(fields))
	for i, name := range fields {
		idx[i] = -1
		for j, all := range tsharkAllFields {
			if all == name {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			panic("tsharkColumns: field " + name + " not in tsharkAllFields")
		}
	}
	var rows [][]string
	for _, line := range strings.Split(string(f.tsOut), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < len(tsharkAllFields) {
			continue
		}
		row := make([]string, len(fields))
		for i, j := range idx {
			row[i] = cols[j]
		}
		rows = append(rows, row)
	}
	return rows, f.tsErr
}
