package capfile_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// Records with no captured byte (caplen 0) are frames like any other, in
// pcap and in pcapng (EPB, SPB and obsolete PB); tshark 4.0.17 lists them.
func TestZeroLengthRecords(t *testing.T) {
	file := pcapFile(pcapOpts{snaplen: 65535, network: 1},
		rec{sec: 1, data: payload(20, 0)}, rec{sec: 2, data: nil, origLen: 60}, rec{sec: 3, data: nil}, rec{sec: 4, data: payload(21, 0)})
	got, src := readAll(t, file)
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	want := []capfile.FrameInfo{
		{Frame: 1, Time: 1 * ns, CapLen: 20, OrigLen: 20, LinkType: 1},
		{Frame: 2, Time: 2 * ns, CapLen: 0, OrigLen: 60, LinkType: 1},
		{Frame: 3, Time: 3 * ns, CapLen: 0, OrigLen: 0, LinkType: 1},
		{Frame: 4, Time: 4 * ns, CapLen: 21, OrigLen: 21, LinkType: 1},
	}
	if diff := cmp.Diff(want, infos(got)); diff != "" {
		t.Errorf("pcap (-want +got):\n%s", diff)
	}

	n := newNG(false).shb(false).idb(1, 0)
	n.epb(0, 1e6, nil).spb(0, nil).pb(0, 2e6, nil).epb(0, 3e6, payload(5, 0))
	got, src = readAll(t, n.bytes())
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	want = []capfile.FrameInfo{
		{Frame: 1, Time: 1 * ns, CapLen: 0, OrigLen: 0, LinkType: 1},
		{Frame: 2, Time: 0, CapLen: 0, OrigLen: 0, LinkType: 1},
		{Frame: 3, Time: 2 * ns, CapLen: 0, OrigLen: 0, LinkType: 1},
		{Frame: 4, Time: 3 * ns, CapLen: 5, OrigLen: 5, LinkType: 1},
	}
	if diff := cmp.Diff(want, infos(got)); diff != "" {
		t.Errorf("pcapng (-want +got):\n%s", diff)
	}
}
