package correlate_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

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
		// Every ESP message the correlation calls lost was lost by the
		// generator, in its direction. (A message that one capture saw
		// before the other's view of its session direction began is not
		// judged: the framer of a capture starting mid-session may not
		// place the first segment it meets.)
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
						t.Errorf("%d packets: ESP %08x #%d called lost (A frame %d, B frame %d), not in the generator's record", n, l.SPI, l.Seq, l.AFrame, l.BFrame)
					}
				}
			}
		}
		if found == 0 || known < found {
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

// shiftPcap rewrites the classic pcap (microseconds) at path with every
// timestamp d later: the same capture taken on a host whose clock is
// off.
func shiftPcap(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian classic pcap", path)
	}
	for i := 24; i+16 <= len(b); i += 16 + int(binary.LittleEndian.Uint32(b[i+8:])) {
		us := int64(binary.LittleEndian.Uint32(b[i:]))*1e6 + int64(binary.LittleEndian.Uint32(b[i+4:])) + d.Microseconds()
		binary.LittleEndian.PutUint32(b[i:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(b[i+4:], uint32(us%1e6))
	}
	out := path + ".shifted"
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClockOffsetFound correlates a pair whose clocks differ by 150 ms
// more than samplegen's while holding at most 512 messages a file (about
// 25 ms of this traffic), so that nothing matches at first: the offset
// is found from sampled sequence numbers (doc.go, "Memory"), the rest of
// the files match, and what could not be matched is not judged rather
// than called lost.
func TestClockOffsetFound(t *testing.T) {
	dir := t.TempDir()
	pa, pb, _ := largePair(t, dir, 20_000)
	ref, err := correlate.Files(pa, pb, correlate.Options{NoHash: true})
	if err != nil {
		t.Fatal(err)
	}
	const shift = 150 * time.Millisecond
	r, err := correlate.Files(pa, shiftPcap(t, pb, shift), correlate.Options{NoHash: true, MaxPending: 512})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	count := func(r *correlate.Result) (both, lost int) {
		for _, p := range r.Pairs {
			for _, d := range p.Directions {
				both += d.Both
				lost += d.Lost
			}
		}
		return both, lost
	}
	b0, l0 := count(ref)
	b1, l1 := count(r)
	t.Logf("offset %v (reference %v); %d and %d held at most, %d and %d forced out; at both %d (reference %d), lost %d (reference %d)",
		time.Duration(r.ClockOffset), time.Duration(ref.ClockOffset), r.PeakHeldA, r.PeakHeldB, r.ForcedA, r.ForcedB, b1, b0, l1, l0)
	if !r.OffsetKnown || abs(r.ClockOffset-ref.ClockOffset-int64(shift)) > tolerance {
		t.Errorf("offset %v (known %v), want %v", time.Duration(r.ClockOffset), r.OffsetKnown, time.Duration(ref.ClockOffset)+shift)
	}
	if r.PeakHeldA > 512+128 || r.PeakHeldB > 512+128 {
		t.Errorf("held %d and %d, cap 512 and 128 IKE", r.PeakHeldA, r.PeakHeldB)
	}
	if b1 < b0/2 || l1 > l0 {
		t.Errorf("at both %d, lost %d; reference %d and %d", b1, l1, b0, l0)
	}
}
