package analyze_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// FuzzAnalyze runs the whole analyze path (reader, decoder, tracker,
// classifier) on arbitrary bytes, seeded with the committed samples. It
// checks properties, not only the absence of panics: errors are
// *InputError values, and every session and run points at frames that
// exist.
func FuzzAnalyze(f *testing.F) {
	root := testcaps.RepoRoot(f)
	seeds, _ := filepath.Glob(filepath.Join(root, "samples", "*.pcap*"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 8<<10 {
			b = b[:8<<10] // small seeds: the fuzzer mutates and minimizes faster
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c, err := analyze.Reader(bytes.NewReader(data), "fuzz.pcap", analyze.Options{})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("analyzing %d bytes took %v", len(data), d)
		}
		if err != nil {
			var ie *analyze.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T) is not an *InputError", err, err)
			}
			if ie.File != "fuzz.pcap" {
				t.Fatalf("error names %q, want fuzz.pcap", ie.File)
			}
			return
		}
		if uint64(len(c.Sessions)) > c.Packets {
			t.Fatalf("%d sessions from %d packets", len(c.Sessions), c.Packets)
		}
		for i, s := range c.Sessions {
			if s.ID != i {
				t.Fatalf("session %d has ID %d", i, s.ID)
			}
			if s.FirstFrame == 0 || s.FirstFrame > s.LastFrame || s.LastFrame > c.Packets {
				t.Fatalf("session %d frames %d-%d outside 1-%d", i, s.FirstFrame, s.LastFrame, c.Packets)
			}
			if s.Packets > c.Packets {
				t.Fatalf("session %d has %d packets of %d", i, s.Packets, c.Packets)
			}
			checkPeer(t, s)
			for _, r := range s.Requests {
				if r.Count < len(r.Frames) || len(r.Frames) == 0 {
					t.Fatalf("run count %d with %d frames", r.Count, len(r.Frames))
				}
				for _, fr := range r.Frames {
					if fr < s.FirstFrame || fr > s.LastFrame {
						t.Fatalf("dup ACK frame %d outside session %d-%d", fr, s.FirstFrame, s.LastFrame)
					}
				}
			}
		}
	})
}
