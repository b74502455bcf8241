package evidence_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/evidence"
	"github.com/ctcpdiag/ctcpdiag/internal/pipeline"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// failing are the samples whose verdict is affected or at-risk.
var failing = []string{
	"ctcp-proxy-stall.pcap",
	"ctcp-proxy-reset.pcap",
	"ctcp-oneway-stall.pcap",
	"ctcp-two-interfaces-snap96.pcapng",
	"ctcp-port-8000.pcap",
	"ctcp-proxy-resegmented.pcap",
	"ctcp-truncated.pcap",
}

// others have no affected or at-risk session: only cited frames.
var others = []string{"ctcp-healthy.pcap", "ctcp-loss-no-proxy.pcap", "natt.pcap", "tcp-dupack-answered.pcap"}

func samplePath(name string) string { return filepath.Join("..", "..", "samples", name) }

// run analyzes the sample, builds its report and writes its evidence
// capture; it returns the file written, the Spec, the report and the
// capture.
type result struct {
	path string
	spec evidence.Spec
	rep  *report.Report
	c    *analyze.Capture
	st   evidence.Stats
}

func run(t *testing.T, name string, m *anon.Mapper, lim evidence.Limits) result {
	t.Helper()
	src := samplePath(name)
	in := pipeline.Input{Path: src, File: src}
	opts := pipeline.Options{Tool: report.Tool{Name: "ctcpdiag", Version: "test"}, Mapper: m}
	c, err := pipeline.Analyze(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := pipeline.Report(c, in, opts).Report
	spec := evidence.FromReport(c, rep, src)
	spec.Mapper, spec.Limits = m, lim
	var buf bytes.Buffer
	st, err := evidence.Write(&buf, spec)
	var ie *capfile.InputError
	if err != nil && !(errors.As(err, &ie) && len(rep.Capture.Warnings) > 0) {
		t.Fatalf("%s: %v", name, err)
	}
	if len(st.Missing) > 0 {
		t.Errorf("%s: cited frames missing: %v", name, st.Missing)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(name, filepath.Ext(name))+".evidence.pcapng")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return result{path: out, spec: spec, rep: rep, c: c, st: st}
}

// citedFrames are the frames the report cites: its findings' frames, its
// evidence rows, and of the sessions kept or with evidence rows the path
// evidence frames and the first duplicate ACK of each retransmit request.
func citedFrames(rep *report.Report) []uint64 {
	var fs []uint64
	for _, f := range rep.Findings {
		fs = append(fs, f.Frames...)
	}
	named := map[int]bool{}
	for _, e := range rep.Evidence {
		named[e.Session] = true
		for _, r := range e.Rows {
			fs = append(fs, r.Frame)
		}
	}
	for _, s := range rep.Sessions {
		if !named[s.ID] && s.Transport != "ctcp" || !named[s.ID] && s.Verdict != "affected" && s.Verdict != "at-risk" {
			continue
		}
		if s.Path != nil {
			for _, pe := range s.Path.Evidence {
				fs = append(fs, pe.Frames...)
			}
		}
		for _, q := range s.RetransmitRequests {
			fs = append(fs, q.FirstFrame)
		}
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	if len(fs) > 0 && fs[0] == 0 {
		fs = fs[1:]
	}
	return fs
}

// frame is one frame as capfile reads it.
type frame struct {
	info    capfile.FrameInfo
	data    []byte
	iface   capfile.Interface
	comment string
	id      uint64
	hasID   bool
}

func readAll(t *testing.T, path string) (frames []frame, section string) {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for code, v := range src.SectionOptions() {
		if code == capfile.OptComment {
			section = string(v)
		}
	}
	for src.Next() {
		f := frame{info: src.Info(), data: slices.Clone(src.Data())}
		f.iface, _ = src.Interface(f.info.Iface)
		for code, v := range src.Options() {
			switch code {
			case capfile.OptComment:
				f.comment = string(v)
			case 5:
				f.id, f.hasID = binary.LittleEndian.Uint64(v), len(v) == 8
			}
		}
		frames = append(frames, f)
	}
	return frames, section
}

// sessionFrames lists the frames of session s, found by its addresses
// and ports within its first and last frames.
func sessionFrames(t *testing.T, path string, s *analyze.Session) []uint64 {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var p decode.Packet
	var out []uint64
	for src.Next() {
		info := src.Info()
		if info.Frame < s.FirstFrame || info.Frame > s.LastFrame {
			continue
		}
		if dec.Decode(src.Data(), info.LinkType, &p) != nil || !p.HasTransport || p.InError || p.Proto != s.Proto {
			continue
		}
		a, b := p.SrcAddrPort(), p.DstAddrPort()
		if a == s.Client && b == s.Headend || a == s.Headend && b == s.Client {
			out = append(out, info.Frame)
		}
	}
	return out
}

// TestEvidence checks the evidence capture of each sample against the
// source, as capfile reads both: every packet is a frame of the source
// with its frame number in epb_packetid, its time, lengths, bytes and
// interface; exactly the cited frames carry a comment, which starts with
// their frame number; the packets are the frames of the kept sessions
// (whole: the samples are small) and the cited frames, nothing else; the
// section comment names the source and its SHA-256.
func TestEvidence(t *testing.T) {
	for _, name := range slices.Concat(failing, others) {
		t.Run(name, func(t *testing.T) {
			r := run(t, name, nil, evidence.Limits{})
			src, _ := readAll(t, samplePath(name))
			got, section := readAll(t, r.path)
			cited := citedFrames(r.rep)
			isFailing := slices.Contains(failing, name)
			if isFailing != (len(r.spec.Sessions) > 0) {
				t.Fatalf("%d sessions kept", len(r.spec.Sessions))
			}

			want := slices.Clone(cited)
			for _, ks := range r.spec.Sessions {
				fs := sessionFrames(t, samplePath(name), ks.S)
				if uint64(len(fs)) != ks.S.Packets {
					t.Errorf("session %d: %d frames found, the analysis counted %d", ks.S.ID, len(fs), ks.S.Packets)
				}
				want = append(want, fs...)
			}
			slices.Sort(want)
			want = slices.Compact(want)

			var ids []uint64
			var commented []uint64
			for i, g := range got {
				if !g.hasID {
					t.Fatalf("packet %d has no epb_packetid", i+1)
				}
				ids = append(ids, g.id)
				s := src[g.id-1]
				if s.info.Frame != g.id {
					t.Fatalf("source frame %d read as %d", g.id, s.info.Frame)
				}
				if g.info.Time != s.info.Time || g.info.OrigLen != s.info.OrigLen || !bytes.Equal(g.data, s.data) {
					t.Errorf("frame %d: time/length/bytes differ from the source's", g.id)
				}
				if g.iface.LinkType != s.iface.LinkType || g.iface.SnapLen != s.iface.SnapLen || g.iface.TSResol != s.iface.TSResol {
					t.Errorf("frame %d: interface %+v, source %+v", g.id, g.iface, s.iface)
				}
				if g.comment != "" {
					commented = append(commented, g.id)
					prefix := "ctcpdiag: original frame " + strconv.FormatUint(g.id, 10) + "; "
					if !strings.HasPrefix(g.comment, prefix) || strings.Contains(g.comment, "\n") || len(g.comment) <= len(prefix) {
						t.Errorf("frame %d: comment %q", g.id, g.comment)
					}
				}
			}
			if !slices.Equal(ids, want) {
				t.Errorf("frames written %v\nwant %v", ids, want)
			}
			if !slices.Equal(commented, cited) {
				t.Errorf("frames with a comment %v\ncited %v", commented, cited)
			}
			if r.st.Packets != len(got) || r.st.Cited != len(cited) {
				t.Errorf("stats %+v, wrote %d packets, %d cited", r.st, len(got), len(cited))
			}
			for _, s := range []string{"ctcpdiag evidence capture", samplePath(name), r.rep.Capture.SHA256, "ctcpdiag test", "frame.packet_id == N"} {
				if !strings.Contains(section, s) {
					t.Errorf("section comment lacks %q:\n%s", s, section)
				}
			}
			for _, ks := range r.spec.Sessions {
				if !strings.Contains(section, ks.Label) || ks.Filter == "" || !strings.Contains(section, ks.Filter) {
					t.Errorf("section comment lacks session %q or its filter %q", ks.Label, ks.Filter)
				}
			}
		})
	}
}

// TestTrim checks what is kept of a session longer than Limits.Whole:
// its first Handshake packets, Window packets before and after each cited
// frame, its last End packets; and that holding back frames is bounded by
// Limits.Held without losing a cited frame or the order.
func TestTrim(t *testing.T) {
	const name = "ctcp-proxy-stall.pcap"
	lim := evidence.Limits{Whole: 10, Handshake: 3, Window: 4, End: 5, Held: 1 << 20}
	r := run(t, name, nil, lim)
	if len(r.spec.Sessions) != 1 || r.st.Trimmed != 1 {
		t.Fatalf("sessions %d, trimmed %d", len(r.spec.Sessions), r.st.Trimmed)
	}
	s := r.spec.Sessions[0].S
	fs := sessionFrames(t, samplePath(name), s)
	cited := citedFrames(r.rep)
	keepIdx := map[int]bool{}
	for i, f := range fs {
		if i < lim.Handshake || i >= len(fs)-lim.End {
			keepIdx[i] = true
		}
		if slices.Contains(cited, f) {
			for k := max(i-lim.Window, 0); k <= min(i+lim.Window, len(fs)-1); k++ {
				keepIdx[k] = true
			}
		}
	}
	want := slices.Clone(cited)
	for i := range keepIdx {
		want = append(want, fs[i])
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got, section := readAll(t, r.path)
	var ids []uint64
	for _, g := range got {
		ids = append(ids, g.id)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("frames written %v\nwant %v", ids, want)
	}
	if len(ids) >= len(fs) {
		t.Errorf("nothing trimmed: %d of %d", len(ids), len(fs))
	}
	if !strings.Contains(section, "trimmed from 137 packets") {
		t.Errorf("section comment does not say the session is trimmed:\n%s", section)
	}

	// Nothing may be held back: the windows before cited frames go, the
	// rest stays, in order.
	lim.Held = 0
	r = run(t, name, nil, lim)
	got, _ = readAll(t, r.path)
	ids = ids[:0]
	for _, g := range got {
		ids = append(ids, g.id)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("frames out of order: %v", ids)
	}
	for _, f := range cited {
		if !slices.Contains(ids, f) {
			t.Errorf("cited frame %d missing with Held 0", f)
		}
	}
}

// TestChanged checks that a capture that changed between the two reads
// is an error.
func TestChanged(t *testing.T) {
	src := samplePath("ctcp-proxy-stall.pcap")
	c, err := analyze.File(src, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := pipeline.Report(c, pipeline.Input{Path: src, File: src}, pipeline.Options{}).Report
	spec := evidence.FromReport(c, rep, src)
	spec.SHA256 = strings.Repeat("0", 64)
	if _, err := evidence.Write(&bytes.Buffer{}, spec); !errors.Is(err, evidence.ErrChanged) {
		t.Errorf("err = %v, want %v", err, evidence.ErrChanged)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec = evidence.FromReport(c, rep, src)
	var a, b bytes.Buffer
	if _, err := evidence.WriteReader(f, src, &a, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Write(&b, spec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("WriteReader and Write differ")
	}
}

// TestAnonymized checks that an anonymized evidence capture holds none
// of the source's IP or MAC addresses, in its packets or its comments,
// and keeps the frames, times and lengths.
func TestAnonymized(t *testing.T) {
	for _, name := range failing {
		t.Run(name, func(t *testing.T) {
			m := anon.NewMapper(anon.KeyFromString("evidence-test"))
			r := run(t, name, m, evidence.Limits{})
			plain := run(t, name, nil, evidence.Limits{})
			got, section := readAll(t, r.path)
			want, _ := readAll(t, plain.path)
			if len(got) != len(want) {
				t.Fatalf("%d packets, %d without --anonymize", len(got), len(want))
			}
			addrs := sourceAddrs(t, samplePath(name))
			dec := decode.NewDecoder()
			var p decode.Packet
			for i, g := range got {
				w := want[i]
				if g.id != w.id || g.info.Time != w.info.Time || g.info.OrigLen != w.info.OrigLen || len(g.data) != len(w.data) {
					t.Fatalf("packet %d: frame %d differs from the plain evidence's %d", i+1, g.id, w.id)
				}
				if (g.comment == "") != (w.comment == "") {
					t.Errorf("frame %d: comment %q, plain %q", g.id, g.comment, w.comment)
				}
				for a := range addrs {
					if strings.Contains(g.comment, a) {
						t.Errorf("frame %d: comment names %s: %q", g.id, a, g.comment)
					}
				}
				if dec.Decode(g.data, g.info.LinkType, &p) == nil && p.IPVersion != 0 {
					for _, a := range []string{p.Src.String(), p.Dst.String()} {
						if addrs[a] {
							t.Errorf("frame %d: address %s kept", g.id, a)
						}
					}
				}
			}
			for a := range addrs {
				if strings.Contains(section, a) {
					t.Errorf("section comment names %s", a)
				}
			}
			if strings.Contains(section, "../") || !strings.Contains(section, "Source: "+name) {
				t.Errorf("section comment does not name the file by its base name:\n%s", section)
			}
		})
	}
}

// sourceAddrs returns the IP addresses of the capture's frames.
func sourceAddrs(t *testing.T, path string) map[string]bool {
	t.Helper()
	src, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.NewDecoder()
	var p decode.Packet
	out := map[string]bool{}
	for src.Next() {
		if dec.Decode(src.Data(), src.Info().LinkType, &p) == nil && p.IPVersion != 0 {
			out[p.Src.String()], out[p.Dst.String()] = true, true
		}
	}
	if len(out) == 0 {
		t.Fatal("no addresses")
	}
	return out
}

// tshark runs tshark with args and returns its standard output; the test
// is skipped, saying so, when tshark is not installed.
func tshark(t *testing.T, args ...string) string {
	t.Helper()
	return tsharkOn(t, false, args...)
}

// tsharkOn is tshark; damaged is true for a source tshark reads up to
// its damage, with an error.
func tsharkOn(t *testing.T, damaged bool, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: the evidence captures are not checked with it")
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if damaged {
		return string(out)
	}
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "Running as user") {
			t.Errorf("tshark %v warns: %s", args, l)
		}
	}
	return string(out)
}

// TestTshark opens each evidence capture with tshark: it reads it without
// a warning; frame.comment finds exactly the report's cited frames, each
// comment naming its frame; frame.packet_id, the times, lengths and the
// MD5 of the bytes equal the source frame's; every packet is a cited
// frame or a frame of a session the section comment names (by its source
// tcp.stream); and an anonymized capture holds no source address.
func TestTshark(t *testing.T) {
	for _, name := range failing {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // tshark runs in processes of its own
			r := run(t, name, nil, evidence.Limits{})
			src := samplePath(name)
			// frame.comment finds the cited frames.
			var commented []uint64
			for _, l := range lines(tshark(t, "-r", r.path, "-Y", "frame.comment", "-T", "fields", "-E", "separator=|", "-e", "frame.packet_id", "-e", "frame.comment")) {
				id, comment, _ := strings.Cut(l, "|")
				n, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					t.Fatalf("line %q", l)
				}
				commented = append(commented, n)
				if !strings.HasPrefix(comment, "ctcpdiag: original frame "+id+"; ") {
					t.Errorf("frame %d: comment %q", n, comment)
				}
			}
			if cited := citedFrames(r.rep); !slices.Equal(commented, cited) {
				t.Errorf("frame.comment finds %v\nthe report cites %v", commented, cited)
			}

			// Times, lengths and bytes.
			fields := []string{"-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash", "-e", "tcp.stream"}
			source := map[string]string{}
			streams := map[string]string{}
			damaged := len(r.rep.Capture.Warnings) > 0
			for _, l := range lines(tsharkOn(t, damaged, append([]string{"-r", src, "-e", "frame.number"}, fields...)...)) {
				n, rest, _ := strings.Cut(l, "\t")
				i := strings.LastIndexByte(rest, '\t')
				source[n], streams[n] = rest[:i], rest[i+1:]
			}
			kept := map[string]bool{}
			for _, ks := range r.spec.Sessions {
				kept[strconv.Itoa(ks.S.Stream)] = true
			}
			cited := map[string]bool{}
			for _, f := range citedFrames(r.rep) {
				cited[strconv.FormatUint(f, 10)] = true
			}
			all := lines(tshark(t, append([]string{"-r", r.path, "-e", "frame.packet_id"}, fields...)...))
			if len(all) != r.st.Packets {
				t.Errorf("tshark reads %d packets, %d written", len(all), r.st.Packets)
			}
			perStream := map[string]int{}
			for _, l := range all {
				n, rest, _ := strings.Cut(l, "\t")
				rest = rest[:strings.LastIndexByte(rest, '\t')]
				if source[n] != rest {
					t.Errorf("frame %s: %q, source %q", n, rest, source[n])
				}
				if !cited[n] && !kept[streams[n]] {
					t.Errorf("frame %s (source tcp.stream %q) is neither cited nor in a kept session", n, streams[n])
				}
				perStream[streams[n]]++
			}
			for _, ks := range r.spec.Sessions {
				st := strconv.Itoa(ks.S.Stream)
				n := 0
				for _, s := range streams {
					if s == st {
						n++
					}
				}
				if perStream[st] != n {
					t.Errorf("session %d (tcp.stream %s): %d of its %d frames", ks.S.ID, st, perStream[st], n)
				}
				// Its filter shows the same frames in both files.
				a := lines(tsharkOn(t, damaged, "-r", src, "-Y", ks.Filter, "-T", "fields", "-e", "frame.number"))
				b := lines(tshark(t, "-r", r.path, "-Y", ks.Filter, "-T", "fields", "-e", "frame.packet_id"))
				if !slices.Equal(a, b) || len(a) != n {
					t.Errorf("filter %q: %d frames in the source, %d in the evidence, session has %d", ks.Filter, len(a), len(b), n)
				}
			}
			// frame.packet_id finds a report's frame.
			f := strconv.FormatUint(citedFrames(r.rep)[0], 10)
			if got := lines(tshark(t, "-r", r.path, "-Y", "frame.packet_id == "+f, "-T", "fields", "-e", "frame.packet_id")); !slices.Equal(got, []string{f}) {
				t.Errorf("frame.packet_id == %s finds %v", f, got)
			}

			// Anonymized: no source address anywhere tshark shows one.
			m := anon.NewMapper(anon.KeyFromString("evidence-test"))
			ra := run(t, name, m, evidence.Limits{})
			addrFields := []string{"-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "eth.src", "-e", "eth.dst", "-e", "frame.comment"}
			srcAddrs := map[string]bool{}
			for _, l := range lines(tsharkOn(t, damaged, append([]string{"-r", src}, addrFields[:len(addrFields)-2]...)...)) {
				for _, a := range strings.FieldsFunc(l, func(r rune) bool { return r == '\t' || r == ',' }) {
					srcAddrs[a] = true
				}
			}
			out := tshark(t, append([]string{"-r", ra.path}, addrFields...)...)
			out += tshark(t, "-r", ra.path, "-V", "-c", "1")
			for a := range srcAddrs {
				if strings.Contains(out, a) {
					t.Errorf("the anonymized evidence shows %s", a)
				}
			}
		})
	}
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestSpecByHand writes an evidence capture from a Spec built without a
// report, as another command (correlate, one file per side) would: one
// session kept, frames cited in any order, one of them twice.
func TestSpecByHand(t *testing.T) {
	src := samplePath("ctcp-proxy-stall.pcap")
	c, err := analyze.File(src, analyze.Options{NoHash: true})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sessions[2]
	spec := evidence.Spec{
		Path:     src,
		Name:     "client-side.pcap",
		Tool:     "ctcpdiag test",
		Sessions: []evidence.Session{{S: s, Label: "session 2 (A)", Filter: report.ConversationFilterOf("tcp", s.Client.String(), s.Headend.String())}},
		Cites:    []evidence.Cite{{Frame: 134, Note: "b"}, {Frame: 3, Note: "outside"}, {Frame: 132, Note: "lost between the points"}, {Frame: 132, Note: "first dup ACK"}},
		Notes:    []string{"Pair: session 2 of A is session 0 of B."},
	}
	var buf bytes.Buffer
	st, err := evidence.Write(&buf, spec)
	if err != nil || st.Packets != 138 || st.Cited != 3 || len(st.Missing) != 0 {
		t.Fatalf("stats %+v, %v; want 138 packets, 3 cited", st, err)
	}
	out := filepath.Join(t.TempDir(), "a.pcapng")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, section := readAll(t, out)
	for _, g := range got {
		if g.id == 132 && g.comment != "ctcpdiag: original frame 132; lost between the points; first dup ACK" {
			t.Errorf("frame 132: %q", g.comment)
		}
	}
	for _, w := range []string{"client-side.pcap", "SHA-256 not computed", "session 2 (A); all 137 packets", "Pair: session 2 of A"} {
		if !strings.Contains(section, w) {
			t.Errorf("section comment lacks %q:\n%s", w, section)
		}
	}
}

// TestLongComments checks that comments stay within what a pcapng option
// holds: a section listing thousands of sessions is cut short, a note of
// 100,000 bytes is cut, and the file is written.
func TestLongComments(t *testing.T) {
	src := samplePath("ctcp-proxy-stall.pcap")
	c, err := analyze.File(src, analyze.Options{NoHash: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := evidence.Spec{Path: src, Name: "x.pcap", Tool: "ctcpdiag test",
		Cites: []evidence.Cite{{Frame: 132, Note: strings.Repeat("é", 50000)}}}
	for range 3000 {
		spec.Sessions = append(spec.Sessions, evidence.Session{S: c.Sessions[2], Label: strings.Repeat("session 2 ", 5), Filter: "tcp"})
	}
	for range 3000 {
		spec.Notes = append(spec.Notes, strings.Repeat("n", 100))
	}
	var buf bytes.Buffer
	st, err := evidence.Write(&buf, spec)
	if err != nil || st.Cited != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	out := filepath.Join(t.TempDir(), "a.pcapng")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, section := readAll(t, out)
	if len(section) > 65535 || !strings.Contains(section, "more sessions") {
		t.Errorf("section comment of %d bytes", len(section))
	}
	for _, g := range got {
		if g.id == 132 && (len(g.comment) > 65535 || !strings.HasSuffix(g.comment, "...") || !utf8.ValidString(g.comment)) {
			t.Errorf("frame 132: comment of %d bytes", len(g.comment))
		}
	}
}
