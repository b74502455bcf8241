package samplegen

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// Flow kinds in the large capture.
const (
	lkHTTP4 = iota // IPv4 TCP download, occasional loss answered by fast retransmit
	lkHTTP6        // IPv6 TCP download
	lkCTCP         // cTCP session; some stall after unanswered proxy dup ACKs
)

// lflow is one connection of the large capture; it emits one packet per step.
type lflow struct {
	kind       int
	cl, sv     host
	cport      uint16
	sport      uint16
	cseq, sseq uint32 // next sequence number each side sends
	crcv, srcv uint32 // what each side acknowledges
	state      int
	left       int // data segments left to send
	i          int // segment counter
	lossAt     int // index of the lost segment, -1 none
	hole       uint32
	holeLen    int
	dups       int
	stall      bool // cTCP: proxy never fills the hole
	spiC, spiS uint32
	espC, espS uint32
	cnt        uint16
	next       time.Duration // offset of the next packet from the start
	rtt        time.Duration
}

// Large writes a realistic mixed capture of about packets packets to w as
// classic pcap: hundreds of concurrent flows (IPv4 and IPv6 TCP downloads,
// cTCP sessions), loss answered by duplicate ACKs and fast retransmissions,
// and a few cTCP sessions that stall after unanswered duplicate ACKs. The
// output depends only on packets and seed. Memory use does not depend on
// packets: packets are written as they are built.
func Large(w io.Writer, packets int, seed int64) error {
	if packets < 0 {
		return errors.New("negative packet count")
	}
	pw := capfile.NewPcapWriter(w, "", capfile.Interface{LinkType: linkEthernet, SnapLen: 262144})
	g := &largeGen{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), pw: pw}
	// 16 MiB of noise: larger than a zstd or gzip window, so the generated
	// payloads do not compress far better than real (encrypted) traffic.
	g.noise = make([]byte, 1<<24)
	cc := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	_, _ = cc.Read(g.noise)
	const nflows = 400
	g.flows = make([]lflow, nflows)
	g.heap = eventHeap[time.Duration]{idx: make([]int, 0, nflows), key: func(i int) time.Duration { return g.flows[i].next }}
	for i := range g.flows {
		g.start(i, time.Duration(g.rng.Int64N(int64(2*time.Second))))
		g.heap.push(i)
	}
	for n := 0; n < packets; {
		i := g.heap.top()
		f := &g.flows[i]
		if g.step(f) {
			n++
			if g.err != nil {
				return g.err
			}
		}
		g.heap.fixTop()
	}
	return pw.Flush()
}

type largeGen struct {
	rng   *rand.Rand
	pw    *capfile.PcapWriter
	noise []byte
	flows []lflow
	heap  eventHeap[time.Duration]
	buf   []byte
	l4    []byte
	opt   []byte
	scr   []byte
	err   error
	nflow uint32
}

var largeStart = Start

var largeRequest = []byte("GET /data/blob.bin HTTP/1.1\r\nHost: files.example.net\r\nUser-Agent: Wget/1.21.3\r\nAccept: */*\r\nConnection: close\r\n\r\n")

func (g *largeGen) start(i int, at time.Duration) {
	f := &g.flows[i]
	g.nflow++
	n := g.nflow
	kind := lkHTTP4
	switch r := g.rng.IntN(10); {
	case r < 2:
		kind = lkHTTP6
	case r < 4:
		kind = lkCTCP
	}
	*f = lflow{kind: kind, next: at, lossAt: -1}
	f.rtt = time.Duration(20+g.rng.IntN(60)) * time.Millisecond
	f.cl.mac, f.sv.mac = macClient, macHomeGW
	f.cl.mac[5] = byte(n)
	f.cl.ttl, f.sv.ttl = 128, byte(40+g.rng.IntN(20))
	f.cl.df, f.sv.df = true, true
	f.cl.ipid, f.sv.ipid = uint16(g.rng.Uint32()), uint16(g.rng.Uint32())
	c := g.rng.Uint32()
	switch kind {
	case lkHTTP6:
		f.cl.addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 14: byte(c >> 8), 15: byte(c)})
		f.sv.addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 14: byte(c >> 16), 15: byte(c>>24) | 1})
		f.sport = 443
	case lkHTTP4:
		f.cl.addr = netip.AddrFrom4([4]byte{10, byte(c >> 16), byte(c >> 8), byte(c) | 1})
		f.sv.addr = netip.AddrFrom4([4]byte{198, 51, 100, byte(c >> 24)})
		f.sport = 80
	default:
		f.cl.addr = netip.AddrFrom4([4]byte{100, 64 + byte(c>>16)&63, byte(c >> 8), byte(c) | 1})
		f.sv.addr = netip.AddrFrom4([4]byte{203, 0, 113, 10})
		f.sv.df = false
		f.sport = 10000
		f.spiC, f.spiS = g.rng.Uint32()|1<<31, g.rng.Uint32()|1<<30
	}
	f.cport = uint16(49152 + g.rng.IntN(16000))
	f.cseq, f.sseq = g.rng.Uint32(), g.rng.Uint32()
	f.left = 20 + g.rng.IntN(200)
	if g.rng.IntN(4) == 0 {
		f.lossAt = 4 + g.rng.IntN(f.left-4)
	}
	if kind == lkCTCP && f.lossAt >= 0 && g.rng.IntN(3) == 0 {
		f.stall = true
	}
}

func (g *largeGen) jit(d time.Duration) time.Duration {
	return d/2 + time.Duration(g.rng.Int64N(int64(d)+1))
}

// payload returns n bytes of noise (owned by g, valid until the next call).
func (g *largeGen) payload(n int) []byte {
	off := g.rng.IntN(len(g.noise) - n)
	return g.noise[off : off+n]
}

// seg writes one TCP segment; fromClient selects the direction.
func (g *largeGen) seg(f *lflow, fromClient bool, flags uint8, s, a uint32, data []byte) {
	src, dst := &f.cl, &f.sv
	sp, dp := f.cport, f.sport
	win := uint16(64240)
	if !fromClient {
		src, dst, sp, dp = &f.sv, &f.cl, f.sport, f.cport
		win = 65160
	}
	g.opt = g.opt[:0]
	if flags&flSYN != 0 {
		g.opt = append(g.opt, 2, 4, 0x05, 0xb4, 1, 1, 4, 2)
		win = 64240
	}
	g.l4 = tcpHeader(g.l4[:0], sp, dp, s, a, flags, win, g.opt, data)
	g.buf = appendLink(g.buf[:0], linkEthernet, src, dst, fromClient)
	g.buf = appendIP(g.buf, src, dst, 6, g.l4, 16)
	g.write()
}

func (g *largeGen) write() {
	if g.err != nil {
		return
	}
	ts := largeStart.Add(g.flows[g.heap.top()].next)
	g.err = g.pw.WritePacket(capfile.Packet{Time: ts.UnixNano(), OrigLen: len(g.buf), Data: g.buf})
}

// ctcpData builds a cTCP payload (ESP of n inner bytes + trailer) in g.opt-free scratch.
func (g *largeGen) ctcpData(f *lflow, fromClient bool, inner int) []byte {
	ct := (inner + 2 + 15) / 16 * 16
	n := 8 + 16 + ct + 12
	p := g.payload(n + 16)
	out := g.scratch(n + 16)
	copy(out, p)
	spi, sq := f.spiS, &f.espS
	if fromClient {
		spi, sq = f.spiC, &f.espC
	}
	*sq++
	binary.BigEndian.PutUint32(out[0:], spi)
	binary.BigEndian.PutUint32(out[4:], *sq)
	f.cnt++
	ctcpTrailer(out[n:n], f.cnt, 0, ctcpESP)
	return out
}

func (g *largeGen) scratch(n int) []byte {
	if cap(g.scr) < n {
		g.scr = make([]byte, n)
	}
	return g.scr[:n]
}

// step emits the flow's next packet (if any) and schedules the one after.
// It reports whether a packet was written.
func (g *largeGen) step(f *lflow) bool {
	wrote := true
	ctcp := f.kind == lkCTCP
	const mss = 1460
	switch f.state {
	case 0: // SYN
		g.seg(f, true, flSYN, f.cseq, 0, nil)
		f.cseq++
		f.next += g.jit(f.rtt)
		f.state = 1
	case 1: // SYN-ACK
		f.srcv = f.cseq
		g.seg(f, false, flSYN|flACK, f.sseq, f.srcv, nil)
		f.sseq++
		f.crcv = f.sseq
		f.next += g.jit(200 * time.Microsecond)
		f.state = 2
	case 2: // ACK + request
		g.seg(f, true, flACK, f.cseq, f.crcv, nil)
		f.next += g.jit(time.Millisecond)
		f.state = 3
	case 3: // client request / first ESP
		var d []byte
		if ctcp {
			d = g.ctcpData(f, true, 300)
		} else {
			d = largeRequest
		}
		g.seg(f, true, flPSH|flACK, f.cseq, f.crcv, d)
		f.cseq += uint32(len(d))
		f.srcv = f.cseq
		f.next += g.jit(f.rtt)
		f.state = 4
	case 4: // server data segment
		var d []byte
		if ctcp {
			d = g.ctcpData(f, false, 1312)
		} else {
			d = g.payload(mss)
		}
		s := f.sseq
		f.sseq += uint32(len(d))
		lost := !ctcp && f.i == f.lossAt
		if lost {
			// Lost before the capture point (client side): not written.
			f.hole, f.holeLen = s, len(d)
			wrote = false
		} else {
			g.seg(f, false, flACK, s, f.srcv, d)
			if f.holeLen == 0 || ctcp {
				if f.crcv == s {
					f.crcv = f.sseq
				}
			}
		}
		f.i++
		f.left--
		f.next += g.jit(300 * time.Microsecond)
		switch {
		case f.holeLen > 0 && !lost && !ctcp:
			f.state = 6 // dup ACK
		case f.i%2 == 0 || f.left == 0:
			f.state = 5
		}
		if f.left == 0 && f.state == 4 {
			f.state = 5
		}
	case 5: // client ACK (cTCP: small ESP carrying the inner ACK)
		if ctcp {
			d := g.ctcpData(f, true, 52)
			s := f.cseq
			f.cseq += uint32(len(d))
			g.seg(f, true, flPSH|flACK, s, f.crcv, d)
			if f.stall && f.i >= f.lossAt && f.holeLen == 0 {
				f.hole = s // lost after the capture point, at the proxy
				f.holeLen = len(d)
			} else if f.holeLen == 0 {
				f.srcv = f.cseq
			} else {
				f.dups++
				if f.dups <= 3 {
					f.state = 7 // proxy dup ACK
					f.next += g.jit(f.rtt)
					break
				}
			}
		} else {
			g.seg(f, true, flACK, f.cseq, f.crcv, nil)
		}
		f.next += g.jit(100 * time.Microsecond)
		switch {
		case f.left == 0 && f.holeLen != 0 && ctcp:
			f.state = 9 // stalled: DPD, then gone
			f.i = 0
		case f.left == 0:
			f.state = 10
		case f.state == 5:
			f.state = 4
		}
		if f.state == 4 && f.i%8 == 0 {
			f.next += g.jit(f.rtt)
		}
	case 6: // real TCP receiver: duplicate ACK for the hole
		g.seg(f, true, flACK, f.cseq, f.crcv, nil)
		f.dups++
		f.next += g.jit(100 * time.Microsecond)
		if f.dups == 3 {
			f.state = 8
			f.next += g.jit(f.rtt)
		} else {
			f.state = 4
			if f.left == 0 {
				f.state = 8
			}
		}
	case 7: // proxy duplicate ACK for the cTCP hole
		g.seg(f, false, flACK, f.sseq, f.srcv, nil)
		f.next += g.jit(200 * time.Microsecond)
		f.state = 4
		if f.dups >= 3 || f.left == 0 {
			f.left = 0
			f.state = 9 // headend data stops
			f.i = 0
			f.next += g.jit(8 * time.Second)
		}
	case 8: // fast retransmission, then cumulative ACK
		g.seg(f, false, flACK, f.hole, f.srcv, g.payload(f.holeLen))
		f.crcv = f.sseq
		f.hole, f.holeLen, f.dups = 0, 0, 0
		f.next += g.jit(f.rtt)
		f.state = 5
		if f.left > 0 {
			f.i += f.i % 2 // keep ACK pairing simple
		}
	case 9: // stalled cTCP client: DPD attempts, never acknowledged
		d := g.payload(8 + 28 + 80 + 16)
		out := g.scratch(len(d))
		copy(out, d)
		binary.BigEndian.PutUint32(out[0:], 500<<16|500)
		binary.BigEndian.PutUint32(out[4:], uint32(8+28+80)<<16)
		out[8+17] = ikeV1
		out[8+18] = exInfo
		out[8+19] = flEnc
		out[8+16] = plHash
		binary.BigEndian.PutUint32(out[8+24:], 28+80)
		f.cnt++
		ctcpTrailer(out[8+28+80:8+28+80], f.cnt, 0x4000, ctcpISAKMP)
		g.seg(f, true, flPSH|flACK, f.cseq, f.crcv, out)
		f.cseq += uint32(len(out))
		f.i++
		f.next += g.jit(5 * time.Second)
		if f.i == 3 {
			f.state = 12
		}
	case 10: // client FIN
		g.seg(f, true, flFIN|flACK, f.cseq, f.crcv, nil)
		f.cseq++
		f.next += g.jit(f.rtt)
		f.state = 11
	case 11: // server FIN, ACK
		g.seg(f, false, flFIN|flACK, f.sseq, f.cseq, nil)
		f.sseq++
		f.crcv = f.sseq
		f.next += g.jit(200 * time.Microsecond)
		f.state = 13
	case 13:
		g.seg(f, true, flACK, f.cseq, f.crcv, nil)
		f.state = 12
		f.next += g.jit(time.Second)
	case 12: // replace with a new flow
		i := g.heap.top()
		g.start(i, f.next+g.jit(500*time.Millisecond))
		return false
	}
	return wrote
}
