package decode

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The link layers decode used to embed gopacket/layers' Ethernet, Dot1Q,
// LLC, SNAP and Loopback; it has its own now (the binary does not link
// that package: its initialization cost 20 ms a run). These tests hold
// ours to gopacket's on the same bytes: the same success or failure, the
// same payload, and the same next layer wherever gopacket's choice was
// kept (ours differs, on purpose, for EtherTypes gopacket does not map).

// sameNext reports whether our next layer type names gopacket's.
func sameNext(ours, theirs gopacket.LayerType) bool {
	if theirs == gopacket.LayerTypeZero || ours == gopacket.LayerTypeZero {
		return ours == theirs
	}
	return ours.String() == theirs.String()
}

// checkLinkLayers decodes b with each of our link layers and gopacket's.
func checkLinkLayers(t *testing.T, d *Decoder, b []byte) {
	t.Helper()
	type pair struct {
		name   string
		ours   gopacket.DecodingLayer
		theirs gopacket.DecodingLayer
		// next: compare the next layer types (false where our choice
		// differs from gopacket's on purpose: etherNext).
		next bool
	}
	var eth layers.Ethernet
	var q layers.Dot1Q
	var snap layers.SNAP
	var llc layers.LLC
	var loop layers.Loopback
	// The EtherTypes both map alike (below 0x0600, a length, gopacket
	// follows with LLC only after Ethernet; ours after 802.1Q too).
	ether := func(typ uint16) bool { return typ == 0x0800 || typ == 0x86dd || typ == 0x0806 || typ == 0x8100 }
	for _, p := range []pair{
		{"Ethernet", &d.eth, &eth, len(b) >= 14 && ether(uint16(b[12])<<8|uint16(b[13]))},
		{"Dot1Q", &d.dot1q, &q, len(b) >= 4 && ether(uint16(b[2])<<8|uint16(b[3]))},
		{"SNAP", &d.snap, &snap, len(b) >= 5 && ether(uint16(b[3])<<8|uint16(b[4]))},
		{"LLC", &d.llc, &llc, true},
		{"Loopback", &d.loop, &loop, true},
	} {
		errO := p.ours.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
		errT := p.theirs.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
		if (errO == nil) != (errT == nil) {
			t.Fatalf("%s of % x: error %v, gopacket's %v", p.name, b, errO, errT)
		}
		if errO != nil {
			continue
		}
		if !bytes.Equal(p.ours.LayerPayload(), p.theirs.LayerPayload()) {
			t.Fatalf("%s of % x: payload % x, gopacket's % x", p.name, b, p.ours.LayerPayload(), p.theirs.LayerPayload())
		}
		if p.name == "Ethernet" && eth.EthernetType == layers.EthernetTypeLLC {
			if p.ours.NextLayerType() != layerTypeLLC {
				t.Fatalf("Ethernet of % x: next %v, want LLC", b, p.ours.NextLayerType())
			}
			continue
		}
		if p.next && !sameNext(p.ours.NextLayerType(), p.theirs.NextLayerType()) {
			t.Fatalf("%s of % x: next %v, gopacket's %v", p.name, b, p.ours.NextLayerType(), p.theirs.NextLayerType())
		}
	}
	// Our loopback chooses IPv4 or IPv6 by address family; gopacket's
	// ProtocolFamily does too, for the families it knows.
	if d.loop.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil && loop.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil {
		switch loop.Family {
		case layers.ProtocolFamilyIPv4, layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin, layers.ProtocolFamilyIPv6Linux:
			if !sameNext(d.loop.NextLayerType(), loop.NextLayerType()) {
				t.Fatalf("Loopback of % x: next %v, gopacket's %v", b, d.loop.NextLayerType(), loop.NextLayerType())
			}
		}
	}
}

// linkSeeds are headers of each kind, whole and cut.
func linkSeeds() [][]byte {
	eth := func(typ uint16, payload int) []byte {
		b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, byte(typ >> 8), byte(typ)}
		for i := range payload {
			b = append(b, byte(i))
		}
		return b
	}
	seeds := [][]byte{
		eth(0x0800, 20), eth(0x86dd, 40), eth(0x8100, 8), eth(0x0806, 28), eth(0x88a8, 8),
		eth(0x0026, 60), eth(0x0010, 4), eth(0x0000, 0), eth(0x05ff, 3),
		{0x20, 0x05, 0x08, 0x00, 0x45}, {0x00, 0x0a, 0x00, 0x30}, // 802.1Q, a length inside
		{0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x45}, // LLC and SNAP, IPv4
		{0x42, 0x42, 0x03, 0x00}, {0xfe, 0xfe, 0x00, 0x01}, {0xaa, 0xab, 0x01},
		{2, 0, 0, 0, 0x45}, {0, 0, 0, 2, 0x45}, {30, 0, 0, 0}, {0, 0, 0, 24}, {1, 1, 0, 0}, {7, 0},
	}
	for _, s := range seeds[:len(seeds):len(seeds)] {
		for n := range len(s) {
			seeds = append(seeds, s[:n])
		}
	}
	return seeds
}

func TestLinkLayersAsGopacket(t *testing.T) {
	d := NewDecoder()
	seeds := linkSeeds()
	for _, b := range seeds {
		checkLinkLayers(t, d, b)
	}
	r := rand.New(rand.NewSource(1))
	for range 200_000 {
		b := make([]byte, r.Intn(24))
		r.Read(b)
		if len(b) > 0 && r.Intn(2) == 0 {
			b[0] &= 0x03 // small loopback families, short lengths
		}
		if len(b) >= 14 && r.Intn(2) == 0 {
			b[12] &= 0x07 // 802.3 lengths around the payload's
		}
		checkLinkLayers(t, d, b)
	}
}

func FuzzLinkLayers(f *testing.F) {
	for _, b := range linkSeeds() {
		f.Add(b)
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, b []byte) { checkLinkLayers(t, d, b) })
}
