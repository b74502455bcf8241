package correlate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// largePair writes samplegen's large pair of packets packets into dir
// and returns its files and the ESP messages it lost between the points.
func largePair(t *testing.T, dir string, packets int) (string, string, []samplegen.LostESP) {
	t.Helper()
	pa, pb := filepath.Join(dir, samplegen.LargePairFileA(packets)), filepath.Join(dir, samplegen.LargePairFileB(packets))
	fa, err := os.Create(pa)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Create(pb)
	if err != nil {
		t.Fatal(err)
	}
	var lost []samplegen.LostESP
	_, err = samplegen.LargePair(fa, fb, packets, 1, func(l samplegen.LostESP) { lost = append(lost, l) })
	if e := fa.Close(); err == nil {
		err = e
	}
	if e := fb.Close(); err == nil {
		err = e
	}
	if err != nil {
		t.Fatal(err)
	}
	return pa, pb, lost
}

// TestMemoryBounded correlates a short and an eight times longer pair of
// the same steady traffic (hundreds of sessions, samplegen.LargePair)
// and checks that the messages held in flight do not grow with the
// length: they are bounded by the rate times the reorder window
// (docs/design.md, "The pipeline"; doc.go, "Memory"), never by the
// number of messages in the files.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 160 MB")
	}
	dir := t.TempDir()
	var peak [2]int
	for i, n := range []int{20_000, 160_000} {
		pa, pb, lost := largePair(t, dir, n)
		r, err := correlate.Files(pa, pb, correlate.Options{NoHash: true, MaxListed: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, r)
		os.Remove(pa)
		os.Remove(pb)
		held := max(r.PeakHeldA, r.PeakHeldB)
		t.Logf("%d packets: %d and %d messages, at most %d and %d held at once, %d forced out; %d pairs; %d lost by the generator",
			n, r.MessagesA, r.MessagesB, r.PeakHeldA, r.PeakHeldB, r.ForcedA+r.ForcedB, len(r.Pairs), len(lost))
		if r.ForcedA+r.ForcedB != 0 {
			t.Errorf("%d packets: %d messages forced out by the cap", n, r.ForcedA+r.ForcedB)
		}
		if r.Verdict != correlate.VerdictLoss || len(r.Pairs) < 100 {
			t.Errorf("%d packets: verdict %s, %d pairs", n, r.Verdict, len(r.Pairs))
		}
		// The ESP messages the correlation calls lost were, nearly all,
		// lost by the generator, in their direction. (A few are not in
		// its record: seen in one file only, inside both windows, they
		// are called lost by the batch version as well.)
		gen := map[[2]uint32]bool{}
		for _, l := range lost {
			gen[[2]uint32{l.SPI, l.Seq}] = l.FromClient
		}
		found, known := 0, 0
		for _, p := range r.Pairs {
			for _, d := range p.Directions {
				for _, l := range d.LostMessages {
					found++
					if fromClient, ok := gen[[2]uint32{l.SPI, l.Seq}]; ok && fromClient == (l.AFrame != 0) {
						known++
					} else {
						t.Logf("%d packets: ESP %08x #%d called lost (A frame %d, B frame %d), not in the generator's record", n, l.SPI, l.Seq, l.AFrame, l.BFrame)
					}
				}
			}
		}
		if found == 0 || known < found*3/4 {
			t.Errorf("%d packets: %d messages called lost, %d of them lost by the generator", n, found, known)
		}
		peak[i] = held
		if total := min(r.MessagesA, r.MessagesB); i == 1 && held > total/8 {
			t.Errorf("%d packets: %d messages held at once of %d: memory grows with the file", n, held, total)
		}
	}
	// Eight times the traffic, about the same messages in flight.
	if peak[1] > 2*peak[0] {
		t.Errorf("at most %d messages held for the short pair, %d for the long one: memory grows with the file", peak[0], peak[1])
	}
}
