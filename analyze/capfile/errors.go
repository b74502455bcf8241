package capfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every error the readers return is an *InputError
// whose Err is, or wraps, one of these (or an I/O or decompression error
// from below, for which errors.Is works as usual); every error the writers
// return is a *WriteError around ErrInvalid or an I/O error.
var (
	// ErrEmpty: the input holds no bytes at all (after decompression).
	ErrEmpty = errors.New("empty file")
	// ErrNotCapture: the input does not start with a pcap, pcapng, gzip
	// or zstd magic number.
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrTruncated: the input ends in the middle of a file header, block
	// or packet record.
	ErrTruncated = errors.New("capture cut short")
	// ErrCorrupt: a length or other field makes no sense (a record
	// longer than MaxRecord, a block shorter than its own header, block
	// lengths that disagree, options running past their block, a packet
	// on an interface that was never described).
	ErrCorrupt = errors.New("corrupt capture")
	// ErrUnsupported: a well-formed capture this reader (like tshark)
	// does not read: pcap major version below 2, a pcap link-type field
	// with nonzero reserved bits, a pcapng section version other than 1.0
	// or 1.2, or a compressed file inside a compressed file.
	ErrUnsupported = errors.New("unsupported capture format")
	// ErrInvalid: a writer was asked for something the format cannot
	// hold or a reader would refuse (a packet on an interface never
	// described, an option longer than 65535 bytes, a record longer
	// than MaxRecord, a comment in a pcap file).
	ErrInvalid = errors.New("cannot be written")
)

// InputError reports a problem with the input, with its position when it
// is known. It prints as
//
//	capture.pcap: packet 1234 (byte offset 56789): truncated packet record
//
// leaving out the parts that are unknown.
type InputError struct {
	// File is the name given to Open or New ("" if none).
	File string
	// Packet is the 1-based frame number being read when the problem was
	// found; 0 when it concerns the file as a whole (header, open).
	Packet uint64
	// Offset is the byte offset, in the uncompressed capture stream, of
	// the header, block or record that is damaged; -1 when unknown.
	Offset int64
	// Err is the cause; errors.Is(Err, ErrTruncated) and the like tell
	// the kind.
	Err error
}

var _ error = (*InputError)(nil)

// Error implements error.
func (e *InputError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	switch {
	case e.Packet > 0 && e.Offset >= 0:
		b.WriteString("packet ")
		b.WriteString(strconv.FormatUint(e.Packet, 10))
		b.WriteString(" (byte offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		b.WriteString("): ")
	case e.Packet > 0:
		b.WriteString("packet ")
		b.WriteString(strconv.FormatUint(e.Packet, 10))
		b.WriteString(": ")
	case e.Offset >= 0:
		b.WriteString("byte offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		b.WriteString(": ")
	}
	if e.Err == nil {
		b.WriteString("unknown error")
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// newInputError returns an *InputError for err, or nil when err is nil.
func newInputError(file string, packet uint64, offset int64, err error) error {
	if err == nil {
		return nil
	}
	return &InputError{File: file, Packet: packet, Offset: offset, Err: err}
}

// detailError gives a sentinel a specific message while errors.Is still
// finds the sentinel.
type detailError struct {
	kind  error // a sentinel
	cause error // optional underlying error
	msg   string
}

func (d *detailError) Error() string { return d.msg }

func (d *detailError) Unwrap() []error {
	if d.cause != nil {
		return []error{d.kind, d.cause}
	}
	return []error{d.kind}
}

func errorf(kind error, format string, args ...any) error {
	return &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
