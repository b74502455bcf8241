//go:build linux

package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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

// RawMark is the socket mark of every packet a RawEndpoint sends. The
// lab's nftables rules drop the RSTs of a namespace's own kernel (which
// knows nothing of the raw connections) and let through the RSTs that
// carry this mark.
const RawMark = 0x6c6162

// ErrClosed is what RawEndpoint.Send returns once the connection is over:
// the peer reset or closed it, or the endpoint reset it.
var ErrClosed = errors.New("raw endpoint: connection closed")

// RawEndpoint is a userspace TCP endpoint on a raw IPv4 socket that behaves
// like a cTCP endpoint, Cisco's VPN client (DialRaw, active open) or the
// headend's cTCP side (ListenRaw and Accept, passive open). After a normal
// three-way handshake it
//   - sends whatever it is given, one segment per Send, with ever-rising
//     sequence numbers, and never sends the same bytes twice;
//   - acknowledges every data segment at once with the highest byte
//     received (rcv_nxt = max(rcv_nxt, seq+len)): it neither waits for nor
//     asks for the bytes of a hole, so it never sends duplicate ACKs for
//     one;
//   - counts the duplicate ACKs it receives and otherwise ignores them;
//   - answers a FIN with its own FIN (it has nothing left to deliver) and
//     stops sending after a FIN or an RST.
//
// It offers MSS 1460, SACK-permitted and timestamps (and a window scale
// when asked) like a modern stack, so a real TCP peer's duplicate ACKs
// carry SACK blocks, and puts a timestamp on every segment.
//
// The kernel of the endpoint's namespace knows nothing of the connection
// and answers the peer's segments with RSTs: the caller must drop those
// before the capture point (nftables; the endpoint's own packets carry
// RawMark).
type RawEndpoint struct {
	fd           int
	laddr, raddr netip.Addr
	lport, rport uint16
	o            RawOptions
	passive      bool
	started      atomic.Bool // the receive goroutine runs

	// sendMu is held from reading the sequence numbers to sending the
	// segment, so that segments leave in the order of their numbers and
	// timestamps (a receiver's PAWS check drops a segment whose timestamp
	// went back). It is taken before mu.
	sendMu    sync.Mutex
	mu        sync.Mutex
	iss, irs  uint32
	sndNxt    uint32
	rcvNxt    uint32
	peerWS    bool // the peer offered a window scale
	tsRecent  uint32
	tsBase    time.Time
	lastAck   uint32
	dupAcks   int
	runLen    int // duplicates of lastAck so far
	dataSegs  int
	dataBytes int
	lastData  time.Time
	reset     bool // the peer sent an RST
	fin       bool // the peer sent a FIN
	closed    bool // no more sending
	sentRST   bool
	retx      int
	sent      map[uint32][]byte // by sequence number, when RetransmitAfter > 0
	recv      []rawData

	stop chan struct{}
	done chan struct{}
}

// rawData is a received data segment: its offset in the peer's stream
// (sequence number minus the peer's ISN minus one) and its bytes.
type rawData struct {
	off  uint32
	data []byte
}

// RawStats is what a RawEndpoint saw.
type RawStats struct {
	// DupAcks counts pure ACKs that repeated the previous ACK number (all
	// ignored); DataSegments and DataBytes the data segments and bytes
	// received (holes ignored); LastData when data last arrived (the
	// handshake's time before any); Reset and FIN whether the peer sent
	// them; SentRST whether the endpoint reset the connection;
	// Retransmissions the segments resent (0 unless
	// RawOptions.RetransmitAfter).
	DupAcks         int
	DataSegments    int
	DataBytes       int
	LastData        time.Time
	Reset, FIN      bool
	SentRST         bool
	Retransmissions int
}

// RawOptions are the choices a RawEndpoint makes in its handshake.
type RawOptions struct {
	// WindowScale, when > 0, is the window scale shift offered (Windows
	// offers 8); 0 offers none. A passive endpoint offers it only when
	// the SYN did.
	WindowScale int
	// RetransmitAfter, when > 0, makes the endpoint unlike cTCP: it
	// resends the segment a run of that many duplicate ACKs asks for, once
	// (the control case with the same framing and the same real proxy).
	RetransmitAfter int
	// InOrderAck makes the endpoint acknowledge only the bytes it got in
	// order, as a naive TCP imitation does: behind a hole its ACK stays
	// put, so every later segment draws a duplicate ACK. It still never
	// resends and does not reassemble: bytes past the hole are dropped.
	InOrderAck bool
	// HandshakeDelay delays the ACK that completes an active open, which
	// makes the handshake round trip a capture shows (and Wireshark's
	// out-of-order threshold) that long.
	HandshakeDelay time.Duration
}

// realtime locks the calling goroutine to its thread and gives the thread
// real-time scheduling (SCHED_FIFO; the processes it starts do not inherit
// it), so that the endpoint answers within a millisecond whatever else the
// machine does, as a kernel's TCP would. The goroutine must end locked:
// its thread then ends with it. Without the privilege it only locks.
func realtime() {
	runtime.LockOSThread()
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   unix.SCHED_FIFO,
		Priority: 10,
		Flags:    unix.SCHED_FLAG_RESET_ON_FORK,
	}, 0)
}

// onRealtimeThread runs f on a new goroutine made realtime and returns its
// error.
func onRealtimeThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		realtime()
		errc <- f()
	}()
	return <-errc
}

// openRaw opens the raw socket in namespace ns.
func openRaw(ns string, laddr netip.AddrPort, o RawOptions) (*RawEndpoint, error) {
	e := &RawEndpoint{
		o:      o,
		sent:   map[uint32][]byte{},
		laddr:  laddr.Addr(),
		lport:  laddr.Port(),
		tsBase: time.Now(),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	err := InNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		e.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	if err := unix.SetsockoptTimeval(e.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(e.fd)
		return nil, err
	}
	if err := unix.SetsockoptInt(e.fd, unix.SOL_SOCKET, unix.SO_MARK, RawMark); err != nil {
		unix.Close(e.fd)
		return nil, fmt.Errorf("SO_MARK: %w", err)
	}
	return e, nil
}

// DialRaw opens a raw socket in namespace ns and performs the three-way
// handshake from laddr to raddr (active open). It gives up after 3 s.
func DialRaw(ns string, laddr, raddr netip.AddrPort, o RawOptions) (*RawEndpoint, error) {
	e, err := openRaw(ns, laddr, o)
	if err != nil {
		return nil, err
	}
	e.raddr, e.rport = raddr.Addr(), raddr.Port()
	e.iss = 0x5eed0000 | uint32(laddr.Port())
	if err := onRealtimeThread(e.connect); err != nil {
		unix.Close(e.fd)
		return nil, err
	}
	e.started.Store(true)
	go e.receive()
	return e, nil
}

// ListenRaw opens a raw socket in namespace ns for a passive open on
// laddr; Accept completes it. From this call on the socket keeps what
// arrives, so a SYN sent before Accept is not lost.
func ListenRaw(ns string, laddr netip.AddrPort, o RawOptions) (*RawEndpoint, error) {
	e, err := openRaw(ns, laddr, o)
	if err != nil {
		return nil, err
	}
	e.passive = true
	e.iss = 0x4ead0000 | uint32(laddr.Port())
	return e, nil
}

// Accept waits up to timeout for a SYN to the listening address, answers
// it with a SYN-ACK and waits for the handshake's ACK. It answers a
// repeated SYN with the same SYN-ACK but never resends on its own.
func (e *RawEndpoint) Accept(timeout time.Duration) error {
	if !e.passive {
		return errors.New("raw endpoint: Accept on an active endpoint")
	}
	return onRealtimeThread(func() error { return e.accept(timeout) })
}

func (e *RawEndpoint) accept(timeout time.Duration) error {
	buf := make([]byte, 65536)
	deadline := time.Now().Add(timeout)
	var synack []byte
	for time.Now().Before(deadline) {
		select {
		case <-e.stop:
			return ErrClosed
		default:
		}
		seg, ok := e.read(buf)
		if !ok {
			continue
		}
		if seg.flags&(flSYN|flACK|flRST) == flSYN {
			if synack != nil && (seg.src != e.raddr || seg.sport != e.rport || seg.seq != e.irs) {
				continue // one connection only
			}
			e.mu.Lock()
			e.raddr, e.rport = seg.src, seg.sport
			e.irs = seg.seq
			e.rcvNxt = seg.seq + 1
			e.tsRecent = seg.tsval
			e.peerWS = seg.wscale
			e.mu.Unlock()
			synack = e.synOptions(seg.tsval)
			if err := e.send(e.iss, e.rcvNxt, flSYN|flACK, synack, nil); err != nil {
				return err
			}
			continue
		}
		if synack == nil || seg.src != e.raddr || seg.sport != e.rport {
			continue
		}
		if seg.flags&flRST != 0 {
			return errors.New("raw endpoint: reset during the handshake")
		}
		if seg.flags&(flSYN|flACK) != flACK || seg.ack != e.iss+1 {
			continue
		}
		e.mu.Lock()
		e.sndNxt = e.iss + 1
		e.lastAck = seg.ack
		e.lastData = time.Now()
		e.mu.Unlock()
		e.started.Store(true)
		go e.receive()
		if seg.dataLen > 0 || seg.flags&flFIN != 0 {
			e.handle(seg)
		}
		return nil
	}
	return fmt.Errorf("raw endpoint: no handshake on %s:%d within %v", e.laddr, e.lport, timeout)
}

// Local returns the endpoint's address; Peer the other end's (once
// connected).
func (e *RawEndpoint) Local() netip.AddrPort { return netip.AddrPortFrom(e.laddr, e.lport) }

// Peer returns the address of the other end of the connection.
func (e *RawEndpoint) Peer() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	return netip.AddrPortFrom(e.raddr, e.rport)
}

func (e *RawEndpoint) tsval() uint32 {
	return 0x10000 + uint32(time.Since(e.tsBase)/time.Millisecond)
}

// synOptions are the options of a SYN (ecr 0) or SYN-ACK: MSS 1460, SACK
// permitted, timestamps, and the window scale when offered.
func (e *RawEndpoint) synOptions(ecr uint32) []byte {
	opts := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(opts[8:], e.tsval())
	binary.BigEndian.PutUint32(opts[12:], ecr)
	if e.o.WindowScale > 0 && (!e.passive || e.peerWS) {
		opts = append(opts, 1, 3, 3, byte(e.o.WindowScale))
	}
	return opts
}

func (e *RawEndpoint) connect() error {
	if err := e.send(e.iss, 0, flSYN, e.synOptions(0), nil); err != nil {
		return err
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		seg, ok := e.read(buf)
		if !ok || seg.src != e.raddr || seg.sport != e.rport {
			continue
		}
		if seg.flags&(flSYN|flACK) != flSYN|flACK || seg.ack != e.iss+1 {
			continue
		}
		e.mu.Lock()
		e.sndNxt = e.iss + 1
		e.irs = seg.seq
		e.rcvNxt = seg.seq + 1
		e.tsRecent = seg.tsval
		e.lastAck = seg.ack
		e.lastData = time.Now()
		e.mu.Unlock()
		time.Sleep(e.o.HandshakeDelay)
		return e.sendAck()
	}
	return errors.New("raw endpoint: no SYN-ACK within 3 s")
}

// Send sends p as one segment with the next sequence numbers. It never
// sends the same bytes twice. After the connection ended it returns
// ErrClosed.
func (e *RawEndpoint) Send(p []byte) error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	sq, ack := e.sndNxt, e.rcvNxt
	e.sndNxt += uint32(len(p))
	if e.o.RetransmitAfter > 0 {
		e.sent[sq] = p
	}
	e.mu.Unlock()
	return e.send(sq, ack, flPSH|flACK, e.tsOpt(), p)
}

// Reset ends the connection with an RST (sequence number snd_nxt, ACK
// rcv_nxt), as a VPN headend tearing a tunnel down does, and stops
// sending.
func (e *RawEndpoint) Reset() error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.closed = true
	e.sentRST = true
	sq, ack := e.sndNxt, e.rcvNxt
	e.mu.Unlock()
	return e.send(sq, ack, flRST|flACK, nil, nil)
}

// Stats returns what the endpoint saw so far.
func (e *RawEndpoint) Stats() RawStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return RawStats{
		DupAcks: e.dupAcks, DataSegments: e.dataSegs, DataBytes: e.dataBytes, LastData: e.lastData,
		Reset: e.reset, FIN: e.fin, SentRST: e.sentRST, Retransmissions: e.retx,
	}
}

// Received returns the peer's byte stream as received, in contiguous
// chunks in stream order (the holes the endpoint ignored separate them).
// Each chunk starts where a received segment started.
func (e *RawEndpoint) Received() [][]byte {
	e.mu.Lock()
	segs := slices.Clone(e.recv)
	e.mu.Unlock()
	return chunksOf(segs)
}

// chunksOf puts pieces of a byte stream (offsets relative to any origin,
// in any order, overlapping or not) together into contiguous chunks in
// stream order.
func chunksOf(segs []rawData) [][]byte {
	slices.SortStableFunc(segs, func(a, b rawData) int { return int(int32(a.off - b.off)) })
	var chunks [][]byte
	var cur []byte
	var end uint32
	for _, s := range segs {
		sEnd := s.off + uint32(len(s.data))
		if cur != nil && int32(s.off-end) <= 0 {
			// Contiguous with, or overlapping, the chunk: keep the
			// part past its end.
			if int32(sEnd-end) > 0 {
				cur = append(cur, s.data[end-s.off:]...)
				end = sEnd
			}
			continue
		}
		if cur != nil {
			chunks = append(chunks, cur)
		}
		cur, end = slices.Clone(s.data), sEnd
	}
	if cur != nil {
		chunks = append(chunks, cur)
	}
	return chunks
}

// Close stops receiving and closes the socket; it sends nothing (the lab's
// namespaces are deleted afterwards).
func (e *RawEndpoint) Close() {
	select {
	case <-e.stop:
		return
	default:
	}
	close(e.stop)
	if e.started.Load() {
		<-e.done
	}
	unix.Close(e.fd)
}

func (e *RawEndpoint) tsOpt() []byte {
	e.mu.Lock()
	ecr := e.tsRecent
	e.mu.Unlock()
	o := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(o[4:], e.tsval())
	binary.BigEndian.PutUint32(o[8:], ecr)
	return o
}

func (e *RawEndpoint) sendAck() error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	sq, ack := e.sndNxt, e.rcvNxt
	e.mu.Unlock()
	return e.send(sq, ack, flACK, e.tsOpt(), nil)
}

func (e *RawEndpoint) receive() {
	defer close(e.done)
	realtime()
	buf := make([]byte, 65536)
	for {
		select {
		case <-e.stop:
			return
		default:
		}
		seg, ok := e.read(buf)
		if !ok || seg.src != e.raddr || seg.sport != e.rport || seg.flags&flSYN != 0 {
			continue
		}
		e.handle(seg)
	}
}

// handle processes one segment of the established connection.
func (e *RawEndpoint) handle(seg segment) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	if e.sentRST {
		e.mu.Unlock()
		return
	}
	if seg.flags&flRST != 0 {
		e.reset = true
		e.closed = true
		e.mu.Unlock()
		return
	}
	if seg.tsval != 0 {
		e.tsRecent = seg.tsval
	}
	n := uint32(seg.dataLen)
	if seg.flags&flFIN != 0 {
		n++
	}
	if n == 0 {
		// A pure ACK: a duplicate one asks for a retransmission, which
		// cTCP never sends.
		var again []byte
		if seg.flags&flACK != 0 && seg.ack == e.lastAck {
			e.dupAcks++
			e.runLen++
			if e.o.RetransmitAfter > 0 && e.runLen == e.o.RetransmitAfter {
				again = e.sent[seg.ack]
			}
		} else {
			e.runLen = 0
		}
		e.lastAck = seg.ack
		ack := e.rcvNxt
		if again != nil {
			e.retx++
		}
		e.mu.Unlock()
		if again != nil {
			_ = e.send(seg.ack, ack, flPSH|flACK, e.tsOpt(), again)
		}
		return
	}
	if seg.ack != e.lastAck {
		e.runLen = 0
	}
	e.lastAck = seg.ack
	if seg.dataLen > 0 {
		e.dataSegs++
		e.dataBytes += seg.dataLen
		e.lastData = time.Now()
		e.recv = append(e.recv, rawData{off: seg.seq - e.irs - 1, data: slices.Clone(seg.payload)})
	}
	// The highest byte received, holes or not (in order only with
	// InOrderAck).
	if end := seg.seq + n; int32(end-e.rcvNxt) > 0 && (!e.o.InOrderAck || int32(seg.seq-e.rcvNxt) <= 0) {
		e.rcvNxt = end
	}
	finAck := false
	if seg.flags&flFIN != 0 && !e.fin {
		e.fin = true
		finAck = !e.closed
		e.closed = true
	}
	sq, ack := e.sndNxt, e.rcvNxt
	if finAck {
		e.sndNxt++
	}
	e.mu.Unlock()
	if finAck {
		// Nothing left to deliver: acknowledge the FIN with our own.
		_ = e.send(sq, ack, flFIN|flACK, e.tsOpt(), nil)
		return
	}
	// Acknowledge every data segment at once.
	_ = e.send(sq, ack, flACK, e.tsOpt(), nil)
}

// segment is the part of a received TCP segment an endpoint uses.
type segment struct {
	src      netip.Addr
	sport    uint16
	seq, ack uint32
	flags    byte
	dataLen  int
	payload  []byte // valid until the next read
	tsval    uint32
	wscale   bool
}

// read reads one packet and reports whether it is a TCP segment to the
// endpoint's address and port (from anywhere).
func (e *RawEndpoint) read(buf []byte) (segment, bool) {
	n, _, err := unix.Recvfrom(e.fd, buf, 0)
	if err != nil || n < 20 {
		return segment{}, false
	}
	b := buf[:n]
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || b[9] != unix.IPPROTO_TCP || ihl < 20 || n < ihl+20 {
		return segment{}, false
	}
	if netip.AddrFrom4([4]byte(b[16:20])) != e.laddr {
		return segment{}, false
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total < n {
		b = b[:total]
	}
	t := b[ihl:]
	if binary.BigEndian.Uint16(t[2:]) != e.lport {
		return segment{}, false
	}
	doff := int(t[12]>>4) * 4
	if doff < 20 || doff > len(t) {
		return segment{}, false
	}
	s := segment{
		src:     netip.AddrFrom4([4]byte(b[12:16])),
		sport:   binary.BigEndian.Uint16(t[0:]),
		seq:     binary.BigEndian.Uint32(t[4:]),
		ack:     binary.BigEndian.Uint32(t[8:]),
		flags:   t[13],
		dataLen: len(t) - doff,
		payload: t[doff:],
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
		switch {
		case o[0] == 8 && o[1] == 10:
			s.tsval = binary.BigEndian.Uint32(o[2:])
		case o[0] == 3 && o[1] == 3:
			s.wscale = true
		}
		o = o[o[1]:]
	}
	return s, true
}

// send writes one TCP segment; the kernel adds the IP header.
func (e *RawEndpoint) send(sq, ack uint32, flags byte, opts, payload []byte) error {
	hl := 20 + len(opts)
	b := make([]byte, hl+len(payload))
	binary.BigEndian.PutUint16(b[0:], e.lport)
	binary.BigEndian.PutUint16(b[2:], e.rport)
	binary.BigEndian.PutUint32(b[4:], sq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12] = byte(hl/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	copy(b[20:], opts)
	copy(b[hl:], payload)
	binary.BigEndian.PutUint16(b[16:], tcpChecksum(e.laddr.As4(), e.raddr.As4(), b))
	return unix.Sendto(e.fd, b, 0, &unix.SockaddrInet4{Addr: e.raddr.As4()})
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
