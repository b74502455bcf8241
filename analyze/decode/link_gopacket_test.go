package decode

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// The decoder's Ethernet, 802.1Q, LLC, SNAP and BSD loopback layers
// replaced gopacket/layers' (whose init cost most of the start-up time).
// The tests below decode the same bytes with both, one header at a time,
// gopacket's wrapped as the decoder used them before: the decoder chose
// the next layer itself (etherNext) and turned gopacket's errors into its
// own. Only tests import gopacket/layers; TestProductNeverImportsTestkit
// (internal/testkit) keeps it out of the binary.

// linkStep is what one link layer made of the bytes at the start of b.
type linkStep struct {
	err       error
	payOff    int // offset of the payload in the frame
	payLen    int
	next      gopacket.LayerType
	truncated bool // SetTruncated was called
	hdrOff    int  // the header recorded in the Layout; -1 when none
	hdrLen    int
	hdrKind   HeaderKind
}

// feedback records SetTruncated.
type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// linkKinds are the layers compared, with the Layout kind of their header.
var linkKinds = []struct {
	typ  gopacket.LayerType
	kind HeaderKind
}{
	{layerTypeEthernet, HeaderEthernet},
	{layerTypeDot1Q, HeaderDot1Q},
	{layerTypeLLC, HeaderLLC},
	{layerTypeSNAP, HeaderSNAP},
	{layerTypeLoopback, HeaderLoopback},
}

func isLinkKind(t gopacket.LayerType) bool {
	for _, k := range linkKinds {
		if k.typ == t {
			return true
		}
	}
	return false
}

// ourStep decodes frame[off:] as a layer of type typ with the decoder's
// layer, recording its Layout.
func ourStep(d *Decoder, l *Layout, frame []byte, off int, typ gopacket.LayerType) linkStep {
	b := frame[off:]
	d.frame, d.rec = frame, l
	defer func() { d.frame, d.rec = nil, nil }()
	l.reset()
	var dl gopacket.DecodingLayer
	switch typ {
	case layerTypeEthernet:
		dl = &d.eth
	case layerTypeDot1Q:
		dl = &d.dot1q
	case layerTypeLLC:
		dl = &d.llc
	case layerTypeSNAP:
		dl = &d.snap
	case layerTypeLoopback:
		dl = &d.loop
	default:
		panic(typ)
	}
	var fb feedback
	s := linkStep{hdrOff: -1}
	s.err = dl.DecodeFromBytes(b, &fb)
	s.truncated = fb.truncated
	if hs := l.Headers(); len(hs) > 0 {
		h := hs[len(hs)-1]
		s.hdrOff, s.hdrLen, s.hdrKind = h.Off, h.Len, h.Kind
	}
	if s.err == nil {
		p := dl.LayerPayload()
		s.payOff, s.payLen = cap(frame)-cap(p), len(p)
		s.next = dl.NextLayerType()
	}
	return s
}

// refStep decodes frame[off:] with gopacket/layers' layer. The header it
// expects in the Layout is the layer's Contents; on an error, the MACs of
// an Ethernet header cut short and the 4 bytes of a loopback header with
// a bad family, as the decoder recorded them with gopacket's layers.
func refStep(frame []byte, off int, typ gopacket.LayerType) linkStep {
	b := frame[off:]
	var fb feedback
	s := linkStep{hdrOff: -1}
	var dl gopacket.DecodingLayer
	var contents func() []byte
	switch typ {
	case layerTypeEthernet:
		var e layers.Ethernet
		dl, contents = &e, e.LayerContents
		s.err = e.DecodeFromBytes(b, &fb)
		if s.err != nil {
			s.err = errShortEthernet
			if len(b) > 0 { // the MACs, as far as captured
				s.hdrOff, s.hdrLen, s.hdrKind = off, min(12, len(b)), HeaderEthernet
			}
		} else if e.EthernetType == layers.EthernetTypeLLC {
			s.next = layerTypeLLC
		} else {
			s.next = etherNext(uint16(e.EthernetType))
		}
	case layerTypeDot1Q:
		var q layers.Dot1Q
		dl, contents = &q, q.LayerContents
		s.err = q.DecodeFromBytes(b, &fb)
		if s.err != nil {
			s.err = errShortDot1Q
		} else if q.Type < 0x0600 {
			s.next = layerTypeLLC
		} else {
			s.next = etherNext(uint16(q.Type))
		}
	case layerTypeLLC:
		var c layers.LLC
		dl, contents = &c, c.LayerContents
		s.err = c.DecodeFromBytes(b, &fb)
		if s.err != nil {
			s.err = errShortLLC
		} else if c.NextLayerType() == layers.LayerTypeSNAP {
			s.next = layerTypeSNAP
		} else if c.NextLayerType() == layers.LayerTypeSTP {
			s.next = layerTypeSTP // not decoded, as before
		}
	case layerTypeSNAP:
		var n layers.SNAP
		dl, contents = &n, n.LayerContents
		s.err = n.DecodeFromBytes(b, &fb)
		if s.err != nil {
			s.err = errShortSNAP
		} else {
			s.next = etherNext(uint16(n.Type))
		}
	case layerTypeLoopback:
		var lo layers.Loopback
		dl, contents = &lo, lo.LayerContents
		s.err = lo.DecodeFromBytes(b, &fb)
		switch {
		case len(b) < 4:
			s.err = errShortLoopback
		case s.err != nil:
			s.err = errBadLoopback
			s.hdrOff, s.hdrLen, s.hdrKind = off, 4, HeaderLoopback
		case lo.Family == 2:
			s.next = layerTypeIPv4
		case lo.Family == 10 || lo.Family == 24 || lo.Family == 28 || lo.Family == 30:
			s.next = layerTypeIPv6
		}
	default:
		panic(typ)
	}
	s.truncated = fb.truncated
	if s.err == nil {
		for _, k := range linkKinds {
			if k.typ == typ {
				s.hdrOff, s.hdrLen, s.hdrKind = off, len(contents()), k.kind
			}
		}
		p := dl.LayerPayload()
		s.payOff, s.payLen = cap(frame)-cap(p), len(p)
	}
	return s
}

// diffLinks decodes the link headers of frame from offset off on, first
// as a layer of type typ, with both implementations, as long as they
// agree and the next layer is one of the compared ones. It returns the
// first difference ("" when none) and the number of headers compared.
func diffLinks(d *Decoder, l *Layout, frame []byte, off int, typ gopacket.LayerType) (string, int) {
	n := 0
	for {
		ours, ref := ourStep(d, l, frame, off, typ), refStep(frame, off, typ)
		n++
		if ours != ref {
			return fmt.Sprintf("%s at %d of % x:\n ours     %+v\n gopacket %+v", typ, off, frame, ours, ref), n
		}
		if ours.err != nil || ours.payLen == 0 || !isLinkKind(ours.next) {
			return "", n
		}
		off, typ = ours.payOff, ours.next
	}
}

// linkFrames are generated frames for the link layers: VLAN tags, 802.3
// length frames with LLC (the three control formats, STP) and SNAP,
// lengths that cut or exceed the payload, and loopback families in both
// byte orders, valid and not.
func linkFrames() []frameCase {
	ip4 := ipv4(ProtoTCP, -1, 0, tcpData())
	snap := func(oui []byte, t uint16, payload []byte) []byte { return cat(oui, be16(t), payload) }
	llcSNAP := cat([]byte{0xaa, 0xaa, 0x03}, snap([]byte{0, 0, 0}, 0x0800, ip4))
	length := func(n int, payload []byte) []byte { return eth(uint16(n), payload) }
	var out []frameCase
	add := func(name string, lt uint16, frame []byte) {
		out = append(out, frameCase{name: name, linkType: lt, frame: frame})
	}
	add("ipv4", LinkEthernet, eth(0x0800, ip4))
	add("vlan", LinkEthernet, eth(0x8100, tag(5, 0x0800, ip4)))
	add("qinq-88a8", LinkEthernet, eth(0x88a8, tag(100, 0x8100, tag(5, 0x86dd, ipv6(ProtoTCP, -1, tcpData())))))
	add("qinq-9100", LinkEthernet, eth(0x9100, tag(100, 0x8100, tag(5, 0x0800, ip4))))
	add("vlan-arp", LinkEthernet, eth(0x8100, tag(5, 0x0806, make([]byte, 28))))
	add("vlan-length-llc-snap", LinkEthernet, eth(0x8100, tag(5, uint16(len(llcSNAP)), llcSNAP)))
	add("vlan-length-0", LinkEthernet, eth(0x8100, tag(5, 0, llcSNAP)))
	add("vlan-pppoe", LinkEthernet, eth(0x8100, tag(5, 0x8864, cat([]byte{0x11, 0, 0, 1}, be16(uint16(len(ip4)+2)), be16(0x0021), ip4))))
	add("vlan-mpls", LinkEthernet, eth(0x8100, tag(5, 0x8847, cat([]byte{0, 0, 0x11, 64}, ip4))))
	add("vlan-unknown", LinkEthernet, eth(0x8100, tag(5, 0x88cc, make([]byte, 20))))
	add("llc-snap", LinkEthernet, length(len(llcSNAP), llcSNAP))
	add("llc-snap-padded", LinkEthernet, length(len(llcSNAP), cat(llcSNAP, make([]byte, 9))))
	add("llc-snap-length-short", LinkEthernet, length(20, llcSNAP))
	add("llc-snap-length-long", LinkEthernet, length(len(llcSNAP)+50, llcSNAP))
	add("llc-snap-cisco-oui", LinkEthernet, length(0, cat([]byte{0xaa, 0xaa, 0x03}, snap([]byte{0, 0, 0x0c}, 0x2000, make([]byte, 30)))))
	add("llc-snap-vlan", LinkEthernet, length(0x05ff, cat([]byte{0xaa, 0xaa, 0x03}, snap([]byte{0, 0, 0}, 0x8100, tag(7, 0x0800, ip4)))))
	add("llc-snap-group-bits", LinkEthernet, length(0, cat([]byte{0xab, 0xab, 0x03}, snap([]byte{0, 0, 0}, 0x0800, ip4))))
	add("llc-stp", LinkEthernet, length(38, cat([]byte{0x42, 0x42, 0x03}, make([]byte, 35))))
	add("llc-i-format", LinkEthernet, length(10, cat([]byte{0xaa, 0xaa, 0x00, 0x05}, make([]byte, 6))))
	add("llc-s-format", LinkEthernet, length(10, cat([]byte{0xf0, 0xf0, 0x01, 0x05}, make([]byte, 6))))
	add("llc-netbios-u", LinkEthernet, length(10, cat([]byte{0xf0, 0xf0, 0x03}, make([]byte, 7))))
	add("length-0-empty", LinkEthernet, length(0, nil))
	add("type-0600", LinkEthernet, eth(0x0600, make([]byte, 10)))
	add("type-05ff", LinkEthernet, eth(0x05ff, make([]byte, 10)))
	for _, lt := range []uint16{LinkNull, LinkLoop} {
		for _, fam := range []uint32{2, 10, 24, 28, 30, 0, 7, 255, 256, 0x1000000, 0x02000000, 0xffffffff} {
			add(fmt.Sprintf("loopback-be-%d-%d", lt, fam), lt, cat(be32(fam), ip4))
			add(fmt.Sprintf("loopback-le-%d-%d", lt, fam), lt, cat(le32(fam), ip4))
		}
		add(fmt.Sprintf("loopback-00-01-%d", lt), lt, cat([]byte{0, 1, 0, 0}, ip4))
	}
	return out
}

func linkStart(lt uint16) (gopacket.LayerType, bool) {
	switch lt {
	case LinkEthernet:
		return layerTypeEthernet, true
	case LinkNull, LinkLoop:
		return layerTypeLoopback, true
	}
	return 0, false
}

// TestLinkLayersAgainstGopacket decodes the link headers with the
// decoder's layers and with gopacket/layers' and compares payload, next
// layer, error, truncation flag and the recorded header: on generated
// frames cut at every byte and with each byte changed, on random bytes as
// each layer, on the committed samples and on every frame of the public
// captures (there also the link headers the decoder finds inside tunnels,
// after 802.11 and Linux cooked headers).
func TestLinkLayersAgainstGopacket(t *testing.T) {
	d := NewDecoder()
	var l Layout
	check := func(name string, frame []byte, off int, typ gopacket.LayerType) int {
		t.Helper()
		diff, n := diffLinks(d, &l, frame, off, typ)
		if diff != "" {
			t.Fatalf("%s: %s", name, diff)
		}
		return n
	}
	for _, tc := range append(linkFrames(), frameCases()...) {
		first, ok := linkStart(tc.linkType)
		if !ok {
			continue
		}
		for cut := 0; cut <= len(tc.frame); cut++ {
			check(fmt.Sprintf("%s cut at %d", tc.name, cut), tc.frame[:cut:cut], 0, first)
		}
		for i := range min(len(tc.frame), 40) {
			for _, v := range []byte{0x00, 0x05, 0x06, 0x42, 0xaa, 0xab, 0xff} {
				f := append([]byte(nil), tc.frame...)
				f[i] = v
				check(fmt.Sprintf("%s with byte %d = %#x", tc.name, i, v), f, 0, first)
			}
		}
	}
	rng := rand.New(rand.NewPCG(14, 4))
	for i := range 20000 {
		f := make([]byte, rng.IntN(24))
		for j := range f {
			f[j] = byte(rng.Uint32())
			if rng.IntN(3) == 0 { // bytes the layers look at
				f[j] = []byte{0, 0x06, 0x81, 0xaa, 0x42, 0x03, 0x02}[rng.IntN(7)]
			}
		}
		for _, k := range linkKinds {
			check(fmt.Sprintf("random frame %d", i), f, 0, k.typ)
		}
	}

	captures := func(t *testing.T, paths []string) {
		var p Packet
		headers := 0
		for _, path := range paths {
			frames, _ := readCapture(path)
			for _, fr := range frames {
				name := fmt.Sprintf("%s frame %d", filepath.Base(path), fr.num)
				if first, ok := linkStart(fr.linkType); ok {
					headers += check(name, fr.data, 0, first)
				}
				// Every link header the decoder reads, wherever it is.
				p = Packet{OrigLen: fr.origLen}
				_ = d.DecodeLayout(fr.data, fr.linkType, &p, &l)
				var at [][2]int
				for _, h := range l.Headers() {
					for _, k := range linkKinds {
						if k.kind == h.Kind {
							at = append(at, [2]int{h.Off, int(k.typ)})
						}
					}
				}
				for _, a := range at {
					headers += check(name, fr.data, a[0], gopacket.LayerType(a[1]))
				}
			}
		}
		t.Logf("%d link headers compared in %d captures", headers, len(paths))
	}
	t.Run("samples", func(t *testing.T) { captures(t, testcaps.Samples(t)) })
	t.Run("public", func(t *testing.T) {
		var paths []string
		for _, row := range testcaps.Manifest(t) {
			paths = append(paths, row.Path)
		}
		captures(t, paths)
	})
}

// FuzzLinkLayers compares the decoder's link layers with gopacket/layers'
// on any bytes, as any of them.
func FuzzLinkLayers(f *testing.F) {
	for _, tc := range linkFrames() {
		f.Add(tc.frame, uint8(0))
	}
	f.Add([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, uint8(2))
	f.Add([]byte{0, 0, 0, 2, 0x45}, uint8(4))
	d := NewDecoder()
	var l Layout
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		typ := linkKinds[int(kind)%len(linkKinds)].typ
		if diff, _ := diffLinks(d, &l, data, 0, typ); diff != "" {
			t.Fatal(diff)
		}
	})
}
