package evidence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/analyze/rewrite"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// Spec says what to write.
type Spec struct {
	// Path is the capture file to read again: the one the analysis read.
	Path string
	// Name is the capture's name in the section comment (the report's
	// capture.path: base name only when anonymized).
	Name string
	// SHA256 is the hex SHA-256 of the file from the first read; the
	// second read checks it (ErrChanged). "" skips the hash (--no-hash).
	SHA256 string
	// Tool names the program and its version: "ctcpdiag v1.2.0".
	Tool string
	// Sessions are the sessions whose frames are kept (TCP or UDP; others
	// are ignored), with their labels.
	Sessions []Session
	// Cites are the frames to annotate, in any order; the notes of a
	// frame given twice are joined, in the order given.
	Cites []Cite
	// Notes are more lines for the section comment (e.g. a Decode As).
	Notes []string
	// Mapper, when set, anonymizes the bytes as "ctcpdiag anonymize"
	// does; every text in the Spec must then be anonymized already.
	Mapper *anon.Mapper
	// Limits bound a long session's frames; the zero value is
	// DefaultLimits.
	Limits Limits
	// Read, when set, receives the stored bytes of the source read so
	// far, once per buffer of input (capfile.Options.Read), for a
	// progress bar.
	Read *atomic.Int64
}

// Session is one session to keep.
type Session struct {
	// S is the analyzed session, with its real addresses (frames are
	// matched on them).
	S *analyze.Session
	// Label names it in the section comment, e.g. "session 2: cTCP
	// 192.168.1.23:52739 -> 203.0.113.10:10000, affected (proven), source
	// tcp.stream 0".
	Label string
	// Filter is a display filter that shows it in the source and in the
	// evidence capture alike ("" for none).
	Filter string
}

// Cite is one frame to annotate.
type Cite struct {
	// Frame is its frame number in the source.
	Frame uint64
	// Note says what it shows, one line: the comment is "ctcpdiag:
	// original frame N; " and Note.
	Note string
}

// Limits bound what is kept of a long session.
type Limits struct {
	// Whole: a session of at most this many packets is kept whole.
	Whole int
	// Handshake, Window and End: of a longer one, its first Handshake
	// packets, Window packets before and after each cited frame, its last
	// End packets.
	Handshake, Window, End int
	// Held bounds the bytes of the frames held back, those not yet known
	// to fall before a cited frame and the kept ones queued behind them
	// (frames are written in order): past it the oldest undecided frame
	// is let go.
	Held int
}

// DefaultLimits are the Limits of a zero Spec.Limits.
var DefaultLimits = Limits{Whole: 2000, Handshake: 20, Window: 50, End: 50, Held: 16 << 20}

// Stats count what Write wrote.
type Stats struct {
	// Packets is the number of packets written, Cited of them annotated.
	Packets, Cited int
	// Missing are the cited frames not found in the second read (none
	// unless the file changed or ends before them).
	Missing []uint64
	// Trimmed counts the sessions kept in part.
	Trimmed int
	// Opened is true once the source was opened and its header read: an
	// error with Opened is damage part-way through the source, after
	// which the output is complete up to the damage.
	Opened bool
}

// ErrChanged is returned when the second read of the capture does not
// give the SHA-256 of the first: the file changed in between, and the
// evidence capture may not hold the frames the report names.
var ErrChanged = errors.New("the capture changed since it was analyzed (its SHA-256 differs)")

// optPacketID is epb_packetid (draft-ietf-opsawg-pcapng, "Enhanced
// Packet Block"): a 64-bit identifier of the packet, shown by Wireshark as
// frame.packet_id.
const optPacketID = 5

// Write reads the capture at spec.Path a second time and writes the
// evidence capture to w (see the package documentation). The source is
// opened before anything is written: an error then is capfile's
// *InputError and w is untouched. Damage later in the source ends the
// copy there (its error is returned after the frames before it are
// written). A cited frame not found is listed in Stats.Missing.
func Write(w io.Writer, spec Spec) (Stats, error) {
	src, err := capfile.OpenWith(spec.Path, capfile.Options{NoHash: spec.SHA256 == "", Read: spec.Read})
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	return write(src, w, spec)
}

// WriteReader is Write for a capture read from r, named name in errors.
func WriteReader(r io.Reader, name string, w io.Writer, spec Spec) (Stats, error) {
	src, err := capfile.NewWith(r, name, capfile.Options{NoHash: spec.SHA256 == "", Read: spec.Read})
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	return write(src, w, spec)
}

// Entry states.
const (
	undecided = iota
	keep
	drop
)

// entry is a frame read and not yet written.
type entry struct {
	info  capfile.FrameInfo
	data  []byte // a copy, owned; reused
	state uint8
	note  string // the comment, "" for none
	sess  *sessState
}

// sessState follows one kept session through the second read.
type sessState struct {
	s     *analyze.Session
	whole bool
	idx   int // its packets seen so far
	after int // packets still to keep after a cited frame
	// held are its undecided entries, oldest first.
	held []*entry
}

type writer struct {
	lim    Limits
	pw     *capfile.Writer
	anon   *rewrite.Frames
	ifaces []capfile.Interface // by input interface, LinkType 0 when unknown
	known  []bool
	out    []int // output interface by input interface, -1 before use
	names  []string
	queue  []*entry // oldest first, from qhead
	qhead  int
	free   []*entry
	queued int // bytes of the entries in the queue
	stats  Stats
	idbuf  [8]byte
	opts   [1]capfile.Option
}

func write(src *capfile.Source, out io.Writer, spec Spec) (Stats, error) {
	lim := spec.Limits
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	x := &writer{lim: lim}
	x.stats.Opened = true
	if spec.Mapper != nil {
		x.anon = rewrite.NewFrames(spec.Mapper)
	}

	// The kept sessions, by their addresses.
	type key struct{ a, b netip.AddrPort }
	byKey := map[key][]*sessState{}
	var lo, hi uint64 // the frames any kept session spans
	for _, ks := range spec.Sessions {
		s := ks.S
		if s == nil || s.Proto != decode.ProtoTCP && s.Proto != decode.ProtoUDP || s.FirstFrame == 0 {
			continue
		}
		st := &sessState{s: s, whole: s.Packets <= uint64(lim.Whole)}
		if !st.whole {
			x.stats.Trimmed++
		}
		k := key{s.Client, s.Headend}
		byKey[k] = append(byKey[k], st)
		if lo == 0 || s.FirstFrame < lo {
			lo = s.FirstFrame
		}
		hi = max(hi, s.LastFrame)
	}
	cites := slices.Clone(spec.Cites)
	slices.SortStableFunc(cites, func(a, b Cite) int {
		if a.Frame < b.Frame {
			return -1
		}
		if a.Frame > b.Frame {
			return 1
		}
		return 0
	})
	// A frame cited twice gets both notes.
	merged := cites[:0]
	for _, c := range cites {
		if n := len(merged); n > 0 && merged[n-1].Frame == c.Frame {
			if c.Note != "" && c.Note != merged[n-1].Note {
				merged[n-1].Note += "; " + c.Note
			}
			continue
		}
		merged = append(merged, c)
	}
	cites = merged
	found := make([]bool, len(cites))

	x.pw = capfile.NewWriter(out, "evidence", capfile.Section{
		Comment:  sectionComment(&spec, lim, src.Format()),
		UserAppl: spec.Tool,
	})
	x.opts[0] = capfile.Option{Code: optPacketID, Value: x.idbuf[:]}

	dec := decode.NewDecoder()
	var p decode.Packet
	ci := 0 // next cite
	for src.Next() {
		info := src.Info()
		f := info.Frame
		note := ""
		cited := false
		for ci < len(cites) && cites[ci].Frame < f {
			ci++
		}
		if ci < len(cites) && cites[ci].Frame == f {
			note, cited = "ctcpdiag: original frame "+strconv.FormatUint(f, 10), true
			if cites[ci].Note != "" {
				note = limit(note + "; " + cites[ci].Note)
			}
			found[ci] = true
		}
		var st *sessState
		if f >= lo && f <= hi {
			p.Frame, p.Time, p.CapLen, p.OrigLen = f, info.Time, info.CapLen, info.OrigLen
			if dec.Decode(src.Data(), info.LinkType, &p) == nil && p.HasTransport && !p.InError {
				a, b := p.SrcAddrPort(), p.DstAddrPort()
				list := byKey[key{a, b}]
				if list == nil {
					list = byKey[key{b, a}]
				}
				for _, s := range list {
					if s.s.Proto == p.Proto && f >= s.s.FirstFrame && f <= s.s.LastFrame {
						st = s
						break
					}
				}
			}
		}
		if st == nil && !cited {
			continue
		}
		x.iface(src, info.Iface)
		e := x.entry(info, src.Data(), note)
		if st == nil {
			e.state = keep
		} else {
			x.place(st, e, cited)
		}
		x.queue = append(x.queue, e)
		x.queued += len(e.data)
		x.flush(false)
		if err := x.pw.Err(); err != nil {
			return x.stats, err
		}
	}
	x.flush(true)
	for i, ok := range found {
		if !ok {
			x.stats.Missing = append(x.stats.Missing, cites[i].Frame)
		}
	}
	if err := x.pw.Flush(); err != nil {
		return x.stats, err
	}
	if err := src.Err(); err != nil {
		return x.stats, err
	}
	if spec.SHA256 != "" && src.SHA256() != spec.SHA256 {
		return x.stats, ErrChanged
	}
	return x.stats, nil
}

// place decides, as far as it can, whether e, a frame of session st,
// is kept.
func (x *writer) place(st *sessState, e *entry, cited bool) {
	e.sess = st
	s, i := st.s, st.idx
	st.idx++
	switch {
	case cited:
		e.state = keep
		for _, h := range st.held {
			x.decide(h, keep)
		}
		st.held = st.held[:0]
		st.after = x.lim.Window
		return
	case st.whole, i < x.lim.Handshake, uint64(i)+uint64(x.lim.End) >= s.Packets, e.info.Frame == s.LastFrame:
		e.state = keep
	case st.after > 0:
		e.state = keep
	default:
		e.state = undecided
		st.held = append(st.held, e)
		if len(st.held) > x.lim.Window {
			x.decide(st.held[0], drop)
			st.held = slices.Delete(st.held, 0, 1)
		}
	}
	if st.after > 0 {
		st.after--
	}
}

// decide settles an undecided entry.
func (x *writer) decide(e *entry, state uint8) { e.state = state }

// flush writes or lets go of the settled entries at the head of the
// queue; at the end every undecided one is let go. While the held frames
// exceed Limits.Held, the oldest is let go.
func (x *writer) flush(end bool) {
	for x.qhead < len(x.queue) {
		e := x.queue[x.qhead]
		if e.state == undecided {
			if !end && x.queued <= x.lim.Held {
				break
			}
			x.decide(e, drop)
			if st := e.sess; st != nil && len(st.held) > 0 && st.held[0] == e {
				st.held = slices.Delete(st.held, 0, 1)
			}
		}
		if e.state == keep {
			x.writePacket(e)
		}
		x.queue[x.qhead] = nil
		x.qhead++
		x.queued -= len(e.data)
		e.note, e.sess = "", nil
		x.free = append(x.free, e)
	}
	if x.qhead == len(x.queue) {
		x.queue, x.qhead = x.queue[:0], 0
	} else if x.qhead > 1024 && x.qhead*2 > len(x.queue) {
		n := copy(x.queue, x.queue[x.qhead:])
		clear(x.queue[n:])
		x.queue, x.qhead = x.queue[:n], 0
	}
}

// entry returns a free entry holding a copy of the frame.
func (x *writer) entry(info capfile.FrameInfo, data []byte, note string) *entry {
	var e *entry
	if n := len(x.free); n > 0 {
		e, x.free = x.free[n-1], x.free[:n-1]
	} else {
		e = new(entry)
	}
	e.info, e.note, e.state, e.sess = info, note, undecided, nil
	e.data = append(e.data[:0], data...)
	return e
}

// iface notes the description of input interface i while the source's
// section holds it.
func (x *writer) iface(src *capfile.Source, i int) {
	if i < len(x.known) && x.known[i] {
		return
	}
	for len(x.known) <= i {
		x.known = append(x.known, false)
		x.ifaces = append(x.ifaces, capfile.Interface{})
		x.out = append(x.out, -1)
		x.names = append(x.names, "")
	}
	d, _ := src.Interface(i)
	x.ifaces[i], x.known[i] = d, true
	for code, v := range src.InterfaceOptions(i) {
		if code == 2 { // if_name
			x.names[i] = string(v)
		}
	}
}

func (x *writer) writePacket(e *entry) {
	i := e.info.Iface
	if x.out[i] < 0 {
		d := x.ifaces[i]
		d.LinkType = e.info.LinkType
		if x.anon == nil {
			d.Name = x.names[i]
		}
		id, err := x.pw.AddInterface(d)
		if err != nil {
			return // sticky
		}
		x.out[i] = id
	}
	data := e.data
	if x.anon != nil {
		data = x.anon.Rewrite(e.info.LinkType, e.info.OrigLen, data)
	}
	binary.LittleEndian.PutUint64(x.idbuf[:], e.info.Frame)
	x.pw.WritePacket(capfile.Packet{
		Iface:   x.out[i],
		Time:    e.info.Time,
		OrigLen: max(e.info.OrigLen, 0),
		Data:    data,
		Comment: e.note,
		Options: x.opts[:],
	})
	x.stats.Packets++
	if e.note != "" {
		x.stats.Cited++
	}
}

// sectionComment is the section header's comment: what the file is,
// where it comes from, how its frames map to the source's, which sessions
// it holds and the filters that work in both files.
func sectionComment(spec *Spec, lim Limits, format string) string {
	var b strings.Builder
	b.WriteString("ctcpdiag evidence capture\n")
	fmt.Fprintf(&b, "Source: %s (%s", spec.Name, format)
	if spec.SHA256 != "" {
		fmt.Fprintf(&b, ", SHA-256 %s", spec.SHA256)
	} else {
		b.WriteString(", SHA-256 not computed")
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "Written by: %s\n", spec.Tool)
	b.WriteString("Frame numbers: the packets are frames of the source, in its order, with their timestamps, lengths and ")
	if spec.Mapper != nil {
		b.WriteString("bytes anonymized as \"ctcpdiag anonymize\" does (addresses mapped, payloads zeroed)")
	} else {
		b.WriteString("bytes unchanged")
	}
	b.WriteString("; frame.number and tcp.stream are this file's own. Each packet's epb_packetid is its frame number in the source: " +
		"frame N of the report is frame.packet_id == N here. Each frame the report cites has a comment starting " +
		"\"ctcpdiag: original frame N;\" (filter: frame.comment).\n")
	if len(spec.Sessions) == 0 {
		b.WriteString("Sessions: none affected or at risk; only the frames the report cites.\n")
	} else {
		fmt.Fprintf(&b, "Sessions (whole up to %d packets; of a longer one the first %d, %d before and after each cited frame and the last %d, so that Wireshark's TCP analysis flags gaps there that the source does not have):\n",
			lim.Whole, lim.Handshake, lim.Window, lim.End)
		for i, s := range spec.Sessions {
			if b.Len() > maxSessionText {
				fmt.Fprintf(&b, "  ... and %d more sessions (the report lists them)\n", len(spec.Sessions)-i)
				break
			}
			b.WriteString("  ")
			b.WriteString(s.Label)
			if s.S != nil {
				if s.S.Packets <= uint64(lim.Whole) {
					fmt.Fprintf(&b, "; all %d packets", s.S.Packets)
				} else {
					fmt.Fprintf(&b, "; trimmed from %d packets", s.S.Packets)
				}
			}
			if s.Filter != "" {
				b.WriteString("; in either file: ")
				b.WriteString(s.Filter)
			}
			b.WriteByte('\n')
		}
		b.WriteString("Other frames: only those the report cites.\n")
	}
	for i, n := range spec.Notes {
		if b.Len()+len(n) > maxComment-100 {
			fmt.Fprintf(&b, "... and %d more notes (the report has them)\n", len(spec.Notes)-i)
			break
		}
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return limit(strings.TrimSuffix(b.String(), "\n"))
}

// maxComment is the longest comment written: a pcapng option holds at
// most 65,535 bytes. maxSessionText bounds the section comment before
// its list of sessions is cut short.
const (
	maxComment     = 65535
	maxSessionText = 48 << 10
)

// limit cuts s to maxComment bytes, at a character boundary, ending it
// with "..." when cut.
func limit(s string) string {
	if len(s) <= maxComment {
		return s
	}
	cut := maxComment - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
