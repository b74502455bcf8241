package lab

import (
	"encoding/binary"
	"math/rand/v2"
)

// cTCP trailer protocol bytes (Cisco's trailer names the protocol of the
// packet it follows).
const (
	protoISAKMP = 0x11
	protoESP    = 0x32
)

// Trailer magic bytes, as the sample generator writes them.
var (
	magic1 = [5]byte{0x21, 0x45, 0x6c, 0x69, 0x6f}
	magic2 = [2]byte{0x00, 0x00}
)

// SPIs of the lab's ESP security associations.
const (
	ClientSPI = 0xc7c9a001 // client -> headend
	ServerSPI = 0x4e5d0b02 // headend -> client
)

// Framer builds the cTCP payloads one side sends: each is one IKE message
// (in UDP 500 -> 500) or one ESP packet, followed by the 16-byte trailer.
// The zero value is not usable; use NewFramer.
type Framer struct {
	fromClient bool
	spi        uint32
	espSeq     uint32
	counter    uint16
	rng        *rand.Rand
}

// NewFramer returns a Framer for the client (fromClient) or the headend
// side, with a deterministic filler for the encrypted bytes.
func NewFramer(fromClient bool) *Framer {
	spi := uint32(ServerSPI)
	if fromClient {
		spi = ClientSPI
	}
	return &Framer{fromClient: fromClient, spi: spi, rng: rand.New(rand.NewPCG(uint64(spi), 7))}
}

// IKE returns one IKEv1 aggressive-mode message of about n bytes in
// UDP 500 -> 500, with its trailer.
func (f *Framer) IKE(n int) []byte {
	m := f.ikeMessage(n)
	b := make([]byte, 8, 8+len(m)+16)
	binary.BigEndian.PutUint16(b[0:], 500)
	binary.BigEndian.PutUint16(b[2:], 500)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(m)))
	b = append(b, m...)
	dir := uint16(0x0000)
	if f.fromClient {
		dir = 0x4000
	}
	return f.trailer(b, dir, protoISAKMP)
}

// ESP returns the next ESP packet (AES-CBC shape: SPI, sequence number,
// 16-byte IV, ct bytes of ciphertext rounded up to 16, 12-byte ICV) with
// its trailer, and the ESP sequence number it carries.
func (f *Framer) ESP(ct int) ([]byte, uint32) {
	ct = (ct + 15) / 16 * 16
	f.espSeq++
	b := make([]byte, 8+16+ct+12)
	binary.BigEndian.PutUint32(b[0:], f.spi)
	binary.BigEndian.PutUint32(b[4:], f.espSeq)
	f.fill(b[8:])
	return f.trailer(b, 0, protoESP), f.espSeq
}

func (f *Framer) fill(b []byte) {
	for i := range b {
		b[i] = byte(f.rng.Uint32())
	}
}

// trailer appends Cisco's trailer: 4 zero bytes, the per-direction
// counter, the IKE direction (0 for ESP), 5 magic bytes, the protocol and
// 2 magic bytes.
func (f *Framer) trailer(b []byte, dir uint16, proto byte) []byte {
	f.counter++
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, f.counter)
	b = binary.BigEndian.AppendUint16(b, dir)
	b = append(b, magic1[:]...)
	b = append(b, proto)
	return append(b, magic2[:]...)
}

// ikeMessage returns an IKEv1 aggressive-mode message of n bytes (at least
// 28): the ISAKMP header and filler, without UDP header or trailer.
func (f *Framer) ikeMessage(n int) []byte {
	if n < 28 {
		n = 28
	}
	m := make([]byte, n)
	binary.BigEndian.PutUint64(m[0:], 0x1122334455667788) // initiator cookie
	if !f.fromClient || f.counter > 0 {
		binary.BigEndian.PutUint64(m[8:], 0x99aabbccddeeff00) // responder cookie
	}
	m[16] = 1    // next payload: SA
	m[17] = 0x10 // version 1.0
	m[18] = 4    // aggressive mode
	binary.BigEndian.PutUint32(m[24:], uint32(n))
	f.fill(m[28:])
	return m
}

// UDPIKE returns the payload of one IKE message of about n bytes as a
// client sends it on UDP 500 (natt false) or on UDP 4500 (natt: after the
// 4-byte non-ESP marker). It advances no trailer counter.
func (f *Framer) UDPIKE(n int, natt bool) []byte {
	m := f.ikeMessage(n)
	if natt {
		return append([]byte{0, 0, 0, 0}, m...)
	}
	return m
}

// Message is one cTCP message found in a byte stream.
type Message struct {
	// Proto is the trailer's protocol byte (protoISAKMP or protoESP).
	Proto byte
	// SPI and Seq are the ESP header's, for ESP messages.
	SPI, Seq uint32
	// Offset is where the message starts in the stream chunk.
	Offset int
}

// ESP reports whether m is an ESP message.
func (m Message) ESP() bool { return m.Proto == protoESP }

// isTrailer reports whether b (16 bytes) is a Cisco cTCP trailer.
func isTrailer(b []byte) bool {
	return b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 &&
		[5]byte(b[8:13]) == magic1 && (b[13] == protoESP || b[13] == protoISAKMP) &&
		[2]byte(b[14:16]) == magic2
}

// ParseMessages finds the cTCP messages in chunk, a contiguous piece of a
// cTCP byte stream that starts at a message boundary: each message ends
// with the 16-byte trailer, wherever the TCP segments that carried it
// began or ended. Bytes after the last trailer (a message cut off by the
// end of the chunk) are left out.
func ParseMessages(chunk []byte) []Message {
	var out []Message
	start := 0
	for i := start + 16; i <= len(chunk); i++ {
		if !isTrailer(chunk[i-16 : i]) {
			continue
		}
		m := Message{Proto: chunk[i-3], Offset: start}
		if body := chunk[start : i-16]; m.Proto == protoESP && len(body) >= 8 {
			m.SPI = binary.BigEndian.Uint32(body[0:])
			m.Seq = binary.BigEndian.Uint32(body[4:])
		}
		out = append(out, m)
		start = i
		i = start + 15
	}
	return out
}
