package decode

// CTCPTrailerLen is the length of the trailer Cisco's IPsec over TCP
// (cTCP) appends to every segment.
const CTCPTrailerLen = 16

// IsCTCPTrailer applies Wireshark's tcpencap heuristic to the last 16
// bytes of a fully captured cTCP segment: 4 zero bytes, the low 12 bits of
// bytes 6-7 zero, and a protocol byte of 17 (ISAKMP) or 50 (ESP); the
// segment must be longer than the trailer plus 8 bytes.
func IsCTCPTrailer(b []byte) bool {
	if len(b) <= CTCPTrailerLen+8 {
		return false
	}
	return CTCPTrailerAt(b[len(b)-CTCPTrailerLen:])
}

// CTCPTrailerAt reports whether the 16 bytes at the start of t (which
// must hold them) are a cTCP trailer by Wireshark's rule: 4 zero bytes,
// the low 12 bits of bytes 6-7 zero, and a protocol byte of 17 (ISAKMP)
// or 50 (ESP). The magic bytes are not checked: their values are not
// documented.
func CTCPTrailerAt(t []byte) bool {
	_ = t[CTCPTrailerLen-1]
	return t[0]|t[1]|t[2]|t[3] == 0 && t[6]&0x0f == 0 && t[7] == 0 && (t[13] == 17 || t[13] == 50)
}

// IsIKEinUDP500 reports whether b starts with a UDP header from port 500
// to port 500, the way cTCP carries IKE.
func IsIKEinUDP500(b []byte) bool {
	return len(b) >= 4 && b[0] == 0x01 && b[1] == 0xf4 && b[2] == 0x01 && b[3] == 0xf4
}
