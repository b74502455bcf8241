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
	if n < 28 {
		n = 28
	}
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint16(b[0:], 500)
	binary.BigEndian.PutUint16(b[2:], 500)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	m := b[8:]
	binary.BigEndian.PutUint64(m[0:], 0x1122334455667788) // initiator cookie
	if !f.fromClient || f.counter > 0 {
		binary.BigEndian.PutUint64(m[8:], 0x99aabbccddeeff00) // responder cookie
	}
	m[16] = 1    // next payload: SA
	m[17] = 0x10 // version 1.0
	m[18] = 4    // aggressive mode
	binary.BigEndian.PutUint32(m[24:], uint32(n))
	f.fill(m[28:])
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
