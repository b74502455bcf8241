package analyze_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/samplegen"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// sameCapture fails t with the first difference between want (one
// goroutine) and got (threads goroutines).
func sameCapture(t *testing.T, name string, threads int, want, got *analyze.Capture) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	if len(want.Sessions) != len(got.Sessions) {
		t.Fatalf("%s, %d threads: %d sessions, want %d", name, threads, len(got.Sessions), len(want.Sessions))
	}
	for i := range want.Sessions {
		if !reflect.DeepEqual(want.Sessions[i], got.Sessions[i]) {
			t.Fatalf("%s, %d threads: session %d differs:\ngot  %+v\nwant %+v", name, threads, i, *got.Sessions[i], *want.Sessions[i])
		}
	}
	w, g := *want, *got
	w.Sessions, g.Sessions = nil, nil
	t.Fatalf("%s, %d threads: capture differs:\ngot  %+v\nwant %+v", name, threads, g, w)
}

// checkShards analyzes path on one goroutine and on 2, 3 and 8, and
// fails unless every result is the same; it tells whether the shards
// gave up (the capture opens too many conversations).
func checkShards(t *testing.T, path string, opts analyze.Options) (gaveUp bool) {
	t.Helper()
	want, werr := analyze.File(path, opts)
	for _, n := range []int{2, 3, 8} {
		o := opts
		o.Threads = n
		got, err := analyze.FileSharded(path, o)
		if werr != nil {
			// A file that cannot be read gives the same error.
			if err == nil || err.Error() != werr.Error() {
				t.Fatalf("%s, %d threads: error %v, want %v", path, n, err, werr)
			}
			continue
		}
		if errors.Is(err, analyze.ErrShardsGaveUp) {
			gaveUp = true
			if got, err = analyze.File(path, o); err != nil {
				t.Fatalf("%s, %d threads: %v", path, n, err)
			}
		} else if err != nil {
			t.Fatalf("%s, %d threads: %v", path, n, err)
		}
		sameCapture(t, filepath.Base(path), n, want, got)
	}
	return gaveUp
}

// TestShardsSameAsOne checks that a sharded analysis gives exactly the
// single-threaded result, frame and stream numbers, sessions, counters
// and warnings, on every public capture and every committed sample.
func TestShardsSameAsOne(t *testing.T) {
	var paths []string
	if d, err := testcaps.Locate(t); err == nil {
		for _, e := range testcaps.Manifest(t) {
			paths = append(paths, e.Path)
		}
		if len(paths) == 0 {
			t.Fatalf("no public captures listed in %s", d)
		}
	} else {
		t.Logf("%v: only the samples are compared", err)
	}
	paths = append(paths, testcaps.Samples(t)...)
	sharded := 0
	for _, p := range paths {
		if !checkShards(t, p, analyze.Options{}) {
			sharded++
		}
	}
	t.Logf("%d captures compared, %d of them analyzed by shards (the others reach the flow table's bounds)", len(paths), sharded)
	if sharded == 0 {
		t.Fatal("no capture was analyzed by shards")
	}
}

// TestShardsLarge compares the sharded and single-threaded analyses of
// a generated capture of hundreds of concurrent flows with loss, and
// checks that the shards did not give up on it.
func TestShardsLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a large capture")
	}
	path := filepath.Join(t.TempDir(), "large.pcap")
	if err := os.WriteFile(path, largeCapture(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []bool{false, true} {
		if checkShards(t, path, analyze.Options{NoHash: !hash}) {
			t.Fatal("the shards gave up on the generated capture")
		}
	}
}

// TestShardsGiveUp checks the fallback: a SYN flood that may reach the
// table's half-open bound before the next sweep makes the shards give up,
// and File's result is then the single-threaded one, evictions and all.
func TestShardsGiveUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flood.pcap")
	var buf bytes.Buffer
	if err := samplegen.SYNFlood(&buf, 3000, 1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, maxFlows := range []int{0, 500} {
		t.Run(fmt.Sprint("max-flows-", maxFlows), func(t *testing.T) {
			opts := analyze.Options{MaxFlows: maxFlows, Threads: 2}
			_, err := analyze.FileSharded(path, opts)
			if maxFlows == 0 {
				if err != nil {
					t.Fatalf("3,000 half-open conversations, bound 12,288: %v", err)
				}
			} else if !errors.Is(err, analyze.ErrShardsGaveUp) {
				t.Fatalf("3,000 half-open conversations, bound 250: error %v, want %v", err, analyze.ErrShardsGaveUp)
			}
			opts.Threads = 0
			want, err := analyze.File(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Threads = 2
			got, err := analyze.File(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			sameCapture(t, "flood", 2, want, got)
			if maxFlows > 0 && got.Stats.EvictedFlows == 0 {
				t.Fatal("no flow evicted: the fallback was not exercised")
			}
		})
	}
}

// TestShardsEvict checks the sharded idle sweeps: 24,000 short TCP
// connections (closed by FINs, so idle after 60 s) 10 ms apart, some
// with loss, beside a long connection that pauses for two minutes, keep
// the table above idleFloor so the sweeps evict; the shards must evict
// exactly what one goroutine evicts, without giving up.
func TestShardsEvict(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 packets")
	}
	const fin, syn, ack, psh = 0x01, 0x02, 0x10, 0x18
	sv := [4]byte{10, 0, 0, 2}
	lc := [4]byte{10, 0, 0, 1}
	const t0 = int64(1.7e18)
	b := rawPcap()
	lseq := uint32(1000)
	long := func(ts int64) {
		b = rawTCP(b, ts, lc, sv, 40000, 22, lseq, 501, psh, 100)
		lseq += 100
		b = rawTCP(b, ts+1e6, sv, lc, 22, 40000, 501, lseq, ack, 0)
	}
	b = rawTCP(b, t0, lc, sv, 40000, 22, lseq-1, 0, syn, 0)
	b = rawTCP(b, t0+1e5, sv, lc, 22, 40000, 500, lseq, syn|ack, 0)
	const n = 24_000
	for i := range n {
		ts := t0 + int64(i+1)*10e6
		cl := [4]byte{198, 18, byte(i >> 8), byte(i)}
		sp := uint16(1024 + i%50000)
		b = rawTCP(b, ts, cl, sv, sp, 80, 100, 0, syn, 0)
		b = rawTCP(b, ts+1e5, sv, cl, 80, sp, 900, 101, syn|ack, 0)
		b = rawTCP(b, ts+2e5, cl, sv, sp, 80, 101, 901, psh, 50)
		if i%7 == 0 { // a lost segment and its duplicate ACKs
			b = rawTCP(b, ts+3e5, sv, cl, 80, sp, 1001, 151, psh, 100)
			b = rawTCP(b, ts+4e5, cl, sv, sp, 80, 151, 901, ack, 0)
			b = rawTCP(b, ts+5e5, cl, sv, sp, 80, 151, 901, ack, 0)
		}
		b = rawTCP(b, ts+6e5, cl, sv, sp, 80, 151, 901, fin|ack, 0)
		b = rawTCP(b, ts+6e5+1e4, sv, cl, 80, sp, 901, 152, fin|ack, 0)
		// The long connection talks for a minute, pauses for two, and
		// talks again.
		if at := int64(i+1) * 10e6; i%100 == 0 && (at < 60e9 || at > 180e9) {
			long(ts + 7e5)
		}
	}
	path := filepath.Join(t.TempDir(), "evict.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if checkShards(t, path, analyze.Options{}) {
		t.Fatal("the shards gave up")
	}
	c, err := analyze.File(path, analyze.Options{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stats.EvictedFlows < n/2 || c.Stats.TCPStreams != n+1 {
		t.Fatalf("evicted %d, %d streams: want most of the %d short connections evicted idle, and %d streams", c.Stats.EvictedFlows, c.Stats.TCPStreams, n, n+1)
	}
}

// FuzzShards analyzes arbitrary input on one goroutine and on three
// shards: the results (or the errors) must be the same.
func FuzzShards(f *testing.F) {
	for _, s := range testcaps.Samples(f) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 8<<10)])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.pcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, werr := analyze.File(path, analyze.Options{})
		got, err := analyze.File(path, analyze.Options{Threads: 3})
		if werr != nil || err != nil {
			if werr == nil || err == nil || werr.Error() != err.Error() {
				t.Fatalf("errors differ: one goroutine %v, three shards %v", werr, err)
			}
			return
		}
		sameCapture(t, "fuzz.pcap", 3, want, got)
	})
}
