package samplegen

import (
	"encoding/binary"
	"time"

	"github.com/ctcpdiag/ctcpdiag/internal/seq"
)

// stack describes the TCP behaviour of one endpoint's stack.
type stack struct {
	mss    uint16
	win    uint16 // raw window field after the handshake
	synWin uint16 // window in the SYN / SYN-ACK
	wscale int    // window scale shift, -1 = option not sent
	sack   bool   // sends SACK-permitted
	ts     bool   // sends timestamps
	tsHz   int    // timestamp clock ticks per second
	linux  bool   // Linux option order (MSS,SACK,TS,NOP,WS) instead of Windows (MSS,NOP,WS,NOP,NOP,SACK)
}

var (
	// Windows 7/10 client (the legacy Cisco VPN Client runs on Windows).
	stackWindows = stack{mss: 1460, win: 16425, synWin: 8192, wscale: 2, sack: true}
	// Linux 5.x server or client.
	stackLinux = stack{mss: 1460, win: 502, synWin: 64240, wscale: 7, sack: true, ts: true, tsHz: 1000, linux: true}
	// Cisco ASA's own TCP (cTCP listener): MSS 1380, no scaling, no timestamps.
	stackASA = stack{mss: 1380, win: 32768, synWin: 32768, wscale: -1}
)

// tcpEnd is one side of a TCP connection.
type tcpEnd struct {
	h      *host
	port   uint16
	st     stack
	nxt    seq.Value // next sequence number to send
	rcv    seq.Value // next sequence number expected from the peer (what it ACKs)
	ooo    bool      // out-of-order data held beyond rcv
	oooEnd seq.Value
	tsOff  uint32 // timestamp offset
	peerTS uint32 // last TSval received from the peer
	tsOn   bool   // both sides negotiated timestamps
	sackOn bool   // both sides negotiated SACK
	out    bool   // this end is the capturing host (Linux SLL direction)
	// lastAck is the ACK number of the last captured segment from this
	// end (a pure ACK with the same number would be a duplicate ACK).
	lastAck seq.Value
}

// tcpConn is a TCP connection whose segments are recorded on a capture.
type tcpConn struct {
	c      *capture
	cl, sv *tcpEnd
	t0     time.Time
	// atServer places the capture point next to the server: the SYN-ACK
	// follows the SYN at once and the client's ACK comes a round trip later.
	atServer bool
}

func newTCP(c *capture, cl *host, cport uint16, cst stack, sv *host, sport uint16, sst stack) *tcpConn {
	t := &tcpConn{c: c, t0: c.now}
	t.cl = &tcpEnd{h: cl, port: cport, st: cst, nxt: seq.Value(c.rng.Uint32()), tsOff: c.rng.Uint32()}
	t.sv = &tcpEnd{h: sv, port: sport, st: sst, nxt: seq.Value(c.rng.Uint32()), tsOff: c.rng.Uint32()}
	return t
}

func (t *tcpConn) peer(e *tcpEnd) *tcpEnd {
	if e == t.cl {
		return t.sv
	}
	return t.cl
}

func (t *tcpConn) tsval(e *tcpEnd) uint32 {
	return e.tsOff + uint32(t.c.now.Sub(t.t0).Milliseconds()*int64(e.st.tsHz)/1000)
}

// synOptions returns the options of e's SYN or SYN-ACK.
func (t *tcpConn) synOptions(e *tcpEnd, synack bool) []byte {
	var o []byte
	o = append(o, 2, 4)
	o = binary.BigEndian.AppendUint16(o, e.st.mss)
	p := t.peer(e)
	sack := e.st.sack && (!synack || p.st.sack)
	ts := e.st.ts && (!synack || p.st.ts)
	ws := e.st.wscale >= 0 && (!synack || p.st.wscale >= 0)
	if e.st.linux {
		if sack {
			o = append(o, 4, 2)
		} else if ts {
			o = append(o, 1, 1)
		}
		if ts {
			o = append(o, 8, 10)
			o = binary.BigEndian.AppendUint32(o, t.tsval(e))
			o = binary.BigEndian.AppendUint32(o, e.peerTS)
		}
		if ws {
			o = append(o, 1, 3, 3, byte(e.st.wscale))
		}
		return o
	}
	if ws {
		o = append(o, 1, 3, 3, byte(e.st.wscale))
	}
	if sack {
		o = append(o, 1, 1, 4, 2)
	}
	if ts {
		o = append(o, 8, 10)
		o = binary.BigEndian.AppendUint32(o, t.tsval(e))
		o = binary.BigEndian.AppendUint32(o, e.peerTS)
	}
	return o
}

// segOpts describes how a segment is sent.
type segOpts struct {
	capture bool       // recorded in the capture
	deliver bool       // reaches the peer
	ack     *seq.Value // explicit ACK value (nil: e.rcv)
	sack    [][2]seq.Value
	win     int // explicit window (-1 / 0 = default)
	seq     *seq.Value
}

// segment sends one segment from e and returns its sequence number.
func (t *tcpConn) segment(e *tcpEnd, flags uint8, payload []byte, o segOpts) seq.Value {
	p := t.peer(e)
	s := e.nxt
	if o.seq != nil {
		s = *o.seq
	}
	ack := e.rcv
	if o.ack != nil {
		ack = *o.ack
	}
	win := e.st.win
	if flags&flSYN != 0 {
		win = e.st.synWin
	}
	if o.win > 0 {
		win = uint16(o.win)
	}
	var opts []byte
	if flags&flSYN != 0 {
		opts = t.synOptions(e, flags&flACK != 0)
	} else {
		if e.tsOn {
			opts = append(opts, 1, 1, 8, 10)
			opts = binary.BigEndian.AppendUint32(opts, t.tsval(e))
			opts = binary.BigEndian.AppendUint32(opts, e.peerTS)
		}
		if len(o.sack) > 0 && e.sackOn {
			opts = append(opts, 1, 1, 5, byte(2+8*len(o.sack)))
			for _, b := range o.sack {
				opts = binary.BigEndian.AppendUint32(opts, uint32(b[0]))
				opts = binary.BigEndian.AppendUint32(opts, uint32(b[1]))
			}
		}
	}
	if flags&flACK == 0 {
		ack = 0
	}
	if o.capture {
		if flags&flACK != 0 {
			e.lastAck = ack
		}
		l4 := tcpHeader(nil, e.port, p.port, uint32(s), uint32(ack), flags, win, opts, payload)
		t.c.emit(e.h, p.h, 6, l4, 16, e.out)
	}
	n := seq.Size(len(payload))
	if flags&(flSYN|flFIN) != 0 {
		n++
	}
	end := s.Add(n)
	if o.seq == nil || end.GreaterThan(e.nxt) {
		e.nxt = end
	}
	if o.deliver && flags&flRST == 0 {
		if e.tsOn || flags&flSYN != 0 {
			p.peerTS = t.tsval(e)
		}
		t.deliver(p, s, end)
	}
	return s
}

// deliver records that p received [s, end).
func (t *tcpConn) deliver(p *tcpEnd, s, end seq.Value) {
	switch {
	case s.LessThanEq(p.rcv) && end.GreaterThan(p.rcv):
		p.rcv = end
		if p.ooo && p.oooEnd.GreaterThan(p.rcv) {
			p.rcv = p.oooEnd
		}
		if p.ooo && p.rcv.GreaterThanEq(p.oooEnd) {
			p.ooo = false
		}
	case s.GreaterThan(p.rcv):
		if !p.ooo || end.GreaterThan(p.oooEnd) {
			p.oooEnd = end
		}
		p.ooo = true
	}
}

var (
	sent    = segOpts{capture: true, deliver: true}
	lostOut = segOpts{capture: true, deliver: false} // lost after the capture point
	lostIn  = segOpts{capture: false, deliver: false}
)

// handshake performs the 3-way handshake with round-trip time rtt as seen
// from the client side (the capture point is near the client).
func (t *tcpConn) handshake(rtt time.Duration) {
	t.cl.rcv = 0
	t.segment(t.cl, flSYN, nil, segOpts{capture: true})
	t.sv.rcv = t.cl.nxt
	t.sv.peerTS = t.tsval(t.cl)
	first, second := t.c.jit(rtt, 0.1), t.c.jit(150*time.Microsecond, 0.3)
	if t.atServer {
		first, second = t.c.jit(60*time.Microsecond, 0.3), t.c.jit(rtt, 0.1)
	}
	t.c.wait(first)
	t.segment(t.sv, flSYN|flACK, nil, segOpts{capture: true})
	t.cl.rcv = t.sv.nxt
	t.cl.peerTS = t.tsval(t.sv)
	on := t.cl.st.ts && t.sv.st.ts
	t.cl.tsOn, t.sv.tsOn = on, on
	sk := t.cl.st.sack && t.sv.st.sack
	t.cl.sackOn, t.sv.sackOn = sk, sk
	if t.cl.st.wscale < 0 || t.sv.st.wscale < 0 {
		// Without scaling on both sides the window is the unscaled value.
		if t.cl.st.wscale >= 0 {
			t.cl.st.win = 64240
		}
		if t.sv.st.wscale >= 0 {
			t.sv.st.win = 64240
		}
	}
	t.c.wait(second)
	t.segment(t.cl, flACK, nil, sent)
}

// send sends data from e (delivered) with PSH.
func (t *tcpConn) send(e *tcpEnd, payload []byte) seq.Value {
	return t.segment(e, flPSH|flACK, payload, sent)
}

// ack sends a pure ACK from e.
func (t *tcpConn) ack(e *tcpEnd) { t.segment(e, flACK, nil, sent) }

// acked reports whether e's peer has received everything e sent.
func (t *tcpConn) acked(e *tcpEnd) bool { return t.peer(e).rcv == e.nxt }
