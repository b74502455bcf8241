package capfile_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// frame is what a test expects of one frame.
type frame struct {
	Info capfile.FrameInfo
	Data []byte
}

// readAll reads every frame of b; it fails the test if New fails.
func readAll(t *testing.T, b []byte) ([]frame, *capfile.Source) {
	t.Helper()
	src, err := capfile.New(bytes.NewReader(b), "test.cap")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	var got []frame
	for src.Next() {
		if len(src.Data()) != src.Info().CapLen {
			t.Fatalf("frame %d: len(Data) %d != CapLen %d", src.Info().Frame, len(src.Data()), src.Info().CapLen)
		}
		got = append(got, frame{src.Info(), bytes.Clone(src.Data())})
	}
	return got, src
}

const (
	ts1 = 1_600_000_000
	ns  = int64(1e9)
)

func TestPcapVariants(t *testing.T) {
	d1, d2 := payload(60, 1), payload(1514, 7)
	for _, tc := range []struct {
		name   string
		be     bool
		nsec   bool
		format string
	}{
		{"le-usec", false, false, "pcap"},
		{"be-usec", true, false, "pcap"},
		{"le-nsec", false, true, "pcap-nsec"},
		{"be-nsec", true, true, "pcap-nsec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frac1, frac2, mult := uint32(123456), uint32(999999), int64(1000)
			if tc.nsec {
				frac1, frac2, mult = 123456789, 999999999, 1
			}
			file := pcapFile(pcapOpts{be: tc.be, nsec: tc.nsec, snaplen: 65535, network: 1},
				rec{sec: ts1, frac: frac1, data: d1},
				rec{sec: ts1 + 1, frac: frac2, data: d2, origLen: 2000})
			got, src := readAll(t, file)
			if err := src.Err(); err != nil {
				t.Fatalf("Err: %v", err)
			}
			want := []frame{
				{capfile.FrameInfo{Frame: 1, Time: ts1*ns + int64(frac1)*mult, CapLen: 60, OrigLen: 60, LinkType: 1}, d1},
				{capfile.FrameInfo{Frame: 2, Time: (ts1+1)*ns + int64(frac2)*mult, CapLen: 1514, OrigLen: 2000, LinkType: 1}, d2},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			if src.Format() != tc.format || src.Compression() != "none" {
				t.Errorf("Format %q Compression %q, want %q none", src.Format(), src.Compression(), tc.format)
			}
			sum := sha256.Sum256(file)
			if src.SHA256() != hex.EncodeToString(sum[:]) || src.Size() != int64(len(file)) {
				t.Errorf("SHA256 %s Size %d, want %x %d", src.SHA256(), src.Size(), sum, len(file))
			}
			if src.Frames() != 2 {
				t.Errorf("Frames = %d, want 2", src.Frames())
			}
		})
	}
}

func TestPcapOffset(t *testing.T) {
	file := pcapFile(pcapOpts{network: 1}, rec{data: payload(10, 0)}, rec{data: payload(20, 0)})
	src, err := capfile.New(bytes.NewReader(file), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i, want := range []int64{24, 24 + 16 + 10, 24 + 16 + 10 + 16 + 20} {
		if got := src.Offset(); got != want {
			t.Errorf("Offset before frame %d = %d, want %d", i+1, got, want)
		}
		src.Next()
	}
}

// Pcap version 2.2 files have the two lengths the other way round.
func TestPcapSwappedLengths(t *testing.T) {
	d := payload(40, 0)
	// Written with caplen and origlen swapped: the "caplen" field holds 1500.
	file := pcapFile(pcapOpts{major: 2, minor: 2, network: 1}, rec{data: d, capLen: 1500, origLen: 40})
	got, src := readAll(t, file)
	if src.Err() != nil || len(got) != 1 || got[0].Info.CapLen != 40 || got[0].Info.OrigLen != 1500 {
		t.Fatalf("got %+v, err %v; want one frame of 40 of 1500 bytes", got, src.Err())
	}
}

func TestPcapSnaplen(t *testing.T) {
	// snaplen 0, and a record longer than the snaplen: both accepted, as tshark does.
	for _, snap := range []uint32{0, 64} {
		file := pcapFile(pcapOpts{snaplen: snap, network: 1}, rec{data: payload(100, 0)}, rec{data: payload(30, 0)})
		got, src := readAll(t, file)
		if src.Err() != nil || len(got) != 2 || got[0].Info.CapLen != 100 {
			t.Errorf("snaplen %d: %d frames, err %v", snap, len(got), src.Err())
		}
	}
}

func TestPcapngBigEndianResolution(t *testing.T) {
	n := newNG(true).shb(true)
	tsresol := n.opt(9, []byte{9})                              // nanoseconds
	tsoff := n.opt(14, binary.BigEndian.AppendUint64(nil, 100)) // +100 s
	n.idb(1, 0, tsresol, tsoff)
	n.idb(101, 0, n.opt(9, []byte{0x80 | 10})) // 2^-10 s
	n.epb(0, uint64(ts1)*1e9+123456789, payload(60, 0))
	n.epb(1, 3*1024+512, payload(40, 0))
	got, src := readAll(t, n.bytes())
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	want := []capfile.FrameInfo{
		{Frame: 1, Time: (ts1+100)*ns + 123456789, CapLen: 60, OrigLen: 60, LinkType: 1, Iface: 0},
		{Frame: 2, Time: 3*ns + ns/2, CapLen: 40, OrigLen: 40, LinkType: 101, Iface: 1},
	}
	if diff := cmp.Diff(want, infos(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if src.Format() != "pcapng" {
		t.Errorf("Format = %q", src.Format())
	}
}

func infos(fs []frame) []capfile.FrameInfo {
	var out []capfile.FrameInfo
	for _, f := range fs {
		out = append(out, f.Info)
	}
	return out
}

// Two sections of opposite byte orders; interfaces restart in the second
// section but Iface numbers them across the file.
func TestPcapngSections(t *testing.T) {
	n := newNG(false).shb(false).idb(1, 0).idb(113, 0)
	n.epb(1, 1e6, payload(20, 0)).epb(0, 2e6, payload(21, 0))
	n.shb(true).idb(0, 0)
	n.epb(0, 3e6, payload(22, 0))
	got, src := readAll(t, n.bytes())
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	want := []capfile.FrameInfo{
		{Frame: 1, Time: 1 * ns, CapLen: 20, OrigLen: 20, LinkType: 113, Iface: 1},
		{Frame: 2, Time: 2 * ns, CapLen: 21, OrigLen: 21, LinkType: 1, Iface: 0},
		{Frame: 3, Time: 3 * ns, CapLen: 22, OrigLen: 22, LinkType: 0, Iface: 2},
	}
	if diff := cmp.Diff(want, infos(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// SPB (caplen limited by the snaplen, no timestamp), obsolete PB, unknown
// and name-resolution blocks skipped, custom/systemd/sysdig blocks using up
// a frame number, a late IDB. Expected values checked against tshark 4.0.17.
func TestPcapngBlocks(t *testing.T) {
	n := newNG(false).shb(false).idb(1, 50)
	n.spb(80, payload(50, 0))                                        // frame 1: 50 of 80 bytes
	n.block(4, []byte{0, 0, 0, 0})                                   // NRB, skipped
	n.block(0x12345678, payload(13, 0))                              // unknown, skipped
	n.pb(0, 7e6, payload(30, 0))                                     // frame 2
	n.block(0xbad, append([]byte{0, 0, 0x7e, 0xd9}, 1))              // frame 3: custom block
	n.idb(101, 0)                                                    // late IDB
	n.epb(1, 8e6, payload(40, 0))                                    // frame 4
	n.block(9, []byte("__REALTIME_TIMESTAMP=1000000\nMESSAGE=hi\n")) // frame 5: systemd journal
	n.block(0x204, payload(36, 0))                                   // frame 6: sysdig event
	n.epb(0, 9e6, payload(44, 0))                                    // frame 7
	got, src := readAll(t, n.bytes())
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	want := []capfile.FrameInfo{
		{Frame: 1, Time: 0, CapLen: 50, OrigLen: 80, LinkType: 1},
		{Frame: 2, Time: 7 * ns, CapLen: 30, OrigLen: 30, LinkType: 1},
		{Frame: 4, Time: 8 * ns, CapLen: 40, OrigLen: 40, LinkType: 101, Iface: 1},
		{Frame: 7, Time: 9 * ns, CapLen: 44, OrigLen: 44, LinkType: 1},
	}
	if diff := cmp.Diff(want, infos(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if src.Frames() != 7 {
		t.Errorf("Frames = %d, want 7", src.Frames())
	}
	if !bytes.Equal(got[0].Data, payload(50, 0)) {
		t.Errorf("SPB data wrong")
	}
}

// A block length that is not a multiple of 4 is rounded up, as tshark does.
func TestPcapngUnpaddedLength(t *testing.T) {
	n := newNG(false).shb(false).idb(1, 0).epb(0, 0, payload(5, 0))
	b := n.bytes()
	// EPB starts after SHB (28) and IDB (20); its length is 28+8+4 = 40.
	epb := 28 + 20
	binary.LittleEndian.PutUint32(b[epb+4:], 37)
	binary.LittleEndian.PutUint32(b[len(b)-4:], 37)
	got, src := readAll(t, b)
	if src.Err() != nil || len(got) != 1 {
		t.Fatalf("%d frames, err %v", len(got), src.Err())
	}
}

func TestCompressed(t *testing.T) {
	inner := pcapFile(pcapOpts{network: 1}, rec{sec: 1, data: payload(100, 0)}, rec{sec: 2, data: payload(200, 0)})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(inner)
	zw.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll(inner, nil)
	enc.Close()
	for _, tc := range []struct {
		name, comp string
		file       []byte
	}{{"gzip", "gzip", gz.Bytes()}, {"zstd", "zstd", zs}} {
		t.Run(tc.name, func(t *testing.T) {
			got, src := readAll(t, tc.file)
			if src.Err() != nil || len(got) != 2 || got[1].Info.Time != 2*ns {
				t.Fatalf("%d frames, err %v", len(got), src.Err())
			}
			if src.Compression() != tc.comp || src.Format() != "pcap" {
				t.Errorf("Compression %q Format %q", src.Compression(), src.Format())
			}
			sum := sha256.Sum256(tc.file)
			if src.SHA256() != hex.EncodeToString(sum[:]) || src.Size() != int64(len(tc.file)) {
				t.Errorf("SHA256/Size not of the stored bytes")
			}
			if src.Offset() != int64(len(inner)) {
				t.Errorf("Offset = %d, want %d (uncompressed)", src.Offset(), len(inner))
			}
		})
		t.Run(tc.name+"-cut", func(t *testing.T) {
			cut := tc.file[:len(tc.file)-20]
			src, err := capfile.New(bytes.NewReader(cut), "c")
			if err != nil {
				if !errors.Is(err, capfile.ErrTruncated) {
					t.Fatalf("New: %v, want ErrTruncated", err)
				}
				return
			}
			defer src.Close()
			for src.Next() {
			}
			if !errors.Is(src.Err(), capfile.ErrTruncated) && !errors.Is(src.Err(), capfile.ErrCorrupt) {
				t.Errorf("Err = %v, want ErrTruncated or ErrCorrupt", src.Err())
			}
			sum := sha256.Sum256(cut)
			if src.SHA256() != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256 not of the whole input")
			}
		})
	}
	// A compressed file inside a compressed file is refused.
	var gz2 bytes.Buffer
	zw = gzip.NewWriter(&gz2)
	zw.Write(gz.Bytes())
	zw.Close()
	if _, err := capfile.New(bytes.NewReader(gz2.Bytes()), "x"); !errors.Is(err, capfile.ErrUnsupported) {
		t.Errorf("gzip in gzip: err %v, want ErrUnsupported", err)
	}
}

func TestHeaderErrors(t *testing.T) {
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	random[0] = 0x55
	pcap := pcapFile(pcapOpts{network: 1})
	ngv2 := newNG(false).shb(false).bytes()
	binary.LittleEndian.PutUint16(ngv2[12:], 2)
	reserved := pcapFile(pcapOpts{network: 0x00300001})
	v1 := pcapFile(pcapOpts{major: 1, network: 1})
	shbOpt := newNG(false).shb(false).bytes()
	// Make the SHB carry an option whose length runs past the block.
	shbOpt = append(shbOpt[:24], 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(shbOpt[4:], 32)
	binary.LittleEndian.PutUint32(shbOpt[28:], 32)
	var emptyGz bytes.Buffer
	zw := gzip.NewWriter(&emptyGz)
	zw.Close()

	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, capfile.ErrEmpty},
		{"empty-gzip", emptyGz.Bytes(), capfile.ErrEmpty},
		{"random", random, capfile.ErrNotCapture},
		{"text", []byte("hello, this is not a capture\n"), capfile.ErrNotCapture},
		{"two-bytes", []byte{0xd4, 0xc3}, capfile.ErrTruncated},
		{"pcap-header-cut", pcap[:10], capfile.ErrTruncated},
		{"pcapng-shb-cut", ngv2[:20], capfile.ErrTruncated},
		{"pcapng-version-2", ngv2, capfile.ErrUnsupported},
		{"pcap-reserved-bits", reserved, capfile.ErrUnsupported},
		{"pcap-version-1", v1, capfile.ErrUnsupported},
		{"shb-option-too-long", shbOpt, capfile.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := capfile.New(bytes.NewReader(tc.file), "bad.cap")
			if err == nil {
				src.Close()
				t.Fatalf("New succeeded, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			var ie *capfile.InputError
			if !errors.As(err, &ie) || ie.File != "bad.cap" || ie.Packet != 0 {
				t.Errorf("err = %#v, want *InputError for bad.cap, packet 0", err)
			}
			if !strings.HasPrefix(err.Error(), "bad.cap: ") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pcap")
	_, err := capfile.Open(missing)
	var ie *capfile.InputError
	if !errors.As(err, &ie) || ie.File != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if strings.Count(err.Error(), missing) != 1 {
		t.Errorf("message %q should name the file once", err)
	}
	_, err = capfile.Open(dir)
	if !errors.As(err, &ie) || ie.File != dir || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	good := filepath.Join(dir, "good.pcap")
	if err := os.WriteFile(good, pcapFile(pcapOpts{network: 1}, rec{data: payload(9, 0)}), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := capfile.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for src.Next() {
		n++
	}
	if n != 1 || src.Err() != nil {
		t.Errorf("%d frames, err %v", n, src.Err())
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestDamageMidFile(t *testing.T) {
	recs := []rec{{sec: 1, data: payload(100, 0)}, {sec: 2, data: payload(100, 0)}, {sec: 3, data: payload(100, 0)}}
	file := pcapFile(pcapOpts{network: 1}, recs...)
	thirdOff := int64(24 + 2*(16+100))
	hugeLie := pcapFile(pcapOpts{network: 1}, recs[0], recs[1], rec{data: payload(10, 0), capLen: 0xfffffff0})
	bigLie := pcapFile(pcapOpts{network: 1}, recs[0], recs[1], rec{data: payload(10, 0), capLen: 200 << 20})

	ngFile := newNG(false).shb(false).idb(1, 0).epb(0, 1, payload(10, 0)).epb(3, 2, payload(10, 0)).bytes()
	ngBadTrailer := newNG(false).shb(false).idb(1, 0).epb(0, 1, payload(10, 0)).epb(0, 2, payload(10, 0)).bytes()
	ngBadTrailer[len(ngBadTrailer)-4]++
	ngShort := newNG(false).shb(false).idb(1, 0).epb(0, 1, payload(10, 0)).raw([]byte{6, 0, 0, 0, 8, 0, 0, 0}).bytes()
	for _, tc := range []struct {
		name   string
		file   []byte
		frames int
		off    int64
		want   error
	}{
		{"cut-in-record", file[:len(file)-30], 2, thirdOff, capfile.ErrTruncated},
		{"cut-in-record-header", file[:thirdOff+5], 2, thirdOff, capfile.ErrTruncated},
		{"caplen-huge", hugeLie, 2, thirdOff, capfile.ErrCorrupt},
		{"caplen-200MiB-in-small-file", bigLie, 2, thirdOff, capfile.ErrTruncated},
		{"pcapng-undefined-interface", ngFile, 1, 28 + 20 + 44, capfile.ErrCorrupt},
		{"pcapng-trailer-mismatch", ngBadTrailer, 1, 28 + 20 + 44, capfile.ErrCorrupt},
		{"pcapng-block-too-short", ngShort, 1, 28 + 20 + 44, capfile.ErrCorrupt},
		{"pcapng-cut", ngFile[:len(ngFile)-3], 1, 28 + 20 + 44, capfile.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			got, src := readAll(t, tc.file)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte file", alloc, len(tc.file))
			}
			if len(got) != tc.frames {
				t.Errorf("%d frames before the error, want %d", len(got), tc.frames)
			}
			err := src.Err()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Err = %v, want %v", err, tc.want)
			}
			var ie *capfile.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Err %T is not an *InputError", err)
			}
			if ie.File != "test.cap" || ie.Packet != uint64(tc.frames+1) || ie.Offset != tc.off {
				t.Errorf("error at %q packet %d offset %d, want test.cap packet %d offset %d (%v)",
					ie.File, ie.Packet, ie.Offset, tc.frames+1, tc.off, err)
			}
			sum := sha256.Sum256(tc.file)
			if src.SHA256() != hex.EncodeToString(sum[:]) || src.Size() != int64(len(tc.file)) {
				t.Errorf("SHA256/Size not of the whole input")
			}
			if src.Next() {
				t.Errorf("Next true after the end")
			}
		})
	}
}

// Records larger than the 1 MiB buffer, and readers that return a byte at
// a time or data with their error, give the same frames.
func TestReaders(t *testing.T) {
	file := pcapFile(pcapOpts{network: 1},
		rec{sec: 1, data: payload(3<<20, 1)}, rec{sec: 2, data: payload(70, 2)}, rec{sec: 3, data: payload(1<<20+5, 3)})
	want, src := readAll(t, file)
	if src.Err() != nil || len(want) != 3 {
		t.Fatalf("%d frames, err %v", len(want), src.Err())
	}
	for name, r := range map[string]io.Reader{
		"one-byte": iotest.OneByteReader(bytes.NewReader(file)),
		"data-err": iotest.DataErrReader(bytes.NewReader(file)),
		"half":     iotest.HalfReader(bytes.NewReader(file)),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := capfile.New(r, "x")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			i := 0
			for s.Next() {
				if i >= len(want) || !bytes.Equal(s.Data(), want[i].Data) || s.Info() != want[i].Info {
					t.Fatalf("frame %d differs", i+1)
				}
				i++
			}
			if i != len(want) || s.Err() != nil {
				t.Errorf("%d frames, err %v", i, s.Err())
			}
		})
	}
	// A reader failing mid-way: the error is reported, wrapped.
	boom := errors.New("boom")
	s, err := capfile.New(io.MultiReader(bytes.NewReader(file[:5000]), iotest.ErrReader(boom)), "x")
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	if !errors.Is(s.Err(), boom) {
		t.Errorf("Err = %v, want boom", s.Err())
	}
}
