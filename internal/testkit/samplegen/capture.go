package samplegen

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// iface describes one capture interface of a pcapng file.
type iface struct {
	link    int
	name    string
	snaplen int
}

// capture accumulates the frames of one scenario in time order.
type capture struct {
	rng    *rand.Rand
	src    *rand.ChaCha8 // pseudo-random bytes (ciphertext, nonces)
	now    time.Time
	frames []frame
	ifaces []iface
	cur    int // interface new frames are recorded on
	buf    []byte
}

// newCapture returns a capture starting at start with a generator seeded by seed.
func newCapture(seed uint64, start time.Time, ifaces ...iface) *capture {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], "ctcpdiag-samplegen-chacha8-key")
	src := rand.NewChaCha8(key)
	return &capture{rng: rand.New(src), src: src, now: start, ifaces: ifaces}
}

// wait advances the clock by d.
func (c *capture) wait(d time.Duration) { c.now = c.now.Add(d) }

// jitter advances the clock by d ± frac·d, drawn from the capture's PRNG.
func (c *capture) jitter(d time.Duration, frac float64) {
	c.wait(c.jit(d, frac))
}

// jit returns d ± frac·d.
func (c *capture) jit(d time.Duration, frac float64) time.Duration {
	f := 1 + frac*(2*c.rng.Float64()-1)
	return time.Duration(float64(d) * f)
}

// randBytes returns n pseudo-random bytes.
func (c *capture) randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = c.src.Read(b)
	return b
}

// emit records a packet from src to dst on the current interface at the
// current time; ck is the checksum offset inside l4 or -1.
func (c *capture) emit(src, dst *host, proto byte, l4 []byte, ck int, outgoing bool) {
	link := c.ifaces[c.cur].link
	b := appendLink(nil, link, src, dst, outgoing)
	b = appendIP(b, src, dst, proto, l4, ck)
	c.frames = append(c.frames, frame{ts: c.now, data: b, iface: c.cur})
}

// udp records a UDP datagram.
func (c *capture) udp(src, dst *host, sport, dport uint16, payload []byte, outgoing bool) {
	c.emit(src, dst, 17, udpHeader(nil, sport, dport, payload), 6, outgoing)
}

// esp records a native ESP packet (IP protocol 50).
func (c *capture) esp(src, dst *host, esp []byte, outgoing bool) {
	c.emit(src, dst, 50, esp, -1, outgoing)
}

// pcap returns the frames as a classic little-endian microsecond pcap file.
func (c *capture) pcap() []byte {
	var w bytes.Buffer
	h := pcapHeader(c.ifaces[0].link, c.ifaces[0].snaplen)
	w.Write(h[:])
	for _, f := range c.frames {
		writePcapRecord(&w, f.ts, f.data, c.ifaces[0].snaplen)
	}
	return w.Bytes()
}

// pcapHeader returns the file header of a little-endian, microsecond pcap
// file: every generator writes this format.
func pcapHeader(link, snaplen int) [24]byte {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], uint32(link))
	return h
}

// putPcapRecord fills h with the header of a record stamped ts that holds
// capLen bytes of an origLen-byte packet.
func putPcapRecord(h *[16]byte, ts time.Time, capLen, origLen int) {
	binary.LittleEndian.PutUint32(h[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(h[12:], uint32(origLen))
}

func writePcapRecord(w *bytes.Buffer, ts time.Time, data []byte, snaplen int) {
	n := min(len(data), snaplen)
	var h [16]byte
	putPcapRecord(&h, ts, n, len(data))
	w.Write(h[:])
	w.Write(data[:n])
}

// pcapng returns the frames as a little-endian pcapng file with one
// interface description block per interface.
func (c *capture) pcapng() []byte {
	var w bytes.Buffer
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		var h [8]byte
		binary.LittleEndian.PutUint32(h[0:], typ)
		binary.LittleEndian.PutUint32(h[4:], n)
		w.Write(h[:])
		w.Write(body)
		binary.LittleEndian.PutUint32(h[0:], n)
		w.Write(h[:4])
	}
	opt := func(b []byte, code uint16, val []byte) []byte {
		b = binary.LittleEndian.AppendUint16(b, code)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
		b = append(b, val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	// Section header block.
	shb := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	shb = binary.LittleEndian.AppendUint16(shb, 1)
	shb = binary.LittleEndian.AppendUint16(shb, 0)
	shb = binary.LittleEndian.AppendUint64(shb, 0xffffffffffffffff)
	shb = opt(shb, 4, []byte("ctcpdiag samplegen"))
	shb = opt(shb, 0, nil)
	block(0x0a0d0d0a, shb)
	for _, i := range c.ifaces {
		idb := binary.LittleEndian.AppendUint16(nil, uint16(i.link))
		idb = binary.LittleEndian.AppendUint16(idb, 0)
		idb = binary.LittleEndian.AppendUint32(idb, uint32(i.snaplen))
		idb = opt(idb, 2, []byte(i.name))
		idb = opt(idb, 9, []byte{6}) // if_tsresol: microseconds
		idb = opt(idb, 0, nil)
		block(1, idb)
	}
	for _, f := range c.frames {
		snap := c.ifaces[f.iface].snaplen
		n := len(f.data)
		if n > snap {
			n = snap
		}
		us := uint64(f.ts.UnixMicro())
		epb := binary.LittleEndian.AppendUint32(nil, uint32(f.iface))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(us>>32))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(us))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(n))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(len(f.data)))
		epb = append(epb, f.data[:n]...)
		block(6, epb)
	}
	return w.Bytes()
}
