package analyze

import (
	"net/netip"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// MessageKind says what a Message is.
type MessageKind uint8

// Message kinds.
const (
	// MessageESP is one ESP packet: a cTCP message (after framing), the
	// payload of a NAT-T or Cisco IPsec over UDP datagram, or an IP
	// protocol 50 packet.
	MessageESP MessageKind = iota + 1
	// MessageIKE is one IKE message: in UDP 500, after the non-ESP
	// marker on UDP 4500, or framed in cTCP.
	MessageIKE
	// MessageTCP is one TCP control segment: a SYN, FIN or RST, or a
	// segment Wireshark flags as a duplicate ACK or a keep-alive.
	MessageTCP
	// MessageData is the first data segment of a TCP direction whose
	// SYN the capture holds, when it carries at least dataHashLen bytes
	// (captured) from the stream's first byte: DataHash is a hash of
	// those bytes. A retransmission of it is handed over again.
	MessageData
)

// dataHashLen is how many bytes from a stream's start MessageData
// hashes: with a TLS hello, the first 21 bytes of its random (which
// starts at byte 11); few enough to sit in the first segment of any
// real stream.
const dataHashLen = 32

// dataHash is FNV-1a (64-bit) of b.
func dataHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Message is one message as the analysis meets it, handed to
// Options.OnMessage. The Message is reused from one call to the next:
// the callee must copy what it keeps.
type Message struct {
	// Session is the Session.Serial of the session that carries it.
	Session uint64
	Kind    MessageKind
	// Carrier is the transport the message came in: TransportCTCP for
	// any TCP flow (framed as cTCP; the session's final Transport says
	// whether it was), TransportNATT, TransportIPsecUDP, TransportIKE
	// (UDP 500) or TransportESP.
	Carrier Transport
	// Src and Dst are the sender and the receiver.
	Src, Dst netip.AddrPort
	// FirstFrame and LastFrame are the frames that carried the
	// message's first and last byte (equal unless cTCP split it); Time
	// is LastFrame's time, in nanoseconds since the Unix epoch (for a
	// Partial message cut by a hole in the stream, LastFrame is
	// FirstFrame and Time the time of the segment after the hole).
	FirstFrame, LastFrame uint64
	Time                  int64
	// TTL and IPID are LastFrame's IP TTL (hop limit) and IPv4
	// identification.
	TTL  uint8
	IPID uint16
	// Len is the message's length in bytes: for cTCP with its trailer,
	// else the transport payload (from the IP length fields).
	Len uint32
	// SPI and Seq are the ESP SPI and sequence number (MessageESP).
	SPI, Seq uint32
	// IKE header (MessageIKE, when HasIKE): the initiator's and the
	// responder's SPI (IKEv1 cookies), the message ID, the exchange
	// type and the flags. Framed in cTCP, only the first four bytes of
	// ISPI (its high 32 bits) and the message ID are kept: RSPI,
	// Exchange and IKEFlags are zero there.
	HasIKE     bool
	ISPI, RSPI uint64
	MsgID      uint32
	Exchange   uint8
	IKEFlags   uint8
	// TCPSeq is, for a cTCP message, the raw TCP sequence number of its
	// first byte, and TCPAck the ACK number of LastFrame; for MessageTCP
	// the segment's sequence and ACK numbers, with TCPFlags its flags
	// (decode.Flag*).
	TCPSeq, TCPAck uint32
	TCPFlags       uint16
	// DupAck and KeepAlive are Wireshark's flags on a MessageTCP.
	DupAck, KeepAlive bool
	// DataHash is a MessageData's hash of the stream's first
	// dataHashLen bytes in its direction.
	DataHash uint64
	// Partial is set for a cTCP message whose end the capture did not
	// hold (a hole in the stream, or the snaplen): its ESP header was
	// read, its length is unknown.
	Partial bool
	// Late is set for a cTCP message framed from a segment captured
	// after the bytes that follow it.
	Late bool
}

// msgHook is the tracker-wide state of Options.OnMessage; it lives in
// the espSlab that every flow of the tracker points to, so that flows
// carry no pointer of their own for it.
type msgHook struct {
	on  func(*Message)
	msg Message
}

// begin fills the fields of the hook's Message that come from p and
// the session, and returns it.
func (h *msgHook) begin(s *Session, kind MessageKind, carrier Transport, p *decode.Packet) *Message {
	m := &h.msg
	*m = Message{
		Session: s.Serial, Kind: kind, Carrier: carrier,
		Src: p.SrcAddrPort(), Dst: p.DstAddrPort(),
		FirstFrame: p.Frame, LastFrame: p.Frame, Time: p.Time,
		TTL: p.TTL, IPID: p.IPID, Len: uint32(max(0, p.PayloadLen)),
	}
	return m
}

// ikeHeader fills m's IKE fields from b, the IKE header (28 bytes at
// least; shorter leaves them unset).
func (m *Message) ikeHeader(b []byte) {
	if len(b) < 28 {
		return
	}
	m.HasIKE = true
	m.ISPI = uint64(be32(b))<<32 | uint64(be32(b[4:]))
	m.RSPI = uint64(be32(b[8:]))<<32 | uint64(be32(b[12:]))
	m.Exchange, m.IKEFlags = b[18], b[19]
	m.MsgID = be32(b[20:])
}

// hook returns the tracker's message hook, nil when Options.OnMessage
// is not set.
func (fc *flowClass) hook() *msgHook {
	if fc.slab == nil {
		return nil
	}
	return fc.slab.hook
}

// udpMessage hands an ESP or IKE datagram (UDP 500, 4500, 10000, or IP
// protocol 50) to the hook; b starts at the ESP or IKE header.
func (h *msgHook) udpMessage(s *Session, kind MessageKind, carrier Transport, p *decode.Packet, b []byte) {
	m := h.begin(s, kind, carrier, p)
	if kind == MessageESP {
		if len(b) < 8 {
			return
		}
		m.SPI, m.Seq = be32(b), be32(b[4:])
	} else {
		m.ikeHeader(b)
	}
	h.on(m)
}

// How a cTCP message was framed, for ctcpMessage.
const (
	msgPartial uint8 = 1 << iota // its end was not captured
	msgHole                      // ...because of a hole in the stream, found in segment x
	msgLate                      // framed by frameLate
)

// ctcpMessage hands the cTCP message the framer fr just ended (or lost)
// to the hook; x is the segment in which it ends; how is a set of msg*
// bits.
func (h *msgHook) ctcpMessage(x *frameCtx, fr *framer, how uint8) {
	m := h.begin(x.s, MessageESP, TransportCTCP, x.p)
	m.FirstFrame, m.LastFrame, m.TCPSeq, m.TCPAck, m.Len = fr.msgFrame, x.frame, fr.msgSeq, x.p.Ack, fr.got
	m.Partial, m.Late = how&msgPartial != 0, how&msgLate != 0
	if m.Partial {
		m.Len = 0
	}
	if how&msgHole != 0 {
		// Its last captured byte was before x: its last frame is not
		// known, its time is x's.
		m.LastFrame = fr.msgFrame
	}
	if fr.kind == kindIKE {
		// header keeps the IKE SPI's first 4 bytes in spi, the message
		// ID in sq (0 when the header was cut).
		m.Kind = MessageIKE
		if fr.spi != 0 {
			m.HasIKE, m.ISPI, m.MsgID = true, uint64(fr.spi)<<32, fr.sq
		}
	} else {
		m.SPI, m.Seq = fr.spi, fr.sq
	}
	h.on(m)
}
