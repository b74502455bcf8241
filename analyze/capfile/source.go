package capfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// MaxRecord is the largest captured length, in bytes, this package
// accepts for one packet. A record header or block claiming more is
// reported as ErrCorrupt instead of being read, so a lying length field
// cannot make the reader allocate without bound.
const MaxRecord = 256 << 20

// maxZstdWindow bounds the memory a zstd frame may ask for (zstd --ultra
// -22 uses 128 MiB).
const maxZstdWindow = 1 << 27

// FrameInfo describes one frame. It is a plain value; copying it is cheap.
type FrameInfo struct {
	// Frame is the 1-based frame number, equal to Wireshark's
	// frame.number.
	Frame uint64
	// Time is the capture timestamp in nanoseconds since the Unix epoch
	// (UTC). Frames from a pcapng Simple Packet Block carry no timestamp
	// and have Time 0, as in Wireshark.
	Time int64
	// CapLen is the number of bytes captured (len(Data())); OrigLen the
	// length of the packet on the wire. OrigLen may be smaller than
	// CapLen in damaged files; both are passed on as recorded.
	CapLen, OrigLen int
	// LinkType is the LINKTYPE_ number (tcpdump.org/linktypes.html) of
	// the frame's interface: the pcap header's, or the pcapng interface
	// description block's.
	LinkType uint16
	// Iface is the 0-based interface number across the whole file: pcapng
	// interfaces are numbered in the order their description blocks
	// appear, over all sections. (tshark 4.0's frame.interface_id
	// restarts at 0 in each section; Iface does not, so interfaces of
	// different sections stay apart.) Always 0 for pcap.
	Iface int
}

type fileKind uint8

const (
	kindPcap fileKind = iota + 1
	kindPcapng
)

// Source reads the frames of one capture file. It is a sticky-error
// iterator:
//
//	for src.Next() {
//		use(src.Info(), src.Data())
//	}
//	if err := src.Err(); err != nil { ... }
//
// A Source is not safe for concurrent use.
type Source struct {
	name        string
	file        *os.File // set by Open, closed by Close
	hr          *stream  // stored bytes, hashed
	dec         *stream  // decompressed bytes read ahead, nil if not compressed
	stored      *window  // stored (possibly compressed) bytes
	w           *window  // uncompressed capture stream
	gz          *gzip.Reader
	zd          *zstd.Decoder
	kind        fileKind
	format      string
	compression string

	// pcap
	be       bool // big-endian fields (pcap header or pcapng section)
	nsec     bool
	linkType uint16
	snaplen  uint32
	swapLens uint8 // swapNever, swapAlways, swapIfLarger

	// pcapng
	ifaces    []iface // interfaces of the current section
	ifaceBase int     // interfaces defined in earlier sections
	shbOpts   []byte  // options of the current section header (a copy)
	opts      []byte  // options of the current frame's block (aliases data's buffer)

	held int // Options.Held

	frame  uint64
	data   []byte
	info   FrameInfo
	err    error
	done   bool
	digest string
}

// Options change how a Source reads its input. The zero value hashes and
// reads with read(2).
type Options struct {
	// NoHash leaves SHA256 empty instead of hashing the input: the
	// SHA-256 of a large file takes longer than parsing it.
	NoHash bool
	// Held is the number of chunks (1 MiB each) of input the caller may
	// keep with Hold at once, besides those the reader keeps: a bound on
	// the memory Hold can pin.
	Held int
	// Read, when set, receives the number of stored bytes read so far
	// (those Size counts), stored once per buffer of input (a megabyte or
	// so), never per frame: another goroutine may load it to draw a
	// progress bar.
	Read *atomic.Int64
}

// Open opens the capture file at path. Problems opening it (missing file,
// directory, permission) and an unreadable file header are returned as an
// *InputError naming path.
func Open(path string) (*Source, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
		}
		return nil, newInputError(path, 0, -1, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = syscall.EISDIR
	}
	if err != nil {
		f.Close()
		return nil, newInputError(path, 0, -1, err)
	}
	var size int64
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	s, err := newSource(f, path, size, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.file = f
	return s, nil
}

// New reads a capture from r; name is used in errors only. The format is
// recognised by its magic number, never by name. New reads the file
// header and returns an *InputError if it is missing, unknown or damaged.
// Close does not close r.
func New(r io.Reader, name string) (*Source, error) { return NewWith(r, name, Options{}) }

// NewWith is New with options.
func NewWith(r io.Reader, name string, o Options) (*Source, error) {
	var hint int64
	if l, ok := r.(interface{ Len() int }); ok {
		hint = int64(l.Len())
	}
	return newSource(r, name, hint, o)
}

// newSource is NewWith with the expected stored size (0: unknown).
func newSource(r io.Reader, name string, hint int64, o Options) (*Source, error) {
	s := &Source{name: name, compression: "none"}
	var h hash.Hash
	mode := modeInline
	switch {
	case !o.NoHash:
		h = sha256.New()
		if hint == 0 || hint >= prefetchMin {
			mode = modeHashAhead
		}
	case hint >= prefetchMin:
		mode = modeReadAhead // read ahead on a goroutine of its own
	}
	s.hr = newStream(r, h, mode, o.Held)
	s.held = o.Held
	s.hr.read = o.Read
	s.stored = newWindow(s.hr)
	s.w = s.stored
	if err := s.init(); err != nil {
		s.closeDecoders()
		return nil, err
	}
	return s, nil
}

func (s *Source) init() error {
	m, err := s.stored.need(4)
	if len(m) == 0 && err == io.EOF {
		return newInputError(s.name, 0, -1, ErrEmpty)
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		return newInputError(s.name, 0, -1, err)
	}
	switch {
	case len(m) >= 2 && m[0] == 0x1f && m[1] == 0x8b:
		s.compression = "gzip"
		gz, err := gzip.NewReader(s.stored)
		if err != nil {
			return newInputError(s.name, 0, -1, s.streamErr(err, "truncated gzip header"))
		}
		s.gz = gz
		s.dec = newStream(gz, nil, modeReadAhead, s.held)
		s.dec.grow(s.held)
		s.w = newWindow(s.dec)
	case len(m) == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd:
		s.compression = "zstd"
		zd, err := zstd.NewReader(s.stored, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return newInputError(s.name, 0, -1, err)
		}
		s.zd = zd
		s.dec = newStream(zd, nil, modeReadAhead, s.held)
		s.dec.grow(s.held)
		s.w = newWindow(s.dec)
	}
	if s.w == s.stored {
		s.hr.grow(s.held)
	}
	if s.w != s.stored {
		m, err = s.w.need(4)
		if len(m) == 0 && err == io.EOF {
			return newInputError(s.name, 0, -1, ErrEmpty)
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return newInputError(s.name, 0, 0, s.streamErr(err, ""))
		}
		if len(m) >= 2 && (m[0] == 0x1f && m[1] == 0x8b || m[0] == 0x28 && m[1] == 0xb5) {
			return newInputError(s.name, 0, 0, errorf(ErrUnsupported, "compressed file inside a %s file", s.compression))
		}
	}
	if len(m) < 4 {
		if isMagicPrefix(m) {
			return newInputError(s.name, 0, 0, errorf(ErrTruncated, "file of %d bytes cut short in its magic number", len(m)))
		}
		return newInputError(s.name, 0, -1, ErrNotCapture)
	}
	var herr error
	switch {
	case m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1:
		herr = s.initPcap(false, false)
	case m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4:
		herr = s.initPcap(true, false)
	case m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1:
		herr = s.initPcap(false, true)
	case m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d:
		herr = s.initPcap(true, true)
	case m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a:
		herr = s.initPcapng()
	default:
		return newInputError(s.name, 0, -1, ErrNotCapture)
	}
	if herr == ErrNotCapture {
		return newInputError(s.name, 0, -1, herr)
	}
	return newInputError(s.name, 0, 0, herr)
}

var magics = [][]byte{
	{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4},
	{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
	{0x0a, 0x0d, 0x0d, 0x0a}, {0x28, 0xb5, 0x2f, 0xfd},
}

func isMagicPrefix(m []byte) bool {
	for _, mg := range magics {
		if len(m) <= len(mg) && string(mg[:len(m)]) == string(m) {
			return true
		}
	}
	return false
}

// streamErr turns a read error from the capture stream into the error to
// report: an early end becomes ErrTruncated with the message what, a
// damaged compressed stream becomes ErrCorrupt (still wrapping the
// decompressor's error), other I/O errors are passed on.
func (s *Source) streamErr(err error, what string) error {
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		if what == "" {
			what = "file cut short"
		}
		return errorf(ErrTruncated, "%s", what)
	case s.gz != nil || s.zd != nil || s.compression != "none":
		var pe *os.PathError
		if errors.As(err, &pe) {
			return err
		}
		return &detailError{kind: ErrCorrupt, cause: err,
			msg: fmt.Sprintf("damaged %s stream: %v", s.compression, err)}
	}
	return err
}

// Next advances to the next frame. It returns false at the end of the
// input or at the first error; Err tells which. Once Next has returned
// false it keeps returning false.
func (s *Source) Next() bool {
	if s.done {
		return false
	}
	var ok bool
	if s.kind == kindPcap {
		ok = s.nextPcap()
	} else {
		ok = s.nextPcapng()
	}
	if !ok {
		s.finish()
	}
	return ok
}

// Frames returns how many frame numbers have been used so far. It is the
// current frame's number, plus any later records that Wireshark numbers as
// frames but that carry no packet and which Next therefore skips (pcapng
// custom, systemd journal and sysdig event blocks). Once Next has returned
// false it equals the number of frames Wireshark shows for the part of the
// file read, so it is the figure to report as the capture's frame count.
func (s *Source) Frames() uint64 { return s.frame }

// Data returns the bytes captured for the current frame (len ==
// Info().CapLen). The slice aliases an internal buffer: it is valid only
// until the next call to Next or Close, and must be copied to be kept.
func (s *Source) Data() []byte { return s.data }

// A Hold keeps the buffer of a frame's Data valid after Next has moved
// on, until Release (see Source.Hold).
type Hold struct {
	s *stream
	c *chunk
}

// Hold keeps the current frame's Data valid until the Hold is released,
// without copying it; ok is false when Data is in a buffer of the
// Source's own (a record longer than the room before a chunk), which the
// caller must copy to keep. The buffers held at once must stay within
// Options.Held chunks, or Next waits for one to be released. Release may
// be called from any goroutine.
func (s *Source) Hold() (h Hold, ok bool) {
	c := s.w.cur
	if c == nil || len(s.data) == 0 {
		return Hold{}, len(s.data) == 0
	}
	c.refs.Add(1)
	return Hold{s: s.w.s, c: c}, true
}

// Holds tells whether h holds the buffer of s's current Data already: a
// caller keeping many frames holds each buffer once.
func (h Hold) Holds(s *Source) bool { return h.c != nil && s.w.cur == h.c }

// Release lets the buffer go back to the Source once no other Hold or
// the Source itself needs it.
func (h Hold) Release() {
	if h.c != nil {
		h.s.release(h.c)
	}
}

// Info describes the current frame.
func (s *Source) Info() FrameInfo { return s.info }

// Err returns the first error met, or nil if the input ended cleanly. It
// is an *InputError carrying the frame number that was being read and the
// byte offset of the damaged record; every frame before it has been
// returned by Next.
func (s *Source) Err() error { return s.err }

// Format returns "pcap", "pcap-nsec" or "pcapng".
func (s *Source) Format() string { return s.format }

// Compression returns "none", "gzip" or "zstd".
func (s *Source) Compression() string { return s.compression }

// SHA256 returns the hex SHA-256 of the input as stored (the compressed
// bytes for a compressed file). It is computed over the bytes as they are
// read; when reading stops early on damage the rest of the input is read
// into the hash, so the digest is always of the whole input. It is ""
// until Next has returned false, and always with Options.NoHash.
func (s *Source) SHA256() string { return s.digest }

// Size returns the number of stored bytes read so far: the size of the
// whole input once Next has returned false.
func (s *Source) Size() int64 { return s.hr.n }

// Offset returns the byte offset, in the uncompressed capture stream, of
// the next record (just past the current frame's record).
func (s *Source) Offset() int64 { return s.w.offset() }

// Close releases the file (if Open opened it) and the decompressor. It
// does not close a reader given to New. Data is invalid after Close.
func (s *Source) Close() error {
	s.done = true
	s.data, s.opts = nil, nil
	s.closeDecoders()
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	return nil
}

func (s *Source) closeDecoders() {
	if s.dec != nil {
		s.w.close()
		s.dec.stop() // the decompressor is no longer in use after this
	}
	s.stored.close()
	s.hr.stop()
	if s.zd != nil {
		s.zd.Close()
		s.zd = nil
	}
	if s.gz != nil {
		s.gz.Close()
		s.gz = nil
	}
}

// fail records the first error.
func (s *Source) fail(offset int64, err error) {
	if s.err == nil {
		s.err = newInputError(s.name, s.frame+1, offset, err)
	}
}

// finish ends iteration: it reads the rest of the stored input into the
// hash and fixes the digest.
func (s *Source) finish() {
	s.done = true
	s.data, s.opts = nil, nil
	s.info = FrameInfo{}
	if s.dec != nil {
		s.w.close()
		s.dec.stop() // it reads the stored bytes too: stop it before draining them
	}
	s.stored.drain()
	s.stored.close() // its chunk goes back before the stream ends
	s.digest = hex.EncodeToString(s.hr.sum())
}
