package capfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// opt is an option as read back: code and value (with the PEN of a
// custom option).
type opt struct {
	Code  uint16
	Value string
}

func collect(seq func(func(uint16, []byte) bool)) []opt {
	var out []opt
	for c, v := range seq {
		out = append(out, opt{c, string(v)})
	}
	return out
}

// wframe is a frame as read back.
type wframe struct {
	Info capfile.FrameInfo
	Data []byte
	Opts []opt
}

func readBack(t testing.TB, file []byte) (*capfile.Source, []wframe) {
	t.Helper()
	src, err := capfile.New(bytes.NewReader(file), "w")
	if err != nil {
		t.Fatal(err)
	}
	var out []wframe
	for src.Next() {
		out = append(out, wframe{src.Info(), bytes.Clone(src.Data()), collect(src.Options())})
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	return src, out
}

func pen(p uint32, v string) string { return string(binary.LittleEndian.AppendUint32(nil, p)) + v }

// TestWriterRoundTrip writes a pcapng file with every kind of block and
// option the Writer has and reads it back with Source.
func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := capfile.NewWriter(&buf, "rt.pcapng", capfile.Section{
		Comment:  "evidence for case 42",
		Hardware: "x86_64",
		OS:       "Linux",
		UserAppl: "ctcpdiag test",
		Options:  []capfile.Option{{Code: capfile.OptCustomString, PEN: 32473, Value: []byte("section")}},
	})
	ifaces := []capfile.Interface{
		{LinkType: 1, SnapLen: 96}, // microseconds, if_tsresol left out
		{LinkType: 101, TSResol: 9, Name: "inside", Comment: "raw IP"},
		{LinkType: 113, SnapLen: 262144, TSResol: 6, Name: "any"},
		{LinkType: 228, TSResol: 3, Options: []capfile.Option{{Code: 3, Value: []byte("if_description")}}},
	}
	for i, f := range ifaces {
		if id, err := w.AddInterface(f); id != i || err != nil {
			t.Fatalf("AddInterface %d = %d, %v", i, id, err)
		}
	}
	const t0 = 1_700_000_000_123_456_789
	pkts := []capfile.Packet{
		{Iface: 0, Time: t0, OrigLen: 1514, Data: payload(96, 1)},
		{Iface: 1, Time: t0, OrigLen: 3, Data: payload(3, 2), Comment: "lost after the capture point"},
		{Iface: 2, Time: t0 + 1, OrigLen: 0, Data: payload(5, 3)}, // original shorter than captured
		{Iface: 3, Time: t0, OrigLen: 60, Data: nil, Options: []capfile.Option{
			{Code: capfile.OptComment, Value: []byte("first")},
			{Code: capfile.OptComment, Value: []byte("second, 4 bytes long at the end: abcd")},
			{Code: capfile.OptCustomBinaryNoCopy, PEN: 32473, Value: []byte{0, 0, 0, 7}}, // frame 7 of the original
			{Code: 2, Value: []byte{1, 0, 0, 0}},                                         // epb_flags: inbound
		}},
		{Iface: 1, Time: -5, OrigLen: 4, Data: payload(4, 4)}, // before 1970: written as 0
		{Iface: 0, Time: 999, OrigLen: 1, Data: payload(1, 5), Comment: "x"},
	}
	for i, p := range pkts {
		if i == 2 {
			if err := w.WriteCustom(32473, []byte("abcde"), true); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteCustom(0, nil, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Offset() != int64(buf.Len()) || w.Frames() != uint64(len(pkts)+2) {
		t.Errorf("Offset %d Frames %d, wrote %d bytes and %d frames", w.Offset(), w.Frames(), buf.Len(), len(pkts)+2)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("file of %d bytes is not 32-bit aligned", buf.Len())
	}

	src, got := readBack(t, buf.Bytes())
	defer src.Close()
	want := []wframe{
		{capfile.FrameInfo{Frame: 1, Time: 1_700_000_000_123_456_000, CapLen: 96, OrigLen: 1514, LinkType: 1, Iface: 0}, payload(96, 1), nil},
		{capfile.FrameInfo{Frame: 2, Time: t0, CapLen: 3, OrigLen: 3, LinkType: 101, Iface: 1}, payload(3, 2),
			[]opt{{1, "lost after the capture point"}}},
		{capfile.FrameInfo{Frame: 5, Time: 1_700_000_000_123_456_000, CapLen: 5, OrigLen: 0, LinkType: 113, Iface: 2}, payload(5, 3), nil},
		{capfile.FrameInfo{Frame: 6, Time: 1_700_000_000_123_000_000, CapLen: 0, OrigLen: 60, LinkType: 228, Iface: 3}, []byte{},
			[]opt{{1, "first"}, {1, "second, 4 bytes long at the end: abcd"}, {19373, pen(32473, "\x00\x00\x00\x07")}, {2, "\x01\x00\x00\x00"}}},
		{capfile.FrameInfo{Frame: 7, Time: 0, CapLen: 4, OrigLen: 4, LinkType: 101, Iface: 1}, payload(4, 4), nil},
		{capfile.FrameInfo{Frame: 8, Time: 0, CapLen: 1, OrigLen: 1, LinkType: 1, Iface: 0}, payload(1, 5), []opt{{1, "x"}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("frames (-want +got):\n%s", d)
	}
	if src.Frames() != 8 || src.Format() != "pcapng" {
		t.Errorf("Frames %d Format %q", src.Frames(), src.Format())
	}
	wantSHB := []opt{{1, "evidence for case 42"}, {2, "x86_64"}, {3, "Linux"}, {4, "ctcpdiag test"}, {2988, pen(32473, "section")}}
	if d := cmp.Diff(wantSHB, collect(src.SectionOptions())); d != "" {
		t.Errorf("section options (-want +got):\n%s", d)
	}
	wantIDB := [][]opt{nil, {{1, "raw IP"}, {2, "inside"}, {9, "\x09"}}, {{2, "any"}, {9, "\x06"}}, {{9, "\x03"}, {3, "if_description"}}}
	for i, want := range wantIDB {
		if d := cmp.Diff(want, collect(src.InterfaceOptions(i))); d != "" {
			t.Errorf("interface %d options (-want +got):\n%s", i, d)
		}
	}
	if o := collect(src.InterfaceOptions(4)); o != nil {
		t.Errorf("options of an interface that does not exist: %v", o)
	}
}

// TestWriterBytes pins the bytes of the smallest file: a section header
// without options, an interface with if_tsresol, one packet.
func TestWriterBytes(t *testing.T) {
	var buf bytes.Buffer
	w := capfile.NewWriter(&buf, "", capfile.Section{})
	w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9})
	w.WritePacket(capfile.Packet{Time: 0x1_0000_0002, OrigLen: 9, Data: []byte{0xaa}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffff ffffffff 1c000000" +
		" 01000000 20000000 01000000 00000000 09000100 09000000 00000000 20000000" +
		" 06000000 24000000 00000000 01000000 02000000 01000000 09000000 aa000000 24000000"
	if got := hexWords(buf.Bytes()); got != want {
		t.Errorf("bytes\n got %s\nwant %s", got, want)
	}
}

func hexWords(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		if i > 0 {
			s.WriteByte(' ')
		}
		for _, c := range b[i:min(i+4, len(b))] {
			s.WriteString(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]))
		}
	}
	return s.String()
}

func TestPcapWriterRoundTrip(t *testing.T) {
	const t0 = 1_700_000_000_123_456_789
	for _, tc := range []struct {
		resol  uint8
		format string
		time   int64
	}{
		{0, "pcap", 1_700_000_000_123_456_000},
		{6, "pcap", 1_700_000_000_123_456_000},
		{9, "pcap-nsec", t0},
	} {
		var buf bytes.Buffer
		w := capfile.NewPcapWriter(&buf, "rt.pcap", capfile.Interface{LinkType: 101, SnapLen: 65535, TSResol: tc.resol})
		w.WritePacket(capfile.Packet{Time: t0, OrigLen: 1500, Data: payload(40, 1)})
		w.WritePacket(capfile.Packet{Time: -1, OrigLen: 0, Data: payload(3, 2)})
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if w.Offset() != int64(buf.Len()) || w.Frames() != 2 {
			t.Errorf("Offset %d Frames %d, wrote %d", w.Offset(), w.Frames(), buf.Len())
		}
		src, got := readBack(t, buf.Bytes())
		want := []wframe{
			{capfile.FrameInfo{Frame: 1, Time: tc.time, CapLen: 40, OrigLen: 1500, LinkType: 101}, payload(40, 1), nil},
			{capfile.FrameInfo{Frame: 2, Time: 0, CapLen: 3, OrigLen: 0, LinkType: 101}, payload(3, 2), nil},
		}
		if d := cmp.Diff(want, got); d != "" || src.Format() != tc.format {
			t.Errorf("TSResol %d: format %q (-want +got):\n%s", tc.resol, src.Format(), d)
		}
		src.Close()
	}
}

// TestWriterErrors checks that a block the format cannot hold is refused
// with a positioned ErrInvalid, that the error is sticky, and that Flush
// still writes the blocks before it.
func TestWriterErrors(t *testing.T) {
	long := strings.Repeat("x", 65536)
	for _, tc := range []struct {
		name   string
		write  func(w *capfile.Writer) error
		packet uint64
		msg    string
	}{
		{"undescribed interface", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Iface: 1, Data: payload(4, 0)})
		}, 2, "packet on interface 1, but 1 interfaces are described"},
		{"negative interface", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Iface: -1})
		}, 2, "packet on interface -1"},
		{"long comment", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Comment: long})
		}, 2, "option 1 of 65536 bytes, more than 65535"},
		{"long custom option", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Options: []capfile.Option{{Code: capfile.OptCustomBinary, Value: make([]byte, 65532)}}})
		}, 2, "option 2989 of 65536 bytes"},
		{"end of options", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Options: []capfile.Option{{Code: 0}}})
		}, 2, "opt_endofopt"},
		{"negative original length", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{OrigLen: -1})
		}, 2, "original length -1 out of range"},
		{"record too long", func(w *capfile.Writer) error {
			return w.WritePacket(capfile.Packet{Data: make([]byte, capfile.MaxRecord+1)})
		}, 2, "more than the 268435456 a reader accepts"},
		{"tsresol", func(w *capfile.Writer) error {
			_, err := w.AddInterface(capfile.Interface{TSResol: 10})
			return err
		}, 0, "if_tsresol 10 not supported"},
		{"long interface name", func(w *capfile.Writer) error {
			_, err := w.AddInterface(capfile.Interface{Name: long})
			return err
		}, 0, "option 2 of 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capfile.NewWriter(&buf, "out.pcapng", capfile.Section{})
			w.AddInterface(capfile.Interface{LinkType: 1})
			w.WritePacket(capfile.Packet{OrigLen: 2, Data: payload(2, 0)})
			off := w.Offset()
			err := tc.write(w)
			var we *capfile.WriteError
			if !errors.As(err, &we) || !errors.Is(err, capfile.ErrInvalid) {
				t.Fatalf("error %v (%T), want a *WriteError around ErrInvalid", err, err)
			}
			if we.File != "out.pcapng" || we.Packet != tc.packet || we.Offset != off || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q (%+v), want packet %d offset %d and %q", err, we, tc.packet, off, tc.msg)
			}
			if err2 := w.WritePacket(capfile.Packet{}); err2 != err {
				t.Errorf("error not sticky: %v", err2)
			}
			if id, err2 := w.AddInterface(capfile.Interface{}); id != -1 || err2 != err {
				t.Errorf("AddInterface after the error = %d, %v", id, err2)
			}
			if w.Flush() != err || w.Err() != err {
				t.Error("Flush or Err do not return the error")
			}
			if int64(buf.Len()) != off {
				t.Errorf("wrote %d bytes, want the %d before the refused block", buf.Len(), off)
			}
			src, got := readBack(t, buf.Bytes())
			src.Close()
			if len(got) != 1 {
				t.Errorf("read back %d frames, want 1", len(got))
			}
		})
	}
	var buf bytes.Buffer
	w := capfile.NewWriter(&buf, "", capfile.Section{Comment: long})
	if err := w.Flush(); !errors.Is(err, capfile.ErrInvalid) || buf.Len() != 0 {
		t.Errorf("section comment of 65536 bytes: %v, %d bytes written", err, buf.Len())
	}
}

func TestPcapWriterErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    capfile.Packet
		msg  string
	}{
		{"interface", capfile.Packet{Iface: 1}, "packet on interface 1, but a pcap file has one interface"},
		{"comment", capfile.Packet{Comment: "c"}, "a pcap record has no comment or options"},
		{"options", capfile.Packet{Options: []capfile.Option{{Code: 1}}}, "no comment or options"},
		{"2106", capfile.Packet{Time: (1 << 32) * 1e9}, "past the 32 bits of seconds"},
		{"original length", capfile.Packet{OrigLen: -2}, "original length -2 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capfile.NewPcapWriter(&buf, "out.pcap", capfile.Interface{LinkType: 1})
			w.WritePacket(capfile.Packet{OrigLen: 2, Data: payload(2, 0)})
			err := w.WritePacket(tc.p)
			var we *capfile.WriteError
			if !errors.As(err, &we) || !errors.Is(err, capfile.ErrInvalid) || we.Packet != 2 || we.Offset != 42 ||
				!strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want packet 2 at offset 42: %s", err, tc.msg)
			}
			if w.Flush() != err || buf.Len() != 42 {
				t.Errorf("Flush: %d bytes written, want 42", buf.Len())
			}
		})
	}
	for _, i := range []capfile.Interface{{TSResol: 3}, {Name: "eth0"}, {Comment: "c"}, {Options: []capfile.Option{{Code: 1}}}} {
		var buf bytes.Buffer
		w := capfile.NewPcapWriter(&buf, "out.pcap", i)
		if err := w.Flush(); !errors.Is(err, capfile.ErrInvalid) || buf.Len() != 0 {
			t.Errorf("header %+v: %v, %d bytes written", i, err, buf.Len())
		}
	}
}

// failWriter takes n bytes, then fails.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, errDiskFull
}

// TestWriterIOError checks that an I/O error is sticky and reported with
// the output offset where it happened.
func TestWriterIOError(t *testing.T) {
	fw := &failWriter{n: 100_000}
	w := capfile.NewWriter(fw, "out.pcapng", capfile.Section{})
	w.AddInterface(capfile.Interface{LinkType: 1})
	var err error
	var i int
	for i = 0; err == nil && i < 1000; i++ {
		err = w.WritePacket(capfile.Packet{OrigLen: 1000, Data: payload(1000, 0)})
	}
	var we *capfile.WriteError
	if !errors.As(err, &we) || !errors.Is(err, errDiskFull) || we.Offset != 100_000 || we.Packet != uint64(i) {
		t.Fatalf("error %v (%+v) after %d packets, want disk full at offset 100000", err, we, i)
	}
	if w.WritePacket(capfile.Packet{}) != err || w.Flush() != err || w.Offset() != 100_000 {
		t.Errorf("error not sticky, or Offset %d", w.Offset())
	}
	// A packet larger than the buffer goes straight to the io.Writer.
	fw = &failWriter{n: 200_000}
	w = capfile.NewWriter(fw, "out.pcapng", capfile.Section{})
	w.AddInterface(capfile.Interface{LinkType: 1})
	err = w.WritePacket(capfile.Packet{OrigLen: 300_000, Data: make([]byte, 300_000)})
	if !errors.Is(err, errDiskFull) || w.Offset() != 200_000 {
		t.Errorf("large packet: %v, Offset %d", err, w.Offset())
	}
}

// TestWriterLargeBlocks writes packets and options larger than the
// buffer, which take the direct path.
func TestWriterLargeBlocks(t *testing.T) {
	var buf bytes.Buffer
	w := capfile.NewWriter(&buf, "", capfile.Section{})
	w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9})
	big := payload(200_001, 7)
	long := strings.Repeat("y", 65535)
	w.WritePacket(capfile.Packet{Time: 1, OrigLen: 9, Data: payload(9, 1)})
	w.WritePacket(capfile.Packet{Time: 2, OrigLen: len(big), Data: big, Comment: long,
		Options: []capfile.Option{{Code: capfile.OptCustomBinary, PEN: 1, Value: big[:65531]}}})
	w.WritePacket(capfile.Packet{Time: 3, OrigLen: 9, Data: payload(9, 2), Comment: long})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	src, got := readBack(t, buf.Bytes())
	src.Close()
	if len(got) != 3 || !bytes.Equal(got[1].Data, big) || got[1].Opts[0].Value != long ||
		got[1].Opts[1].Value != pen(1, string(big[:65531])) || got[2].Opts[0].Value != long || got[2].Info.Time != 3 {
		t.Errorf("large blocks not read back")
	}
}

var sinkErr error

// TestWriterNoAllocs locks in that writing a packet, with a comment and
// options, does not allocate.
func TestWriterNoAllocs(t *testing.T) {
	w := capfile.NewWriter(io.Discard, "", capfile.Section{})
	w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9})
	p := capfile.Packet{Time: 1e18, OrigLen: 1514, Data: payload(1514, 0), Comment: "dup ACK",
		Options: []capfile.Option{{Code: capfile.OptCustomBinaryNoCopy, PEN: 32473, Value: []byte{1, 2, 3, 4}}}}
	if n := testing.AllocsPerRun(1000, func() { sinkErr = w.WritePacket(p) }); n != 0 {
		t.Errorf("Writer.WritePacket: %v allocations per packet", n)
	}
	if n := testing.AllocsPerRun(1000, func() { sinkErr = w.WriteCustom(0, nil, false) }); n != 0 {
		t.Errorf("Writer.WriteCustom: %v allocations per block", n)
	}
	pw := capfile.NewPcapWriter(io.Discard, "", capfile.Interface{LinkType: 1})
	p.Comment, p.Options = "", nil
	if n := testing.AllocsPerRun(1000, func() { sinkErr = pw.WritePacket(p) }); n != 0 {
		t.Errorf("PcapWriter.WritePacket: %v allocations per packet", n)
	}
}

func BenchmarkWrite(b *testing.B) {
	sizes := []int{60, 1514, 590, 66, 1400}
	data := make([][]byte, len(sizes))
	total := 0
	for i, n := range sizes {
		data[i] = payload(n, byte(i))
		total += n
	}
	opts := []capfile.Option{{Code: capfile.OptCustomBinaryNoCopy, PEN: 32473, Value: []byte{0, 0, 0, 1}}}
	for _, bc := range []struct {
		name    string
		comment string
		opts    []capfile.Option
		pcap    bool
	}{
		{name: "pcapng"},
		{name: "pcapng-options", comment: "retransmission", opts: opts},
		{name: "pcap", pcap: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var write func(capfile.Packet) error
			if bc.pcap {
				write = capfile.NewPcapWriter(io.Discard, "", capfile.Interface{LinkType: 1}).WritePacket
			} else {
				w := capfile.NewWriter(io.Discard, "", capfile.Section{})
				w.AddInterface(capfile.Interface{LinkType: 1, TSResol: 9})
				write = w.WritePacket
			}
			b.ReportAllocs()
			b.SetBytes(int64(total / len(sizes)))
			i := 0
			for b.Loop() {
				d := data[i%len(data)]
				sinkErr = write(capfile.Packet{Time: 1e18 + int64(i)*1000, OrigLen: len(d), Data: d, Comment: bc.comment, Options: bc.opts})
				i++
			}
		})
	}
}

// FuzzWriter writes packets made from arbitrary bytes with each writer
// and checks that the reader gives them back: lengths, data, timestamps
// truncated to the resolution, comments.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("\x00\x01hello"), int64(1_700_000_000_123_456_789), uint8(9), uint16(3), "comment")
	f.Add([]byte{}, int64(-1), uint8(0), uint16(0), "")
	f.Add(make([]byte, 70000), int64(1), uint8(6), uint16(65535), "x")
	f.Fuzz(func(t *testing.T, data []byte, ts int64, resol uint8, extra uint16, comment string) {
		resol %= 10
		units := int64(1)
		for r := resol; r < 9; r++ {
			units *= 10
		}
		if resol == 0 {
			units = 1000
		}
		want := max(ts, 0) / units * units
		p := capfile.Packet{Time: ts, OrigLen: len(data) + int(extra) - 1, Data: data}
		if p.OrigLen < 0 {
			p.OrigLen = 0
		}
		if len(comment) <= 65535 {
			p.Comment = comment
		}
		var buf bytes.Buffer
		w := capfile.NewWriter(&buf, "", capfile.Section{Comment: p.Comment})
		w.AddInterface(capfile.Interface{LinkType: extra, TSResol: resol})
		w.WritePacket(p)
		w.WriteCustom(uint32(extra), data, extra&1 == 0)
		w.WritePacket(p)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var wantOpts []opt
		if p.Comment != "" {
			wantOpts = []opt{{1, p.Comment}}
		}
		src, got := readBack(t, buf.Bytes())
		if len(got) != 2 || src.Frames() != 3 {
			t.Fatalf("read back %d frames of %d", len(got), src.Frames())
		}
		for i, g := range got {
			wi := capfile.FrameInfo{Frame: uint64(1 + 2*i), Time: want, CapLen: len(data), OrigLen: p.OrigLen, LinkType: extra}
			if g.Info != wi || !bytes.Equal(g.Data, data) || !cmp.Equal(g.Opts, wantOpts) {
				t.Fatalf("frame %+v %v, want %+v %v", g.Info, g.Opts, wi, wantOpts)
			}
		}
		if !cmp.Equal(collect(src.SectionOptions()), wantOpts) {
			t.Fatalf("section options %v", collect(src.SectionOptions()))
		}
		src.Close()

		if ts/1e9 > 1<<32-1 {
			return
		}
		var pr uint8 // pcap: microseconds (0 or 6) or nanoseconds
		if resol == 6 || resol == 9 {
			pr = resol
		}
		if pr == 9 {
			want = max(ts, 0)
		} else {
			want = max(ts, 0) / 1000 * 1000
		}
		buf.Reset()
		pw := capfile.NewPcapWriter(&buf, "", capfile.Interface{LinkType: extra, TSResol: pr})
		p.Comment = ""
		pw.WritePacket(p)
		if err := pw.Flush(); err != nil {
			t.Fatal(err)
		}
		src, got = readBack(t, buf.Bytes())
		src.Close()
		wi := capfile.FrameInfo{Frame: 1, Time: want, CapLen: len(data), OrigLen: p.OrigLen, LinkType: extra}
		if len(got) != 1 || got[0].Info != wi || !bytes.Equal(got[0].Data, data) {
			t.Fatalf("pcap: read back %+v, want %+v", got, wi)
		}
	})
}
