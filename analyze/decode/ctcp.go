package decode

import "bytes"

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

// FindCTCPTrailer returns the first offset at or after from where a cTCP
// trailer (CTCPTrailerAt) starts in b, with ok set. Two trailers cannot
// overlap: where zeros before a trailer make one seem to start a few
// bytes early (a message body of zeros, as an anonymized copy has), the
// later one is it. Without a trailer, it returns the first offset where
// one may start whose 16 bytes b does not hold (len(b) if there is none):
// a caller reading a stream must wait for the next bytes from there.
func FindCTCPTrailer(b []byte, from int) (int, bool) {
	for i := from; i < len(b); {
		j := bytes.Index(b[i:], zero4[:])
		if j < 0 {
			break
		}
		p := i + j
		if p+CTCPTrailerLen > len(b) {
			return p, false
		}
		if CTCPTrailerAt(b[p:]) {
			for q := p + 1; q < p+CTCPTrailerLen && q+CTCPTrailerLen <= len(b); q++ {
				if b[q] == 0 && CTCPTrailerAt(b[q:]) {
					p = q
				}
			}
			return p, true
		}
		i = p + 1
	}
	// Fewer than 4 bytes left after every later offset: a trailer may
	// start where they are all zero.
	for q := max(from, len(b)-3); q < len(b); q++ {
		if allZero(b[q:min(q+4, len(b))]) {
			return q, false
		}
	}
	return len(b), false
}

// zero4 starts every cTCP trailer.
var zero4 [4]byte

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
