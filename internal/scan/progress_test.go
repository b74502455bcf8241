package scan

import (
	"bytes"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := NewProgress(&buf)
	p.bar.Now = func() time.Time { return now }
	p.Start()
	now = now.Add(4 * time.Second)
	s := ProgressStats{Done: 812, Total: 2000, TotalKnown: true, Bytes: 40 << 20, BytesTotal: 100 << 20}
	p.Update(s)
	want := "\r[########------------]  812/2000 files  40.0/100.0 MiB  10.0 MiB/s  ETA 0:06\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Rate-limited: nothing within 100 ms.
	buf.Reset()
	now = now.Add(50 * time.Millisecond)
	p.Update(s)
	if buf.Len() != 0 {
		t.Errorf("redrawn after 50 ms: %q", buf.String())
	}
	now = now.Add(60 * time.Millisecond)
	s.TotalKnown = false
	p.Update(s)
	if !bytes.Contains(buf.Bytes(), []byte("812/2000+ files")) {
		t.Errorf("unknown total not marked: %q", buf.String())
	}
	buf.Reset()
	p.Clear()
	if buf.String() != "\r\x1b[K" {
		t.Errorf("clear: %q", buf.String())
	}
	buf.Reset()
	p.Clear()
	if buf.Len() != 0 {
		t.Error("cleared twice")
	}
}

func TestProgressNoAllocs(t *testing.T) {
	now := time.Unix(1000, 0)
	p := NewProgress(discard{})
	p.bar.Now = func() time.Time { return now }
	p.Start()
	s := ProgressStats{Done: 1, Total: 2, Bytes: 1 << 30, BytesTotal: 3 << 30}
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Second)
		p.Update(s)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per redraw", allocs)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
