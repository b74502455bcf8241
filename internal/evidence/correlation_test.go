package evidence_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/correlate"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
	"github.com/ctcpdiag/ctcpdiag/internal/evidence"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// pairs are the sample pairs, A then B.
var pairs = [][2]string{
	{"pairs/pair-proxy-loss-client-side.pcap", "pairs/pair-proxy-loss-headend-side.pcap"},
	{"pairs/pair-nat-seqrand-inside.pcap", "pairs/pair-nat-seqrand-outside.pcap"},
}

// corrSide is the evidence capture of one side of a correlation.
type corrSide struct {
	side, src, path string
	spec            evidence.Spec
	st              evidence.Stats
	c               *analyze.Capture
	d               *detect.Result
	corr            *report.Correlation
}

// correlateSides correlates the pair and writes the evidence capture of
// each side, anonymized with m when set.
func correlateSides(t *testing.T, pair [2]string, m *anon.Mapper) [2]corrSide {
	t.Helper()
	a, b := samplePath(pair[0]), samplePath(pair[1])
	res, err := correlate.Files(a, b, correlate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	da, err := detect.Run(res.A, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := detect.Run(res.B, detect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	corr := report.BuildCorrelation(res, da, db, report.Tool{Name: "ctcpdiag", Version: "test"})
	if m != nil {
		corr = report.AnonymizeCorrelation(corr, m)
	}
	var out [2]corrSide
	dir := t.TempDir()
	for i, x := range []corrSide{{side: "a", src: a, c: res.A, d: da}, {side: "b", src: b, c: res.B, d: db}} {
		x.corr = corr
		x.spec = evidence.FromCorrelation(x.side, x.c, corr, x.d, x.src)
		x.spec.Mapper = m
		var buf bytes.Buffer
		x.st, err = evidence.Write(&buf, x.spec)
		if err != nil {
			t.Fatalf("%s: %v", x.side, err)
		}
		if len(x.st.Missing) > 0 {
			t.Errorf("%s: cited frames missing: %v", x.side, x.st.Missing)
		}
		x.path = filepath.Join(dir, x.side+".pcapng")
		if err := os.WriteFile(x.path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out[i] = x
	}
	return out
}

// corrCited are the frames of side the correlation report names: the
// frames of its findings in that file, its lost messages and the
// messages around each hole, the packets seen there only, the first and
// last frame of each paired session and, of a pair with a loss, the end
// of the session its own analysis measured.
func corrCited(x corrSide) []uint64 {
	var fs []uint64
	pick := func(a, b uint64) uint64 {
		if x.side == "b" {
			return b
		}
		return a
	}
	for _, f := range x.corr.Findings {
		if f.FrameSide == x.side {
			fs = append(fs, f.Frames...)
		}
	}
	for _, p := range x.corr.Pairs {
		id := int(pick(uint64(p.ASession), uint64(p.BSession)))
		s := x.c.Sessions[id]
		fs = append(fs, s.FirstFrame, s.LastFrame)
		lost := false
		for _, d := range p.Directions {
			for _, l := range d.Lost {
				lost = true
				var fa, fb uint64
				if l.AFrame != nil {
					fa = *l.AFrame
				}
				if l.BFrame != nil {
					fb = *l.BFrame
				}
				fs = append(fs, pick(fa, fb))
				for _, m := range []*report.MessageFrames{l.Before, l.After} {
					if m != nil {
						fs = append(fs, pick(m.AFrame, m.BFrame))
					}
				}
			}
		}
		for _, e := range slices.Concat(p.GeneratedBetween, p.AbsorbedBetween) {
			if e.Side == x.side {
				fs = append(fs, e.Frames...)
			}
		}
		if sr := x.d.Sessions[id]; lost && sr.Outcome != detect.Running {
			fs = append(fs, sr.OutcomeFrame)
		}
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	if len(fs) > 0 && fs[0] == 0 {
		fs = fs[1:]
	}
	return fs
}

// TestCorrelationEvidence checks the evidence capture of each side of the
// sample pairs against its source, as capfile reads both: every packet is
// a frame of the source with its frame number in epb_packetid, its time,
// lengths and bytes; exactly the frames the correlation report names
// carry a comment, starting with their frame number; the packets are the
// frames of the kept sessions and the cited frames, nothing else; the
// section comment names the source, its SHA-256, the tool and the other
// file. On the proxy loss pair the comments say what the report says of
// the lost messages, the hole and the device's packets.
func TestCorrelationEvidence(t *testing.T) {
	for _, pair := range pairs {
		t.Run(filepath.Base(pair[0]), func(t *testing.T) {
			sides := correlateSides(t, pair, nil)
			for k, x := range sides {
				other := sides[1-k]
				src, _ := readAll(t, x.src)
				got, section := readAll(t, x.path)
				cited := corrCited(x)
				want := slices.Clone(cited)
				for _, ks := range x.spec.Sessions {
					want = append(want, sessionFrames(t, x.src, ks.S)...)
				}
				slices.Sort(want)
				want = slices.Compact(want)
				var ids, commented []uint64
				comments := map[uint64]string{}
				for i, g := range got {
					if !g.hasID {
						t.Fatalf("%s: packet %d has no epb_packetid", x.side, i+1)
					}
					ids = append(ids, g.id)
					s := src[g.id-1]
					if s.info.Frame != g.id || g.info.Time != s.info.Time || g.info.OrigLen != s.info.OrigLen || !bytes.Equal(g.data, s.data) {
						t.Errorf("%s: frame %d: time/length/bytes differ from the source's", x.side, g.id)
					}
					if g.comment != "" {
						commented = append(commented, g.id)
						comments[g.id] = g.comment
						prefix := "ctcpdiag: original frame " + strconv.FormatUint(g.id, 10) + "; "
						if !strings.HasPrefix(g.comment, prefix) || strings.Contains(g.comment, "\n") || len(g.comment) <= len(prefix) {
							t.Errorf("%s: frame %d: comment %q", x.side, g.id, g.comment)
						}
					}
				}
				if !slices.Equal(ids, want) {
					t.Errorf("%s: frames written %v\nwant %v", x.side, ids, want)
				}
				if !slices.Equal(commented, cited) {
					t.Errorf("%s: frames with a comment %v\ncited %v", x.side, commented, cited)
				}
				if x.st.Cited != len(cited) || x.st.Packets != len(got) {
					t.Errorf("%s: stats %+v", x.side, x.st)
				}
				me, them := x.corr.A, x.corr.B
				if x.side == "b" {
					me, them = them, me
				}
				for _, s := range []string{"ctcpdiag evidence capture", x.src, me.SHA256, "ctcpdiag test", other.src, them.SHA256, "Correlation verdict: " + x.corr.Verdict} {
					if !strings.Contains(section, s) {
						t.Errorf("%s: section comment lacks %q:\n%s", x.side, s, section)
					}
				}
				for _, ks := range x.spec.Sessions {
					if ks.Filter == "" || !strings.Contains(section, ks.Filter) {
						t.Errorf("%s: section comment lacks the filter %q", x.side, ks.Filter)
					}
				}
				if !strings.Contains(pair[0], "proxy-loss") {
					continue
				}
				// What the report says, frame by frame.
				if len(x.spec.Sessions) != 1 {
					t.Errorf("%s: %d sessions kept, want the pair's", x.side, len(x.spec.Sessions))
				}
				checks := map[string]map[uint64][]string{
					"a": {
						38: {"ESP 0x8d3a5c01 #9 passed the client-side point A here and never reached the headend-side point B: lost between the two capture points", "the first of 8", "cited by finding lost-between-points (pair 0)"},
						55: {"ESP 0x8d3a5c01 #16 passed"},
						34: {"ESP 0x8d3a5c01 #8, seen at both points (A frame 34, B frame 34): the last message of the direction seen at both points before ESP #9,", "nothing of the direction reached B past the hole"},
						40: {"8 duplicate ACKs seen in A only (frames 40, 42, 46, 48, 50, 54, 56, 67): made by the device between"},
						65: {"1 FIN seen in A only (frame 65): made by the device between", "A's session was closed"},
						66: {"1 FIN seen in A only (frame 66): never passed on by the device between"},
					},
					"b": {
						34: {"198.51.100.77:40322 -> 203.0.113.10:10000: ESP 0x8d3a5c01 #8, seen at both points", "nothing of the direction reached B past the hole"},
						50: {"1 RST seen in B only (frame 50): never passed on by the device between", "B's session was reset"},
						36: {"finding one-way-stall (B session 0): "},
					},
				}
				for f, subs := range checks[x.side] {
					for _, s := range subs {
						if !strings.Contains(comments[f], s) {
							t.Errorf("%s: frame %d: comment %q lacks %q", x.side, f, comments[f], s)
						}
					}
				}
			}
		})
	}
}

// TestCorrelationEvidenceAnonymized checks that the anonymized evidence
// captures of a pair hold none of the source addresses, in their bytes
// or comments.
func TestCorrelationEvidenceAnonymized(t *testing.T) {
	for _, pair := range pairs {
		sides := correlateSides(t, pair, anon.NewMapper(anon.KeyFromString("corr-evidence")))
		for _, x := range sides {
			b, err := os.ReadFile(x.path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range x.c.Sessions {
				if s == nil {
					continue
				}
				for _, ap := range []string{s.Client.Addr().Unmap().String(), s.Headend.Addr().Unmap().String()} {
					raw := s.Client.Addr().Unmap().AsSlice()
					if ap == s.Headend.Addr().Unmap().String() {
						raw = s.Headend.Addr().Unmap().AsSlice()
					}
					if bytes.Contains(b, []byte(ap)) || bytes.Contains(b, raw) {
						t.Errorf("%s %s: the anonymized evidence holds %s", filepath.Base(pair[0]), x.side, ap)
					}
				}
			}
			if x.st.Cited == 0 {
				t.Errorf("%s %s: nothing cited", filepath.Base(pair[0]), x.side)
			}
		}
	}
}

// TestCorrelationTshark opens the evidence captures of each pair with
// tshark: no warning; frame.comment finds exactly the cited frames, each
// comment naming its frame; frame.packet_id, times, lengths and the MD5
// of the bytes equal the source frame's; anonymized, no source address
// shows.
func TestCorrelationTshark(t *testing.T) {
	for _, pair := range pairs {
		t.Run(filepath.Base(pair[0]), func(t *testing.T) {
			t.Parallel() // tshark runs in processes of its own
			sides := correlateSides(t, pair, nil)
			anonSides := correlateSides(t, pair, anon.NewMapper(anon.KeyFromString("corr-evidence")))
			for k, x := range sides {
				var commented []uint64
				for _, l := range lines(tshark(t, "-r", x.path, "-Y", "frame.comment", "-T", "fields", "-E", "separator=|", "-e", "frame.packet_id", "-e", "frame.comment")) {
					id, comment, _ := strings.Cut(l, "|")
					n, err := strconv.ParseUint(id, 10, 64)
					if err != nil {
						t.Fatalf("line %q", l)
					}
					commented = append(commented, n)
					if !strings.HasPrefix(comment, "ctcpdiag: original frame "+id+"; ") {
						t.Errorf("%s: frame %d: comment %q", x.side, n, comment)
					}
				}
				if cited := corrCited(x); !slices.Equal(commented, cited) {
					t.Errorf("%s: frame.comment finds %v\nthe report cites %v", x.side, commented, cited)
				}
				fields := []string{"-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash"}
				source := map[string]string{}
				for _, l := range lines(tshark(t, append([]string{"-r", x.src, "-e", "frame.number"}, fields...)...)) {
					n, rest, _ := strings.Cut(l, "\t")
					source[n] = rest
				}
				all := lines(tshark(t, append([]string{"-r", x.path, "-e", "frame.packet_id"}, fields...)...))
				if len(all) != x.st.Packets {
					t.Errorf("%s: tshark reads %d packets, %d written", x.side, len(all), x.st.Packets)
				}
				for _, l := range all {
					n, rest, _ := strings.Cut(l, "\t")
					if source[n] != rest {
						t.Errorf("%s: frame %s: %q, source %q", x.side, n, rest, source[n])
					}
				}

				ax := anonSides[k]
				addrFields := []string{"-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "eth.src", "-e", "eth.dst", "-e", "frame.comment"}
				srcAddrs := map[string]bool{}
				for _, l := range lines(tshark(t, append([]string{"-r", x.src}, addrFields[:len(addrFields)-2]...)...)) {
					for _, a := range strings.FieldsFunc(l, func(r rune) bool { return r == '\t' || r == ',' }) {
						srcAddrs[a] = true
					}
				}
				out := tshark(t, append([]string{"-r", ax.path}, addrFields...)...)
				out += tshark(t, "-r", ax.path, "-V", "-c", "1")
				for a := range srcAddrs {
					if strings.Contains(out, a) {
						t.Errorf("%s: the anonymized evidence shows %s", x.side, a)
					}
				}
			}
		})
	}
}
