package samplegen

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
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

// pcap returns the frames as a classic little-endian microsecond pcap
// file, each cut to the first interface's snaplen.
func (c *capture) pcap() ([]byte, error) {
	var b bytes.Buffer
	i := c.ifaces[0]
	w := capfile.NewPcapWriter(&b, "", capfile.Interface{LinkType: uint16(i.link), SnapLen: uint32(i.snaplen)})
	for _, f := range c.frames {
		w.WritePacket(capfile.Packet{Time: f.ts.UnixNano(), OrigLen: len(f.data), Data: f.data[:min(len(f.data), i.snaplen)]})
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pcapng returns the frames as a little-endian pcapng file: shb_userappl
// "ctcpdiag samplegen", one interface description block per interface
// (if_name, if_tsresol 6), each frame cut to its interface's snaplen.
func (c *capture) pcapng() ([]byte, error) {
	var b bytes.Buffer
	w := capfile.NewWriter(&b, "", capfile.Section{UserAppl: "ctcpdiag samplegen"})
	for _, i := range c.ifaces {
		w.AddInterface(capfile.Interface{LinkType: uint16(i.link), SnapLen: uint32(i.snaplen), TSResol: 6, Name: i.name})
	}
	for _, f := range c.frames {
		n := min(len(f.data), c.ifaces[f.iface].snaplen)
		w.WritePacket(capfile.Packet{Iface: f.iface, Time: f.ts.UnixNano(), OrigLen: len(f.data), Data: f.data[:n]})
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
