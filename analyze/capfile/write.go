package capfile

import (
	"encoding/binary"
	"io"
)

// Packet is one frame to write: the argument of Writer.WritePacket and
// PcapWriter.WritePacket. The writers do not keep it, nor Data, Comment or
// the options after the call returns.
type Packet struct {
	// Iface is the interface the packet was captured on, as numbered by
	// Writer.AddInterface (0 for the first); always 0 for pcap.
	Iface int
	// Time is the capture timestamp in nanoseconds since the Unix epoch
	// (as FrameInfo.Time). It is written truncated to the interface's
	// resolution; a time before 1970 is written as 0 (both formats count
	// unsigned units from 1970).
	Time int64
	// OrigLen is the packet's length on the wire; len(Data) is the
	// captured length. OrigLen is written as given, even when it is
	// smaller than len(Data) (as in the damaged files a copy must keep).
	OrigLen int
	// Data is the captured bytes, written as given: the writers do not
	// cut them to the interface's snaplen.
	Data []byte
	// Comment, if not empty, is written as the packet's opt_comment
	// (pcapng only).
	Comment string
	// Options are written after Comment, in order (pcapng only).
	Options []Option
}

// Option is one pcapng option (draft-ietf-opsawg-pcapng, "Options"): a
// code and a value of at most 65535 bytes, written padded to 32 bits.
type Option struct {
	Code uint16
	// PEN is the IANA Private Enterprise Number of a custom option
	// (codes OptCustomString, OptCustomBinary, OptCustomStringNoCopy,
	// OptCustomBinaryNoCopy), written before Value; it is ignored for
	// other codes.
	PEN   uint32
	Value []byte
}

// Option codes (draft-ietf-opsawg-pcapng, "Options" and "Custom
// Options"). The codes below 2988 depend on the block (shb_hardware and
// if_name are both 2); opt_comment and the custom options mean the same in
// every block.
const (
	// OptComment is opt_comment: UTF-8 text, not zero-terminated. It may
	// be repeated.
	OptComment = 1
	// OptCustomString and OptCustomBinary are custom options a program
	// that rewrites the file may copy; the NoCopy ones it must not copy.
	// The value is the PEN and then UTF-8 text or binary data.
	OptCustomString       = 2988
	OptCustomBinary       = 2989
	OptCustomStringNoCopy = 19372
	OptCustomBinaryNoCopy = 19373
)

// isCustom tells whether an option code is one of the four custom ones,
// whose value starts with a PEN.
func isCustom(code uint16) bool {
	return code == OptCustomString || code == OptCustomBinary ||
		code == OptCustomStringNoCopy || code == OptCustomBinaryNoCopy
}

// WriteError reports a problem writing a capture, with its position. It
// prints as
//
//	out.pcapng: packet 1234 (byte offset 56789): write: no space left on device
//
// leaving out the parts that are unknown, as InputError does.
type WriteError struct {
	// File is the name given to NewWriter or NewPcapWriter ("" if none).
	File string
	// Packet is the 1-based frame number of the block being written, as a
	// reader numbers frames (packets and, in pcapng, custom blocks); 0 for
	// the file and section headers and interface descriptions. For an I/O
	// error it is the last frame handed to the writer (the buffer may
	// hold several).
	Packet uint64
	// Offset is the byte offset, in the output, of the header, block or
	// record that cannot be written; for an I/O error, the number of bytes
	// the io.Writer took before it failed.
	Offset int64
	// Err is the cause: an I/O error from the io.Writer, or ErrInvalid.
	Err error
}

var _ error = (*WriteError)(nil)

// Error implements error.
func (e *WriteError) Error() string { return (*InputError)(e).Error() }

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// minWriteBuf is the buffer size of the writers: one flush per 64 KiB,
// and room for any option (at most 65535 bytes) without a second copy.
const minWriteBuf = 64 << 10

// out is the buffered, counting, sticky-error output the two writers
// share.
type out struct {
	w      io.Writer
	name   string
	buf    []byte // pending bytes; cap fixed at minWriteBuf
	off    int64  // bytes handed to w
	frames uint64 // frame numbers used (packets and custom blocks)
	err    error  // first error, a *WriteError
	broken bool   // w failed: nothing more is written
}

func newOut(w io.Writer, name string) out {
	return out{w: w, name: name, buf: make([]byte, 0, minWriteBuf)}
}

// Flush writes the buffered blocks or records to the io.Writer and
// returns the first error, if any. After an ErrInvalid it still writes
// the ones before the refused one, so that the output is a complete file
// of them.
func (o *out) Flush() error {
	o.flush()
	return o.err
}

// Err returns the first error, a *WriteError, or nil.
func (o *out) Err() error { return o.err }

// Offset returns the size of the output so far, counting what is still
// buffered: the byte offset of the next block or record. After an I/O
// error it is the number of bytes the io.Writer took.
func (o *out) Offset() int64 { return o.pos() }

// Frames returns the number of frame numbers used so far: packets and
// (pcapng) custom blocks, the number Source.Frames gives when it reads
// the file.
func (o *out) Frames() uint64 { return o.frames }

// pos returns the output offset of the next byte: after an I/O error,
// the number of bytes w took.
func (o *out) pos() int64 {
	if o.broken {
		return o.off
	}
	return o.off + int64(len(o.buf))
}

// fail records err, at the block that starts at off, as the first error.
// packet is the frame number of the block, 0 if it is not a frame.
func (o *out) fail(packet uint64, off int64, err error) {
	if o.err == nil {
		o.err = &WriteError{File: o.name, Packet: packet, Offset: off, Err: err}
	}
}

// flush hands the buffer to w. The buffer holds whole blocks but for the
// one being written, so after an ErrInvalid (found before the block's
// first byte) it still holds every block before it; after an I/O error it
// is dropped: nothing more is written.
func (o *out) flush() {
	if !o.broken && len(o.buf) > 0 {
		o.write(o.buf)
	}
	o.buf = o.buf[:0]
}

// write hands p to w directly, counting what w took.
func (o *out) write(p []byte) {
	n, err := o.w.Write(p)
	o.off += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		o.broken = true
		o.fail(o.frames, o.off, err)
	}
}

// room makes n bytes of room in the buffer (n <= minWriteBuf).
func (o *out) room(n int) {
	if cap(o.buf)-len(o.buf) < n {
		o.flush()
	}
}

// next returns the next n bytes of the buffer, to be filled in (n <=
// minWriteBuf): one check for a whole header.
func (o *out) next(n int) []byte {
	o.room(n)
	l := len(o.buf)
	o.buf = o.buf[:l+n]
	return o.buf[l : l+n : l+n]
}

func (o *out) u16(v uint16) {
	o.room(2)
	o.buf = binary.LittleEndian.AppendUint16(o.buf, v)
}

func (o *out) u32(v uint32) {
	o.room(4)
	o.buf = binary.LittleEndian.AppendUint32(o.buf, v)
}

func (o *out) u64(v uint64) {
	o.room(8)
	o.buf = binary.LittleEndian.AppendUint64(o.buf, v)
}

// zeros writes n (< 4) zero bytes of padding.
func (o *out) zeros(n int) {
	o.room(n)
	o.buf = append(o.buf, make([]byte, n)...)
}

// data writes p: through the buffer, or straight to w when p is larger
// than the buffer.
func (o *out) data(p []byte) {
	if len(p) <= cap(o.buf)-len(o.buf) {
		o.buf = append(o.buf, p...)
		return
	}
	o.flush()
	if o.broken {
		return
	}
	if len(p) < cap(o.buf) {
		o.buf = append(o.buf, p...)
		return
	}
	o.write(p)
}

// text writes s (at most 65535 bytes, see Option) through the buffer.
func (o *out) text(s string) {
	o.room(len(s))
	o.buf = append(o.buf, s...)
}

// pad4 returns the padding that takes n to a multiple of 4.
func pad4(n int) int { return -n & 3 }
