package samplegen

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// FloodRate is the SYN rate of SYNFlood, in SYNs per second.
const FloodRate = 50_000

// SYNFlood writes a classic pcap (Ethernet) of a SYN flood to w: flows SYNs
// at about FloodRate per second, each from a distinct spoofed source
// address and port (198.18.0.0/15, ports from 1024) to 203.0.113.80:443,
// none answered. Real sessions run through it, shifted so that the
// affected one's handshake comes half-way through the flood (the real
// frames before it are then before the flood): the ctcp-proxy-stall sample (an affected cTCP session
// with its unanswered UDP 500/4500 attempts) and the ctcp-healthy sample.
// The output depends only on flows and seed, and is written as it is
// built: memory use does not depend on flows.
func SYNFlood(w io.Writer, flows int, seed int64) error {
	if flows < 0 {
		return errors.New("negative flow count")
	}
	if int64(flows) > 1<<17*60000 {
		return errors.New("too many flows for distinct source addresses and ports")
	}
	stall := buildStall(&stallOpts{seed: 1, port: 10000, clientNAT: true, udpFallback: true})
	real := mergeFrames(stall.frames, buildHealthy(3).frames)
	// The affected session's SYN (its first TCP frame; Ethernet + IPv4)
	// comes half-way through the flood.
	syn := Start
	for _, f := range stall.frames {
		if len(f.data) > 23 && f.data[23] == 6 {
			syn = f.ts
			break
		}
	}
	shift := time.Duration(flows)*time.Second/FloodRate/2 - syn.Sub(Start)
	pw := capfile.NewPcapWriter(w, "", capfile.Interface{LinkType: linkEthernet, SnapLen: 262144})

	rng := rand.New(rand.NewPCG(uint64(seed), 0xf100d))
	victim := host{mac: macHomeGW, addr: netip.AddrFrom4([4]byte{203, 0, 113, 80}), ttl: 64}
	src := host{mac: macClient, ttl: 240}
	var l4, pkt []byte
	opt := []byte{2, 4, 0x05, 0xb4}
	now := Start
	gap := time.Second / FloodRate
	ri := 0
	for ri < len(real) && real[ri].ts.Add(shift).Before(now) {
		writeRecord(pw, real[ri].ts.Add(shift), real[ri].data)
		ri++
	}
	for i := 0; i < flows; i++ {
		now = now.Add(gap/2 + time.Duration(rng.Int64N(int64(gap)+1)))
		for ri < len(real) && !real[ri].ts.Add(shift).After(now) {
			writeRecord(pw, real[ri].ts.Add(shift), real[ri].data)
			ri++
		}
		// Distinct (address, port) per SYN: an odd multiplier permutes
		// the 17 address bits; the port counts the rounds.
		a := uint32(i) * 0x9e3779b1 & (1<<17 - 1)
		src.addr = netip.AddrFrom4([4]byte{198, 18 + byte(a>>16), byte(a >> 8), byte(a)})
		src.ipid = uint16(rng.Uint32())
		src.ttl = byte(200 + rng.IntN(50))
		sport := uint16(1024 + i>>17)
		l4 = tcpHeader(l4[:0], sport, 443, rng.Uint32(), 0, flSYN, 1024, opt, nil)
		pkt = appendLink(pkt[:0], linkEthernet, &src, &victim, false)
		pkt = appendIP(pkt, &src, &victim, 6, l4, 16)
		writeRecord(pw, now, pkt)
	}
	for ; ri < len(real); ri++ {
		writeRecord(pw, real[ri].ts.Add(shift), real[ri].data)
	}
	return pw.Flush()
}

// writeRecord writes one pcap record; write errors are sticky and surface
// at Flush.
func writeRecord(w *capfile.PcapWriter, ts time.Time, data []byte) {
	_ = w.WritePacket(capfile.Packet{Time: ts.UnixNano(), OrigLen: len(data), Data: data})
}

// mergeFrames merges two time-ordered frame lists (stable: a first on ties).
func mergeFrames(a, b []frame) []frame {
	out := make([]frame, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].ts.Before(a[0].ts) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}
