package progress

import (
	"bytes"
	"testing"
	"time"
)

// TestBytes checks the bar of one input as a terminal receives it: with a
// total, a bar, the MiB read of the total, the rate and the time left;
// without one (standard input), the MiB read and the rate; nothing within
// 100 ms of the last redraw; the rate only after half a second.
func TestBytes(t *testing.T) {
	var term bytes.Buffer
	now := time.Unix(1000, 0)
	b := New(&term)
	b.Now = func() time.Time { return now }
	b.Start()

	b.Bytes(1<<20, 100<<20, "big.pcap.gz")
	if got, want := term.String(), "\r[--------------------]  1.0/100.0 MiB  big.pcap.gz\x1b[K"; got != want {
		t.Errorf("at the start:\ngot  %q\nwant %q", got, want)
	}
	term.Reset()
	now = now.Add(50 * time.Millisecond)
	b.Bytes(2<<20, 100<<20, "big.pcap.gz")
	if term.Len() != 0 {
		t.Errorf("redrawn after 50 ms: %q", term.String())
	}
	now = now.Add(4*time.Second - 50*time.Millisecond)
	b.Bytes(40<<20, 100<<20, "big.pcap.gz")
	if got, want := term.String(), "\r[########------------]  40.0/100.0 MiB  10.0 MiB/s  ETA 0:06  big.pcap.gz\x1b[K"; got != want {
		t.Errorf("after 4 s:\ngot  %q\nwant %q", got, want)
	}
	term.Reset()
	now = now.Add(time.Second)
	b.Bytes(150<<20, 0, "standard input")
	if got, want := term.String(), "\r  150.0 MiB  30.0 MiB/s  standard input\x1b[K"; got != want {
		t.Errorf("without a total:\ngot  %q\nwant %q", got, want)
	}
	term.Reset()
	b.Clear()
	if term.String() != "\r\x1b[K" {
		t.Errorf("clear: %q", term.String())
	}
	term.Reset()
	b.Clear()
	if term.Len() != 0 {
		t.Error("cleared twice")
	}
	if got := string(AppendClock(nil, 3725)); got != "1:02:05" {
		t.Errorf("AppendClock(3725) = %q", got)
	}
}

func TestBytesNoAllocs(t *testing.T) {
	now := time.Unix(1000, 0)
	b := New(discard{})
	b.Now = func() time.Time { return now }
	b.Start()
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Second)
		b.Bytes(1<<30, 3<<30, "capture.pcapng.zst")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per redraw", allocs)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
