package analyze_test

import (
	"bytes"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
)

const benchPackets = 200_000

var (
	largeOnce sync.Once
	largeCap  []byte
	largeErr  error
)

// largeCapture returns a generated capture of benchPackets packets:
// hundreds of concurrent IPv4/IPv6 flows, cTCP and HTTP, with loss, dup
// ACKs, retransmissions and cTCP stalls.
func largeCapture(b testing.TB) []byte {
	largeOnce.Do(func() {
		var buf bytes.Buffer
		largeErr = samplegen.Large(&buf, benchPackets, 1)
		largeCap = buf.Bytes()
	})
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	return largeCap
}

// BenchmarkAnalyze measures the whole analyze stage (read, decode, track,
// classify) on a generated capture; allocs/op divided by the packet count
// is the per-packet allocation rate.
func BenchmarkAnalyze(b *testing.B) {
	data := largeCapture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	for b.Loop() {
		c, err := analyze.Reader(bytes.NewReader(data), "large.pcap", analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if c.Packets != benchPackets {
			b.Fatalf("got %d packets, want %d", c.Packets, benchPackets)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchPackets, "ns/packet")
	// Allocations are per conversation and per duplicate-ACK run, not per
	// packet; this capture's flows are short (about one conversation per
	// 180 packets), so the rate here is far above a real capture's.
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N)/benchPackets, "allocs/packet")
}

// TestAnalyzeAllocsPerPacket fails when the per-packet path starts
// allocating. The analysis may allocate per flow (flow state, session,
// map growth) and per duplicate-ACK run, and a fixed amount per capture,
// but nothing per packet: the allowance below is that budget, and the
// generated capture has ten times more packets than it allows for.
func TestAnalyzeAllocsPerPacket(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a large capture")
	}
	data := largeCapture(t)
	c, err := analyze.Reader(bytes.NewReader(data), "large.pcap", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, s := range c.Sessions {
		runs += len(s.Requests)
	}
	flows := len(c.Sessions)
	allocs := testing.AllocsPerRun(2, func() {
		if _, err := analyze.Reader(bytes.NewReader(data), "large.pcap", analyze.Options{}); err != nil {
			t.Fatal(err)
		}
	})
	budget := float64(4*flows + 3*runs + 2000)
	t.Logf("%.0f allocations for %d packets, %d flows, %d dup-ACK runs (budget %.0f)", allocs, benchPackets, flows, runs, budget)
	if allocs > budget {
		t.Errorf("%.0f allocations exceed the per-flow budget %.0f: the per-packet path allocates", allocs, budget)
	}
}

// BenchmarkAnalyzeFile analyzes the capture named by CTCPDIAG_BENCH_FILE
// (a real capture too large to commit, e.g. one made by
// scripts/realcap.sh) the way the command does, with --no-hash and with
// the SHA-256, on one goroutine and sharded, for profiling with
// -cpuprofile; it skips when the variable is unset.
func BenchmarkAnalyzeFile(b *testing.B) {
	path := os.Getenv("CTCPDIAG_BENCH_FILE")
	if path == "" {
		b.Skip("CTCPDIAG_BENCH_FILE is not set: no capture to analyze")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts analyze.Options
	}{
		{"no-hash", analyze.Options{NoHash: true}},
		{"no-hash-threads-2", analyze.Options{NoHash: true, Threads: 2}},
		{"no-hash-threads-4", analyze.Options{NoHash: true, Threads: 4}},
		{"sha256", analyze.Options{}},
		{"sha256-threads-2", analyze.Options{Threads: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(st.Size())
			var packets uint64
			for b.Loop() {
				c, err := analyze.File(path, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				packets = c.Packets
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(packets, 1)), "ns/packet")
		})
	}
}
