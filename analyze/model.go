package analyze

import (
	"net/netip"
)

// Transport names what a flow carries. The values are the contract's
// `transport` strings (docs/json.md).
type Transport string

// Transports ctcpdiag recognises.
const (
	TransportCTCP     Transport = "ctcp"            // Cisco IPsec over TCP
	TransportIKETCP   Transport = "ike-tcp"         // RFC 8229 / RFC 9329
	TransportIPsecUDP Transport = "ipsec-udp"       // Cisco IPsec over UDP (UDP 10000)
	TransportNATT     Transport = "nat-t"           // RFC 3947/3948, UDP 4500
	TransportIKE      Transport = "ike"             // IKE on UDP 500
	TransportESP      Transport = "esp"             // IP protocol 50
	TransportTLS      Transport = "anyconnect-tls"  // TLS on TCP 443 with DTLS from the same client
	TransportDTLS     Transport = "anyconnect-dtls" // DTLS on UDP 443
	TransportTCP      Transport = "tcp"             // plain TCP
	TransportUDP      Transport = "udp"             // other UDP (not listed in reports)
)

// IsVPN reports whether t is one of the VPN transports.
func (t Transport) IsVPN() bool {
	return t != TransportTCP && t != TransportUDP && t != ""
}

// Label is the human name of t, as reports write it ("cTCP", "IKE over
// TCP (RFC 8229)"...); an unknown transport is written as it is.
func (t Transport) Label() string {
	switch t {
	case TransportCTCP:
		return "cTCP"
	case TransportIKETCP:
		return "IKE over TCP (RFC 8229)"
	case TransportIPsecUDP:
		return "Cisco IPsec over UDP"
	case TransportNATT:
		return "NAT-T"
	case TransportIKE:
		return "IKE"
	case TransportESP:
		return "ESP"
	case TransportTLS:
		return "AnyConnect TLS"
	case TransportDTLS:
		return "AnyConnect DTLS"
	case TransportTCP:
		return "TCP"
	case TransportUDP:
		return "UDP"
	}
	return string(t)
}

// Dir is a direction within a session: client to headend or back.
type Dir uint8

// The two directions of a session.
const (
	ClientToHeadend Dir = 0
	HeadendToClient Dir = 1
)

// Other returns the opposite direction.
func (d Dir) Other() Dir { return d ^ 1 }

// Side returns "client" for ClientToHeadend (the client sends in that
// direction) and "headend" for HeadendToClient.
func (d Dir) Side() string {
	if d == ClientToHeadend {
		return "client"
	}
	return "headend"
}

// Capture is everything analyze learned from one capture file. It is built
// once and then only read.
type Capture struct {
	// Path is the name the capture was opened under ("-" for stdin).
	Path string
	// SHA256 is the hex SHA-256 of the file's bytes as stored (compressed
	// bytes for a compressed file).
	SHA256 string
	// Size is the number of bytes read from the file as stored.
	Size int64
	// Format is "pcap", "pcap-nsec" or "pcapng".
	Format string
	// Compression is "none", "gzip" or "zstd".
	Compression string
	// LinkTypes lists the link types seen, by name, sorted.
	LinkTypes []string
	// Packets is the number of frames read (Wireshark's frame count).
	Packets uint64
	// Start and End are the first and last timestamps, in nanoseconds since
	// the Unix epoch (0 when there are no packets).
	Start, End int64
	// Warnings are human-readable notes about the input: damage, truncation,
	// undecodable frames, fragments. Sorted by first occurrence.
	Warnings []string
	// Sessions are the TCP connections and the VPN UDP/ESP flows, ordered by
	// first frame. Session.ID is the index in this slice.
	Sessions []*Session
	// Stats are capture-wide counters.
	Stats Stats
}

// Stats are capture-wide counters.
type Stats struct {
	IPPackets    uint64 // frames with an IP header
	TCPPackets   uint64
	UDPPackets   uint64
	ESPPackets   uint64
	NonIP        uint64 // frames without IP (ARP, STP, unknown link types)
	Undecodable  uint64 // frames whose headers could not be decoded
	Fragments    uint64 // IPv4/IPv6 fragments (counted, not reassembled)
	Truncated    uint64 // frames cut by the snaplen inside or before the TCP payload
	TCPStreams   int    // distinct Wireshark tcp.stream values
	EvictedFlows uint64 // flows dropped from the flow table (bound or idle)
	// DroppedSessions counts the sessions of evicted flows that were not
	// interesting enough to list (see Options.MaxFlows): they are counted
	// in TCPStreams and TCP but are not in Capture.Sessions.
	DroppedSessions uint64

	// Wireshark tcp.analysis counts over the whole capture, per frame.
	TCP TCPCounts
}

// TCPCounts are Wireshark's tcp.analysis flag counts (frames flagged).
type TCPCounts struct {
	DupAcks             int `json:"dup_acks"`
	Retransmissions     int `json:"retransmissions"` // includes fast and spurious retransmissions
	FastRetransmissions int `json:"fast_retransmissions"`
	SpuriousRetrans     int `json:"spurious_retransmissions"`
	LostSegments        int `json:"lost_segments"`
	AckedUnseen         int `json:"acked_unseen"`
	OutOfOrder          int `json:"out_of_order"`
	ZeroWindows         int `json:"zero_windows"`
	KeepAlives          int `json:"keep_alives"`
	WindowUpdates       int `json:"window_updates"`
	WindowFull          int `json:"window_full"`
}

// Add adds o to c.
func (c *TCPCounts) Add(o TCPCounts) {
	c.DupAcks += o.DupAcks
	c.Retransmissions += o.Retransmissions
	c.FastRetransmissions += o.FastRetransmissions
	c.SpuriousRetrans += o.SpuriousRetrans
	c.LostSegments += o.LostSegments
	c.AckedUnseen += o.AckedUnseen
	c.OutOfOrder += o.OutOfOrder
	c.ZeroWindows += o.ZeroWindows
	c.KeepAlives += o.KeepAlives
	c.WindowUpdates += o.WindowUpdates
	c.WindowFull += o.WindowFull
}

// Session is one TCP connection (one Wireshark tcp.stream) or one UDP/ESP
// flow between two endpoints.
type Session struct {
	// ID is the index in Capture.Sessions.
	ID int
	// Serial is the frame that opened the session (no frame opens two),
	// so it numbers the sessions in the order the analysis opened them;
	// Message.Session refers to it.
	Serial uint64
	// Stream is Wireshark's tcp.stream (TCP) or udp.stream (UDP) index; -1
	// for ESP, which has none.
	Stream int
	// Proto is the IP protocol (6, 17 or 50).
	Proto uint8
	// Transport is what the flow carries.
	Transport Transport
	// TransportWhy says how the transport was recognised, e.g. "Cisco
	// cTCP trailer on 14 of 14 segments".
	TransportWhy string
	// TransportSure is false when the transport is a guess (port only, or a
	// header pattern without the trailer because the snaplen cut it).
	TransportSure bool

	// Client and Headend are the two endpoints. For ESP the ports are 0.
	Client, Headend netip.AddrPort
	// ClientBy says how the client side was chosen: "syn" (sent the SYN),
	// "port" (the side not on the VPN port), or "first" (sent the first
	// packet).
	ClientBy string

	FirstFrame, LastFrame uint64
	FirstTime, LastTime   int64
	Packets               uint64

	// Dirs holds per-direction facts, indexed by Dir.
	Dirs [2]DirStats

	// Counts are this session's Wireshark tcp.analysis counts.
	Counts TCPCounts

	// Requests are the runs of duplicate ACKs (one run per ack number, each
	// with at least one duplicate ACK) in frame order, capped at
	// MaxRequests; RequestsDropped counts the runs beyond the cap.
	Requests        []DupAckRun
	RequestsDropped int

	// BaseSeq is, per direction, the raw sequence number that relative
	// sequence numbers count from (Wireshark's base_seq: the SYN's seq, or
	// the first seen seq minus one); TCP only.
	BaseSeq [2]uint32

	// ESP holds, for ESP-carrying flows (cTCP, NAT-T, ESP, IPsec over UDP),
	// per direction SPI and sequence facts.
	ESP [2]ESPStats
	// IKEPackets counts IKE messages seen per direction (cTCP, UDP 500/4500).
	IKEPackets [2]uint64
	// Keepalives counts NAT-T keepalives (1-byte 0xFF) or cTCP keepalives
	// per direction.
	Keepalives [2]uint64

	// Reused is set when this TCP session reused the ports of an earlier
	// one (Wireshark's tcp.analysis.reused_ports).
	Reused bool

	// Framing holds, per direction, how the in-order byte stream split
	// into cTCP messages at Cisco's trailer (cTCP candidates only; for
	// them ESP is filled per framed message, not per segment).
	Framing [2]Framing
	// Peer holds, per direction, the fingerprint of the packets sent in
	// that direction: who sent them (the endpoint, or a TCP stack in the
	// path answering in its name). TCP only.
	Peer [2]PeerStats
	// Handshake holds the three-way handshake's frames and times (TCP
	// only; zero where a packet was not seen).
	Handshake Handshake
}

// Handshake is the three-way handshake of a TCP session as captured: the
// client's SYN, the headend's SYN-ACK and the client's first ACK after it.
// Its time split tells where the capture point stands: close to the
// client, SYN to SYN-ACK is the round trip and SYN-ACK to ACK is short;
// close to the headend, the other way round. When the SYN or the SYN-ACK
// was sent more than once, it is the chain the ACK completed (the last SYN
// before the SYN-ACK, the last SYN-ACK before the ACK), so that a
// retransmission timeout does not count as a round trip; the ACK may
// carry data. ACKFrame is 0 without a SYN-ACK.
type Handshake struct {
	SYNFrame, SYNACKFrame, ACKFrame uint64
	SYNTime, SYNACKTime, ACKTime    int64
}

// Framing is how one direction's in-order byte stream split into cTCP
// messages. A cTCP sender puts exactly one message (one ESP packet or one
// UDP 500 + IKE message, each followed by the 16-byte Cisco trailer) in
// each segment; a TCP stack in the path that re-sends the bytes
// (a proxy, a normalizer) re-segments them, so messages share segments
// (Coalesced) or span them (Split).
type Framing struct {
	// Messages counts the cTCP messages framed; ESPMessages and
	// IKEMessages split them by content.
	Messages, ESPMessages, IKEMessages uint64
	// Coalesced counts data segments that carried more than one message
	// (or the end of one and the start of another); CoalescedFrame is the
	// first of them.
	Coalesced      uint64
	CoalescedFrame uint64
	// Split counts messages that spanned more than one segment;
	// SplitFrame is the segment that completed the first of them.
	Split      uint64
	SplitFrame uint64
	// UnframedSegments counts data segments whose bytes could not be
	// framed, UnframedBytes their payload bytes: cut by the snaplen, or
	// in the middle of a message after a hole, before framing found the
	// next trailer. UnframedFrame is the first of them.
	UnframedSegments, UnframedBytes uint64
	UnframedFrame                   uint64
	// Truncated counts the unframed segments cut by the snaplen.
	Truncated uint64
	// Resyncs counts the times framing restarted after a hole in the
	// stream (bytes the capture never saw) or bytes that did not frame.
	Resyncs uint64
}

// PeerStats fingerprints the packets sent in one direction, separately
// for data segments and for pure ACKs, so that packets a TCP stack in the
// path sent in an endpoint's name (a proxy's duplicate ACKs) can be told
// from the endpoint's own (docs/domain.md, "Telling a TCP stack in the
// path from an endpoint").
type PeerStats struct {
	// TTL (IPv4) or hop limit (IPv6) of the data segments, of the pure
	// ACKs and of the duplicate ACKs sent in this direction.
	DataTTL, AckTTL, DupAckTTL TTLRange
	// SYNTTL is the TTL of this direction's SYN or SYN-ACK (0: none seen).
	SYNTTL uint8
	// Timestamps: data segments and pure ACKs with and without the TCP
	// timestamp option (RFC 7323).
	DataTS, DataNoTS, AckTS, AckNoTS uint64
	// SACKAcks counts ACKs carrying SACK blocks (RFC 2018); SACKFrame is
	// the first of them.
	SACKAcks  uint64
	SACKFrame uint64
	// SYN options of this direction's SYN or SYN-ACK: MSS (0: absent),
	// SACK permitted, timestamps, window scale (-1: absent).
	SYNMSS      uint16
	SYNSACKPerm bool
	SYNTS       bool
	SYNWScale   int8
	// IPv4 identification: IPIDData counts data segments whose IP-ID
	// continues this direction's data IP-ID series (within IPIDWindow
	// above the last); IPIDAckOutside counts pure ACKs whose IP-ID lies
	// outside the series of the data segments around them, with
	// IPIDAckOutsideFrame the first; DF counts packets with Don't
	// Fragment set. IPv4 only; packets with DF and IP-ID 0 are left out
	// of the series (peer.go says how it is followed, and its limits).
	IPIDData, IPIDAckOutside uint64
	IPIDAckOutsideFrame      uint64
	DF, NoDF                 uint64
}

// IPIDWindow is how far above the last data segment's IP-ID a packet's
// IP-ID may lie and still continue the same sender's series.
const IPIDWindow = 64

// TTLRange is the range of TTL (hop limit) values of N packets.
type TTLRange struct {
	Min, Max uint8
	N        uint64
}

// Add adds one TTL value to r.
func (r *TTLRange) Add(ttl uint8) {
	if r.N == 0 || ttl < r.Min {
		r.Min = ttl
	}
	if r.N == 0 || ttl > r.Max {
		r.Max = ttl
	}
	r.N++
}

// MaxRequests caps Session.Requests.
const MaxRequests = 512

// MaxRunFrames caps DupAckRun.Frames.
const MaxRunFrames = 32

// DirStats are the facts of one direction of a session.
type DirStats struct {
	Packets      uint64
	DataSegments uint64 // segments (datagrams) with payload
	Bytes        uint64 // payload bytes, from the IP length fields

	FirstDataFrame, LastDataFrame uint64
	FirstDataTime, LastDataTime   int64

	// Frame numbers of the first SYN, FIN and RST sent in this direction (0
	// when none), and the time of the first FIN and RST.
	SYNFrame, FINFrame, RSTFrame uint64
	FINTime, RSTTime             int64

	// LostSegments etc. count the Wireshark flags on segments sent in this
	// direction.
	Counts TCPCounts

	// LostSegmentFrames lists the first frames flagged "previous segment not
	// captured" in this direction (capped at MaxRunFrames).
	LostSegmentFrames []uint64

	// Silence is the longest time this direction sent no data while the
	// other direction kept sending it (see Silence). Open reports whether
	// it lasted until the end of the capture.
	Silence Silence
	// EndSilence is the silence from this direction's last data segment to
	// the end of the capture (always open).
	EndSilence Silence
}

// Silence is a stretch of time in which one direction sent no data while the
// other direction sent OtherSegments data segments.
type Silence struct {
	// FromFrame is the last data frame before the silence (0: none).
	// ToFrame is the first data frame after it; when Open, it is the
	// session's last frame if the session ended (RST, or FIN both ways),
	// and 0 if it lasted until the end of the capture.
	FromFrame, ToFrame uint64
	From, To           int64  // ns
	OtherSegments      uint64 // data segments from the other direction inside the silence
	OtherFirstFrame    uint64 // the first of them
	Open               bool
}

// Duration returns the length of the silence in nanoseconds.
func (s Silence) Duration() int64 { return s.To - s.From }

// ESPStats are the ESP facts of one direction.
type ESPStats struct {
	Packets  uint64
	SPIs     int    // distinct SPIs seen (capped count)
	SPI      uint32 // the last SPI
	FirstSeq uint32
	LastSeq  uint32
	// SeqGaps counts ESP sequence numbers that jumped by more than one (a
	// lost ESP packet, seen from inside the tunnel).
	SeqGaps uint64
	// SeqMissing is the total number of ESP sequence numbers skipped.
	SeqMissing uint64
	// Repeats counts ESP packets whose sequence number was already seen
	// under the same SPI: a tunnel packet sent again (cTCP never does; a
	// real TCP stack carrying it retransmitted it) or captured twice.
	Repeats uint64
	// Late counts ESP packets whose sequence number lay below the highest
	// seen but had not been seen before (reordered, or a gap filled late):
	// they are neither missing nor repeats.
	Late uint64
	// GapFrames lists the frames of the first ESP packets after a gap
	// (capped at MaxRunFrames); FirstMissing is the first sequence number
	// never seen (valid when SeqMissing > 0) and FirstMissingSPI its SPI.
	GapFrames       []uint64
	FirstMissing    uint32
	FirstMissingSPI uint32
	// RepeatFrames lists the frames of the first repeats (capped at
	// MaxRunFrames).
	RepeatFrames []uint64
}

// DupAckRun is one run of duplicate ACKs from one side for one ack number:
// the raw facts from which detect judges a retransmit request.
type DupAckRun struct {
	// By is the direction the duplicate ACKs were sent in (the side asking
	// for the bytes); the data sender is By.Other().
	By Dir
	// Ack is the requested sequence number, relative to the data sender's
	// initial sequence number as Wireshark shows it.
	Ack uint32
	// AckRaw is the absolute ack number.
	AckRaw uint32
	// OrigFrame is the frame whose ACK the duplicates repeat (Wireshark's
	// duplicate_ack_frame).
	OrigFrame uint64
	// Count is the number of duplicate ACKs in the run; Frames lists the
	// first MaxRunFrames of them (Frames[0] is "Dup ACK #1").
	Count  int
	Frames []uint64
	// LastFrame is the frame of the run's last duplicate ACK (of all
	// Count, not only of the listed Frames): with Frames[0] and Count it
	// gives the run's whole extent.
	LastFrame uint64
	// FirstTime and LastTime are the times of the first and last duplicate.
	FirstTime, LastTime int64

	// Facts observed after the first duplicate ACK:

	// CoverFrame is the first later segment from the data sender with
	// seq <= Ack < seq+len (the retransmission that answers), 0 if none.
	CoverFrame uint64
	CoverTime  int64
	// AdvanceFrame is the first later segment from the asking side whose ACK
	// moved past Ack (the hole was filled), 0 if none.
	AdvanceFrame uint64
	AdvanceTime  int64
	// DataAbove counts the data sender's later segments that start above
	// Ack (new data sent past the hole) before the run was answered;
	// DataAboveLastTime is the time of the last one.
	DataAbove         uint64
	DataAboveLastTime int64
	// SenderNextSeqAtRequest is the data sender's highest seq+len (relative)
	// when the first duplicate ACK was seen; SeenBefore is set when it was
	// already beyond Ack: the requested bytes crossed the capture point
	// before the request (lost beyond it).
	SenderNextSeqAtRequest uint32
	SeenBefore             bool
	// NothingOutstanding is set when the data sender had sent nothing
	// beyond Ack when the first duplicate ACK was seen: nothing was missing,
	// the duplicates only acknowledge everything sent (for example repeated
	// ACKs of spurious retransmissions), and they request nothing.
	NothingOutstanding bool
	// LostSegmentFrame is the frame the data sender's direction was flagged
	// "previous segment not captured" for this hole, 0 if none.
	LostSegmentFrame uint64
	// RequestedFrame is the data sender's frame that carried the
	// requested byte (seq <= Ack < seq+len) before the first duplicate
	// ACK, 0 when the capture never saw it (lost before the capture
	// point). Only the data sender's last 64 data segments before the
	// first duplicate ACK, and none the asking side had acknowledged in
	// full before, are looked at (the latest that carried the byte
	// wins): 0 while SeenBefore is set means only that it is not among
	// them (sent earlier, or in a hole the capture missed).
	RequestedFrame uint64

	// Fingerprint of the duplicate ACKs themselves: how many carried SACK
	// blocks, the TCP timestamp option, their TTL range, and how many had
	// an IPv4 IP-ID outside the asking side's data IP-ID series.
	SACK, TS    int
	TTL         TTLRange
	IPIDOutside int
}
