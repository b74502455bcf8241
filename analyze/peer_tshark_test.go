package analyze_test

import (
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// peerFields are the fields TestPeerAgainstTshark asks tshark for.
var peerFields = []string{
	"frame.number", "tcp.stream", "ip.version", "ip.src", "ipv6.src", "tcp.srcport",
	"ip.ttl", "ipv6.hlim", "ip.id", "ip.flags.df", "tcp.flags", "tcp.len", "tcp.seq_raw", "tcp.ack_raw",
	"tcp.options.timestamp.tsval", "tcp.options.sack_le", "tcp.options.mss_val",
	"tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.analysis.duplicate_ack",
	"icmp.type", "icmpv6.type",
}

// tsharkSeg is one TCP segment as tshark decodes it (the innermost
// headers' values).
type tsharkSeg struct {
	frame       uint64
	src         netip.AddrPort
	v4          bool
	ttl         uint8
	id          uint16
	df          bool
	flags       uint16
	n           uint32
	seq, ack    uint32
	ts, sack    bool
	mss         uint16
	wscale      int8
	sackPerm    bool
	dup         bool
	stream      int
	quotedInICM bool
	// short is set for a segment shorter than its own header (no
	// tcp.len): left out of the analysis, by tshark and by us.
	short bool
}

// tsharkSegments runs tshark over path and returns its TCP segments by
// tcp.stream, in frame order.
func tsharkSegments(t *testing.T, path string) map[int][]tsharkSeg {
	rows, err := tsharkColumns(path, peerFields)
	if err != nil && len(rows) == 0 {
		t.Skipf("tshark cannot read the file: %v", err)
	}
	last := func(v string) string {
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			return v[i+1:]
		}
		return v
	}
	num := func(v string) uint64 {
		v = last(v)
		base := 10
		if strings.HasPrefix(v, "0x") {
			v, base = v[2:], 16
		}
		n, _ := strconv.ParseUint(v, base, 64)
		return n
	}
	streams := map[int][]tsharkSeg{}
	for _, cols := range rows {
		f := map[string]string{}
		for i, name := range peerFields {
			f[name] = cols[i]
		}
		if f["tcp.stream"] == "" || f["tcp.seq_raw"] == "" {
			continue
		}
		s := tsharkSeg{
			frame: num(f["frame.number"]), stream: int(num(f["tcp.stream"])),
			v4: last(f["ip.version"]) == "4", flags: uint16(num(f["tcp.flags"])), n: uint32(num(f["tcp.len"])),
			seq: uint32(num(f["tcp.seq_raw"])), ack: uint32(num(f["tcp.ack_raw"])),
			ts: f["tcp.options.timestamp.tsval"] != "", sack: f["tcp.options.sack_le"] != "",
			mss: uint16(num(f["tcp.options.mss_val"])), wscale: -1, sackPerm: f["tcp.options.sack_perm"] != "",
			dup: f["tcp.analysis.duplicate_ack"] != "", quotedInICM: f["icmp.type"] != "" || f["icmpv6.type"] != "",
			short: f["tcp.len"] == "",
		}
		if f["tcp.options.wscale.shift"] != "" {
			s.wscale = int8(num(f["tcp.options.wscale.shift"]))
		}
		src := last(f["ip.src"])
		if s.v4 {
			s.ttl, s.id, s.df = uint8(num(f["ip.ttl"])), uint16(num(f["ip.id"])), last(f["ip.flags.df"]) == "1"
		} else {
			src = last(f["ipv6.src"])
			s.ttl = uint8(num(f["ipv6.hlim"]))
		}
		a, err := netip.ParseAddr(src)
		if err != nil {
			continue
		}
		s.src = netip.AddrPortFrom(a, uint16(num(f["tcp.srcport"])))
		streams[s.stream] = append(streams[s.stream], s)
	}
	return streams
}

// refPeer is the fingerprint of one session computed from tshark's
// fields, by the rules peer.go documents, written again here.
type refPeer struct {
	peer      [2]analyze.PeerStats
	hs        [3]uint64 // SYN, SYN-ACK, ACK frames
	dupSACK   int
	dupTS     int
	dupTTL    analyze.TTLRange
	dupOutIP  int
	requested map[uint64]uint64 // first dup ACK frame -> requested frame
}

func refFingerprint(s *analyze.Session, segs []tsharkSeg) refPeer {
	const syn, ack, fin, rst = 0x02, 0x10, 0x01, 0x04
	ref := refPeer{requested: map[uint64]uint64{}}
	ref.peer[0].SYNWScale, ref.peer[1].SYNWScale = -1, -1
	var synSeen, idSet [2]bool
	var lastID [2]uint16
	var data [2][]tsharkSeg // data segments since the other side last acknowledged everything
	var next [2]uint32      // highest seq+len (+1 for SYN, FIN) so far, 0 none
	var synDir, synAckDir analyze.Dir
	var lastAck [2]uint32
	for _, g := range segs {
		if g.quotedInICM || g.short {
			continue
		}
		d := analyze.HeadendToClient
		if g.src == s.Client {
			d = analyze.ClientToHeadend
		}
		ps := &ref.peer[d]
		idOK := false
		if g.v4 {
			if g.df {
				ps.DF++
			} else {
				ps.NoDF++
			}
			idOK = !g.df || g.id != 0
		}
		if end := g.seq + g.n + uint32(min(1, g.flags&(syn|fin))); next[d] == 0 || int32(end-next[d]) > 0 {
			next[d] = end
		}
		if o := d.Other(); g.flags&ack != 0 && next[o] != 0 && int32(g.ack-next[o]) >= 0 {
			data[o] = data[o][:0] // acknowledged: never requested again
		}
		if g.flags&ack != 0 && g.sack {
			ps.SACKAcks++
			if ps.SACKFrame == 0 {
				ps.SACKFrame = g.frame
			}
		}
		if ref.hs[2] == 0 {
			switch g.flags & (syn | ack | rst) {
			case syn:
				if ref.hs[0] == 0 || d == synDir {
					ref.hs[0], ref.hs[1], synDir = g.frame, 0, d
				}
			case syn | ack:
				if ref.hs[0] != 0 && d != synDir || ref.hs[0] == 0 && (ref.hs[1] == 0 || d == synAckDir) {
					ref.hs[1], synAckDir = g.frame, d
				}
			case ack:
				if ref.hs[1] != 0 && d != synAckDir {
					ref.hs[2] = g.frame
				}
			}
		}
		if g.flags&syn != 0 {
			if !synSeen[d] {
				synSeen[d] = true
				ps.SYNTTL, ps.SYNMSS, ps.SYNSACKPerm, ps.SYNTS, ps.SYNWScale = g.ttl, g.mss, g.sackPerm, g.ts, g.wscale
			}
			continue
		}
		cont := func() bool { step := g.id - lastID[d]; return step != 0 && step <= analyze.IPIDWindow }
		if g.n > 0 {
			ps.DataTTL.Add(g.ttl)
			if g.ts {
				ps.DataTS++
			} else {
				ps.DataNoTS++
			}
			if idOK {
				if idSet[d] && cont() {
					ps.IPIDData++
				}
				lastID[d], idSet[d] = g.id, true
			}
			data[d] = append(data[d], g)
			continue
		}
		if g.flags&(fin|rst) != 0 || g.flags&ack == 0 && !g.dup {
			continue
		}
		ps.AckTTL.Add(g.ttl)
		if g.ts {
			ps.AckTS++
		} else {
			ps.AckNoTS++
		}
		outside := false
		if idOK && idSet[d] {
			if cont() {
				lastID[d] = g.id
			} else {
				outside = true
				ps.IPIDAckOutside++
				if ps.IPIDAckOutsideFrame == 0 {
					ps.IPIDAckOutsideFrame = g.frame
				}
			}
		}
		if !g.dup {
			lastAck[d] = g.ack
			continue
		}
		ps.DupAckTTL.Add(g.ttl)
		ref.dupTTL.Add(g.ttl)
		if g.sack {
			ref.dupSACK++
		}
		if g.ts {
			ref.dupTS++
		}
		if outside {
			ref.dupOutIP++
		}
		// The latest of the other side's last 64 data segments that
		// carried the requested byte.
		o := data[d.Other()]
		req := uint64(0)
		for i := len(o) - 1; i >= max(0, len(o)-64); i-- {
			if g.ack-o[i].seq < o[i].n {
				req = o[i].frame
				break
			}
		}
		ref.requested[g.frame] = req
	}
	if ref.hs[1] == 0 {
		ref.hs[2] = 0
	}
	return ref
}

// TestPeerAgainstTshark computes every session's fingerprints and
// handshake from tshark's decoding of the public captures and compares
// them with ours: the TTL, IP-ID, DF, option and SACK facts of each
// direction, the handshake frames, the duplicate ACKs' fingerprints
// summed over the runs, and each run's RequestedFrame.
func TestPeerAgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs tshark over every public capture")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: skipping the comparison with tshark")
	}
	var tcp []testcaps.Entry
	for _, e := range testcaps.Manifest(t) {
		if e.Status() != "ok" || e.Int("tcp_streams") == 0 {
			continue
		}
		if _, ok := knownDifferences[e.Name]; ok {
			continue // tcp.stream numbers differ
		}
		tcp = append(tcp, e)
	}
	checked := 0
	for _, e := range testcaps.Representative(t, tcp) {
		checked++
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			c, _, err := analyzed(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			streams := tsharkSegments(t, e.Path)
			var sessions, runs, requested, sacks, outside int
			defer func() {
				t.Logf("%d TCP sessions, %d with SACK, %d with ACKs outside the IP-ID series; %d runs, %d with the requested frame",
					sessions, sacks, outside, runs, requested)
			}()
			for _, s := range c.Sessions {
				segs, ok := streams[s.Stream]
				if s.Proto != 6 || !ok {
					continue
				}
				checkPeer(t, s)
				ref := refFingerprint(s, segs)
				sessions++
				for d := range 2 {
					sacks += min(1, int(s.Peer[d].SACKAcks))
					outside += min(1, int(s.Peer[d].IPIDAckOutside))
				}
				for d := range 2 {
					if diff := cmp.Diff(ref.peer[d], s.Peer[d]); diff != "" {
						t.Errorf("stream %d %s: Peer (-tshark +ours):\n%s", s.Stream, analyze.Dir(d).Side(), diff)
					}
				}
				hs := s.Handshake
				if got := [3]uint64{hs.SYNFrame, hs.SYNACKFrame, hs.ACKFrame}; got != ref.hs {
					t.Errorf("stream %d: handshake frames %v, tshark's %v", s.Stream, got, ref.hs)
				}
				if s.RequestsDropped > 0 {
					continue
				}
				var sack, ts, out int
				var ttl analyze.TTLRange
				for _, r := range s.Requests {
					runs++
					requested += min(1, int(r.RequestedFrame))
					sack, ts, out = sack+r.SACK, ts+r.TS, out+r.IPIDOutside
					if r.TTL.N > 0 {
						ttl.Add(r.TTL.Min)
						ttl.Add(r.TTL.Max)
						ttl.N += r.TTL.N - 2
					}
					if want, ok := ref.requested[r.Frames[0]]; !ok || r.RequestedFrame != want {
						t.Errorf("stream %d run at frame %d: requested frame %d, tshark's %d (dup ACK there: %v)", s.Stream, r.Frames[0], r.RequestedFrame, want, ok)
					}
				}
				if sack != ref.dupSACK || ts != ref.dupTS || out != ref.dupOutIP || ttl != ref.dupTTL {
					t.Errorf("stream %d: dup ACKs with SACK %d, TS %d, IP-ID outside %d, TTL %+v; tshark's %d, %d, %d, %+v",
						s.Stream, sack, ts, out, ttl, ref.dupSACK, ref.dupTS, ref.dupOutIP, ref.dupTTL)
				}
			}
		})
	}
	if checked == 0 {
		t.Skip("no public capture with TCP")
	}
}
