package samplegen

import (
	"encoding/binary"
)

// TrailerMagic1 and TrailerMagic2 are the fixed bytes this package writes
// at offsets 8–12 and 14–15 of every cTCP trailer. Wireshark's tcpencap
// dissector shows them as "Magic number" fields and does not check their
// value; real Cisco endpoints send values whose meaning is not documented.
var (
	TrailerMagic1 = [5]byte{0x21, 0x45, 0x6c, 0x69, 0x6f}
	TrailerMagic2 = [2]byte{0x00, 0x00}
)

// cTCP trailer protocol bytes.
const (
	ctcpISAKMP = 0x11
	ctcpESP    = 0x32
)

// ctcpTrailer appends Cisco's 16-byte cTCP trailer to b.
func ctcpTrailer(b []byte, counter uint16, dir uint16, proto byte) []byte {
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, counter)
	b = binary.BigEndian.AppendUint16(b, dir)
	b = append(b, TrailerMagic1[:]...)
	b = append(b, proto)
	return append(b, TrailerMagic2[:]...)
}

// ISAKMP payload types (RFC 2408, RFC 3947) and exchange types.
const (
	plSA     = 1
	plProp   = 2
	plTrans  = 3
	plKE     = 4
	plID     = 5
	plHash   = 8
	plNonce  = 10
	plNotify = 11
	plVID    = 13
	plNATD   = 20

	exMain   = 2
	exAggr   = 4
	exInfo   = 5
	exTrans  = 6
	exQuick  = 32
	ikeV1    = 0x10
	ikeV2    = 0x20
	flEnc    = 0x01
	ikeV2Ini = 0x08
	ikeV2Rsp = 0x20
)

// Vendor IDs widely published for the legacy Cisco VPN Client and ASA.
var (
	vidXAUTH = []byte{0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12}
	vidDPD   = []byte{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00}
	vidUnity = []byte{0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00}
	vidNATT  = []byte{0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f}
	vidFragm = []byte{0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3, 0x80, 0x00, 0x00, 0x00}
)

// payload is one ISAKMP payload: its type and body (without generic header).
type payload struct {
	typ  byte
	body []byte
}

// chain serialises payloads with generic headers and next-payload links.
func chain(ps []payload) []byte {
	var b []byte
	for i, p := range ps {
		np := byte(0)
		if i+1 < len(ps) {
			np = ps[i+1].typ
		}
		b = append(b, np, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(4+len(p.body)))
		b = append(b, p.body...)
	}
	return b
}

// ikeMsg is an ISAKMP message header plus body.
type ikeMsg struct {
	ispi, rspi [8]byte
	np         byte
	ver        byte
	exch       byte
	flags      byte
	msgid      uint32
}

func (m ikeMsg) bytes(body []byte) []byte {
	b := append([]byte(nil), m.ispi[:]...)
	b = append(b, m.rspi[:]...)
	b = append(b, m.np, m.ver, m.exch, m.flags)
	b = binary.BigEndian.AppendUint32(b, m.msgid)
	b = binary.BigEndian.AppendUint32(b, uint32(28+len(body)))
	return append(b, body...)
}

// plain returns an unencrypted message with payloads ps.
func (m ikeMsg) plain(ps []payload) []byte {
	m.np = ps[0].typ
	m.flags &^= flEnc
	return m.bytes(chain(ps))
}

// encrypted returns an IKEv1 message whose body is n AES blocks of ciphertext.
func (c *capture) ikeEncrypted(m ikeMsg, blocks int) []byte {
	m.np = plHash
	m.flags |= flEnc
	return m.bytes(c.randBytes(16 * blocks))
}

// ikev1SA returns an IKEv1 phase-1 SA payload body with one proposal of
// transforms given as attribute lists (TV format pairs).
func ikev1SA(transforms [][][2]uint16) []byte {
	var ts []byte
	for i, attrs := range transforms {
		np := byte(plTrans)
		if i == len(transforms)-1 {
			np = 0
		}
		var body []byte
		body = append(body, byte(i+1), 1, 0, 0) // transform #, KEY_IKE
		for _, a := range attrs {
			body = binary.BigEndian.AppendUint16(body, 0x8000|a[0])
			body = binary.BigEndian.AppendUint16(body, a[1])
		}
		ts = append(ts, np, 0)
		ts = binary.BigEndian.AppendUint16(ts, uint16(4+len(body)))
		ts = append(ts, body...)
	}
	prop := []byte{0, 0, 0, 0, 1, 1, 0, byte(len(transforms))} // last proposal, #1, PROTO_ISAKMP, SPI size 0
	binary.BigEndian.PutUint16(prop[2:], uint16(8+len(ts)))
	prop = append(prop, ts...)
	sa := []byte{0, 0, 0, 1, 0, 0, 0, 1} // DOI IPsec, situation identity-only
	return append(sa, prop...)
}

// xauthTransform returns phase-1 attributes: AES, keylen, SHA, group, auth, life.
func xauthTransform(keylen, group, auth uint16) [][2]uint16 {
	return [][2]uint16{{1, 7}, {14, keylen}, {2, 2}, {4, group}, {3, auth}, {11, 1}, {12, 28800}}
}

// idPayload returns an ID payload body.
func idPayload(typ byte, data []byte) []byte {
	b := []byte{typ, 17, 0x01, 0xf4}
	return append(b, data...)
}

// esp returns an ESP packet (AES-CBC, HMAC-SHA1-96) carrying an inner
// packet of innerLen bytes: SPI, sequence number, 16-byte IV, block-aligned
// ciphertext (inner packet, padding, pad length, next header) and 12-byte ICV.
func (c *capture) espPacket(spi, seqno uint32, innerLen int) []byte {
	ct := (innerLen + 2 + 15) / 16 * 16
	b := make([]byte, 8, 8+16+ct+12)
	binary.BigEndian.PutUint32(b[0:], spi)
	binary.BigEndian.PutUint32(b[4:], seqno)
	b = b[:8+16+ct+12]
	_, _ = c.src.Read(b[8:])
	return b
}

// sa is one direction of an ESP security association.
type sa struct {
	spi uint32
	seq uint32
}

func (c *capture) espNext(s *sa, innerLen int) []byte {
	s.seq++
	return c.espPacket(s.spi, s.seq, innerLen)
}

// udp500 prefixes an ISAKMP message with the UDP 500->500 header cTCP
// carries (checksum zero).
func udp500(isakmp []byte) []byte {
	return udpHeader(nil, 500, 500, isakmp)
}

// tlsRecord returns a TLS (or DTLS when epoch >= 0) record.
func tlsRecord(typ byte, ver uint16, body []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, ver)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func dtlsRecord(typ byte, ver uint16, epoch uint16, seqno uint64, body []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, ver)
	b = binary.BigEndian.AppendUint16(b, epoch)
	b = append(b, byte(seqno>>40), byte(seqno>>32), byte(seqno>>24), byte(seqno>>16), byte(seqno>>8), byte(seqno))
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// ext appends a TLS extension.
func ext(b []byte, typ uint16, body []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func u16list(vals ...uint16) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func len16(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

func handshakeMsg(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// clientHello returns a TLS 1.2/1.3 ClientHello handshake message with SNI.
func (c *capture) clientHello(sni string) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, c.randBytes(32)...)
	b = append(b, 32)
	b = append(b, c.randBytes(32)...)
	b = append(b, len16(u16list(0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035))...)
	b = append(b, 1, 0)
	var e []byte
	name := append([]byte{0}, len16([]byte(sni))...)
	e = ext(e, 0, len16(name))
	e = ext(e, 23, nil)
	e = ext(e, 65281, []byte{0})
	e = ext(e, 10, len16(u16list(0x001d, 0x0017, 0x0018)))
	e = ext(e, 11, []byte{1, 0})
	e = ext(e, 35, nil)
	e = ext(e, 13, len16(u16list(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)))
	ks := append(u16list(0x001d, 32), c.randBytes(32)...)
	e = ext(e, 51, len16(ks))
	e = ext(e, 45, []byte{1, 1})
	e = ext(e, 43, []byte{4, 0x03, 0x04, 0x03, 0x03})
	b = append(b, len16(e)...)
	return handshakeMsg(1, b)
}

// serverHello returns a TLS 1.3 ServerHello.
func (c *capture) serverHello(sessionID []byte) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, c.randBytes(32)...)
	b = append(b, byte(len(sessionID)))
	b = append(b, sessionID...)
	b = append(b, 0x13, 0x02, 0)
	var e []byte
	e = ext(e, 43, []byte{0x03, 0x04})
	e = ext(e, 51, append(u16list(0x001d, 32), c.randBytes(32)...))
	b = append(b, len16(e)...)
	return handshakeMsg(2, b)
}
