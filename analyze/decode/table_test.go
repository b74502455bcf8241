package decode

import (
	"testing"

	"github.com/google/gopacket"
)

// TestTables checks the tables against the walk: every link type with a
// first layer has a parser, and the EtherTypes and IP protocols the walk
// follows or skips are those the tables name.
func TestTables(t *testing.T) {
	d := NewDecoder()
	d.p = &Packet{}
	for _, e := range linkTable {
		first, dir := linkFirst(e.lt)
		if first != e.first || dir != e.dir {
			t.Errorf("link type %d: linkFirst %v %v, table %v %v", e.lt, first, dir, e.first, e.dir)
		}
		if (e.first != gopacket.LayerTypeZero) != (d.parsers[e.first] != nil) {
			t.Errorf("link type %d (%s): first layer %v, parser %v", e.lt, e.name, e.first, d.parsers[e.first] != nil)
		}
		if LinkName(e.lt) != e.name {
			t.Errorf("LinkName(%d) = %q, want %q", e.lt, LinkName(e.lt), e.name)
		}
	}
	// The EtherTypes etherNext and greNext follow are those named in
	// etherTable (and the Aruba range).
	for i := range 1 << 16 {
		et := uint16(i)
		followed := etherNext(et) != gopacket.LayerTypeZero || greNext(et, false) != gopacket.LayerTypeZero || greNext(et, true) != gopacket.LayerTypeZero
		if followed != (EtherTypeName(et) != "") {
			t.Errorf("EtherType %#04x: followed %v, name %q", et, followed, EtherTypeName(et))
		}
	}
	if EtherTypeName(0x8212) != "Aruba WLAN" || greNext(0x8212, false) == gopacket.LayerTypeZero {
		t.Error("Aruba WLAN GRE protocol types not followed")
	}
	// The IP protocols protoNext follows (outside an ICMP error and a
	// fragment) or isExtension skips are those named in protoTable, with
	// no next header.
	for i := range 256 {
		p := uint8(i)
		known := d.protoNext(p) != gopacket.LayerTypeZero || isExtension(p) || p == ProtoNoNext
		if known != (ProtoName(p) != "") {
			t.Errorf("IP protocol %d: followed or skipped %v, name %q", p, known, ProtoName(p))
		}
	}
	if ProtoName(200) != "" || LinkName(147) != "" || EtherTypeName(0x1234) != "" {
		t.Error("names for unknown numbers")
	}
}
