package analyze_test

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// knownDifferences lists, per file and column, where we deliberately
// differ from tshark 4.0.17, with the value we give instead. Each entry is
// explained, with the frames that show it, in docs/wireshark-differences.md.
var knownDifferences = map[string]map[string]int{
	// The VNC heuristic dissector opens a new conversation on each RFB
	// version message (frames 4 and 3547), which tshark's TCP then
	// treats as new streams; there are 2 TCP connections.
	"ndpi__vnc.pcap": {"tcp_streams": 2},
}

// TestManifestCounts compares, for every public capture, our per-file
// counts with tshark 4.0.17's figures in MANIFEST.tsv.
func TestManifestCounts(t *testing.T) {
	for _, e := range testcaps.Manifest(t) {
		t.Run(e.Name, func(t *testing.T) {
			c, _, err := analyzed(e.Path)
			if e.Fields["link_type"] == "unreadable" {
				if err == nil {
					t.Fatalf("tshark cannot read this file (%s) but we did", e.Fields["tshark_status"])
				}
				var ie *analyze.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("error %v is not an *InputError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			got := map[string]int{
				"packets":             int(c.Packets),
				"dup_ack":             c.Stats.TCP.DupAcks,
				"retransmission":      c.Stats.TCP.Retransmissions,
				"fast_retransmission": c.Stats.TCP.FastRetransmissions,
				"lost_segment":        c.Stats.TCP.LostSegments,
				"ack_lost_segment":    c.Stats.TCP.AckedUnseen,
				"out_of_order":        c.Stats.TCP.OutOfOrder,
				"zero_window":         c.Stats.TCP.ZeroWindows,
				"tcp_streams":         c.Stats.TCPStreams,
			}
			var bad []string
			for _, col := range []string{"packets", "dup_ack", "retransmission", "fast_retransmission", "lost_segment", "ack_lost_segment", "out_of_order", "zero_window", "tcp_streams"} {
				want, why := e.Int(col), "tshark"
				if v, ok := knownDifferences[e.Name][col]; ok {
					want, why = v, "documented difference from tshark"
				}
				if got[col] != want {
					bad = append(bad, fmt.Sprintf("%s: got %d, %s %d", col, got[col], why, want))
				}
			}
			if len(bad) > 0 {
				t.Errorf("disagrees with MANIFEST.tsv: %s", strings.Join(bad, "; "))
			}
			if strings.HasPrefix(e.Fields["tshark_status"], "cut-short") && len(c.Warnings) == 0 {
				t.Errorf("file is cut short but the capture has no warning")
			}
		})
	}
}

// TestTsharkFrames compares, frame by frame, the frames tshark flags
// with each tcp.analysis field against ours, on the committed samples and
// the public captures (a representative subset unless
// testcaps.Exhaustive). It needs tshark.
func TestTsharkFrames(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed; the per-frame comparison needs it (apt-get install tshark)")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark on every sample and public capture")
	}
	fields := tsharkFlagFields
	names := []string{"frame.number"}
	for _, f := range fields {
		names = append(names, f.name)
	}
	var paths []string
	if _, err := testcaps.Locate(t); err == nil {
		var readable []testcaps.Entry
		for _, e := range testcaps.Manifest(t) {
			if e.Fields["link_type"] != "unreadable" {
				readable = append(readable, e)
			}
		}
		for _, e := range testcaps.Representative(t, readable) {
			paths = append(paths, e.Path)
		}
	} else {
		t.Logf("public captures not found (%v): comparing on the samples only", err)
	}
	// The committed samples too (the truncated one is read up to its damage
	// by both).
	paths = append(paths, testcaps.Samples(t)...)
	for _, path := range paths {
		e := struct{ Name, Path string }{filepath.Base(path), path}
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			_, ours, err := analyzed(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := tsharkColumns(e.Path, names)
			theirs := map[uint64]uint16{}
			for _, cols := range rows {
				n, err := strconv.ParseUint(cols[0], 10, 64)
				if err != nil {
					continue
				}
				for i := range fields {
					if cols[i+1] != "" {
						theirs[n] |= 1 << i
					}
				}
			}
			for i, f := range fields {
				var missing, extra []uint64
				for n, fl := range theirs {
					if fl&(1<<i) != 0 && ours[n]&f.bit == 0 {
						missing = append(missing, n)
					}
				}
				for n, fl := range ours {
					if fl&f.bit != 0 && theirs[n]&(1<<i) == 0 {
						extra = append(extra, n)
					}
				}
				if len(missing)+len(extra) > 0 {
					sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
					sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
					t.Errorf("%s: tshark-only frames %v, ours-only frames %v", f.name, head(missing), head(extra))
				}
			}
		})
	}
}

func head(s []uint64) []uint64 {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
