package capfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// FuzzSource feeds arbitrary bytes to the reader and checks properties:
// no panic, every error is an *InputError naming a frame in range, frame
// numbers increase (by exactly one in pcap files), Data has CapLen bytes,
// and the digest covers the whole input.
func FuzzSource(f *testing.F) {
	f.Add(pcapFile(pcapOpts{network: 1}, rec{sec: 1, data: payload(60, 0)}, rec{sec: 2, data: payload(61, 0)}))
	f.Add(pcapFile(pcapOpts{be: true, nsec: true, major: 2, minor: 2, network: 101}, rec{data: payload(20, 0), capLen: 100}))
	n := newNG(false).shb(false).idb(1, 40)
	n.spb(80, payload(40, 0)).pb(0, 5, payload(9, 0)).block(0xbad, payload(8, 0)).idb(113, 0, n.opt(9, []byte{9}))
	n.epb(1, 7, payload(33, 0)).shb(true).idb(0, 0).epb(0, 8, payload(12, 0))
	f.Add(n.bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcapFile(pcapOpts{network: 1}, rec{data: payload(30, 0)}))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte{})
	f.Add([]byte("not a capture"))
	if dir, err := testcaps.Locate(f); err == nil {
		// Small public captures, when present.
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range files {
			if st, err := os.Stat(p); err == nil && st.Size() <= 4096 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := capfile.New(bytes.NewReader(b), "fuzz")
		if err != nil {
			var ie *capfile.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("New error %v (%T) is not an *InputError", err, err)
			}
			if src != nil {
				t.Fatal("New returned both a Source and an error")
			}
			return
		}
		defer src.Close()
		var last uint64
		for src.Next() {
			info := src.Info()
			if info.Frame <= last || src.Format() != "pcapng" && info.Frame != last+1 {
				t.Fatalf("frame %d after %d (%s)", info.Frame, last, src.Format())
			}
			last = info.Frame
			if len(src.Data()) != info.CapLen || info.CapLen > capfile.MaxRecord || info.CapLen < 0 {
				t.Fatalf("frame %d: len(Data) %d, CapLen %d", info.Frame, len(src.Data()), info.CapLen)
			}
		}
		if src.Frames() < last {
			t.Fatalf("Frames %d < last frame %d", src.Frames(), last)
		}
		if err := src.Err(); err != nil {
			var ie *capfile.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Err %v (%T) is not an *InputError", err, err)
			}
			if ie.Packet != src.Frames()+1 || ie.Offset < 0 {
				t.Fatalf("error names packet %d offset %d after %d frames", ie.Packet, ie.Offset, src.Frames())
			}
		}
		if src.Size() != int64(len(b)) || len(src.SHA256()) != 64 {
			t.Fatalf("Size %d SHA256 %q for %d bytes", src.Size(), src.SHA256(), len(b))
		}
	})
}
