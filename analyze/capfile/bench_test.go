package capfile_test

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

const benchPackets = 100_000

// benchInputs returns a pcap, a pcapng, a gzipped and a zstd pcap of benchPackets
// packets of mixed sizes.
func benchInputs() map[string][]byte {
	sizes := []int{60, 1514, 590, 66, 1400}
	recs := make([]rec, benchPackets)
	n := newNG(false).shb(false).idb(1, 0)
	for i := range recs {
		d := payload(sizes[i%len(sizes)], byte(i))
		recs[i] = rec{sec: uint32(1e9 + i/1000), frac: uint32(i % 1000 * 1000), data: d}
		n.epb(0, 1e15+uint64(i)*1000, d)
	}
	p := pcapFile(pcapOpts{network: 1}, recs...)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(p)
	zw.Close()
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	zs := enc.EncodeAll(p, nil)
	enc.Close()
	return map[string][]byte{"pcap": p, "pcapng": n.bytes(), "gzip": gz.Bytes(), "zstd": zs}
}

var (
	sinkData []byte
	sinkInfo capfile.FrameInfo
)

func BenchmarkRead(b *testing.B) {
	inputs := benchInputs()
	for _, name := range []string{"pcap", "pcapng", "gzip", "zstd"} {
		in := inputs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				src, err := capfile.New(bytes.NewReader(in), name)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for src.Next() {
					sinkData, sinkInfo = src.Data(), src.Info()
					n++
				}
				if n != benchPackets || src.Err() != nil {
					b.Fatalf("%d packets, err %v", n, src.Err())
				}
				src.Close()
			}
		})
	}
}

// TestNoAllocs locks in that the per-frame path (Next, Data, Info) does
// not allocate.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large input")
	}
	inputs := benchInputs()
	for _, name := range []string{"pcap", "pcapng", "gzip", "zstd"} {
		src, err := capfile.New(bytes.NewReader(inputs[name]), name)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(50_000, func() {
			if !src.Next() {
				t.Fatal("ran out of packets")
			}
			sinkData, sinkInfo = src.Data(), src.Info()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, allocs)
		}
		src.Close()
	}
}
