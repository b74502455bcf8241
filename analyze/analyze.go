package analyze

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// InputError is the error type for input that cannot be read; it names
// the file and, where known, the frame and byte offset.
type InputError = capfile.InputError

// Options configure an analysis.
type Options struct {
	// Ports are extra TCP ports on which cTCP is expected, besides 10000
	// (--port). cTCP is also recognised by content on any port.
	Ports []uint16
	// MaxFlows bounds the flow table (0: DefaultMaxFlows): when it holds
	// this many TCP, UDP and ESP conversations, a tenth of them is evicted,
	// half-open TCP first, then closed TCP, then the rest, least recently
	// active first. Besides, at most min(MaxHalfOpen, MaxFlows/2) half-open
	// TCP conversations are kept, and while the table holds more than
	// 10,000 conversations the idle ones are evicted after 30 s (half-open
	// TCP), 60 s (closed TCP) or 10 minutes (the rest) of capture time.
	// A later packet of an evicted conversation starts a new session. An
	// evicted session (and, once the table overflowed, a session still in
	// it at the end) stays in Capture.Sessions only when it is a VPN flow,
	// has duplicate-ACK runs, or carried data and shows loss,
	// retransmissions, reordering, a zero window or a reset, and beyond
	// MaxKeptEvicted such sessions only when it is cTCP with duplicate-ACK
	// runs; the others are counted in Stats.DroppedSessions.
	MaxFlows int
	// NoHash leaves Capture.SHA256 empty instead of hashing the file: on
	// a large capture the SHA-256 takes longer than the analysis.
	NoHash bool
	// OnMessage, when set, is called for every ESP and IKE message as
	// the analysis meets it (cTCP messages once framed: one call per
	// message however the segments cut them), and for the TCP control
	// segments of MessageTCP, in capture order. The *Message is reused
	// from call to call: the callee must copy what it keeps. Unset, it
	// costs nothing.
	OnMessage func(*Message)
	// Threads is the number of goroutines File spreads the analysis over,
	// by conversation (shard.go); 0 or 1: one. The result is the same
	// however many there are. Reader, and an analysis with OnMessage,
	// use one.
	Threads int
	// Read, when set, receives the number of the capture's stored bytes
	// read so far, once per buffer of input (capfile.Options.Read): a
	// progress bar loads it from another goroutine. Unset, it costs
	// nothing; set, one store per megabyte or so.
	Read *atomic.Int64

	// trace, when set (by tests), receives each analyzed TCP frame's
	// Wireshark analysis flags.
	trace func(frame uint64, flags uint16)
}

// decoders recycles decoders (and their gopacket layer maps, about 40 KB)
// across analyses, which matters when scanning many small files.
var decoders = sync.Pool{New: func() any { return decode.NewDecoder() }}

// DefaultMaxFlows is the flow-table bound when Options.MaxFlows is 0:
// about 2 GiB of flow state, far more concurrent conversations than a real
// capture holds.
const DefaultMaxFlows = 4_000_000

// File analyzes the capture at path. The error is an *InputError when the
// file cannot be read at all; a capture that breaks part-way is analyzed
// up to the damage and carries a warning instead.
func File(path string, opts Options) (*Capture, error) {
	if opts.Threads > 1 && opts.OnMessage == nil && opts.trace == nil {
		c, err := fileSharded(path, opts)
		if err != errShardsGaveUp {
			return c, err
		}
		// Too many conversations for shards: start again on one goroutine.
	}
	src, err := capfile.OpenWith(path, capfile.Options{NoHash: opts.NoHash, Read: opts.Read})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return run(src, path, opts)
}

// Reader analyzes the capture read from r; name is used in the report and
// in errors ("-" for standard input).
func Reader(r io.Reader, name string, opts Options) (*Capture, error) {
	src, err := capfile.NewWith(r, name, capfile.Options{NoHash: opts.NoHash, Read: opts.Read})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return run(src, name, opts)
}

func run(src *capfile.Source, name string, opts Options) (*Capture, error) {
	c := &Capture{Path: name, Format: src.Format(), Compression: src.Compression()}
	t := newTracker(opts)
	dec := decoders.Get().(*decode.Decoder)
	defer decoders.Put(dec)
	var p decode.Packet
	var fr frames
	var fs frameStats
	for src.Next() {
		info := src.Info()
		fr.add(c, &info)
		p.Frame, p.Time, p.CapLen, p.OrigLen = info.Frame, info.Time, info.CapLen, info.OrigLen
		if fs.count(&p, dec.Decode(src.Data(), info.LinkType, &p)) {
			t.add(&p)
		}
	}
	return fr.end(c, src, &fs, t)
}

// frames counts what the frames themselves tell (count, times, link
// types), before any decoding.
type frames struct {
	links  [8]uint16 // the first few link types, in order of appearance
	nlinks int
}

func (fr *frames) add(c *Capture, info *capfile.FrameInfo) {
	if c.Packets == 0 {
		c.Start = info.Time
	}
	c.Packets++
	c.Start = min(c.Start, info.Time)
	c.End = max(c.End, info.Time)
	lt := info.LinkType
	for _, l := range fr.links[:fr.nlinks] {
		if l == lt {
			return
		}
	}
	if fr.nlinks < len(fr.links) {
		fr.links[fr.nlinks] = lt
		fr.nlinks++
	}
}

// frameStats counts the decoded frames by kind, with the first frame of
// each kind of trouble.
type frameStats struct {
	s                     Stats // only the packet counters
	firstBad              uint64
	badErr                error
	firstFrag, firstTrunc uint64
}

// count counts p, decoded with err, and tells whether it goes to the
// tracker.
func (fs *frameStats) count(p *decode.Packet, err error) bool {
	if err != nil {
		fs.s.Undecodable++
		if fs.firstBad == 0 {
			fs.firstBad, fs.badErr = p.Frame, err
		}
		return false
	}
	if p.IPVersion == 0 {
		fs.s.NonIP++
		return false
	}
	fs.s.IPPackets++
	if p.Fragment {
		fs.s.Fragments++
		if fs.firstFrag == 0 {
			fs.firstFrag = p.Frame
		}
	}
	if p.HasTransport && len(p.Payload) < p.PayloadLen {
		fs.s.Truncated++
		if fs.firstTrunc == 0 {
			fs.firstTrunc = p.Frame
		}
	}
	if p.HasTransport && !p.InError {
		switch p.Proto {
		case decode.ProtoTCP:
			fs.s.TCPPackets++
		case decode.ProtoUDP:
			fs.s.UDPPackets++
		case decode.ProtoESP:
			fs.s.ESPPackets++
		}
	}
	return true
}

// merge adds o's counts to fs's; the first frames are the earlier ones.
func (fs *frameStats) merge(o *frameStats) {
	fs.s.Undecodable += o.s.Undecodable
	fs.s.NonIP += o.s.NonIP
	fs.s.IPPackets += o.s.IPPackets
	fs.s.Fragments += o.s.Fragments
	fs.s.Truncated += o.s.Truncated
	fs.s.TCPPackets += o.s.TCPPackets
	fs.s.UDPPackets += o.s.UDPPackets
	fs.s.ESPPackets += o.s.ESPPackets
	if o.firstBad != 0 && (fs.firstBad == 0 || o.firstBad < fs.firstBad) {
		fs.firstBad, fs.badErr = o.firstBad, o.badErr
	}
	fs.firstFrag = firstOf(fs.firstFrag, o.firstFrag)
	fs.firstTrunc = firstOf(fs.firstTrunc, o.firstTrunc)
}

// firstOf returns the earlier of two frame numbers, 0 meaning none.
func firstOf(a, b uint64) uint64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// end completes c once the frames are read: the frame count, the
// damage, the hash, the statistics and warnings, and the sessions of t,
// which it finishes.
func (fr *frames) end(c *Capture, src *capfile.Source, fs *frameStats, t *tracker) (*Capture, error) {
	st := &c.Stats
	st.Undecodable, st.NonIP, st.IPPackets = fs.s.Undecodable, fs.s.NonIP, fs.s.IPPackets
	st.Fragments, st.Truncated = fs.s.Fragments, fs.s.Truncated
	st.TCPPackets, st.UDPPackets, st.ESPPackets = fs.s.TCPPackets, fs.s.UDPPackets, fs.s.ESPPackets
	firstBad, badErr, firstFrag, firstTrunc := fs.firstBad, fs.badErr, fs.firstFrag, fs.firstTrunc
	// Wireshark numbers some pcapng blocks that hold no packet as frames
	// (custom and journal blocks); count them as it does.
	c.Packets = src.Frames()
	if err := src.Err(); err != nil {
		var ie *InputError
		if c.Packets == 0 && errors.As(err, &ie) {
			return nil, err
		}
		// The report names the file already: the warning gives the place.
		msg := err.Error()
		if errors.As(err, &ie) {
			where := *ie
			where.File = ""
			msg = where.Error()
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("the capture is damaged; analyzed the %d frames before the damage at %s", c.Packets, msg))
	}
	c.SHA256, c.Size = src.SHA256(), src.Size()
	for _, l := range fr.links[:fr.nlinks] {
		c.LinkTypes = append(c.LinkTypes, LinkTypeName(l))
	}
	sort.Strings(c.LinkTypes)
	if c.Stats.Undecodable > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d frames could not be decoded (first: frame %d: %v)", c.Stats.Undecodable, firstBad, badErr))
	}
	t.finish(c)
	if t.evicted > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d conversations were evicted from the flow table (bound %d, at most %d half-open; %d idle while it held more than %d); a later packet of one starts a new session", t.evicted, t.maxFlows, t.maxHalf, t.idleEvicted, idleFloor))
	}
	if t.dropped > t.overCap {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d quiet sessions evicted from the flow table (or left in it when it overflowed) are counted but not listed", t.dropped-t.overCap))
	}
	if t.overCap > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d more evicted sessions with losses or resets are counted but not listed: beyond %d such sessions only cTCP sessions with duplicate ACKs are", t.overCap, MaxKeptEvicted))
	}
	if c.Stats.Fragments > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d IP fragments (first: frame %d) were counted, not reassembled", c.Stats.Fragments, firstFrag))
	}
	if c.Stats.Truncated > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d frames were cut by the snaplen (first: frame %d); segment lengths come from the IP headers", c.Stats.Truncated, firstTrunc))
	}
	return c, nil
}

// LinkTypeName returns a short name for a LINKTYPE_ value, as capinfos
// prints it where it has one (decode's link-type table), and
// "linktype-N" otherwise.
func LinkTypeName(lt uint16) string {
	if n := decode.LinkName(lt); n != "" {
		return n
	}
	return fmt.Sprintf("linktype-%d", lt)
}
