package samplegen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// espKey is one ESP message: SPI and sequence number.
type espKey struct{ spi, seq uint32 }

// pairFile is what the test reads back from one file of a large pair.
type pairFile struct {
	esp         map[espKey]int64 // first time seen (ns)
	first, last int64
	frames      int
	spis        map[uint32]bool
}

// readPairFile reads a capture of the large pair with capfile and
// collects its ESP messages: cTCP (one message per segment, the
// trailer's protocol byte 0x32), ESP in UDP 4500, native ESP.
func readPairFile(t *testing.T, path string) pairFile {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f := pairFile{esp: map[espKey]int64{}, spis: map[uint32]bool{}}
	for src.Next() {
		info, b := src.Info(), src.Data()
		if f.frames == 0 {
			f.first = info.Time
		}
		if info.Time < f.last {
			t.Fatalf("%s: frame %d goes back in time", path, info.Frame)
		}
		f.last = info.Time
		f.frames++
		if info.LinkType != linkEthernet || len(b) < 14+20 {
			t.Fatalf("%s: frame %d: link type %d, %d bytes", path, info.Frame, info.LinkType, len(b))
		}
		if binary.BigEndian.Uint16(b[12:]) != 0x0800 {
			continue // IPv6: plain TCP only
		}
		ip := b[14:]
		if csumFold(csumAdd(0, ip[:20])) != 0 {
			t.Fatalf("%s: frame %d: bad IPv4 header checksum", path, info.Frame)
		}
		l4 := ip[int(ip[0]&15)*4 : binary.BigEndian.Uint16(ip[2:])]
		var msg []byte
		switch ip[9] {
		case 6:
			p := l4[int(l4[12]>>4)*4:]
			if len(p) >= 8+16 && bytes.Equal(p[len(p)-8:len(p)-3], TrailerMagic1[:]) && p[len(p)-3] == ctcpESP {
				msg = p
			}
		case 17:
			if (binary.BigEndian.Uint16(l4) == 4500 || binary.BigEndian.Uint16(l4[2:]) == 4500) &&
				len(l4) >= 16 && binary.BigEndian.Uint32(l4[8:]) != 0 {
				msg = l4[8:]
			}
		case 50:
			msg = l4
		}
		if msg == nil {
			continue
		}
		k := espKey{binary.BigEndian.Uint32(msg), binary.BigEndian.Uint32(msg[4:])}
		if _, dup := f.esp[k]; dup {
			t.Fatalf("%s: frame %d: ESP SPI %08x sequence number %d seen twice", path, info.Frame, k.spi, k.seq)
		}
		f.esp[k] = info.Time
		f.spis[k.spi] = true
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLargePair generates a small pair, reads both files back and checks
// the ESP messages against the generator's record of what it dropped
// between the points.
func TestLargePair(t *testing.T) {
	const packets = 20000
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, LargePairFileA(packets)), filepath.Join(dir, LargePairFileB(packets))
	fa, err := os.Create(pa)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Create(pb)
	if err != nil {
		t.Fatal(err)
	}
	var lost []LostESP
	st, err := LargePair(fa, fb, packets, 3, func(l LostESP) { lost = append(lost, l) })
	if err != nil {
		t.Fatal(err)
	}
	if err := fa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.PacketsA != packets || st.PacketsB < packets*8/10 || st.PacketsB > packets*12/10 {
		t.Errorf("packets A %d, B %d, want %d and about as many", st.PacketsA, st.PacketsB, packets)
	}
	if st.CTCP == 0 || st.TCP == 0 || st.NATT == 0 || st.ESP == 0 {
		t.Errorf("sessions %+v: want every kind", st)
	}
	if st.Lost != len(lost) {
		t.Errorf("Lost %d, %d reported", st.Lost, len(lost))
	}

	// The same bytes again.
	ha, hb := sha256.New(), sha256.New()
	if _, err := LargePair(ha, hb, packets, 3, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		h    []byte
	}{{pa, ha.Sum(nil)}, {pb, hb.Sum(nil)}} {
		f, _ := os.Open(c.path)
		h := sha256.New()
		_, _ = io.Copy(h, f)
		f.Close()
		if !bytes.Equal(h.Sum(nil), c.h) {
			t.Errorf("%s: a second run differs", filepath.Base(c.path))
		}
	}

	a, b := readPairFile(t, pa), readPairFile(t, pb)
	if a.frames != st.PacketsA || b.frames != st.PacketsB {
		t.Fatalf("read %d and %d frames, wrote %d and %d", a.frames, b.frames, st.PacketsA, st.PacketsB)
	}
	off := int64(st.ClockOffset)
	if b.first-off <= a.first || b.last-off <= a.last {
		t.Errorf("B (%v to %v, A's clock) should start and stop after A (%v to %v)",
			time.Duration(b.first-off-a.first), time.Duration(b.last-off-a.first), 0, time.Duration(a.last-a.first))
	}

	// Every loss: absent downstream, present upstream when it passed
	// inside the upstream capture.
	isLost := map[espKey]bool{}
	judged := [2]int{} // losses inside both captures, client's and headend's
	for _, l := range lost {
		k := espKey{l.SPI, l.Seq}
		isLost[k] = true
		up, down, other := a, b, l.Time+off
		if !l.FromClient {
			up, down, other = b, a, l.Time-off
		}
		if _, ok := down.esp[k]; ok {
			t.Errorf("lost %08x/%d is downstream too", l.SPI, l.Seq)
		}
		ts, ok := up.esp[k]
		inUp := l.Time >= up.first && l.Time <= up.last
		switch {
		case inUp && !ok:
			t.Errorf("lost %08x/%d (at %d) is not upstream", l.SPI, l.Seq, l.Time)
		case ok && ts != l.Time/1000*1000:
			t.Errorf("lost %08x/%d upstream at %d, recorded %d", l.SPI, l.Seq, ts, l.Time)
		}
		if ok && other > down.first+int64(10*time.Millisecond) && other < down.last-int64(10*time.Millisecond) {
			if l.FromClient {
				judged[0]++
			} else {
				judged[1]++
			}
		}
	}
	if judged[0] == 0 || judged[1] == 0 {
		t.Errorf("losses inside both captures: %d of the client's, %d of the headend's; want some of each", judged[0], judged[1])
	}

	// Every message in one file only is a recorded loss or passed
	// outside the other capture's time span; those in both took a few
	// milliseconds between the points.
	both, edge := 0, 0
	spis := 0
	for s := range a.spis {
		if b.spis[s] {
			spis++
		}
	}
	for _, c := range []struct {
		name          string
		in, other     pairFile
		toOther       int64
		otherFromHere bool
	}{{"A", a, b, off, true}, {"B", b, a, -off, false}} {
		for k, ts := range c.in.esp {
			tb, ok := c.other.esp[k]
			if ok {
				if d := time.Duration(tb - ts - c.toOther); d < -6*time.Millisecond || d > 6*time.Millisecond || d > -500*time.Microsecond && d < 500*time.Microsecond {
					t.Errorf("%08x/%d: %v between the points", k.spi, k.seq, d)
				}
				if c.otherFromHere {
					both++
				}
				continue
			}
			if isLost[k] {
				continue
			}
			o := ts + c.toOther
			if o > c.other.first+int64(10*time.Millisecond) && o < c.other.last-int64(10*time.Millisecond) {
				t.Errorf("%08x/%d: only in %s (at %v), inside the other capture and not lost", k.spi, k.seq, c.name, time.Duration(ts-a.first))
			}
			edge++
		}
	}
	t.Logf("ESP messages in both files %d (%d SPIs), lost %d (%d client's and %d headend's inside both captures), outside the other capture %d",
		both, spis, len(lost), judged[0], judged[1], edge)
	if both < 1000 || spis < 100 {
		t.Errorf("%d ESP messages and %d SPIs in both files; want many", both, spis)
	}
}

func BenchmarkLargePair(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LargePair(io.Discard, io.Discard, 100000, 1, nil); err != nil {
			b.Fatal(err)
		}
	}
}
