package capfile_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// TestOptionsByteOrder reads options from a big-endian section after a
// little-endian one, and checks that frames without a packet block's
// options (simple packet blocks, pcap) have none.
func TestOptionsByteOrder(t *testing.T) {
	n := newNG(false).shb(false).idb(1, 0)
	n.epb(0, 1, payload(4, 0), n.opt(1, []byte("le")), n.opt(0, nil))
	n.shb(true).idb(101, 0, n.opt(2, []byte("eth1")))
	n.epb(0, 2, payload(5, 0), n.opt(1, []byte("big-endian")), n.opt(2, []byte{0, 0, 0, 1}), n.opt(0, nil), n.opt(1, []byte("after the end")))
	n.spb(4, payload(4, 0))
	src, got := readBack(t, n.bytes())
	defer src.Close()
	want := [][]opt{{{1, "le"}}, {{1, "big-endian"}, {2, "\x00\x00\x00\x01"}}, nil}
	if len(got) != len(want) {
		t.Fatalf("read %d frames", len(got))
	}
	for i, w := range want {
		if d := cmp.Diff(w, got[i].Opts); d != "" {
			t.Errorf("frame %d options (-want +got):\n%s", i+1, d)
		}
	}
	if d := cmp.Diff([]opt{{2, "eth1"}}, collect(src.InterfaceOptions(1))); d != "" {
		t.Errorf("interface options (-want +got):\n%s", d)
	}
	if o := collect(src.InterfaceOptions(0)); o != nil {
		t.Errorf("options of an interface of the previous section: %v", o)
	}
	if o := collect(src.Options()); o != nil {
		t.Errorf("options after the end: %v", o)
	}

	p := pcapFile(pcapOpts{network: 1}, rec{data: payload(4, 0)})
	src2, got2 := readBack(t, p)
	defer src2.Close()
	if got2[0].Opts != nil || collect(src2.SectionOptions()) != nil || collect(src2.InterfaceOptions(0)) != nil {
		t.Error("pcap frame with options")
	}
}

// The iterators stop when the loop body breaks.
func TestOptionsBreak(t *testing.T) {
	var buf bytes.Buffer
	w := capfile.NewWriter(&buf, "", capfile.Section{Comment: "a", UserAppl: "b"})
	w.Flush()
	src, _ := readBack(t, buf.Bytes())
	defer src.Close()
	var n int
	for range src.SectionOptions() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d iterations", n)
	}
}

// TestInterface checks the interface descriptions a Source gives back:
// pcap's link type, snaplen and resolution; pcapng's, with if_tsresol as
// written, left out when absent, and 9 for a resolution the Writer cannot
// write.
func TestInterface(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		want []capfile.Interface
	}{
		{"pcap", pcapFile(pcapOpts{network: 1, snaplen: 96}, rec{data: payload(4, 0)}), []capfile.Interface{{LinkType: 1, SnapLen: 96, TSResol: 6}}},
		{"pcap-nsec", pcapFile(pcapOpts{network: 101, snaplen: 65535, nsec: true, be: true}, rec{data: payload(4, 0)}), []capfile.Interface{{LinkType: 101, SnapLen: 65535, TSResol: 9}}},
		{"pcapng", func() []byte {
			n := newNG(false).shb(false).idb(1, 128).idb(101, 0, n0opt(9, 9)).idb(1, 0, n0opt(9, 0x8a))
			n.epb(0, 1, payload(4, 0))
			n.epb(1, 2, payload(4, 0))
			n.epb(2, 3, payload(4, 0))
			return n.bytes()
		}(), []capfile.Interface{{LinkType: 1, SnapLen: 128}, {LinkType: 101, TSResol: 9}, {LinkType: 1, TSResol: 9}}},
	} {
		src, got := readBack(t, tc.file)
		for i, w := range tc.want {
			g, ok := src.Interface(i)
			if !ok || g.LinkType != w.LinkType || g.SnapLen != w.SnapLen || g.TSResol != w.TSResol {
				t.Errorf("%s: interface %d = %+v, %v; want %+v", tc.name, i, g, ok, w)
			}
		}
		if _, ok := src.Interface(len(tc.want)); ok || len(got) != len(tc.want) && tc.name == "pcapng" {
			t.Errorf("%s: interface %d known, or %d frames", tc.name, len(tc.want), len(got))
		}
		src.Close()
	}
}

// n0opt is a little-endian pcapng option with a one-byte value.
func n0opt(code uint16, v byte) []byte {
	return []byte{byte(code), byte(code >> 8), 1, 0, v, 0, 0, 0}
}

// TestReadCounter checks Options.Read: after the last frame it holds the
// stored bytes read, as Size, whether a file or a stream is read, and
// for a compressed stream the compressed bytes.
func TestReadCounter(t *testing.T) {
	path := filepath.Join("..", "..", "samples", "ctcp-proxy-stall.pcap")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for _, tc := range []struct {
		name string
		open func(o capfile.Options) (*capfile.Source, error)
		want int64
	}{
		{"file", func(o capfile.Options) (*capfile.Source, error) { return capfile.OpenWith(path, o) }, int64(len(raw))},
		{"read", func(o capfile.Options) (*capfile.Source, error) {
			return capfile.NewWith(bytes.NewReader(raw), "x", o)
		}, int64(len(raw))},
		{"gzip", func(o capfile.Options) (*capfile.Source, error) {
			return capfile.NewWith(bytes.NewReader(gz.Bytes()), "x.gz", o)
		}, int64(gz.Len())},
	} {
		var n atomic.Int64
		src, err := tc.open(capfile.Options{Read: &n})
		if err != nil {
			t.Fatal(err)
		}
		for src.Next() {
		}
		if n.Load() != tc.want || src.Size() != tc.want {
			t.Errorf("%s: counter %d, Size %d; want %d", tc.name, n.Load(), src.Size(), tc.want)
		}
		src.Close()
	}
}
