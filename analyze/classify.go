package analyze

import (
	"bytes"
	"fmt"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// classifyLimit is how many data segments per direction are inspected to
// recognise a TCP flow's transport. The messages of cTCP candidates are
// framed in every segment (framing.go).
const classifyLimit = 64

// flowClass gathers the content evidence from which a flow's transport is
// decided.
type flowClass struct {
	inspected [2]int // data segments inspected per direction
	full      int    // inspected segments captured in full
	trailer   int    // ...of which end in a valid cTCP trailer
	noBytes   int    // inspected segments with no payload byte captured
	ikeHdr    int    // segments starting with UDP 500->500
	espHdr    int    // segments whose ESP header continues the previous one (same SPI, seq+1)
	notCTCP   bool   // content rules cTCP out: stop collecting ESP facts
	iketcp    bool   // a direction's stream starts with "IKETCP"
	tls       bool   // a direction's first segment is a TLS handshake record
	dtls      int    // DTLS records (UDP)
	espPrev   [2]struct {
		ok       bool
		spi, seq uint32
	}
	// ESP sequence state (espseq.go), set up for flows that carry ESP;
	// the cTCP messages framed at their trailers in the inspected
	// segments that look like cTCP (IKE, or ESP continuing its series:
	// framing.go), with their bytes and those of the fully captured
	// inspected segments.
	esp                                *[2]espTrack
	slab                               *espSlab // where esp comes from (nil: an allocation of its own)
	framedMsgs, framedBytes, fullBytes uint32

	synBy, synAckBy int8 // direction that sent a SYN / SYN-ACK, -1 none
	started         bool
}

func (fc *flowClass) init() {
	if !fc.started {
		fc.started = true
		fc.synBy, fc.synAckBy = -1, -1
	}
}

var iketcpPrefix = []byte("IKETCP")

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// observeTCP inspects one TCP data segment of f sent in direction d.
func (fc *flowClass) observeTCP(f *flow, p *decode.Packet, d Dir, seglen uint32) {
	fc.init()
	b := p.Payload
	first := fc.inspected[d] == 0
	inspect := fc.inspected[d] < classifyLimit
	if inspect {
		fc.inspected[d]++
		if first && bytes.HasPrefix(b, iketcpPrefix) {
			fc.iketcp = true
		}
		if first && len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 {
			fc.tls = true
		}
		switch {
		case len(b) == 0:
			fc.noBytes++
		case len(b) == int(seglen):
			fc.full++
			fc.fullBytes += seglen
			if decode.IsCTCPTrailer(b) {
				fc.trailer++
			}
		}
	} else if fc.notCTCP {
		return
	}
	if fc.notCTCP {
		return
	}
	// The messages, framed in the byte stream: ESP and IKE facts.
	fc.frame(f, p, d, seglen, inspect)
	// Segment heads (the evidence when the snaplen cut the trailers): one
	// UDP(500)+IKE message or one ESP packet per segment at a sender.
	if decode.IsIKEinUDP500(b) {
		fc.ikeHdr++
		return
	}
	if len(b) < 8 {
		return
	}
	spi, sq := be32(b), be32(b[4:])
	pv := &fc.espPrev[d]
	if pv.ok && spi == pv.spi && sq == pv.seq+1 && spi != 0 {
		fc.espHdr++
	}
	pv.ok, pv.spi, pv.seq = true, spi, sq
	// Give up on cTCP once enough fully captured segments lack the
	// trailer, at their end and in the byte stream.
	if inspect && fc.full >= 8 && fc.trailer*10 < fc.full*8 && (uint64(fc.framedBytes)+f.tcp.framePending())*2 < uint64(fc.fullBytes) {
		fc.notCTCP = true
	}
}

// observeUDP inspects one UDP datagram with payload.
func (fc *flowClass) observeUDP(f *flow, p *decode.Packet, d Dir) {
	fc.init()
	s := f.sess
	b := p.Payload
	switch {
	case p.SrcPort == 4500 || p.DstPort == 4500:
		switch {
		case p.PayloadLen == 1 && len(b) == 1 && b[0] == 0xff:
			s.Keepalives[d]++
		case len(b) >= 4 && be32(b) == 0:
			s.IKEPackets[d]++
			if h := fc.hook(); h != nil {
				h.udpMessage(s, MessageIKE, TransportNATT, p, b[4:])
			}
		case len(b) >= 8:
			fc.espHeader(s, d, b, p.Frame)
			if h := fc.hook(); h != nil {
				h.udpMessage(s, MessageESP, TransportNATT, p, b)
			}
		}
	case p.SrcPort == 500 || p.DstPort == 500:
		s.IKEPackets[d]++
		if h := fc.hook(); h != nil {
			h.udpMessage(s, MessageIKE, TransportIKE, p, b)
		}
	case p.SrcPort == 10000 || p.DstPort == 10000:
		if len(b) >= 8 && be32(b) != 0 {
			fc.espHeader(s, d, b, p.Frame)
			if h := fc.hook(); h != nil {
				h.udpMessage(s, MessageESP, TransportIPsecUDP, p, b)
			}
		} else if p.PayloadLen == 1 {
			s.Keepalives[d]++
		}
	case p.SrcPort == 443 || p.DstPort == 443:
		if len(b) >= 3 && b[0] >= 0x14 && b[0] <= 0x17 {
			v := uint16(b[1])<<8 | uint16(b[2])
			if v == 0xfeff || v == 0xfefd || v == 0xfefc || v == 0x0100 {
				fc.dtls++
			}
		}
	}
}

// decide sets the flow's transport from the evidence gathered.
func (fc *flowClass) decide(t *tracker, f *flow) {
	fc.init()
	s := f.sess
	switch s.Proto {
	case decode.ProtoESP:
		s.Transport, s.TransportSure = TransportESP, true
		s.TransportWhy = "IP protocol 50"
	case decode.ProtoUDP:
		ports := func(p uint16) bool {
			return f.a.Port() == p || f.otherPort() == p
		}
		switch {
		case ports(4500):
			s.Transport, s.TransportSure, s.TransportWhy = TransportNATT, true, "UDP port 4500"
		case ports(500):
			s.Transport, s.TransportSure, s.TransportWhy = TransportIKE, true, "UDP port 500"
		case ports(10000):
			s.Transport, s.TransportSure, s.TransportWhy = TransportIPsecUDP, true, "UDP port 10000 (Cisco IPsec over UDP default)"
		case ports(443) && fc.dtls > 0:
			s.Transport, s.TransportSure = TransportDTLS, true
			s.TransportWhy = fmt.Sprintf("DTLS records on UDP 443 (%d)", fc.dtls)
		default:
			s.Transport = TransportUDP
		}
	case decode.ProtoTCP:
		onPort := t.isCTCPPort(f.a.Port()) || t.isCTCPPort(f.otherPort())
		port := f.a.Port()
		if !t.isCTCPPort(port) {
			port = f.otherPort()
		}
		switch {
		case fc.iketcp:
			s.Transport, s.TransportSure = TransportIKETCP, true
			s.TransportWhy = "stream starts with the RFC 8229 \"IKETCP\" prefix"
		case fc.trailer > 0 && fc.trailer*10 >= fc.full*8:
			s.Transport, s.TransportSure = TransportCTCP, true
			s.TransportWhy = fmt.Sprintf("Cisco cTCP trailer on %d of %d fully captured segments", fc.trailer, fc.full)
		case fc.framedMsgs >= 3 && fc.framedBytes*10 >= fc.fullBytes*8:
			// The segments do not end at the messages, but the trailers
			// frame the byte stream: re-segmented in the path.
			s.Transport, s.TransportSure = TransportCTCP, true
			s.TransportWhy = fmt.Sprintf("Cisco cTCP trailers frame the byte stream (%d messages in %d fully captured segments, re-segmented in the path)", fc.framedMsgs, fc.full)
		case fc.espHdr+fc.ikeHdr >= 3 && fc.trailer*10 >= fc.full*8:
			s.Transport, s.TransportSure = TransportCTCP, false
			where := fmt.Sprintf("on TCP port %d", f.servicePort())
			if onPort {
				where = fmt.Sprintf("on cTCP port %d", port)
			}
			s.TransportWhy = fmt.Sprintf("%s; the snaplen cut the trailer off, but %d segments start with an ESP header whose SPI stays constant and whose sequence number rises by one (or with UDP 500->500 + IKE)", where, fc.espHdr+fc.ikeHdr)
		case onPort && fc.espHdr+fc.ikeHdr >= 3:
			// Whole segments without the trailer, but one ESP packet (or
			// IKE) per segment on the cTCP port: a guess.
			s.Transport, s.TransportSure = TransportCTCP, false
			s.TransportWhy = fmt.Sprintf("on cTCP port %d, %d segments start with an ESP header whose SPI stays constant and whose sequence number rises by one (or with UDP 500->500 + IKE), but without Cisco's trailer", port, fc.espHdr+fc.ikeHdr)
		case onPort && fc.full == 0 && fc.noBytes > 0 && fc.noBytes == fc.inspected[0]+fc.inspected[1]:
			s.Transport, s.TransportSure = TransportCTCP, false
			s.TransportWhy = fmt.Sprintf("port-based guess: data on cTCP port %d but no payload bytes captured", port)
		case fc.tls && (f.a.Port() == 443 || f.otherPort() == 443):
			s.Transport = TransportTCP
			s.TransportWhy = "TLS on TCP 443"
		default:
			s.Transport = TransportTCP
		}
		if s.Transport != TransportCTCP {
			// Messages framed in another stream are chance.
			s.ESP, s.IKEPackets, s.Framing = [2]ESPStats{}, [2]uint64{}, [2]Framing{}
		}
	}
}

// otherPort returns the port of the endpoint that is not A.
func (f *flow) otherPort() uint16 {
	return f.b.Port()
}

// servicePort returns the lower of the two ports (the likely service side).
func (f *flow) servicePort() uint16 {
	a, b := f.a.Port(), f.otherPort()
	if a < b {
		return a
	}
	return b
}

// orient decides which endpoint is the client and maps the per-direction
// facts onto client->headend (Dirs[0]) and headend->client (Dirs[1]).
func (t *tracker) orient(f *flow) {
	s := f.sess
	fc := &f.cls
	fc.init()
	clientDir := Dir(0) // direction index (from A) in which the client sends
	switch {
	case s.Proto == decode.ProtoTCP && fc.synBy >= 0:
		clientDir, s.ClientBy = Dir(fc.synBy), "syn"
	case s.Proto == decode.ProtoTCP && fc.synAckBy >= 0:
		clientDir, s.ClientBy = Dir(fc.synAckBy).Other(), "syn"
	default:
		service := func(p uint16) bool {
			switch s.Transport {
			case TransportCTCP:
				return t.isCTCPPort(p)
			case TransportNATT:
				return p == 4500
			case TransportIKE:
				return p == 500
			case TransportIPsecUDP:
				return p == 10000
			case TransportDTLS, TransportTLS:
				return p == 443
			case TransportIKETCP:
				return p == 4500
			}
			return p < 1024
		}
		a, b := service(f.a.Port()), service(f.otherPort())
		switch {
		case s.Proto == decode.ProtoESP:
			s.ClientBy = "first"
		case a && !b:
			clientDir, s.ClientBy = 1, "port"
		case b && !a:
			clientDir, s.ClientBy = 0, "port"
		default:
			s.ClientBy = "first"
		}
	}
	if f.tcp != nil {
		s.BaseSeq = [2]uint32{uint32(f.tcp.half[0].base), uint32(f.tcp.half[1].base)}
	}
	if clientDir == 0 {
		s.Client, s.Headend = f.a, f.b
		return
	}
	s.Client, s.Headend = f.b, f.a
	s.BaseSeq[0], s.BaseSeq[1] = s.BaseSeq[1], s.BaseSeq[0]
	s.Dirs[0], s.Dirs[1] = s.Dirs[1], s.Dirs[0]
	s.ESP[0], s.ESP[1] = s.ESP[1], s.ESP[0]
	s.Framing[0], s.Framing[1] = s.Framing[1], s.Framing[0]
	s.IKEPackets[0], s.IKEPackets[1] = s.IKEPackets[1], s.IKEPackets[0]
	s.Keepalives[0], s.Keepalives[1] = s.Keepalives[1], s.Keepalives[0]
	s.Peer[0], s.Peer[1] = s.Peer[1], s.Peer[0]
	for i := range s.Requests {
		s.Requests[i].By = s.Requests[i].By.Other()
	}
}

// linkAnyConnect marks TLS-on-443 sessions as AnyConnect when the same
// client also sends DTLS on UDP 443 to the same headend address.
func (t *tracker) linkAnyConnect() {
	type pair struct{ c, h [16]byte }
	dtls := map[pair]bool{}
	for _, r := range t.done {
		if s := r.s; s.Transport == TransportDTLS {
			dtls[pair{s.Client.Addr().As16(), s.Headend.Addr().As16()}] = true
		}
	}
	if len(dtls) == 0 {
		return
	}
	for _, r := range t.done {
		s := r.s
		if s.Proto != decode.ProtoTCP || !r.tls || s.Headend.Port() != 443 {
			continue
		}
		if dtls[pair{s.Client.Addr().As16(), s.Headend.Addr().As16()}] {
			s.Transport, s.TransportSure = TransportTLS, true
			s.TransportWhy = "TLS on TCP 443 with DTLS on UDP 443 between the same client and headend"
		}
	}
}
