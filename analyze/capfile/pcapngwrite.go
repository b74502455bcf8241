package capfile

import (
	"encoding/binary"
	"io"
	"math"
)

var le = binary.LittleEndian

// Option codes of the section header and interface description blocks
// (draft-ietf-opsawg-pcapng, "Section Header Block" and "Interface
// Description Block") that Section and Interface write.
const (
	optSHBHardware = 2
	optSHBOS       = 3
	optSHBUserAppl = 4
	optIfName      = 2
)

// Section is what a Writer writes in its section header block: each
// non-empty text as its option, then Options.
type Section struct {
	Comment  string // opt_comment
	Hardware string // shb_hardware: the hardware the file was written on
	OS       string // shb_os: the operating system
	UserAppl string // shb_userappl: the program that wrote the file
	Options  []Option
}

// Interface is what an interface description block says about the
// packets of one interface.
type Interface struct {
	// LinkType is the LINKTYPE_ number (tcpdump.org/linktypes.html).
	LinkType uint16
	// SnapLen is the largest number of bytes captured per packet; 0
	// means no limit (or not known).
	SnapLen uint32
	// TSResol is the if_tsresol exponent: timestamps count units of
	// 10^-TSResol seconds, 6 for microseconds and 9 for nanoseconds (0 to
	// 9 are accepted). 0 leaves the option out, which means microseconds,
	// pcapng's default; 6 writes it.
	TSResol uint8
	// Name (if_name) and Comment (opt_comment), if not empty, are
	// written as options, then Options.
	Name    string
	Comment string
	Options []Option
}

// Writer writes a pcapng file (draft-ietf-opsawg-pcapng): one section,
// little-endian, version 1.0, of unknown length, then the interface
// description, enhanced packet and custom blocks it is asked for, in that
// order. Every option list it writes ends with opt_endofopt; a block
// without options has none.
//
// Output is buffered: call Flush at the end. Errors are sticky: after the
// first one (a *WriteError) no more blocks are accepted and every later
// call returns it; Flush still writes the blocks accepted before it.
// Writing a packet does not allocate. A Writer is not safe for concurrent
// use.
type Writer struct {
	out
	ifaces []uint64 // nanoseconds per timestamp unit, by interface
}

// NewWriter returns a Writer that writes to w, named name in errors, and
// puts the section header block for s in its buffer.
func NewWriter(w io.Writer, name string, s Section) *Writer {
	pw := &Writer{out: newOut(w, name)}
	var sum optSum
	sum.text(OptComment, s.Comment)
	sum.text(optSHBHardware, s.Hardware)
	sum.text(optSHBOS, s.OS)
	sum.text(optSHBUserAppl, s.UserAppl)
	sum.list(s.Options)
	n := minSHB + sum.total()
	if err := sum.check(n); err != nil {
		pw.fail(0, 0, err)
		return pw
	}
	pw.u32(blockSHB)
	pw.u32(uint32(n))
	pw.u32(0x1a2b3c4d) // byte-order magic
	pw.u16(1)          // major version
	pw.u16(0)          // minor version
	pw.u64(^uint64(0)) // section length: not given
	pw.textOpt(OptComment, s.Comment)
	pw.textOpt(optSHBHardware, s.Hardware)
	pw.textOpt(optSHBOS, s.OS)
	pw.textOpt(optSHBUserAppl, s.UserAppl)
	pw.options(s.Options)
	pw.endOpts(&sum)
	pw.u32(uint32(n))
	return pw
}

// AddInterface writes an interface description block and returns the
// interface's number for Packet.Iface: 0 for the first, then 1, 2...
// It returns -1 and the error if the block cannot be written.
func (w *Writer) AddInterface(i Interface) (int, error) {
	if w.err != nil {
		return -1, w.err
	}
	off := w.pos()
	if i.TSResol > 9 {
		w.fail(0, off, errorf(ErrInvalid, "if_tsresol %d not supported (0 to 9)", i.TSResol))
		return -1, w.err
	}
	var sum optSum
	sum.text(OptComment, i.Comment)
	sum.text(optIfName, i.Name)
	if i.TSResol != 0 {
		sum.add(optTSResol, 1)
	}
	sum.list(i.Options)
	n := minIDB + sum.total()
	if err := sum.check(n); err != nil {
		w.fail(0, off, err)
		return -1, w.err
	}
	w.u32(blockIDB)
	w.u32(uint32(n))
	w.u16(i.LinkType)
	w.u16(0) // reserved
	w.u32(i.SnapLen)
	w.textOpt(OptComment, i.Comment)
	w.textOpt(optIfName, i.Name)
	if i.TSResol != 0 {
		w.u16(optTSResol)
		w.u16(1)
		w.u32(uint32(i.TSResol)) // the value byte and 3 bytes of padding
	}
	w.options(i.Options)
	w.endOpts(&sum)
	w.u32(uint32(n))
	if w.err != nil {
		return -1, w.err
	}
	unit := uint64(1000) // microseconds, the default
	if i.TSResol != 0 {
		unit = 1
		for r := i.TSResol; r < 9; r++ {
			unit *= 10
		}
	}
	w.ifaces = append(w.ifaces, unit)
	return len(w.ifaces) - 1, nil
}

// WritePacket writes p as an enhanced packet block: the interface, the
// timestamp in the interface's units, the captured (len(p.Data)) and
// original lengths, the data padded to 32 bits, and p's comment and
// options.
func (w *Writer) WritePacket(p Packet) error {
	if w.err != nil {
		return w.err
	}
	off := w.pos()
	if uint(p.Iface) >= uint(len(w.ifaces)) {
		w.fail(w.frames+1, off, errorf(ErrInvalid, "packet on interface %d, but %d interfaces are described", p.Iface, len(w.ifaces)))
		return w.err
	}
	if err := checkPacket(&p); err != nil {
		w.fail(w.frames+1, off, err)
		return w.err
	}
	var sum optSum
	sum.text(OptComment, p.Comment)
	sum.list(p.Options)
	n := minEPB + len(p.Data) + pad4(len(p.Data)) + sum.total()
	if err := sum.check(n); err != nil {
		w.fail(w.frames+1, off, err)
		return w.err
	}
	var ts uint64
	if p.Time > 0 {
		ts = uint64(p.Time) / w.ifaces[p.Iface]
	}
	w.frames++
	h := w.next(minEPB - 4)
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], uint32(n))
	le.PutUint32(h[8:], uint32(p.Iface))
	le.PutUint32(h[12:], uint32(ts>>32))
	le.PutUint32(h[16:], uint32(ts))
	le.PutUint32(h[20:], uint32(len(p.Data)))
	le.PutUint32(h[24:], uint32(p.OrigLen))
	w.data(p.Data)
	w.zeros(pad4(len(p.Data)))
	w.textOpt(OptComment, p.Comment)
	w.options(p.Options)
	w.endOpts(&sum)
	w.u32(uint32(n))
	return w.err
}

// WriteCustom writes a custom block (draft-ietf-opsawg-pcapng, "Custom
// Block"): the Private Enterprise Number pen, then data padded to 32 bits,
// no options. copyable selects block type 0x00000BAD, which a program
// that rewrites the file may copy, rather than 0x40000BAD, which it must
// not. Wireshark numbers a custom block as a frame, and so does Source:
// it uses up one frame number.
func (w *Writer) WriteCustom(pen uint32, data []byte, copyable bool) error {
	if w.err != nil {
		return w.err
	}
	off := w.pos()
	n := 16 + len(data) + pad4(len(data))
	if n > maxBlock {
		w.fail(w.frames+1, off, errorf(ErrInvalid, "custom block of %d bytes, more than the %d a reader accepts", n, maxBlock))
		return w.err
	}
	typ := uint32(blockCustomNoCopy)
	if copyable {
		typ = blockCustomCopy
	}
	w.frames++
	w.u32(typ)
	w.u32(uint32(n))
	w.u32(pen)
	w.data(data)
	w.zeros(pad4(len(data)))
	w.u32(uint32(n))
	return w.err
}

// checkPacket checks what both writers require of a packet: a captured
// length a reader accepts and an original length that fits 32 bits.
func checkPacket(p *Packet) error {
	if len(p.Data) > MaxRecord {
		return errorf(ErrInvalid, "packet of %d bytes, more than the %d a reader accepts", len(p.Data), MaxRecord)
	}
	if p.OrigLen < 0 || int64(p.OrigLen) > math.MaxUint32 {
		return errorf(ErrInvalid, "original length %d out of range", p.OrigLen)
	}
	return nil
}

// optSum adds up the length of a block's options and checks them.
type optSum struct {
	n   int // bytes of the options, without opt_endofopt
	err error
}

func (s *optSum) add(code uint16, n int) {
	switch {
	case s.err != nil:
	case code == optEndOfOpt:
		s.err = errorf(ErrInvalid, "option code 0 (opt_endofopt) given as an option")
	case n > math.MaxUint16:
		s.err = errorf(ErrInvalid, "option %d of %d bytes, more than 65535", code, n)
	default:
		s.n += 4 + n + pad4(n)
	}
}

// text adds a text option, left out when v is empty.
func (s *optSum) text(code uint16, v string) {
	if v != "" {
		s.add(code, len(v))
	}
}

func (s *optSum) list(opts []Option) {
	for i := range opts {
		s.add(opts[i].Code, opts[i].size())
	}
}

// total returns the length of the option list: the options and
// opt_endofopt, or 0 when there are none.
func (s *optSum) total() int {
	if s.n == 0 {
		return 0
	}
	return s.n + 4
}

// check returns the error of an option, or an ErrInvalid error when the
// block of n bytes is longer than a reader accepts.
func (s *optSum) check(n int) error {
	if s.err != nil {
		return s.err
	}
	if n > maxBlock {
		return errorf(ErrInvalid, "block of %d bytes, more than the %d a reader accepts", n, maxBlock)
	}
	return nil
}

// size returns the length of the option's value as written.
func (o *Option) size() int {
	if isCustom(o.Code) {
		return 4 + len(o.Value)
	}
	return len(o.Value)
}

// textOpt writes a text option, unless v is empty.
func (w *Writer) textOpt(code uint16, v string) {
	if v == "" {
		return
	}
	w.u16(code)
	w.u16(uint16(len(v)))
	w.text(v)
	w.zeros(pad4(len(v)))
}

func (w *Writer) options(opts []Option) {
	for i := range opts {
		o := &opts[i]
		n := o.size()
		w.u16(o.Code)
		w.u16(uint16(n))
		if isCustom(o.Code) {
			w.u32(o.PEN)
		}
		w.data(o.Value)
		w.zeros(pad4(n))
	}
}

// endOpts writes opt_endofopt after a non-empty option list.
func (w *Writer) endOpts(s *optSum) {
	if s.n > 0 {
		w.u32(optEndOfOpt)
	}
}
