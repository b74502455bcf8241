package analyze_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/detect"
)

// Odd but valid capture files (issue 5): each is built in memory, analyzed,
// checked against fixed expectations, and, where tshark is installed,
// compared frame by frame with what tshark makes of the same bytes.

// seg is one TCP segment of a test conversation.
type seg struct {
	fromServer bool
	seq, ack   uint32
	flags      uint16
	n          int // payload bytes
}

const (
	fl4A   = decode.FlagACK
	fl4S   = decode.FlagSYN
	fl4F   = decode.FlagFIN
	fl4PA  = decode.FlagPSH | decode.FlagACK
	cliISN = 1000
	srvISN = 5000
)

// baseConversation is a short connection with one segment the capture
// missed, three duplicate ACKs asking for it, its fast retransmission and
// a clean close.
func baseConversation() []seg { return conversation(100) }

// conversation is baseConversation with data segments of n bytes.
func conversation(n uint32) []seg {
	d := func(i uint32) uint32 { return srvISN + 1 + i*n }
	return []seg{
		{false, cliISN, 0, fl4S, 0},
		{true, srvISN, cliISN + 1, fl4S | fl4A, 0},
		{false, cliISN + 1, srvISN + 1, fl4A, 0},
		{true, d(0), cliISN + 1, fl4PA, int(n)},
		{false, cliISN + 1, d(1), fl4A, 0},
		// d(1) not captured
		{true, d(2), cliISN + 1, fl4PA, int(n)},
		{false, cliISN + 1, d(1), fl4A, 0},
		{true, d(3), cliISN + 1, fl4PA, int(n)},
		{false, cliISN + 1, d(1), fl4A, 0},
		{true, d(4), cliISN + 1, fl4PA, int(n)},
		{false, cliISN + 1, d(1), fl4A, 0},
		{true, d(1), cliISN + 1, fl4PA, int(n)},
		{false, cliISN + 1, d(5), fl4A, 0},
		{false, cliISN + 1, d(5), fl4F | fl4A, 0},
		{true, d(5), cliISN + 2, fl4F | fl4A, 0},
		{false, cliISN + 2, d(5) + 1, fl4A, 0},
	}
}

// baseCounts are the tcp.analysis counts of baseConversation (checked
// against tshark 4.0.17): frames 7, 9 and 11 are duplicate ACKs, frame 6
// follows a segment the capture missed, frame 12 is its fast
// retransmission.
var baseCounts = analyze.TCPCounts{DupAcks: 3, Retransmissions: 1, FastRetransmissions: 1, LostSegments: 1}

var (
	cliAddr4 = [4]byte{10, 0, 0, 1}
	srvAddr4 = [4]byte{10, 0, 0, 2}
)

const (
	cliPort = 51000
	srvPort = 10000
)

// tcpHeader builds a TCP header (with opts, padded with NOPs to 4 bytes)
// and payload for s. A non-nil raw replaces the options unpadded, for
// options whose lengths lie.
func tcpHeader(s seg, opts []byte) []byte {
	sp, dp := uint16(cliPort), uint16(srvPort)
	if s.fromServer {
		sp, dp = dp, sp
	}
	for len(opts)%4 != 0 {
		opts = append(opts, 1)
	}
	h := make([]byte, 20, 20+len(opts)+s.n)
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	binary.BigEndian.PutUint32(h[4:], s.seq)
	binary.BigEndian.PutUint32(h[8:], s.ack)
	h[12] = byte((20+len(opts))/4) << 4
	h[13] = byte(s.flags)
	binary.BigEndian.PutUint16(h[14:], 8192)
	h = append(h, opts...)
	for i := range s.n {
		h = append(h, byte('a'+i%26))
	}
	return h
}

// ipv4Packet wraps l4 in an IPv4 header with the given options (padded to
// 4 bytes with end-of-list).
func ipv4Packet(s seg, ipOpts []byte, l4 []byte) []byte {
	for len(ipOpts)%4 != 0 {
		ipOpts = append(ipOpts, 0)
	}
	hl := 20 + len(ipOpts)
	h := make([]byte, hl, hl+len(l4))
	h[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(h[2:], uint16(hl+len(l4)))
	h[8], h[9] = 64, decode.ProtoTCP
	src, dst := cliAddr4, srvAddr4
	if s.fromServer {
		src, dst = dst, src
	}
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	copy(h[20:], ipOpts)
	var sum uint32
	for i := 0; i < hl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return append(h, l4...)
}

// ipv6Packet wraps l4 in an IPv6 header; a jumbo packet has payload length
// 0 and a hop-by-hop header with the jumbo payload option (RFC 2675).
func ipv6Packet(s seg, jumbo bool, l4 []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	h[6], h[7] = decode.ProtoTCP, 64
	src, dst := 1, 2
	if s.fromServer {
		src, dst = 2, 1
	}
	copy(h[8:], []byte{0x20, 0x01, 0x0d, 0xb8})
	copy(h[24:], []byte{0x20, 0x01, 0x0d, 0xb8})
	h[23], h[39] = byte(src), byte(dst)
	if !jumbo {
		binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
		return append(h, l4...)
	}
	h[6] = 0 // hop-by-hop
	hbh := []byte{decode.ProtoTCP, 0, 0xc2, 4}
	hbh = binary.BigEndian.AppendUint32(hbh, uint32(8+len(l4)))
	return append(append(h, hbh...), l4...)
}

// record is one pcap record.
type record struct {
	ts      int64 // ns, stored with microsecond resolution
	data    []byte
	capLen  int // -1: len(data)
	origLen int // -1: len(data)
}

// pcapBytes writes a little-endian microsecond pcap file.
func pcapBytes(linkType, snaplen uint32, recs []record) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, snaplen)
	b = binary.LittleEndian.AppendUint32(b, linkType)
	for _, r := range recs {
		cl, ol := r.capLen, r.origLen
		if cl < 0 {
			cl = len(r.data)
		}
		if ol < 0 {
			ol = len(r.data)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ts/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.ts%1e9/1e3))
		b = binary.LittleEndian.AppendUint32(b, uint32(cl))
		b = binary.LittleEndian.AppendUint32(b, uint32(ol))
		b = append(b, r.data[:cl]...)
	}
	return b
}

// t0 is the time of the first packet of the test captures.
const t0 = int64(1_700_000_000) * 1e9

// rawRecords turns segments into LINKTYPE_RAW records 1 ms apart.
func rawRecords(segs []seg, build func(i int, s seg) []byte) []record {
	recs := make([]record, len(segs))
	for i, s := range segs {
		recs[i] = record{ts: t0 + int64(i)*1e6, data: build(i, s), capLen: -1, origLen: -1}
	}
	return recs
}

func plain4(_ int, s seg) []byte { return ipv4Packet(s, nil, tcpHeader(s, nil)) }

// oddResult is what a test learns from analyzing a file.
type oddResult struct {
	c     *analyze.Capture
	flags map[uint64]uint16 // tcp.analysis flags per frame
	// Per frame, from capfile and decode: the TCP sequence number and
	// payload length (absent when the frame has no TCP header).
	tcp map[uint64][2]int64
}

// analyzeOdd analyzes b and decodes its frames one by one.
func analyzeOdd(t *testing.T, b []byte) oddResult {
	t.Helper()
	r := oddResult{flags: map[uint64]uint16{}, tcp: map[uint64][2]int64{}}
	c, err := analyze.Reader(bytes.NewReader(b), "odd.pcap", analyze.WithTrace(analyze.Options{}, func(f uint64, fl uint16) { r.flags[f] |= fl }))
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	r.c = c
	src, err := capfile.New(bytes.NewReader(b), "odd.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.NewDecoder()
	for src.Next() {
		info := src.Info()
		p := decode.Packet{Frame: info.Frame, Time: info.Time, CapLen: info.CapLen, OrigLen: info.OrigLen}
		if d.Decode(src.Data(), info.LinkType, &p) == nil && p.HasTransport && p.Proto == decode.ProtoTCP && !p.InError {
			r.tcp[info.Frame] = [2]int64{int64(p.Seq), int64(p.PayloadLen)}
		}
	}
	return r
}

// checkCounts checks the capture-wide facts every test states.
func checkCounts(t *testing.T, r oddResult, packets uint64, streams int, counts analyze.TCPCounts) {
	t.Helper()
	c := r.c
	if c.Packets != packets || c.Stats.TCPStreams != streams {
		t.Errorf("%d packets, %d TCP streams; want %d, %d", c.Packets, c.Stats.TCPStreams, packets, streams)
	}
	got := c.Stats.TCP
	got.KeepAlives, got.WindowUpdates, got.WindowFull, got.ZeroWindows, got.SpuriousRetrans = 0, 0, 0, 0, 0
	if diff := cmp.Diff(counts, got); diff != "" {
		t.Errorf("TCP counts (-want +got):\n%s", diff)
	}
}

// tsharkFlagFields are the tcp.analysis fields compared with ours, frame
// by frame (here and in TestTsharkFrames).
var tsharkFlagFields = []struct {
	name string
	bit  uint16
}{
	{"tcp.analysis.duplicate_ack", analyze.FlagDupAck},
	{"tcp.analysis.retransmission", analyze.FlagRetrans},
	{"tcp.analysis.fast_retransmission", analyze.FlagFastRetx},
	{"tcp.analysis.lost_segment", analyze.FlagLost},
	{"tcp.analysis.ack_lost_segment", analyze.FlagAckedLost},
	{"tcp.analysis.out_of_order", analyze.FlagOutOfOrder},
	{"tcp.analysis.zero_window", analyze.FlagZeroWindow},
}

// compareTshark writes b to a temporary file, runs tshark on it and
// compares the frame count, the TCP stream count, and per frame the TCP
// sequence number, payload length and analysis flags with r. It skips
// (only this comparison) when tshark is not installed.
func compareTshark(t *testing.T, b []byte, ext string, r oddResult) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: skipping the comparison with tshark")
		return
	}
	path := filepath.Join(t.TempDir(), "odd"+ext)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.seq_raw", "-e", "tcp.len"}
	for _, f := range tsharkFlagFields {
		args = append(args, "-e", f.name)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("tshark: %v", err)
	}
	frames, streams := uint64(0), map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < 4+len(tsharkFlagFields) {
			continue
		}
		n, err := strconv.ParseUint(cols[0], 10, 64)
		if err != nil {
			continue
		}
		frames++
		if cols[1] != "" {
			streams[cols[1]] = true
		}
		ours, has := r.tcp[n]
		switch {
		case cols[2] == "" && has:
			t.Errorf("frame %d: tshark has no TCP header, we have seq %d len %d", n, ours[0], ours[1])
		case cols[2] != "" && !has:
			t.Errorf("frame %d: tshark has TCP seq %s len %s, we have no TCP header", n, cols[2], cols[3])
		case cols[2] != "" && (cols[2] != strconv.FormatInt(ours[0], 10) || cols[3] != "" && cols[3] != strconv.FormatInt(ours[1], 10)):
			t.Errorf("frame %d: tshark seq %s len %s, we have %d %d", n, cols[2], cols[3], ours[0], ours[1])
		}
		for i, f := range tsharkFlagFields {
			if theirs, mine := cols[4+i] != "", r.flags[n]&f.bit != 0; theirs != mine {
				t.Errorf("frame %d: tshark %s %v, ours %v", n, f.name, theirs, mine)
			}
		}
	}
	if frames != r.c.Packets || len(streams) != r.c.Stats.TCPStreams {
		t.Errorf("tshark: %d frames, %d TCP streams; we: %d, %d", frames, len(streams), r.c.Packets, r.c.Stats.TCPStreams)
	}
}

// TestOddTimestampsBackwards: a capture whose timestamps go backwards (a
// merged capture, a clock step). Capture start and end are the minimum
// and maximum, the TCP analysis is unchanged (it works in frame order),
// and no silence or duration comes out negative, in analyze or detect.
func TestOddTimestampsBackwards(t *testing.T) {
	segs := baseConversation()
	recs := rawRecords(segs, plain4)
	// Frame 4 is stamped 10 s before frame 1, frame 8 a minute after it,
	// and frames 13-16 (the close) step back 20 s, before all the data.
	recs[3].ts = t0 - 10e9
	recs[7].ts = t0 + 60e9
	for i := 12; i < len(recs); i++ {
		recs[i].ts = t0 - 20e9 + int64(i)*1e6
	}
	b := pcapBytes(101, 65535, recs)
	r := analyzeOdd(t, b)
	checkCounts(t, r, 16, 1, baseCounts)
	c := r.c
	if c.Start != t0-20e9+12e6 || c.End != t0+60e9 {
		t.Errorf("Start %d End %d, want min %d max %d", c.Start, c.End, t0-20e9+12e6, t0+60e9)
	}
	checkNoNegativeDurations(t, c)
	compareTshark(t, b, ".pcap", r)

	// The same with a silence the stall detector would look at: the
	// server keeps sending while the client, asked to retransmit, does
	// not, and the clock steps back in between.
	var s2 []seg
	s2 = append(s2, segs[:5]...)
	for i := range 20 {
		s2 = append(s2, seg{true, srvISN + 201 + uint32(i)*100, cliISN + 1, fl4PA, 100})
	}
	recs = rawRecords(s2, plain4)
	for i := 10; i < len(recs); i++ {
		recs[i].ts = t0 - 30e9 + int64(i)*1e9
	}
	b = pcapBytes(101, 65535, recs)
	r = analyzeOdd(t, b)
	checkNoNegativeDurations(t, r.c)
	compareTshark(t, b, ".pcap", r)
}

// checkNoNegativeDurations checks every time span analyze and detect give
// for c.
func checkNoNegativeDurations(t *testing.T, c *analyze.Capture) {
	t.Helper()
	if c.End < c.Start {
		t.Errorf("capture ends (%d) before it starts (%d)", c.End, c.Start)
	}
	for _, s := range c.Sessions {
		for d, ds := range s.Dirs {
			if ds.Silence.Duration() < 0 {
				t.Errorf("session %d dir %d: silence %+v is negative", s.ID, d, ds.Silence)
			}
			if ds.EndSilence.Duration() < 0 {
				t.Errorf("session %d dir %d: end silence %+v is negative", s.ID, d, ds.EndSilence)
			}
		}
	}
	res, err := detect.Run(c, detect.Config{})
	if err != nil {
		t.Fatalf("detect: %v", err)
	}
	for _, sr := range res.Sessions {
		if sr.TimeToOutcome < 0 {
			t.Errorf("session %d: time to outcome %d is negative", sr.Session.ID, sr.TimeToOutcome)
		}
		if sr.Stall != nil && sr.Stall.Silence.Duration() < 0 {
			t.Errorf("session %d: stall %+v is negative", sr.Session.ID, sr.Stall.Silence)
		}
	}
	texts := []string{res.VerdictWhy}
	for _, f := range res.Findings {
		texts = append(texts, f.Summary)
	}
	for _, rec := range res.Recommendations {
		texts = append(texts, rec.Why)
	}
	for _, s := range texts {
		for _, w := range strings.Fields(s) {
			if len(w) > 1 && w[0] == '-' && w[1] >= '0' && w[1] <= '9' {
				t.Errorf("%q shows a negative figure %q", s, w)
			}
		}
	}
}

// TestOddZeroLengthPackets: records with no captured byte (caplen 0, with
// or without an original length) count as frames and change nothing else.
func TestOddZeroLengthPackets(t *testing.T) {
	recs := rawRecords(baseConversation(), plain4)
	empty := func(ts int64, origLen int) record { return record{ts: ts, data: nil, capLen: 0, origLen: origLen} }
	var all []record
	for i, r := range recs {
		all = append(all, r)
		switch i {
		case 0:
			all = append(all, empty(r.ts+1e3, 60))
		case 6:
			all = append(all, empty(r.ts+1e3, 0), empty(r.ts+2e3, 1514))
		}
	}
	b := pcapBytes(101, 65535, all)
	r := analyzeOdd(t, b)
	checkCounts(t, r, 19, 1, baseCounts)
	if r.c.Stats.TCPPackets != 16 {
		t.Errorf("%d TCP packets, want 16", r.c.Stats.TCPPackets)
	}
	compareTshark(t, b, ".pcap", r)

	// The same on Ethernet, where an empty frame cannot even hold the
	// link header.
	eth := func(_ int, s seg) []byte {
		return append([]byte{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 8, 0}, plain4(0, s)...)
	}
	recs = rawRecords(baseConversation(), eth)
	recs = append(recs[:3], append([]record{empty(recs[2].ts+1e3, 60)}, recs[3:]...)...)
	b = pcapBytes(1, 65535, recs)
	r = analyzeOdd(t, b)
	checkCounts(t, r, 17, 1, baseCounts)
	compareTshark(t, b, ".pcap", r)
}

// TestOddSnaplen: records longer than the snapshot length in the file
// header are accepted whole, as tshark does, and a snapshot length of 0
// (unknown) limits nothing.
func TestOddSnaplen(t *testing.T) {
	for _, snaplen := range []uint32{0, 40, 64} {
		b := pcapBytes(101, snaplen, rawRecords(baseConversation(), plain4))
		r := analyzeOdd(t, b)
		checkCounts(t, r, 16, 1, baseCounts)
		if r.c.Stats.Truncated != 0 || r.tcp[4][1] != 100 {
			t.Errorf("snaplen %d: %d truncated frames, frame 4 payload %d; want 0, 100", snaplen, r.c.Stats.Truncated, r.tcp[4][1])
		}
		compareTshark(t, b, ".pcap", r)
	}
}

// TestOddPcapngBlocks: a pcapng file with blocks of unknown types between
// the packets, and interface description blocks that come after packets
// of earlier interfaces. Unknown blocks are skipped; a late interface is
// used by the packets after it; packets longer than their interface's
// snaplen are accepted whole, as tshark does.
func TestOddPcapngBlocks(t *testing.T) {
	bo := binary.LittleEndian
	var out []byte
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		out = bo.AppendUint32(out, typ)
		out = bo.AppendUint32(out, n)
		out = append(out, body...)
		out = bo.AppendUint32(out, n)
	}
	shb := bo.AppendUint32(nil, 0x1a2b3c4d)
	shb = bo.AppendUint16(shb, 1)
	shb = bo.AppendUint16(shb, 0)
	shb = bo.AppendUint64(shb, ^uint64(0))
	idb := func(linkType uint16, snaplen uint32) []byte {
		b := bo.AppendUint16(nil, linkType)
		b = bo.AppendUint16(b, 0)
		return bo.AppendUint32(b, snaplen)
	}
	epb := func(ifid uint32, ts int64, data []byte) []byte {
		us := uint64(ts / 1e3)
		b := bo.AppendUint32(nil, ifid)
		b = bo.AppendUint32(b, uint32(us>>32))
		b = bo.AppendUint32(b, uint32(us))
		b = bo.AppendUint32(b, uint32(len(data)))
		b = bo.AppendUint32(b, uint32(len(data)))
		return append(b, data...)
	}
	ethHdr := []byte{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 8, 0}
	block(0x0a0d0d0a, shb)
	block(0x7a7a7a7a, []byte("unknown block before any interface"))
	block(1, idb(1, 0)) // interface 0: Ethernet
	for i, s := range baseConversation() {
		ts := t0 + int64(i)*1e6
		switch {
		case i < 6:
			block(6, epb(0, ts, append(append([]byte(nil), ethHdr...), plain4(i, s)...)))
		case i == 6:
			block(0x40000001, []byte{1, 2, 3, 4, 5, 6, 7}) // reserved local-use type
			block(1, idb(101, 64))                         // interface 1: raw IP, after packets; its snaplen is exceeded
			block(6, epb(1, ts, plain4(i, s)))
		case i == 10:
			block(0x00000bad, []byte{0, 0, 0x7e, 0xd9, 9}) // custom block: tshark gives it a frame number
			block(6, epb(1, ts, plain4(i, s)))
		default:
			block(6, epb(1, ts, plain4(i, s)))
		}
	}
	block(0x12345678, []byte("unknown block at the end"))
	r := analyzeOdd(t, out)
	checkCounts(t, r, 17, 1, baseCounts)
	if got := r.c.LinkTypes; len(got) != 2 {
		t.Errorf("link types %v, want two", got)
	}
	compareTshark(t, out, ".pcapng", r)
}

// TestOddIPv6Jumbogram: TCP segments in IPv6 jumbograms (payload length 0
// and a hop-by-hop jumbo payload option, RFC 2675) are analyzed with the
// length the option gives. A jumbo length of 65535 or less is invalid:
// tshark then decodes nothing beyond the IPv6 header, and neither do we.
func TestOddIPv6Jumbogram(t *testing.T) {
	segs := conversation(70000)
	b := pcapBytes(101, 0, rawRecords(segs, func(i int, s seg) []byte {
		return ipv6Packet(s, s.n > 0 || i == 0, tcpHeader(s, nil))
	}))
	r := analyzeOdd(t, b)
	checkCounts(t, r, 16, 1, baseCounts)
	if r.tcp[4][1] != 70000 || r.c.Stats.Undecodable != 0 {
		t.Errorf("frame 4 payload %d, %d undecodable frames; want 70000, 0", r.tcp[4][1], r.c.Stats.Undecodable)
	}
	compareTshark(t, b, ".pcap", r)

	// Short jumbograms: the data segments vanish from the analysis.
	segs = baseConversation()
	b = pcapBytes(101, 0, rawRecords(segs, func(i int, s seg) []byte {
		return ipv6Packet(s, s.n > 0, tcpHeader(s, nil))
	}))
	r = analyzeOdd(t, b)
	if _, ok := r.tcp[4]; ok || r.c.Stats.TCPPackets != 11 || r.c.Stats.IPPackets != 16 {
		t.Errorf("short jumbogram decoded as TCP (%v), %d TCP of %d IP packets; want 11 of 16", ok, r.c.Stats.TCPPackets, r.c.Stats.IPPackets)
	}
	compareTshark(t, b, ".pcap", r)
}

// TestOddIPv4Options: IPv4 headers longer than 20 bytes (IHL > 5) are
// skipped by their length, whatever the options hold.
func TestOddIPv4Options(t *testing.T) {
	opts := [][]byte{
		{0x94, 4, 0, 0},                               // router alert
		{1, 1, 1, 0},                                  // NOPs, end of list
		{0x44, 12, 5, 0, 0, 0, 0, 1, 0, 0, 0, 2},      // timestamp
		append([]byte{7, 39, 4}, make([]byte, 36)...), // record route, 40 bytes of options (IHL 15)
		{0x83, 0}, // loose source route whose length lies (0)
	}
	b := pcapBytes(101, 65535, rawRecords(baseConversation(), func(i int, s seg) []byte {
		return ipv4Packet(s, opts[i%len(opts)], tcpHeader(s, nil))
	}))
	r := analyzeOdd(t, b)
	checkCounts(t, r, 16, 1, baseCounts)
	if r.tcp[4][1] != 100 || r.tcp[6][0] != srvISN+201 {
		t.Errorf("frame 4 payload %d, frame 6 seq %d; want 100, %d", r.tcp[4][1], r.tcp[6][0], srvISN+201)
	}
	compareTshark(t, b, ".pcap", r)
}

// TestOddTCPOptionLengths: TCP options whose length field lies (0, 1, or
// running past the header) end the option parsing; the segment itself is
// still analyzed, its header length coming from the data offset.
func TestOddTCPOptionLengths(t *testing.T) {
	opts := [][]byte{
		{2, 4, 0x05, 0xb4, 3, 0, 7, 1},        // MSS, then window scale with length 0
		{8, 1, 0, 0},                          // timestamps with length 1
		{1, 1, 5, 40, 0, 0, 0, 0},             // SACK running past the header
		{2, 0},                                // MSS with length 0
		{4},                                   // SACK permitted cut by the data offset
		{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, // valid timestamps, for contrast
	}
	b := pcapBytes(101, 65535, rawRecords(baseConversation(), func(i int, s seg) []byte {
		return ipv4Packet(s, nil, tcpHeader(s, opts[i%len(opts)]))
	}))
	r := analyzeOdd(t, b)
	checkCounts(t, r, 16, 1, baseCounts)
	if r.tcp[4][1] != 100 {
		t.Errorf("frame 4 payload %d, want 100", r.tcp[4][1])
	}
	compareTshark(t, b, ".pcap", r)
}

// TestOddResentBackInTime: a missed segment that turns up with a timestamp
// just before the segment (or duplicate ACK) it is compared with. Wireshark
// measures "how soon after" in an unsigned integer, so a negative gap is
// "long after": a retransmission, not out of order, and no fast
// retransmission (found on real kernel traffic captured on a veth, where
// timestamps step back by microseconds).
func TestOddResentBackInTime(t *testing.T) {
	d := func(i uint32) uint32 { return srvISN + 1 + i*100 }
	handshake := []seg{
		{false, cliISN, 0, fl4S, 0},
		{true, srvISN, cliISN + 1, fl4S | fl4A, 0},
		{false, cliISN + 1, srvISN + 1, fl4A, 0},
		{true, d(0), cliISN + 1, fl4PA, 100},
		{false, cliISN + 1, d(1), fl4A, 0},
		// d(1) not captured
		{true, d(2), cliISN + 1, fl4PA, 100},
	}
	resent := seg{true, d(1), cliISN + 1, fl4PA, 100}
	dupAck := seg{false, cliISN + 1, d(1), fl4A, 0}
	for _, tc := range []struct {
		name   string
		segs   []seg
		offset int64 // ns from the frame before to the resent segment
		counts analyze.TCPCounts
	}{
		// 100 us after d(2), within the handshake's 2 ms RTT.
		{"after", append(slices.Clone(handshake), resent), 100e3, analyze.TCPCounts{LostSegments: 1, OutOfOrder: 1}},
		// 2 us before d(2).
		{"before", append(slices.Clone(handshake), resent), -2e3, analyze.TCPCounts{LostSegments: 1, Retransmissions: 1}},
		// 2 us before the second duplicate ACK asking for it: not a
		// fast retransmission; 1.998 ms after d(2), so out of order.
		{"before-dup-ack", append(slices.Clone(handshake), dupAck, dupAck, resent), -2e3, analyze.TCPCounts{LostSegments: 1, DupAcks: 2, OutOfOrder: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := rawRecords(tc.segs, plain4)
			n := len(recs)
			recs[n-1].ts = recs[n-2].ts + tc.offset
			b := pcapBytes(101, 65535, recs)
			r := analyzeOdd(t, b)
			checkCounts(t, r, uint64(n), 1, tc.counts)
			compareTshark(t, b, ".pcap", r)
		})
	}
}
