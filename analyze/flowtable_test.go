package analyze

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

// TestRecentFlowsAgreeWithMap checks the invariant the cache of recent
// flows rests on: whenever the flow in a packet's slot holds the packet,
// it is the flow the packet's key leads to in the table, also while flows
// are evicted and ports reused.
func TestRecentFlowsAgreeWithMap(t *testing.T) {
	pkts := generated(t, 20_000)
	var flood bytes.Buffer
	if err := samplegen.SYNFlood(&flood, 5_000, 2); err != nil {
		t.Fatal(err)
	}
	floodPkts, err := decodeAll(flood.Bytes(), "flood.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, maxFlows := range []int{0, 40, 500} {
		for _, in := range [][]decode.Packet{pkts, floodPkts} {
			tr := newTracker(Options{MaxFlows: maxFlows})
			hits := 0
			for i := range in {
				p := &in[i]
				if f := tr.recent[recentSlot(p.SrcPort, p.DstPort)]; f != nil && f.holds(p) && p.HasTransport {
					m := map[uint8]map[flowKey]*flow{decode.ProtoTCP: tr.tcp, decode.ProtoUDP: tr.udp, decode.ProtoESP: tr.esp}[p.Proto]
					if m[keyFor(p)] != f || !f.linked {
						t.Fatalf("max %d: frame %d: the flow in its slot holds the packet but is not the table's flow for its key", maxFlows, p.Frame)
					}
					hits++
				}
				tr.add(p)
			}
			tr.finish(&Capture{})
			if hits == 0 {
				t.Errorf("max %d: the cache of recent flows never held a packet's flow", maxFlows)
			}
		}
	}
}

// TestReusedTableSameResult checks that an analysis on a flow table left
// by others (maps, flows and arrays reused through spares) gives the same
// result as one on a fresh table.
func TestReusedTableSameResult(t *testing.T) {
	inputs := [][]decode.Packet{generated(t, 300), generated(t, 2_000), generated(t, 101)}
	analyze := func(tr *tracker, pkts []decode.Packet) *Capture {
		for i := range pkts {
			q := pkts[i]
			tr.add(&q)
		}
		c := &Capture{}
		tr.finish(c)
		return c
	}
	run := func(pkts []decode.Packet, opts Options) *Capture {
		return analyze(newTracker(opts), pkts)
	}
	fresh := func(pkts []decode.Packet, opts Options) *Capture {
		return analyze(newTrackerOn(opts, spares.New().(*spare)), pkts)
	}
	for _, opts := range []Options{{}, {MaxFlows: 30}, {Ports: []uint16{443}}} {
		var want []*Capture
		for _, in := range inputs {
			want = append(want, fresh(in, opts))
		}
		var kept []*Capture
		for round := range 3 {
			for i, in := range inputs {
				got := run(in, opts)
				if !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("opts %+v round %d input %d: the result on a reused table differs from a fresh one", opts, round, i)
				}
				kept = append(kept, got)
			}
		}
		// The analyses after a result must not have changed it through
		// the flows they reused.
		for k, got := range kept {
			if !reflect.DeepEqual(got, want[k%len(inputs)]) {
				t.Fatalf("opts %+v: result %d changed after later analyses", opts, k)
			}
		}
	}
}

// TestReleaseBounded checks what an analysis leaves for the next one: an
// empty table, at most maxSpareFlows flows, reset, and not the maps of a
// table that held more flows than that.
func TestReleaseBounded(t *testing.T) {
	pkts := generated(t, 3_000)
	for _, large := range []bool{false, true} {
		sp := spares.New().(*spare)
		tr := newTrackerOn(Options{}, sp)
		for i := range pkts {
			q := pkts[i]
			tr.add(&q)
		}
		if large {
			tr.peak = maxSpareFlows + 1
		}
		tr.finish(&Capture{})
		if tr.spare != nil || tr.tcp != nil {
			t.Errorf("large %v: the tracker still holds its table", large)
		}
		if large && (sp.tcp != nil || sp.udp != nil || sp.esp != nil) {
			t.Errorf("the maps of a table that held %d flows were kept", tr.peak)
		}
		if !large && (sp.tcp == nil || len(sp.tcp)+len(sp.udp)+len(sp.esp) != 0 || sp.done == nil || len(sp.done) != 0) {
			t.Errorf("the kept table is missing or not empty")
		}
		for i, f := range sp.recent {
			if f != nil {
				t.Fatalf("large %v: slot %d of the kept cache of recent flows holds a flow", large, i)
			}
		}
		// After a large table the TCP flows hold the report's sessions
		// (finish leaves them in place), so none is reused.
		if n := len(sp.tcpFlows) + len(sp.flows); (n == 0) != large || n > maxSpareFlows {
			t.Errorf("large %v: %d flows kept for reuse", large, n)
		}
		for _, f := range slices.Concat(sp.tcpFlows, sp.flows) {
			if f.sess != nil || f.linked || f.prev != nil || f.next != nil || f.lastSeen != 0 {
				t.Fatalf("large %v: a kept flow was not reset: %+v", large, f)
			}
			if f.tcp != nil && (f.store == nil || f.store.Packets != 0 || f.store.Requests != nil) {
				t.Fatalf("large %v: a kept TCP flow has no session storage, or it was not reset", large)
			}
		}
	}
}
