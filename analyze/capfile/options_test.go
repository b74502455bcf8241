package capfile_test

import (
	"bytes"
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
