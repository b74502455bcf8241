//go:build linux

package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// TCP flags.
const (
	flFIN = 0x01
	flSYN = 0x02
	flRST = 0x04
	flPSH = 0x08
	flACK = 0x10
)

// RawClient is a userspace TCP endpoint on a raw IPv4 socket that behaves
// like Cisco's cTCP client: it opens the connection with a normal three-way
// handshake, then sends whatever it is given with ever-rising sequence
// numbers, acknowledges the data it receives (cumulatively, at once) and
// never retransmits; duplicate ACKs are counted and otherwise ignored. It
// negotiates SACK and timestamps like a modern client, so the peer's
// duplicate ACKs carry SACK blocks, and puts a timestamp on every segment.
//
// The kernel of the client's namespace knows nothing of the connection
// and answers the peer's segments with RSTs: the caller must drop those
// (nftables) before the capture point.
type RawClient struct {
	fd           int
	laddr, raddr netip.Addr
	lport, rport uint16
	wscale       int
	retxAfter    int
	hsDelay      time.Duration

	mu        sync.Mutex
	iss       uint32
	sndNxt    uint32
	rcvNxt    uint32
	tsRecent  uint32
	tsBase    time.Time
	lastAck   uint32
	dupAcks   int
	runLen    int // duplicates of lastAck so far
	dataBytes int
	reset     bool
	retx      int
	sent      map[uint32][]byte // by sequence number, when retxAfter > 0

	stop chan struct{}
	done chan struct{}
}

// RawStats is what a RawClient saw.
type RawStats struct {
	// DupAcks counts pure ACKs that repeated the previous ACK number (all
	// ignored); DataBytes the in-order data bytes received; Reset whether
	// the peer sent an RST; Retransmissions the segments resent (0 unless
	// RawOptions.RetransmitAfter).
	DupAcks         int
	DataBytes       int
	Reset           bool
	Retransmissions int
}

// RawOptions are the choices a RawClient offers in its SYN.
type RawOptions struct {
	// WindowScale, when > 0, is the window scale shift offered (Windows
	// offers 8); 0 offers none.
	WindowScale int
	// RetransmitAfter, when > 0, makes the client unlike cTCP: it resends
	// the segment a run of that many duplicate ACKs asks for, once (the
	// control case with the same framing and the same real proxy).
	RetransmitAfter int
	// HandshakeDelay delays the ACK that completes the handshake, which
	// makes the handshake round trip a capture shows (and Wireshark's
	// out-of-order threshold) that long.
	HandshakeDelay time.Duration
}

// DialRaw opens a raw socket in namespace ns and performs the three-way
// handshake from laddr:lport to raddr:rport. It gives up after 3 s.
func DialRaw(ns string, laddr netip.AddrPort, raddr netip.AddrPort, o RawOptions) (*RawClient, error) {
	c := &RawClient{
		wscale:    o.WindowScale,
		retxAfter: o.RetransmitAfter,
		hsDelay:   o.HandshakeDelay,
		sent:      map[uint32][]byte{},
		laddr:     laddr.Addr(), raddr: raddr.Addr(),
		lport: laddr.Port(), rport: raddr.Port(),
		iss:    0x5eed0000 | uint32(laddr.Port()),
		tsBase: time.Now(),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	err := InNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(c.fd)
		return nil, err
	}
	if err := c.handshake(); err != nil {
		unix.Close(c.fd)
		return nil, err
	}
	go c.receive()
	return c, nil
}

func (c *RawClient) tsval() uint32 {
	return 0x10000 + uint32(time.Since(c.tsBase)/time.Millisecond)
}

func (c *RawClient) handshake() error {
	// SYN options: MSS 1460, SACK permitted, timestamps (16 bytes).
	opts := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(opts[8:], c.tsval())
	if c.wscale > 0 {
		opts = append(opts, 1, 3, 3, byte(c.wscale))
	}
	if err := c.send(c.iss, 0, flSYN, opts, nil); err != nil {
		return err
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		seg, ok := c.read(buf)
		if !ok {
			continue
		}
		if seg.flags&(flSYN|flACK) != flSYN|flACK || seg.ack != c.iss+1 {
			continue
		}
		c.mu.Lock()
		c.sndNxt = c.iss + 1
		c.rcvNxt = seg.seq + 1
		c.tsRecent = seg.tsval
		c.lastAck = seg.ack
		c.mu.Unlock()
		time.Sleep(c.hsDelay)
		return c.sendAck()
	}
	return errors.New("raw client: no SYN-ACK within 3 s")
}

// Send sends p as one segment with the next sequence numbers. It never
// sends the same bytes twice.
func (c *RawClient) Send(p []byte) error {
	c.mu.Lock()
	sq, ack := c.sndNxt, c.rcvNxt
	c.sndNxt += uint32(len(p))
	if c.retxAfter > 0 {
		c.sent[sq] = p
	}
	c.mu.Unlock()
	return c.send(sq, ack, flPSH|flACK, c.tsOpt(), p)
}

// Stats returns what the client saw so far.
func (c *RawClient) Stats() RawStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RawStats{DupAcks: c.dupAcks, DataBytes: c.dataBytes, Reset: c.reset, Retransmissions: c.retx}
}

// Close stops receiving and closes the socket; it sends nothing (the lab's
// namespaces are deleted afterwards).
func (c *RawClient) Close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done
	unix.Close(c.fd)
}

func (c *RawClient) tsOpt() []byte {
	c.mu.Lock()
	ecr := c.tsRecent
	c.mu.Unlock()
	o := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(o[4:], c.tsval())
	binary.BigEndian.PutUint32(o[8:], ecr)
	return o
}

func (c *RawClient) sendAck() error {
	c.mu.Lock()
	sq, ack := c.sndNxt, c.rcvNxt
	c.mu.Unlock()
	return c.send(sq, ack, flACK, c.tsOpt(), nil)
}

func (c *RawClient) receive() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		seg, ok := c.read(buf)
		if !ok {
			continue
		}
		c.mu.Lock()
		if seg.flags&flRST != 0 {
			c.reset = true
			c.mu.Unlock()
			continue
		}
		if seg.tsval != 0 {
			c.tsRecent = seg.tsval
		}
		n := uint32(seg.dataLen)
		if seg.flags&flFIN != 0 {
			n++
		}
		if n == 0 {
			// A pure ACK: a duplicate one asks for a retransmission,
			// which cTCP never sends.
			var again []byte
			if seg.flags&flACK != 0 && seg.ack == c.lastAck {
				c.dupAcks++
				c.runLen++
				if c.retxAfter > 0 && c.runLen == c.retxAfter {
					again = c.sent[seg.ack]
				}
			} else {
				c.runLen = 0
			}
			c.lastAck = seg.ack
			ack := c.rcvNxt
			if again != nil {
				c.retx++
			}
			c.mu.Unlock()
			if again != nil {
				_ = c.send(seg.ack, ack, flPSH|flACK, c.tsOpt(), again)
			}
			continue
		}
		if seg.ack != c.lastAck {
			c.runLen = 0
		}
		c.lastAck = seg.ack
		if seg.seq == c.rcvNxt {
			c.rcvNxt += n
			c.dataBytes += seg.dataLen
		}
		c.mu.Unlock()
		// Acknowledge every data segment at once, cumulatively.
		_ = c.sendAck()
	}
}

// segment is the part of a received TCP segment the client uses.
type segment struct {
	seq, ack uint32
	flags    byte
	dataLen  int
	tsval    uint32
}

// read reads one packet and reports whether it is a TCP segment of this
// connection.
func (c *RawClient) read(buf []byte) (segment, bool) {
	n, _, err := unix.Recvfrom(c.fd, buf, 0)
	if err != nil || n < 20 {
		return segment{}, false
	}
	b := buf[:n]
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || b[9] != unix.IPPROTO_TCP || ihl < 20 || n < ihl+20 {
		return segment{}, false
	}
	if netip.AddrFrom4([4]byte(b[12:16])) != c.raddr || netip.AddrFrom4([4]byte(b[16:20])) != c.laddr {
		return segment{}, false
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total < n {
		b = b[:total]
	}
	t := b[ihl:]
	if binary.BigEndian.Uint16(t[0:]) != c.rport || binary.BigEndian.Uint16(t[2:]) != c.lport {
		return segment{}, false
	}
	doff := int(t[12]>>4) * 4
	if doff < 20 || doff > len(t) {
		return segment{}, false
	}
	s := segment{
		seq:     binary.BigEndian.Uint32(t[4:]),
		ack:     binary.BigEndian.Uint32(t[8:]),
		flags:   t[13],
		dataLen: len(t) - doff,
	}
	for o := t[20:doff]; len(o) > 0; {
		switch o[0] {
		case 0:
			o = nil
			continue
		case 1:
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			break
		}
		if o[0] == 8 && o[1] == 10 {
			s.tsval = binary.BigEndian.Uint32(o[2:])
		}
		o = o[o[1]:]
	}
	return s, true
}

// send writes one TCP segment; the kernel adds the IP header.
func (c *RawClient) send(sq, ack uint32, flags byte, opts, payload []byte) error {
	hl := 20 + len(opts)
	b := make([]byte, hl+len(payload))
	binary.BigEndian.PutUint16(b[0:], c.lport)
	binary.BigEndian.PutUint16(b[2:], c.rport)
	binary.BigEndian.PutUint32(b[4:], sq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12] = byte(hl/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	copy(b[20:], opts)
	copy(b[hl:], payload)
	binary.BigEndian.PutUint16(b[16:], tcpChecksum(c.laddr.As4(), c.raddr.As4(), b))
	return unix.Sendto(c.fd, b, 0, &unix.SockaddrInet4{Addr: c.raddr.As4()})
}

// tcpChecksum is the TCP checksum of seg (checksum field zero) over the
// IPv4 pseudo-header.
func tcpChecksum(src, dst [4]byte, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += unix.IPPROTO_TCP + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
