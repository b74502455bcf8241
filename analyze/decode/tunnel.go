package decode

import (
	"encoding/binary"

	"github.com/google/gopacket"
)

// greLayer decodes a GRE header, version 0 (RFC 2784/2890: checksum, key,
// sequence number, and the obsolete RFC 1701 routing entries) and version
// 1 (PPTP enhanced GRE with acknowledgment number). gopacket's GRE reads
// the optional fields without checking the length.
type greLayer struct{ base }

func (l *greLayer) CanDecode() gopacket.LayerClass { return layerTypeGRE }

func (l *greLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	if len(b) < 4 {
		return l.short(b)
	}
	flags, ver := b[0], b[1]&7
	proto := binary.BigEndian.Uint16(b[2:4])
	n := 4
	if flags&0xc0 != 0 { // checksum or routing present: checksum + offset
		n += 4
	}
	if flags&0x20 != 0 { // key
		n += 4
	}
	seq := flags&0x10 != 0
	if seq {
		n += 4
	}
	if ver == 1 && b[1]&0x80 != 0 { // PPTP acknowledgment number
		n += 4
	}
	if len(b) < n {
		return l.short(b)
	}
	if flags&0x40 != 0 && ver == 0 { // routing: SREs up to a null entry
		for {
			if len(b) < n+4 {
				return l.short(b)
			}
			af, sreLen := binary.BigEndian.Uint16(b[n:]), int(b[n+3])
			n += 4 + sreLen
			if len(b) < n {
				return l.short(b)
			}
			if af == 0 && sreLen == 0 {
				break
			}
		}
	}
	d.hdr(HeaderGRE, b, 0, n)
	if flags&0x80 != 0 {
		d.sum(ChecksumGRE, b, 4, 0, len(b))
	}
	l.set(b[n:], greNext(proto, seq))
	return nil
}

// short records b, a GRE header cut short.
func (l *greLayer) short(b []byte) error {
	l.d.hdr(HeaderGRE, b, 0, len(b))
	return errShortGRE
}

// erspan2Layer decodes the 8-byte ERSPAN type II header; Ethernet follows.
// gopacket's ERSPANII does not check the length.
type erspan2Layer struct{ base }

func (l *erspan2Layer) CanDecode() gopacket.LayerClass { return layerTypeERSPANII }

func (l *erspan2Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 8 {
		return errShortERSPAN
	}
	l.d.hdr(HeaderERSPAN, b, 0, 8)
	l.set(b[8:], layerTypeEthernet)
	return nil
}

// erspan3Layer decodes the 12-byte ERSPAN type III header and its optional
// 8-byte platform-specific subheader (O flag); Ethernet follows.
type erspan3Layer struct{ base }

func (l *erspan3Layer) CanDecode() gopacket.LayerClass { return layerTypeERSPAN3 }

func (l *erspan3Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 12 {
		return errShortERSPAN
	}
	n := 12
	if b[11]&1 != 0 {
		n += 8
	}
	l.d.hdr(HeaderERSPAN, b, 0, n)
	if len(b) < n {
		return errShortERSPAN
	}
	next := layerTypeEthernet
	if b[11]&0x3e != 0 { // frame type other than Ethernet
		next = gopacket.LayerTypeZero
	}
	l.set(b[n:], next)
	return nil
}

// dot11Layer decodes an IEEE 802.11 data frame without FCS (Aruba GRE,
// LINKTYPE_IEEE802_11): the MAC header, whose length depends on the DS
// bits, QoS and HT control; LLC follows. Management, control, protected
// (encrypted), null-data and A-MSDU frames carry no IP we can reach.
type dot11Layer struct{ base }

func (l *dot11Layer) CanDecode() gopacket.LayerClass { return layerTypeDot11 }

func (l *dot11Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 2 {
		return errShortDot11
	}
	fc0, fc1 := b[0], b[1]
	typ, subtype := (fc0>>2)&3, fc0>>4
	a4 := fc1&3 == 3 // ToDS and FromDS: fourth address
	if l.d.rec != nil {
		l.d.recDot11(b, typ, subtype, a4)
	}
	if fc0&3 != 0 || typ != 2 || fc1&0x40 != 0 || subtype&4 != 0 {
		l.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	h := 24 + 6*boolInt(a4) // the MAC header up to the addresses
	n := h
	if subtype&8 != 0 { // QoS data
		n += 2
		if fc1&0x80 != 0 { // +HTC/order: HT control field
			n += 4
		}
	}
	if len(b) < n {
		return errShortDot11
	}
	l.d.hdr(HeaderDot11QoS, b, h, n-h)
	if subtype&8 != 0 && b[n-2-boolInt(fc1&0x80 != 0)*4]&0x80 != 0 {
		// A-MSDU: subframes, not decoded.
		l.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	l.set(b[n:], layerTypeLLC)
	return nil
}

// recDot11 records the MAC header of an 802.11 frame of any type (IEEE
// 802.11-2020 9.3): frame control and duration, the addresses the type
// has, and the sequence control of management and data frames.
func (d *Decoder) recDot11(b []byte, typ, subtype uint8, a4 bool) {
	n, macs := 4, 0
	switch typ {
	case 0: // management
		n, macs = 24, 3
	case 1: // control: receiver, and transmitter for some subtypes
		n, macs = 10, 1
		switch subtype {
		case 8, 9, 10, 11, 14, 15:
			n, macs = 16, 2
		}
	case 2: // data
		n, macs = 24, 3
		if a4 {
			n, macs = 30, 4
		}
	}
	d.hdr(HeaderDot11, b, 0, n)
	for i := range macs {
		if i < 3 {
			d.fld(FieldMAC, b, 4+6*i)
		} else {
			d.fld(FieldMAC, b, 24) // after the sequence control
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gtpuLayer decodes a GTPv1-U header (UDP port 2152): a G-PDU carries an
// IP packet after the 8-byte header, the optional sequence number, N-PDU
// number and next-extension-type fields, and any extension headers.
// Other messages (echo, error indication...) end decoding.
type gtpuLayer struct{ base }

func (l *gtpuLayer) CanDecode() gopacket.LayerClass { return layerTypeGTPv1U }

func (l *gtpuLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	l.set(nil, gopacket.LayerTypeZero)
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xff {
		return nil // not GTPv1 G-PDU: leave the frame as UDP
	}
	n := 8
	if b[0]&0x07 != 0 {
		n += 4
		if len(b) < n {
			return l.short(b, len(b))
		}
		next := b[n-1]
		for b[0]&0x04 != 0 && next != 0 {
			if len(b) < n+1 {
				return l.short(b, len(b))
			}
			extLen := int(b[n]) * 4
			if extLen == 0 {
				return l.short(b, n+1)
			}
			if len(b) < n+extLen {
				return l.short(b, len(b))
			}
			next = b[n+extLen-1]
			n += extLen
		}
	}
	l.d.hdr(HeaderGTPU, b, 0, n)
	payload := b[n:]
	l.set(payload, l.d.ipNext(payload))
	return nil
}

// short records the n bytes of a GTP-U header read before it was found
// cut short or bad.
func (l *gtpuLayer) short(b []byte, n int) error {
	l.d.hdr(HeaderGTPU, b, 0, n)
	return errShortGTP
}

// vxlanLayer decodes a VXLAN header (UDP port 4789, 8 bytes); Ethernet
// follows.
type vxlanLayer struct{ base }

func (l *vxlanLayer) CanDecode() gopacket.LayerClass { return layerTypeVXLAN }

func (l *vxlanLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 8 {
		return errShortVXLAN
	}
	l.d.hdr(HeaderVXLAN, b, 0, 8)
	l.set(b[8:], layerTypeEthernet)
	return nil
}
