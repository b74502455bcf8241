//go:build linux

package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/correlate"
)

// correlation is what correlate must say about the two captures of a
// case (client side as A, headend side as B), beyond what the lab's log
// gives: the relation of the two TCP views.
type correlation struct {
	relation string
}

// correlations are the cases whose two captures are correlated, with
// the captures the lab test already made.
var correlations = map[string]correlation{
	"proxy-loss-to-headend": {relation: correlate.RelationTerminated},
	"proxy-loss-to-client":  {relation: correlate.RelationTerminated},
	"proxy-healthy":         {relation: correlate.RelationTerminated},
	"routed-loss":           {relation: correlate.RelationSame},
	"routed-nat":            {relation: correlate.RelationSame},
	"routed-seq-randomizer": {relation: correlate.RelationSeqOffset},
}

// checkCorrelation correlates the client-side and the headend-side
// captures of a case and checks the result against the lab's log (what
// crossed each point, what the router dropped where, the proxy, the NAT,
// the sequence shift) and against tshark (the proxy's duplicate ACKs,
// the lost messages' frames).
func checkCorrelation(t *testing.T, c Case, lg *Log, dir string, w correlation) {
	cpA, cpB := capturePoint(t, lg, ClientSide), capturePoint(t, lg, HeadendSide)
	for _, cp := range []*CaptureLog{cpA, cpB} {
		if cp.KernelDropped > 0 {
			t.Skipf("tcpdump dropped %d packets at the %s point (the machine was loaded): the log cannot judge the correlation; rerun", cp.KernelDropped, cp.Point)
		}
	}
	pathA, pathB := filepath.Join(dir, cpA.File), filepath.Join(dir, cpB.File)
	r, err := correlate.Files(pathA, pathB, correlate.Options{MaxListed: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pairs) != 1 {
		t.Fatalf("%d pairs of sessions, want 1 (verdict %s, unpaired A %v, B %v)", len(r.Pairs), r.Verdict, r.UnpairedA, r.UnpairedB)
	}
	p := r.Pairs[0]
	t.Logf("correlate: verdict %s, clock offset %v (known %v), margin %v; pair A %d %v->%v, B %d %v->%v matched by %s %#x: %s: %s",
		r.Verdict, time.Duration(r.ClockOffset), r.OffsetKnown, time.Duration(r.Margin), p.A.ID, p.A.Client, p.A.Headend, p.B.ID, p.B.Client, p.B.Headend,
		p.MatchedBy, p.SPIs, p.Relation, strings.Join(p.RelationWhy, "; "))
	if len(r.UnpairedA) != 0 || len(r.UnpairedB) != 0 {
		t.Errorf("unpaired sessions: A %v, B %v, want none", r.UnpairedA, r.UnpairedB)
	}

	// The sessions, matched on the ESP SPIs whatever the addresses.
	if p.MatchedBy != correlate.MatchedESPSPI || !slices.Contains(p.SPIs, ClientSPI) || !slices.Contains(p.SPIs, ServerSPI) {
		t.Errorf("matched by %s on %#x, want %s on %#x and %#x", p.MatchedBy, p.SPIs, correlate.MatchedESPSPI, ClientSPI, ServerSPI)
	}
	for _, x := range []struct {
		file            string
		cp              *CaptureLog
		client, headend netip.AddrPort
	}{{"A", cpA, p.A.Client, p.A.Headend}, {"B", cpB, p.B.Client, p.B.Headend}} {
		if x.client.String() != x.cp.Client || x.headend.String() != x.cp.Headend {
			t.Errorf("session %s: %v -> %v, want the %s capture's %s -> %s", x.file, x.client, x.headend, x.cp.Point, x.cp.Client, x.cp.Headend)
		}
	}
	if c.NAT {
		if p.B.Client.Addr().String() != NATAddr || p.B.Client == p.A.Client {
			t.Errorf("behind the NAT the client is %v (before it %v), want %s and another port", p.B.Client, p.A.Client, NATAddr)
		}
		t.Logf("NAT: %s", strings.Join(lg.Rewrites, "; "))
	}

	// The relation of the two TCP views.
	if p.Relation != w.relation {
		t.Errorf("relation %s, want %s: %s", p.Relation, w.relation, strings.Join(p.RelationWhy, "; "))
	}

	// The messages per direction: lost between the points are those
	// that crossed the upstream point and not the downstream one.
	up, down := lg.Directions[0], lg.Directions[1]
	var anyLost bool
	var maxDelay int64
	for _, x := range []struct {
		name           string
		spi            uint32
		from           string // the sender's address in A
		upstream       string // "a" or "b"
		upSeen, dnSeen []uint32
		upPath         string
	}{
		{"client->headend", ClientSPI, cpA.Client, "a", sortedSet(up.ESPSent), up.ESPReceived, pathA},
		{"headend->client", ServerSPI, cpA.Headend, "b", sortedSet(down.ESPSent), down.ESPReceived, pathB},
	} {
		i := slices.IndexFunc(p.Directions[:], func(d correlate.Direction) bool { return d.From.String() == x.from })
		if i < 0 {
			t.Errorf("%s: no direction from %s", x.name, x.from)
			continue
		}
		d := p.Directions[i]
		maxDelay = max(maxDelay, d.Delay.Max)
		var wantLost, both []uint32
		for _, s := range x.upSeen {
			if _, ok := slices.BinarySearch(x.dnSeen, s); ok {
				both = append(both, s)
			} else {
				wantLost = append(wantLost, s)
			}
		}
		var gotLost []uint32
		for _, l := range d.LostMessages {
			gotLost = append(gotLost, l.Seq)
		}
		t.Logf("%s: upstream %s, %d at both, %d lost (first %v), %d generated, %d not judged, delay median %v max %v; the log: %d at both, lost %v; sequence offset %#x (constant %v)",
			x.name, d.Upstream, d.Both, d.Lost, firstLost(d), d.Generated, d.NotJudged, time.Duration(d.Delay.Median), time.Duration(d.Delay.Max),
			len(both), wantLost, d.SeqOffset, d.SeqOffsetConstant)
		if d.Upstream != x.upstream {
			t.Errorf("%s: upstream %q, want %q", x.name, d.Upstream, x.upstream)
		}
		if d.Both != len(both) {
			t.Errorf("%s: %d messages seen at both points, the log says %d", x.name, d.Both, len(both))
		}
		if d.Generated != 0 {
			t.Errorf("%s: %d messages generated between the points, want none", x.name, d.Generated)
		}
		if len(wantLost) == 0 && (d.Lost != 0 || d.FirstLost != nil) {
			t.Errorf("%s: %d messages lost between the points (%v), the log says none", x.name, d.Lost, gotLost)
		}
		// Every lost message the log knows of, unless too near a
		// capture's edge to be judged.
		for _, s := range gotLost {
			if _, ok := slices.BinarySearch(wantLost, s); !ok {
				t.Errorf("%s: ESP %d reported lost between the points; the log says it crossed both", x.name, s)
			}
		}
		if n := len(wantLost) - len(gotLost); n < 0 || n > d.NotJudged || d.Lost != len(gotLost) {
			t.Errorf("%s: lost %d %v, the log says %v (%d not judged)", x.name, d.Lost, gotLost, wantLost, d.NotJudged)
		}
		anyLost = anyLost || d.Lost > 0
		// The router's drops between the points: reported lost, with
		// the frame tshark shows carrying them in the upstream file.
		for _, dr := range lg.Drops {
			if dr.Kind != "tcp" || dr.Direction != x.name || dr.Packets == 0 {
				continue
			}
			k := slices.IndexFunc(d.LostMessages, func(l correlate.Lost) bool { return l.SPI == x.spi && l.Seq == dr.ESPSeq })
			if k < 0 {
				t.Errorf("%s: the router dropped ESP %s #%d on %s; not reported lost between the points", x.name, dr.SPI, dr.ESPSeq, dr.Leg)
				continue
			}
			l := d.LostMessages[k]
			frame, other := l.AFrame, l.BFrame
			if x.upstream == "b" {
				frame, other = l.BFrame, l.AFrame
			}
			fs := filter(wsFrames(t, x.upPath), func(f *wsFrame) bool { return f.num == frame })
			if other != 0 || len(fs) != 1 || !isESP(fs[0], dr.SPI, dr.ESPSeq) {
				t.Errorf("%s: lost ESP #%d at A frame %d, B frame %d: want the frame in %s (upstream) that carries it", x.name, dr.ESPSeq, l.AFrame, l.BFrame, filepath.Base(x.upPath))
			}
		}
		// The TCP views.
		switch {
		case c.SeqShift && x.spi == ClientSPI:
			if !d.SeqOffsetConstant || d.SeqOffset != lg.SeqShift {
				t.Errorf("%s: sequence offset %#x (constant %v), want the randomizer's %#x", x.name, d.SeqOffset, d.SeqOffsetConstant, lg.SeqShift)
			}
		case !c.Proxy:
			if !d.SeqOffsetConstant || d.SeqOffset != 0 {
				t.Errorf("%s: sequence offset %#x (constant %v), want 0", x.name, d.SeqOffset, d.SeqOffsetConstant)
			}
		}
	}
	if want := map[bool]string{true: correlate.VerdictLoss, false: correlate.VerdictNoLoss}[anyLost]; r.Verdict != want {
		t.Errorf("verdict %s, want %s", r.Verdict, want)
	}
	// The same host's clock at both points: an offset within the delay.
	if !r.OffsetKnown || abs64(r.ClockOffset) > maxDelay || abs64(r.ClockOffset) > int64(10*time.Millisecond) {
		t.Errorf("clock offset %v (known %v), want about 0, within the largest delay %v", time.Duration(r.ClockOffset), r.OffsetKnown, time.Duration(maxDelay))
	}

	// Duplicate ACKs: those the proxy sent (tshark's, from its address
	// at each point) were generated between the points, with their
	// frames; no other is attributed to the device between.
	for _, x := range []struct {
		side, path string
		proxy      string
	}{{"a", pathA, proxyIP(lg, true)}, {"b", pathB, proxyIP(lg, false)}} {
		var want []uint64
		if x.proxy != "" {
			want = frameNumbers(filter(wsFrames(t, x.path), func(f *wsFrame) bool { return f.src == x.proxy && f.flag("duplicate_ack") }))
		}
		var got []uint64
		for _, e := range p.Generated {
			if e.Kind == correlate.EventDupAck && e.Side == x.side {
				got = append(got, e.Frames...)
				if e.Count != len(e.Frames) {
					t.Errorf("generated %s: count %d, %d frames", e.Kind, e.Count, len(e.Frames))
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("duplicate ACKs generated between the points, seen in %s: frames %v, want the proxy's %v (tshark)", x.side, got, want)
		}
	}
	for _, e := range p.Absorbed {
		if e.Kind == correlate.EventDupAck {
			t.Errorf("%d duplicate ACKs absorbed between the points (%s frames %v): no device between drops them", e.Count, e.Side, e.Frames)
		}
	}
	// The files in the other order tell the same story.
	if rr, err := correlate.Files(pathB, pathA, correlate.Options{MaxListed: 1 << 20}); err != nil {
		t.Error(err)
	} else if len(rr.Pairs) != 1 || rr.Verdict != r.Verdict || rr.Pairs[0].Relation != p.Relation ||
		lostTotal(rr.Pairs[0]) != lostTotal(p) || abs64(rr.ClockOffset+r.ClockOffset) > 1000 {
		t.Errorf("headend side as A: %d pairs, verdict %s, clock offset %v; want the same story as the client side as A (%s, %s, %d lost, offset %v)",
			len(rr.Pairs), rr.Verdict, time.Duration(rr.ClockOffset), r.Verdict, p.Relation, lostTotal(p), time.Duration(-r.ClockOffset))
	}
	for _, e := range append(slices.Clone(p.Generated), p.Absorbed...) {
		t.Logf("event %s in %s, direction %d: %d (frames %v)", e.Kind, e.Side, e.Dir, e.Count, e.Frames[:min(len(e.Frames), 8)])
	}
}

// proxyIP is the proxy's address as the client side (clientSide) or the
// headend side sees it, "" without a proxy.
func proxyIP(lg *Log, clientSide bool) string {
	if lg.Proxy == nil {
		return ""
	}
	if clientSide {
		return strings.Split(lg.Proxy.Listen, ":")[0]
	}
	return strings.Split(lg.Proxy.Upstream, ":")[0]
}

func lostTotal(p correlate.Pair) int {
	return p.Directions[0].Lost + p.Directions[1].Lost
}

func firstLost(d correlate.Direction) string {
	if d.FirstLost == nil {
		return "none"
	}
	return fmt.Sprintf("ESP %d at A frame %d, B frame %d", d.FirstLost.Seq, d.FirstLost.AFrame, d.FirstLost.BFrame)
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
