package rewrite_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// linkTypesFuzzed are the link types the fuzz target picks from.
var linkTypesFuzzed = []uint16{0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 204, 205, 228, 229, 239, 276, 147}

// FuzzRewrite sends arbitrary frames through the rewriter: it must not
// panic, must write as many frames as it was given, each readable by
// capfile with its length and link type, and must keep nothing of a frame
// of an unknown link type.
func FuzzRewrite(f *testing.F) {
	root := testcaps.RepoRoot(f)
	paths, _ := filepath.Glob(filepath.Join(root, "samples", "*.pcap*"))
	for _, p := range paths {
		src, err := capfile.Open(p)
		if err != nil {
			continue
		}
		for n := 0; src.Next() && n < 40; n++ {
			f.Add(bytes.Clone(src.Data()), uint8(1), uint16(0))
		}
		src.Close()
	}
	f.Add([]byte{0x45, 0, 0, 20}, uint8(6), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, lt uint8, extra uint16) {
		linkType := linkTypesFuzzed[int(lt)%len(linkTypesFuzzed)]
		var out bytes.Buffer
		w := rewrite.NewWriter(&out, mapper, extra&1 == 1)
		info := capfile.FrameInfo{Frame: 1, Time: 1e9, CapLen: len(data), OrigLen: len(data) + int(extra), LinkType: linkType}
		w.WritePacket(info, data)
		w.Placeholder()
		info.Frame = 3
		w.WritePacket(info, data)
		if w.Err() != nil {
			t.Fatal(w.Err())
		}
		src, err := capfile.New(bytes.NewReader(out.Bytes()), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		var frames []uint64
		for src.Next() {
			gi := src.Info()
			if gi.CapLen != len(data) || gi.OrigLen != info.OrigLen || gi.LinkType != linkType {
				t.Fatalf("frame %+v, want caplen %d origlen %d link %d", gi, len(data), info.OrigLen, linkType)
			}
			if linkType == 147 && bytes.ContainsFunc(src.Data(), func(r rune) bool { return r != 0 }) {
				t.Fatal("frame of an unknown link type not zeroed")
			}
			frames = append(frames, gi.Frame)
		}
		if src.Err() != nil || len(frames) != 2 || frames[0] != 1 || frames[1] != 3 || src.Frames() != 3 {
			t.Fatalf("read back frames %v of %d: %v", frames, src.Frames(), src.Err())
		}
	})
}

// BenchmarkRewrite measures the per-packet path (frame rewriting and
// block writing) over the frames of a sample.
func BenchmarkRewrite(b *testing.B) {
	root := testcaps.RepoRoot(b)
	src, err := capfile.Open(filepath.Join(root, "samples", "ctcp-proxy-stall.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	type fr struct {
		info capfile.FrameInfo
		data []byte
	}
	var frames []fr
	for src.Next() {
		frames = append(frames, fr{src.Info(), bytes.Clone(src.Data())})
	}
	src.Close()
	w := rewrite.NewWriter(discard{}, mapper, true)
	for _, f := range frames { // warm the mapper's cache and the buffers
		w.WritePacket(f.info, f.data)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		f := frames[i%len(frames)]
		w.WritePacket(f.info, f.data)
		i++
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
